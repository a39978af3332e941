//! Output geometry of decoded frames: the requested size and resize mode, the display
//! rotation, and the crop or pad that follows scaling.

use crate::video::error::{Result, VideoError};
use serde::{Deserialize, Serialize};

/// How frames are brought to a requested size. The size is in display orientation (after
/// rotation), and the display aspect (sample aspect ratio) is respected by the modes that keep
/// aspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMode {
    /// Stretch to exactly W×H, ignoring aspect.
    Squash,
    /// Scale so the picture covers W×H, then crop the centre (the usual training resize).
    #[default]
    ShortSideCrop,
    /// Scale so the picture fits inside W×H, pad the rest with black.
    Letterbox,
}

impl std::fmt::Display for ResizeMode {
    /// Words for people (the GUI's menus).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResizeMode::Squash => "squash",
            ResizeMode::ShortSideCrop => "short side + centre crop",
            ResizeMode::Letterbox => "letterbox",
        })
    }
}

impl std::str::FromStr for ResizeMode {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "squash" => Ok(ResizeMode::Squash),
            "crop" | "short_side_crop" | "center_crop" | "centre_crop" => {
                Ok(ResizeMode::ShortSideCrop)
            }
            "letterbox" | "pad" => Ok(ResizeMode::Letterbox),
            _ => Err(VideoError::param(
                "resize mode",
                format!("'{s}' is not one of squash, crop, letterbox"),
            )),
        }
    }
}

/// A requested output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resize {
    pub width: u32,
    pub height: u32,
    pub mode: ResizeMode,
}

/// Geometry of one conversion: what swscale produces, then rotation, then crop or pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Size swscale scales the stored picture to (unrotated orientation).
    pub scale_w: u32,
    pub scale_h: u32,
    /// Clockwise rotation applied after scaling.
    pub rotate_cw: u32,
    /// Final size.
    pub out_w: u32,
    pub out_h: u32,
    /// Offset of the crop (positive) or pad (negative) in the rotated, scaled picture.
    pub off_x: i64,
    pub off_y: i64,
}

/// Plan the conversion of a stored `w`×`h` picture with sample aspect `sar` and clockwise
/// rotation `rot` to the requested size.
pub(crate) fn plan_geometry(
    w: u32,
    h: u32,
    sar: f64,
    rot: u32,
    resize: Option<Resize>,
) -> Geometry {
    let swapped = rot % 180 == 90;
    let Some(r) = resize else {
        let (ow, oh) = if swapped { (h, w) } else { (w, h) };
        return Geometry {
            scale_w: w,
            scale_h: h,
            rotate_cw: rot,
            out_w: ow,
            out_h: oh,
            off_x: 0,
            off_y: 0,
        };
    };
    let sar = if sar.is_finite() && sar > 0.0 {
        sar
    } else {
        1.0
    };
    // Display size (rotated orientation).
    let (dw, dh) = {
        let dw = (w as f64 * sar).max(1.0);
        let dh = h as f64;
        if swapped {
            (dh, dw)
        } else {
            (dw, dh)
        }
    };
    let (tw, th) = (r.width.max(1), r.height.max(1));
    let (sw_rot, sh_rot) = match r.mode {
        ResizeMode::Squash => (tw, th),
        ResizeMode::ShortSideCrop => {
            let s = (tw as f64 / dw).max(th as f64 / dh);
            (
                ((dw * s).round() as u32).max(tw),
                ((dh * s).round() as u32).max(th),
            )
        }
        ResizeMode::Letterbox => {
            let s = (tw as f64 / dw).min(th as f64 / dh);
            (
                ((dw * s).round() as u32).clamp(1, tw),
                ((dh * s).round() as u32).clamp(1, th),
            )
        }
    };
    let (scale_w, scale_h) = if swapped {
        (sh_rot, sw_rot)
    } else {
        (sw_rot, sh_rot)
    };
    Geometry {
        scale_w,
        scale_h,
        rotate_cw: rot,
        out_w: tw,
        out_h: th,
        off_x: (sw_rot as i64 - tw as i64) / 2,
        off_y: (sh_rot as i64 - th as i64) / 2,
    }
}

/// Rotate a packed RGB24 picture clockwise by 0/90/180/270 degrees.
pub(crate) fn rotate_rgb(src: &[u8], w: usize, h: usize, rot: u32) -> (Vec<u8>, usize, usize) {
    match rot {
        90 => {
            let (ow, oh) = (h, w);
            let mut out = vec![0u8; ow * oh * 3];
            for y in 0..h {
                for x in 0..w {
                    // (x, y) -> (h-1-y, x)
                    let (nx, ny) = (h - 1 - y, x);
                    let s = (y * w + x) * 3;
                    let d = (ny * ow + nx) * 3;
                    out[d..d + 3].copy_from_slice(&src[s..s + 3]);
                }
            }
            (out, ow, oh)
        }
        180 => {
            let mut out = vec![0u8; w * h * 3];
            for y in 0..h {
                for x in 0..w {
                    let s = (y * w + x) * 3;
                    let d = ((h - 1 - y) * w + (w - 1 - x)) * 3;
                    out[d..d + 3].copy_from_slice(&src[s..s + 3]);
                }
            }
            (out, w, h)
        }
        270 => {
            let (ow, oh) = (h, w);
            let mut out = vec![0u8; ow * oh * 3];
            for y in 0..h {
                for x in 0..w {
                    // (x, y) -> (y, w-1-x)
                    let (nx, ny) = (y, w - 1 - x);
                    let s = (y * w + x) * 3;
                    let d = (ny * ow + nx) * 3;
                    out[d..d + 3].copy_from_slice(&src[s..s + 3]);
                }
            }
            (out, ow, oh)
        }
        _ => (src.to_vec(), w, h),
    }
}

/// Crop (offset >= 0) or pad with black (offset < 0) a packed RGB24 picture to `ow`×`oh`.
pub(crate) fn crop_or_pad(
    src: &[u8],
    w: usize,
    h: usize,
    off_x: i64,
    off_y: i64,
    ow: usize,
    oh: usize,
) -> Vec<u8> {
    if off_x == 0 && off_y == 0 && ow == w && oh == h {
        return src.to_vec();
    }
    let mut out = vec![0u8; ow * oh * 3];
    for oy in 0..oh {
        let sy = oy as i64 + off_y;
        if sy < 0 || sy >= h as i64 {
            continue;
        }
        // Columns of the output row that map inside the source.
        let x0 = (-off_x).max(0) as usize;
        let x1 = ((w as i64 - off_x).min(ow as i64)).max(0) as usize;
        if x0 >= x1 {
            continue;
        }
        let sx0 = (x0 as i64 + off_x) as usize;
        let s = (sy as usize * w + sx0) * 3;
        let d = (oy * ow + x0) * 3;
        let n = (x1 - x0) * 3;
        out[d..d + n].copy_from_slice(&src[s..s + n]);
    }
    out
}

/// A frame size as people write it: "224" (square) or "320x240" (width x height).
pub fn parse_size(s: &str) -> Result<(u32, u32)> {
    let bad = || {
        VideoError::param(
            "size",
            format!("'{s}' is not N or WxH (e.g. 224 or 320x240)"),
        )
    };
    let (w, h) = match s.split_once(['x', 'X']) {
        Some((a, b)) => (
            a.trim().parse::<u32>().map_err(|_| bad())?,
            b.trim().parse::<u32>().map_err(|_| bad())?,
        ),
        None => {
            let n = s.trim().parse::<u32>().map_err(|_| bad())?;
            (n, n)
        }
    };
    if w == 0 || h == 0 || w > 16384 || h > 16384 {
        return Err(VideoError::param(
            "size",
            format!("{w}x{h} is outside 1..=16384"),
        ));
    }
    Ok((w, h))
}
