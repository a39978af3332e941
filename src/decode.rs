//! Frame-exact decoding: frame *i* (presentation order, as numbered by the packet index) or the
//! frame shown at time *t*, as packed RGB24 with optional resize and the display rotation
//! applied.
//!
//! How a batch is served: targets are sorted; for each, the decoder starts at the last keyframe
//! at or before it (presentation order), or simply keeps going when that is cheaper, so several
//! targets in one GOP share one decode pass. Decoded pictures are matched to the index by pts,
//! never by counting. Pictures no target needs are not converted, and non-reference pictures
//! no target needs are not decoded at all (`skip_frame = NONREF`, set per packet).

use crate::error::{Result, VdxError};
use crate::index::{self, IndexOptions, VideoIndex};
use crate::media::{self, cstr, ProbeBudget};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    type Err = VdxError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "squash" => Ok(ResizeMode::Squash),
            "crop" | "short_side_crop" | "center_crop" | "centre_crop" => {
                Ok(ResizeMode::ShortSideCrop)
            }
            "letterbox" | "pad" => Ok(ResizeMode::Letterbox),
            _ => Err(VdxError::param(
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

/// Whether a target whose keyframe has decode index `key_dec` is reached by decoding on from
/// packet `next` (the keyframe is behind, or at most 8 packets ahead) rather than by a seek.
fn reached_by_decoding_on(key_dec: u32, next: u32) -> bool {
    key_dec <= next || key_dec - next <= 8
}

/// Options of a decoder.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// None: the stored picture size (rotated when rotation is applied).
    pub resize: Option<Resize>,
    /// Rotate pictures upright according to the display matrix.
    pub apply_rotation: bool,
    /// Decoder threads (0: FFmpeg picks, one per core).
    pub threads: usize,
    /// Skip decoding non-reference pictures that no target needs.
    pub skip_nonref: bool,
    /// Decoders used side by side for a batch spanning several keyframe groups (0: as many
    /// as `threads`); lets a caller run one-thread decoders yet keep group parallelism.
    pub group_workers: usize,
    /// Hand back pictures the decoder marks as damaged (errors concealed from neighbouring
    /// pictures). Off: such a frame is an error that says so, never a picture passed off as
    /// the real one.
    pub accept_concealed: bool,
    pub budget: ProbeBudget,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            resize: None,
            apply_rotation: true,
            threads: 0,
            skip_nonref: true,
            group_workers: 0,
            accept_concealed: false,
            budget: ProbeBudget::default(),
        }
    }
}

/// One decoded frame as packed RGB24 (row stride = width × 3).
#[derive(Clone, PartialEq, Eq)]
pub struct RgbFrame {
    /// Frame index in presentation order.
    pub index: usize,
    /// Presentation timestamp in the stream's time base.
    pub pts: i64,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for RgbFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RgbFrame {{ index: {}, pts: {}, {}x{} }}",
            self.index, self.pts, self.width, self.height
        )
    }
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

/// A cached swscale context for one (input format, size, colour) -> (RGB24, size) conversion.
struct Scaler {
    ctx: *mut ffi::SwsContext,
    key: (i32, i32, i32, i32, i32, u32, u32),
}

impl Drop for Scaler {
    fn drop(&mut self) {
        // SAFETY: allocated by sws_getContext, freed once.
        unsafe { ffi::sws_freeContext(self.ctx) }
    }
}

// SAFETY: an SwsContext is only used by the thread that owns the decoder holding it.
unsafe impl Send for Scaler {}

/// A frame-exact decoder over one video file.
pub struct VideoDecoder {
    path: PathBuf,
    index: Arc<VideoIndex>,
    ictx: ffmpeg::format::context::Input,
    decoder: ffmpeg::decoder::Video,
    stream_index: usize,
    opts: DecodeOptions,
    rotate_cw: u32,
    sar: f64,
    scaler: Option<Scaler>,
    /// Decode index of the next packet the demuxer will return, when the decoder is in a
    /// continuous state (fed every packet since a keyframe).
    next_decode: Option<u32>,
    /// Decode index of the keyframe the current continuous run started from.
    run_start: u32,
    /// What the pixel conversion does, for display ("yuv420p10le 10-bit -> rgb24, bt709 tv").
    conversion_note: Option<String>,
    frame: ffmpeg::frame::Video,
    last_error: Option<String>,
    /// Byte position -> frame, for packets that come without timestamps (raw streams).
    /// Byte position -> index entry; `None` inside where positions are missing or repeat.
    pos_map: Option<Option<std::collections::HashMap<i64, usize>>>,
    /// Pictures the decoder has put out (targets or not) since it was opened.
    pictures: u64,
    /// No packet has been read since the demuxer was opened: it stands at the start.
    at_start: bool,
}

/// A decode pass gives up on a target after this many packets past it in decode order
/// without the decoder returning it (codec delay is far smaller than this).
const MAX_REORDER_PACKETS: u32 = 64;

impl VideoDecoder {
    /// Open `path`, build its packet index, and prepare a decoder.
    pub fn open(path: &Path, opts: DecodeOptions) -> Result<Self> {
        let index = index::build_index(
            path,
            &IndexOptions {
                frame_types: false,
                check_decode: false,
                budget: opts.budget,
            },
        )?;
        Self::with_index(path, Arc::new(index), opts)
    }

    /// Prepare a decoder over `path` reusing an index built earlier.
    pub fn with_index(path: &Path, index: Arc<VideoIndex>, opts: DecodeOptions) -> Result<Self> {
        let ictx = media::open_for_demux(path, &opts.budget)?;
        let si = index.stream_index;
        let st = ictx
            .stream(si)
            .ok_or_else(|| VdxError::decode(path, "the indexed video stream is missing"))?;
        let (rotate_cw, sar) = stream_geometry(&st);
        let mut cctx = ffmpeg::codec::context::Context::from_parameters(st.parameters())
            .map_err(|e| VdxError::decode(path, format!("cannot set up the decoder: {e}")))?;
        // SAFETY: plain settings on a codec context not yet opened.
        unsafe {
            let c = cctx.as_mut_ptr();
            (*c).thread_count = opts.threads as i32;
            (*c).thread_type = ffi::FF_THREAD_FRAME | ffi::FF_THREAD_SLICE;
            (*c).pkt_timebase = (*st.as_ptr()).time_base;
        }
        let decoder = cctx.decoder().video().map_err(|e| {
            VdxError::decode(
                path,
                format!(
                    "no decoder for codec {:?} in this FFmpeg build: {e}",
                    st.parameters().id()
                ),
            )
        })?;
        let mut d = VideoDecoder {
            path: path.to_path_buf(),
            index,
            ictx,
            decoder,
            stream_index: si,
            opts,
            rotate_cw: if opts.apply_rotation { rotate_cw } else { 0 },
            sar,
            scaler: None,
            next_decode: None,
            run_start: 0,
            conversion_note: None,
            pictures: 0,
            at_start: true,
            frame: ffmpeg::frame::Video::empty(),
            last_error: None,
            pos_map: None,
        };
        media::discard_all_but(&mut d.ictx, si);
        Ok(d)
    }

    pub fn index(&self) -> &Arc<VideoIndex> {
        &self.index
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn frame_count(&self) -> usize {
        self.index.len()
    }
    /// Clockwise rotation applied to every picture (0 when rotation is off).
    pub fn rotate_cw(&self) -> u32 {
        self.rotate_cw
    }
    /// Pictures this decoder has decoded and put out since it was opened, targets or not
    /// (skipped non-reference pictures are not counted: they are never reconstructed).
    /// Side-by-side group decoders are not included.
    pub fn pictures_decoded(&self) -> u64 {
        self.pictures
    }

    /// What the pixel conversion did, once a frame has been converted.
    pub fn conversion_note(&self) -> Option<&str> {
        self.conversion_note.as_deref()
    }
    /// Output size of converted frames.
    pub fn output_size(&self) -> (u32, u32) {
        // SAFETY: plain field reads of the open codec context.
        let (w, h) = unsafe {
            let c = self.decoder.as_ptr();
            ((*c).width.max(1) as u32, (*c).height.max(1) as u32)
        };
        let g = plan_geometry(w, h, self.sar, self.rotate_cw, self.opts.resize);
        (g.out_w, g.out_h)
    }

    /// The stored picture size (before rotation and resizing).
    pub fn source_size(&self) -> (u32, u32) {
        // SAFETY: plain field reads of the open codec context.
        unsafe {
            let c = self.decoder.as_ptr();
            ((*c).width.max(0) as u32, (*c).height.max(0) as u32)
        }
    }

    /// Change the output size for frames converted from now on.
    pub fn set_resize(&mut self, resize: Option<Resize>) {
        self.opts.resize = resize;
    }

    /// Frame `i` (presentation order).
    pub fn frame(&mut self, i: usize) -> Result<RgbFrame> {
        self.frames_partial(&[i])
            .pop()
            .unwrap_or_else(|| Err(VdxError::decode(&self.path, "no frame returned")))
    }

    /// The frame shown at `t_secs` (the last frame whose pts time is at or before t).
    pub fn frame_at_time(&mut self, t_secs: f64) -> Result<RgbFrame> {
        let i = self
            .index
            .frame_at_time(t_secs)
            .ok_or_else(|| VdxError::decode(&self.path, "the video has no frames"))?;
        self.frame(i)
    }

    /// Frames at `indices`, in the order asked (duplicates allowed); fails on the first
    /// frame that cannot be decoded.
    pub fn frames(&mut self, indices: &[usize]) -> Result<Vec<RgbFrame>> {
        self.frames_partial(indices).into_iter().collect()
    }

    /// Frames at `indices`, in the order asked, each a frame or the reason it could not be
    /// decoded (a truncated file yields what it holds).
    pub fn frames_partial(&mut self, indices: &[usize]) -> Vec<Result<RgbFrame>> {
        self.frames_partial_impl(indices, false)
    }

    /// [`frames`](Self::frames) for a last request (a loader that opens a video for one
    /// clip): once the last target's packet is in, the decoder is drained instead of being
    /// fed the packets its reordering delay would otherwise pull in. A later request works
    /// as usual but starts with a seek.
    pub fn frames_final(&mut self, indices: &[usize]) -> Result<Vec<RgbFrame>> {
        self.frames_partial_impl(indices, true)
            .into_iter()
            .collect()
    }

    fn frames_partial_impl(&mut self, indices: &[usize], last: bool) -> Vec<Result<RgbFrame>> {
        let n = self.index.len();
        let mut wanted: Vec<usize> = indices.iter().copied().filter(|&i| i < n).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut got: BTreeMap<usize, Result<RgbFrame>> = BTreeMap::new();
        if let Some(results) = self.decode_groups_in_parallel(&wanted) {
            for (i, r) in wanted.iter().copied().zip(results) {
                got.insert(i, r);
            }
            return self.in_asked_order(indices, got);
        }
        let run = self.decode_sorted(
            &wanted,
            &mut |i, r| {
                got.insert(i, r);
                true
            },
            last,
        );
        if let Err(e) = run {
            let msg = e.bare_reason();
            for &i in &wanted {
                got.entry(i).or_insert_with(|| {
                    Err(VdxError::FrameUndecodable {
                        path: self.path.clone(),
                        index: i,
                        reason: msg.clone(),
                    })
                });
            }
        }
        self.in_asked_order(indices, got)
    }

    /// The frame a demuxed packet carries: by its timestamp, or (for packets without one, as
    /// in raw elementary streams) by its byte position, in which case the index's inferred
    /// pts is written into the packet so the decoded picture can be matched.
    /// The index entry of a packet just read, found by byte position where the index's
    /// positions are unique (true of MP4, MOV, Matroska and WebM; it keeps two packets apart
    /// when their pts are equal), else by pts.
    ///
    /// The packet's pts is then replaced by the entry's number before it is sent: the decoder
    /// carries it through reordering onto the picture, so every picture is named by the
    /// packet it came from, never by a timestamp that may be duplicated, missing or wrong.
    fn packet_frame(&mut self, index: &VideoIndex, pkt: &mut ffmpeg::Packet) -> Option<usize> {
        let map = self.pos_map.get_or_insert_with(|| {
            let mut m = std::collections::HashMap::with_capacity(index.frames.len());
            for (i, f) in index.frames.iter().enumerate() {
                if f.pos < 0 || m.insert(f.pos, i).is_some() {
                    return None;
                }
            }
            Some(m)
        });
        let pos = pkt.position() as i64;
        // SAFETY: plain field read of the packet just returned.
        let discard =
            unsafe { (*ffmpeg::packet::Ref::as_ptr(&*pkt)).flags } & ffi::AV_PKT_FLAG_DISCARD != 0;
        let by_pos = map.as_ref().and_then(|m| m.get(&pos).copied());
        // A packet the index left out is no frame: an edit list's lead-in (flagged discard),
        // or, where the order came from a decode, a packet that puts out no picture (a
        // not-coded VOP). It is still decoded; its picture, if any, is matched to nothing.
        let strict = index.order_from_decode && map.is_some() && pos >= 0;
        let fi = if discard {
            None
        } else if strict {
            by_pos
        } else {
            by_pos.or_else(|| {
                pkt.pts()
                    .or(pkt.dts())
                    .and_then(|p| index.frame_of_pts(p))
                    .or_else(|| {
                        // No usable timestamp (a raw elementary stream): byte position alone.
                        (pos >= 0)
                            .then(|| index.frames.iter().position(|f| f.pos == pos))
                            .flatten()
                    })
            })
        };
        pkt.set_pts(fi.map(|i| i as i64));
        fi
    }

    /// Independent keyframe groups decoded at once by separate single-threaded decoders.
    ///
    /// H.264/H.265 frame threading overlaps a picture only partly with the pictures it
    /// references, so two threads on one reference chain give ~1.3x; two chains (GOPs) on two
    /// cores give ~2x. Used when the targets span two or more keyframe groups and more than one
    /// thread is allowed; groups are dealt to workers longest decode first. Returns `None`
    /// where a single decoder is the better plan.
    fn decode_groups_in_parallel(&mut self, wanted: &[usize]) -> Option<Vec<Result<RgbFrame>>> {
        let threads = match (self.opts.group_workers, self.opts.threads) {
            (0, 0) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            (0, t) => t,
            (g, _) => g,
        };
        if threads < 2 || wanted.len() < 2 {
            return None;
        }
        // Group by the keyframe a pass would start from.
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for &i in wanted {
            let k = self.index.keyframe_before(i).unwrap_or(0);
            match groups.last_mut() {
                Some((gk, v)) if *gk == k => v.push(i),
                _ => groups.push((k, vec![i])),
            }
        }
        if groups.len() < 2 {
            return None;
        }
        let workers = threads.min(groups.len());
        // Groups are handed out longest decode first from a shared queue: a worker takes the
        // next group when it is free, so a worker that starts late (its thread was busy with
        // other work, as in a build) takes fewer groups and no core waits on a fixed plan.
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by_key(|&g| {
            let last = *groups[g].1.last().expect("non-empty");
            std::cmp::Reverse(self.index.decode_cost(last))
        });
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut opts = self.opts;
        opts.threads = (threads / workers).max(1);
        opts.group_workers = 1;
        let path = self.path.clone();
        let index = self.index.clone();
        use rayon::prelude::*;
        type Part = (Vec<(Vec<usize>, Vec<Result<RgbFrame>>)>, Option<String>);
        let parts: Vec<Part> = (0..workers)
            .into_par_iter()
            .map(|_| {
                let mut dec: Option<std::result::Result<VideoDecoder, String>> = None;
                let mut out = Vec::new();
                loop {
                    let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&g) = order.get(j) else { break };
                    let idx = groups[g].1.clone();
                    // Opened only once there is a group to decode.
                    let d = dec.get_or_insert_with(|| {
                        VideoDecoder::with_index(&path, index.clone(), opts)
                            .map_err(|e| e.bare_reason())
                    });
                    let r = match d {
                        Ok(d) => d.frames_partial_impl(&idx, true),
                        Err(msg) => idx
                            .iter()
                            .map(|_| Err(VdxError::decode(&path, msg.clone())))
                            .collect(),
                    };
                    out.push((idx, r));
                }
                let note = dec
                    .as_ref()
                    .and_then(|d| d.as_ref().ok())
                    .and_then(|d| d.conversion_note.clone());
                (out, note)
            })
            .collect();
        let mut by_index: BTreeMap<usize, Result<RgbFrame>> = BTreeMap::new();
        for (done, note) in parts {
            if self.conversion_note.is_none() {
                self.conversion_note = note;
            }
            for (idx, r) in done {
                by_index.extend(idx.into_iter().zip(r));
            }
        }
        // The main decoder's own state is untouched: its next access seeks as usual.
        Some(
            wanted
                .iter()
                .map(|i| by_index.remove(i).expect("every target assigned"))
                .collect(),
        )
    }

    fn in_asked_order(
        &self,
        indices: &[usize],
        got: BTreeMap<usize, Result<RgbFrame>>,
    ) -> Vec<Result<RgbFrame>> {
        let n = self.index.len();
        indices
            .iter()
            .map(|&i| {
                if i >= n {
                    return Err(VdxError::FrameOutOfRange {
                        path: self.path.clone(),
                        index: i,
                        count: n,
                    });
                }
                match got.get(&i) {
                    Some(Ok(f)) => Ok(f.clone()),
                    Some(Err(e)) => Err(VdxError::FrameUndecodable {
                        path: self.path.clone(),
                        index: i,
                        reason: e.bare_reason(),
                    }),
                    None => Err(VdxError::FrameUndecodable {
                        path: self.path.clone(),
                        index: i,
                        reason: "the decoder produced no picture for it".into(),
                    }),
                }
            })
            .collect()
    }

    /// Decode every frame in presentation order and hand each to `sink` (return false to
    /// stop). This is the sequential decode that tests use as the oracle.
    pub fn for_each_frame(&mut self, sink: &mut dyn FnMut(RgbFrame) -> bool) -> Result<usize> {
        let all: Vec<usize> = (0..self.index.len()).collect();
        let mut count = 0usize;
        let mut first_err = None;
        self.decode_sorted(
            &all,
            &mut |_, r| match r {
                Ok(f) => {
                    count += 1;
                    sink(f)
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                    true
                }
            },
            false,
        )?;
        if let Some(e) = first_err {
            if count == 0 {
                return Err(e);
            }
        }
        Ok(count)
    }

    /// The core loop: serve sorted, unique targets, calling `sink(i, frame)` as each arrives
    /// (arrival is in presentation order within a pass). `sink` returns false to stop.
    ///
    /// Once every target of the current run has been fed and the next target needs a seek
    /// (or there is none and `last` is set), the decoder is drained at once: the pictures
    /// its reordering delay holds come out without decoding the packets that follow.
    fn decode_sorted(
        &mut self,
        targets: &[usize],
        sink: &mut dyn FnMut(usize, Result<RgbFrame>) -> bool,
        last: bool,
    ) -> Result<()> {
        if targets.is_empty() {
            return Ok(());
        }
        let index = Arc::clone(&self.index);
        let frames = &index.frames;
        // Targets in decode order, to find the next packet still to be fed.
        let mut by_dec: Vec<(u32, usize)> = targets
            .iter()
            .filter_map(|&i| frames.get(i).map(|f| (f.decode_index, i)))
            .collect();
        by_dec.sort_unstable();
        // After feeding packet `fed`: is the next target reached by decoding on?
        let more_in_run = |fed: u32| -> Option<bool> {
            let nd = fed + 1;
            let j = by_dec.partition_point(|&(d, _)| d < nd);
            let &(_, next) = by_dec.get(j)?;
            let kd = index
                .keyframe_before(next)
                .map_or(0, |k| frames[k].decode_index);
            Some(reached_by_decoding_on(kd, nd))
        };
        // Targets still to deliver, keyed by frame index.
        let mut pending: std::collections::BTreeSet<usize> = targets.iter().copied().collect();
        let is_target =
            |i: usize, pending: &std::collections::BTreeSet<usize>| pending.contains(&i);
        // Packets from `fed_floor` up to the current position were fed during this call, in
        // one continuous run: a target among them is still inside the decoder.
        let mut fed_floor = self.next_decode.unwrap_or(0);
        let mut early_drain = true;
        while let Some(&t) = pending.iter().next() {
            // No keyframe at or before `t`: decoding starts at the top of the file, where an
            // edit list's lead-in packets (not frames themselves) hold the references.
            let key = index.keyframe_before(t);
            let key_dec = key.map_or(0, |k| frames[k].decode_index);
            let t_dec = frames[t].decode_index;
            // Keep decoding forward when the decoder is continuous and the keyframe is not far
            // ahead; else seek.
            // `t` may already be inside the decoder (fed during this call, not yet output:
            // B-frame reordering and frame threads delay output), which also means continuing.
            let continue_ok = match self.next_decode {
                Some(nd) if self.run_start <= key_dec => {
                    if t_dec < nd {
                        t_dec >= fed_floor
                    } else {
                        reached_by_decoding_on(key_dec, nd)
                    }
                }
                _ => false,
            };
            if !continue_ok {
                // Pictures still inside the decoder come out first; `t` may be among them.
                self.drain(&index, &mut pending, sink)?;
                if !pending.contains(&t) {
                    continue;
                }
                match key {
                    Some(key) => self.seek_to_keyframe(key)?,
                    None => self.seek_to_start()?,
                }
                fed_floor = self.run_start;
            }
            // Feed packets until `t` is delivered, or we have gone far past it.
            let mut eof = false;
            let mut drained_early = false;
            loop {
                if !pending.contains(&t) {
                    break;
                }
                let nd = self.next_decode.unwrap_or(0);
                if nd > t_dec + MAX_REORDER_PACKETS {
                    break;
                }
                let mut pkt = ffmpeg::Packet::empty();
                self.at_start = false;
                match pkt.read(&mut self.ictx) {
                    Ok(()) => {}
                    Err(ffmpeg::Error::Eof) => {
                        eof = true;
                        break;
                    }
                    Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                        continue
                    }
                    Err(ffmpeg::Error::InvalidData) => continue,
                    Err(e) => {
                        self.last_error = Some(format!("reading packets failed: {e}"));
                        eof = true;
                        break;
                    }
                }
                if pkt.stream() != self.stream_index {
                    continue;
                }
                let pkt_frame = self.packet_frame(&index, &mut pkt);
                if let Some(fi) = pkt_frame {
                    self.next_decode = Some(frames[fi].decode_index + 1);
                }
                let needed = pkt_frame.map(|fi| is_target(fi, &pending)).unwrap_or(true);
                // Where the order came from a decode (AVI), a packet's picture may be decoded
                // only when the next packet is sent (packed B-frames): skipping a B there
                // would also drop the B the decoder buffers from the skipped packet.
                let may_skip = self.opts.skip_nonref && !index.order_from_decode;
                self.set_skip(if needed || !may_skip {
                    ffi::AVDiscard::AVDISCARD_DEFAULT
                } else {
                    ffi::AVDiscard::AVDISCARD_NONREF
                });
                match self.decoder.send_packet(&pkt) {
                    Ok(()) => {}
                    Err(ffmpeg::Error::InvalidData) => {
                        self.last_error = Some("the decoder rejected a corrupt packet".into());
                    }
                    Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                        // Cannot happen with the receive loop below; keep going.
                    }
                    Err(e) => self.last_error = Some(format!("decoder error: {e}")),
                }
                if !self.receive_all(&index, &mut pending, sink)? {
                    return Ok(());
                }
                // (`t` itself must be in: a seek may land on an earlier keyframe, and then
                // the run goes on through it.)
                if let Some(fi) =
                    pkt_frame.filter(|&fi| early_drain && frames[fi].decode_index >= t_dec)
                {
                    let stop = match more_in_run(frames[fi].decode_index) {
                        Some(more) => !more,
                        None => last,
                    };
                    if stop {
                        self.drain(&index, &mut pending, sink)?;
                        drained_early = true;
                        break;
                    }
                }
            }
            if drained_early && pending.contains(&t) {
                // The drain did not give `t`: H.264 drops pictures not yet marked recovered
                // when it is flushed after starting at a recovery point (open GOP). Decode
                // this target again the ordinary way, and keep to it for this request.
                early_drain = false;
                continue;
            }
            if eof {
                // End of data: drain what the decoder holds, then the rest is undecodable.
                self.drain(&index, &mut pending, sink)?;
                let reason = if index.truncated {
                    "the file's data ends before this frame".to_string()
                } else {
                    self.last_error
                        .clone()
                        .unwrap_or_else(|| "the stream ended before this frame".into())
                };
                for i in std::mem::take(&mut pending) {
                    if !sink(i, Err(VdxError::decode(&self.path, reason.clone()))) {
                        return Ok(());
                    }
                }
                return Ok(());
            }
            if pending.contains(&t) {
                // Went far past without getting it: drain and give up on this one.
                self.drain(&index, &mut pending, sink)?;
                if pending.remove(&t) {
                    let reason = self
                        .last_error
                        .clone()
                        .unwrap_or_else(|| "the decoder produced no picture for it".into());
                    if !sink(t, Err(VdxError::decode(&self.path, reason))) {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// The decoder flagged the picture it just put out as damaged: errors concealed, or
    /// references missing.
    fn picture_is_damaged(&self) -> bool {
        // SAFETY: plain field reads of the frame just received.
        unsafe {
            let f = self.frame.as_ptr();
            (*f).flags & ffi::AV_FRAME_FLAG_CORRUPT != 0 || (*f).decode_error_flags != 0
        }
    }

    fn set_skip(&mut self, d: ffi::AVDiscard) {
        // SAFETY: `skip_frame` is read by the decoder at each packet; changing it between
        // packets is supported (frame threads copy it per packet).
        unsafe { (*self.decoder.as_mut_ptr()).skip_frame = d }
    }

    /// Receive every picture the decoder has ready; deliver targets. Returns false if the
    /// sink asked to stop.
    fn receive_all(
        &mut self,
        index: &VideoIndex,
        pending: &mut std::collections::BTreeSet<usize>,
        sink: &mut dyn FnMut(usize, Result<RgbFrame>) -> bool,
    ) -> Result<bool> {
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    self.pictures += 1;
                    // The pts is the entry number `packet_frame` gave the picture's packet.
                    let Some(fi) = self
                        .frame
                        .pts()
                        .and_then(|p| usize::try_from(p).ok())
                        .filter(|&i| i < index.frames.len())
                    else {
                        continue;
                    };
                    if pending.remove(&fi) {
                        let pts = index.frames[fi].pts;
                        let r = if !self.opts.accept_concealed && self.picture_is_damaged() {
                            Err(VdxError::decode(
                                &self.path,
                                "the decoder found damage in this picture and concealed it \
                                 (pass --accept-concealed to take such pictures)",
                            ))
                        } else {
                            self.convert(fi, pts)
                        };
                        if !sink(fi, r) {
                            return Ok(false);
                        }
                    }
                }
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                    return Ok(true)
                }
                Err(ffmpeg::Error::Eof) => return Ok(true),
                Err(e) => {
                    self.last_error = Some(format!("decoder error: {e}"));
                    return Ok(true);
                }
            }
        }
    }

    /// Flush the decoder: deliver every picture it still holds, then reset it.
    fn drain(
        &mut self,
        index: &VideoIndex,
        pending: &mut std::collections::BTreeSet<usize>,
        sink: &mut dyn FnMut(usize, Result<RgbFrame>) -> bool,
    ) -> Result<()> {
        if self.next_decode.is_some() {
            let _ = self.decoder.send_eof();
            self.receive_all(index, pending, sink)?;
        }
        self.decoder.flush();
        self.next_decode = None;
        Ok(())
    }

    /// Position the demuxer so the next packet read is keyframe `key` (or an earlier keyframe).
    fn seek_to_keyframe(&mut self, key: usize) -> Result<()> {
        let index = Arc::clone(&self.index);
        let kf = index.frames[key];
        // Seek by the keyframe's pts: demuxers index keyframes by presentation time (MP4 with
        // an edit list shifts its index by the B-frame delay, so seeking by dts lands one GOP
        // early). Landing early is still correct, only slower; landing late falls back below.
        let ts = kf.pts;
        // A seek moves the demuxer even when it fails (Matroska without cues reads ahead).
        self.at_start = false;
        // SAFETY: seeking an open context on its own stream index.
        let r = unsafe {
            ffi::av_seek_frame(
                self.ictx.as_mut_ptr(),
                self.stream_index as i32,
                ts,
                ffi::AVSEEK_FLAG_BACKWARD,
            )
        };
        if r < 0 {
            self.seek_to_start()?;
            return Ok(());
        }
        // Find the first packet at or before the keyframe that is a keyframe; if the demuxer
        // landed after it, start over from the beginning of the file.
        loop {
            let mut pkt = ffmpeg::Packet::empty();
            self.at_start = false;
            match pkt.read(&mut self.ictx) {
                Ok(()) => {}
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                    continue
                }
                Err(ffmpeg::Error::InvalidData) => continue,
                Err(_) => {
                    // The seek left the demuxer at the end (a Matroska file without cues whose
                    // timestamps jump back): start over from a freshly opened file.
                    self.reopen()?;
                    self.seek_to_start()?;
                    return Ok(());
                }
            }
            if pkt.stream() != self.stream_index {
                continue;
            }
            let Some(fi) = self.packet_frame(&index, &mut pkt) else {
                continue;
            };
            let f = index.frames[fi];
            if f.decode_index > kf.decode_index {
                self.seek_to_start()?;
                return Ok(());
            }
            // VDX_TRACE_SEEK=1 shows where each seek lands (a landing before the keyframe is
            // correct but costs a GOP of extra decoding).
            if f.keyframe && std::env::var_os("VDX_TRACE_SEEK").is_some() {
                eprintln!("vdx: seek to keyframe {key} landed on frame {fi}");
            }
            if f.keyframe {
                // Feed this packet now; the loop in decode_sorted continues after it.
                self.next_decode = Some(f.decode_index + 1);
                self.run_start = f.decode_index;
                self.set_skip(ffi::AVDiscard::AVDISCARD_DEFAULT);
                let _ = self.decoder.send_packet(&pkt);
                return Ok(());
            }
        }
    }

    fn seek_to_start(&mut self) -> Result<()> {
        // A demuxer just opened stands at the start already. Else seek there, except where
        // an edit list's lead-in precedes the first frame: MOV's seek clamps times before
        // zero to zero and lands on a later keyframe, past the lead-in the first frames need.
        // Where seeking fails (a Matroska file without cues whose timestamps jump back), the
        // file is opened anew: its header only, cheap next to the decode that follows.
        let seeked = self.at_start
            || (self.index.discarded_packets == 0
                // SAFETY: seeking an open context on its own stream.
                && unsafe {
                    ffi::av_seek_frame(
                        self.ictx.as_mut_ptr(),
                        self.stream_index as i32,
                        i64::MIN,
                        ffi::AVSEEK_FLAG_BACKWARD,
                    )
                } >= 0);
        if !seeked {
            self.reopen()?;
        }
        self.decoder.flush();
        // Decoding from the very start is continuous by construction.
        self.next_decode = Some(0);
        self.run_start = 0;
        Ok(())
    }

    /// Open the file anew, its demuxer at the start.
    fn reopen(&mut self) -> Result<()> {
        self.ictx = media::open_for_demux(&self.path, &self.opts.budget)?;
        media::discard_all_but(&mut self.ictx, self.stream_index);
        self.at_start = true;
        Ok(())
    }

    /// Convert the decoder's current picture to RGB24 with the configured geometry.
    fn convert(&mut self, index: usize, pts: i64) -> Result<RgbFrame> {
        let (w, h) = (self.frame.width(), self.frame.height());
        if w == 0 || h == 0 {
            return Err(VdxError::decode(&self.path, "decoded picture has no size"));
        }
        let g = plan_geometry(w, h, self.sar, self.rotate_cw, self.opts.resize);
        // SAFETY: reading the decoded frame's fields; sws_* calls on a context we own, with
        // source planes from the frame and a destination of scale_h rows, each 64-byte aligned
        // and at least scale_w*3 wide, plus slack (see `SWS_ALIGN`).
        unsafe {
            let f = self.frame.as_ptr();
            let fmt = (*f).format;
            let cs = (*f).colorspace as i32;
            let range = (*f).color_range as i32;
            let key = (fmt, w as i32, h as i32, cs, range, g.scale_w, g.scale_h);
            if self.scaler.as_ref().map(|s| s.key) != Some(key) {
                self.scaler = None;
                let src_fmt: ffi::AVPixelFormat = std::mem::transmute(fmt);
                let flags = if g.scale_w == w && g.scale_h == h {
                    ffi::SWS_POINT
                } else {
                    ffi::SWS_BILINEAR
                };
                let ctx = ffi::sws_getContext(
                    w as i32,
                    h as i32,
                    src_fmt,
                    g.scale_w as i32,
                    g.scale_h as i32,
                    ffi::AVPixelFormat::AV_PIX_FMT_RGB24,
                    flags,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null(),
                );
                if ctx.is_null() {
                    return Err(VdxError::decode(
                        &self.path,
                        format!(
                            "cannot convert pixel format {} to RGB",
                            cstr(ffi::av_get_pix_fmt_name(src_fmt)).unwrap_or_default()
                        ),
                    ));
                }
                let sws_cs = match (*f).colorspace {
                    ffi::AVColorSpace::AVCOL_SPC_BT709 => ffi::SWS_CS_ITU709,
                    ffi::AVColorSpace::AVCOL_SPC_BT2020_NCL
                    | ffi::AVColorSpace::AVCOL_SPC_BT2020_CL => ffi::SWS_CS_BT2020,
                    ffi::AVColorSpace::AVCOL_SPC_SMPTE240M => ffi::SWS_CS_SMPTE240M,
                    ffi::AVColorSpace::AVCOL_SPC_FCC => ffi::SWS_CS_FCC,
                    _ => ffi::SWS_CS_DEFAULT,
                };
                let full_in = i32::from((*f).color_range == ffi::AVColorRange::AVCOL_RANGE_JPEG);
                let coefs = ffi::sws_getCoefficients(sws_cs);
                ffi::sws_setColorspaceDetails(ctx, coefs, full_in, coefs, 1, 0, 1 << 16, 1 << 16);
                let d = ffi::av_pix_fmt_desc_get(src_fmt);
                let depth = if d.is_null() { 8 } else { (*d).comp[0].depth };
                self.conversion_note = Some(format!(
                    "{} ({}-bit, {}, {} range) converted to rgb24 (8-bit){}",
                    cstr(ffi::av_get_pix_fmt_name(src_fmt)).unwrap_or_default(),
                    depth,
                    match sws_cs {
                        ffi::SWS_CS_ITU709 => "BT.709 matrix",
                        ffi::SWS_CS_BT2020 => "BT.2020 matrix",
                        _ => "BT.601 matrix",
                    },
                    if full_in == 1 { "full" } else { "limited" },
                    if self.rotate_cw != 0 {
                        format!(", rotated {} degrees clockwise", self.rotate_cw)
                    } else {
                        String::new()
                    }
                ));
                self.scaler = Some(Scaler { ctx, key });
            }
            let sc = self
                .scaler
                .as_ref()
                .map(|s| s.ctx)
                .unwrap_or(std::ptr::null_mut());
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
                (*f).data.as_ptr() as *const *const u8,
                (*f).linesize.as_ptr(),
                0,
                h as i32,
                dst.as_ptr(),
                dst_stride.as_ptr(),
            );
            if rows <= 0 {
                return Err(VdxError::decode(&self.path, "pixel conversion failed"));
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

/// Row alignment (and tail slack) of swscale destinations, as FFmpeg's own frame buffers use.
const SWS_ALIGN: usize = 64;

/// Pack `rows` rows of `row` bytes, stored `stride` bytes apart, tight at the front of `buf`
/// and cut `buf` to `row x rows` bytes.
fn pack_rows(buf: &mut Vec<u8>, row: usize, stride: usize, rows: usize) {
    if stride != row {
        for y in 1..rows {
            buf.copy_within(y * stride..y * stride + row, y * row);
        }
    }
    buf.truncate(row * rows);
}

/// Clockwise rotation and sample aspect ratio of a video stream.
fn stream_geometry(st: &ffmpeg::format::stream::Stream<'_>) -> (u32, f64) {
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
                crate::probe::rotate_cw_from_ccw(r)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_native_swaps_for_quarter_turns() {
        let g = plan_geometry(640, 360, 1.0, 90, None);
        assert_eq!(
            (g.scale_w, g.scale_h, g.out_w, g.out_h),
            (640, 360, 360, 640)
        );
    }

    #[test]
    fn geometry_short_side_crop_covers_target() {
        let g = plan_geometry(
            1920,
            1080,
            1.0,
            0,
            Some(Resize {
                width: 224,
                height: 224,
                mode: ResizeMode::ShortSideCrop,
            }),
        );
        assert_eq!((g.scale_w, g.scale_h), (398, 224));
        assert_eq!((g.out_w, g.out_h, g.off_x, g.off_y), (224, 224, 87, 0));
    }

    #[test]
    fn geometry_letterbox_fits_inside() {
        let g = plan_geometry(
            1920,
            1080,
            1.0,
            0,
            Some(Resize {
                width: 224,
                height: 224,
                mode: ResizeMode::Letterbox,
            }),
        );
        assert_eq!((g.scale_w, g.scale_h), (224, 126));
        assert_eq!((g.off_x, g.off_y), (0, -49));
    }

    #[test]
    fn geometry_rotated_crop_scales_unrotated_picture() {
        // 640x360 stored, shown portrait 360x640; target 100x200 (portrait).
        let g = plan_geometry(
            640,
            360,
            1.0,
            90,
            Some(Resize {
                width: 100,
                height: 200,
                mode: ResizeMode::ShortSideCrop,
            }),
        );
        // Display 360x640 scaled by max(100/360, 200/640)=0.3125 -> 113x200 (rotated),
        // so swscale makes 200x113 before the rotation.
        assert_eq!((g.scale_w, g.scale_h), (200, 113));
        assert_eq!((g.out_w, g.out_h), (100, 200));
    }

    #[test]
    fn rotations_compose_to_identity() {
        let (w, h) = (5usize, 3usize);
        let src: Vec<u8> = (0..w * h * 3).map(|v| v as u8).collect();
        let (r90, w1, h1) = rotate_rgb(&src, w, h, 90);
        assert_eq!((w1, h1), (3, 5));
        let (r180, w2, h2) = rotate_rgb(&r90, w1, h1, 90);
        assert_eq!(r180, rotate_rgb(&src, w, h, 180).0);
        let (r270, w3, h3) = rotate_rgb(&r180, w2, h2, 90);
        assert_eq!(r270, rotate_rgb(&src, w, h, 270).0);
        let (back, w4, h4) = rotate_rgb(&r270, w3, h3, 90);
        assert_eq!((back, w4, h4), (src, w, h));
    }

    #[test]
    fn rotate_90_moves_top_left_to_top_right() {
        // 2x1 picture: pixel A at (0,0), B at (1,0). Rotated clockwise: 1x2, A on top.
        let src = [1, 1, 1, 2, 2, 2];
        let (r, w, h) = rotate_rgb(&src, 2, 1, 90);
        assert_eq!((w, h), (1, 2));
        assert_eq!(r, vec![1, 1, 1, 2, 2, 2]);
    }

    #[test]
    fn pack_rows_drops_the_stride_padding() {
        // 2 rows of 3 bytes stored 8 apart, plus slack.
        let mut buf = vec![1, 2, 3, 0, 0, 0, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 9, 9];
        pack_rows(&mut buf, 3, 8, 2);
        assert_eq!(buf, vec![1, 2, 3, 4, 5, 6]);
        let mut tight = vec![1, 2, 3, 4, 5, 6, 7];
        pack_rows(&mut tight, 3, 3, 2);
        assert_eq!(tight, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn crop_and_pad() {
        let src: Vec<u8> = (0..4 * 2 * 3).map(|v| v as u8).collect(); // 4x2
        let c = crop_or_pad(&src, 4, 2, 1, 0, 2, 2);
        assert_eq!(&c[..6], &src[3..9]);
        let p = crop_or_pad(&src, 4, 2, 0, -1, 4, 4);
        assert!(p[..12].iter().all(|&v| v == 0));
        assert_eq!(&p[12..36], &src[..]);
        assert!(p[36..].iter().all(|&v| v == 0));
    }
}
