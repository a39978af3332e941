//! Frame-exact decoding: frame *i* (presentation order, as numbered by the packet index) or the
//! frame shown at time *t*, as packed RGB24 with optional resize and the display rotation
//! applied.
//!
//! How a batch is served: targets are sorted; for each, the decoder starts at the last keyframe
//! at or before it (presentation order), or simply keeps going when that is cheaper, so several
//! targets in one GOP share one decode pass. Decoded pictures are matched to the index by pts,
//! never by counting. Pictures no target needs are not converted, and non-reference pictures
//! no target needs are not decoded at all (`skip_frame = NONREF`, set per packet).

//!
//! The work is split by job: [`plan`] (output geometry: resize modes, rotation, crop and
//! pad), [`pass`] (the decode pass: seeking, feeding packets, matching pictures to the
//! index), [`parallel`] (keyframe groups on side-by-side decoders), [`convert`] (pixel
//! conversion to RGB24 with swscale).

mod convert;
mod parallel;
mod pass;
mod plan;

pub use plan::{parse_size, Resize, ResizeMode};

use crate::video::error::{Result, VideoError};
use crate::video::index::{self, IndexOptions, VideoIndex};
use crate::video::media::{self, ProbeBudget};
use convert::{stream_geometry, Scaler};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use plan::plan_geometry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// A frame-exact decoder over one video file.
pub struct VideoDecoder {
    path: PathBuf,
    index: Arc<VideoIndex>,
    ictx: crate::video::media::Demuxer,
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
    /// Index entry by decode timestamp, where every entry has one and they are unique (an
    /// MPEG program stream, whose packets often have neither a position nor a pts).
    dts_map: Option<Option<std::collections::HashMap<i64, usize>>>,
    /// Pictures the decoder has put out (targets or not) since it was opened.
    pictures: u64,
    /// No packet has been read since the demuxer was opened: it stands at the start.
    at_start: bool,
}

/// Videos of at most this many pixels in all (frames x width x height: 70 frames of
/// 720x480, 12 of 1080p) are decoded on one thread (see `with_index`).
const SMALL_VIDEO_PIXELS: u64 = 24_000_000;

impl VideoDecoder {
    /// Open `path`, build its packet index, and prepare a decoder.
    pub fn open(path: &Path, opts: DecodeOptions) -> Result<Self> {
        let index = Self::index_for(path, &opts)?;
        Self::with_index(path, Arc::new(index), opts)
    }

    /// The index [`VideoDecoder::open`] builds for `path` (no picture types, no decode check),
    /// for callers that share one index between several decoders.
    pub fn index_for(path: &Path, opts: &DecodeOptions) -> Result<index::VideoIndex> {
        index::build_index(
            path,
            &IndexOptions {
                frame_types: false,
                check_decode: false,
                budget: opts.budget,
            },
        )
    }

    /// Prepare a decoder over `path` reusing an index built earlier.
    pub fn with_index(path: &Path, index: Arc<VideoIndex>, opts: DecodeOptions) -> Result<Self> {
        let ictx = media::open_for_demux(path, &opts.budget)?;
        let si = index.stream_index;
        let st = ictx
            .stream(si)
            .ok_or_else(|| VideoError::decode(path, "the indexed video stream is missing"))?;
        let (rotate_cw, sar) = stream_geometry(&st);
        let mut cctx = ffmpeg::codec::context::Context::from_parameters(st.parameters())
            .map_err(|e| VideoError::decode(path, format!("cannot set up the decoder: {e}")))?;
        // A short, small video decodes on one thread: frame threading's set-up (a context per
        // thread) and pipeline delay cost more than they save over a few dozen pictures (a
        // 29-frame 720x480 file: 16 spread frames, median of 10 alternated runs, 28.4 ms on
        // two frame threads, 25.9 ms on one). Longer or larger videos keep the threads.
        // SAFETY: reads plain fields of the stream's codec parameters.
        let (w, h) = unsafe {
            let par = (*st.as_ptr()).codecpar;
            ((*par).width.max(0) as u64, (*par).height.max(0) as u64)
        };
        let threads = if index.frames.len() as u64 * w * h <= SMALL_VIDEO_PIXELS {
            1
        } else {
            opts.threads
        };
        // SAFETY: plain settings on a codec context not yet opened.
        unsafe {
            let c = cctx.as_mut_ptr();
            (*c).thread_count = threads as i32;
            (*c).thread_type = ffi::FF_THREAD_FRAME | ffi::FF_THREAD_SLICE;
            (*c).pkt_timebase = (*st.as_ptr()).time_base;
        }
        let decoder = cctx.decoder().video().map_err(|e| {
            VideoError::decode(
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
            dts_map: None,
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
            .unwrap_or_else(|| Err(VideoError::decode(&self.path, "no frame returned")))
    }

    /// The frame shown at `t_secs` (the last frame whose pts time is at or before t).
    pub fn frame_at_time(&mut self, t_secs: f64) -> Result<RgbFrame> {
        let i = self
            .index
            .frame_at_time(t_secs)
            .ok_or_else(|| VideoError::decode(&self.path, "the video has no frames"))?;
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

    /// [`frames_partial`](Self::frames_partial) for a last request (see
    /// [`frames_final`](Self::frames_final)).
    pub fn frames_partial_final(&mut self, indices: &[usize]) -> Vec<Result<RgbFrame>> {
        self.frames_partial_impl(indices, true)
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
                    Err(VideoError::FrameUndecodable {
                        path: self.path.clone(),
                        index: i,
                        cause: crate::error_parts::DecodeCause(msg.clone()),
                    })
                });
            }
        }
        self.in_asked_order(indices, got)
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
                    return Err(VideoError::FrameOutOfRange {
                        path: self.path.clone(),
                        index: i,
                        count: n,
                    });
                }
                match got.get(&i) {
                    Some(Ok(f)) => Ok(f.clone()),
                    Some(Err(e)) => Err(VideoError::FrameUndecodable {
                        path: self.path.clone(),
                        index: i,
                        cause: crate::error_parts::DecodeCause(e.bare_reason()),
                    }),
                    None => Err(VideoError::FrameUndecodable {
                        path: self.path.clone(),
                        index: i,
                        cause: crate::error_parts::DecodeCause(
                            "the decoder produced no picture for it".into(),
                        ),
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
}

#[cfg(test)]
mod tests {
    use super::convert::pack_rows;
    use super::plan::*;

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
