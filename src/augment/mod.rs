//! Clip augmentations: pure functions over `u8 (T, H, W, 3)` clips with explicit parameters
//! and one seeded PRNG, so the preview a user tunes is exactly what training gets.
//!
//! - A [`Recipe`] is an ordered list of [`Op`]s, saved as JSON with a version field.
//! - Every random draw of a clip comes from `Rng::for_sample(recipe.seed, sample, epoch)`
//!   (SplitMix64, see `rng.rs`), consumed in op order, so results do not depend on the machine,
//!   the thread count or the order clips are processed. Each draw is reported ([`Draw`]) for
//!   replay.
//! - Every op applies the same parameters to every frame of a clip.
//! - Every random range is inclusive of both ends: integer positions are drawn uniformly from
//!   `lo..=hi`, real factors from `[lo, hi]`.
//! - A clip shorter than a temporal crop follows the recipe's tail policy: `repeat_last` pads
//!   with the last frame, `wrap` repeats the clip from its start, `drop` and `error` refuse
//!   the clip with a message.

use crate::rng::Rng;
use crate::video::sample::TailPolicy;
pub use error::AugmentError;
use error::Result;
use serde::{Deserialize, Serialize};

pub mod error;
mod pixels;

use pixels::*;

/// The recipe format version this build reads and writes.
pub const RECIPE_VERSION: u32 = 1;

/// A clip: `u8 (T, H, W, 3)`, row-major, RGB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    pub t: usize,
    pub h: usize,
    pub w: usize,
    pub data: Vec<u8>,
}

impl Clip {
    pub fn new(t: usize, h: usize, w: usize, data: Vec<u8>) -> Result<Self> {
        if data.len() != t * h * w * 3 {
            return Err(AugmentError::param(
                "clip",
                format!("{} bytes is not {t}x{h}x{w}x3", data.len()),
            ));
        }
        Ok(Clip { t, h, w, data })
    }
    pub fn frame(&self, k: usize) -> &[u8] {
        let n = self.h * self.w * 3;
        &self.data[k * n..(k + 1) * n]
    }
}

/// Where a crop goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum CropPos {
    Random,
    Center,
    /// Top-left corner (x, y) in pixels.
    At {
        x: usize,
        y: usize,
    },
}

/// Random or centred temporal crop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemporalMode {
    Random,
    Center,
}

/// One augmentation operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op", deny_unknown_fields)]
pub enum Op {
    /// Keep `frames` consecutive frames.
    TemporalCrop { frames: usize, mode: TemporalMode },
    /// Keep every `stride`-th frame, or `frames` frames spread uniformly (first and last kept).
    TemporalSubsample {
        #[serde(default)]
        stride: Option<usize>,
        #[serde(default)]
        frames: Option<usize>,
    },
    /// Crop `width`×`height` at one position for the whole clip.
    SpatialCrop {
        width: usize,
        height: usize,
        position: CropPos,
    },
    /// torchvision's RandomResizedCrop: area fraction in `scale`, aspect ratio (w/h) in
    /// `ratio` (drawn log-uniformly), then resized (bilinear) to `width`×`height`.
    RandomResizedCrop {
        width: usize,
        height: usize,
        scale: [f64; 2],
        ratio: [f64; 2],
    },
    /// Resize so the short side is `size` (bilinear), keeping the aspect ratio.
    ShortSideScale { size: usize },
    /// Mirror left-right with probability `p`.
    HorizontalFlip { p: f64 },
    /// Factors drawn once per clip: brightness and contrast and saturation in
    /// `[max(0, 1 - x), 1 + x]`, hue shift in `[-hue, hue]` turns (hue <= 0.5). Applied in this
    /// fixed order.
    ColorJitter {
        brightness: f64,
        contrast: f64,
        saturation: f64,
        hue: f64,
    },
    /// Convert to gray (ITU-R BT.601 luma, in all three channels) with probability `p`.
    Grayscale { p: f64 },
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::TemporalCrop { .. } => "temporal_crop",
            Op::TemporalSubsample { .. } => "temporal_subsample",
            Op::SpatialCrop { .. } => "spatial_crop",
            Op::RandomResizedCrop { .. } => "random_resized_crop",
            Op::ShortSideScale { .. } => "short_side_scale",
            Op::HorizontalFlip { .. } => "horizontal_flip",
            Op::ColorJitter { .. } => "color_jitter",
            Op::Grayscale { .. } => "grayscale",
        }
    }

    fn check(&self, k: usize) -> Result<()> {
        let bad = |param: &str, why: String| {
            Err(AugmentError::param(
                &format!("recipe op {k} ({}) parameter '{param}'", self.name()),
                why,
            ))
        };
        const MAX_SIDE: usize = 16384;
        match *self {
            Op::TemporalCrop { frames, .. } if frames == 0 || frames > 100_000 => {
                bad("frames", format!("{frames} is outside 1..=100000"))
            }
            Op::TemporalSubsample { stride, frames } => match (stride, frames) {
                (Some(s), None) if s >= 1 => Ok(()),
                (None, Some(n)) if n >= 1 => Ok(()),
                (Some(_), Some(_)) | (None, None) => bad(
                    "stride/frames",
                    "give exactly one of stride or frames".into(),
                ),
                _ => bad("stride/frames", "must be at least 1".into()),
            },
            Op::SpatialCrop { width, height, .. } | Op::RandomResizedCrop { width, height, .. }
                if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE =>
            {
                bad(
                    "width/height",
                    format!("{width}x{height} is outside 1..={MAX_SIDE}"),
                )
            }
            Op::RandomResizedCrop { scale, ratio, .. } => {
                if !(scale[0] > 0.0 && scale[0] <= scale[1] && scale[1] <= 1.0) {
                    return bad("scale", format!("{scale:?} must satisfy 0 < lo <= hi <= 1"));
                }
                if !(ratio[0] > 0.0 && ratio[0] <= ratio[1] && ratio[1].is_finite()) {
                    return bad("ratio", format!("{ratio:?} must satisfy 0 < lo <= hi"));
                }
                Ok(())
            }
            Op::ShortSideScale { size } if size == 0 || size > MAX_SIDE => {
                bad("size", format!("{size} is outside 1..={MAX_SIDE}"))
            }
            Op::HorizontalFlip { p } | Op::Grayscale { p } if !(0.0..=1.0).contains(&p) => {
                bad("p", format!("{p} is not a probability in [0, 1]"))
            }
            Op::ColorJitter {
                brightness,
                contrast,
                saturation,
                hue,
            } => {
                for (n, v) in [
                    ("brightness", brightness),
                    ("contrast", contrast),
                    ("saturation", saturation),
                ] {
                    if !(v.is_finite() && v >= 0.0) {
                        return bad(n, format!("{v} must be >= 0"));
                    }
                }
                if !(0.0..=0.5).contains(&hue) {
                    return bad("hue", format!("{hue} must be in [0, 0.5]"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The final conversion to `f32 (1, T, H, W, 3)`: x/255, then (x - mean) / std per channel
/// when both are given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ToFloat {
    #[serde(default)]
    pub mean: Option<[f32; 3]>,
    #[serde(default)]
    pub std: Option<[f32; 3]>,
}

/// An ordered list of operations with its seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub version: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub tail: TailPolicy,
    pub ops: Vec<Op>,
    #[serde(default)]
    pub to_float: ToFloat,
}

impl Recipe {
    /// Parse and check a recipe; errors name the op and the parameter.
    pub fn from_json(s: &str) -> Result<Self> {
        let r: Recipe = serde_json::from_str(s)
            .map_err(|e| AugmentError::param("recipe", format!("not a valid recipe: {e}")))?;
        r.validate()?;
        Ok(r)
    }
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let s = std::fs::read_to_string(path).map_err(|e| AugmentError::read(path, e))?;
        Self::from_json(&s)
            .map_err(|e| AugmentError::param(&path.display().to_string(), e.to_string()))
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("recipes serialize")
    }
    pub fn validate(&self) -> Result<()> {
        if self.version != RECIPE_VERSION {
            return Err(AugmentError::param(
                "recipe version",
                format!("{} (this vdx reads version {RECIPE_VERSION})", self.version),
            ));
        }
        for (k, op) in self.ops.iter().enumerate() {
            op.check(k)?;
        }
        if let Some(s) = self.to_float.std {
            if s.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(AugmentError::param(
                    "to_float.std",
                    "every value must be > 0",
                ));
            }
        }
        if self.to_float.mean.is_some() != self.to_float.std.is_some() {
            return Err(AugmentError::param(
                "to_float",
                "give both mean and std, or neither",
            ));
        }
        Ok(())
    }
}

/// One random draw, for display and replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draw {
    pub op: usize,
    pub name: &'static str,
    pub values: serde_json::Value,
}

/// Apply `recipe` to `clip` for (sample, epoch); returns the clip and the draws.
pub fn apply(recipe: &Recipe, clip: &Clip, sample: u64, epoch: u64) -> Result<(Clip, Vec<Draw>)> {
    let mut rng = Rng::for_sample(recipe.seed, sample, epoch);
    let mut cur = clip.clone();
    let mut draws = Vec::new();
    for (k, op) in recipe.ops.iter().enumerate() {
        let (next, values) = apply_op(op, k, &cur, recipe.tail, &mut rng)?;
        if let Some(values) = values {
            draws.push(Draw {
                op: k,
                name: op.name(),
                values,
            });
        }
        cur = next;
    }
    Ok((cur, draws))
}

/// Apply and convert to `f32 (1, T, H, W, 3)` into `out` (its length must match).
pub fn to_float_into(recipe: &Recipe, clip: &Clip, out: &mut [f32]) -> Result<()> {
    if out.len() != clip.data.len() {
        return Err(AugmentError::param(
            "output",
            "buffer size does not match the clip",
        ));
    }
    let (mean, std) = match (recipe.to_float.mean, recipe.to_float.std) {
        (Some(m), Some(s)) => (m, s),
        _ => ([0.0; 3], [1.0; 3]),
    };
    let inv = [1.0 / std[0], 1.0 / std[1], 1.0 / std[2]];
    // Four pixels at a time with the channel constants laid out to match, so the loop
    // vectorizes; each value's arithmetic is the same as one pixel at a time.
    let m12: [f32; 12] = std::array::from_fn(|k| mean[k % 3]);
    let i12: [f32; 12] = std::array::from_fn(|k| inv[k % 3]);
    let mut o12 = out.chunks_exact_mut(12);
    let mut p12 = clip.data.chunks_exact(12);
    for (o, px) in (&mut o12).zip(&mut p12) {
        for k in 0..12 {
            o[k] = (px[k] as f32 * (1.0 / 255.0) - m12[k]) * i12[k];
        }
    }
    for (o, px) in o12
        .into_remainder()
        .chunks_exact_mut(3)
        .zip(p12.remainder().chunks_exact(3))
    {
        for c in 0..3 {
            o[c] = (px[c] as f32 * (1.0 / 255.0) - mean[c]) * inv[c];
        }
    }
    Ok(())
}

/// A batch result: `f32 (N, T, H, W, 3)` values, the per-clip shape `[T, H, W, 3]`, and
/// each clip's draws.
pub type Batch = (Vec<f32>, [usize; 4], Vec<Vec<Draw>>);

/// Augment a batch in parallel: clip i uses sample id `samples[i]`. Every output clip must
/// have the same shape; they are written into one preallocated `f32 (N, T, H, W, 3)` buffer.
pub fn apply_batch_f32(
    recipe: &Recipe,
    clips: &[Clip],
    samples: &[u64],
    epoch: u64,
) -> Result<Batch> {
    use rayon::prelude::*;
    if clips.len() != samples.len() || clips.is_empty() {
        return Err(AugmentError::param(
            "batch",
            "one sample id per clip, at least one clip",
        ));
    }
    // The first clip fixes the shape.
    let (first, _) = apply(recipe, &clips[0], samples[0], epoch)?;
    let shape = [first.t, first.h, first.w, 3];
    let per = first.data.len();
    let mut out = vec![0f32; per * clips.len()];
    let draws: Vec<Result<Vec<Draw>>> = out
        .par_chunks_mut(per)
        .zip(clips.par_iter().zip(samples.par_iter()))
        .map(|(dst, (c, &s))| {
            let (a, d) = apply(recipe, c, s, epoch)?;
            if a.data.len() != per {
                return Err(AugmentError::param(
                    "batch",
                    format!(
                        "sample {s} came out {}x{}x{}, not {:?}",
                        a.t, a.h, a.w, shape
                    ),
                ));
            }
            to_float_into(recipe, &a, dst)?;
            Ok(d)
        })
        .collect();
    let draws = draws.into_iter().collect::<Result<Vec<_>>>()?;
    Ok((out, shape, draws))
}

fn apply_op(
    op: &Op,
    k: usize,
    clip: &Clip,
    tail: TailPolicy,
    rng: &mut Rng,
) -> Result<(Clip, Option<serde_json::Value>)> {
    use serde_json::json;
    let too_small = |why: Unfit| {
        Err(AugmentError::param(
            &format!("recipe op {k} ({})", op.name()),
            why.0,
        ))
    };
    Ok(match *op {
        Op::TemporalCrop { frames, mode } => {
            temporal_crop(clip, frames, mode, tail, rng).or_else(too_small)?
        }
        Op::TemporalSubsample { stride, frames } => {
            let idx: Vec<usize> = match (stride, frames) {
                (Some(s), _) => (0..clip.t).step_by(s.max(1)).collect(),
                (None, Some(n)) if n == 1 || clip.t <= 1 => vec![0; n],
                (None, Some(n)) => (0..n)
                    .map(|j| ((j as f64) * (clip.t - 1) as f64 / (n - 1) as f64).round() as usize)
                    .collect(),
                (None, None) => (0..clip.t).collect(),
            };
            (frames_by_index(clip, &idx), None)
        }
        Op::SpatialCrop {
            width,
            height,
            position,
        } => spatial_crop(clip, width, height, position, rng).or_else(too_small)?,
        Op::RandomResizedCrop {
            width,
            height,
            scale,
            ratio,
        } => random_resized_crop(clip, width, height, scale, ratio, rng),
        Op::ShortSideScale { size } => {
            let (w, h) = if clip.w <= clip.h {
                (
                    size,
                    ((clip.h * size) as f64 / clip.w as f64).round() as usize,
                )
            } else {
                (
                    ((clip.w * size) as f64 / clip.h as f64).round() as usize,
                    size,
                )
            };
            (resize(clip, w.max(1), h.max(1)), None)
        }
        Op::HorizontalFlip { p } => {
            let f = rng.bernoulli(p);
            (
                if f { flip(clip) } else { clip.clone() },
                Some(json!({"flip": f})),
            )
        }
        Op::ColorJitter {
            brightness,
            contrast,
            saturation,
            hue,
        } => {
            let mut factor = |x: f64| rng.uniform((1.0 - x).max(0.0), 1.0 + x);
            let (b, c, s) = (factor(brightness), factor(contrast), factor(saturation));
            let h = rng.uniform(-hue, hue);
            (
                jitter(clip, b as f32, c as f32, s as f32, h as f32),
                Some(json!({"brightness": b, "contrast": c, "saturation": s, "hue": h})),
            )
        }
        Op::Grayscale { p } => {
            let g = rng.bernoulli(p);
            let out = if g {
                let mut o = clip.clone();
                for px in o.data.chunks_exact_mut(3) {
                    let l = round_half_away(luma(px[0] as f32, px[1] as f32, px[2] as f32)) as u8;
                    px.fill(l);
                }
                o
            } else {
                clip.clone()
            };
            (out, Some(json!({"gray": g})))
        }
    })
}

/// A recipe op's result: the new clip and what was drawn for it (None where nothing was).
type Applied = (Clip, Option<serde_json::Value>);

/// Why an op does not fit a clip (the caller names the op).
struct Unfit(String);

/// `frames` consecutive frames (random or centred), or the clip padded by the tail policy
/// where it is shorter; Err: why it cannot be.
fn temporal_crop(
    clip: &Clip,
    frames: usize,
    mode: TemporalMode,
    tail: TailPolicy,
    rng: &mut Rng,
) -> std::result::Result<Applied, Unfit> {
    use serde_json::json;
    if clip.t == 0 {
        return Err(Unfit("the clip has no frames".into()));
    }
    if clip.t < frames {
        let idx: Vec<usize> = match tail {
            TailPolicy::RepeatLast => (0..frames).map(|i| i.min(clip.t - 1)).collect(),
            TailPolicy::Wrap => (0..frames).map(|i| i % clip.t).collect(),
            TailPolicy::Drop | TailPolicy::Error => {
                return Err(Unfit(format!(
                    "the clip has {} frames, fewer than the crop's {frames} (tail policy {tail:?})",
                    clip.t
                )))
            }
        };
        Ok((
            frames_by_index(clip, &idx),
            Some(json!({"start": 0, "padded": frames - clip.t})),
        ))
    } else {
        let max_start = clip.t - frames;
        let start = match mode {
            TemporalMode::Random => rng.range_inclusive(0, max_start as u64) as usize,
            TemporalMode::Center => max_start / 2,
        };
        let idx: Vec<usize> = (start..start + frames).collect();
        let v = (mode == TemporalMode::Random).then(|| json!({"start": start}));
        Ok((frames_by_index(clip, &idx), v))
    }
}

/// A `width`x`height` window of every frame, the same for the whole clip; Err: why it does
/// not fit.
fn spatial_crop(
    clip: &Clip,
    width: usize,
    height: usize,
    position: CropPos,
    rng: &mut Rng,
) -> std::result::Result<Applied, Unfit> {
    use serde_json::json;
    if width > clip.w || height > clip.h {
        return Err(Unfit(format!(
            "a {width}x{height} crop does not fit {}x{} frames",
            clip.w, clip.h
        )));
    }
    let (x, y, v) = match position {
        CropPos::Random => {
            let x = rng.range_inclusive(0, (clip.w - width) as u64) as usize;
            let y = rng.range_inclusive(0, (clip.h - height) as u64) as usize;
            (x, y, Some(json!({"x": x, "y": y})))
        }
        CropPos::Center => ((clip.w - width) / 2, (clip.h - height) / 2, None),
        CropPos::At { x, y } => {
            if x + width > clip.w || y + height > clip.h {
                return Err(Unfit(format!(
                    "a {width}x{height} crop at ({x}, {y}) leaves {}x{} frames",
                    clip.w, clip.h
                )));
            }
            (x, y, None)
        }
    };
    Ok((crop(clip, x, y, width, height), v))
}

/// torchvision's RandomResizedCrop, one draw for the whole clip: an area share from `scale`
/// and an aspect ratio from `ratio` (log-uniform), 10 tries, then a centre crop.
fn random_resized_crop(
    clip: &Clip,
    width: usize,
    height: usize,
    scale: [f64; 2],
    ratio: [f64; 2],
    rng: &mut Rng,
) -> Applied {
    use serde_json::json;
    let (fw, fh) = (clip.w as f64, clip.h as f64);
    let area = fw * fh;
    let (lr0, lr1) = (ratio[0].ln(), ratio[1].ln());
    let mut pick = None;
    for _ in 0..10 {
        let target = area * rng.uniform(scale[0], scale[1]);
        let aspect = rng.uniform(lr0, lr1).exp();
        let w = (target * aspect).sqrt().round() as usize;
        let h = (target / aspect).sqrt().round() as usize;
        if w > 0 && h > 0 && w <= clip.w && h <= clip.h {
            let y = rng.range_inclusive(0, (clip.h - h) as u64) as usize;
            let x = rng.range_inclusive(0, (clip.w - w) as u64) as usize;
            pick = Some((x, y, w, h));
            break;
        }
    }
    // torchvision's fallback: a centre crop at the nearest allowed ratio.
    let (x, y, w, h) = pick.unwrap_or_else(|| {
        let r = fw / fh;
        let (w, h) = if r < ratio[0] {
            (clip.w, (fw / ratio[0]).round() as usize)
        } else if r > ratio[1] {
            ((fh * ratio[1]).round() as usize, clip.h)
        } else {
            (clip.w, clip.h)
        };
        let (w, h) = (w.clamp(1, clip.w), h.clamp(1, clip.h));
        ((clip.w - w) / 2, (clip.h - h) / 2, w, h)
    });
    let c = crop(clip, x, y, w, h);
    (
        resize(&c, width, height),
        Some(json!({"x": x, "y": y, "width": w, "height": h})),
    )
}

/// A contact sheet: one row per augmented clip, its frames side by side (RGB24).
pub fn contact_sheet(rows: &[Clip]) -> (usize, usize, Vec<u8>) {
    let cols = rows.iter().map(|c| c.t).max().unwrap_or(0);
    let cw = rows.iter().map(|c| c.w).max().unwrap_or(0);
    let ch = rows.iter().map(|c| c.h).max().unwrap_or(0);
    let gap = 2;
    let (w, h) = (cols * (cw + gap), rows.len() * (ch + gap));
    let mut out = vec![24u8; w * h * 3];
    for (r, clip) in rows.iter().enumerate() {
        for t in 0..clip.t {
            let f = clip.frame(t);
            for y in 0..clip.h {
                let dst = ((r * (ch + gap) + y) * w + t * (cw + gap)) * 3;
                out[dst..dst + clip.w * 3]
                    .copy_from_slice(&f[y * clip.w * 3..(y + 1) * clip.w * 3]);
            }
        }
    }
    (w, h, out)
}
