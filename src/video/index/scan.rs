//! The packet scan that builds a [`VideoIndex`]: one demux pass over the video stream, picture
//! types from the codec's parser, decode order where the container gives none.

use super::order::{check_header, continuous_times, order_frames_as_decoded, set_recovery};
use super::*;
use crate::error::{Result, VdxError};
use crate::video::media::{self, ProbeBudget, Ratio};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

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
    let file_size = crate::storage::size_of(path)?;
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
    // On object storage: fetch only each packet's first bytes (MP4/MOV).
    ictx.read_packet_heads_only(si)?;

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
        match media::read_packet(&mut pkt, &mut ictx)? {
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
                    // SAFETY: the context `ictx` owns is open; its I/O context is checked for
                    // null, and avio_seek(pb, 0, SEEK_CUR) only reports the position.
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
