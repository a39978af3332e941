//! The three video fields: how a clip becomes bytes in a sample, and back.
//!
//! Every field's sample data is one allocation; its metadata record (see `format.rs` and
//! FORMAT.md) points at it and states the shape. Offsets inside the data are relative to the
//! start of the sample's data.
//!
//! - **frames** (type 10): `<u8` offset table of T+1 entries (entry k is where JPEG k starts,
//!   entry T is the data size), then T baseline JPEGs (libjpeg-turbo, 4:2:0).
//! - **flow** (type 12): `<u4` keyframe positions (num_keyframes), zero padding to a multiple
//!   of 8, `<u8` JPEG offsets (num_keyframes + 1), the keyframe JPEGs, zero padding to a
//!   multiple of 8, then `int8 (T-1, H, W, 2)` flow (dx, dy) quantized as
//!   `clip(round(flow × scale), -128, 127)`.
//! - **segments** (type 11): see `segments.rs`.

use crate::dataset::error::{DatasetError, Result};
use crate::dataset::format::{le_u32, le_u64};
use serde::{Deserialize, Serialize};

/// Why a stored sample's bytes could not be decoded; the caller adds the file and sample.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    /// The record's tables and sizes contradict each other or the data.
    #[error("{0}")]
    Malformed(String),
    /// libjpeg-turbo refused a stored JPEG; `at` names it ('frame 3: ').
    #[error("{at}libjpeg-turbo: {source}")]
    Jpeg {
        at: String,
        #[source]
        source: turbojpeg::Error,
    },
    /// FFmpeg refused a stored segment.
    #[error(transparent)]
    Codec(#[from] crate::video::codec::CodecError),
}

impl FieldError {
    /// The same error, said of a part of the sample ('frame 3', 'keyframe 0').
    pub fn at(self, part: &str) -> Self {
        match self {
            FieldError::Malformed(m) => FieldError::Malformed(format!("{part}: {m}")),
            FieldError::Jpeg { at, source } => FieldError::Jpeg {
                at: format!("{part}: {at}"),
                source,
            },
            other => other,
        }
    }
}

impl FieldError {
    /// The field error inside a [`DatasetError::Sample`], if `e` is one.
    pub fn of(e: &DatasetError) -> Option<&FieldError> {
        match e {
            DatasetError::Sample { source, .. } => source.downcast_ref(),
            _ => None,
        }
    }
}

impl From<&str> for FieldError {
    fn from(m: &str) -> Self {
        FieldError::Malformed(m.to_string())
    }
}

impl From<String> for FieldError {
    fn from(m: String) -> Self {
        FieldError::Malformed(m)
    }
}

fn jpeg_error(source: turbojpeg::Error) -> FieldError {
    FieldError::Jpeg {
        at: String::new(),
        source,
    }
}

/// Farneback parameters (OpenCV `calcOpticalFlowFarneback`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FarnebackParams {
    pub pyr_scale: f64,
    pub levels: i32,
    pub winsize: i32,
    pub iterations: i32,
    pub poly_n: i32,
    pub poly_sigma: f64,
}

impl Default for FarnebackParams {
    fn default() -> Self {
        FarnebackParams {
            pyr_scale: 0.5,
            levels: 3,
            winsize: 15,
            iterations: 3,
            poly_n: 5,
            poly_sigma: 1.2,
        }
    }
}

/// A decoded clip: `u8 (T, H, W, 3)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipTensor {
    pub num_frames: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<u8>,
}

impl ClipTensor {
    pub fn frame(&self, t: usize) -> &[u8] {
        let n = self.height * self.width * 3;
        &self.data[t * n..(t + 1) * n]
    }
}

/// A decoded flow sample.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowTensor {
    pub num_frames: usize,
    pub height: usize,
    pub width: usize,
    /// Frame positions (0-based within the clip) that have a JPEG keyframe.
    pub keyframe_positions: Vec<u32>,
    /// `u8 (num_keyframes, H, W, 3)`.
    pub keyframes: Vec<u8>,
    /// `f32 (T-1, H, W, 2)`: flow in pixels, dequantized (q / scale).
    pub flow: Vec<f32>,
    /// The raw `int8 (T-1, H, W, 2)`.
    pub flow_q: Vec<i8>,
    pub scale: f32,
}

// ---------------------------------------------------------------- frames

/// Encode T RGB frames of one size as the frames field's data.
pub fn encode_frames(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    quality: i32,
    jpeg: &mut turbojpeg::Compressor,
) -> Result<Vec<u8>> {
    let t = frames.len();
    let table = 8 * (t + 1);
    let mut jpegs = Vec::with_capacity(t);
    for f in frames {
        jpegs.push(compress(jpeg, f, width, height, quality)?);
    }
    let total = table + jpegs.iter().map(|j| j.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    let mut at = table as u64;
    for j in &jpegs {
        out.extend_from_slice(&at.to_le_bytes());
        at += j.len() as u64;
    }
    out.extend_from_slice(&at.to_le_bytes());
    for j in &jpegs {
        out.extend_from_slice(j);
    }
    Ok(out)
}

fn compress(
    c: &mut turbojpeg::Compressor,
    rgb: &[u8],
    width: u32,
    height: u32,
    quality: i32,
) -> Result<Vec<u8>> {
    if !(1..=100).contains(&quality) {
        return Err(DatasetError::param("quality", "must be between 1 and 100"));
    }
    c.set_quality(quality);
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2);
    let img = turbojpeg::Image {
        pixels: rgb,
        width: width as usize,
        pitch: width as usize * 3,
        height: height as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    c.compress_to_vec(img)
        .map_err(|e| DatasetError::param("jpeg", format!("libjpeg-turbo could not encode: {e}")))
}

/// The JPEG byte ranges of a frames-field sample, checked against the data size.
pub fn frame_ranges(
    data: &[u8],
    num_frames: usize,
) -> std::result::Result<Vec<(usize, usize)>, FieldError> {
    let table = num_frames
        .checked_add(1)
        .and_then(|n| n.checked_mul(8))
        .ok_or("frame count overflows")?;
    if data.len() < table {
        return Err(format!(
            "{} bytes of data cannot hold the {num_frames}-frame offset table",
            data.len()
        )
        .into());
    }
    let offs: Vec<u64> = (0..=num_frames).map(|k| le_u64(data, 8 * k)).collect();
    if offs[0] != table as u64 || offs[num_frames] != data.len() as u64 {
        return Err("the frame offset table does not span the data".into());
    }
    let mut v = Vec::with_capacity(num_frames);
    for k in 0..num_frames {
        if offs[k + 1] <= offs[k] {
            return Err(format!("frame {k} has a non-positive size in the offset table").into());
        }
        v.push((offs[k] as usize, offs[k + 1] as usize));
    }
    Ok(v)
}

/// Decode a frames-field sample into `out` (`u8 (T, H, W, 3)`, preallocated by the caller).
pub fn decode_frames_into(
    data: &[u8],
    num_frames: usize,
    width: usize,
    height: usize,
    out: &mut [u8],
    dec: &mut turbojpeg::Decompressor,
) -> std::result::Result<(), FieldError> {
    let ranges = frame_ranges(data, num_frames)?;
    let n = width * height * 3;
    if out.len() != n * num_frames {
        return Err("output buffer has the wrong size".into());
    }
    for (k, (a, b)) in ranges.into_iter().enumerate() {
        decompress_into(
            dec,
            &data[a..b],
            width,
            height,
            &mut out[k * n..(k + 1) * n],
        )
        .map_err(|e| e.at(&format!("frame {k}")))?;
    }
    Ok(())
}

/// Decode one JPEG of `width`×`height` into `out` (RGB24), checking its size first.
pub fn decompress_into(
    dec: &mut turbojpeg::Decompressor,
    jpeg: &[u8],
    width: usize,
    height: usize,
    out: &mut [u8],
) -> std::result::Result<(), FieldError> {
    let h = dec.read_header(jpeg).map_err(jpeg_error)?;
    if h.width != width || h.height != height {
        return Err(format!(
            "JPEG is {}x{}, the record says {width}x{height}",
            h.width, h.height
        )
        .into());
    }
    dec.decompress(
        jpeg,
        turbojpeg::Image {
            pixels: out,
            width,
            pitch: width * 3,
            height,
            format: turbojpeg::PixelFormat::RGB,
        },
    )
    .map_err(jpeg_error)
}

// ---------------------------------------------------------------- flow

/// Keyframe positions for T frames with one keyframe every `k` frames: 0, k, 2k, ...
pub fn flow_keyframe_positions(num_frames: usize, every: usize) -> Vec<u32> {
    (0..num_frames)
        .step_by(every.max(1))
        .map(|p| p as u32)
        .collect()
}

/// Quantize flow to int8: `clip(round(v × scale), -128, 127)`, rounding half away from zero.
pub fn quantize_flow(v: f32, scale: f32) -> i8 {
    (v * scale).round().clamp(-128.0, 127.0) as i8
}

/// Farneback flow between consecutive frames of a clip (`(T-1, H, W, 2)` f32).
pub fn farneback_flow(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    p: &FarnebackParams,
) -> Result<Vec<f32>> {
    use opencv::core::{Mat, CV_32FC2, CV_8UC3};
    use opencv::prelude::*;
    let cv = |e: opencv::Error| DatasetError::param("flow", format!("OpenCV: {e}"));
    let (w, h) = (width as i32, height as i32);
    let gray = |rgb: &[u8]| -> Result<Mat> {
        let mut buf = rgb.to_vec();
        // SAFETY: the Mat header borrows `buf`, which lives until cvt_color has copied it.
        let src = unsafe {
            Mat::new_rows_cols_with_data_unsafe(
                h,
                w,
                CV_8UC3,
                buf.as_mut_ptr() as *mut std::ffi::c_void,
                (w * 3) as usize,
            )
        }
        .map_err(cv)?;
        let mut g = Mat::default();
        opencv::imgproc::cvt_color(&src, &mut g, opencv::imgproc::COLOR_RGB2GRAY, 0).map_err(cv)?;
        drop(src);
        drop(buf);
        Ok(g)
    };
    let mut out = Vec::with_capacity(frames.len().saturating_sub(1) * (w * h * 2) as usize);
    let mut prev = match frames.first() {
        Some(f) => gray(f)?,
        None => return Ok(out),
    };
    for f in &frames[1..] {
        let next = gray(f)?;
        let mut flow =
            Mat::new_rows_cols_with_default(h, w, CV_32FC2, opencv::core::Scalar::all(0.0))
                .map_err(cv)?;
        opencv::video::calc_optical_flow_farneback(
            &prev,
            &next,
            &mut flow,
            p.pyr_scale,
            p.levels,
            p.winsize,
            p.iterations,
            p.poly_n,
            p.poly_sigma,
            0,
        )
        .map_err(cv)?;
        let bytes = flow.data_bytes().map_err(cv)?;
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        prev = next;
    }
    Ok(out)
}

fn pad8(v: &mut Vec<u8>) {
    while v.len() % 8 != 0 {
        v.push(0);
    }
}

/// Encode a clip as the flow field's data: JPEG keyframes at `positions` plus the quantized
/// flow between consecutive frames.
#[allow(clippy::too_many_arguments)]
pub fn encode_flow(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    positions: &[u32],
    quality: i32,
    scale: f32,
    params: &FarnebackParams,
    jpeg: &mut turbojpeg::Compressor,
) -> Result<Vec<u8>> {
    let flow = farneback_flow(frames, width, height, params)?;
    let mut out = Vec::new();
    for p in positions {
        out.extend_from_slice(&p.to_le_bytes());
    }
    pad8(&mut out);
    let mut jpegs = Vec::with_capacity(positions.len());
    for &p in positions {
        let f = frames.get(p as usize).ok_or_else(|| {
            DatasetError::param("keyframe", format!("position {p} is past the clip's end"))
        })?;
        jpegs.push(compress(jpeg, f, width, height, quality)?);
    }
    let table_at = out.len();
    let mut at = (table_at + 8 * (positions.len() + 1)) as u64;
    for j in &jpegs {
        out.extend_from_slice(&at.to_le_bytes());
        at += j.len() as u64;
    }
    out.extend_from_slice(&at.to_le_bytes());
    for j in &jpegs {
        out.extend_from_slice(j);
    }
    pad8(&mut out);
    out.extend(flow.iter().map(|&v| quantize_flow(v, scale) as u8));
    Ok(out)
}

/// Decode a flow-field sample.
pub fn decode_flow(
    data: &[u8],
    num_frames: usize,
    num_keyframes: usize,
    width: usize,
    height: usize,
    scale: f32,
    dec: &mut turbojpeg::Decompressor,
) -> std::result::Result<FlowTensor, FieldError> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(format!("flow scale {scale} is not a positive number").into());
    }
    if num_keyframes > num_frames || (num_frames > 0 && num_keyframes == 0) {
        return Err(
            format!("{num_keyframes} keyframes for {num_frames} frames is impossible").into(),
        );
    }
    let pos_bytes = (4 * num_keyframes).div_ceil(8) * 8;
    let table_len = 8 * (num_keyframes + 1);
    if data.len() < pos_bytes + table_len {
        return Err("the data is too short for its keyframe tables".into());
    }
    let positions: Vec<u32> = (0..num_keyframes).map(|k| le_u32(data, 4 * k)).collect();
    if positions.windows(2).any(|w| w[1] <= w[0])
        || positions.iter().any(|&p| p as usize >= num_frames)
    {
        return Err(format!(
            "keyframe positions {positions:?} are not increasing and inside the clip"
        )
        .into());
    }
    let offs: Vec<u64> = (0..=num_keyframes)
        .map(|k| le_u64(data, pos_bytes + 8 * k))
        .collect();
    let n = width * height * 3;
    let flow_len = num_frames
        .saturating_sub(1)
        .checked_mul(width * height * 2)
        .ok_or("flow size overflows")?;
    let jpeg_end = offs[num_keyframes] as usize;
    let flow_at = jpeg_end.div_ceil(8) * 8;
    if offs[0] as usize != pos_bytes + table_len
        || offs.windows(2).any(|w| w[1] <= w[0])
        || flow_at.checked_add(flow_len) != Some(data.len())
    {
        return Err("the keyframe offsets and flow size do not span the data".into());
    }
    let mut keyframes = vec![0u8; n * num_keyframes];
    for k in 0..num_keyframes {
        decompress_into(
            dec,
            &data[offs[k] as usize..offs[k + 1] as usize],
            width,
            height,
            &mut keyframes[k * n..(k + 1) * n],
        )
        .map_err(|e| e.at(&format!("keyframe {k}")))?;
    }
    let flow_q: Vec<i8> = data[flow_at..].iter().map(|&b| b as i8).collect();
    let inv = 1.0 / scale;
    let flow = flow_q.iter().map(|&q| q as f32 * inv).collect();
    Ok(FlowTensor {
        num_frames,
        height,
        width,
        keyframe_positions: positions,
        keyframes,
        flow,
        flow_q,
        scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantization_rounds_and_clips() {
        assert_eq!(quantize_flow(0.124, 4.0), 0);
        assert_eq!(quantize_flow(0.125, 4.0), 1); // 0.5 rounds away from zero
        assert_eq!(quantize_flow(-0.125, 4.0), -1);
        assert_eq!(quantize_flow(31.75, 4.0), 127);
        assert_eq!(quantize_flow(40.0, 4.0), 127);
        assert_eq!(quantize_flow(-32.0, 4.0), -128);
        assert_eq!(quantize_flow(-50.0, 4.0), -128);
    }

    #[test]
    fn keyframe_positions_every_k() {
        assert_eq!(flow_keyframe_positions(16, 8), vec![0, 8]);
        assert_eq!(flow_keyframe_positions(17, 8), vec![0, 8, 16]);
        assert_eq!(flow_keyframe_positions(3, 8), vec![0]);
    }

    #[test]
    fn frames_round_trip_and_reject_bad_tables() {
        let (w, h) = (32u32, 24u32);
        let a: Vec<u8> = (0..w * h * 3).map(|i| (i % 251) as u8).collect();
        let b: Vec<u8> = a.iter().map(|v| 255 - v).collect();
        let mut c = turbojpeg::Compressor::new().unwrap();
        let data = encode_frames(&[&a, &b], w, h, 95, &mut c).unwrap();
        let mut d = turbojpeg::Decompressor::new().unwrap();
        let mut out = vec![0u8; (w * h * 3 * 2) as usize];
        decode_frames_into(&data, 2, w as usize, h as usize, &mut out, &mut d).unwrap();
        assert!(decode_frames_into(&data, 3, w as usize, h as usize, &mut out, &mut d).is_err());
        let mut bad = data.clone();
        bad[8] ^= 0x40;
        assert!(decode_frames_into(&bad, 2, w as usize, h as usize, &mut out, &mut d).is_err());
    }
}
