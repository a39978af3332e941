//! Datasets defined by annotation files: one model, one parser per format.
//!
//! Every format (Kinetics CSV, Something-Something v2 JSON, UCF-101 and HMDB-51 split lists,
//! EPIC-Kitchens and Charades segments, a generic CSV or JSON Lines file) becomes the same
//! [`AnnotationRow`]s: a video (a path relative to the videos folder), an optional segment
//! [start, end) in seconds or frames, one or more labels, a split, a row id and the other
//! columns. The builder, the explorer and Python take rows, never a format. Segment times
//! become frames through the packet index (timestamps, never fps arithmetic): see
//! [`crate::dataset::build`].

mod bands;
mod formats;
mod present;

pub(crate) use bands::segment_frames;
pub use bands::{bands_for_video, SegmentBand, VideoBands};
pub use formats::{detect_format, format_pattern, read_annotations};
pub use present::VideosFolder;

use crate::dataset::error::DatasetError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A point in a video: seconds from the first frame's time, or a frame number (0-based,
/// presentation order).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSpec {
    Seconds(f64),
    Frame(u64),
}

/// A segment of a video, [start, end): frames shown at or after `start` and before `end`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Segment {
    pub start: TimeSpec,
    pub end: TimeSpec,
}

/// One annotated item: a video or a segment of one, with its labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnotationRow {
    /// Where the row is in its file: 1-based line (CSV/TXT/JSONL) or 1-based element number
    /// (a JSON list), for error messages.
    pub line: usize,
    /// The format's own id of the row (Kinetics: `youtube_id` + times, SSv2 `id`, Charades
    /// `id` + action number, EPIC `narration_id`), else `line N`.
    pub row_id: String,
    /// The video's path relative to the videos folder (the file name pattern applied).
    pub video: String,
    /// The annotated part of the video; None: the whole video.
    pub segment: Option<Segment>,
    /// One or more class names; the first is the sample's `label`.
    pub labels: Vec<String>,
    /// The split this row belongs to (`train`, `val`, `test`, ...), if the file says.
    pub split: Option<String>,
    /// The row's other columns, by name (kept in the samples' provenance).
    pub extra: BTreeMap<String, String>,
}

/// The annotation formats vdx reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Kinetics,
    Ssv2,
    Ucf101,
    Hmdb51,
    Epic,
    Charades,
    Csv,
    Jsonl,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Kinetics => "kinetics",
            Format::Ssv2 => "ssv2",
            Format::Ucf101 => "ucf101",
            Format::Hmdb51 => "hmdb51",
            Format::Epic => "epic",
            Format::Charades => "charades",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = DatasetError;
    fn from_str(s: &str) -> crate::dataset::error::Result<Self> {
        Ok(match s {
            "kinetics" => Format::Kinetics,
            "ssv2" => Format::Ssv2,
            "ucf101" => Format::Ucf101,
            "hmdb51" => Format::Hmdb51,
            "epic" => Format::Epic,
            "charades" => Format::Charades,
            "csv" => Format::Csv,
            "jsonl" => Format::Jsonl,
            other => {
                return Err(DatasetError::param(
                    "annotation format",
                    format!(
                        "'{other}' is not one of kinetics, ssv2, ucf101, hmdb51, epic, \
                         charades, csv, jsonl"
                    ),
                ))
            }
        })
    }
}

/// How to read an annotation file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AnnotationOptions {
    /// None: detected from the file's name and header where unambiguous.
    pub format: Option<Format>,
    /// The video file name, with the row's columns in braces: `{youtube_id}.mp4`,
    /// `{youtube_id}_{time_start:06d}_{time_end:06d}.mp4` (Python-style zero-padded
    /// integers). None: the format's default.
    pub filename_pattern: Option<String>,
    /// For `csv` and `jsonl`: which column holds what (`video`, `start`, `end`,
    /// `start_frame`, `end_frame`, `label`, `split`, `id`).
    pub columns: BTreeMap<String, String>,
    /// Keep only the rows of this split.
    pub split: Option<String>,
    /// A class list file (one name per line, or the format's own: `classInd.txt`, SSv2's
    /// labels JSON, Charades' classes file); None: the format's own file beside the
    /// annotations where it has one, else the sorted labels found.
    pub classes_file: Option<PathBuf>,
}

/// A parsed annotation file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Annotations {
    pub source: PathBuf,
    pub format: Format,
    pub rows: Vec<AnnotationRow>,
    /// Class names; a label's index is its position here.
    pub classes: Vec<String>,
}

/// The build inputs of annotation rows: each row's video under `videos`, its labels as class
/// indices, its split as an index into the returned split names (sorted), its segment.
#[derive(Debug, Clone)]
pub struct AnnotatedInputs {
    pub inputs: Vec<crate::dataset::BuildInput>,
    pub classes: Vec<String>,
    pub splits: Vec<String>,
    /// Rows whose video is not there: (line, row id, the path looked for).
    pub missing: Vec<(usize, String, PathBuf)>,
}

/// Turn parsed annotations into build inputs over the videos folder `videos` (each row is
/// consumed as it is turned: a Kinetics-700 file's rows and inputs are not held twice).
pub fn build_inputs(ann: Annotations, videos: present::VideosFolder) -> AnnotatedInputs {
    use crate::dataset::build::{AnnotatedInput, BuildInput};
    let class_of: std::collections::HashMap<String, i64> = ann
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i as i64))
        .collect();
    // (Distinct names first: 650,000 rows' split names sorted whole cost a tenth of a second.)
    let splits: Vec<String> = {
        let distinct: std::collections::HashSet<&str> =
            ann.rows.iter().filter_map(|r| r.split.as_deref()).collect();
        let mut names: Vec<String> = distinct.into_iter().map(str::to_string).collect();
        names.sort_unstable();
        names
    };
    // Which videos are there: the folders many rows name listed once (see `present`).
    let folder = videos.path().to_path_buf();
    let exists: Vec<bool> = {
        let names: Vec<&str> = ann.rows.iter().map(|r| r.video.as_str()).collect();
        present::videos_present(videos, &names)
    };
    let videos = folder.as_path();
    let Annotations {
        source,
        rows,
        classes,
        ..
    } = ann;
    let source: std::sync::Arc<std::path::Path> = source.into();
    let mut out = AnnotatedInputs {
        inputs: Vec::with_capacity(rows.len()),
        classes: Vec::new(),
        splits: Vec::new(),
        missing: Vec::new(),
    };
    for (k, (r, there)) in rows.into_iter().zip(exists).enumerate() {
        // The rows' text was made on the parser's threads and is freed here, where the
        // allocator cannot reuse it for the inputs: given back as the rows are used (a
        // Kinetics-700 file: 70 MB at the end otherwise, at the peak of the plan's memory).
        if k % (1 << 17) == (1 << 17) - 1 {
            crate::memory::give_back_freed();
        }
        let path = videos.join(&r.video);
        if !there {
            out.missing.push((r.line, r.row_id, path));
            continue;
        }
        // Labels are checked against the classes by the parser; an unknown one is -1.
        let labels: Vec<i64> = r
            .labels
            .iter()
            .map(|l| class_of.get(l.as_str()).copied().unwrap_or(-1))
            .collect();
        out.inputs.push(BuildInput {
            path,
            label: labels.first().copied().unwrap_or(-1),
            annotation: Some(Box::new(AnnotatedInput {
                file: source.clone(),
                line: r.line,
                row_id: r.row_id,
                segment: r.segment,
                labels,
                split: r.split.as_ref().and_then(|s| splits.binary_search(s).ok()),
                extra: r.extra,
            })),
        });
    }
    out.splits = splits;
    out.classes = classes;
    out
}
