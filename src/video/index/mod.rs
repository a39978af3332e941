//! The packet index: a demux-only scan of one video stream that records every packet's pts,
//! dts, duration, size, byte position and keyframe flag, in presentation order.
//!
//! Frame *i* everywhere in vdx means the *i*-th entry of [`VideoIndex::frames`]: the *i*-th
//! frame in presentation order. The index is exact even when the header lies; what the header
//! claims (frame count, duration, frame rate) is kept beside what was counted, and any
//! disagreement becomes a warning.

pub(crate) mod decode_order;
pub(crate) mod h264;
pub(crate) mod vop_order;

/// Where each start code's payload begins (the byte after `00 00 01`), scanning left to right
/// without overlap as the MPEG decoders do. A SIMD search: byte by byte this scan was 40% of
/// indexing an MPEG-4 Part 2 AVI.
pub(crate) fn start_codes(d: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memmem::find_iter(d, &[0u8, 0, 1]).map(|i| i + 3)
}

use crate::error::{Result, VdxError};
use crate::video::media::{self, ProbeBudget, Ratio};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// A frame's picture type, from the codec's bitstream parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum FrameType {
    I,
    P,
    B,
    /// The parser could not tell (or the codec has no parser).
    #[serde(rename = "?")]
    Unknown,
}

impl FrameType {
    /// The type of a decoded picture.
    pub(crate) fn from_av(t: ffmpeg::picture::Type) -> Self {
        use ffmpeg::picture::Type;
        match t {
            Type::I | Type::SI => FrameType::I,
            Type::P | Type::SP | Type::S => FrameType::P,
            Type::B | Type::BI => FrameType::B,
            _ => FrameType::Unknown,
        }
    }

    pub fn as_char(self) -> char {
        match self {
            FrameType::I => 'I',
            FrameType::P => 'P',
            FrameType::B => 'B',
            FrameType::Unknown => '?',
        }
    }
}

/// What a full decode found for one frame (see [`IndexOptions::check_decode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeStatus {
    /// Not checked: the index was built without a decode.
    #[default]
    Unchecked,
    /// The decoder put out the picture without complaint.
    Ok,
    /// The decoder put out a picture but flagged it damaged (errors concealed).
    Concealed,
    /// The decoder put out no picture for this frame (damaged or missing references).
    Undecodable,
}

/// One frame (one video packet) of the index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrameEntry {
    /// Presentation timestamp in the stream's time base.
    pub pts: i64,
    /// Decode timestamp in the stream's time base, when the container has one.
    pub dts: Option<i64>,
    /// Packet duration in the stream's time base (0: unknown).
    pub duration: i64,
    pub size_bytes: u32,
    /// Byte position of the packet in the file (-1: unknown).
    pub pos: i64,
    pub keyframe: bool,
    /// For a keyframe: how many packets after it, in decode order, lies the first picture a
    /// decode starting here gives clean. 0 for a true random-access point (an IDR picture,
    /// an intra picture the container flags); more for an H.264 picture that the container
    /// flags as a sync sample only because a recovery-point SEI introduces it (periodic
    /// intra refresh in MP4); `u32::MAX` where the stream ends first. Frames that such a
    /// start does not give clean decode from an earlier keyframe (see
    /// [`VideoIndex::keyframe_before`]).
    pub recovery_frames: u32,
    pub frame_type: FrameType,
    /// Position of this packet in decode (file) order.
    pub decode_index: u32,
    /// What a decode of the whole stream found for this frame.
    pub decode_status: DecodeStatus,
    /// Whether a decoder may skip this packet when it is a non-reference picture no target
    /// needs. Not where a packed MPEG-4 stream's call keeps a B-VOP for the next packet, nor
    /// where the order came from a decode and nothing more is known.
    #[serde(skip)]
    pub skip_safe: bool,
}

/// What the container header claims, kept beside what the scan counted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HeaderClaims {
    pub nb_frames: Option<i64>,
    pub duration_secs: Option<f64>,
    pub avg_frame_rate: Option<f64>,
    pub r_frame_rate: Option<f64>,
}

/// The packet index of one video stream.
#[derive(Debug, Clone, Serialize)]
pub struct VideoIndex {
    pub path: PathBuf,
    pub stream_index: usize,
    pub codec_name: String,
    pub time_base: Ratio,
    /// Frames in presentation order.
    pub frames: Vec<FrameEntry>,
    /// Indices into `frames` of the keyframes, ascending.
    pub keyframes: Vec<usize>,
    pub header: HeaderClaims,
    /// True when the data ended before the container's index said it would.
    pub truncated: bool,
    /// Packets that were dropped (e.g. discarded by an edit list), not counted as frames.
    pub discarded_packets: usize,
    /// The container stores no presentation order (AVI, raw streams) and the codec reorders
    /// pictures: the order of `frames` was learnt from a decode of the whole stream, and a
    /// packet that puts out no picture (a not-coded VOP) is not a frame. See
    /// [`crate::video::index::decode_order`].
    pub order_from_decode: bool,
    /// Packets that hold no picture of their own (counted only where the order came from a
    /// decode).
    pub pictureless_packets: usize,
    pub warnings: Vec<String>,
}

/// Options of the scan.
#[derive(Debug, Clone, Copy)]
pub struct IndexOptions {
    /// Run the bitstream parser on every packet to learn I/P/B frame types (cheap; no decode).
    pub frame_types: bool,
    /// Decode the whole stream once, as FFmpeg's sequential decode does, and record each
    /// frame's [`DecodeStatus`]: which frames are damaged or cannot be decoded at all. Costs
    /// a decode (at reduced resolution where the codec allows).
    pub check_decode: bool,
    pub budget: ProbeBudget,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            frame_types: true,
            check_decode: false,
            budget: ProbeBudget::default(),
        }
    }
}

/// Summary numbers derived from the index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexSummary {
    pub frame_count: usize,
    pub keyframe_count: usize,
    pub duration_secs: f64,
    pub mean_fps: f64,
    pub min_gop: usize,
    pub max_gop: usize,
    pub mean_gop: f64,
    pub is_vfr: bool,
    pub total_bytes: u64,
}

impl VideoIndex {
    pub fn len(&self) -> usize {
        self.frames.len()
    }
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Presentation time of frame `i` in seconds (as ffprobe's `pts_time`).
    pub fn time_secs(&self, i: usize) -> f64 {
        self.pts_to_secs(self.frames[i].pts)
    }

    pub fn pts_to_secs(&self, pts: i64) -> f64 {
        pts as f64 * self.time_base.num as f64 / self.time_base.den.max(1) as f64
    }

    /// The frame shown at time `t_secs`: the last frame whose pts time is <= t (frame 0 for
    /// times before the first frame). None for an empty index.
    pub fn frame_at_time(&self, t_secs: f64) -> Option<usize> {
        if self.frames.is_empty() {
            return None;
        }
        let n = self
            .frames
            .partition_point(|f| self.pts_to_secs(f.pts) <= t_secs + 1e-9);
        Some(n.saturating_sub(1))
    }

    /// The frame whose pts equals `pts`, if any.
    pub fn frame_of_pts(&self, pts: i64) -> Option<usize> {
        let i = self.frames.partition_point(|f| f.pts < pts);
        (i < self.frames.len() && self.frames[i].pts == pts).then_some(i)
    }

    /// The keyframe to start decoding from to reach frame `i`: the last keyframe at or before
    /// `i` in presentation order. For a leading B-frame of an open GOP (shown before its GOP's
    /// keyframe) this is the previous GOP's keyframe, whose decode covers the references.
    ///
    /// Where timestamps are out of order (a packet whose pts puts it after a keyframe that is
    /// decoded later than it), earlier keyframes are taken until one is decoded no later than
    /// the target.
    pub fn keyframe_before(&self, i: usize) -> Option<usize> {
        let mut k = self.keyframes.partition_point(|&k| k <= i);
        let dec = self.frames.get(i)?.decode_index;
        // A recovery point serves its first clean picture, and the pictures decoded after
        // that picture has been put out: FFmpeg's H.264 decoder marks a picture recovered
        // when it is decoded after a recovered picture was output, and that output waits
        // for the reorder delay (at most 16 pictures). Pictures in between are dropped.
        let unusable = |key: usize| -> bool {
            let f = &self.frames[key];
            if f.decode_index > dec {
                return true;
            }
            if f.recovery_frames == 0 {
                return false;
            }
            let clean = u64::from(f.decode_index) + u64::from(f.recovery_frames);
            let dec = u64::from(dec);
            !(dec == clean || dec > clean + MAX_REORDER_DEPTH as u64)
        };
        while k > 0 && unusable(self.keyframes[k - 1]) {
            k -= 1;
        }
        if k == 0 {
            None
        } else {
            Some(self.keyframes[k - 1])
        }
    }

    /// The index of frames `range` alone (an annotated segment), for sampling inside it:
    /// the same entries, keyframes among them renumbered from the range's start.
    pub fn subrange(&self, range: std::ops::Range<usize>) -> VideoIndex {
        let range = range.start.min(self.frames.len())..range.end.min(self.frames.len());
        VideoIndex {
            frames: self.frames[range.clone()].to_vec(),
            keyframes: self
                .keyframes
                .iter()
                .filter(|&&k| range.contains(&k))
                .map(|&k| k - range.start)
                .collect(),
            warnings: Vec::new(),
            ..self.clone_header()
        }
    }

    fn clone_header(&self) -> VideoIndex {
        VideoIndex {
            path: self.path.clone(),
            stream_index: self.stream_index,
            codec_name: self.codec_name.clone(),
            time_base: self.time_base,
            frames: Vec::new(),
            keyframes: Vec::new(),
            header: self.header.clone(),
            truncated: self.truncated,
            discarded_packets: self.discarded_packets,
            order_from_decode: self.order_from_decode,
            pictureless_packets: self.pictureless_packets,
            warnings: Vec::new(),
        }
    }

    /// The frames of [start, end) seconds from the first frame: those shown at or after
    /// `start` and before `end`, by their timestamps. Err: why the segment holds no frame or
    /// lies past the end (more than one frame past the last frame's end).
    pub fn frames_between_secs(
        &self,
        start: f64,
        end: f64,
    ) -> std::result::Result<std::ops::Range<usize>, String> {
        const EPS: f64 = 1e-6;
        if !(start.is_finite() && end.is_finite()) || end <= start {
            return Err(format!("the segment [{start}, {end}) s is empty"));
        }
        let dur = self.duration_secs();
        let frame = if self.frames.is_empty() {
            0.0
        } else {
            dur / self.frames.len() as f64
        };
        if start >= dur - EPS || end > dur + frame + EPS {
            return Err(format!(
                "the segment [{start:.3}, {end:.3}) s lies past the video's end ({dur:.3} s)"
            ));
        }
        // Frames are in presentation order, so their times ascend.
        let t0 = self.frames.first().map_or(0.0, |f| self.pts_to_secs(f.pts));
        let rel = |f: &FrameEntry| self.pts_to_secs(f.pts) - t0;
        let a = self.frames.partition_point(|f| rel(f) < start - EPS);
        let b = self.frames.partition_point(|f| rel(f) < end - EPS);
        if b <= a {
            return Err(format!(
                "the segment [{start:.3}, {end:.3}) s holds no frame (frames are {:.3} s apart)",
                frame
            ));
        }
        Ok(a..b)
    }

    /// How many frames must be decoded to show frame `i` after a seek (its decode cost).
    pub fn decode_cost(&self, i: usize) -> usize {
        match self.keyframe_before(i) {
            Some(k) => {
                let start = self.frames[k].decode_index;
                let end = self.frames[i].decode_index;
                end.saturating_sub(start) as usize + 1
            }
            None => self.frames[i].decode_index as usize + 1,
        }
    }

    /// GOP lengths in frames (presentation order), from each keyframe to the next.
    pub fn gop_lengths(&self) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.keyframes.len());
        for (j, &k) in self.keyframes.iter().enumerate() {
            let next = self
                .keyframes
                .get(j + 1)
                .copied()
                .unwrap_or(self.frames.len());
            v.push(next - k);
        }
        v
    }

    /// Duration covered by the frames, in seconds: last pts + last duration - first pts.
    pub fn duration_secs(&self) -> f64 {
        match (self.frames.first(), self.frames.last()) {
            (Some(a), Some(b)) => {
                let last_dur = if b.duration > 0 {
                    b.duration
                } else {
                    self.typical_frame_duration()
                };
                self.pts_to_secs(b.pts + last_dur - a.pts)
            }
            _ => 0.0,
        }
    }

    fn typical_frame_duration(&self) -> i64 {
        let mut d: Vec<i64> = self
            .frames
            .windows(2)
            .map(|w| w[1].pts - w[0].pts)
            .filter(|d| *d > 0)
            .collect();
        if d.is_empty() {
            return 0;
        }
        d.sort_unstable();
        d[d.len() / 2]
    }

    /// True when frame intervals vary by more than 1% (beyond timestamp rounding).
    pub fn is_vfr(&self) -> bool {
        let d: Vec<i64> = self
            .frames
            .windows(2)
            .map(|w| w[1].pts - w[0].pts)
            .collect();
        let (Some(&min), Some(&max)) = (d.iter().min(), d.iter().max()) else {
            return false;
        };
        // One tick of slack covers time bases that cannot represent the rate exactly.
        max - min > 1 && (max - min) as f64 > 0.01 * max as f64
    }

    pub fn summary(&self) -> IndexSummary {
        let gops = self.gop_lengths();
        let dur = self.duration_secs();
        IndexSummary {
            frame_count: self.frames.len(),
            keyframe_count: self.keyframes.len(),
            duration_secs: dur,
            mean_fps: if dur > 0.0 {
                self.frames.len() as f64 / dur
            } else {
                0.0
            },
            min_gop: gops.iter().copied().min().unwrap_or(0),
            max_gop: gops.iter().copied().max().unwrap_or(0),
            mean_gop: if gops.is_empty() {
                0.0
            } else {
                gops.iter().sum::<usize>() as f64 / gops.len() as f64
            },
            is_vfr: self.is_vfr(),
            total_bytes: self.frames.iter().map(|f| f.size_bytes as u64).sum(),
        }
    }
}

/// The codec's bitstream parser, used only to read picture types and coded sizes from
/// complete packets (no decoding).
pub(crate) struct FrameParser {
    parser: *mut ffi::AVCodecParserContext,
    ctx: *mut ffi::AVCodecContext,
}

impl FrameParser {
    /// A parser for the stream's codec, or None when FFmpeg has none for it.
    pub(crate) fn new(params: &ffmpeg::codec::Parameters) -> Option<Self> {
        // SAFETY: plain FFmpeg allocation calls; every pointer is checked and freed in Drop.
        unsafe {
            let par = params.as_ptr();
            let parser = ffi::av_parser_init((*par).codec_id as i32);
            if parser.is_null() {
                return None;
            }
            let ctx = ffi::avcodec_alloc_context3(std::ptr::null());
            if ctx.is_null() {
                ffi::av_parser_close(parser);
                return None;
            }
            if ffi::avcodec_parameters_to_context(ctx, par) < 0 {
                ffi::avcodec_free_context(&mut { ctx });
                ffi::av_parser_close(parser);
                return None;
            }
            // Packets from a demuxer are whole frames: no buffering across calls.
            (*parser).flags |= ffi::PARSER_FLAG_COMPLETE_FRAMES;
            Some(FrameParser { parser, ctx })
        }
    }

    /// Parse one complete packet; returns the picture type the parser saw.
    pub(crate) fn parse(&mut self, data: &[u8], pts: Option<i64>, dts: Option<i64>) -> FrameType {
        if data.is_empty() {
            return FrameType::Unknown;
        }
        // SAFETY: the parser only reads `data` for the duration of the call; out/out_size
        // point into the parser's own buffer (or into `data`) and are not kept.
        unsafe {
            let mut out: *mut u8 = std::ptr::null_mut();
            let mut out_size: i32 = 0;
            (*self.parser).pict_type = ffi::AVPictureType::AV_PICTURE_TYPE_NONE as i32;
            let len = data.len().min(i32::MAX as usize) as i32;
            ffi::av_parser_parse2(
                self.parser,
                self.ctx,
                &mut out,
                &mut out_size,
                data.as_ptr(),
                len,
                pts.unwrap_or(ffi::AV_NOPTS_VALUE),
                dts.unwrap_or(ffi::AV_NOPTS_VALUE),
                -1,
            );
            let t = (*self.parser).pict_type;
            if t == ffi::AVPictureType::AV_PICTURE_TYPE_I as i32
                || t == ffi::AVPictureType::AV_PICTURE_TYPE_SI as i32
            {
                FrameType::I
            } else if t == ffi::AVPictureType::AV_PICTURE_TYPE_P as i32
                || t == ffi::AVPictureType::AV_PICTURE_TYPE_SP as i32
            {
                FrameType::P
            } else if t == ffi::AVPictureType::AV_PICTURE_TYPE_B as i32
                || t == ffi::AVPictureType::AV_PICTURE_TYPE_BI as i32
            {
                FrameType::B
            } else {
                FrameType::Unknown
            }
        }
    }

    /// The raw parser and codec context, for reading what the parser learnt.
    pub(crate) fn raw(&self) -> (*const ffi::AVCodecParserContext, *const ffi::AVCodecContext) {
        (self.parser, self.ctx)
    }

    /// Coded picture size, when the parser found one.
    pub(crate) fn coded_size(&self) -> Option<(u32, u32)> {
        // SAFETY: reads plain fields of the live parser context.
        unsafe {
            let (w, h) = ((*self.parser).coded_width, (*self.parser).coded_height);
            (w > 0 && h > 0).then_some((w as u32, h as u32))
        }
    }
}

impl Drop for FrameParser {
    fn drop(&mut self) {
        // SAFETY: both pointers were allocated in `new` and are freed exactly once.
        unsafe {
            ffi::av_parser_close(self.parser);
            ffi::avcodec_free_context(&mut self.ctx);
        }
    }
}

/// Pick the video stream to index: FFmpeg's best video stream.
pub(crate) fn best_video_stream(
    ictx: &ffmpeg::format::context::Input,
    path: &Path,
) -> Result<usize> {
    ictx.streams()
        .best(ffmpeg::media::Type::Video)
        .map(|s| s.index())
        .ok_or_else(|| VdxError::NoVideoStream {
            path: path.to_path_buf(),
            streams: media::stream_summary(ictx),
        })
        .map_err(|e| match e {
            VdxError::NoVideoStream { path, streams } if streams == "none" => VdxError::NotVideo {
                path,
                reason: "the container lists no streams at all: its header (e.g. the MP4 moov \
                         atom) is empty or damaged"
                    .into(),
            },
            other => other,
        })
}

/// Build the packet index of the best video stream of `path`.
pub fn build_index(path: &Path, opts: &IndexOptions) -> Result<VideoIndex> {
    build_index_cancellable(path, opts, &AtomicBool::new(false), &mut |_, _| {})
}

/// Build the packet index, reporting progress as (bytes read, file size) and stopping with
/// [`VdxError::Cancelled`] when `cancel` is set.
pub fn build_index_cancellable(
    path: &Path,
    opts: &IndexOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VideoIndex> {
    let mut ictx = media::open_for_demux(path, &opts.budget)?;
    let file_size = std::fs::metadata(path)
        .map_err(|e| VdxError::io(path, e))?
        .len();
    let si = best_video_stream(&ictx, path)?;
    let (
        time_base,
        header,
        codec_name,
        mut parser,
        index_entries,
        video_delay,
        mut vop_order,
        nal_framing,
    ) = {
        let st = ictx
            .stream(si)
            .ok_or_else(|| VdxError::decode(path, "video stream vanished"))?;
        let tb = Ratio::from_av(st.time_base().into());
        // SAFETY: reads plain fields of a stream owned by the open context.
        let (nb_frames, dur_ts, avg, rfr, n_index, video_delay) = unsafe {
            let p = st.as_ptr();
            (
                (*p).nb_frames,
                (*p).duration,
                (*p).avg_frame_rate,
                (*p).r_frame_rate,
                ffi::avformat_index_get_entries_count(p),
                (*(*p).codecpar).video_delay,
            )
        };
        let header = HeaderClaims {
            nb_frames: Some(nb_frames).filter(|n| *n > 0),
            duration_secs: if dur_ts != ffi::AV_NOPTS_VALUE && dur_ts > 0 && tb.den != 0 {
                Some(dur_ts as f64 * tb.num as f64 / tb.den as f64)
            } else {
                // SAFETY: plain field read.
                let d = unsafe { (*ictx.as_ptr()).duration };
                (d != ffi::AV_NOPTS_VALUE && d > 0).then(|| d as f64 / ffi::AV_TIME_BASE as f64)
            },
            avg_frame_rate: Ratio::from_av(avg)
                .is_valid()
                .then(|| Ratio::from_av(avg).as_f64())
                .flatten(),
            r_frame_rate: Ratio::from_av(rfr)
                .is_valid()
                .then(|| Ratio::from_av(rfr).as_f64())
                .flatten(),
        };
        let codec_name = format!("{:?}", st.parameters().id()).to_lowercase();
        let parser = if opts.frame_types {
            FrameParser::new(&st.parameters())
        } else {
            None
        };
        // MPEG-4 Part 2: the order its VOP headers give, in case the container has none.
        let vop_order = (st.parameters().id() == ffmpeg::codec::Id::MPEG4)
            .then(|| crate::video::index::vop_order::VopOrder::new(media::extradata(&st)));
        // H.264: sync flags are checked against the bitstream (see `crate::video::index::h264`).
        let nal_framing = (st.parameters().id() == ffmpeg::codec::Id::H264)
            .then(|| crate::video::index::h264::NalFraming::from_extradata(media::extradata(&st)));
        (
            tb,
            header,
            codec_name,
            parser,
            n_index,
            video_delay,
            vop_order,
            nal_framing,
        )
    };
    if time_base.den <= 0 || time_base.num <= 0 {
        return Err(VdxError::decode(
            path,
            format!("the video stream's time base {time_base} is invalid"),
        ));
    }

    // Read only the chosen stream's packets; others are skipped by the demuxer cheaply.
    media::discard_all_but(&mut ictx, si);

    // What FFmpeg itself found odd while opening the file (an invalid time scale it replaced,
    // a broken header field) is worth showing beside vdx's own findings.
    let mut warnings: Vec<String> = media::take_ffmpeg_warnings()
        .into_iter()
        .map(|w| format!("FFmpeg: {w}"))
        .collect();
    let mut frames: Vec<FrameEntry> = Vec::new();
    let mut discarded = 0usize;
    let mut lead_in_key = false;
    let mut truncated = false;
    let mut missing_pts = 0usize;
    // Packets without a presentation timestamp (AVI gives most only a decode timestamp).
    let mut no_pts = 0usize;
    let mut last_dts: Option<i64> = None;
    // H.264: whether each packet (by decode index) holds a reference picture, and the
    // sync-flagged packets that are recovery points with their recovery_frame_cnt.
    let mut h264_refs: Vec<bool> = Vec::new();
    // Whether each packet (by decode index) came with a presentation timestamp.
    let mut pts_given: Vec<bool> = Vec::new();
    let mut recovery_keys: Vec<(u32, u32)> = Vec::new();
    let mut decode_index: u32 = 0;
    let mut pkt: ffmpeg::Packet;
    let mut n_read: u64 = 0;
    let mut eagain = 0u32;
    loop {
        if n_read % 256 == 0 {
            if cancel.load(Ordering::Relaxed) {
                return Err(VdxError::Cancelled);
            }
            // SAFETY: `pb` may be null for some demuxers; checked.
            let pos = unsafe {
                let pb = (*ictx.as_ptr()).pb;
                if pb.is_null() {
                    0
                } else {
                    ffi::avio_seek(pb, 0, 1 /* SEEK_CUR */).max(0) as u64
                }
            };
            progress(pos.min(file_size), file_size);
        }
        n_read += 1;
        // av_read_frame does not release what the packet held: start each read from an
        // empty packet (dropping the previous one unrefs its buffer).
        pkt = ffmpeg::Packet::empty();
        match pkt.read(&mut ictx) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                eagain += 1;
                if eagain > 10_000 {
                    truncated = true;
                    warnings.push("the demuxer kept asking to retry; stopped scanning".into());
                    break;
                }
                continue;
            }
            Err(ffmpeg::Error::InvalidData) => {
                // A corrupt packet: the demuxer can resync past it; count and go on. Bounded by
                // the file size since each read advances.
                warnings.push(format!(
                    "corrupt data near byte {} skipped by the demuxer",
                    unsafe {
                        let pb = (*ictx.as_ptr()).pb;
                        if pb.is_null() {
                            -1
                        } else {
                            ffi::avio_seek(pb, 0, 1 /* SEEK_CUR */)
                        }
                    }
                ));
                if warnings.len() > 1000 {
                    warnings.push("too many corrupt packets; stopped scanning".into());
                    truncated = true;
                    break;
                }
                continue;
            }
            Err(e) => {
                truncated = true;
                warnings.push(format!(
                    "reading stopped after {} frames: {e}",
                    frames.len()
                ));
                break;
            }
        }
        if pkt.stream() != si {
            continue;
        }
        let size = pkt.size();
        let pos = pkt.position() as i64;
        // A faststart MP4 cut short keeps its full sample table: packets past the end of the
        // data are listed but absent. Stop where the data ends.
        if pos >= 0 && (pos as u64).saturating_add(size as u64) > file_size {
            truncated = true;
            break;
        }
        // SAFETY: plain field read of the packet just returned.
        let flags = unsafe { (*ffmpeg::packet::Ref::as_ptr(&pkt)).flags };
        if flags & ffi::AV_PKT_FLAG_DISCARD != 0 {
            // An edit list's lead-in: not a frame, but the frames after it may need it as a
            // reference. A keyframe among them means decoding from the top reaches them.
            discarded += 1;
            lead_in_key |= frames.is_empty() && pkt.is_key();
            continue;
        }
        if flags & ffi::AV_PKT_FLAG_CORRUPT != 0 {
            // MOV flags a packet cut short by the end of the file as corrupt: the data ends
            // here. Elsewhere it is a damaged packet: keep it, with a warning.
            if pos >= 0 && pos as u64 + size as u64 >= file_size.saturating_sub(1) {
                truncated = true;
                break;
            }
            warnings.push(format!(
                "packet at byte {pos} is flagged corrupt by the demuxer"
            ));
        }
        let dts = pkt.dts();
        no_pts += usize::from(pkt.pts().is_none());
        pts_given.push(pkt.pts().is_some());
        let pts = match pkt.pts().or(dts) {
            Some(p) => p,
            None => {
                missing_pts += 1;
                // No timestamp at all: place it one frame after the previous packet.
                last_dts.map(|d| d + pkt.duration().max(1)).unwrap_or(0)
            }
        };
        if dts.is_some() {
            last_dts = dts;
        } else {
            last_dts = Some(pts);
        }
        let frame_type = match (&mut parser, pkt.data()) {
            (Some(p), Some(data)) => p.parse(data, pkt.pts(), pkt.dts()),
            _ => FrameType::Unknown,
        };
        if let (Some(v), Some(data)) = (&mut vop_order, pkt.data()) {
            v.push(decode_index, data);
        }
        let keyframe = pkt.is_key();
        if let (Some(framing), Some(data)) = (&nal_framing, pkt.data()) {
            let au = crate::video::index::h264::access_unit(data, *framing);
            h264_refs.push(au.reference);
            if let (true, false, Some(n)) = (keyframe, au.idr, au.recovery) {
                if n > 0 {
                    recovery_keys.push((decode_index, n));
                }
            }
        }
        let frame_type = if frame_type == FrameType::Unknown && keyframe {
            FrameType::I
        } else {
            frame_type
        };
        frames.push(FrameEntry {
            pts,
            dts,
            duration: pkt.duration(),
            size_bytes: size.min(u32::MAX as usize) as u32,
            pos,
            keyframe,
            recovery_frames: 0,
            frame_type,
            decode_index,
            decode_status: DecodeStatus::Unchecked,
            skip_safe: true,
        });
        decode_index = decode_index.saturating_add(1);
    }
    progress(file_size, file_size);
    // The demuxer may report a plain end of file where the data stops short of what the
    // container's own sample table lists (a faststart MP4 cut short).
    if !truncated && index_entries > 0 && frames.len() + discarded < index_entries as usize {
        truncated = true;
    }

    if frames.is_empty() {
        return Err(VdxError::NoPackets {
            path: path.to_path_buf(),
            reason: if truncated {
                "the file ends before the first video packet".into()
            } else {
                "the container lists a video stream but it holds no data".into()
            },
        });
    }
    // Where the container's timestamps cannot give the presentation order, the decoder's own
    // output order does (see `decode_order`): a container without presentation timestamps
    // (AVI, raw streams) for a codec that reorders pictures, or timestamps that jump back
    // (a splice, a concatenation, a broadcast discontinuity), which sorting would interleave.
    // Whether the codec reorders comes from the stream parameters alone, so every index of a
    // file agrees whatever its options.
    let reorders = video_delay > 0;
    let displaced = {
        let mut by_pts: Vec<usize> = (0..frames.len()).collect();
        by_pts.sort_by_key(|&k| frames[k].pts);
        by_pts
            .iter()
            .enumerate()
            .any(|(at, &k)| at.abs_diff(k) > MAX_REORDER_DEPTH)
    };
    let order_from_decode = (no_pts > 0 && reorders) || displaced;
    let mut pictureless = 0usize;
    // An AVI's MPEG-4 Part 2 order comes from its VOP headers where they fit the model (the
    // tests hold it to the decode's), else from a decode.
    let from_headers = if order_from_decode && !displaced && !opts.check_decode {
        vop_order
            .take()
            .and_then(|v| v.finish())
            .map(|(out, keeps)| {
                for f in frames.iter_mut() {
                    f.skip_safe = keeps.binary_search(&f.decode_index).is_err();
                }
                out
            })
    } else {
        None
    };
    if order_from_decode && from_headers.is_none() {
        for f in frames.iter_mut() {
            f.skip_safe = false;
        }
    }
    let decoded = if from_headers.is_some() {
        from_headers
    } else if order_from_decode || opts.check_decode {
        let packets = frames.len();
        Some(crate::video::index::decode_order::decode_output_order(
            path,
            &opts.budget,
            si,
            packets,
            cancel,
        )?)
    } else {
        None
    };
    if let (Some(out), false) = (&decoded, order_from_decode) {
        // The order stands; the decode says which frames came out and how.
        for f in frames.iter_mut() {
            f.decode_status = DecodeStatus::Undecodable;
        }
        for p in out {
            if let Some(f) = frames.get_mut(p.decode_index as usize) {
                f.decode_status = if p.corrupt {
                    DecodeStatus::Concealed
                } else {
                    DecodeStatus::Ok
                };
            }
        }
        let bad = frames
            .iter()
            .filter(|f| f.decode_status != DecodeStatus::Ok)
            .count();
        if bad > 0 {
            warnings.push(format!(
                "{bad} frames are damaged: the decoder concealed errors in them or put out no \
                 picture (see each frame's decode_status)"
            ));
        }
    }
    if let (Some(out), true) = (&decoded, order_from_decode) {
        let packets = frames.len();
        let (slots, jumps) = continuous_times(&frames);
        frames = order_frames_as_decoded(frames, &slots, out, &pts_given);
        pictureless = packets - frames.len();
        if frames.is_empty() {
            return Err(VdxError::NoPackets {
                path: path.to_path_buf(),
                reason: "the decoder put out no picture for any of its packets".into(),
            });
        }
        if pictureless > 0 {
            warnings.push(format!(
                "{pictureless} packets put out no picture of their own (not-coded or \
                 undecodable) and are not frames"
            ));
        }
        if jumps > 0 {
            warnings.push(format!(
                "timestamps jump back {jumps} time(s) (a splice or discontinuity): frames \
                 keep the order the decoder shows them in, and times are made continuous"
            ));
        }
    } else if missing_pts > 0 {
        warnings.push(format!(
            "{missing_pts} packets had no timestamps; their times were inferred"
        ));
    }

    // Presentation order; a stable sort keeps decode order for duplicate pts.
    frames.sort_by_key(|f| f.pts);
    let dup = frames.windows(2).filter(|w| w[0].pts == w[1].pts).count();
    if dup > 0 {
        warnings.push(format!("{dup} frames share a pts with another frame"));
    }
    let keyframes: Vec<usize> = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f.keyframe)
        .map(|(i, _)| i)
        .collect();
    if !recovery_keys.is_empty() {
        set_recovery(&mut frames, &h264_refs, &recovery_keys);
        warnings.push(format!(
            "{} keyframes are recovery points, not clean starts (periodic intra refresh): \
             frames before a recovery point's first clean picture decode from an earlier \
             keyframe",
            recovery_keys.len()
        ));
    }
    if keyframes.is_empty() {
        warnings.push("no keyframe in the stream: frames cannot be decoded exactly".into());
    } else if keyframes[0] != 0 && !lead_in_key {
        warnings.push(format!(
            "the first {} frames precede the first keyframe and may not decode",
            keyframes[0]
        ));
    }

    let mut index = VideoIndex {
        path: path.to_path_buf(),
        stream_index: si,
        codec_name,
        time_base,
        frames,
        keyframes,
        header,
        truncated,
        discarded_packets: discarded,
        order_from_decode,
        pictureless_packets: pictureless,
        warnings,
    };
    if truncated {
        let expected = index
            .header
            .nb_frames
            .map(|n| n.to_string())
            .or_else(|| (index_entries > 0).then(|| index_entries.to_string()))
            .unwrap_or_else(|| "?".into());
        index.warnings.insert(
            0,
            format!(
                "file is truncated: the data ends after {} of {} frames; indexed up to there",
                index.frames.len(),
                expected
            ),
        );
    }
    check_header(&mut index);
    Ok(index)
}

/// Set each recovery-point keyframe's `recovery_frames`: the distance, in decode order, to
/// the first picture a decode starting there gives clean. That is the reference picture
/// `recovery_frame_cnt` reference pictures after it (H.264 counts `frame_num`, which only
/// reference pictures advance). A recovery that the stream ends before reaching gets
/// `u32::MAX`: never a start. `frames` may be in any order.
fn set_recovery(frames: &mut [FrameEntry], refs: &[bool], keys: &[(u32, u32)]) {
    let mut by_dec = vec![usize::MAX; refs.len()];
    for (i, f) in frames.iter().enumerate() {
        if let Some(slot) = by_dec.get_mut(f.decode_index as usize) {
            *slot = i;
        }
    }
    for &(key_dec, count) in keys {
        let Some(&key) = by_dec.get(key_dec as usize).filter(|&&k| k != usize::MAX) else {
            continue;
        };
        let mut left = count;
        let clean = refs
            .iter()
            .enumerate()
            .skip(key_dec as usize + 1)
            .filter(|(_, &r)| r)
            .find(|_| {
                left -= 1;
                left == 0
            })
            .map(|(d, _)| d as u32 - key_dec);
        frames[key].recovery_frames = clean.unwrap_or(u32::MAX);
    }
}

/// Put `frames` (in decode order, one per packet) in the order the decoder put their
/// pictures out, keeping only packets that put one out. Each frame's pts becomes the
/// presentation slot: the packets' own timestamps (AVI's decode timestamps count display
/// slots) handed out in ascending order, so times stay monotonic and gaps (a dropped chunk)
/// are kept. Keyframes are the pictures the decoder itself marked as such: an AVI index
/// also flags not-coded VOPs as keyframes, and no decode can start from those.
fn order_frames_as_decoded(
    frames: Vec<FrameEntry>,
    slots: &[i64],
    out: &[crate::video::index::decode_order::OutputPicture],
    pts_given: &[bool],
) -> Vec<FrameEntry> {
    let mut seen = vec![false; frames.len()];
    let mut ordered = Vec::with_capacity(out.len());
    for p in out {
        let d = p.decode_index as usize;
        if d >= frames.len() || std::mem::replace(&mut seen[d], true) {
            continue;
        }
        let mut f = frames[d];
        f.keyframe = f.keyframe && p.key;
        f.decode_status = if p.corrupt {
            DecodeStatus::Concealed
        } else {
            DecodeStatus::Ok
        };
        if p.pict_type != FrameType::Unknown {
            f.frame_type = p.pict_type;
        }
        ordered.push(f);
    }
    let mut slots: Vec<i64> = ordered
        .iter()
        .map(|f| slots[f.decode_index as usize])
        .collect();
    slots.sort_unstable();
    // Slots count decode times. Where the container gives most pictures a presentation
    // timestamp too (an MPEG program stream: the parser gives one only to the frame that
    // starts a PES packet), presentation runs a constant reorder delay behind decode: the
    // k-th picture shown has the k-th decode time plus that delay. The delay is what the
    // pictures with a timestamp of their own agree on; without such agreement (AVI has no
    // presentation timestamps at all, a splice breaks the constant) the slots stand.
    let mut delays: Vec<i64> = ordered
        .iter()
        .zip(&slots)
        .filter(|(f, _)| pts_given.get(f.decode_index as usize) == Some(&true))
        .map(|(f, &t)| f.pts - t)
        .collect();
    delays.sort_unstable();
    let delay = delays.get(delays.len() / 2).copied().filter(|&d| {
        let agree = delays.iter().filter(|&&x| x == d).count();
        d != 0 && agree * 10 >= delays.len() * 9
    });
    for (f, t) in ordered.iter_mut().zip(slots) {
        f.pts = t + delay.unwrap_or(0);
    }
    ordered
}

/// Deepest picture reordering a codec does (H.264 and H.265 allow 16): a frame whose pts puts
/// it further than this from its decode position is not reordered but spliced.
const MAX_REORDER_DEPTH: usize = 16;

/// Display slots of packets in decode order (their dts, else pts), made continuous: where a
/// time jumps back (a splice), what follows is shifted to go on one step after what came
/// before. Returns the slots and the number of jumps.
fn continuous_times(frames: &[FrameEntry]) -> (Vec<i64>, usize) {
    let mut steps: Vec<i64> = frames
        .windows(2)
        .map(|w| w[1].dts.unwrap_or(w[1].pts) - w[0].dts.unwrap_or(w[0].pts))
        .filter(|&d| d > 0)
        .collect();
    steps.sort_unstable();
    let typical = steps.get(steps.len() / 2).copied().unwrap_or(1);
    let mut out: Vec<i64> = Vec::with_capacity(frames.len());
    let mut offset = 0i64;
    let mut jumps = 0usize;
    for (k, f) in frames.iter().enumerate() {
        let mut t = f.dts.unwrap_or(f.pts).saturating_add(offset);
        if let Some(&prev) = out.last() {
            if t < prev {
                let step = if frames[k - 1].duration > 0 {
                    frames[k - 1].duration
                } else {
                    typical
                };
                let shift = prev.saturating_add(step).saturating_sub(t);
                offset = offset.saturating_add(shift);
                t = t.saturating_add(shift);
                jumps += 1;
            }
        }
        out.push(t);
    }
    (out, jumps)
}

/// For tests: the output order of an MPEG-4 Part 2 stream as its VOP headers give it (None
/// where the model gives up) and as a decode gives it, as packet numbers.
#[doc(hidden)]
pub fn mpeg4_orders(path: &Path) -> Result<(Option<Vec<u32>>, Vec<u32>)> {
    let mut ictx = media::open_for_demux(path, &ProbeBudget::default())?;
    let si = best_video_stream(&ictx, path)?;
    let mut v = {
        let st = ictx
            .stream(si)
            .ok_or_else(|| VdxError::decode(path, "video stream vanished"))?;
        crate::video::index::vop_order::VopOrder::new(media::extradata(&st))
    };
    media::discard_all_but(&mut ictx, si);
    let mut n: u32 = 0;
    loop {
        let mut pkt = ffmpeg::Packet::empty();
        match pkt.read(&mut ictx) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(_) => continue,
        }
        if pkt.stream() != si {
            continue;
        }
        // SAFETY: plain field read of the packet just returned.
        if unsafe { (*ffmpeg::packet::Ref::as_ptr(&pkt)).flags } & ffi::AV_PKT_FLAG_DISCARD != 0 {
            continue;
        }
        if let Some(d) = pkt.data() {
            v.push(n, d);
        }
        n += 1;
    }
    let ours = v
        .finish()
        .map(|(o, _)| o.iter().map(|p| p.decode_index).collect());
    let decoded = crate::video::index::decode_order::decode_output_order(
        path,
        &ProbeBudget::default(),
        si,
        n as usize,
        &AtomicBool::new(false),
    )?
    .iter()
    .map(|p| p.decode_index)
    .collect();
    Ok((ours, decoded))
}

/// Compare the header's claims to the counted facts and add warnings where they disagree.
fn check_header(index: &mut VideoIndex) {
    let s = index.summary();
    let h = index.header.clone();
    if let Some(n) = h.nb_frames {
        // An edit list's lead-in is in the header's count but holds no frames; so are the
        // not-coded placeholders of an AVI.
        let packets = s.frame_count + index.discarded_packets + index.pictureless_packets;
        if n as usize != s.frame_count && n as usize != packets && !index.truncated {
            index.warnings.push(format!(
                "header says {n} frames, the stream holds {}",
                s.frame_count
            ));
        }
    }
    if let Some(d) = h.duration_secs {
        let frame_secs = if s.mean_fps > 0.0 {
            1.0 / s.mean_fps
        } else {
            0.0
        };
        if !index.truncated && (d - s.duration_secs).abs() > frame_secs.max(0.05) * 1.5 {
            index.warnings.push(format!(
                "header says duration {d:.3} s, the frames span {:.3} s",
                s.duration_secs
            ));
        }
    }
    if let Some(fps) = h.avg_frame_rate {
        if s.mean_fps > 0.0 && (fps - s.mean_fps).abs() / s.mean_fps > 0.02 {
            index.warnings.push(format!(
                "header says {fps:.3} fps on average, the timestamps give {:.3} fps",
                s.mean_fps
            ));
        }
    }
    // A truncated file can lose a frame in the middle of a B-frame group; its gap is not VFR.
    if s.is_vfr && !index.truncated {
        let r = h
            .r_frame_rate
            .map(|r| format!(" (header frame rate {r:.3})"))
            .unwrap_or_default();
        index.warnings.push(format!(
            "variable frame rate: frame intervals vary{r}; vdx uses timestamps, not fps"
        ));
    }
}

/// The index as CSV: one row per frame in presentation order.
pub fn to_csv(index: &VideoIndex) -> String {
    use std::fmt::Write;
    let mut s = String::from(
        "frame,pts,pts_time,dts,duration,size,pos,key,type,decode_index,recovery_frames\n",
    );
    for (i, f) in index.frames.iter().enumerate() {
        let _ = writeln!(
            s,
            "{i},{},{:.6},{},{},{},{},{},{},{},{}",
            f.pts,
            index.pts_to_secs(f.pts),
            f.dts.map(|d| d.to_string()).unwrap_or_default(),
            f.duration,
            f.size_bytes,
            f.pos,
            u8::from(f.keyframe),
            f.frame_type.as_char(),
            f.decode_index,
            f.recovery_frames
        );
    }
    s
}

/// A readable summary of the index, for the CLI.
pub fn format_summary(index: &VideoIndex) -> String {
    use std::fmt::Write;
    let s = index.summary();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (stream #{}, {})",
        index.path.display(),
        index.stream_index,
        index.codec_name
    );
    let _ = writeln!(
        out,
        "  frames     {} ({} keyframes), {:.3} s, {:.3} fps mean{}",
        s.frame_count,
        s.keyframe_count,
        s.duration_secs,
        s.mean_fps,
        if s.is_vfr {
            ", variable frame rate"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "  GOP        min {} max {} mean {:.1} frames; {} bytes of video",
        s.min_gop, s.max_gop, s.mean_gop, s.total_bytes
    );
    let mut counts = [0usize; 4];
    for f in &index.frames {
        counts[match f.frame_type {
            FrameType::I => 0,
            FrameType::P => 1,
            FrameType::B => 2,
            FrameType::Unknown => 3,
        }] += 1;
    }
    let _ = writeln!(
        out,
        "  types      I {}  P {}  B {}  ? {}",
        counts[0], counts[1], counts[2], counts[3]
    );
    let kf: Vec<String> = index
        .keyframes
        .iter()
        .take(20)
        .map(|k| k.to_string())
        .collect();
    let _ = writeln!(
        out,
        "  keyframes  {}{}",
        kf.join(" "),
        if index.keyframes.len() > 20 {
            " ..."
        } else {
            ""
        }
    );
    for w in &index.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    out
}
