//! The `vdx` command line: each subcommand parses its arguments and calls the same core
//! functions the GUI uses; it holds no logic of its own beyond formatting.

pub mod args;
pub mod augment;
pub mod bench;
pub mod build;
pub mod compare_fields;
pub mod export;
pub mod health;
pub mod inspect;
mod messages;
pub mod progress;
pub mod quality;

use crate::error::{Result, VdxError};
use crate::video::decode::{DecodeOptions, Resize, VideoDecoder};
use crate::video::index::{self, IndexOptions};
use crate::video::media::ProbeBudget;
use crate::video::probe;
use args::parse_list;
use args::parse_size;
use clap::{Args, Parser, Subcommand};
pub(crate) use messages::{error_text, with_flags};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "vdx",
    version,
    about = "vdx: the video dataset explorer",
    long_about = "Probe, index and decode videos exactly; build, inspect and verify video datasets.\n\n\
                  `vdx` alone opens the explorer window on the bundled sample video; \
                  `vdx FILE...` opens files in it.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Videos to open in the explorer window.
    pub files: Vec<PathBuf>,
    /// An annotation file whose segments the explorer draws on the first video's timeline.
    #[arg(long)]
    pub annotations: Option<PathBuf>,
}

/// The bundled sample video: beside the executable's project, or in ./assets.
pub fn sample_video() -> PathBuf {
    let built = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample.mp4"));
    if built.exists() {
        built
    } else {
        PathBuf::from("assets/sample.mp4")
    }
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Container and stream facts from the header, on a bounded probe budget.
    Probe(ProbeArgs),
    /// Packet index of the video stream: every frame's pts, size, keyframe flag and type.
    Index(IndexArgs),
    /// Write exact frames (by index or time) as PNG or JPEG.
    Frames(FramesArgs),
    /// Sample clips and write them as a .npy tensor plus a JSON of frame indices and pts.
    Clips(ClipsArgs),
    /// The audio track as mono float32 at a chosen rate (.wav or .npy).
    Audio(AudioArgs),
    /// Build a dataset (.vdx) from videos: frames, segments or flow field.
    Build(Box<crate::cli::build::BuildArgs>),
    /// Show a dataset's fields, samples, labels and provenance; decode one sample.
    Inspect(crate::cli::inspect::InspectArgs),
    /// Tie the shards of a sharded build (`build --shard k/N`) into one dataset: DIR/NAME.vdxm
    Manifest(crate::cli::build::ManifestArgs),
    /// Check a dataset's structure, pointers and checksums, and that every sample decodes.
    Verify(crate::cli::inspect::VerifyArgs),
    /// Export a dataset: frame folders, .npy shards, MP4 clips, WebDataset tars, or audio.
    Export(crate::cli::export::ExportArgs),
    /// Apply an augmentation recipe to a video clip or dataset sample: K draws as a contact
    /// sheet or an f32 tensor, plus every random draw as JSON.
    Augment(crate::cli::augment::AugmentArgs),
    /// Measure stored samples against their source frames: PSNR and SSIM (as FFmpeg's psnr
    /// and ssim filters), flow EPE against fresh Farneback flow; the worst samples.
    Quality(crate::cli::quality::QualityArgs),
    /// Find the clips that will hurt training (black, blank, dark, overexposed, frozen,
    /// static, scene cuts, bars, blurry, near-duplicates) from the stored samples; writes
    /// D.vdx.health.json beside the dataset.
    Health(crate::cli::health::HealthArgs),
    /// Build each field variant (JPEG quality, CRF and keyframe interval, flow scale) from a
    /// sample of your videos in a temporary folder and compare size, speed and quality.
    CompareFields(crate::cli::compare_fields::CompareFieldsArgs),
    /// Measure vdx against the ffmpeg CLI on a folder of videos (see scripts/bench.sh).
    Bench(crate::cli::bench::BenchArgs),
}

#[derive(Args, Debug, Clone)]
pub struct SizeArgs {
    /// Output size: N (N×N) or WxH; omitted: the video's own size.
    #[arg(long)]
    pub size: Option<String>,
    /// How to reach the size: crop (short side + centre crop), squash, letterbox.
    #[arg(long, default_value = "crop")]
    pub resize_mode: String,
    /// Keep the stored orientation (ignore the display matrix).
    #[arg(long)]
    pub no_rotate: bool,
    /// Decoder threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Hand back pictures the decoder repaired by concealing errors (damaged slices) instead
    /// of failing those frames.
    #[arg(long)]
    pub accept_concealed: bool,
}

impl SizeArgs {
    pub fn decode_options(&self) -> Result<DecodeOptions> {
        let resize = match &self.size {
            None => None,
            Some(s) => {
                let (w, h) = parse_size(s)?;
                Some(Resize {
                    width: w,
                    height: h,
                    mode: self.resize_mode.parse()?,
                })
            }
        };
        Ok(DecodeOptions {
            resize,
            apply_rotation: !self.no_rotate,
            threads: self.threads,
            accept_concealed: self.accept_concealed,
            ..Default::default()
        })
    }
}

#[derive(Args, Debug)]
pub struct FramesArgs {
    pub file: PathBuf,
    /// Frame indices (presentation order), comma separated: 0,10,250.
    #[arg(long)]
    pub at: Option<String>,
    /// Times in seconds, comma separated: the frame shown at each time.
    #[arg(long)]
    pub time: Option<String>,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// png or jpg.
    #[arg(long, default_value = "png")]
    pub format: String,
    /// JPEG quality.
    #[arg(long, default_value_t = 95)]
    pub quality: i32,
    #[command(flatten)]
    pub size: SizeArgs,
}

#[derive(Args, Debug)]
pub struct ClipsArgs {
    pub file: PathBuf,
    /// uniform, regular, random or keyframes (clips of keyframes only).
    #[arg(long, default_value = "uniform")]
    pub sampler: String,
    /// T: frames per clip.
    #[arg(long, default_value_t = 16)]
    pub frames: usize,
    /// Frames (or seconds with --by-time) between frames of a clip.
    #[arg(long, default_value_t = 1.0)]
    pub stride: f64,
    /// K: number of clips (uniform, random).
    #[arg(long, default_value_t = 1)]
    pub clips: usize,
    /// Distance between clip starts (regular); 0: one clip span.
    #[arg(long, default_value_t = 0.0)]
    pub step: f64,
    /// Stride and step are in seconds, and times map to the frame shown then.
    #[arg(long)]
    pub by_time: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// repeat_last, wrap, drop or error.
    #[arg(long, default_value = "repeat_last")]
    pub tail: String,
    /// Decode-cost-aware clip starts: none, keyframe (start at the nearest keyframe) or
    /// cheapest (move by at most --within frames to the start that decodes fewest frames).
    #[arg(long, default_value = "none")]
    pub snap: String,
    /// --snap cheapest: how many frames a clip start may move.
    #[arg(long, default_value_t = 0)]
    pub within: usize,
    /// u8 (K,T,H,W,3) or f32 (K,1,T,H,W,3) in [0,1].
    #[arg(long, default_value = "u8")]
    pub dtype: String,
    /// A frame that cannot be decoded: error (the command fails), or repeat (the nearest good
    /// frame of the clip stands in; the JSON lists each clip's damaged positions).
    #[arg(long, default_value = "error")]
    pub damaged: String,
    /// Output .npy; the JSON of indices and pts goes beside it (same name, .json).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub size: SizeArgs,
}

#[derive(Args, Debug)]
pub struct AudioArgs {
    pub file: PathBuf,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 16000)]
    pub rate: u32,
    /// Output .wav (float32) or .npy (float32, 1-D).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug, Clone, Copy)]
pub struct BudgetArgs {
    /// Bytes FFmpeg may read to find the stream parameters.
    #[arg(long, default_value_t = ProbeBudget::default().probesize_bytes)]
    pub probesize: u64,
    /// Media time FFmpeg may analyse to find stream parameters, in microseconds.
    #[arg(long, default_value_t = ProbeBudget::default().analyze_duration_us)]
    pub analyzeduration: u64,
}

impl BudgetArgs {
    fn budget(&self) -> ProbeBudget {
        ProbeBudget {
            probesize_bytes: self.probesize,
            analyze_duration_us: self.analyzeduration,
        }
    }
}

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// Video files to probe.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print JSON (keys follow ffprobe's names) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

#[derive(Args, Debug)]
pub struct IndexArgs {
    /// The video file to index.
    pub file: PathBuf,
    /// Print the whole index as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one CSV row per frame (presentation order).
    #[arg(long)]
    pub csv: bool,
    /// Skip the bitstream parser (no I/P/B types; slightly faster).
    #[arg(long)]
    pub no_types: bool,
    /// Decode the whole stream once and give each frame a decode_status (ok, concealed,
    /// undecodable): finds damaged frames.
    #[arg(long)]
    pub check_decode: bool,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_some() || !has_display() {
        quiet_on_closed_pipe();
    }
    match cli.command {
        None => {
            let files = if cli.files.is_empty() {
                vec![sample_video()]
            } else {
                cli.files
            };
            if !has_display() {
                eprintln!(
                    "vdx: no display (DISPLAY/WAYLAND_DISPLAY unset), so no window; \
                     here is what the explorer would show. See `vdx --help` for the CLI."
                );
                for f in &files {
                    let f = f.as_os_str();
                    let sub = |c: &str| {
                        Cli::parse_from([std::ffi::OsStr::new("vdx"), c.as_ref(), f])
                            .command
                            .expect("a subcommand")
                    };
                    let r = run(sub("probe")).and_then(|_| run(sub("index")));
                    if let Err(e) = r {
                        eprintln!("vdx: error: {}", error_text(&e));
                        return ExitCode::FAILURE;
                    }
                }
                return ExitCode::SUCCESS;
            }
            #[cfg(feature = "gui")]
            {
                match crate::gui::run(files, cli.annotations) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("vdx: error: {}", error_text(&e));
                        ExitCode::FAILURE
                    }
                }
            }
            #[cfg(not(feature = "gui"))]
            {
                let _ = files;
                eprintln!("vdx: built without the `gui` feature; see `vdx --help` for the CLI");
                ExitCode::from(2)
            }
        }
        Some(cmd) => {
            let code = match run(cmd) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("vdx: error: {}", error_text(&e));
                    ExitCode::FAILURE
                }
            };
            report_fetches();
            code
        }
    }
}

/// With `VDX_STORAGE_STATS` set: what the command fetched from object storage.
fn report_fetches() {
    let s = crate::storage::fetch_stats();
    if std::env::var_os("VDX_STORAGE_STATS").is_some() && s.requests > 0 {
        eprintln!(
            "vdx: fetched {} bytes from object storage in {} requests",
            s.bytes, s.requests
        );
    }
}

/// A command whose output is cut short by a closed pipe (`vdx index --json F | head`) ends
/// quietly, as other Unix tools do, instead of panicking in `println!`: the default action of
/// SIGPIPE (which Rust's runtime sets to ignore) is restored. Outputs vdx writes to files are
/// written under temporary names and renamed when complete, so nothing half-written stays.
/// The window keeps Rust's default: it writes to no pipe.
fn quiet_on_closed_pipe() {
    // SAFETY: setting a signal's disposition to its default, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Run one subcommand.
pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Probe(a) => cmd_probe(a),
        Command::Index(a) => cmd_index(a),
        Command::Frames(a) => cmd_frames(a),
        Command::Clips(a) => cmd_clips(a),
        Command::Audio(a) => cmd_audio(a),
        Command::Build(a) => crate::cli::build::cmd_build(*a),
        Command::Inspect(a) => crate::cli::inspect::cmd_inspect(a),
        Command::Manifest(a) => crate::cli::build::cmd_manifest(a),
        Command::Verify(a) => crate::cli::inspect::cmd_verify(a),
        Command::Augment(a) => crate::cli::augment::cmd_augment(a),
        Command::Export(a) => crate::cli::export::cmd_export(a),
        Command::Quality(a) => crate::cli::quality::cmd_quality(a),
        Command::Health(a) => crate::cli::health::cmd_health(a),
        Command::CompareFields(a) => crate::cli::compare_fields::cmd_compare_fields(a),
        Command::Bench(a) => crate::cli::bench::run(a),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| VdxError::write(std::path::Path::new("<stdout>"), e))?;
    println!("{s}");
    Ok(())
}

fn cmd_probe(a: ProbeArgs) -> Result<ExitCode> {
    let budget = a.budget.budget();
    let mut failed = 0usize;
    let mut results = Vec::new();
    for f in &a.files {
        match probe::probe(f, &budget) {
            Ok(p) => {
                if a.json {
                    results.push(serde_json::to_value(&p).unwrap_or_default());
                } else {
                    print!("{}", probe::format_table(&p));
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("vdx: error: {}", error_text(&e));
                if a.json {
                    results.push(serde_json::json!({
                        "filename": f.display().to_string(),
                        "error": e.to_string(),
                    }));
                }
            }
        }
    }
    if a.json {
        if a.files.len() == 1 {
            print_json(&results[0])?;
        } else {
            print_json(&results)?;
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_index(a: IndexArgs) -> Result<ExitCode> {
    let opts = IndexOptions {
        frame_types: !a.no_types,
        check_decode: a.check_decode,
        budget: a.budget.budget(),
    };
    let idx = index::build_index(&a.file, &opts)?;
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            summary: index::IndexSummary,
            #[serde(flatten)]
            index: &'a index::VideoIndex,
        }
        print_json(&Out {
            summary: idx.summary(),
            index: &idx,
        })?;
    } else if a.csv {
        print!("{}", index::to_csv(&idx));
        for w in &idx.warnings {
            eprintln!("vdx: warning: {}: {w}", a.file.display());
        }
    } else {
        print!("{}", index::format_summary(&idx));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_frames(a: FramesArgs) -> Result<ExitCode> {
    let fmt = match a.format.as_str() {
        "png" => "png",
        "jpg" | "jpeg" => "jpg",
        other => {
            return Err(VdxError::param(
                "format",
                format!("'{other}' is not png or jpg"),
            ))
        }
    };
    let mut dec = VideoDecoder::open(&a.file, a.size.decode_options()?)?;
    let mut wanted: Vec<usize> = match &a.at {
        Some(s) => parse_list(s, "at")?,
        None => vec![],
    };
    if let Some(t) = &a.time {
        for secs in parse_list::<f64>(t, "time")? {
            wanted.push(dec.index().frame_at_time(secs).unwrap_or(0));
        }
    }
    if wanted.is_empty() {
        return Err(VdxError::param(
            "at",
            "give frame indices with --at or times with --time",
        ));
    }
    std::fs::create_dir_all(&a.out).map_err(|e| VdxError::write_io(&a.out, e))?;
    let mut failed = 0;
    for r in dec.frames_partial(&wanted) {
        match r {
            Ok(f) => {
                let bytes = if fmt == "png" {
                    crate::jpeg::encode_png(&f.data, f.width, f.height)?
                } else {
                    crate::jpeg::encode_rgb(&f.data, f.width, f.height, a.quality)?
                };
                let p = a.out.join(format!("frame_{:06}.{fmt}", f.index));
                crate::npy::write_atomic(&p, &bytes)?;
                println!(
                    "{}  frame {} pts {} t={:.6}s",
                    p.display(),
                    f.index,
                    f.pts,
                    dec.index().pts_to_secs(f.pts)
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("vdx: error: {}", error_text(&e));
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_clips(a: ClipsArgs) -> Result<ExitCode> {
    use crate::video::sample::{self, SamplerConfig, Units};
    let cfg = SamplerConfig {
        kind: a.sampler.parse()?,
        frames_per_clip: a.frames,
        stride: a.stride,
        num_clips: a.clips,
        step: a.step,
        units: if a.by_time {
            Units::Seconds
        } else {
            Units::Frames
        },
        seed: a.seed,
        tail: a.tail.parse()?,
        snap: a.snap.parse()?,
        within: a.within,
    };
    let f32_out = match a.dtype.as_str() {
        "u8" => false,
        "f32" => true,
        other => {
            return Err(VdxError::param(
                "dtype",
                format!("'{other}' is not u8 or f32"),
            ))
        }
    };
    let mut dec = VideoDecoder::open(&a.file, a.size.decode_options()?)?;
    let clips = sample::sample_clips(dec.index(), &cfg)?;
    if clips.is_empty() {
        return Err(VdxError::param(
            "tail",
            "no clip fits in the video (all were dropped)",
        ));
    }
    let policy: sample::DamagedPolicy = a.damaged.parse()?;
    let (frames, damaged): (Vec<_>, Vec<_>) = sample::decode_clips_with(&mut dec, &clips, policy)?
        .into_iter()
        .unzip();
    let (w, h) = (frames[0][0].width as usize, frames[0][0].height as usize);
    // A stream whose picture size changes mid-way cannot fill one tensor at its own size.
    if let Some(f) = frames
        .iter()
        .flatten()
        .find(|f| (f.width as usize, f.height as usize) != (w, h))
    {
        return Err(VdxError::param(
            "--size",
            format!(
                "{}: the picture size changes mid-stream ({w}x{h} at frame {}, {}x{} at frame {}); \
                 give --size to bring every frame to one size",
                a.file.display(),
                frames[0][0].index,
                f.width,
                f.height,
                f.index
            ),
        ));
    }
    let (k, t) = (clips.len(), cfg.frames_per_clip);
    let mut npy = if f32_out {
        crate::npy::NpyWriter::create(&a.out, crate::npy::Dtype::F32, &[k, 1, t, h, w, 3])?
    } else {
        crate::npy::NpyWriter::create(&a.out, crate::npy::Dtype::U8, &[k, t, h, w, 3])?
    };
    for clip in &frames {
        if f32_out {
            npy.write_f32(&sample::clip_to_f32(clip))?;
        } else {
            for f in clip {
                npy.write(&f.data)?;
            }
        }
    }
    npy.finish()?;
    let idx = dec.index();
    let meta = serde_json::json!({
        "video": a.file.display().to_string(),
        "frame_count": idx.len(),
        "time_base": format!("{}/{}", idx.time_base.num, idx.time_base.den),
        "sampler": cfg,
        "shape": if f32_out { vec![k, 1, t, h, w, 3] } else { vec![k, t, h, w, 3] },
        "dtype": a.dtype,
        "conversion": dec.conversion_note(),
        "clips": clips,
        // Frames decoded per clip after a seek (what --snap reduces).
        "decode_cost": clips.iter().map(|c| sample::clip_decode_cost(idx, &c.frame_indices)).collect::<Vec<_>>(),
        "damaged": damaged,
    });
    let json_path = a.out.with_extension("json");
    let text = serde_json::to_string_pretty(&meta).map_err(|e| VdxError::write(&json_path, e))?;
    crate::npy::write_atomic(&json_path, text.as_bytes())?;
    println!(
        "{}: {k} clips of {t} frames at {w}x{h} ({}); indices and pts in {}",
        a.out.display(),
        a.dtype,
        json_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_audio(a: AudioArgs) -> Result<ExitCode> {
    let audio = crate::video::audio::decode_mono(&a.file, a.rate)?;
    for w in &audio.warnings {
        eprintln!("vdx: warning: {}: {w}", a.file.display());
    }
    let ext = a
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "wav" => crate::video::audio::write_wav(&a.out, &audio)?,
        "npy" => {
            let mut w = crate::npy::NpyWriter::create(
                &a.out,
                crate::npy::Dtype::F32,
                &[audio.samples.len()],
            )?;
            w.write_f32(&audio.samples)?;
            w.finish()?;
        }
        _ => return Err(VdxError::param("out", "must end in .wav or .npy")),
    }
    println!(
        "{}: {} samples, mono float32 at {} Hz ({:.3} s)",
        a.out.display(),
        audio.samples.len(),
        audio.sample_rate,
        audio.samples.len() as f64 / audio.sample_rate as f64
    );
    Ok(ExitCode::SUCCESS)
}
