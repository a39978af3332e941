//! Optical flow as colour: the standard Middlebury colour wheel (Baker et al.), hue for
//! direction and saturation for magnitude, as used by flow papers and tools.

/// The 55-entry Middlebury colour wheel (RY 15, YG 6, GC 4, CB 11, BM 13, MR 6).
fn wheel() -> &'static [[f32; 3]] {
    static WHEEL: std::sync::OnceLock<Vec<[f32; 3]>> = std::sync::OnceLock::new();
    WHEEL.get_or_init(|| {
        let (ry, yg, gc, cb, bm, mr) = (15, 6, 4, 11, 13, 6);
        let mut w = Vec::with_capacity(55);
        for i in 0..ry {
            w.push([255.0, 255.0 * i as f32 / ry as f32, 0.0]);
        }
        for i in 0..yg {
            w.push([255.0 - 255.0 * i as f32 / yg as f32, 255.0, 0.0]);
        }
        for i in 0..gc {
            w.push([0.0, 255.0, 255.0 * i as f32 / gc as f32]);
        }
        for i in 0..cb {
            w.push([0.0, 255.0 - 255.0 * i as f32 / cb as f32, 255.0]);
        }
        for i in 0..bm {
            w.push([255.0 * i as f32 / bm as f32, 0.0, 255.0]);
        }
        for i in 0..mr {
            w.push([255.0, 0.0, 255.0 - 255.0 * i as f32 / mr as f32]);
        }
        w
    })
}

/// Colour of one flow vector already divided by the normalising magnitude.
pub fn flow_color(u: f32, v: f32) -> [u8; 3] {
    let w = wheel();
    let n = w.len() as f32;
    let rad = (u * u + v * v).sqrt();
    let a = (-v).atan2(-u) / std::f32::consts::PI;
    let fk = (a + 1.0) / 2.0 * (n - 1.0);
    let k0 = fk.floor() as usize % w.len();
    let k1 = (k0 + 1) % w.len();
    let f = fk - fk.floor();
    let mut out = [0u8; 3];
    for c in 0..3 {
        let col = ((1.0 - f) * w[k0][c] + f * w[k1][c]) / 255.0;
        let col = if rad <= 1.0 {
            1.0 - rad * (1.0 - col)
        } else {
            col * 0.75
        };
        out[c] = (255.0 * col).round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// Flow `(H, W, 2)` as RGB24. `max_mag`: the magnitude shown fully saturated; None: the
/// largest magnitude in this flow field (automatic scale).
pub fn flow_to_rgb(flow: &[f32], max_mag: Option<f32>) -> Vec<u8> {
    let m = max_mag.unwrap_or_else(|| {
        flow.chunks_exact(2)
            .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
            .filter(|m| m.is_finite())
            .fold(0.0f32, f32::max)
    });
    let inv = if m > 1e-6 { 1.0 / m } else { 0.0 };
    let mut out = Vec::with_capacity(flow.len() / 2 * 3);
    for p in flow.chunks_exact(2) {
        out.extend_from_slice(&flow_color(p[0] * inv, p[1] * inv));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_flow_is_white_and_directions_differ() {
        assert_eq!(flow_color(0.0, 0.0), [255, 255, 255]);
        let right = flow_color(1.0, 0.0);
        let left = flow_color(-1.0, 0.0);
        let up = flow_color(0.0, -1.0);
        assert_ne!(right, left);
        assert_ne!(right, up);
        assert_eq!(flow_to_rgb(&[0.0, 0.0, 2.0, 0.0], None).len(), 6);
    }
}
