//! One build as a caller asks for it: what to read, where to write, and every option, named
//! as FORMAT.md and the Python package name them. The CLI fills a [`BuildRequest`] from its
//! flags, `vdx.build(...)` from its keywords (as JSON, so an unknown keyword is refused by
//! name), and both get the same checks and the same messages from [`BuildRequest::options`].
//!
//! The enum-like options (field, clips, snap, tail, resize_mode, damaged, format) are kept as
//! the words people type and parsed here, so that every front end reports a bad value with
//! the same sentence ("'x' is not one of frames, segments, flow").

use crate::dataset::error::{DatasetError, Result};
use crate::dataset::{self, BuildOptions, FieldKind};
use crate::video::sample::{SamplerKind, Units};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Everything `vdx build` / `vdx.build` takes. Defaults are the CLI's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuildRequest {
    /// Video files, folders of videos, or a folder of class folders. Not with `annotations`.
    pub inputs: Vec<PathBuf>,
    /// An annotation file defining the samples (see `dataset::annotations`).
    pub annotations: Option<PathBuf>,
    /// The annotation format (default: detected).
    pub format: Option<String>,
    /// The folder the annotations' videos are in.
    pub videos: Option<PathBuf>,
    /// Video file names from a row's columns, e.g. `{youtube_id}.mp4`.
    pub filename_pattern: Option<String>,
    /// csv/jsonl: which column holds what (role -> column name).
    pub columns: BTreeMap<String, String>,
    /// Keep only the annotation rows of this split.
    pub split: Option<String>,
    /// Where to list missing videos (default: `out` + `.missing.txt`).
    pub missing_out: Option<PathBuf>,
    /// The dataset file to write, or DIR/NAME for a sharded build.
    pub out: PathBuf,
    pub field: String,
    pub frames: usize,
    pub clips: String,
    pub snap: String,
    pub within: usize,
    pub num_clips: usize,
    pub stride: f64,
    pub step: f64,
    pub tail: String,
    /// "224" or "320x240".
    pub size: String,
    pub resize_mode: String,
    pub quality: i32,
    pub codec: String,
    pub crf: u32,
    pub keyint: u32,
    pub fps: Option<f64>,
    pub max_duration: Option<f64>,
    pub keyframe_every: usize,
    pub flow_scale: f32,
    /// Videos processed at once (0: one per core).
    pub threads: usize,
    /// Skip unreadable videos (and build without missing annotated ones).
    pub keep_going: bool,
    pub damaged: String,
    /// Shard `k/N` of the whole input list.
    pub shard: Option<String>,
    /// A class-list file: labels are positions in it.
    pub classes: Option<PathBuf>,
    /// Rebuild a shard already built with the same inputs and options.
    pub force: bool,
    /// Plan only: read the inputs (or annotations), check them and the options, list the
    /// missing videos, and stop before decoding anything.
    pub dry_run: bool,
}

impl Default for BuildRequest {
    fn default() -> Self {
        BuildRequest {
            inputs: Vec::new(),
            annotations: None,
            format: None,
            videos: None,
            filename_pattern: None,
            columns: BTreeMap::new(),
            split: None,
            missing_out: None,
            out: PathBuf::new(),
            field: "frames".into(),
            frames: 16,
            clips: "uniform".into(),
            snap: "none".into(),
            within: 0,
            num_clips: 1,
            stride: 1.0,
            step: 0.0,
            tail: "repeat_last".into(),
            size: "224".into(),
            resize_mode: "crop".into(),
            quality: 95,
            codec: "h264".into(),
            crf: 23,
            keyint: 30,
            fps: None,
            max_duration: None,
            keyframe_every: 8,
            flow_scale: 4.0,
            threads: 0,
            keep_going: false,
            damaged: "error".into(),
            shard: None,
            classes: None,
            force: false,
            dry_run: false,
        }
    }
}

/// What a build run did.
pub enum BuildOutcome {
    Built(dataset::BuildReport),
    /// A sharded build whose shard was already built with the same inputs and options.
    AlreadyBuilt(PathBuf),
    /// A dry run: what the build would take.
    Planned(BuildPlan),
}

/// What a build would take (a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct BuildPlan {
    /// Inputs the build would process (videos, or annotation rows whose video is there).
    pub inputs: usize,
    /// Distinct videos among them.
    pub videos: usize,
    pub classes: usize,
    /// Inputs per split (annotation builds).
    pub splits: BTreeMap<String, usize>,
    /// Annotation rows whose video is missing.
    pub missing: usize,
}

/// What a running build tells its caller besides its result.
pub struct BuildHooks<'a> {
    /// (progress, number of videos).
    pub progress: &'a (dyn Fn(dataset::BuildProgress, usize) + Sync),
    /// An input left out, and why.
    pub left_out: &'a dyn Fn(&Path, &str),
    /// A remark for the user (e.g. how many annotated videos are missing).
    pub note: &'a dyn Fn(&str),
}

impl BuildRequest {
    /// A request from JSON (the Python package's keywords); unknown names are refused.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| DatasetError::param("build", e.to_string()))
    }

    /// The checked build options.
    pub fn options(&self) -> Result<BuildOptions> {
        if self.out.as_os_str().is_empty() {
            return Err(DatasetError::param("out", "say where to write the dataset"));
        }
        match (&self.annotations, self.inputs.is_empty()) {
            (Some(_), false) => {
                return Err(DatasetError::param(
                    "inputs",
                    "give either input videos/folders or an annotation file, not both",
                ))
            }
            (Some(_), true) if self.videos.is_none() => {
                return Err(DatasetError::param(
                    "videos",
                    "an annotation build needs the folder its videos are in",
                ))
            }
            (None, true) => {
                return Err(DatasetError::param(
                    "inputs",
                    "give video files or folders, or an annotation file",
                ))
            }
            _ => {}
        }
        let (w, h) = crate::video::decode::parse_size(&self.size)?;
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
                return Err(DatasetError::param(
                    "clips",
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

    /// Build: collect the inputs (or read the annotations), take this shard's part where one
    /// is asked, build atomically.
    pub fn run(&self, cancel: &AtomicBool, hooks: &BuildHooks) -> Result<BuildOutcome> {
        let opts = self.options()?;
        let shard: Option<dataset::ShardSpec> =
            self.shard.as_deref().map(str::parse).transpose()?;
        let (mut inputs, classes, annotation_info) = match &self.annotations {
            Some(file) => {
                let (inputs, classes, info) = self.annotated_inputs(file, hooks)?;
                (inputs, classes, Some(info))
            }
            None => {
                let dataset::CollectedInputs {
                    mut inputs,
                    mut classes,
                    ignored,
                } = dataset::collect_inputs_report(&self.inputs)?;
                for (p, why) in &ignored {
                    (hooks.left_out)(p, why);
                }
                if let Some(file) = &self.classes {
                    classes =
                        dataset::manifest::relabel_from_class_file(&mut inputs, &classes, file)?;
                }
                (inputs, classes, None)
            }
        };
        if self.dry_run {
            let mut splits = BTreeMap::new();
            let names: Vec<String> = annotation_info
                .as_ref()
                .and_then(|i| i["splits"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            for i in &inputs {
                if let Some(k) = i.annotation.as_ref().and_then(|a| a.split) {
                    *splits.entry(names[k].clone()).or_insert(0) += 1;
                }
            }
            // As bytes: hashing a Path walks its components.
            let videos: std::collections::HashSet<&std::ffi::OsStr, foldhash::fast::RandomState> =
                inputs.iter().map(|i| i.path.as_os_str()).collect();
            return Ok(BuildOutcome::Planned(BuildPlan {
                inputs: inputs.len(),
                videos: videos.len(),
                classes: classes.len(),
                splits,
                missing: annotation_info
                    .as_ref()
                    .and_then(|i| i["annotations"]["missing_videos"].as_u64())
                    .unwrap_or(0) as usize,
            }));
        }
        let (out, mut extra_info) = match shard {
            None => (self.out.clone(), None),
            Some(spec) => {
                let plan = dataset::manifest::plan_shard(&self.out, spec, &inputs, &opts)?;
                if !self.force && dataset::manifest::shard_is_built(&plan) {
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
        // To object storage: built in a local scratch folder, then uploaded whole (a
        // multipart upload for a large file), so the object appears complete or not at all.
        let scratch = if crate::storage::is_url(&out) {
            Some(tempfile::tempdir().map_err(|e| DatasetError::io(&std::env::temp_dir(), e))?)
        } else {
            None
        };
        let local_out = match &scratch {
            Some(dir) => dir.path().join(out.file_name().unwrap_or_default()),
            None => out.clone(),
        };
        let mut report = dataset::build_with_info(
            &inputs,
            &classes,
            &opts,
            &local_out,
            dataset::RunOptions {
                threads: self.threads,
                keep_going: self.keep_going,
            },
            extra_info,
            cancel,
            &|p| (hooks.progress)(p, total),
        )?;
        if scratch.is_some() {
            crate::storage::upload(&local_out, &out)?;
            report.output = out;
        }
        Ok(BuildOutcome::Built(report))
    }

    /// The inputs, classes and dataset-info keys of an annotation build: rows read and
    /// checked, videos looked up under `videos`; missing videos listed in a file and, without
    /// `keep_going`, an error.
    fn annotated_inputs(
        &self,
        file: &Path,
        hooks: &BuildHooks,
    ) -> Result<(Vec<dataset::BuildInput>, Vec<String>, serde_json::Value)> {
        use crate::dataset::annotations::{self, AnnotationOptions};
        let videos = self.videos.clone().unwrap_or_default();
        let folder = annotations::VideosFolder::list_ahead(&videos);
        let ann = annotations::read_annotations(
            file,
            &AnnotationOptions {
                format: self.format.as_deref().map(str::parse).transpose()?,
                filename_pattern: self.filename_pattern.clone(),
                columns: self.columns.clone(),
                split: self.split.clone(),
                classes_file: self.classes.clone(),
            },
        )?;
        let (n_rows, format) = (ann.rows.len(), ann.format.name());
        let got = annotations::build_inputs(ann, folder);
        if !got.missing.is_empty() {
            let list = self.missing_out.clone().unwrap_or_else(|| {
                // Beside the output; for an output on object storage, in the working folder.
                let mut p = if crate::storage::is_url(&self.out) {
                    self.out.file_name().unwrap_or_default().to_os_string()
                } else {
                    self.out.clone().into_os_string()
                };
                p.push(".missing.txt");
                PathBuf::from(p)
            });
            let text: String = got
                .missing
                .iter()
                .map(|(line, id, p)| format!("{}\tline {line}\t{id}\n", p.display()))
                .collect();
            crate::npy::write_atomic(&list, text.as_bytes())?;
            if !self.keep_going && !self.dry_run {
                return Err(DatasetError::param(
                    "annotations",
                    format!(
                        "{} of {n_rows} rows name a video that is not in {} (first: {}, line \
                         {}); listed in {}; the keep_going option builds without them",
                        got.missing.len(),
                        videos.display(),
                        got.missing[0].2.display(),
                        got.missing[0].0,
                        list.display()
                    ),
                ));
            }
            // A dry run names them in the list only (tens of thousands of lines otherwise).
            if !self.dry_run {
                for (line, id, p) in &got.missing {
                    (hooks.left_out)(p, &format!("missing video (annotation line {line}, {id})"));
                }
            }
            (hooks.note)(&format!(
                "{} of {n_rows} annotation rows name a missing video ({:.1}%); listed in {}",
                got.missing.len(),
                100.0 * got.missing.len() as f64 / n_rows.max(1) as f64,
                list.display()
            ));
        }
        if got.inputs.is_empty() {
            return Err(DatasetError::param(
                "annotations",
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
                "format": format,
                "rows": n_rows,
                "missing_videos": got.missing.len(),
            },
        });
        Ok((got.inputs, got.classes, info))
    }
}
