//! Per-frame measurements on RGB24 pictures: luma statistics, frame differences, the content
//! score PySceneDetect's ContentDetector cuts on, edge bars, sharpness and a perceptual hash.

use crate::health::error::{HealthError, Result};

/// Luma as OpenCV's `COLOR_RGB2GRAY` computes it (fixed point, BT.601 weights), so that the
/// numbers agree with `cv2.cvtColor(..., cv2.COLOR_RGB2GRAY)`.
pub fn luma(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            ((p[0] as u32 * 4899 + p[1] as u32 * 9617 + p[2] as u32 * 1868 + 8192) >> 14) as u8
        })
        .collect()
}

/// Mean and standard deviation of a plane, and the fraction of its pixels at or below `dark`.
pub fn plane_stats(y: &[u8], dark: f64) -> (f64, f64, f64) {
    let n = y.len().max(1) as f64;
    let mut hist = [0u64; 256];
    for &v in y {
        hist[v as usize] += 1;
    }
    let (mut sum, mut sq, mut below) = (0f64, 0f64, 0u64);
    for (v, &c) in hist.iter().enumerate() {
        let (v, c) = (v as f64, c as f64);
        sum += v * c;
        sq += v * v * c;
    }
    for (v, &c) in hist.iter().enumerate() {
        if v as f64 <= dark {
            below += c;
        }
    }
    let mean = sum / n;
    let var = (sq / n - mean * mean).max(0.0);
    (mean, var.sqrt(), below as f64 / n)
}

/// Mean absolute difference of two planes (or interleaved pictures) of the same size.
pub fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    abs_diff_sum(a, b) as f64 / a.len().max(1) as f64
}

/// Sum of absolute differences, in blocks whose u32 sums cannot overflow (vectorised).
fn abs_diff_sum(a: &[u8], b: &[u8]) -> u64 {
    const BLOCK: usize = 1 << 23;
    a.chunks(BLOCK)
        .zip(b.chunks(BLOCK))
        .map(|(x, y)| {
            x.iter()
                .zip(y)
                .map(|(&p, &q)| p.abs_diff(q) as u32)
                .sum::<u32>() as u64
        })
        .sum()
}

/// A picture in OpenCV's 8-bit HSV (H in 0..180), interleaved H, S, V.
pub struct Hsv(pub Vec<u8>);

/// RGB24 to HSV with OpenCV's `COLOR_RGB2HSV`: the conversion PySceneDetect makes
/// (`COLOR_BGR2HSV` of the same picture in BGR order), so content scores are its own.
pub fn hsv(rgb: &[u8], width: usize, height: usize) -> Result<Hsv> {
    use opencv::core::{Mat, CV_8UC3};
    use opencv::prelude::*;
    let cv = |e: opencv::Error| HealthError::param("health", format!("OpenCV: {e}"));
    if rgb.len() != width * height * 3 {
        return Err(HealthError::param(
            "health",
            "picture size does not match its data",
        ));
    }
    // SAFETY: the Mat header borrows `rgb` (width*height*3 bytes, checked above) for the
    // conversion only; OpenCV reads a source Mat and never writes it, so handing it a
    // pointer made mutable for the API's sake writes nothing.
    let src = unsafe {
        Mat::new_rows_cols_with_data_unsafe(
            height as i32,
            width as i32,
            CV_8UC3,
            rgb.as_ptr() as *mut std::ffi::c_void,
            width * 3,
        )
    }
    .map_err(cv)?;
    let mut out = Mat::default();
    opencv::imgproc::cvt_color(&src, &mut out, opencv::imgproc::COLOR_RGB2HSV, 0).map_err(cv)?;
    drop(src);
    Ok(Hsv(out.data_bytes().map_err(cv)?.to_vec()))
}

/// PySceneDetect's ContentDetector score between two pictures with its default weights
/// (hue, saturation and value 1, edges 0): the mean of the three channels' mean absolute
/// differences, summed in its order.
pub fn content_score(a: &Hsv, b: &Hsv) -> f64 {
    let n = (a.0.len() / 3).max(1) as f64;
    let mut sums = [0u64; 3];
    const BLOCK: usize = 3 << 22;
    for (x, y) in a.0.chunks(BLOCK).zip(b.0.chunks(BLOCK)) {
        let mut s = [0u32; 3];
        for (p, q) in x.chunks_exact(3).zip(y.chunks_exact(3)) {
            s[0] += p[0].abs_diff(q[0]) as u32;
            s[1] += p[1].abs_diff(q[1]) as u32;
            s[2] += p[2].abs_diff(q[2]) as u32;
        }
        for c in 0..3 {
            sums[c] += s[c] as u64;
        }
    }
    let (dh, ds, dv) = (sums[0] as f64 / n, sums[1] as f64 / n, sums[2] as f64 / n);
    (dh * 1.0 + ds * 1.0 + dv * 1.0 + 0.0 * 0.0) / 3.0
}

/// Variance of the Laplacian of a luma plane: OpenCV's `Laplacian` with its default 3×3
/// aperture (`[0 1 0; 1 -4 1; 0 1 0]`) and border (reflect 101). Low on blurry pictures.
pub fn laplacian_variance(y: &[u8], width: usize, height: usize) -> f64 {
    if width < 2 || height < 2 {
        return 0.0;
    }
    // Reflect-101 at the borders: -1 -> 1, len -> len-2.
    let reflect = |i: isize, len: usize| -> usize {
        if i < 0 {
            (-i) as usize
        } else if i >= len as isize {
            2 * len - 2 - i as usize
        } else {
            i as usize
        }
    };
    let (mut sum, mut sq) = (0i64, 0i64);
    for r in 0..height {
        let up = &y[reflect(r as isize - 1, height) * width..][..width];
        let row = &y[r * width..][..width];
        let down = &y[reflect(r as isize + 1, height) * width..][..width];
        let mut add = |c: usize, left: u8, right: u8| {
            let l = left as i32 + right as i32 + up[c] as i32 + down[c] as i32 - 4 * row[c] as i32;
            sum += l as i64;
            sq += (l * l) as i64;
        };
        add(0, row[1], row[1]);
        for c in 1..width - 1 {
            add(c, row[c - 1], row[c + 1]);
        }
        add(width - 1, row[width - 2], row[width - 2]);
    }
    let n = (width * height) as f64;
    let mean = sum as f64 / n;
    (sq as f64 / n - mean * mean).max(0.0)
}

/// Edge bars of a clip: how many rows at the top and bottom and columns at the left and
/// right are one flat colour in every frame (each row's or column's luma spread within
/// `max_std` and its mean within `max_std` of the same line in the first frame, and all such
/// lines of a side within `max_std` of each other). `planes` are the frames' luma.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bars {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

pub fn bars(planes: &[Vec<u8>], width: usize, height: usize, max_std: f64) -> Bars {
    if planes.is_empty() || width == 0 || height == 0 {
        return Bars::default();
    }
    // A line is flat in one frame when its spread is small; flat in the clip when its mean
    // stays put across the frames. Returns the line's mean if flat everywhere.
    let line_flat = |get: &dyn Fn(&[u8], usize) -> u8, len: usize| -> Option<f64> {
        let mut first_mean = None;
        for p in planes {
            let (mut s, mut q) = (0f64, 0f64);
            for k in 0..len {
                let v = get(p, k) as f64;
                s += v;
                q += v * v;
            }
            let mean = s / len as f64;
            let std = (q / len as f64 - mean * mean).max(0.0).sqrt();
            if std > max_std {
                return None;
            }
            match first_mean {
                None => first_mean = Some(mean),
                Some(m) if (mean - m).abs() > max_std => return None,
                _ => {}
            }
        }
        first_mean
    };
    let row = |r: usize| line_flat(&|p: &[u8], k| p[r * width + k], width);
    let col = |c: usize| line_flat(&|p: &[u8], k| p[k * width + c], height);
    // Walk inward from one side while lines stay flat and of the side's first colour.
    let side = |line: &dyn Fn(usize) -> Option<f64>, order: &mut dyn Iterator<Item = usize>| {
        let mut n = 0;
        let mut colour = None;
        for i in order {
            match (line(i), colour) {
                (Some(m), None) => colour = Some(m),
                (Some(m), Some(c)) if (m - c).abs() <= max_std => {}
                _ => break,
            }
            n += 1;
        }
        n
    };
    let top = side(&row, &mut (0..height));
    let bottom = if top == height {
        0
    } else {
        side(&row, &mut (0..height).rev())
    };
    let left = side(&col, &mut (0..width));
    let right = if left == width {
        0
    } else {
        side(&col, &mut (0..width).rev())
    };
    Bars {
        top,
        bottom,
        left,
        right,
    }
}

/// A 64-bit DCT hash (as the `imagehash` package's `phash`: the picture reduced to 32×32,
/// a 2-D DCT-II, the 8×8 lowest frequencies compared with their median) of a luma plane.
pub fn phash(y: &[u8], width: usize, height: usize) -> u64 {
    const N: usize = 32;
    let small = box_resize(y, width, height, N);
    // DCT-II along rows, then columns (unnormalised; the median comparison ignores scale).
    let cos: Vec<f64> = (0..8 * N)
        .map(|i| {
            let (k, n) = (i / N, i % N);
            (std::f64::consts::PI * k as f64 * (2 * n + 1) as f64 / (2 * N) as f64).cos()
        })
        .collect();
    let mut rows = vec![0f64; N * 8];
    for r in 0..N {
        for k in 0..8 {
            rows[r * 8 + k] = (0..N).map(|n| small[r * N + n] * cos[k * N + n]).sum();
        }
    }
    let mut low = [0f64; 64];
    for k in 0..8 {
        for c in 0..8 {
            low[k * 8 + c] = (0..N).map(|n| rows[n * 8 + c] * cos[k * N + n]).sum();
        }
    }
    let mut sorted = low;
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    low.iter()
        .enumerate()
        .fold(0u64, |h, (i, &v)| if v > median { h | 1 << i } else { h })
}

/// A plane reduced (or enlarged) to `n`×`n` by averaging each output cell's source pixels.
fn box_resize(y: &[u8], width: usize, height: usize, n: usize) -> Vec<f64> {
    let span = |c: usize, len: usize| {
        let a = c * len / n;
        let b = ((c + 1) * len / n).max(a + 1).min(len);
        (a.min(len - 1), b)
    };
    let mut out = vec![0f64; n * n];
    for r in 0..n {
        let (y0, y1) = span(r, height);
        for c in 0..n {
            let (x0, x1) = span(c, width);
            let mut s = 0f64;
            for yy in y0..y1 {
                for xx in x0..x1 {
                    s += y[yy * width + xx] as f64;
                }
            }
            out[r * n + c] = s / ((y1 - y0) * (x1 - x0)) as f64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_matches_opencv_weights() {
        assert_eq!(luma(&[0, 0, 0, 255, 255, 255, 255, 0, 0]), vec![0, 255, 76]);
    }

    #[test]
    fn laplacian_of_a_flat_plane_is_zero_and_of_a_checkerboard_large() {
        assert_eq!(laplacian_variance(&[9u8; 64], 8, 8), 0.0);
        let cb: Vec<u8> = (0..64)
            .map(|i| if (i / 8 + i % 8) % 2 == 0 { 0 } else { 255 })
            .collect();
        assert!(laplacian_variance(&cb, 8, 8) > 100_000.0);
    }

    #[test]
    fn bars_count_flat_lines_per_side() {
        // 10x8: two black rows at the top, one at the bottom, content between.
        let (w, h) = (10, 8);
        let frame = |seed: u8| -> Vec<u8> {
            (0..w * h)
                .map(|i| {
                    let r = i / w;
                    if r < 2 || r == h - 1 {
                        0
                    } else {
                        ((i as u32 * 37 + seed as u32 * 11) % 200 + 30) as u8
                    }
                })
                .collect()
        };
        let b = bars(&[frame(1), frame(2)], w, h, 4.0);
        assert_eq!(
            b,
            Bars {
                top: 2,
                bottom: 1,
                left: 0,
                right: 0
            }
        );
    }

    #[test]
    fn phash_is_stable_under_noise_and_differs_between_pictures() {
        let (w, h) = (64, 48);
        let pattern = |fx: f64, fy: f64| -> Vec<u8> {
            (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as f64, (i / w) as f64);
                    (128.0 + 60.0 * (x / fx).sin() * (y / fy).cos() + 30.0 * ((x + y) / 9.0).sin())
                        as u8
                })
                .collect()
        };
        let a = pattern(5.0, 7.0);
        let noisy: Vec<u8> = a
            .iter()
            .enumerate()
            .map(|(i, &v)| v.saturating_add((i * 7 % 5) as u8))
            .collect();
        let b = pattern(3.0, 11.0);
        let (ha, hn, hb) = (phash(&a, w, h), phash(&noisy, w, h), phash(&b, w, h));
        assert!((ha ^ hn).count_ones() <= 4, "{ha:064b} {hn:064b}");
        assert!((ha ^ hb).count_ones() >= 16, "{ha:064b} {hb:064b}");
    }
}
