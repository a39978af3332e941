//! The packet scan that builds a [`VideoIndex`]: one demux pass over the video stream, picture
//! types from the codec's parser, decode order where the container gives none.

use super::order::{check_header, continuous_times, order_frames_as_decoded, set_recovery};
use super::packets::{scan_packets, stream_setup, Scan, StreamSetup};
use super::*;
use crate::video::error::{Result, VideoError};
use crate::video::media::{self, ProbeBudget};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use std::path::Path;
use std::sync::atomic::AtomicBool;

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
        .ok_or_else(|| VideoError::NoVideoStream {
            path: path.to_path_buf(),
            streams: media::stream_summary(ictx),
        })
        .map_err(|e| match e {
            VideoError::NoVideoStream { path, streams } if streams == "none" => {
                VideoError::NotVideo {
                    path,
                    reason: "the container lists no streams at all: its header (e.g. the MP4 moov \
                         atom) is empty or damaged"
                        .into(),
                }
            }
            other => other,
        })
}

/// Build the packet index of the best video stream of `path`.
pub fn build_index(path: &Path, opts: &IndexOptions) -> Result<VideoIndex> {
    build_index_cancellable(path, opts, &AtomicBool::new(false), &mut |_, _| {})
}

/// Build the packet index, reporting progress as (bytes read, file size) and stopping with
/// [`VideoError::Cancelled`] when `cancel` is set.
pub fn build_index_cancellable(
    path: &Path,
    opts: &IndexOptions,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VideoIndex> {
    let mut ictx = media::open_for_demux(path, &opts.budget)?;
    let file_size = crate::video::media::file_size(path)?;
    let si = best_video_stream(&ictx, path)?;
    let mut setup = stream_setup(&ictx, si, path, opts)?;
    let mut scan = scan_packets(&mut ictx, path, si, &mut setup, file_size, cancel, progress)?;
    let (order_from_decode, pictureless) =
        settle_order(path, opts, si, &mut scan, &mut setup, cancel)?;
    Ok(finish(
        path,
        si,
        setup,
        scan,
        order_from_decode,
        pictureless,
    ))
}

/// Puts the frames in presentation order where the container's timestamps cannot (the
/// decoder's output order, or MPEG-4 Part 2's VOP headers), and marks what a check decode
/// found. Returns (whether the order came from the decode, packets that put out no picture).
fn settle_order(
    path: &Path,
    opts: &IndexOptions,
    si: usize,
    scan: &mut Scan,
    setup: &mut StreamSetup,
    cancel: &AtomicBool,
) -> Result<(bool, usize)> {
    let Scan {
        frames,
        warnings,
        no_pts,
        missing_pts,
        pts_given,
        ..
    } = scan;
    let (no_pts, missing_pts) = (*no_pts, *missing_pts);
    let video_delay = setup.video_delay;
    let vop_order = &mut setup.vop_order;
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
        mark_decoded(frames, out, warnings);
    }
    if let (Some(out), true) = (&decoded, order_from_decode) {
        let packets = frames.len();
        let (slots, jumps) = continuous_times(frames);
        *frames = order_frames_as_decoded(std::mem::take(frames), &slots, out, pts_given);
        pictureless = packets - frames.len();
        if frames.is_empty() {
            return Err(VideoError::NoPackets {
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
    Ok((order_from_decode, pictureless))
}

/// Where the order stands and a check decode ran: which frames came out of it, and how.
fn mark_decoded(
    frames: &mut [FrameEntry],
    out: &[crate::video::index::decode_order::OutputPicture],
    warnings: &mut Vec<String>,
) {
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

/// The index: frames in presentation order, keyframes, recovery points and what is worth a
/// warning.
fn finish(
    path: &Path,
    si: usize,
    setup: StreamSetup,
    scan: Scan,
    order_from_decode: bool,
    pictureless: usize,
) -> VideoIndex {
    let Scan {
        mut frames,
        mut warnings,
        discarded,
        lead_in_key,
        truncated,
        h264_refs,
        recovery_keys,
        ..
    } = scan;
    let index_entries = setup.index_entries;
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
        codec_name: setup.codec_name,
        time_base: setup.time_base,
        frames,
        keyframes,
        header: setup.header,
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
    index
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
            .ok_or_else(|| VideoError::decode(path, "video stream vanished"))?;
        crate::video::index::vop_order::VopOrder::new(media::extradata(&st))
    };
    media::discard_all_but(&mut ictx, si);
    let mut n: u32 = 0;
    loop {
        let mut pkt = ffmpeg::Packet::empty();
        match media::read_packet(&mut pkt, &mut ictx)? {
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
