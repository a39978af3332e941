//! `vdx build` (also `vdx.build` in Python) and `vdx manifest`.

use crate::cli::progress::{bar, ctrl_c_flag};
use crate::dataset::{self, BuildOptions, FieldKind};
use crate::error::{Result, VdxError};
use crate::video::sample::{SamplerKind, Units};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

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
}

impl BuildArgs {
    pub fn options(&self) -> Result<BuildOptions> {
        let (w, h) = crate::cli::args::parse_size(&self.size)?;
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
        o.segment.codec = crate::dataset::segments::canonical_codec(&self.codec);
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
    let (mut inputs, classes, annotation_info) = match &a.annotations {
        Some(file) => {
            let (inputs, classes, info) = annotated_inputs(a, file, on_left_out)?;
            (inputs, classes, Some(info))
        }
        None => {
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
            (inputs, classes, None)
        }
    };
    let (out, mut extra_info) = match shard {
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
    if let Some(serde_json::Value::Object(ann)) = annotation_info {
        let mut merged = match extra_info.take() {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        merged.extend(ann);
        extra_info = Some(serde_json::Value::Object(merged));
    }
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

/// The inputs, classes and dataset-info keys of an annotation build: rows read and checked,
/// videos looked up under --videos; missing videos listed in a file and, without
/// --keep-going, an error.
fn annotated_inputs(
    a: &BuildArgs,
    file: &std::path::Path,
    on_left_out: &dyn Fn(&std::path::Path, &str),
) -> Result<(Vec<dataset::BuildInput>, Vec<String>, serde_json::Value)> {
    use crate::dataset::annotations::{self, AnnotationOptions};
    let mut columns = std::collections::BTreeMap::new();
    for part in
        crate::cli::args::parse_list::<String>(a.columns.as_deref().unwrap_or(""), "--columns")?
    {
        let (role, col) = part
            .split_once('=')
            .ok_or_else(|| VdxError::param("--columns", format!("'{part}' is not ROLE=COLUMN")))?;
        columns.insert(role.trim().to_string(), col.trim().to_string());
    }
    let ann = annotations::read_annotations(
        file,
        &AnnotationOptions {
            format: a.format.as_deref().map(str::parse).transpose()?,
            filename_pattern: a.filename_pattern.clone(),
            columns,
            split: a.split.clone(),
            classes_file: a.classes.clone(),
        },
    )?;
    let videos = a.videos.clone().unwrap_or_default();
    let got = annotations::build_inputs(&ann, &videos);
    if !got.missing.is_empty() {
        let list = a.missing_out.clone().unwrap_or_else(|| {
            let mut p = a.out.clone().into_os_string();
            p.push(".missing.txt");
            PathBuf::from(p)
        });
        let text: String = got
            .missing
            .iter()
            .map(|(line, id, p)| format!("{}\tline {line}\t{id}\n", p.display()))
            .collect();
        crate::npy::write_atomic(&list, text.as_bytes())?;
        let n_rows = ann.rows.len();
        if !a.keep_going {
            return Err(VdxError::param(
                "--annotations",
                format!(
                    "{} of {n_rows} rows name a video that is not in {} (first: {}, line {}); \
                     listed in {}; --keep-going builds without them",
                    got.missing.len(),
                    videos.display(),
                    got.missing[0].2.display(),
                    got.missing[0].0,
                    list.display()
                ),
            ));
        }
        for (line, id, p) in &got.missing {
            on_left_out(p, &format!("missing video (annotation line {line}, {id})"));
        }
        eprintln!(
            "vdx: {} of {n_rows} annotation rows name a missing video ({:.1}%); listed in {}",
            got.missing.len(),
            100.0 * got.missing.len() as f64 / n_rows.max(1) as f64,
            list.display()
        );
    }
    if got.inputs.is_empty() {
        return Err(VdxError::param(
            "--annotations",
            format!(
                "no annotation row of {} names a video under {}",
                file.display(),
                videos.display()
            ),
        ));
    }
    let info = serde_json::json!({
        "splits": got.splits,
        "annotations": {
            "file": file.display().to_string(),
            "format": ann.format.name(),
            "rows": ann.rows.len(),
            "missing_videos": got.missing.len(),
        },
    });
    Ok((got.inputs, got.classes, info))
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
        "wrote {}: {} samples from {} videos, {} classes, {}",
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
