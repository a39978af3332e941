//! The dataset commands of the `vdx` CLI: build, inspect, verify.

use crate::dataset::{self, BuildOptions, Dataset, Decoders, FieldKind, SampleData};
use crate::error::{Result, VdxError};
use crate::sample::{SamplerKind, Units};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Video files, folders of videos, or a folder of class folders (labels from the names).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The dataset file to write (*.vdx).
    #[arg(long)]
    pub out: PathBuf,
    /// frames (JPEG per frame), segments (re-encoded video), flow (JPEG keyframes + int8 flow).
    #[arg(long, default_value = "frames")]
    pub field: String,
    /// Frames per clip (T).
    #[arg(long, default_value_t = 16)]
    pub frames: usize,
    /// uniform: K clips of T frames spread over each video; all: every clip of T frames
    /// (stride apart) with a step between clip starts; keyframes: K clips of T keyframes.
    #[arg(long, default_value = "uniform")]
    pub clips: String,
    /// Decode-cost-aware clip starts: none, keyframe (start at the nearest keyframe) or
    /// cheapest (move by at most --within frames to the start that decodes fewest frames).
    #[arg(long, default_value = "none")]
    pub snap: String,
    /// --snap cheapest: how many frames a clip start may move.
    #[arg(long, default_value_t = 0)]
    pub within: usize,
    /// K for --clips uniform.
    #[arg(long, default_value_t = 1)]
    pub num_clips: usize,
    /// Frames between consecutive frames of a clip (--clips all).
    #[arg(long, default_value_t = 1.0)]
    pub stride: f64,
    /// Frames between clip starts (--clips all); 0: one clip span.
    #[arg(long, default_value_t = 0.0)]
    pub step: f64,
    /// Tail policy for clips running past the end: repeat_last, wrap, drop, error.
    #[arg(long, default_value = "repeat_last")]
    pub tail: String,
    /// Frame size: N or WxH.
    #[arg(long, default_value = "224")]
    pub size: String,
    /// crop (short side + centre crop), squash, letterbox.
    #[arg(long, default_value = "crop")]
    pub resize_mode: String,
    /// JPEG quality.
    #[arg(long, default_value_t = 95)]
    pub quality: i32,
    /// Segments: h264, hevc, vp9, av1.
    #[arg(long, default_value = "h264")]
    pub codec: String,
    /// Segments: constant rate factor.
    #[arg(long, default_value_t = 23)]
    pub crf: u32,
    /// Segments: a keyframe every this many frames.
    #[arg(long, default_value_t = 30)]
    pub keyint: u32,
    /// Segments: output frame rate (frames sampled by time).
    #[arg(long)]
    pub fps: Option<f64>,
    /// Segments: longest segment in seconds.
    #[arg(long)]
    pub max_duration: Option<f64>,
    /// Flow: a JPEG keyframe every this many frames.
    #[arg(long, default_value_t = 8)]
    pub keyframe_every: usize,
    /// Flow: int8 = round(flow × scale).
    #[arg(long, default_value_t = 4.0)]
    pub flow_scale: f32,
    /// Videos processed at once (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Skip unreadable videos (reported) instead of failing the build.
    #[arg(long)]
    pub keep_going: bool,
    /// A frame that cannot be decoded: error (the video fails; skipped with --keep-going), or
    /// repeat (the nearest good frame of the clip stands in; provenance lists it as damaged).
    #[arg(long, default_value = "error")]
    pub damaged: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Build shard k of N (0-based) of the whole input list: --out DIR/NAME writes
    /// DIR/NAME-kkkkk-of-NNNNN.vdx. Every worker gets the same inputs; `vdx manifest DIR`
    /// ties the shards together.
    #[arg(long)]
    pub shard: Option<String>,
    /// Class names, one per line: labels are positions in this list (so shards built apart
    /// agree); without it, the class folders of the whole input list, sorted.
    #[arg(long)]
    pub classes: Option<PathBuf>,
    /// Rebuild a shard that is already built with the same inputs and options (by default
    /// that is a no-op, so an engine's retried task costs nothing).
    #[arg(long)]
    pub force: bool,
}

impl BuildArgs {
    pub fn options(&self) -> Result<BuildOptions> {
        let (w, h) = crate::cli::parse_size(&self.size)?;
        let mut o = BuildOptions {
            field: self.field.parse::<FieldKind>()?,
            width: w,
            height: h,
            resize: self.resize_mode.parse()?,
            quality: self.quality,
            ..Default::default()
        };
        o.sampler.frames_per_clip = self.frames;
        o.sampler.tail = self.tail.parse()?;
        match self.clips.as_str() {
            "uniform" => {
                o.sampler.kind = SamplerKind::Uniform;
                o.sampler.num_clips = self.num_clips;
            }
            "all" => {
                o.sampler.kind = SamplerKind::Regular;
                o.sampler.stride = self.stride;
                o.sampler.step = self.step;
                o.sampler.units = Units::Frames;
            }
            "keyframes" => {
                o.sampler.kind = SamplerKind::Keyframes;
                o.sampler.num_clips = self.num_clips;
                o.sampler.stride = self.stride;
            }
            other => {
                return Err(VdxError::param(
                    "--clips",
                    format!("'{other}' is not one of uniform, all, keyframes"),
                ))
            }
        }
        o.sampler.snap = self.snap.parse()?;
        o.sampler.within = self.within;
        o.segment.codec = self.codec.clone();
        o.segment.crf = self.crf;
        o.segment.keyint = self.keyint;
        o.segment.fps = self.fps;
        o.segment.max_duration_secs = self.max_duration;
        o.flow_keyframe_interval = self.keyframe_every;
        o.flow_scale = self.flow_scale;
        o.damaged = self.damaged.parse()?;
        o.validate()?;
        Ok(o)
    }
}

pub(crate) fn ctrl_c_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // A second handler cannot be installed (tests call run() repeatedly): then Ctrl-C just
    // ends the process, which leaves no output file either.
    let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
    flag
}

pub(crate) fn bar(len: u64, quiet: bool, what: &str) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} [{{bar:30}}] {{pos}}/{{len}} {{msg}} ({{elapsed}}, ETA {{eta}})"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb
}

/// What a build run did.
pub enum BuildOutcome {
    Built(dataset::BuildReport),
    /// A sharded build whose shard was already built with the same inputs and options.
    AlreadyBuilt(PathBuf),
}

/// `vdx build` as a library call (the CLI and `vdx.build` in Python): collect the inputs,
/// take this shard's part where one is asked, build. `on_left_out` hears each input left out.
pub fn run_build(
    a: &BuildArgs,
    cancel: &AtomicBool,
    progress: &(dyn Fn(dataset::BuildProgress, usize) + Sync),
    on_left_out: &dyn Fn(&std::path::Path, &str),
) -> Result<BuildOutcome> {
    let opts = a.options()?;
    let shard: Option<dataset::ShardSpec> = a.shard.as_deref().map(str::parse).transpose()?;
    let dataset::CollectedInputs {
        mut inputs,
        mut classes,
        ignored,
    } = dataset::collect_inputs_report(&a.inputs)?;
    for (p, why) in &ignored {
        on_left_out(p, why);
    }
    if let Some(file) = &a.classes {
        classes = dataset::manifest::relabel_from_class_file(&mut inputs, &classes, file)?;
    }
    let (out, extra_info) = match shard {
        None => (a.out.clone(), None),
        Some(spec) => {
            let plan = dataset::manifest::plan_shard(&a.out, spec, &inputs, &opts)?;
            if !a.force && dataset::manifest::shard_is_built(&plan) {
                return Ok(BuildOutcome::AlreadyBuilt(plan.out));
            }
            inputs = inputs[spec.range(inputs.len())].to_vec();
            (plan.out.clone(), Some(plan.info))
        }
    };
    let total = inputs.len();
    let report = dataset::build_with_info(
        &inputs,
        &classes,
        &opts,
        &out,
        dataset::RunOptions {
            threads: a.threads,
            keep_going: a.keep_going,
        },
        extra_info,
        cancel,
        &|p| progress(p, total),
    )?;
    Ok(BuildOutcome::Built(report))
}

pub fn cmd_build(a: BuildArgs) -> Result<ExitCode> {
    let cancel = ctrl_c_flag();
    let pb = std::sync::Mutex::new(None::<indicatif::ProgressBar>);
    let outcome = run_build(
        &a,
        &cancel,
        &|p, total| {
            let mut g = pb.lock().unwrap_or_else(|e| e.into_inner());
            let bar = g.get_or_insert_with(|| bar(total as u64, a.quiet, "videos"));
            bar.set_position(p.videos_done as u64);
            bar.set_message(format!("{} samples", p.samples));
        },
        &|p, why| eprintln!("vdx: left out {}: {why}", p.display()),
    );
    if let Some(p) = pb.lock().unwrap_or_else(|e| e.into_inner()).take() {
        p.finish_and_clear();
    }
    let report = match outcome? {
        BuildOutcome::Built(r) => r,
        BuildOutcome::AlreadyBuilt(path) => {
            println!(
                "{} is already built with these inputs and options (--force rebuilds it)",
                path.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    for (p, why) in &report.skipped {
        eprintln!("vdx: skipped {}: {why}", p.display());
    }
    println!(
        "wrote {}: {} samples from {} videos, {} classes, {:.1} MB",
        report.output.display(),
        report.samples,
        report.videos,
        report.classes.len(),
        report.bytes as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    pub dataset: PathBuf,
    /// Show (and with --frames-out, decode) this sample.
    #[arg(long)]
    pub sample: Option<u64>,
    /// Write the sample's frames (or flow keyframes and flow colour images) as PNGs here.
    #[arg(long)]
    pub frames_out: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_inspect(a: InspectArgs) -> Result<ExitCode> {
    let ds = Dataset::open(&a.dataset)?;
    let (layout, meta_off, data_start) = ds.layout();
    if let Some(i) = a.sample {
        let m = ds.meta(i)?;
        if let Some(dir) = &a.frames_out {
            write_sample_images(&ds, i, dir)?;
        }
        if a.json {
            let v = serde_json::to_string_pretty(&m).expect("serializable");
            println!("{v}");
        } else {
            println!("sample {i} of {}", ds.len());
            println!(
                "  label      {} {}",
                m.label,
                m.class.as_deref().unwrap_or("")
            );
            println!("  record     {:?}", m.record);
            println!("  data       {} bytes at {}", m.data_size, m.data_ptr);
            println!("  checksum   {:08x}", m.checksum);
            println!("  provenance {}", m.provenance);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut samples = Vec::with_capacity(ds.len() as usize);
    let mut labels = std::collections::BTreeMap::<i64, u64>::new();
    let mut bytes = 0u64;
    for i in 0..ds.len() {
        let m = ds.meta(i)?;
        *labels.entry(m.label).or_default() += 1;
        bytes += m.data_size;
        samples.push(m);
    }
    if a.json {
        let v = serde_json::json!({
            "path": ds.path(),
            "header": ds.header,
            "fields": ds.fields,
            "row_offsets": layout.offsets,
            "row_itemsize": layout.itemsize,
            "metadata_offset": meta_off,
            "data_start": data_start,
            "info": ds.info(),
            "shards": ds.manifest().map(|m| &m.shards),
            "samples": samples,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).expect("serializable")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let vf = ds.video_field();
    println!("{}", ds.path().display());
    if let Some(m) = ds.manifest() {
        println!(
            "manifest '{}': {} samples in {} shards",
            m.name,
            m.samples,
            m.shards.len()
        );
        for s in &m.shards {
            println!(
                "  {}  {} samples  {:.1} MB",
                s.file,
                s.samples,
                s.bytes as f64 / 1e6
            );
        }
    }
    println!(
        "  format     .beton v{}, page size {} MiB, {} fields",
        ds.header.version,
        ds.header.page_size >> 20,
        ds.header.num_fields
    );
    for f in &ds.fields {
        println!(
            "  field      {:<10} type {:>2} ({:?}) {}",
            f.name,
            f.field_type.id(),
            f.field_type,
            f.arguments
        );
    }
    println!("  samples    {}", ds.len());
    println!(
        "  video data {:.1} MB ({:.1} kB per sample)",
        bytes as f64 / 1e6,
        bytes as f64 / 1e3 / ds.len().max(1) as f64
    );
    let classes = ds.classes();
    for (l, n) in &labels {
        let name = usize::try_from(*l)
            .ok()
            .and_then(|k| classes.get(k).cloned())
            .unwrap_or_else(|| "(unlabelled)".into());
        println!("  label {l:>4}  {n:>6} samples  {name}");
    }
    let _ = vf;
    Ok(ExitCode::SUCCESS)
}

fn write_sample_images(ds: &Dataset, i: u64, dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| VdxError::write(dir, e))?;
    let mut dec = Decoders::default();
    let save = |name: String, rgb: &[u8], w: usize, h: usize| -> Result<()> {
        let png = crate::jpeg::encode_png(rgb, w as u32, h as u32)?;
        let p = dir.join(name);
        std::fs::write(&p, png).map_err(|e| VdxError::write(&p, e))
    };
    match ds.decode(i, &mut dec)? {
        SampleData::Clip(c) => {
            for t in 0..c.num_frames {
                save(format!("frame_{t:03}.png"), c.frame(t), c.width, c.height)?;
            }
        }
        SampleData::Flow(f) => {
            let n = f.width * f.height * 3;
            for (k, p) in f.keyframe_positions.iter().enumerate() {
                save(
                    format!("keyframe_{p:03}.png"),
                    &f.keyframes[k * n..(k + 1) * n],
                    f.width,
                    f.height,
                )?;
            }
            let m = f.width * f.height * 2;
            for t in 0..f.num_frames.saturating_sub(1) {
                let rgb = crate::flowviz::flow_to_rgb(&f.flow[t * m..(t + 1) * m], None);
                save(format!("flow_{t:03}.png"), &rgb, f.width, f.height)?;
            }
        }
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    pub dataset: PathBuf,
    /// Check structure and checksums only, without decoding every sample.
    #[arg(long)]
    pub no_decode: bool,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub quiet: bool,
}

pub fn cmd_verify(a: VerifyArgs) -> Result<ExitCode> {
    let cancel = ctrl_c_flag();
    let pb = std::sync::Mutex::new(None::<indicatif::ProgressBar>);
    let quiet = a.quiet || a.json;
    let r = dataset::verify::verify(&a.dataset, !a.no_decode, &cancel, &|d, n| {
        let mut g = pb.lock().unwrap_or_else(|e| e.into_inner());
        g.get_or_insert_with(|| bar(n, quiet, "samples"))
            .set_position(d);
    });
    if let Some(p) = pb.lock().unwrap_or_else(|e| e.into_inner()).take() {
        p.finish_and_clear();
    }
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"path": a.dataset, "ok": false, "problems": [e.to_string()]})
                );
            }
            return Err(e);
        }
    };
    if a.json {
        let mut v = serde_json::to_value(&r).expect("serializable");
        v["ok"] = r.ok().into();
        println!("{v}");
    } else if r.ok() {
        println!(
            "{}: OK: {} samples, checksums match, {} decoded",
            r.path, r.samples, r.decoded
        );
    } else {
        for p in &r.problems {
            eprintln!("{p}");
        }
        eprintln!(
            "{}: FAILED: {} problems in {} samples",
            r.path,
            r.problems.len(),
            r.samples
        );
    }
    Ok(if r.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Args, Debug)]
pub struct AugmentArgs {
    /// A video file, or a dataset with --sample.
    pub input: PathBuf,
    /// The recipe (JSON), e.g. assets/recipes/train_224.json.
    #[arg(long)]
    pub recipe: PathBuf,
    /// Overrides the recipe's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Dataset sample to augment (INPUT is a dataset).
    #[arg(long)]
    pub sample: Option<u64>,
    /// Video: first frame of the clip.
    #[arg(long, default_value_t = 0)]
    pub start: usize,
    /// Video: frames in the clip.
    #[arg(long, default_value_t = 32)]
    pub frames: usize,
    /// Video: decode at this size (N or WxH, short side + centre crop); default: stored size.
    #[arg(long)]
    pub size: Option<String>,
    /// Number of draws (epochs 0..K of the same sample).
    #[arg(long, default_value_t = 4)]
    pub draws: usize,
    /// A folder (contact sheet PNG + draws JSON) or FILE.npy (f32 (K,1,T,H,W,3) + FILE.json).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn cmd_augment(a: AugmentArgs) -> Result<ExitCode> {
    use crate::augment::{self, Clip, Recipe};
    let mut recipe = Recipe::load(&a.recipe)?;
    if let Some(s) = a.seed {
        recipe.seed = s;
    }
    if a.draws == 0 || a.draws > 256 {
        return Err(VdxError::param("--draws", "must be between 1 and 256"));
    }
    let (clip, sample_id, source) = match a.sample {
        Some(i) => {
            let ds = Dataset::open(&a.input)?;
            let c = ds.decode_clip(i, &mut Decoders::default())?;
            (
                Clip::new(c.num_frames, c.height, c.width, c.data)?,
                i,
                serde_json::json!({"dataset": a.input, "sample": i}),
            )
        }
        None => {
            let resize = match &a.size {
                Some(s) => {
                    let (w, h) = crate::cli::parse_size(s)?;
                    Some(crate::decode::Resize {
                        width: w,
                        height: h,
                        mode: crate::decode::ResizeMode::ShortSideCrop,
                    })
                }
                None => None,
            };
            let mut d = crate::decode::VideoDecoder::open(
                &a.input,
                crate::decode::DecodeOptions {
                    resize,
                    ..Default::default()
                },
            )?;
            let n = d.frame_count();
            if a.start >= n || a.frames == 0 {
                return Err(VdxError::param(
                    "--start/--frames",
                    format!("{} has {n} frames", a.input.display()),
                ));
            }
            let idx: Vec<usize> = (a.start..(a.start + a.frames).min(n)).collect();
            let frames = d.frames(&idx)?;
            let (w, h) = (frames[0].width as usize, frames[0].height as usize);
            let data: Vec<u8> = frames.iter().flat_map(|f| f.data.iter().copied()).collect();
            (
                Clip::new(frames.len(), h, w, data)?,
                0,
                serde_json::json!({"video": a.input, "frames": idx}),
            )
        }
    };
    let mut rows = Vec::with_capacity(a.draws);
    let mut draws = Vec::with_capacity(a.draws);
    for epoch in 0..a.draws as u64 {
        let (c, d) = augment::apply(&recipe, &clip, sample_id, epoch)?;
        rows.push(c);
        draws.push(serde_json::json!({"sample": sample_id, "epoch": epoch, "draws": d}));
    }
    let meta = serde_json::json!({
        "source": source, "seed": recipe.seed, "recipe": recipe, "draws": draws,
        "shape": [rows[0].t, rows[0].h, rows[0].w, 3],
    });
    let meta_bytes = serde_json::to_vec_pretty(&meta).expect("serializable");
    if a.out.extension().and_then(|e| e.to_str()) == Some("npy") {
        let first = &rows[0];
        if rows
            .iter()
            .any(|r| (r.t, r.h, r.w) != (first.t, first.h, first.w))
        {
            return Err(VdxError::param(
                "--out",
                "the draws have different shapes; write a contact sheet to a folder instead",
            ));
        }
        let mut buf = vec![0f32; first.data.len() * rows.len()];
        for (r, dst) in rows.iter().zip(buf.chunks_exact_mut(first.data.len())) {
            augment::to_float_into(&recipe, r, dst)?;
        }
        let mut bytes = crate::npy::header(
            crate::npy::Dtype::F32,
            &[rows.len(), 1, first.t, first.h, first.w, 3],
        );
        for v in &buf {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        crate::npy::write_atomic(&a.out, &bytes)?;
        crate::npy::write_atomic(&a.out.with_extension("json"), &meta_bytes)?;
        println!(
            "wrote {} and {}",
            a.out.display(),
            a.out.with_extension("json").display()
        );
    } else {
        std::fs::create_dir_all(&a.out).map_err(|e| VdxError::write(&a.out, e))?;
        let (w, h, sheet) = augment::contact_sheet(&rows);
        let png = crate::jpeg::encode_png(&sheet, w as u32, h as u32)?;
        let p = a.out.join("contact_sheet.png");
        crate::npy::write_atomic(&p, &png)?;
        crate::npy::write_atomic(&a.out.join("draws.json"), &meta_bytes)?;
        println!(
            "wrote {} and draws.json ({} draws)",
            p.display(),
            rows.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    pub dataset: PathBuf,
    /// folders, npy, mp4, wds, audio.
    #[arg(long)]
    pub format: String,
    /// Output folder (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// Keep only these labels (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<i64>,
    /// Keep samples A..B.
    #[arg(long)]
    pub range: Option<String>,
    /// Keep exactly these samples (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub samples: Vec<u64>,
    /// Then keep N at random.
    #[arg(long)]
    pub random: Option<usize>,
    /// Train share for a train/val split grouped by source video (e.g. 0.8).
    #[arg(long)]
    pub split: Option<f64>,
    /// Seed for --random and --split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// folders: jpg or png.
    #[arg(long, default_value = "jpg")]
    pub image_format: String,
    /// npy: f32 in [0,1] (u8 otherwise).
    #[arg(long)]
    pub float: bool,
    /// npy: apply this augmentation recipe.
    #[arg(long)]
    pub recipe: Option<PathBuf>,
    /// Samples per shard (npy, wds).
    #[arg(long, default_value_t = 256)]
    pub shard_size: usize,
    /// mp4: codec for re-encoded frames/flow.
    #[arg(long, default_value = "h264")]
    pub codec: String,
    /// mp4: CRF for re-encoded frames/flow.
    #[arg(long, default_value_t = 18)]
    pub crf: u32,
    /// A sample that cannot be exported is reported and left out (folders, mp4, wds, audio);
    /// without it the export stops at that sample and leaves nothing at the output.
    #[arg(long)]
    pub keep_going: bool,
    #[arg(long)]
    pub quiet: bool,
}

pub fn cmd_export(a: ExportArgs) -> Result<ExitCode> {
    use crate::export::{ExportOptions, Subset};
    let range = match &a.range {
        None => None,
        Some(r) => {
            let (x, y) = r
                .split_once("..")
                .ok_or_else(|| VdxError::param("--range", format!("'{r}' is not A..B")))?;
            let p = |s: &str| {
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| VdxError::param("--range", format!("'{r}' is not A..B")))
            };
            Some((p(x)?, p(y)?))
        }
    };
    let opts = ExportOptions {
        format: a.format.parse()?,
        subset: Subset {
            labels: a.labels.clone(),
            range,
            samples: a.samples.clone(),
            random: a.random.map(|n| (n, a.seed)),
            split: a.split.map(|s| (s, a.seed)),
        },
        image_ext: a.image_format.clone(),
        float: a.float,
        recipe: match &a.recipe {
            Some(p) => Some(crate::augment::Recipe::load(p)?),
            None => None,
        },
        shard_size: a.shard_size,
        segment: crate::dataset::segments::SegmentParams {
            codec: a.codec.clone(),
            crf: a.crf,
            ..Default::default()
        },
        fps: 0.0,
        keep_going: a.keep_going,
    };
    let cancel = ctrl_c_flag();
    let pb = std::sync::Mutex::new(None::<indicatif::ProgressBar>);
    let r = crate::export::export(&a.dataset, &opts, &a.out, &cancel, &|d, n| {
        let mut g = pb.lock().unwrap_or_else(|e| e.into_inner());
        g.get_or_insert_with(|| bar(n as u64, a.quiet, "samples"))
            .set_position(d as u64);
    });
    if let Some(p) = pb.lock().unwrap_or_else(|e| e.into_inner()).take() {
        p.finish_and_clear();
    }
    let r = r?;
    for (i, why) in &r.skipped {
        eprintln!("vdx: skipped sample {i}: {why}");
    }
    println!(
        "wrote {}: {} samples, {} files, {:.1} MB{}",
        r.output.display(),
        r.samples,
        r.files,
        r.bytes as f64 / 1e6,
        if r.splits.len() > 1 {
            format!(" ({:?})", r.splits)
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct ManifestArgs {
    /// The folder holding the shards (NAME-kkkkk-of-NNNNN.vdx).
    pub dir: PathBuf,
    /// Which dataset, where the folder holds shards of several.
    #[arg(long)]
    pub name: Option<String>,
}

pub fn cmd_manifest(a: ManifestArgs) -> Result<ExitCode> {
    let (path, m) = dataset::write_manifest(&a.dir, a.name.as_deref())?;
    println!(
        "wrote {}: {} samples in {} shards, {} classes",
        path.display(),
        m.samples,
        m.shards.len(),
        m.classes.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `vdx build`'s arguments from an argument list (without the program and command names),
/// as the CLI parses them: the Python package's `vdx.build` passes its keywords this way so
/// both take the same options with the same checks.
pub fn parse_build_args(argv: &[String]) -> Result<BuildArgs> {
    use clap::Parser;
    #[derive(Parser)]
    #[command(name = "vdx build", no_binary_name = true)]
    struct BuildCommand {
        #[command(flatten)]
        args: BuildArgs,
    }
    BuildCommand::try_parse_from(argv)
        .map(|c| c.args)
        .map_err(|e| VdxError::param("build", e.render().to_string().trim().to_string()))
}
