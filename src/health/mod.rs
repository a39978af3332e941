//! Dataset health: one pass over a built dataset's stored samples (no source videos) that
//! finds the clips likely to hurt training: black or blank, dark or overexposed, frozen,
//! without motion, with a scene cut inside, with bars at the edges, blurry, and near-duplicate
//! clips across the dataset (also across splits and labels).
//!
//! Every threshold is a field of [`Thresholds`] with a documented default. The result is a
//! [`HealthReport`], written beside the dataset as a sidecar tied to the dataset's bytes
//! ([`sidecar`]), so the explorer, the exporter and the Python loader read it without
//! measuring again, and refuse it once the dataset changed.

pub mod error;
pub use error::HealthError;

pub mod dups;
pub mod frames;
pub mod sidecar;

use crate::dataset::{Dataset, Decoders, SampleData};
use crate::health::error::Result;
use frames::Bars;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// What each check compares against. Luma is 0-255 (BT.601 weights, as OpenCV's grey).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// A pixel is black at or below this luma (FFmpeg's `blackdetect` default `pix_th`
    /// 0.10 of the range: 25.5).
    pub black_luma: f64,
    /// A frame is black when at least this fraction of its pixels is (`blackdetect`'s
    /// `picture_black_ratio_th` 0.98).
    pub black_ratio: f64,
    /// A frame that is not black is blank (one flat colour) when its luma's standard
    /// deviation is at most this.
    pub blank_std: f64,
    /// A clip is black (or blank) when at least this fraction of its frames is.
    pub clip_fraction: f64,
    /// A clip is dark when its mean luma is below this (and it is not black).
    pub dark_mean: f64,
    /// A clip is overexposed when its mean luma is above this (and it is not blank).
    pub light_mean: f64,
    /// Two consecutive frames are the same picture when their mean absolute luma
    /// difference is at most this (flow samples: the mean flow magnitude, in pixels, at most
    /// `frozen_flow_px`).
    pub frozen_diff: f64,
    pub frozen_flow_px: f64,
    /// A clip is frozen when it holds a run of at least this many frames that are the same
    /// picture.
    pub frozen_min_frames: usize,
    /// A clip is static (no motion) when its mean frame difference is below this (flow
    /// samples: its mean flow magnitude below `static_flow_px`).
    pub static_motion: f64,
    pub static_flow_px: f64,
    /// PySceneDetect's ContentDetector threshold: a cut where the HSV content score between
    /// consecutive frames reaches it (its default, 27). Within a clip every such frame is a
    /// cut (PySceneDetect's `min_scene_len` 0).
    pub cut_threshold: f64,
    /// A line at an edge belongs to a bar when its luma spread, and its change across the
    /// clip, are at most this.
    pub bar_std: f64,
    /// Bars flag a clip when the two sides together cover at least this fraction of the
    /// height (letterbox) or width (pillarbox).
    pub bar_fraction: f64,
    /// A clip is blurry when the median over its frames of the Laplacian's variance is below
    /// this (depends on the stored size: smaller pictures look sharper).
    pub blur_variance: f64,
    /// Two clips are near-duplicates when their 64-bit perceptual hashes differ in at most
    /// this many bits.
    pub duplicate_bits: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            black_luma: 25.5,
            black_ratio: 0.98,
            blank_std: 3.0,
            clip_fraction: 0.5,
            dark_mean: 40.0,
            light_mean: 215.0,
            frozen_diff: 0.5,
            frozen_flow_px: 0.05,
            frozen_min_frames: 5,
            static_motion: 1.0,
            static_flow_px: 0.1,
            cut_threshold: 27.0,
            bar_std: 4.0,
            bar_fraction: 0.05,
            blur_variance: 20.0,
            duplicate_bits: 10,
        }
    }
}

/// The flags, by name. `duplicate`: in a group of near-identical clips;
/// `duplicate_across_splits` / `duplicate_label_conflict`: that group spans splits / labels.
pub const FLAGS: &[&str] = &[
    "black",
    "blank",
    "dark",
    "overexposed",
    "frozen",
    "static",
    "cut",
    "letterbox",
    "pillarbox",
    "blurry",
    "duplicate",
    "duplicate_across_splits",
    "duplicate_label_conflict",
];

/// What one sample's frames measure. Frame lists are clip positions (0-based); a sample's
/// provenance maps them to source frames. Flow samples measure their stored keyframes
/// (`positions`) and their flow; they have no cut detection (consecutive pictures are not
/// stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleHealth {
    pub index: u64,
    pub label: i64,
    /// Split index (into the dataset's splits), -1 for none.
    pub split: i64,
    /// The source video (provenance); clips of one source are never duplicates of each
    /// other (overlapping clips of one video look alike by construction).
    pub source: String,
    /// Flags by name, in [`FLAGS`] order.
    pub flags: Vec<String>,
    /// Clip positions of the measured pictures (every frame; flow: the keyframes).
    pub positions: Vec<u32>,
    pub luma_mean: Vec<f64>,
    pub luma_std: Vec<f64>,
    /// Laplacian variance per picture.
    pub sharpness: Vec<f64>,
    /// Between consecutive frames (length T-1): mean absolute luma difference, or for flow
    /// samples the mean flow magnitude in pixels.
    pub motion: Vec<f64>,
    /// PySceneDetect's content score between consecutive frames (empty for flow).
    pub content: Vec<f64>,
    pub black_frames: Vec<u32>,
    pub blank_frames: Vec<u32>,
    /// Runs `[first, last]` (inclusive) of frames that are the same picture, at least
    /// `frozen_min_frames` long.
    pub frozen_runs: Vec<[u32; 2]>,
    /// Positions of the first frame after each cut.
    pub cuts: Vec<u32>,
    pub bars: Bars,
    /// Mean of `luma_mean`, mean of `motion`, median of `sharpness`.
    pub brightness: f64,
    pub motion_mean: f64,
    pub sharpness_median: f64,
    /// The clip's 64-bit DCT hash, as 16 hex digits.
    pub phash: String,
}

impl SampleHealth {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
    /// A score by name (for sorting): brightness, motion, sharpness, cuts, frozen (longest
    /// run), black (black frames), bars (the largest side).
    pub fn score(&self, name: &str) -> Option<f64> {
        Some(match name {
            "brightness" => self.brightness,
            "motion" => self.motion_mean,
            "sharpness" => self.sharpness_median,
            "cuts" => self.cuts.len() as f64,
            "frozen" => self
                .frozen_runs
                .iter()
                .map(|r| (r[1] - r[0] + 1) as f64)
                .fold(0.0, f64::max),
            "black" => self.black_frames.len() as f64,
            "bars" => {
                let b = self.bars;
                b.top.max(b.bottom).max(b.left).max(b.right) as f64
            }
            _ => return None,
        })
    }
}

impl SampleHealth {
    /// The verdict in one line, parts joined by `sep`: flags, brightness, motion, sharpness
    /// and where the cuts are.
    pub fn summary(&self, sep: &str) -> String {
        let flags = if self.flags.is_empty() {
            "no flags".to_string()
        } else {
            self.flags.join(", ")
        };
        let mut s = format!(
            "{flags}{sep}brightness {:.0}{sep}motion {:.2}{sep}sharpness {:.0}",
            self.brightness, self.motion_mean, self.sharpness_median
        );
        if !self.cuts.is_empty() {
            s += &format!("{sep}cuts before {:?}", self.cuts);
        }
        s
    }
}

/// Score names [`SampleHealth::score`] knows.
pub const SCORES: &[&str] = &[
    "brightness",
    "motion",
    "sharpness",
    "cuts",
    "frozen",
    "black",
    "bars",
];

/// A sample that could not be measured, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unreadable {
    pub index: u64,
    pub reason: String,
}

/// The pass's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub vdx_version: String,
    pub dataset: PathBuf,
    /// Which dataset bytes this describes (see [`sidecar::identity`]).
    pub identity: sidecar::Identity,
    pub thresholds: Thresholds,
    /// Every measured sample, in dataset order.
    pub samples: Vec<SampleHealth>,
    /// Groups of near-duplicate samples (indices), each sorted.
    pub duplicate_groups: Vec<Vec<u64>>,
    pub unreadable: Vec<Unreadable>,
}

impl HealthReport {
    /// How many samples carry each flag, in [`FLAGS`] order.
    pub fn flag_counts(&self) -> Vec<(&'static str, usize)> {
        FLAGS
            .iter()
            .map(|f| (*f, self.samples.iter().filter(|s| s.has(f)).count()))
            .collect()
    }
    /// The sample with dataset index `i`, if measured.
    pub fn sample(&self, i: u64) -> Option<&SampleHealth> {
        self.samples
            .binary_search_by_key(&i, |s| s.index)
            .ok()
            .map(|k| &self.samples[k])
    }
    /// Order sample indices by a score (highest first, or lowest first), ties in index
    /// order; unmeasured samples count as 0.
    pub fn order_by(&self, ids: &mut [u64], score: &str, lowest_first: bool) {
        let key = |i: &u64| self.sample(*i).and_then(|s| s.score(score)).unwrap_or(0.0);
        ids.sort_by(|a, b| {
            let o = key(a).total_cmp(&key(b));
            if lowest_first { o } else { o.reverse() }.then(a.cmp(b))
        });
    }
    /// Indices of samples carrying any of `flags` (names checked against [`FLAGS`]).
    pub fn flagged(&self, flags: &[String]) -> Result<Vec<u64>> {
        for f in flags {
            if !FLAGS.contains(&f.as_str()) {
                return Err(HealthError::param(
                    "exclude",
                    format!("'{f}' is not a health flag; flags: {}", FLAGS.join(", ")),
                ));
            }
        }
        Ok(self
            .samples
            .iter()
            .filter(|s| flags.iter().any(|f| s.has(f)))
            .map(|s| s.index)
            .collect())
    }
}

/// Pass options.
#[derive(Debug, Clone, Default)]
pub struct HealthOptions {
    /// Worker threads (0: one per core).
    pub threads: usize,
    pub thresholds: Thresholds,
}

/// Samples of a dataset on object storage fetched ahead of the pass at a time.
const REMOTE_CHUNK: usize = 256;

/// Measure every sample of `ds` on `threads` workers; `progress(done, total)` after each
/// sample; stops with [`HealthError::Cancelled`] when `cancel` is set.
pub fn health_pass(
    ds: &Dataset,
    opts: &HealthOptions,
    cancel: &AtomicBool,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<HealthReport> {
    let identity = sidecar::identity(ds)?;
    let n = ds.len() as usize;
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("vdx-health-{i}"))
        .build()
        .map_err(|e| HealthError::param("threads", e.to_string()))?;
    let done = AtomicUsize::new(0);
    let th = &opts.thresholds;
    // A dataset on object storage is fetched a chunk of samples ahead, side by side (and a
    // small one in a few large requests: the whole pass is said up front), rather than one
    // request per sample on each worker. A chunk that cannot be fetched stops the pass with
    // the store's error (naming the URL): a network failure is not a fault of the samples.
    let remote = ds.is_remote();
    if remote {
        ds.will_read(&(0..n as u64).collect::<Vec<u64>>());
    }
    let chunk = if remote { REMOTE_CHUNK } else { n.max(1) };
    let mut results: Vec<std::result::Result<SampleHealth, Unreadable>> = Vec::with_capacity(n);
    for start in (0..n as u64).step_by(chunk) {
        let end = (start + chunk as u64).min(n as u64);
        if remote && !cancel.load(Ordering::Relaxed) {
            ds.prefetch(&(start..end).collect::<Vec<u64>>())?;
        }
        results.extend(pool.install(|| {
            use rayon::prelude::*;
            (start..end)
                .into_par_iter()
                .map_init(Decoders::default, |dec, i| {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(Unreadable {
                            index: i,
                            reason: "cancelled".into(),
                        });
                    }
                    let r = measure_sample(ds, i, dec, th).map_err(|e| Unreadable {
                        index: i,
                        reason: e.to_string(),
                    });
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, n);
                    r
                })
                .collect::<Vec<_>>()
        }));
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(HealthError::Cancelled);
    }
    let mut samples = Vec::with_capacity(n);
    let mut unreadable = Vec::new();
    for r in results {
        match r {
            Ok(s) => samples.push(s),
            Err(u) => unreadable.push(u),
        }
    }
    // On the pass's own threads, as the measurements (the threads option holds for both).
    let duplicate_groups = pool.install(|| mark_duplicates(&mut samples, th.duplicate_bits));
    Ok(HealthReport {
        vdx_version: env!("CARGO_PKG_VERSION").to_string(),
        dataset: ds.path().to_path_buf(),
        identity,
        thresholds: th.clone(),
        samples,
        duplicate_groups,
        unreadable,
    })
}

/// Find near-duplicate groups by perceptual hash and flag their members (and groups that
/// cross splits or labels).
fn mark_duplicates(samples: &mut [SampleHealth], bits: u32) -> Vec<Vec<u64>> {
    // Black and blank clips have no content to compare (their hashes are noise around a flat
    // picture); they are flagged as such, not as duplicates of each other.
    let candidates: Vec<usize> = (0..samples.len())
        .filter(|&k| !samples[k].has("black") && !samples[k].has("blank"))
        .collect();
    let hashes: Vec<u64> = candidates
        .iter()
        .map(|&k| u64::from_str_radix(&samples[k].phash, 16).unwrap_or(0))
        .collect();
    let mut pairs = dups::near_pairs(&hashes, bits);
    pairs.retain(|&(a, b, _)| {
        let (a, b) = (
            &samples[candidates[a as usize]],
            &samples[candidates[b as usize]],
        );
        a.source.is_empty() || a.source != b.source
    });
    let groups = dups::groups(hashes.len(), &pairs);
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let g: Vec<u64> = g.iter().map(|&c| candidates[c as usize] as u64).collect();
        let splits: std::collections::BTreeSet<i64> =
            g.iter().map(|&k| samples[k as usize].split).collect();
        let labels: std::collections::BTreeSet<i64> =
            g.iter().map(|&k| samples[k as usize].label).collect();
        for &k in &g {
            let s = &mut samples[k as usize];
            s.flags.push("duplicate".into());
            if splits.len() > 1 {
                s.flags.push("duplicate_across_splits".into());
            }
            if labels.len() > 1 {
                s.flags.push("duplicate_label_conflict".into());
            }
        }
        out.push(g.iter().map(|&k| samples[k as usize].index).collect());
    }
    out
}

/// Measure sample `i`.
pub fn measure_sample(
    ds: &Dataset,
    i: u64,
    dec: &mut Decoders,
    th: &Thresholds,
) -> Result<SampleHealth> {
    let meta = ds.meta(i)?;
    let split = meta.provenance["split"].as_i64().unwrap_or(-1);
    let data = ds.decode(i, dec)?;
    let pics = Pictures::of(&data);
    let (w, h) = (pics.w, pics.h);
    let lumas: Vec<Vec<u8>> = pics.pictures.iter().map(|p| frames::luma(p)).collect();
    let mut s = SampleHealth {
        index: i,
        label: meta.label,
        split,
        source: meta.provenance["source"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        flags: Vec::new(),
        positions: pics.positions.clone(),
        luma_mean: Vec::new(),
        luma_std: Vec::new(),
        sharpness: Vec::new(),
        motion: Vec::new(),
        content: Vec::new(),
        black_frames: Vec::new(),
        blank_frames: Vec::new(),
        frozen_runs: Vec::new(),
        cuts: Vec::new(),
        bars: frames::bars(&lumas, w, h, th.bar_std),
        brightness: 0.0,
        motion_mean: 0.0,
        sharpness_median: 0.0,
        phash: String::new(),
    };
    picture_stats(&mut s, &lumas, &pics.positions, w, h, th);
    let same = consecutive_measures(&mut s, pics, &lumas, th)?;
    s.frozen_runs = frozen_runs(&same, th.frozen_min_frames);
    summarise(&mut s, &lumas, w, h);
    s.flags = clip_flags(&s, lumas.len(), w, h, flow_sample(&data), th);
    Ok(s)
}

/// The pictures a sample's health measures: every frame of a clip, a flow sample's stored
/// keyframes (with its flow's mean magnitude between frames).
struct Pictures<'a> {
    w: usize,
    h: usize,
    pictures: Vec<&'a [u8]>,
    /// Clip positions of the pictures.
    positions: Vec<u32>,
    /// Flow samples: mean flow magnitude in pixels between consecutive frames.
    flow_motion: Option<Vec<f64>>,
}

impl<'a> Pictures<'a> {
    /// Takes the pictures (and a flow sample's motion) out of decoded sample data.
    fn of(data: &'a SampleData) -> Self {
        match data {
            SampleData::Clip(c) => Pictures {
                w: c.width,
                h: c.height,
                pictures: (0..c.num_frames).map(|t| c.frame(t)).collect(),
                positions: (0..c.num_frames as u32).collect(),
                flow_motion: None,
            },
            SampleData::Flow(f) => {
                let n = f.width * f.height * 3;
                let m2 = f.width * f.height * 2;
                let mags = (0..f.num_frames.saturating_sub(1))
                    .map(|t| {
                        let v = &f.flow[t * m2..(t + 1) * m2];
                        v.chunks_exact(2)
                            .map(|d| ((d[0] * d[0] + d[1] * d[1]) as f64).sqrt())
                            .sum::<f64>()
                            / (m2 / 2).max(1) as f64
                    })
                    .collect::<Vec<_>>();
                Pictures {
                    w: f.width,
                    h: f.height,
                    pictures: f.keyframes.chunks_exact(n).collect(),
                    positions: f.keyframe_positions.clone(),
                    flow_motion: Some(mags),
                }
            }
        }
    }
}

/// Per-picture measures: luma mean and spread, sharpness, black and blank frames.
fn picture_stats(
    s: &mut SampleHealth,
    lumas: &[Vec<u8>],
    positions: &[u32],
    w: usize,
    h: usize,
    th: &Thresholds,
) {
    for (k, y) in lumas.iter().enumerate() {
        let (mean, std, dark) = frames::plane_stats(y, th.black_luma);
        s.luma_mean.push(mean);
        s.luma_std.push(std);
        s.sharpness.push(frames::laplacian_variance(y, w, h));
        if dark >= th.black_ratio {
            s.black_frames.push(positions[k]);
        } else if std <= th.blank_std {
            s.blank_frames.push(positions[k]);
        }
    }
}

/// Consecutive-frame measures (motion, content scores and cuts); whether each transition
/// keeps the same picture.
fn consecutive_measures(
    s: &mut SampleHealth,
    pics: Pictures,
    lumas: &[Vec<u8>],
    th: &Thresholds,
) -> Result<Vec<bool>> {
    // Consecutive-frame measures: luma differences and content scores for clips, the flow's
    // magnitude for flow samples.
    let same;
    match pics.flow_motion {
        Some(m) => {
            same = m
                .iter()
                .map(|&v| v <= th.frozen_flow_px)
                .collect::<Vec<_>>();
            s.motion = m;
        }
        None => {
            let hsv = pics
                .pictures
                .iter()
                .map(|p| frames::hsv(p, pics.w, pics.h))
                .collect::<Result<Vec<_>>>()?;
            for t in 1..lumas.len() {
                s.motion
                    .push(frames::mean_abs_diff(&lumas[t - 1], &lumas[t]));
                let c = frames::content_score(&hsv[t - 1], &hsv[t]);
                s.content.push(c);
                if c >= th.cut_threshold {
                    s.cuts.push(t as u32);
                }
            }
            same = s.motion.iter().map(|&v| v <= th.frozen_diff).collect();
        }
    }
    Ok(same)
}

/// Runs of frames that are the same picture, at least `min_frames` long.
fn frozen_runs(same: &[bool], min_frames: usize) -> Vec<[u32; 2]> {
    let mut runs = Vec::new();
    // Runs of frames that are the same picture: k transitions in a row join k+1 frames.
    let mut t = 0;
    while t < same.len() {
        if !same[t] {
            t += 1;
            continue;
        }
        let start = t;
        while t < same.len() && same[t] {
            t += 1;
        }
        let frames_in_run = t - start + 1;
        if frames_in_run >= min_frames {
            runs.push([start as u32, t as u32]);
        }
    }
    runs
}

/// The sample's summary numbers: brightness, mean motion, median sharpness, the clip hash.
fn summarise(s: &mut SampleHealth, lumas: &[Vec<u8>], w: usize, h: usize) {
    let count = lumas.len().max(1) as f64;
    s.brightness = s.luma_mean.iter().sum::<f64>() / count;
    s.motion_mean = if s.motion.is_empty() {
        0.0
    } else {
        s.motion.iter().sum::<f64>() / s.motion.len() as f64
    };
    let mut sharp = s.sharpness.clone();
    sharp.sort_by(f64::total_cmp);
    s.sharpness_median = sharp.get(sharp.len() / 2).copied().unwrap_or(0.0);
    s.phash = format!("{:016x}", clip_hash(lumas, w, h));
}

fn flow_sample(d: &SampleData) -> bool {
    matches!(d, SampleData::Flow(_))
}

/// The hash of the mean of the first, middle and last pictures' luma: robust to re-encoding
/// and resizing, different for different content.
fn clip_hash(lumas: &[Vec<u8>], w: usize, h: usize) -> u64 {
    if lumas.is_empty() {
        return 0;
    }
    let mut picks = vec![0, lumas.len() / 2, lumas.len() - 1];
    picks.dedup();
    let mean: Vec<u8> = (0..w * h)
        .map(|p| {
            let s: u32 = picks.iter().map(|&k| lumas[k][p] as u32).sum();
            ((s + picks.len() as u32 / 2) / picks.len() as u32) as u8
        })
        .collect();
    frames::phash(&mean, w, h)
}

fn clip_flags(
    s: &SampleHealth,
    pictures: usize,
    w: usize,
    h: usize,
    flow: bool,
    th: &Thresholds,
) -> Vec<String> {
    let n = pictures.max(1) as f64;
    let black = s.black_frames.len() as f64 / n >= th.clip_fraction;
    let blank = !black && s.blank_frames.len() as f64 / n >= th.clip_fraction;
    let flat = black || blank;
    let mut f = Vec::new();
    let mut add = |name: &str, on: bool| {
        if on {
            f.push(name.to_string());
        }
    };
    add("black", black);
    add("blank", blank);
    add("dark", !flat && s.brightness < th.dark_mean);
    add("overexposed", !flat && s.brightness > th.light_mean);
    add("frozen", !s.frozen_runs.is_empty());
    let still = if flow {
        th.static_flow_px
    } else {
        th.static_motion
    };
    add("static", !s.motion.is_empty() && s.motion_mean < still);
    add("cut", !s.cuts.is_empty());
    let b = s.bars;
    let lines = |a: usize, b: usize, len: usize| {
        a + b < len && (a + b) as f64 >= th.bar_fraction * len as f64
    };
    add("letterbox", !flat && lines(b.top, b.bottom, h));
    add("pillarbox", !flat && lines(b.left, b.right, w));
    add("blurry", !flat && s.sharpness_median < th.blur_variance);
    f
}
