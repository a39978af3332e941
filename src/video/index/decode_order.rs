//! Presentation order learnt by decoding, for streams whose container does not store it.
//!
//! AVI (and raw elementary streams) carry no presentation timestamps: a demuxer hands out
//! packets in decode order with at most a decode timestamp. For a codec that reorders pictures
//! (MPEG-4 Part 2 with B-frames, as Xvid and DivX write; H.264 with B-frames in AVI), decode
//! order is not presentation order, and only the decoder knows the latter. Files with
//! *packed* B-frames (one AVI chunk holds a P-VOP and a B-VOP, the next chunk a tiny
//! not-coded VOP that stands for the B) and streams with dropped-frame placeholders
//! (not-coded VOPs that put out no picture at all) make any rule short of the decoder's own
//! fragile.
//!
//! So for those streams the index runs the real decoder once over the file, every packet
//! named by its decode position (the packet's pts field carries that number through the
//! decoder's reordering onto its picture, as the frame decoder does), and takes the order in
//! which pictures come out as the presentation order. This is exactly FFmpeg's own sequential
//! decode: a packet whose picture never comes out is not a frame. Where the codec supports
//! it (MPEG-4 Part 2, H.263, MPEG-1/2 do) the pass decodes at reduced resolution (`lowres`),
//! which leaves the bitstream and the output order alone and costs a fraction of a full
//! decode.

use crate::video::error::{Result, VideoError};
use crate::video::media::{self, ProbeBudget};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// One picture the decoder put out during the ordering pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutputPicture {
    /// Decode position of the packet the picture came from.
    pub decode_index: u32,
    /// The decoder marked the picture a keyframe (an intra picture it can start from).
    pub key: bool,
    pub pict_type: crate::video::index::FrameType,
    /// The decoder flagged the picture as damaged (concealed errors).
    pub corrupt: bool,
}

/// Decode stream `stream` of `path` from the start and return its pictures in output order.
///
/// `packets` is the number of (non-discarded) packets the index scan counted; packets are
/// numbered in the same order the scan read them, and reading stops after that many.
pub(crate) fn decode_output_order(
    path: &Path,
    budget: &ProbeBudget,
    stream: usize,
    packets: usize,
    cancel: &AtomicBool,
) -> Result<Vec<OutputPicture>> {
    let mut ictx = media::open_for_demux(path, budget)?;
    let st = ictx
        .stream(stream)
        .ok_or_else(|| VideoError::decode(path, "the video stream is missing"))?;
    let mut cctx = ffmpeg::codec::context::Context::from_parameters(st.parameters())
        .map_err(|e| VideoError::decode(path, format!("cannot set up the decoder: {e}")))?;
    // SAFETY: plain settings on a codec context not yet opened; `codec` is FFmpeg's static
    // descriptor of the decoder for this id (or null).
    unsafe {
        let c = cctx.as_mut_ptr();
        let codec = ffi::avcodec_find_decoder((*c).codec_id);
        if !codec.is_null() {
            // Output order does not depend on the resolution pictures are reconstructed at.
            (*c).lowres = i32::from((*codec).max_lowres);
        }
        (*c).skip_loop_filter = ffi::AVDiscard::AVDISCARD_ALL;
        (*c).thread_count = 0;
        (*c).thread_type = ffi::FF_THREAD_FRAME | ffi::FF_THREAD_SLICE;
        (*c).pkt_timebase = (*st.as_ptr()).time_base;
    }
    let mut decoder = cctx.decoder().video().map_err(|e| {
        VideoError::decode(path, format!("no decoder for this codec in FFmpeg: {e}"))
    })?;
    media::discard_all_but(&mut ictx, stream);

    let mut out = Vec::with_capacity(packets);
    let mut frame = ffmpeg::frame::Video::empty();
    let mut receive = |decoder: &mut ffmpeg::decoder::Video, out: &mut Vec<OutputPicture>| {
        while decoder.receive_frame(&mut frame).is_ok() {
            let Some(d) = frame.pts().and_then(|p| u32::try_from(p).ok()) else {
                continue;
            };
            // SAFETY: plain field read of the frame just received.
            let key = unsafe { (*frame.as_ptr()).key_frame != 0 };
            let corrupt = media::frame_is_damaged(&frame);
            out.push(OutputPicture {
                decode_index: d,
                key,
                pict_type: crate::video::index::FrameType::from_av(frame.kind()),
                corrupt,
            });
        }
    };
    let mut n: usize = 0;
    let mut reads: u64 = 0;
    while n < packets {
        reads += 1;
        if reads % 256 == 0 && cancel.load(Ordering::Relaxed) {
            return Err(VideoError::Cancelled);
        }
        let mut pkt = ffmpeg::Packet::empty();
        match media::read_packet(&mut pkt, &mut ictx)? {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => continue,
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(_) => break,
        }
        if pkt.stream() != stream {
            continue;
        }
        // SAFETY: plain field read of the packet just returned.
        let discard =
            unsafe { (*ffmpeg::packet::Ref::as_ptr(&pkt)).flags } & ffi::AV_PKT_FLAG_DISCARD != 0;
        if discard {
            pkt.set_pts(None);
        } else {
            pkt.set_pts(Some(n as i64));
            n += 1;
        }
        // A packet the decoder rejects simply puts out no picture.
        let _ = decoder.send_packet(&pkt);
        receive(&mut decoder, &mut out);
    }
    let _ = decoder.send_eof();
    receive(&mut decoder, &mut out);
    Ok(out)
}
