//! Checks of a dataset built from annotations, from what its samples record (no source video
//! needed): segments shorter than a clip (and how many of its frames are repeats),
//! overlapping segments of one video with different labels, one video in two splits
//! (leakage between train and evaluation), and duplicate rows (same video, segment and
//! labels under different ids). Class balance per split is `vdx inspect`'s split counts.

use crate::dataset::{Dataset, SampleMeta};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// At most this many findings of each kind are listed (all are counted).
pub const MAX_LISTED: usize = 200;

/// One annotation row as its samples record it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowFacts {
    pub row_id: String,
    pub line: u64,
    pub source: String,
    /// Segment frames [start, end); the whole video where the row has no segment.
    pub frames: (u64, u64),
    pub labels: Vec<String>,
    pub split: Option<String>,
    /// Frames per clip (the longest clip of the row's samples).
    pub clip_frames: u64,
    /// Frames the tail policy filled, over the row's samples.
    pub padded: u64,
    /// Clip positions holding a frame shown earlier in the same clip (a segment shorter than
    /// a clip is stretched or filled), over the row's samples.
    pub repeated: u64,
    pub samples: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    pub source: String,
    pub a: String,
    pub b: String,
    pub a_labels: Vec<String>,
    pub b_labels: Vec<String>,
    /// The frames both segments cover, [start, end).
    pub frames: (u64, u64),
}

#[derive(Debug, Clone, Serialize)]
pub struct Leak {
    pub source: String,
    pub splits: Vec<String>,
    pub rows: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    pub source: String,
    pub frames: (u64, u64),
    pub labels: Vec<String>,
    pub rows: Vec<String>,
}

/// A finding list: how many there are, and the first [`MAX_LISTED`].
#[derive(Debug, Clone, Serialize)]
pub struct Findings<T> {
    pub count: usize,
    pub listed: Vec<T>,
}

impl<T> Findings<T> {
    fn from(all: Vec<T>) -> Self {
        let count = all.len();
        Findings {
            count,
            listed: all.into_iter().take(MAX_LISTED).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AnnotationChecks {
    pub rows: usize,
    pub short_segments: Findings<RowFacts>,
    pub overlaps: Findings<Overlap>,
    pub leakage: Findings<Leak>,
    pub duplicate_rows: Findings<Duplicate>,
}

impl AnnotationChecks {
    /// One line per kind of finding, for a terminal.
    pub fn summary(&self) -> Vec<String> {
        let mut out = vec![format!("{} annotation rows", self.rows)];
        let line = |n: usize, what: &str, first: Option<String>| {
            format!(
                "{n} {what}{}",
                first.map(|f| format!("; first: {f}")).unwrap_or_default()
            )
        };
        out.push(line(
            self.short_segments.count,
            "segments shorter than a clip (their clips repeat frames)",
            self.short_segments.listed.first().map(|r| {
                format!(
                    "row {} (line {}) has {} frames for {}-frame clips, {} repeated",
                    r.row_id,
                    r.line,
                    r.frames.1 - r.frames.0,
                    r.clip_frames,
                    r.repeated
                )
            }),
        ));
        out.push(line(
            self.overlaps.count,
            "overlapping segments with different labels",
            self.overlaps.listed.first().map(|o| {
                format!(
                    "{} and {} ({} / {}) share frames {}..{} of {}",
                    o.a,
                    o.b,
                    o.a_labels.join("+"),
                    o.b_labels.join("+"),
                    o.frames.0,
                    o.frames.1,
                    o.source
                )
            }),
        ));
        out.push(line(
            self.leakage.count,
            "videos in more than one split (leakage)",
            self.leakage
                .listed
                .first()
                .map(|l| format!("{} in {}", l.source, l.splits.join(" and "))),
        ));
        out.push(line(
            self.duplicate_rows.count,
            "duplicate rows (same video, segment and labels)",
            self.duplicate_rows
                .listed
                .first()
                .map(|d| format!("{} in {}", d.rows.join(", "), d.source)),
        ));
        out
    }
}

/// The rows of an annotation dataset, from its samples' provenance; empty for a dataset not
/// built from annotations.
pub fn rows(ds: &Dataset, samples: &[SampleMeta]) -> Vec<RowFacts> {
    let classes = ds.classes();
    let splits = ds.splits();
    let mut by_row: BTreeMap<(String, String), RowFacts> = BTreeMap::new();
    for m in samples {
        let p = &m.provenance;
        let Some(row_id) = p["row_id"].as_str() else {
            continue;
        };
        let source = p["source"].as_str().unwrap_or_default().to_string();
        let total = p["source_frames"].as_u64().unwrap_or(0);
        let frames = p["segment"]["frames"]
            .as_array()
            .and_then(|a| Some((a.first()?.as_u64()?, a.get(1)?.as_u64()?)))
            .unwrap_or((0, total));
        let clip: Vec<u64> = p["frames"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f.as_u64()).collect())
            .unwrap_or_default();
        let clip_frames = clip.len() as u64;
        let distinct = clip.iter().collect::<BTreeSet<_>>().len() as u64;
        let r = by_row
            .entry((source.clone(), row_id.to_string()))
            .or_insert_with(|| RowFacts {
                row_id: row_id.to_string(),
                line: p["annotation_line"].as_u64().unwrap_or(0),
                source,
                frames,
                labels: p["labels"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .map(|x| {
                                x.as_u64()
                                    .and_then(|k| classes.get(k as usize).cloned())
                                    .unwrap_or_else(|| "?".into())
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                split: p["split"]
                    .as_u64()
                    .and_then(|k| splits.get(k as usize).cloned()),
                clip_frames: 0,
                padded: 0,
                repeated: 0,
                samples: Vec::new(),
            });
        r.clip_frames = r.clip_frames.max(clip_frames);
        r.padded += p["padded"].as_u64().unwrap_or(0);
        r.repeated += clip_frames - distinct;
        r.samples.push(m.index);
    }
    let mut rows: Vec<RowFacts> = by_row.into_values().collect();
    rows.sort_by_key(|r| r.line);
    rows
}

/// Every check over `rows`.
pub fn check(rows: &[RowFacts]) -> AnnotationChecks {
    let short: Vec<RowFacts> = rows
        .iter()
        .filter(|r| r.frames.1.saturating_sub(r.frames.0) < r.clip_frames)
        .cloned()
        .collect();
    let mut by_video: BTreeMap<&str, Vec<&RowFacts>> = BTreeMap::new();
    for r in rows {
        by_video.entry(&r.source).or_default().push(r);
    }
    let mut overlaps = Vec::new();
    let mut leakage = Vec::new();
    let mut dups = Vec::new();
    for (source, mut rs) in by_video {
        rs.sort_by_key(|r| (r.frames, r.line));
        // Sweep: each row against the later-starting rows that begin before it ends.
        for (i, a) in rs.iter().enumerate() {
            for b in &rs[i + 1..] {
                if b.frames.0 >= a.frames.1 {
                    break;
                }
                let both = (b.frames.0, a.frames.1.min(b.frames.1));
                let la: BTreeSet<&String> = a.labels.iter().collect();
                let lb: BTreeSet<&String> = b.labels.iter().collect();
                if la != lb && both.1 > both.0 {
                    overlaps.push(Overlap {
                        source: source.to_string(),
                        a: a.row_id.clone(),
                        b: b.row_id.clone(),
                        a_labels: a.labels.clone(),
                        b_labels: b.labels.clone(),
                        frames: both,
                    });
                }
            }
        }
        let splits: BTreeSet<&String> = rs.iter().filter_map(|r| r.split.as_ref()).collect();
        if splits.len() > 1 {
            leakage.push(Leak {
                source: source.to_string(),
                splits: splits.into_iter().cloned().collect(),
                rows: rs.iter().map(|r| r.row_id.clone()).collect(),
            });
        }
        // (segment frames, label set) -> the rows that have exactly those.
        type Key<'a> = ((u64, u64), BTreeSet<&'a String>);
        let mut same: BTreeMap<Key, Vec<&RowFacts>> = BTreeMap::new();
        for r in &rs {
            same.entry((r.frames, r.labels.iter().collect()))
                .or_default()
                .push(r);
        }
        for ((frames, _), group) in same.into_iter().filter(|(_, g)| g.len() > 1) {
            dups.push(Duplicate {
                source: source.to_string(),
                frames,
                labels: group[0].labels.clone(),
                rows: group.iter().map(|r| r.row_id.clone()).collect(),
            });
        }
    }
    AnnotationChecks {
        rows: rows.len(),
        short_segments: Findings::from(short),
        overlaps: Findings::from(overlaps),
        leakage: Findings::from(leakage),
        duplicate_rows: Findings::from(dups),
    }
}
