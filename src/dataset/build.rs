//! Building a dataset from videos: inputs and labels, clips, the three fields, in parallel.
//!
//! One video per task on a rayon pool of the chosen size; each task decodes its clips
//! (frame-exact, each keyframe group decoded once), encodes them for the field and spools the
//! samples to disk, so memory holds one clip per worker whatever the number of videos. The
//! file is then laid out in input order: the same inputs and options give a byte-identical
//! file whatever the thread count.

use crate::dataset::error::{DatasetError, Result};
use crate::dataset::fields::{self, FarnebackParams};
use crate::dataset::format::{FieldDescriptor, FieldType};
use crate::dataset::segments::{self, SegmentParams};
use crate::dataset::writer::{ClosedSpool, DatasetWriter, SampleSpec, VideoRecord};
use crate::video::decode::{DecodeOptions, Resize, ResizeMode, VideoDecoder};
use crate::video::sample::{self, SamplerConfig, SamplerKind, Units};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

mod cache;
mod inputs;

use cache::IndexCache;
use inputs::annotate_provenance;

pub use inputs::{
    collect_inputs, collect_inputs_report, AnnotatedInput, BuildInput, CollectedInputs,
    VIDEO_EXTENSIONS,
};

/// Which video field a dataset stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    #[default]
    Frames,
    Segments,
    Flow,
}

impl std::str::FromStr for FieldKind {
    type Err = DatasetError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "frames" => Ok(FieldKind::Frames),
            "segments" => Ok(FieldKind::Segments),
            "flow" => Ok(FieldKind::Flow),
            _ => Err(DatasetError::param(
                "field",
                format!("'{s}' is not one of frames, segments, flow"),
            )),
        }
    }
}

/// Everything that decides a dataset's bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildOptions {
    pub field: FieldKind,
    /// Which clips: the sampler (uniform: K clips of T frames spread over the video;
    /// regular: every clip of T frames with stride and step).
    pub sampler: SamplerConfig,
    pub width: u32,
    pub height: u32,
    pub resize: ResizeMode,
    /// JPEG quality (frames, flow keyframes).
    pub quality: i32,
    pub segment: SegmentParams,
    /// Flow: a JPEG keyframe every this many frames.
    pub flow_keyframe_interval: usize,
    /// Flow: quantization scale (int8 = round(flow × scale)).
    pub flow_scale: f32,
    pub farneback: FarnebackParams,
    /// A frame that cannot be decoded: the video fails (skipped with --keep-going), or the
    /// nearest good frame of the clip stands in and the sample's provenance lists it.
    pub damaged: sample::DamagedPolicy,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            field: FieldKind::Frames,
            sampler: SamplerConfig::default(),
            width: 224,
            height: 224,
            resize: ResizeMode::ShortSideCrop,
            quality: 95,
            segment: SegmentParams::default(),
            flow_keyframe_interval: 8,
            flow_scale: 4.0,
            farneback: FarnebackParams::default(),
            damaged: sample::DamagedPolicy::Error,
        }
    }
}

impl BuildOptions {
    pub fn validate(&self) -> Result<()> {
        self.sampler.validate()?;
        if self.width == 0 || self.height == 0 || self.width > 8192 || self.height > 8192 {
            return Err(DatasetError::param(
                "size",
                format!("{}x{} is outside 1..=8192", self.width, self.height),
            ));
        }
        if !(1..=100).contains(&self.quality) {
            return Err(DatasetError::param("quality", "must be between 1 and 100"));
        }
        match self.field {
            FieldKind::Segments => {
                segments::check_encoder(&self.segment.codec)?;
                segments::check_size(&self.segment.codec, self.width, self.height)?;
                if self.segment.keyint == 0 {
                    return Err(DatasetError::param("keyint", "must be at least 1"));
                }
                if self.segment.crf > 63 {
                    return Err(DatasetError::param("crf", "must be between 0 and 63"));
                }
                if let Some(f) = self.segment.fps {
                    if !(f.is_finite() && f > 0.0 && f <= 1000.0) {
                        return Err(DatasetError::param("fps", "must be in (0, 1000]"));
                    }
                }
                if let Some(d) = self.segment.max_duration_secs {
                    if !(d.is_finite() && d > 0.0) {
                        return Err(DatasetError::param("max_duration", "must be positive"));
                    }
                }
            }
            FieldKind::Flow => {
                if self.sampler.frames_per_clip < 2 {
                    return Err(DatasetError::param(
                        "frames",
                        "flow needs at least 2 frames per clip",
                    ));
                }
                if self.flow_keyframe_interval == 0 {
                    return Err(DatasetError::param("keyframe_every", "must be at least 1"));
                }
                if !(self.flow_scale.is_finite() && self.flow_scale > 0.0) {
                    return Err(DatasetError::param("flow_scale", "must be positive"));
                }
            }
            FieldKind::Frames => {}
        }
        Ok(())
    }

    /// The sampler actually used (segments with a target fps sample by time).
    pub(crate) fn effective_sampler(&self) -> SamplerConfig {
        let mut s = self.sampler;
        if self.field == FieldKind::Segments {
            if let Some(fps) = self.segment.fps {
                s.units = Units::Seconds;
                s.stride = 1.0 / fps;
                if s.kind == SamplerKind::Regular
                    && s.step > 0.0
                    && self.sampler.units == Units::Frames
                {
                    // Step stays in frames of the source; convert with the nominal rate later.
                }
            }
            if let Some(d) = self.segment.max_duration_secs {
                let fps = self.segment.fps.unwrap_or(30.0);
                let cap = ((d * fps).floor() as usize).max(1);
                s.frames_per_clip = s.frames_per_clip.min(cap);
            }
        }
        s
    }

    pub(crate) fn field_descriptor(&self) -> FieldDescriptor {
        let (t, name, args) = match self.field {
            FieldKind::Frames => (
                FieldType::Frames,
                "frames",
                serde_json::json!({
                    "version": 1,
                    "frames": self.sampler.frames_per_clip, "height": self.height,
                    "width": self.width, "resize": self.resize, "quality": self.quality,
                    "encoding": "jpeg",
                }),
            ),
            FieldKind::Segments => (
                FieldType::Segments,
                "segments",
                serde_json::json!({
                    "version": 1,
                    "codec": segments::canonical_codec(&self.segment.codec), "crf": self.segment.crf,
                    "keyint": self.segment.keyint, "fps": self.segment.fps,
                    "max_duration_secs": self.segment.max_duration_secs,
                    "height": self.height, "width": self.width, "resize": self.resize,
                    "bitstream": if matches!(self.segment.codec.as_str(), "h264" | "hevc" | "h265") { "annexb" } else { "raw" },
                }),
            ),
            FieldKind::Flow => (
                FieldType::Flow,
                "flow",
                serde_json::json!({
                    "version": 1,
                    "frames": self.sampler.frames_per_clip, "height": self.height,
                    "width": self.width, "resize": self.resize, "quality": self.quality,
                    "keyframe_interval": self.flow_keyframe_interval,
                    "scale": self.flow_scale, "quantization": "clip(round(flow*scale),-128,127)",
                    "farneback": self.farneback,
                }),
            ),
        };
        FieldDescriptor {
            field_type: t,
            name: name.into(),
            arguments: args,
        }
    }
}

/// Progress of a build, reported after each video.
#[derive(Debug, Clone, Copy)]
pub struct BuildProgress {
    pub videos_done: usize,
    pub videos_total: usize,
    pub samples: usize,
}

/// What a build did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub output: PathBuf,
    pub samples: usize,
    pub videos: usize,
    pub classes: Vec<String>,
    /// Videos skipped with `keep_going`: (path, reason).
    pub skipped: Vec<(PathBuf, String)>,
    /// The file's size.
    pub bytes: u64,
    /// What it holds: the size less the zero gap before the data region's first page (a
    /// sparse hole on most file systems, but copies to object storage or tar expand it).
    pub data_bytes: u64,
    /// Pictures decoded for the build (targets and the frames before them in their keyframe
    /// groups; skipped non-reference pictures and side-by-side group decoders not counted).
    pub frames_decoded: u64,
}

/// How a build runs (not part of what it writes).
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Videos processed at once (0: one per core).
    pub threads: usize,
    /// Skip unreadable videos (reported) instead of failing the build.
    pub keep_going: bool,
}

/// Build a dataset at `out` from `inputs`.
///
/// Without `keep_going`, the first unreadable video fails the build and nothing is written.
pub fn build(
    inputs: &[BuildInput],
    classes: &[String],
    opts: &BuildOptions,
    out: &Path,
    run: RunOptions,
    cancel: &AtomicBool,
    progress: &(dyn Fn(BuildProgress) + Sync),
) -> Result<BuildReport> {
    build_with_info(inputs, classes, opts, out, run, None, cancel, progress)
}

/// [`build`], with `extra_info` (a JSON object) merged into the dataset info: a shard
/// records which part of which input list it holds there.
#[allow(clippy::too_many_arguments)]
pub fn build_with_info(
    inputs: &[BuildInput],
    classes: &[String],
    opts: &BuildOptions,
    out: &Path,
    run: RunOptions,
    extra_info: Option<serde_json::Value>,
    cancel: &AtomicBool,
    progress: &(dyn Fn(BuildProgress) + Sync),
) -> Result<BuildReport> {
    let RunOptions {
        threads,
        keep_going,
    } = run;
    opts.validate()?;
    let writer = DatasetWriter::new(out)?;
    let pool = worker_pool(threads)?;
    let threads = pool.current_num_threads();
    // Each decoder may use every worker: a long video's keyframe groups are decoded side by
    // side on this same pool (work stealing), so one long video does not leave cores idle
    // while the short ones are done.
    let dec_threads = threads;
    let done = AtomicUsize::new(0);
    let samples = AtomicUsize::new(0);
    let total = inputs.len();
    // Videos are taken largest file first from a shared queue (longest-processing-time
    // first): the long ones start at once and the short ones fill the gaps at the end, so
    // the last worker does not finish long after the others. Samples are still written in
    // input order (each video has its own spool), so the file does not depend on this.
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&k| {
        std::cmp::Reverse(std::fs::metadata(&inputs[k].path).map_or(0, |m| m.len()))
    });
    let next = AtomicUsize::new(0);
    let indexes = IndexCache::new(inputs);
    let decoded = std::sync::atomic::AtomicU64::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<ClosedSpool>>>> =
        inputs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    pool.scope(|s| {
        for _ in 0..threads.min(inputs.len()) {
            s.spawn(|_| loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let Some(&k) = order.get(j) else { break };
                let input = &inputs[k];
                let r = build_one(
                    &writer,
                    k,
                    input,
                    opts,
                    dec_threads,
                    (&indexes, &decoded),
                    cancel,
                );
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                let s = match &r {
                    Ok(sp) => samples.fetch_add(sp.len(), Ordering::Relaxed) + sp.len(),
                    Err(_) => samples.load(Ordering::Relaxed),
                };
                progress(BuildProgress {
                    videos_done: d,
                    videos_total: total,
                    samples: s,
                });
                *slots[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            });
        }
    });
    let results: Vec<Result<ClosedSpool>> = slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or(Err(DatasetError::Cancelled))
        })
        .collect();
    if cancel.load(Ordering::Relaxed) {
        writer.abandon();
        return Err(DatasetError::Cancelled);
    }
    let mut spools = Vec::with_capacity(results.len());
    let mut skipped = Vec::new();
    for (input, r) in inputs.iter().zip(results) {
        match r {
            Ok(s) => spools.push(s),
            Err(e) if keep_going => skipped.push((input.path.clone(), e.without_path())),
            Err(e) => {
                writer.abandon();
                return Err(e);
            }
        }
    }
    let n: usize = spools.iter().map(|s| s.len()).sum();
    let info = dataset_info(
        opts,
        classes,
        inputs.len() - skipped.len(),
        &skipped,
        extra_info,
    );
    let path = writer.finish(opts.field_descriptor(), spools, info)?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    // The zero gap between the metadata table and the first page is a hole on disk: what the
    // data takes is the file without it.
    let gap = crate::dataset::reader::DatasetFile::open(&path)
        .map(|f| {
            let (layout, meta_off, data_start) = f.layout();
            data_start.saturating_sub(meta_off + f.len() * layout.itemsize as u64)
        })
        .unwrap_or(0);
    Ok(BuildReport {
        output: path,
        samples: n,
        videos: inputs.len() - skipped.len(),
        classes: classes.to_vec(),
        skipped,
        bytes,
        data_bytes: bytes.saturating_sub(gap),
        frames_decoded: decoded.load(Ordering::Relaxed),
    })
}

/// A pool of `threads` workers (0: one per core) for a build-like job.
pub(crate) fn worker_pool(threads: usize) -> Result<rayon::ThreadPool> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| DatasetError::param("threads", e.to_string()))
}

/// The dataset info a build writes (FORMAT.md, "dataset info").
pub(crate) fn dataset_info(
    opts: &BuildOptions,
    classes: &[String],
    videos: usize,
    skipped: &[(PathBuf, String)],
    extra_info: Option<serde_json::Value>,
) -> serde_json::Value {
    let info = serde_json::json!({
        "vdx_version": env!("CARGO_PKG_VERSION"),
        "classes": classes,
        "build_options": opts,
        "videos": videos,
        "skipped": skipped.iter().map(|(p, r)| serde_json::json!({"path": p, "reason": r})).collect::<Vec<_>>(),
    });
    match (info, extra_info) {
        (serde_json::Value::Object(mut a), Some(serde_json::Value::Object(b))) => {
            a.extend(b);
            serde_json::Value::Object(a)
        }
        (a, _) => a,
    }
}

/// Facts about a source video that a sample's encoding and provenance need.
#[derive(Debug, Clone)]
pub(crate) struct SourceFacts {
    pub path: PathBuf,
    pub label: i64,
    pub fps: f64,
    pub frames: usize,
    pub width: u32,
    pub height: u32,
    pub time_base: crate::video::media::Ratio,
    /// How the decoder made RGB of the source's pixels (set once a frame is decoded).
    pub conversion: Option<String>,
    /// The annotation row the input came from, and the frames [a, b) of its segment.
    pub annotation: Option<Box<AnnotatedInput>>,
    pub segment_frames: Option<(usize, usize)>,
}

/// Encode one clip's frames (already decoded at the dataset's size) as a sample.
pub(crate) fn encode_sample(
    opts: &BuildOptions,
    src: &SourceFacts,
    clip: &sample::Clip,
    views: &[&[u8]],
    damaged: &[usize],
    jpeg: &mut turbojpeg::Compressor,
) -> Result<SampleSpec> {
    let sampler = opts.effective_sampler();
    let (w, h) = (opts.width, opts.height);
    let (record, data) = match opts.field {
        FieldKind::Frames => (
            VideoRecord::Frames {
                num_frames: views.len() as u32,
                height: h,
                width: w,
            },
            fields::encode_frames(views, w, h, opts.quality, jpeg)?,
        ),
        FieldKind::Flow => {
            let positions = fields::flow_keyframe_positions(
                sampler.frames_per_clip,
                opts.flow_keyframe_interval,
            );
            (
                VideoRecord::Flow {
                    num_frames: views.len() as u32,
                    num_keyframes: positions.len() as u32,
                    height: h,
                    width: w,
                    scale: opts.flow_scale,
                },
                fields::encode_flow(
                    views,
                    w,
                    h,
                    &positions,
                    opts.quality,
                    opts.flow_scale,
                    &opts.farneback,
                    jpeg,
                )?,
            )
        }
        FieldKind::Segments => {
            let fps = opts.segment.fps.unwrap_or_else(|| {
                let stride = if sampler.units == Units::Frames {
                    sampler.stride.max(1.0)
                } else {
                    1.0
                };
                if src.fps > 0.0 {
                    src.fps / stride
                } else {
                    30.0
                }
            });
            segments::encode(views, w, h, fps, &opts.segment)?
        }
    };
    let tb = src.time_base;
    Ok(SampleSpec {
        record,
        video_data: data,
        label: src.label,
        provenance: serde_json::json!({
            // A URL is kept without its credentials or query string.
            "source": if crate::storage::is_url(&src.path) {
                serde_json::Value::from(crate::storage::redact(&src.path.to_string_lossy()))
            } else {
                serde_json::json!(src.path)
            },
            "clip": clip.clip_index,
            "frames": clip.frame_indices,
            "pts": clip.pts,
            "time_base": format!("{}/{}", tb.num, tb.den),
            "source_fps": src.fps,
            "source_frames": src.frames,
            "source_width": src.width,
            "source_height": src.height,
            "padded": clip.padded,
        })
        .as_object()
        .cloned()
        .map(|mut o| {
            if let Some(c) = &src.conversion {
                o.insert("conversion".into(), serde_json::json!(c));
            }
            if let Some(a) = &src.annotation {
                annotate_provenance(&mut o, a, src.segment_frames);
            }
            // Listed only where frames were filled in, so ordinary samples keep their bytes.
            if !damaged.is_empty() {
                o.insert("damaged".into(), serde_json::json!(damaged));
            }
            serde_json::Value::Object(o)
        })
        .unwrap_or_default(),
    })
}

/// Open a source for building: decoded at the dataset's size, one thread per decoder with
/// `group_workers` keyframe groups side by side.
pub(crate) fn open_for_build(
    input: &BuildInput,
    opts: &BuildOptions,
    group_workers: usize,
) -> Result<(VideoDecoder, SourceFacts)> {
    open_for_build_with(input, opts, group_workers, None)
}

/// [`open_for_build`], reusing the index of an earlier row of the same video where `cache`
/// holds it.
fn open_for_build_with(
    input: &BuildInput,
    opts: &BuildOptions,
    group_workers: usize,
    cache: Option<&IndexCache>,
) -> Result<(VideoDecoder, SourceFacts)> {
    let dopts = DecodeOptions {
        resize: Some(Resize {
            width: opts.width,
            height: opts.height,
            mode: opts.resize,
        }),
        // One thread per decoder: while every worker is busy, frame threading only adds
        // synchronisation. Keyframe groups still go side by side (`group_workers`), so a
        // long video can use every worker once the short ones are done.
        threads: 1,
        group_workers,
        ..Default::default()
    };
    let dec = match cache.and_then(|c| c.index(&input.path, &dopts)) {
        Some(index) => VideoDecoder::with_index(&input.path, index, dopts)?,
        None => VideoDecoder::open(&input.path, dopts)?,
    };
    let index = dec.index().clone();
    let (width, height) = dec.source_size();
    let facts = SourceFacts {
        path: input.path.clone(),
        label: input.label,
        fps: index.summary().mean_fps,
        frames: index.len(),
        width,
        height,
        time_base: index.time_base,
        conversion: None,
        annotation: input.annotation.clone(),
        segment_frames: None,
    };
    Ok((dec, facts))
}

/// The frames of an annotated input's segment, by the index's timestamps (seconds count from
/// the first frame) or frame numbers; None for a whole video. A segment that holds no frame
/// or lies past the video's end is an error naming the annotation file and line.
pub(crate) fn segment_range(
    index: &crate::video::index::VideoIndex,
    input: &BuildInput,
) -> Result<Option<std::ops::Range<usize>>> {
    let Some(a) = &input.annotation else {
        return Ok(None);
    };
    let Some(seg) = a.segment else {
        return Ok(None);
    };
    crate::dataset::annotations::segment_frames(index, &seg)
        .map(Some)
        .map_err(|why| DatasetError::Annotation {
            path: a.file.to_path_buf(),
            line: a.line,
            column: "segment".into(),
            reason: format!("{} ({}): {why}", input.path.display(), a.row_id),
        })
}

fn build_one(
    writer: &DatasetWriter,
    k: usize,
    input: &BuildInput,
    opts: &BuildOptions,
    dec_threads: usize,
    (indexes, decoded): (&IndexCache, &std::sync::atomic::AtomicU64),
    cancel: &AtomicBool,
) -> Result<ClosedSpool> {
    // This row's use of its video's cached index ends here, however it ends.
    let _release = indexes.release_on_drop(&input.path);
    if cancel.load(Ordering::Relaxed) {
        return Err(DatasetError::Cancelled);
    }
    let mut spool = writer.spool(k)?;
    let (mut dec, mut facts) = open_for_build_with(input, opts, dec_threads, Some(indexes))?;
    let mut pictures = 0;
    let index = dec.index().clone();
    let clips = match segment_range(&index, input)? {
        Some(range) => {
            facts.segment_frames = Some((range.start, range.end));
            sample::sample_clips_in(&index, range, &opts.effective_sampler())?
        }
        None => sample::sample_clips(&index, &opts.effective_sampler())?,
    };
    let mut jpeg = turbojpeg::Compressor::new()
        .map_err(|e| DatasetError::param("jpeg", format!("libjpeg-turbo could not start: {e}")))?;
    for (c, clip) in clips.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(DatasetError::Cancelled);
        }
        // The last clip ends the decoder's work: it stops at the last target.
        let results = if c + 1 == clips.len() {
            dec.frames_partial_final(&clip.frame_indices)
        } else {
            dec.frames_partial(&clip.frame_indices)
        };
        let (frames, damaged) = sample::fill_damaged(results, opts.damaged)?;
        if facts.conversion.is_none() {
            facts.conversion = dec.conversion_note().map(str::to_string);
        }
        let views: Vec<&[u8]> = frames.iter().map(|f| f.data.as_slice()).collect();
        spool.push(encode_sample(
            opts, &facts, clip, &views, &damaged, &mut jpeg,
        )?)?;
        pictures = dec.pictures_decoded();
    }
    decoded.fetch_add(pictures, Ordering::Relaxed);
    spool.close()
}
