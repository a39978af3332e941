//! Picture quality measures, defined as FFmpeg's filters define them so that vdx's numbers
//! can be checked against `ffmpeg -lavfi psnr` and `ffmpeg -lavfi ssim`.
//!
//! Frames are packed RGB24. FFmpeg's filters take RGB as the planar `gbrp` (a lossless
//! reordering), measure each plane, and weight the planes by their pixel counts, which for
//! RGB are equal:
//! - PSNR: `10·log10(255² / MSE)` with the MSE over every value of the three planes
//!   (the filter's `psnr_avg`); identical frames give +∞.
//! - SSIM: the filter's (x264's) SSIM: per plane, sums over 4×4 blocks, SSIM of every 8×8
//!   window on a 4-pixel grid with integer statistics and the constants
//!   `C1 = round(.01²·255²·64)`, `C2 = round(.03²·255²·64·63)`, averaged over the windows;
//!   the frame's value is the mean of the three planes (the filter's `All`).
//! - EPE (optical flow): the mean over pixels of the Euclidean distance between two flow
//!   vectors.

/// Mean squared error over all values of two equally sized frames.
pub fn mse(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "frames of different sizes");
    if a.is_empty() {
        return 0.0;
    }
    // Exact integer sum in chunks (a chunk of 2^16 values cannot overflow u64).
    let mut sum = 0u64;
    for (ca, cb) in a.chunks(1 << 16).zip(b.chunks(1 << 16)) {
        let s: u64 = ca
            .iter()
            .zip(cb)
            .map(|(&x, &y)| {
                let d = x as i32 - y as i32;
                (d * d) as u32
            })
            .map(u64::from)
            .sum();
        sum += s;
    }
    sum as f64 / a.len() as f64
}

/// PSNR in dB of two RGB24 frames (FFmpeg's `psnr` filter, `psnr_avg`); +∞ when equal.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    psnr_of_mse(mse(a, b))
}

/// PSNR in dB for an 8-bit MSE.
pub fn psnr_of_mse(mse: f64) -> f64 {
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

const SSIM_C1: i32 = 416; // (int)(.01*.01*255*255*64 + .5)
const SSIM_C2: i32 = 235963; // (int)(.03*.03*255*255*64*63 + .5)

/// One 8×8 window's SSIM from its sums (x264's `ssim_end1`, float arithmetic).
#[inline]
fn ssim_end1(s1: i32, s2: i32, ss: i32, s12: i32) -> f32 {
    let vars = ss * 64 - s1 * s1 - s2 * s2;
    let covar = s12 * 64 - s1 * s2;
    ((2 * s1 * s2 + SSIM_C1) as f32) * ((2 * covar + SSIM_C2) as f32)
        / (((s1 * s1 + s2 * s2 + SSIM_C1) as f32) * ((vars + SSIM_C2) as f32))
}

/// SSIM of channel `c` of two RGB24 frames of `w`×`h`.
fn ssim_channel(a: &[u8], b: &[u8], w: usize, h: usize, c: usize) -> f64 {
    let (bw, bh) = (w / 4, h / 4);
    if bw < 2 || bh < 2 {
        // Too small for one 8×8 window; FFmpeg divides by zero here. Equal planes are
        // similar, others are measured on the whole plane as one window.
        return ssim_whole(a, b, c);
    }
    // 4×4 block sums: s1, s2, ss (a² + b²), s12.
    let mut sums = vec![[0i32; 4]; bw * bh];
    let stride = w * 3;
    for by in 0..bh {
        for bx in 0..bw {
            let (mut s1, mut s2, mut ss, mut s12) = (0i32, 0i32, 0i32, 0i32);
            for dy in 0..4 {
                let row = (by * 4 + dy) * stride + bx * 12 + c;
                for dx in 0..4 {
                    let x = a[row + dx * 3] as i32;
                    let y = b[row + dx * 3] as i32;
                    s1 += x;
                    s2 += y;
                    ss += x * x + y * y;
                    s12 += x * y;
                }
            }
            sums[by * bw + bx] = [s1, s2, ss, s12];
        }
    }
    let mut total = 0f64;
    for y in 0..bh - 1 {
        let (r0, r1) = (
            &sums[y * bw..(y + 1) * bw],
            &sums[(y + 1) * bw..(y + 2) * bw],
        );
        let mut line = 0f64;
        for x in 0..bw - 1 {
            let s = |k: usize| r0[x][k] + r0[x + 1][k] + r1[x][k] + r1[x + 1][k];
            line += ssim_end1(s(0), s(1), s(2), s(3)) as f64;
        }
        total += line;
    }
    total / ((bh - 1) * (bw - 1)) as f64
}

/// SSIM of one channel taken as a single window (frames under 8×8).
fn ssim_whole(a: &[u8], b: &[u8], c: usize) -> f64 {
    let n = (a.len() / 3) as f64;
    if n == 0.0 {
        return 1.0;
    }
    let (mut s1, mut s2, mut ss1, mut ss2, mut s12) = (0f64, 0f64, 0f64, 0f64, 0f64);
    for (x, y) in a.iter().skip(c).step_by(3).zip(b.iter().skip(c).step_by(3)) {
        let (x, y) = (*x as f64, *y as f64);
        s1 += x;
        s2 += y;
        ss1 += x * x;
        ss2 += y * y;
        s12 += x * y;
    }
    let (m1, m2) = (s1 / n, s2 / n);
    let (v1, v2, cov) = (ss1 / n - m1 * m1, ss2 / n - m2 * m2, s12 / n - m1 * m2);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    (2.0 * m1 * m2 + c1) * (2.0 * cov + c2) / ((m1 * m1 + m2 * m2 + c1) * (v1 + v2 + c2))
}

/// SSIM of two RGB24 frames of `w`×`h` (FFmpeg's `ssim` filter, `All`).
pub fn ssim(a: &[u8], b: &[u8], w: usize, h: usize) -> f64 {
    assert_eq!(a.len(), b.len(), "frames of different sizes");
    assert_eq!(a.len(), w * h * 3, "frame size does not match {w}x{h}");
    (0..3).map(|c| ssim_channel(a, b, w, h, c)).sum::<f64>() / 3.0
}

/// A PSNR for people: "27.44 dB", or "identical" for +∞.
pub fn db_text(psnr: f64) -> String {
    if psnr.is_finite() {
        format!("{psnr:.2} dB")
    } else {
        "identical".into()
    }
}

/// SSIM in dB as FFmpeg prints it: `-10·log10(1 - ssim)`.
pub fn ssim_db(ssim: f64) -> f64 {
    -10.0 * (1.0 - ssim).log10()
}

/// End-point error of each pixel of two `(H, W, 2)` flow fields.
pub fn epe_map(a: &[f32], b: &[f32]) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "flow fields of different sizes");
    a.chunks_exact(2)
        .zip(b.chunks_exact(2))
        .map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt())
        .collect()
}

/// Mean end-point error of two `(H, W, 2)` flow fields, in pixels.
pub fn epe(a: &[f32], b: &[f32]) -> f64 {
    let m = epe_map(a, b);
    if m.is_empty() {
        return 0.0;
    }
    m.iter().map(|&v| v as f64).sum::<f64>() / m.len() as f64
}

/// `|a − b| × gain` per value, clamped to 255: the amplified difference picture.
pub fn diff_image(a: &[u8], b: &[u8], gain: u32) -> Vec<u8> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| ((x.abs_diff(y) as u32) * gain).min(255) as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_frames_are_perfect() {
        let a: Vec<u8> = (0..16 * 16 * 3).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(psnr(&a, &a), f64::INFINITY);
        assert!((ssim(&a, &a, 16, 16) - 1.0).abs() < 1e-6);
        assert_eq!(epe(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
    }

    #[test]
    fn psnr_of_a_constant_error() {
        let a = vec![100u8; 8 * 8 * 3];
        let b = vec![110u8; 8 * 8 * 3];
        // MSE 100: 10·log10(65025/100) = 28.1308...
        assert!((psnr(&a, &b) - 28.130803608679106).abs() < 1e-9);
        assert_eq!(diff_image(&a, &b, 4), vec![40u8; 8 * 8 * 3]);
    }

    #[test]
    fn epe_is_the_vector_distance() {
        assert!((epe(&[0.0, 0.0, 1.0, 1.0], &[3.0, 4.0, 1.0, 1.0]) - 2.5).abs() < 1e-9);
    }

    #[test]
    fn ssim_falls_with_noise() {
        let a: Vec<u8> = (0..32 * 32 * 3).map(|i| (i % 200) as u8).collect();
        let b: Vec<u8> = a
            .iter()
            .enumerate()
            .map(|(i, &v)| v.saturating_add((i * 31 % 17) as u8))
            .collect();
        let s = ssim(&a, &b, 32, 32);
        assert!(s < 0.999 && s > 0.5, "{s}");
    }
}
