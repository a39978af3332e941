//! Pixel conversion: a decoded picture (any pixel format, 8 or 10 bits, its own matrix and
//! range) to packed RGB24 with swscale, then rotation and crop or pad.

use super::plan::{crop_or_pad, plan_geometry, rotate_rgb, Geometry};
use super::{RgbFrame, VideoDecoder};
use crate::video::error::{Result, VideoError};
use crate::video::media::cstr;
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use std::path::Path;

/// (pixel format, width, height, colour space, range, scaled width, scaled height).
pub(super) type ScalerKey = (i32, i32, i32, i32, i32, u32, u32);

/// A cached swscale context for one (input format, size, colour) -> (RGB24, size) conversion,
/// with the resize in the source's own format first where that is the faster way (see
/// [`resize_in_yuv`]).
pub(super) struct Scaler {
    pub(super) ctx: *mut ffi::SwsContext,
    pub(super) key: ScalerKey,
    /// Bilinear resize into `pre_frame` (same pixel format) before `ctx` converts it.
    pre: *mut ffi::SwsContext,
    pre_frame: Option<ffmpeg::frame::Video>,
}

impl Drop for Scaler {
    fn drop(&mut self) {
        // SAFETY: allocated by sws_getContext, freed once (sws_freeContext takes null).
        unsafe {
            ffi::sws_freeContext(self.ctx);
            ffi::sws_freeContext(self.pre);
        }
    }
}

/// Whether a resize from this pixel format is done in two steps: bilinear in the source's own
/// format, then to RGB24 at the new size exactly as a picture of that size is converted at
/// its native size. For 8-bit 4:2:0 and 4:2:2 both steps take swscale's SIMD paths; the one
/// step (scale and convert together) writes RGB24 through swscale's C output, about 3x slower
/// (0.45 against 0.15 ms for 720x480 to 224x224 here), which decided the time of small files.
/// The pixels differ from the one step by 1.4 levels on average (chroma taken as at native
/// size, not filtered at the output size); other formats keep the one step.
fn resize_in_yuv(fmt: ffi::AVPixelFormat, out_h: u32) -> bool {
    use ffi::AVPixelFormat::*;
    // The unscaled YUV-to-RGB path needs an even height.
    out_h % 2 == 0
        && matches!(
            fmt,
            AV_PIX_FMT_YUV420P | AV_PIX_FMT_YUVJ420P | AV_PIX_FMT_YUV422P | AV_PIX_FMT_YUVJ422P
        )
}

// SAFETY: an SwsContext is only used by the thread that owns the decoder holding it.
unsafe impl Send for Scaler {}

impl VideoDecoder {
    /// Convert the decoder's current picture to RGB24 with the configured geometry.
    pub(super) fn convert(&mut self, index: usize, pts: i64) -> Result<RgbFrame> {
        let (w, h) = (self.frame.width(), self.frame.height());
        if w == 0 || h == 0 {
            return Err(VideoError::decode(
                &self.path,
                "decoded picture has no size",
            ));
        }
        let g = plan_geometry(w, h, self.sar, self.rotate_cw, self.opts.resize);
        // SAFETY: reading the decoded frame's fields; sws_* calls on contexts we own, with
        // source planes from the frame (or from the resized frame the scaler owns, allocated
        // by FFmpeg for its format and size) and a destination of scale_h rows, each 64-byte aligned
        // and at least scale_w*3 wide, plus slack (see `SWS_ALIGN`).
        unsafe {
            let f = self.frame.as_ptr();
            let fmt = (*f).format;
            let cs = (*f).colorspace as i32;
            let range = (*f).color_range as i32;
            let key = (fmt, w as i32, h as i32, cs, range, g.scale_w, g.scale_h);
            if self.scaler.as_ref().map(|s| s.key) != Some(key) {
                self.scaler = None;
                let (scaler, note) = new_scaler(&self.path, f, (w, h), &g, self.rotate_cw, key)?;
                self.conversion_note = Some(note);
                self.scaler = Some(scaler);
            }
            let Some(scaler) = self.scaler.as_mut() else {
                return Err(VideoError::decode(&self.path, "pixel conversion failed"));
            };
            let sc = scaler.ctx;
            // The planes the RGB conversion reads: the decoded picture, or its resized copy.
            let (src_data, src_lines, src_h) = match scaler.pre_frame.as_mut() {
                Some(pf) => {
                    let pfp = pf.as_mut_ptr();
                    let rows = ffi::sws_scale(
                        scaler.pre,
                        (*f).data.as_ptr() as *const *const u8,
                        (*f).linesize.as_ptr(),
                        0,
                        h as i32,
                        (*pfp).data.as_ptr(),
                        (*pfp).linesize.as_ptr(),
                    );
                    if rows <= 0 {
                        return Err(VideoError::decode(&self.path, "pixel conversion failed"));
                    }
                    ((*pfp).data.as_ptr(), (*pfp).linesize.as_ptr(), g.scale_h)
                }
                None => ((*f).data.as_ptr(), (*f).linesize.as_ptr(), h),
            };
            // swscale's SIMD paths write whole vectors: they need a destination whose rows
            // start 64-byte aligned strides apart, with slack after the last row. A buffer of
            // exactly width x 3 x height is overrun (a heap overflow) for widths that are not a
            // multiple of 16. Rows are packed tight again below where the strides differ.
            let row = g.scale_w as usize * 3;
            let stride = row.next_multiple_of(SWS_ALIGN);
            let rows_h = g.scale_h as usize;
            let mut buf = vec![0u8; stride * rows_h + SWS_ALIGN];
            let dst = [
                buf.as_mut_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            ];
            let dst_stride = [stride as i32, 0, 0, 0];
            let rows = ffi::sws_scale(
                sc,
                src_data as *const *const u8,
                src_lines,
                0,
                src_h as i32,
                dst.as_ptr(),
                dst_stride.as_ptr(),
            );
            if rows <= 0 {
                return Err(VideoError::decode(&self.path, "pixel conversion failed"));
            }
            pack_rows(&mut buf, row, stride, rows_h);
            let (rot, rw, rh) = if g.rotate_cw == 0 {
                (buf, g.scale_w as usize, g.scale_h as usize)
            } else {
                rotate_rgb(&buf, g.scale_w as usize, g.scale_h as usize, g.rotate_cw)
            };
            // Most conversions need no crop or pad: hand the buffer over without a copy.
            let data =
                if g.off_x == 0 && g.off_y == 0 && rw == g.out_w as usize && rh == g.out_h as usize
                {
                    rot
                } else {
                    crop_or_pad(
                        &rot,
                        rw,
                        rh,
                        g.off_x,
                        g.off_y,
                        g.out_w as usize,
                        g.out_h as usize,
                    )
                };
            Ok(RgbFrame {
                index,
                pts,
                width: g.out_w,
                height: g.out_h,
                data,
            })
        }
    }
}

/// The swscale contexts that convert pictures like `f` (`w` x `h`) to RGB24 at geometry `g`,
/// and the note saying how.
///
/// # Safety
/// `f` is a valid decoded frame.
unsafe fn new_scaler(
    path: &Path,
    f: *const ffi::AVFrame,
    (w, h): (u32, u32),
    g: &Geometry,
    rotate_cw: u32,
    key: ScalerKey,
) -> Result<(Scaler, String)> {
    // SAFETY: the caller's frame; contexts made here are owned by the returned Scaler.
    unsafe {
        let src_fmt: ffi::AVPixelFormat = std::mem::transmute((*f).format);
        let resized = g.scale_w != w || g.scale_h != h;
        let (pre, pre_frame) = resize_step(src_fmt, (w, h), g, resized);
        let two_step = pre_frame.is_some();
        let ctx = rgb_context(src_fmt, (w, h), g, resized, two_step);
        if ctx.is_null() {
            ffi::sws_freeContext(pre);
            return Err(VideoError::decode(
                path,
                format!(
                    "cannot convert pixel format {} to RGB",
                    cstr(ffi::av_get_pix_fmt_name(src_fmt)).unwrap_or_default()
                ),
            ));
        }
        let sws_cs = sws_colorspace((*f).colorspace);
        let full_in = i32::from((*f).color_range == ffi::AVColorRange::AVCOL_RANGE_JPEG);
        let coefs = ffi::sws_getCoefficients(sws_cs);
        ffi::sws_setColorspaceDetails(ctx, coefs, full_in, coefs, 1, 0, 1 << 16, 1 << 16);
        let note = format!(
            "{} converted to rgb24 (8-bit){}",
            source_note(src_fmt, sws_cs, full_in),
            steps_note(g, resized, two_step, rotate_cw)
        );
        Ok((
            Scaler {
                ctx,
                key,
                pre,
                pre_frame,
            },
            note,
        ))
    }
}

/// The bilinear resize in the source's own format that comes first where [`resize_in_yuv`]
/// says so, with its output frame; null and `None` where there is none.
///
/// # Safety
/// `src_fmt` is a valid pixel format.
unsafe fn resize_step(
    src_fmt: ffi::AVPixelFormat,
    (w, h): (u32, u32),
    g: &Geometry,
    resized: bool,
) -> (*mut ffi::SwsContext, Option<ffmpeg::frame::Video>) {
    let two_step = resized && resize_in_yuv(src_fmt, g.scale_h);
    if two_step {
        let pre = ffi::sws_getContext(
            w as i32,
            h as i32,
            src_fmt,
            g.scale_w as i32,
            g.scale_h as i32,
            src_fmt,
            ffi::SWS_BILINEAR,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null(),
        );
        if pre.is_null() {
            (pre, None)
        } else {
            let frame = ffmpeg::frame::Video::new(src_fmt.into(), g.scale_w, g.scale_h);
            (pre, Some(frame))
        }
    } else {
        (std::ptr::null_mut(), None)
    }
}

/// The swscale context to RGB24 at the scaled size, from the source size or (`two_step`)
/// from the already resized picture; null where swscale cannot.
///
/// # Safety
/// `src_fmt` is a valid pixel format.
unsafe fn rgb_context(
    src_fmt: ffi::AVPixelFormat,
    (w, h): (u32, u32),
    g: &Geometry,
    resized: bool,
    two_step: bool,
) -> *mut ffi::SwsContext {
    // The RGB conversion's input: the resized picture where the resize comes first.
    let (in_w, in_h) = if two_step {
        (g.scale_w, g.scale_h)
    } else {
        (w, h)
    };
    // At the same size: FFmpeg's own default (the `ffmpeg` CLI scales with
    // `flags=bicubic`), so chroma is interpolated exactly as `ffmpeg -pix_fmt
    // rgb24` does for every input format. 8-bit 4:2:0 and 4:2:2 of even height
    // take swscale's unscaled YUV-to-RGB path whatever the flag; 10/12-bit,
    // 4:1:1, 4:4:4 and odd heights go through the filter, where SWS_POINT (used
    // before) took the nearest chroma sample instead (up to 114 levels off at
    // colour edges). Resizing keeps bilinear.
    let flags = if !resized || two_step {
        ffi::SWS_BICUBIC
    } else {
        ffi::SWS_BILINEAR
    };
    ffi::sws_getContext(
        in_w as i32,
        in_h as i32,
        src_fmt,
        g.scale_w as i32,
        g.scale_h as i32,
        ffi::AVPixelFormat::AV_PIX_FMT_RGB24,
        flags,
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        std::ptr::null(),
    )
}

/// The swscale matrix (SWS_CS_*) for a frame's colour space.
fn sws_colorspace(cs: ffi::AVColorSpace) -> i32 {
    match cs {
        ffi::AVColorSpace::AVCOL_SPC_BT709 => ffi::SWS_CS_ITU709,
        ffi::AVColorSpace::AVCOL_SPC_BT2020_NCL | ffi::AVColorSpace::AVCOL_SPC_BT2020_CL => {
            ffi::SWS_CS_BT2020
        }
        ffi::AVColorSpace::AVCOL_SPC_SMPTE240M => ffi::SWS_CS_SMPTE240M,
        ffi::AVColorSpace::AVCOL_SPC_FCC => ffi::SWS_CS_FCC,
        _ => ffi::SWS_CS_DEFAULT,
    }
}

/// The note's source part: "yuv420p (8-bit, BT.601 matrix, limited range)".
///
/// # Safety
/// `src_fmt` is a valid pixel format.
unsafe fn source_note(src_fmt: ffi::AVPixelFormat, sws_cs: i32, full_in: i32) -> String {
    let d = ffi::av_pix_fmt_desc_get(src_fmt);
    let depth = if d.is_null() { 8 } else { (*d).comp[0].depth };
    format!(
        "{} ({}-bit, {}, {} range)",
        cstr(ffi::av_get_pix_fmt_name(src_fmt)).unwrap_or_default(),
        depth,
        match sws_cs {
            ffi::SWS_CS_ITU709 => "BT.709 matrix",
            ffi::SWS_CS_BT2020 => "BT.2020 matrix",
            _ => "BT.601 matrix",
        },
        if full_in == 1 { "full" } else { "limited" },
    )
}

/// The note's steps after the conversion: how it scaled, the rotation, the crop or pad.
fn steps_note(g: &Geometry, resized: bool, two_step: bool, rotate_cw: u32) -> String {
    format!(
        "{}{}{}",
        if !resized {
            " by swscale (bicubic, FFmpeg's default)".to_string()
        } else if two_step {
            format!(
                " by swscale, bilinear to {}x{} in the source's format, then as \
                 at native size",
                g.scale_w, g.scale_h
            )
        } else {
            format!(" by swscale, bilinear to {}x{}", g.scale_w, g.scale_h)
        },
        if rotate_cw != 0 {
            format!(", rotated {} degrees clockwise", rotate_cw)
        } else {
            String::new()
        },
        match (g.off_x.signum() + g.off_y.signum()).signum() {
            1 => format!(", centre-cropped to {}x{}", g.out_w, g.out_h),
            -1 => format!(", padded to {}x{}", g.out_w, g.out_h),
            _ => String::new(),
        }
    )
}

/// Row alignment (and tail slack) of swscale destinations, as FFmpeg's own frame buffers use.
const SWS_ALIGN: usize = 64;

/// Pack `rows` rows of `row` bytes, stored `stride` bytes apart, tight at the front of `buf`
/// and cut `buf` to `row x rows` bytes.
pub(super) fn pack_rows(buf: &mut Vec<u8>, row: usize, stride: usize, rows: usize) {
    if stride != row {
        for y in 1..rows {
            buf.copy_within(y * stride..y * stride + row, y * row);
        }
    }
    buf.truncate(row * rows);
}

/// Clockwise rotation and sample aspect ratio of a video stream.
pub(super) fn stream_geometry(st: &ffmpeg::format::stream::Stream<'_>) -> (u32, f64) {
    // SAFETY: reads the stream's side data and codec parameters, owned by the context.
    unsafe {
        let p = st.as_ptr();
        let mut size = 0usize;
        let sd = ffi::av_stream_get_side_data(
            p,
            ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
            &mut size,
        );
        let rot = if !sd.is_null() && size >= 36 {
            let r = ffi::av_display_rotation_get(sd as *const i32);
            if r.is_finite() {
                crate::video::probe::rotate_cw_from_ccw(r)
            } else {
                0
            }
        } else {
            0
        };
        let sar = (*(*p).codecpar).sample_aspect_ratio;
        let sar = if sar.num > 0 && sar.den > 0 {
            sar.num as f64 / sar.den as f64
        } else {
            1.0
        };
        (rot, sar)
    }
}
