//! Clip samplers: which frames make up each clip, by frame index or by time.
//!
//! A clip is T frames taken `stride` apart. Samplers:
//! - **uniform**: K clips (default 1), clip k covers the k-th of K equal segments of the
//!   video and takes T frames evenly spaced over it, first and last included
//!   (`round(linspace(a, b, T))`). With K = 1 this is "16 frames over the whole video".
//! - **regular**: clips start at 0, step, 2·step, ... while the start is inside the video;
//!   each takes T frames `stride` apart.
//! - **random**: K clips with starts drawn uniformly from `0..=n - span` (both ends
//!   inclusive; span = (T-1)·stride + 1) with the seeded SplitMix64 stream of
//!   (seed, clip k, epoch 0).
//!
//! - **keyframes**: keyframes-only sampling: K clips of T keyframes (`stride` keyframes
//!   apart), spread evenly over the video's keyframes. Each frame costs one keyframe decode.
//!
//! Decode-cost-aware starts (`snap`, for uniform, regular and random clips): decoding frame
//! `i` after a seek costs every frame from its keyframe to `i` in decode order, so a clip
//! that starts late in a long GOP pays for frames nobody sees.
//! - `keyframe`: each clip moves (as a whole) so that it starts at the keyframe nearest its
//!   sampled start (the earlier one on a tie) among those where the clip still fits.
//! - `cheapest` with `within = k`: each clip moves by at most k frames to the start whose
//!   clip needs the fewest decoded frames ([`clip_decode_cost`]); ties go to the smallest
//!   move, then the earlier start.
//!
//! Both bias what is seen: `keyframe` only ever starts clips on keyframes (few distinct starts
//! in a long-GOP file, and encoders place keyframes at scene cuts, so more clips open on a
//! cut); `cheapest` pulls starts towards the frames just after keyframes, by up to k frames.
//! `vdx bench --what snap` measures the speed-up and the shift.
//!
//! In time units, stride and step are seconds and each sampled time maps to the frame shown
//! at that time (variable frame rate files sample by their timestamps).
//!
//! When a clip runs past the last frame the tail policy decides: `repeat_last` (default)
//! repeats the clip's last in-range frame (with stride 2 that may be the video's second to
//! last frame), `wrap` continues from the start, `drop` leaves the clip out,
//! `error` fails with a message.

use crate::rng::Rng;
use crate::video::error::{Result, VideoError};
use crate::video::index::VideoIndex;
use serde::{Deserialize, Serialize};

mod decode;
mod snap;
#[cfg(test)]
mod tests;

pub use decode::{clip_to_f32, decode_clips, decode_clips_with};
pub use snap::clip_decode_cost;
use snap::snap_clip;

/// What to do with a clip that runs past the end of the video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TailPolicy {
    #[default]
    RepeatLast,
    Wrap,
    Drop,
    Error,
}

impl std::fmt::Display for TailPolicy {
    /// Words for people (the GUI's menus).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TailPolicy::RepeatLast => "repeat last",
            TailPolicy::Wrap => "wrap",
            TailPolicy::Drop => "drop",
            TailPolicy::Error => "error",
        })
    }
}

impl std::str::FromStr for TailPolicy {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "repeat_last" | "repeat" => Ok(TailPolicy::RepeatLast),
            "wrap" => Ok(TailPolicy::Wrap),
            "drop" => Ok(TailPolicy::Drop),
            "error" => Ok(TailPolicy::Error),
            _ => Err(VideoError::param(
                "tail policy",
                format!("'{s}' is not one of repeat_last, wrap, drop, error"),
            )),
        }
    }
}

/// What a clip does with a frame the decoder cannot give (damaged, cut off, or a picture the
/// decoder had to conceal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DamagedPolicy {
    /// The clip fails with the frame's error.
    #[default]
    Error,
    /// The frame is replaced by the nearest good frame of the same clip (see
    /// [`nearest_good`]: the earlier of two equally near), and
    /// its position is listed in the clip's `damaged` so the caller can mask it.
    Repeat,
}

impl std::str::FromStr for DamagedPolicy {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "error" => Ok(DamagedPolicy::Error),
            "repeat" | "repeat_neighbour" | "pad" => Ok(DamagedPolicy::Repeat),
            _ => Err(VideoError::param(
                "damaged policy",
                format!("'{s}' is not one of error, repeat"),
            )),
        }
    }
}

/// The position of the good frame nearest to position `k` (smallest distance; of two at the
/// same distance, the earlier), among positions `0..n` for which `good` holds. FORMAT.md
/// names this rule for `--damaged repeat`.
pub fn nearest_good(k: usize, n: usize, good: impl Fn(usize) -> bool) -> Option<usize> {
    (1..n).find_map(|d| {
        k.checked_sub(d)
            .filter(|&j| good(j))
            .or_else(|| Some(k + d).filter(|&j| j < n && good(j)))
    })
}

/// One clip's frames from per-frame results (in clip order) under `policy`: the frames, and
/// the positions in the clip that were damaged and filled with a neighbour.
pub fn fill_damaged(
    results: Vec<Result<crate::video::decode::RgbFrame>>,
    policy: DamagedPolicy,
) -> Result<(Vec<crate::video::decode::RgbFrame>, Vec<usize>)> {
    let bad: Vec<usize> = (0..results.len())
        .filter(|&k| results[k].is_err())
        .collect();
    if bad.is_empty() || policy == DamagedPolicy::Error || bad.len() == results.len() {
        let frames = results.into_iter().collect::<Result<Vec<_>>>()?;
        return Ok((frames, Vec::new()));
    }
    let good: Vec<Option<crate::video::decode::RgbFrame>> =
        results.into_iter().map(|r| r.ok()).collect();
    let frames = (0..good.len())
        .map(|k| match &good[k] {
            Some(f) => f.clone(),
            None => {
                let j = nearest_good(k, good.len(), |j| good[j].is_some())
                    .expect("at least one good frame");
                good[j].clone().expect("a good frame")
            }
        })
        .collect();
    Ok((frames, bad))
}

/// The sampler kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    #[default]
    Uniform,
    Regular,
    Random,
    /// Clips of keyframes only.
    Keyframes,
}

impl std::str::FromStr for SamplerKind {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "uniform" => Ok(SamplerKind::Uniform),
            "regular" => Ok(SamplerKind::Regular),
            "random" => Ok(SamplerKind::Random),
            "keyframes" => Ok(SamplerKind::Keyframes),
            _ => Err(VideoError::param(
                "sampler",
                format!("'{s}' is not one of uniform, regular, random, keyframes"),
            )),
        }
    }
}

/// How clip starts move to cut decoding work (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Snap {
    /// Starts stay where the sampler put them.
    #[default]
    None,
    /// Each clip starts at the nearest keyframe.
    Keyframe,
    /// Each clip moves by at most `within` frames to its cheapest start.
    Cheapest,
}

impl std::str::FromStr for Snap {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" | "exact" => Ok(Snap::None),
            "keyframe" => Ok(Snap::Keyframe),
            "cheapest" => Ok(Snap::Cheapest),
            _ => Err(VideoError::param(
                "snap",
                format!("'{s}' is not one of none, keyframe, cheapest"),
            )),
        }
    }
}

impl std::fmt::Display for Snap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Snap::None => "none",
            Snap::Keyframe => "keyframe",
            Snap::Cheapest => "cheapest",
        })
    }
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Frame-index or time units for stride and step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Units {
    Frames,
    Seconds,
}

/// A sampler's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplerConfig {
    pub kind: SamplerKind,
    /// T: frames per clip (>= 1).
    pub frames_per_clip: usize,
    /// Distance between consecutive frames of a clip (frames or seconds, > 0).
    pub stride: f64,
    /// K: number of clips (uniform, random).
    pub num_clips: usize,
    /// Distance between clip starts (regular); 0 means one clip span (no overlap).
    pub step: f64,
    pub units: Units,
    pub seed: u64,
    pub tail: TailPolicy,
    /// Decode-cost-aware starts (left out of JSON when off, so older files read the same).
    #[serde(skip_serializing_if = "is_default")]
    pub snap: Snap,
    /// `snap = cheapest`: how many frames a start may move.
    #[serde(skip_serializing_if = "is_default")]
    pub within: usize,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            kind: SamplerKind::Uniform,
            frames_per_clip: 16,
            stride: 1.0,
            num_clips: 1,
            step: 0.0,
            units: Units::Frames,
            seed: 0,
            tail: TailPolicy::RepeatLast,
            snap: Snap::None,
            within: 0,
        }
    }
}

/// One sampled clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clip {
    pub clip_index: usize,
    /// Frame indices (presentation order), T of them.
    pub frame_indices: Vec<usize>,
    /// pts of each frame (stream time base).
    pub pts: Vec<i64>,
    /// Presentation time of each frame in seconds.
    pub times_secs: Vec<f64>,
    /// How many trailing frames were filled in by the tail policy.
    pub padded: usize,
}

impl SamplerConfig {
    pub fn validate(&self) -> Result<()> {
        if self.frames_per_clip == 0 {
            return Err(VideoError::param("frames", "must be at least 1"));
        }
        if self.frames_per_clip > 100_000 {
            return Err(VideoError::param(
                "frames",
                "at most 100000 frames per clip",
            ));
        }
        if !(self.stride.is_finite() && self.stride > 0.0) {
            return Err(VideoError::param("stride", "must be a positive number"));
        }
        if self.units == Units::Frames && self.stride.fract() != 0.0 {
            return Err(VideoError::param(
                "stride",
                "must be a whole number of frames",
            ));
        }
        if !(self.step.is_finite() && self.step >= 0.0) {
            return Err(VideoError::param("step", "must be zero or positive"));
        }
        if self.num_clips == 0 || self.num_clips > 1_000_000 {
            return Err(VideoError::param("clips", "must be between 1 and 1000000"));
        }
        if self.kind == SamplerKind::Keyframes {
            if self.units == Units::Seconds {
                return Err(VideoError::param(
                    "sampler",
                    "keyframes counts its stride in keyframes; it takes no time units",
                ));
            }
            if self.snap != Snap::None {
                return Err(VideoError::param(
                    "snap",
                    "keyframes clips start on keyframes already",
                ));
            }
        }
        match self.snap {
            Snap::Cheapest if self.within == 0 || self.within > 100_000 => {
                return Err(VideoError::param(
                    "within",
                    "snap=cheapest needs within=k frames, 1 <= k <= 100000",
                ))
            }
            Snap::None | Snap::Keyframe if self.within != 0 => {
                return Err(VideoError::param("within", "only applies to snap=cheapest"))
            }
            _ => {}
        }
        Ok(())
    }
}

/// A position along the video: a frame index (may be past the end) or a time in seconds.
#[derive(Clone, Copy)]
enum Pos {
    Frame(i64),
    Time(f64),
}

/// Sample clips from an indexed video.
/// Clips sampled inside frames `range` of the video (an annotated segment) exactly as
/// [`sample_clips`] samples a whole video: the samplers, tail policies and snapping see the
/// segment's frames only (a clip longer than the segment is padded by the tail policy from
/// the segment's own frames), and the clips' frame indices are the video's.
pub fn sample_clips_in(
    index: &VideoIndex,
    range: std::ops::Range<usize>,
    cfg: &SamplerConfig,
) -> Result<Vec<Clip>> {
    if range.start == 0 && range.end >= index.len() {
        return sample_clips(index, cfg);
    }
    let sub = index.subrange(range.clone());
    let mut clips = sample_clips(&sub, cfg)?;
    for c in &mut clips {
        for i in &mut c.frame_indices {
            *i += range.start;
        }
    }
    Ok(clips)
}

pub fn sample_clips(index: &VideoIndex, cfg: &SamplerConfig) -> Result<Vec<Clip>> {
    cfg.validate()?;
    if index.is_empty() {
        return Err(VideoError::decode(
            &index.path,
            "the video has no frames to sample",
        ));
    }
    let mut clips = positions(index, cfg)?;
    if cfg.snap != Snap::None {
        for c in clips.iter_mut() {
            snap_clip(index, cfg, c);
        }
    }
    let mut out = Vec::with_capacity(clips.len());
    for positions in &clips {
        // Numbered by their position in the output (after drops).
        if let Some(clip) = resolve(index, cfg, positions, out.len())? {
            out.push(clip);
        }
    }
    Ok(out)
}

/// Each clip the sampler asks for, as frame numbers or times (before snapping, and before
/// the tail policy meets positions past the end).
fn positions(index: &VideoIndex, cfg: &SamplerConfig) -> Result<Vec<Vec<Pos>>> {
    let n = index.len();
    let t = cfg.frames_per_clip;
    let t0 = index.time_secs(0);
    let dur = index.duration_secs().max(1e-9);
    let mut clips: Vec<Vec<Pos>> = Vec::new();
    match (cfg.kind, cfg.units) {
        (SamplerKind::Uniform, Units::Frames) => {
            let k = cfg.num_clips;
            for c in 0..k {
                let a = (c * n / k) as f64;
                let b = (((c + 1) * n / k).max(c * n / k + 1) - 1) as f64;
                clips.push(
                    linspace(a, b, t)
                        .map(|x| Pos::Frame(x.round() as i64))
                        .collect(),
                );
            }
        }
        (SamplerKind::Uniform, Units::Seconds) => {
            let k = cfg.num_clips;
            let last = index.time_secs(n - 1);
            for c in 0..k {
                let a = t0 + (last - t0) * c as f64 / k as f64;
                let b = if k == 1 {
                    last
                } else {
                    t0 + (last - t0) * (c + 1) as f64 / k as f64
                };
                clips.push(linspace(a, b, t).map(Pos::Time).collect());
            }
        }
        (SamplerKind::Regular, Units::Frames) => clips = regular_frames(n, cfg)?,
        (SamplerKind::Regular, Units::Seconds) => clips = regular_seconds(t0, dur, cfg)?,
        (SamplerKind::Random, Units::Frames) => {
            let s = cfg.stride as i64;
            let span = (t as i64 - 1) * s + 1;
            let max_start = (n as i64 - span).max(0) as u64;
            for c in 0..cfg.num_clips {
                let mut rng = Rng::for_sample(cfg.seed, c as u64, 0);
                let start = rng.range_inclusive(0, max_start) as i64;
                clips.push((0..t as i64).map(|j| Pos::Frame(start + j * s)).collect());
            }
        }
        (SamplerKind::Random, Units::Seconds) => {
            let span = (t as f64 - 1.0) * cfg.stride;
            let max_start = (dur - span).max(0.0);
            for c in 0..cfg.num_clips {
                let mut rng = Rng::for_sample(cfg.seed, c as u64, 0);
                let start = t0 + rng.uniform(0.0, max_start);
                clips.push(
                    (0..t)
                        .map(|j| Pos::Time(start + j as f64 * cfg.stride))
                        .collect(),
                );
            }
        }
        (SamplerKind::Keyframes, _) => clips = keyframe_clips(index, cfg),
    }
    Ok(clips)
}

/// Clips every `step` frames (or back to back), `stride` apart inside.
fn regular_frames(n: usize, cfg: &SamplerConfig) -> Result<Vec<Vec<Pos>>> {
    let t = cfg.frames_per_clip;
    let mut clips: Vec<Vec<Pos>> = Vec::new();
    let s = cfg.stride as i64;
    let span = (t as i64 - 1) * s + 1;
    let step = if cfg.step > 0.0 {
        cfg.step as i64
    } else {
        span
    };
    if step <= 0 {
        return Err(VideoError::param(
            "step",
            "must be a whole number of frames >= 1",
        ));
    }
    let mut start = 0i64;
    while start < n as i64 {
        clips.push((0..t as i64).map(|j| Pos::Frame(start + j * s)).collect());
        start += step;
        if clips.len() > 10_000_000 {
            return Err(VideoError::param(
                "step",
                "yields more than 10 million clips",
            ));
        }
    }
    Ok(clips)
}

/// Clips every `step` seconds (or back to back), `stride` seconds apart inside.
fn regular_seconds(t0: f64, dur: f64, cfg: &SamplerConfig) -> Result<Vec<Vec<Pos>>> {
    let t = cfg.frames_per_clip;
    let mut clips: Vec<Vec<Pos>> = Vec::new();
    let span = (t as f64 - 1.0) * cfg.stride;
    let step = if cfg.step > 0.0 {
        cfg.step
    } else {
        span + cfg.stride
    };
    let mut start = t0;
    while start < t0 + dur - 1e-9 {
        clips.push(
            (0..t)
                .map(|j| Pos::Time(start + j as f64 * cfg.stride))
                .collect(),
        );
        start += step;
        if clips.len() > 10_000_000 {
            return Err(VideoError::param(
                "step",
                "yields more than 10 million clips",
            ));
        }
    }
    Ok(clips)
}

/// Clips of keyframes, spread evenly over the video's keyframes.
fn keyframe_clips(index: &VideoIndex, cfg: &SamplerConfig) -> Vec<Vec<Pos>> {
    let (n, t) = (index.len(), cfg.frames_per_clip);
    let mut clips: Vec<Vec<Pos>> = Vec::new();
    let kf = &index.keyframes;
    let s = cfg.stride as usize;
    let span = (t - 1) * s + 1;
    let room = kf.len().saturating_sub(span);
    let k = cfg.num_clips;
    for c in 0..k {
        let a = if k == 1 {
            room / 2
        } else {
            ((c * room) as f64 / (k - 1) as f64).round() as usize
        };
        clips.push(
            (0..t)
                .map(|j| match kf.get(a + j * s) {
                    Some(&f) => Pos::Frame(f as i64),
                    // Past the last keyframe: the tail policy decides.
                    None => Pos::Frame((n + j) as i64),
                })
                .collect(),
        );
    }
    clips
}

/// One clip's frames: positions in range resolved to frames, the rest filled by the tail
/// policy; None where the policy drops the clip.
fn resolve(
    index: &VideoIndex,
    cfg: &SamplerConfig,
    positions: &[Pos],
    clip_index: usize,
) -> Result<Option<Clip>> {
    let (n, t) = (index.len(), cfg.frames_per_clip);
    let t0 = index.time_secs(0);
    let dur = index.duration_secs().max(1e-9);
    let mut idx = Vec::with_capacity(t);
    let mut padded = 0usize;
    for p in positions {
        let resolved = match *p {
            Pos::Frame(i) if i >= 0 && (i as usize) < n => Some(i as usize),
            Pos::Frame(_) => None,
            Pos::Time(x) if x < t0 + dur - 1e-9 => index.frame_at_time(x),
            Pos::Time(_) => None,
        };
        match resolved {
            Some(i) => {
                if padded > 0 {
                    // A later frame cannot be in range after one was past the end.
                    padded += 1;
                    idx.push(tail_fill(index, cfg.tail, *p, &idx, n, t0, dur)?);
                } else {
                    idx.push(i);
                }
            }
            None => {
                padded += 1;
                if cfg.tail == TailPolicy::Drop {
                    break;
                }
                idx.push(tail_fill(index, cfg.tail, *p, &idx, n, t0, dur)?);
            }
        }
    }
    if padded > 0 && cfg.tail == TailPolicy::Drop {
        return Ok(None);
    }
    let pts: Vec<i64> = idx.iter().map(|&i| index.frames[i].pts).collect();
    let times_secs = idx.iter().map(|&i| index.time_secs(i)).collect();
    Ok(Some(Clip {
        clip_index,
        frame_indices: idx,
        pts,
        times_secs,
        padded,
    }))
}

fn tail_fill(
    index: &VideoIndex,
    tail: TailPolicy,
    p: Pos,
    so_far: &[usize],
    n: usize,
    t0: f64,
    dur: f64,
) -> Result<usize> {
    match tail {
        TailPolicy::RepeatLast => Ok(so_far.last().copied().unwrap_or(n - 1)),
        TailPolicy::Wrap => Ok(match p {
            Pos::Frame(i) => i.rem_euclid(n as i64) as usize,
            Pos::Time(x) => index
                .frame_at_time(t0 + (x - t0).rem_euclid(dur))
                .unwrap_or(0),
        }),
        TailPolicy::Error => Err(VideoError::param(
            "tail policy",
            format!(
                "{}: a clip runs past the last frame ({} frames); set the tail option to repeat_last, wrap or drop",
                index.path.display(),
                n
            ),
        )),
        TailPolicy::Drop => Ok(0),
    }
}

fn linspace(a: f64, b: f64, t: usize) -> impl Iterator<Item = f64> {
    (0..t).map(move |j| {
        if t == 1 {
            (a + b) / 2.0
        } else {
            a + (b - a) * j as f64 / (t - 1) as f64
        }
    })
}
