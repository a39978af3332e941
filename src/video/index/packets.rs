//! The two first steps of an index: what the video stream's parameters claim, then one demux
//! pass over its packets ([`scan_packets`]), each packet a [`FrameEntry`] in decode order with
//! what its bitstream says (picture type, H.264 reference and recovery points, MPEG-4 Part 2
//! VOP order).

use super::scan::FrameParser;
use super::*;
use crate::video::error::{Result, VideoError};
use crate::video::index::h264::NalFraming;
use crate::video::index::vop_order::VopOrder;
use crate::video::media::{self, Demuxer, Ratio};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the stream's parameters say before any packet is read, and the bitstream readers the
/// scan feeds.
pub(super) struct StreamSetup {
    pub time_base: Ratio,
    pub header: HeaderClaims,
    pub codec_name: String,
    pub parser: Option<FrameParser>,
    /// Entries in the container's own sample table (0 where it has none).
    pub index_entries: i32,
    /// Pictures the codec may hold back before output (0: no reordering).
    pub video_delay: i32,
    /// MPEG-4 Part 2: the order its VOP headers give, in case the container has none.
    pub vop_order: Option<VopOrder>,
    /// H.264: sync flags are checked against the bitstream (see `crate::video::index::h264`).
    pub nal_framing: Option<NalFraming>,
}

/// Reads stream `si`'s parameters and header claims; an invalid time base is an error.
pub(super) fn stream_setup(
    ictx: &Demuxer,
    si: usize,
    path: &Path,
    opts: &IndexOptions,
) -> Result<StreamSetup> {
    let st = ictx
        .stream(si)
        .ok_or_else(|| VideoError::decode(path, "video stream vanished"))?;
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
    if tb.den <= 0 || tb.num <= 0 {
        return Err(VideoError::decode(
            path,
            format!("the video stream's time base {tb} is invalid"),
        ));
    }
    let id = st.parameters().id();
    Ok(StreamSetup {
        time_base: tb,
        header,
        codec_name: format!("{id:?}").to_lowercase(),
        parser: if opts.frame_types {
            FrameParser::new(&st.parameters())
        } else {
            None
        },
        index_entries: n_index,
        video_delay,
        vop_order: (id == ffmpeg::codec::Id::MPEG4).then(|| VopOrder::new(media::extradata(&st))),
        nal_framing: (id == ffmpeg::codec::Id::H264)
            .then(|| NalFraming::from_extradata(media::extradata(&st))),
    })
}

/// The packets of the scan, in decode order, and what was seen on the way.
#[derive(Default)]
pub(super) struct Scan {
    pub frames: Vec<FrameEntry>,
    pub warnings: Vec<String>,
    /// Packets an edit list marks as not shown (a lead-in).
    pub discarded: usize,
    /// A keyframe among the lead-in packets before the first frame.
    pub lead_in_key: bool,
    pub truncated: bool,
    /// Packets with no timestamp at all (times inferred).
    pub missing_pts: usize,
    /// Packets without a presentation timestamp (AVI gives most only a decode timestamp).
    pub no_pts: usize,
    /// Whether each packet (by decode index) came with a presentation timestamp.
    pub pts_given: Vec<bool>,
    /// H.264: whether each packet (by decode index) holds a reference picture.
    pub h264_refs: Vec<bool>,
    /// H.264: the sync-flagged packets that are recovery points, with their
    /// recovery_frame_cnt.
    pub recovery_keys: Vec<(u32, u32)>,
    last_dts: Option<i64>,
}

/// How one read from the demuxer ended.
enum Read {
    Packet,
    /// Not a packet of ours, or a damaged one the demuxer skipped: read on.
    Again,
    /// The end of the data (the file's, or where reading has to stop).
    End,
}

/// The demuxer's byte position (-1 where it has no I/O context).
fn position(ictx: &Demuxer) -> i64 {
    // SAFETY: the context is open; its I/O context is checked for null, and
    // avio_seek(pb, 0, SEEK_CUR) only reports the position.
    unsafe {
        let pb = (*ictx.as_ptr()).pb;
        if pb.is_null() {
            -1
        } else {
            ffi::avio_seek(pb, 0, 1 /* SEEK_CUR */)
        }
    }
}

/// One demux pass over stream `si` (the others discarded), reporting progress as (bytes read,
/// file size) and stopping with [`VideoError::Cancelled`] when `cancel` is set.
pub(super) fn scan_packets(
    ictx: &mut Demuxer,
    path: &Path,
    si: usize,
    setup: &mut StreamSetup,
    file_size: u64,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Scan> {
    // Read only the chosen stream's packets; others are skipped by the demuxer cheaply.
    media::discard_all_but(ictx, si);
    // On object storage: fetch only each packet's first bytes (MP4/MOV).
    ictx.read_packet_heads_only(si)?;
    // What FFmpeg itself found odd while opening the file (an invalid time scale it replaced,
    // a broken header field) is worth showing beside vdx's own findings.
    let mut scan = Scan {
        warnings: media::take_ffmpeg_warnings()
            .into_iter()
            .map(|w| format!("FFmpeg: {w}"))
            .collect(),
        ..Scan::default()
    };
    let mut n_read: u64 = 0;
    let mut eagain = 0u32;
    loop {
        if n_read % 256 == 0 {
            if cancel.load(Ordering::Relaxed) {
                return Err(VideoError::Cancelled);
            }
            progress((position(ictx).max(0) as u64).min(file_size), file_size);
        }
        n_read += 1;
        // av_read_frame does not release what the packet held: start each read from an
        // empty packet (dropping the previous one unrefs its buffer).
        let mut pkt = ffmpeg::Packet::empty();
        match scan.read(ictx, &mut pkt, si, &mut eagain)? {
            Read::Packet => {}
            Read::Again => continue,
            Read::End => break,
        }
        if !scan.push(&pkt, setup, file_size) {
            break;
        }
    }
    progress(file_size, file_size);
    // The demuxer may report a plain end of file where the data stops short of what the
    // container's own sample table lists (a faststart MP4 cut short).
    let listed = setup.index_entries.max(0) as usize;
    if !scan.truncated && listed > 0 && scan.frames.len() + scan.discarded < listed {
        scan.truncated = true;
    }
    if scan.frames.is_empty() {
        return Err(VideoError::NoPackets {
            path: path.to_path_buf(),
            reason: if scan.truncated {
                "the file ends before the first video packet".into()
            } else {
                "the container lists a video stream but it holds no data".into()
            },
        });
    }
    Ok(scan)
}

impl Scan {
    /// Reads the next packet into `pkt`: a read error ends the scan with a warning (a
    /// storage failure is an error), a damaged packet is skipped with one.
    fn read(
        &mut self,
        ictx: &mut Demuxer,
        pkt: &mut ffmpeg::Packet,
        si: usize,
        eagain: &mut u32,
    ) -> Result<Read> {
        match media::read_packet(pkt, ictx)? {
            Ok(()) => Ok(if pkt.stream() == si {
                Read::Packet
            } else {
                Read::Again
            }),
            Err(ffmpeg::Error::Eof) => Ok(Read::End),
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                *eagain += 1;
                if *eagain > 10_000 {
                    self.truncated = true;
                    self.warnings
                        .push("the demuxer kept asking to retry; stopped scanning".into());
                    return Ok(Read::End);
                }
                Ok(Read::Again)
            }
            Err(ffmpeg::Error::InvalidData) => {
                // A corrupt packet: the demuxer can resync past it; count and go on. Bounded by
                // the file size since each read advances.
                self.warnings.push(format!(
                    "corrupt data near byte {} skipped by the demuxer",
                    position(ictx)
                ));
                if self.warnings.len() > 1000 {
                    self.warnings
                        .push("too many corrupt packets; stopped scanning".into());
                    self.truncated = true;
                    return Ok(Read::End);
                }
                Ok(Read::Again)
            }
            Err(e) => {
                self.truncated = true;
                self.warnings.push(format!(
                    "reading stopped after {} frames: {e}",
                    self.frames.len()
                ));
                Ok(Read::End)
            }
        }
    }

    /// Takes packet `pkt` of the video stream as the next frame in decode order (or as an edit
    /// list's lead-in). False where the data ends here.
    fn push(&mut self, pkt: &ffmpeg::Packet, setup: &mut StreamSetup, file_size: u64) -> bool {
        let size = pkt.size();
        let pos = pkt.position() as i64;
        // A faststart MP4 cut short keeps its full sample table: packets past the end of the
        // data are listed but absent. Stop where the data ends.
        if pos >= 0 && (pos as u64).saturating_add(size as u64) > file_size {
            self.truncated = true;
            return false;
        }
        // SAFETY: plain field read of the packet just returned.
        let flags = unsafe { (*ffmpeg::packet::Ref::as_ptr(pkt)).flags };
        if flags & ffi::AV_PKT_FLAG_DISCARD != 0 {
            // An edit list's lead-in: not a frame, but the frames after it may need it as a
            // reference. A keyframe among them means decoding from the top reaches them.
            self.discarded += 1;
            self.lead_in_key |= self.frames.is_empty() && pkt.is_key();
            return true;
        }
        if flags & ffi::AV_PKT_FLAG_CORRUPT != 0 {
            // MOV flags a packet cut short by the end of the file as corrupt: the data ends
            // here. Elsewhere it is a damaged packet: keep it, with a warning.
            if pos >= 0 && pos as u64 + size as u64 >= file_size.saturating_sub(1) {
                self.truncated = true;
                return false;
            }
            self.warnings.push(format!(
                "packet at byte {pos} is flagged corrupt by the demuxer"
            ));
        }
        let decode_index = self.frames.len().min(u32::MAX as usize) as u32;
        let dts = pkt.dts();
        self.no_pts += usize::from(pkt.pts().is_none());
        self.pts_given.push(pkt.pts().is_some());
        let pts = match pkt.pts().or(dts) {
            Some(p) => p,
            None => {
                self.missing_pts += 1;
                // No timestamp at all: place it one frame after the previous packet.
                self.last_dts
                    .map(|d| d + pkt.duration().max(1))
                    .unwrap_or(0)
            }
        };
        self.last_dts = Some(dts.unwrap_or(pts));
        let frame_type = match (&mut setup.parser, pkt.data()) {
            (Some(p), Some(data)) => p.parse(data, pkt.pts(), pkt.dts()),
            _ => FrameType::Unknown,
        };
        if let (Some(v), Some(data)) = (&mut setup.vop_order, pkt.data()) {
            v.push(decode_index, data);
        }
        let keyframe = pkt.is_key();
        if let (Some(framing), Some(data)) = (&setup.nal_framing, pkt.data()) {
            let au = crate::video::index::h264::access_unit(data, *framing);
            self.h264_refs.push(au.reference);
            if let (true, false, Some(n)) = (keyframe, au.idr, au.recovery) {
                if n > 0 {
                    self.recovery_keys.push((decode_index, n));
                }
            }
        }
        let frame_type = if frame_type == FrameType::Unknown && keyframe {
            FrameType::I
        } else {
            frame_type
        };
        self.frames.push(FrameEntry {
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
        true
    }
}
