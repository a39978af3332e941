//! `vdx build` (also `vdx.build` in Python) and `vdx manifest`.

use crate::cli::progress::{bar, ctrl_c_flag};
use crate::dataset;
use crate::dataset::request::{BuildHooks, BuildOutcome, BuildRequest};
use crate::error::{Result, VdxError};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Video files, folders of videos, or a folder of class folders (labels from the names).
    /// Not with --annotations.
    #[arg(
        required_unless_present = "annotations",
        conflicts_with = "annotations"
    )]
    pub inputs: Vec<PathBuf>,
    /// An annotation file defining the samples (Kinetics CSV, SSv2 JSON, UCF-101/HMDB-51 split
    /// lists, EPIC-Kitchens or Charades CSV, a CSV or JSON Lines file): videos under --videos,
    /// clips sampled inside each row's segment, every label, split and row id kept.
    #[arg(long, requires = "videos")]
    pub annotations: Option<PathBuf>,
    /// The annotation format: kinetics, ssv2, ucf101, hmdb51, epic, charades, csv, jsonl
    /// (default: detected from the file's name and header).
    #[arg(long)]
    pub format: Option<String>,
    /// The folder the annotations' videos are in.
    #[arg(long)]
    pub videos: Option<PathBuf>,
    /// Video file names from a row's columns: '{youtube_id}.mp4' (a segment of an untrimmed
    /// video) or '{youtube_id}_{time_start:06d}_{time_end:06d}.mp4' (trimmed clips: the
    /// whole file). Default: the format's own naming.
    #[arg(long)]
    pub filename_pattern: Option<String>,
    /// csv/jsonl: which column holds what, e.g. video=path,label=action,start=t0,end=t1,
    /// split=subset,id=uid (also start_frame, end_frame).
    #[arg(long)]
    pub columns: Option<String>,
    /// Keep only the annotation rows of this split.
    #[arg(long)]
    pub split: Option<String>,
    /// Where to list the videos the annotations name but the videos folder lacks (default:
    /// OUT with `.missing.txt` appended).
    #[arg(long)]
    pub missing_out: Option<PathBuf>,
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
    /// Plan only: read and check the inputs or annotations and the options, list missing
    /// videos, print what the build would take, and decode nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl BuildArgs {
    /// The build these flags ask for; `--columns a=b,c=d` becomes the column map.
    pub fn request(&self) -> Result<BuildRequest> {
        let mut columns = std::collections::BTreeMap::new();
        for part in crate::cli::args::parse_list::<String>(
            self.columns.as_deref().unwrap_or(""),
            "columns",
        )? {
            let (role, col) = part.split_once('=').ok_or_else(|| {
                VdxError::param("columns", format!("'{part}' is not ROLE=COLUMN"))
            })?;
            columns.insert(role.trim().to_string(), col.trim().to_string());
        }
        Ok(BuildRequest {
            inputs: self.inputs.clone(),
            annotations: self.annotations.clone(),
            format: self.format.clone(),
            videos: self.videos.clone(),
            filename_pattern: self.filename_pattern.clone(),
            columns,
            split: self.split.clone(),
            missing_out: self.missing_out.clone(),
            out: self.out.clone(),
            field: self.field.clone(),
            frames: self.frames,
            clips: self.clips.clone(),
            snap: self.snap.clone(),
            within: self.within,
            num_clips: self.num_clips,
            stride: self.stride,
            step: self.step,
            tail: self.tail.clone(),
            size: self.size.clone(),
            resize_mode: self.resize_mode.clone(),
            quality: self.quality,
            codec: self.codec.clone(),
            crf: self.crf,
            keyint: self.keyint,
            fps: self.fps,
            max_duration: self.max_duration,
            keyframe_every: self.keyframe_every,
            flow_scale: self.flow_scale,
            threads: self.threads,
            keep_going: self.keep_going,
            damaged: self.damaged.clone(),
            shard: self.shard.clone(),
            classes: self.classes.clone(),
            force: self.force,
            dry_run: self.dry_run,
        })
    }
}

pub fn cmd_build(a: BuildArgs) -> Result<ExitCode> {
    let cancel = ctrl_c_flag();
    let pb = std::sync::Mutex::new(None::<indicatif::ProgressBar>);
    let request = a.request()?;
    let outcome = request.run(
        &cancel,
        &BuildHooks {
            progress: &|p, total| {
                let mut g = pb.lock().unwrap_or_else(|e| e.into_inner());
                let bar = g.get_or_insert_with(|| bar(total as u64, a.quiet, "videos"));
                bar.set_position(p.videos_done as u64);
                bar.set_message(format!("{} samples", p.samples));
            },
            left_out: &|p, why| {
                eprintln!("vdx: left out {}: {}", p.display(), super::with_flags(why))
            },
            note: &|text| eprintln!("vdx: {}", super::with_flags(text)),
        },
    );
    if let Some(p) = pb.lock().unwrap_or_else(|e| e.into_inner()).take() {
        p.finish_and_clear();
    }
    let report = match outcome? {
        BuildOutcome::Built(r) => r,
        BuildOutcome::Planned(p) => {
            let splits: Vec<String> = p.splits.iter().map(|(k, n)| format!("{k} {n}")).collect();
            println!(
                "plan: {} inputs from {} videos, {} classes{}{}; nothing built (--dry-run)",
                p.inputs,
                p.videos,
                p.classes,
                if splits.is_empty() {
                    String::new()
                } else {
                    format!(", splits: {}", splits.join(", "))
                },
                if p.missing > 0 {
                    format!(", {} annotated videos missing", p.missing)
                } else {
                    String::new()
                }
            );
            return Ok(ExitCode::SUCCESS);
        }
        BuildOutcome::AlreadyBuilt(path) => {
            println!(
                "{} is already built with these inputs and options (--force rebuilds it)",
                path.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    for (p, why) in &report.skipped {
        eprintln!("vdx: skipped {}: {}", p.display(), super::with_flags(why));
    }
    // An annotation build's inputs are rows (several may name one video).
    let inputs = if a.annotations.is_some() {
        "annotation rows"
    } else {
        "videos"
    };
    println!(
        "wrote {}: {} samples from {} {inputs}, {} classes, {}",
        report.output.display(),
        report.samples,
        report.videos,
        report.classes.len(),
        size_text(report.data_bytes, report.bytes)
    );
    Ok(ExitCode::SUCCESS)
}

/// "380.2 kB of data (file 2.5 MB: a 2.1 MB zero gap before the first page, sparse on disk)".
fn size_text(data: u64, file: u64) -> String {
    let mb = |b: u64| {
        if b < 1_000_000 {
            format!("{:.1} kB", b as f64 / 1e3)
        } else {
            format!("{:.1} MB", b as f64 / 1e6)
        }
    };
    if file > data {
        format!(
            "{} of data (file {}: a {} zero gap before the first page, sparse on disk)",
            mb(data),
            mb(file),
            mb(file - data)
        )
    } else {
        format!("{} of data", mb(data))
    }
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
