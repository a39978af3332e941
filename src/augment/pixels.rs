//! The pixel operations recipes are made of: frame selection, crop, resize (bilinear, rounding as documented), flip, colour jitter in HSV.

use super::*;

pub(super) fn frames_by_index(clip: &Clip, idx: &[usize]) -> Clip {
    let n = clip.h * clip.w * 3;
    let mut data = Vec::with_capacity(idx.len() * n);
    for &i in idx {
        data.extend_from_slice(&clip.data[i * n..(i + 1) * n]);
    }
    Clip {
        t: idx.len(),
        h: clip.h,
        w: clip.w,
        data,
    }
}

pub(super) fn crop(clip: &Clip, x: usize, y: usize, w: usize, h: usize) -> Clip {
    let mut data = Vec::with_capacity(clip.t * w * h * 3);
    for t in 0..clip.t {
        let f = clip.frame(t);
        for row in y..y + h {
            let a = (row * clip.w + x) * 3;
            data.extend_from_slice(&f[a..a + w * 3]);
        }
    }
    Clip {
        t: clip.t,
        h,
        w,
        data,
    }
}

/// `x.round()` (half away from zero) for |x| < 2^31 without a libm call and without a
/// branch: the x86-64 baseline has no rounding instruction, so `f32::round` is a function
/// call per value, and a branch on the fraction mispredicts on every other pixel of real
/// images. The fraction `x - trunc(x)` is exact (Sterbenz), and adding 0 or 1 to an integer
/// below 2^24 is exact, so the value is bit-identical (the sign of a zero may differ: every
/// caller casts to `u8`); NaN gives 0, which `as u8` makes of NaN too.
#[inline(always)]
pub(super) fn round_half_away(x: f32) -> f32 {
    let t = (x as i32) as f32;
    let d = x - t;
    t + (d >= 0.5) as i32 as f32 - (d <= -0.5) as i32 as f32
}

/// `x.floor()` for |x| < 2^31, without a libm call or a branch (see [`round_half_away`]).
#[inline(always)]
pub(super) fn floor_fast(x: f32) -> f32 {
    let t = (x as i32) as f32;
    t - (x < t) as i32 as f32
}

/// Bilinear resize (pixel centres aligned, as OpenCV's INTER_LINEAR), same for every frame.
pub(super) fn resize(clip: &Clip, w: usize, h: usize) -> Clip {
    if (w, h) == (clip.w, clip.h) {
        return clip.clone();
    }
    let sx = clip.w as f32 / w as f32;
    let sy = clip.h as f32 / h as f32;
    let map = |o: usize, s: f32, n: usize| -> (usize, usize, f32) {
        let f = ((o as f32 + 0.5) * s - 0.5).max(0.0);
        let i0 = (f.floor() as usize).min(n - 1);
        let i1 = (i0 + 1).min(n - 1);
        (i0, i1, f - i0 as f32)
    };
    // Separable, with the very same arithmetic per value as the direct formula
    // `round((p00·gx + p10·fx)·gy + (p01·gx + p11·fx)·fy)`: a source row's horizontal blend
    // (the `top`/`bot` term) is computed once into an f32 row and reused by every output row
    // that needs it, and the vertical blend runs as a flat loop the compiler vectorizes. So
    // the results are bit-identical to blending each output pixel on its own.
    let xs: Vec<(usize, usize, f32, f32)> = (0..w)
        .map(|x| {
            let (x0, x1, fx) = map(x, sx, clip.w);
            (x0 * 3, x1 * 3, fx, 1.0 - fx)
        })
        .collect();
    let ys: Vec<_> = (0..h).map(|y| map(y, sy, clip.h)).collect();
    let mut data = vec![0u8; clip.t * w * h * 3];
    let n = w * h * 3;
    let src_row = clip.w * 3;
    let horizontal = |row: &[u8], dst: &mut [f32]| {
        for (d, &(a, b, fx, gx)) in dst.chunks_exact_mut(3).zip(&xs) {
            let (p0, p1) = (&row[a..a + 3], &row[b..b + 3]);
            for c in 0..3 {
                d[c] = p0[c] as f32 * gx + p1[c] as f32 * fx;
            }
        }
    };
    // Two cached blended rows: (source row index, values).
    let mut rows: [(usize, Vec<f32>); 2] = [
        (usize::MAX, vec![0f32; w * 3]),
        (usize::MAX, vec![0f32; w * 3]),
    ];
    for t in 0..clip.t {
        let f = clip.frame(t);
        let o = &mut data[t * n..(t + 1) * n];
        rows[0].0 = usize::MAX;
        rows[1].0 = usize::MAX;
        for (out_row, &(y0, y1, fy)) in o.chunks_exact_mut(w * 3).zip(&ys) {
            for y in [y0, y1] {
                if rows[0].0 != y && rows[1].0 != y {
                    // Replace the cached row not needed by this output row.
                    let k = if rows[0].0 == y0 || rows[0].0 == y1 {
                        1
                    } else {
                        0
                    };
                    horizontal(&f[y * src_row..(y + 1) * src_row], &mut rows[k].1);
                    rows[k].0 = y;
                }
            }
            let top = if rows[0].0 == y0 {
                &rows[0].1
            } else {
                &rows[1].1
            };
            let bot = if rows[0].0 == y1 {
                &rows[0].1
            } else {
                &rows[1].1
            };
            let gy = 1.0 - fy;
            for ((d, &a), &b) in out_row.iter_mut().zip(top.iter()).zip(bot.iter()) {
                *d = round_half_away(a * gy + b * fy) as u8;
            }
        }
    }
    Clip {
        t: clip.t,
        h,
        w,
        data,
    }
}

pub(super) fn flip(clip: &Clip) -> Clip {
    let mut out = clip.clone();
    let w = clip.w;
    for row in out.data.chunks_exact_mut(w * 3) {
        for x in 0..w / 2 {
            for c in 0..3 {
                row.swap(x * 3 + c, (w - 1 - x) * 3 + c);
            }
        }
    }
    out
}

pub(super) fn luma(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

pub(super) fn rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let h = if d <= 0.0 {
        0.0
    } else if max == r {
        // rem_euclid(6.0) of a value in [-1, 1]: fmod leaves it as is, so only the sign
        // matters (no libm call).
        let x = (g - b) / d;
        (if x < 0.0 { x + 6.0 } else { x }) / 6.0
    } else if max == g {
        ((b - r) / d + 2.0) / 6.0
    } else {
        ((r - g) / d + 4.0) / 6.0
    };
    let s = if max <= 0.0 { 0.0 } else { d / max };
    (h, s, max)
}

pub(super) fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    // h - floor(h) rounds the same exact value as rem_euclid(1.0) does (x - trunc(x) is
    // exact, then one rounding of x - trunc(x) + 1 for negative h): bit-identical.
    let h6 = (h - floor_fast(h)) * 6.0;
    let i = floor_fast(h6);
    let f = h6 - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    match i as i32 % 6 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    }
}

pub(super) fn jitter(clip: &Clip, b: f32, c: f32, s: f32, hue: f32) -> Clip {
    let mut out = clip.clone();
    let n = clip.h * clip.w * 3;
    // One frame of working values, reused: the per-value steps run as flat loops the
    // compiler vectorizes, the per-pixel ones (luma, hue) in between. Every value goes
    // through the same expressions in the same order as a per-pixel loop would (the results
    // are bit-identical to it).
    let mut v = vec![0f32; n];
    for t in 0..clip.t {
        let f = &mut out.data[t * n..(t + 1) * n];
        // Contrast blends with the frame's mean gray (after brightness), as torchvision does.
        let mean = f
            .chunks_exact(3)
            .map(|p| luma(p[0] as f32, p[1] as f32, p[2] as f32) * b)
            .sum::<f32>()
            / (clip.h * clip.w).max(1) as f32;
        for (x, &p) in v.iter_mut().zip(f.iter()) {
            let y = (p as f32 * b).clamp(0.0, 255.0);
            *x = (mean + (y - mean) * c).clamp(0.0, 255.0);
        }
        for px in v.chunks_exact_mut(3) {
            let l = luma(px[0], px[1], px[2]);
            for x in px.iter_mut() {
                *x = (l + (*x - l) * s).clamp(0.0, 255.0);
            }
            if hue != 0.0 {
                let (h, sat, val) = rgb_to_hsv(px[0] / 255.0, px[1] / 255.0, px[2] / 255.0);
                let (r, g, bb) = hsv_to_rgb(h + hue, sat, val);
                px.copy_from_slice(&[r * 255.0, g * 255.0, bb * 255.0]);
            }
        }
        for (d, &x) in f.iter_mut().zip(v.iter()) {
            *d = round_half_away(x).clamp(0.0, 255.0) as u8;
        }
    }
    out
}
