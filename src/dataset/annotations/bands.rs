//! Annotated segments of one video placed on its frames, for the explorer's timeline: each
//! row that names the video becomes a band over the frames the build would sample from
//! (the same timestamp mapping), stacked in lanes so overlapping segments stay visible.

use super::{Annotations, Segment, TimeSpec};
use crate::video::index::VideoIndex;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One row's segment on the video's frames.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentBand {
    /// Frames in presentation order, [start, end).
    pub frames: Range<usize>,
    /// The row's labels, first one first.
    pub labels: Vec<String>,
    /// The first label's class index (colour), if it has one.
    pub class: Option<usize>,
    pub split: Option<String>,
    /// The row's line in the annotation file and its id.
    pub line: usize,
    pub row_id: String,
    /// Which lane the band is drawn in (0 = top); overlapping bands get different lanes.
    pub lane: usize,
}

/// The bands of one video from one annotation file.
#[derive(Debug, Clone)]
pub struct VideoBands {
    pub file: PathBuf,
    pub format: &'static str,
    pub classes: Vec<String>,
    /// Sorted by start frame, then end.
    pub bands: Vec<SegmentBand>,
    pub lanes: usize,
    /// Rows that name this video but do not fit it: "line N (id): why".
    pub problems: Vec<String>,
}

/// A segment's frames on `index`: the frames shown at or after its start and before its end,
/// by timestamp (seconds) or frame number, as the build samples them.
pub(crate) fn segment_frames(
    index: &VideoIndex,
    seg: &Segment,
) -> std::result::Result<Range<usize>, String> {
    let n = index.len();
    match (seg.start, seg.end) {
        (TimeSpec::Seconds(s), TimeSpec::Seconds(e)) => index.frames_between_secs(s, e),
        (TimeSpec::Frame(s), TimeSpec::Frame(e)) => {
            let (s, e) = (s as usize, e as usize);
            if e <= s {
                Err(format!("the segment [{s}, {e}) frames is empty"))
            } else if e > n {
                Err(format!(
                    "the segment [{s}, {e}) frames lies past the video's end ({n} frames)"
                ))
            } else {
                Ok(s..e)
            }
        }
        _ => Err("the segment mixes seconds and frame numbers".to_string()),
    }
}

/// Whether annotation row path `row_video` (relative to a videos folder) names `video`.
fn names(video: &Path, row_video: &str) -> bool {
    let rel = Path::new(row_video);
    rel.components().next().is_some() && video.ends_with(rel)
}

/// The rows of `ann` that name `video`, on `index`'s frames. A row without a segment covers
/// the whole video.
pub fn bands_for_video(ann: &Annotations, video: &Path, index: &VideoIndex) -> VideoBands {
    let mut bands = Vec::new();
    let mut problems = Vec::new();
    for r in ann.rows.iter().filter(|r| names(video, &r.video)) {
        let frames = match &r.segment {
            None => Ok(0..index.len()),
            Some(seg) => segment_frames(index, seg),
        };
        match frames {
            Ok(frames) => bands.push(SegmentBand {
                frames,
                labels: r.labels.clone(),
                class: r
                    .labels
                    .first()
                    .and_then(|l| ann.classes.iter().position(|c| c == l)),
                split: r.split.clone(),
                line: r.line,
                row_id: r.row_id.clone(),
                lane: 0,
            }),
            Err(why) => problems.push(format!("line {} ({}): {why}", r.line, r.row_id)),
        }
    }
    bands.sort_by_key(|b| (b.frames.start, b.frames.end, b.line));
    // Greedy lanes: each band takes the first lane whose last band has ended.
    let mut lane_end: Vec<usize> = Vec::new();
    for b in &mut bands {
        match lane_end.iter().position(|&end| end <= b.frames.start) {
            Some(k) => {
                lane_end[k] = b.frames.end;
                b.lane = k;
            }
            None => {
                b.lane = lane_end.len();
                lane_end.push(b.frames.end);
            }
        }
    }
    VideoBands {
        file: ann.source.clone(),
        format: ann.format.name(),
        classes: ann.classes.clone(),
        lanes: lane_end.len(),
        bands,
        problems,
    }
}

impl VideoBands {
    /// The nearest segment boundary (a band's start or end) after `frame`, if any.
    pub fn boundary_after(&self, frame: usize) -> Option<usize> {
        self.boundaries().filter(|&b| b > frame).min()
    }

    /// The nearest segment boundary before `frame`, if any.
    pub fn boundary_before(&self, frame: usize) -> Option<usize> {
        self.boundaries().filter(|&b| b < frame).max()
    }

    /// Band starts and (last frame + 1 clamped to a frame) ends.
    fn boundaries(&self) -> impl Iterator<Item = usize> + '_ {
        self.bands.iter().flat_map(|b| {
            [
                b.frames.start,
                b.frames.end.saturating_sub(1).max(b.frames.start),
            ]
        })
    }
}
