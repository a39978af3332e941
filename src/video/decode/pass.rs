//! The decode pass: seek to the keyframe a target needs (or decode on), feed packets each
//! named by its index entry, receive pictures and match them to the index by that name,
//! drain, and give up on a target with a reason.

use super::{RgbFrame, VideoDecoder};
use crate::video::error::{Result, VideoError};
use crate::video::index::{FrameEntry, VideoIndex};
use crate::video::media;
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Whether a target whose keyframe has decode index `key_dec` is reached by decoding on from
/// packet `next` (the keyframe is behind, or at most 8 packets ahead) rather than by a seek.
fn reached_by_decoding_on(key_dec: u32, next: u32) -> bool {
    key_dec <= next || key_dec - next <= 8
}

/// A decode pass gives up on a target after this many packets past it in decode order
/// without the decoder returning it (codec delay is far smaller than this).
const MAX_REORDER_PACKETS: u32 = 64;

/// What reading on gave.
enum NextPacket {
    Packet(ffmpeg::Packet),
    Again,
    End,
}

/// How feeding packets toward one target ended.
enum FeedEnd {
    /// `t` was delivered, or the pass went far past it.
    Fed,
    /// The data ended.
    Eof,
    /// Every target of the run was fed and the decoder drained at once.
    DrainedEarly,
    /// The sink asked to stop.
    SinkStopped,
}

/// One call's targets in decode order, to find the next packet still to be fed.
struct Targets<'a> {
    index: &'a VideoIndex,
    by_dec: Vec<(u32, usize)>,
    last: bool,
}

impl<'a> Targets<'a> {
    /// Sorts the targets the index knows by decode index.
    fn new(index: &'a VideoIndex, targets: &[usize], last: bool) -> Self {
        let mut by_dec: Vec<(u32, usize)> = targets
            .iter()
            .filter_map(|&i| index.frames.get(i).map(|f| (f.decode_index, i)))
            .collect();
        by_dec.sort_unstable();
        Targets {
            index,
            by_dec,
            last,
        }
    }

    /// After feeding packet `fed`: is the next target reached by decoding on?
    fn more_in_run(&self, fed: u32) -> Option<bool> {
        let nd = fed + 1;
        let j = self.by_dec.partition_point(|&(d, _)| d < nd);
        let &(_, next) = self.by_dec.get(j)?;
        let kd = self
            .index
            .keyframe_before(next)
            .map_or(0, |k| self.index.frames[k].decode_index);
        Some(reached_by_decoding_on(kd, nd))
    }
}

impl VideoDecoder {
    /// The index entry of a packet just read, found by byte position where the index's
    /// positions are unique (true of MP4, MOV, Matroska and WebM; it keeps two packets apart
    /// when their pts are equal), else by pts.
    ///
    /// The packet's pts is then replaced by the entry's number before it is sent: the decoder
    /// carries it through reordering onto the picture, so every picture is named by the
    /// packet it came from, never by a timestamp that may be duplicated, missing or wrong.
    pub(super) fn packet_frame(
        &mut self,
        index: &VideoIndex,
        pkt: &mut ffmpeg::Packet,
    ) -> Option<usize> {
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
            let by_dts = || {
                let dmap = self.dts_map.get_or_insert_with(|| {
                    let mut m = std::collections::HashMap::with_capacity(index.frames.len());
                    for (i, f) in index.frames.iter().enumerate() {
                        if m.insert(f.dts?, i).is_some() {
                            return None;
                        }
                    }
                    Some(m)
                });
                dmap.as_ref()
                    .zip(pkt.dts())
                    .and_then(|(m, d)| m.get(&d).copied())
            };
            by_pos.or_else(by_dts).or_else(|| {
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

    /// The core loop: serve sorted, unique targets, calling `sink(i, frame)` as each arrives
    /// (arrival is in presentation order within a pass). `sink` returns false to stop.
    ///
    /// Once every target of the current run has been fed and the next target needs a seek
    /// (or there is none and `last` is set), the decoder is drained at once: the pictures
    /// its reordering delay holds come out without decoding the packets that follow.
    pub(super) fn decode_sorted(
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
        let run = Targets::new(&index, targets, last);
        // Targets still to deliver, keyed by frame index.
        let mut pending: BTreeSet<usize> = targets.iter().copied().collect();
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
            if !self.continues_to(key_dec, t_dec, fed_floor) {
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
            match self.feed_toward(&run, t, early_drain, &mut pending, sink)? {
                FeedEnd::SinkStopped => return Ok(()),
                FeedEnd::DrainedEarly if pending.contains(&t) => {
                    // The drain did not give `t`: H.264 drops pictures not yet marked
                    // recovered when it is flushed after starting at a recovery point (open
                    // GOP). Decode this target again the ordinary way, and keep to it for
                    // this request.
                    early_drain = false;
                    continue;
                }
                FeedEnd::Eof => {
                    self.fail_rest_at_end(&index, &mut pending, sink)?;
                    return Ok(());
                }
                FeedEnd::DrainedEarly | FeedEnd::Fed => {}
            }
            if pending.contains(&t) && !self.give_up_on(&index, t, &mut pending, sink)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Whether target `t` (decode index `t_dec`, keyframe `key_dec`) is reached by going on
    /// from where the decoder is rather than by a seek.
    fn continues_to(&self, key_dec: u32, t_dec: u32, fed_floor: u32) -> bool {
        // Keep decoding forward when the decoder is continuous and the keyframe is not far
        // ahead; else seek.
        // `t` may already be inside the decoder (fed during this call, not yet output:
        // B-frame reordering and frame threads delay output), which also means continuing.
        match self.next_decode {
            Some(nd) if self.run_start <= key_dec => {
                if t_dec < nd {
                    t_dec >= fed_floor
                } else {
                    reached_by_decoding_on(key_dec, nd)
                }
            }
            _ => false,
        }
    }

    /// Feeds packets until target `t` is delivered, the data ends, the run's targets are all
    /// fed and drained early, or the pass has gone far past `t`.
    fn feed_toward(
        &mut self,
        run: &Targets,
        t: usize,
        early_drain: bool,
        pending: &mut BTreeSet<usize>,
        sink: &mut dyn FnMut(usize, Result<RgbFrame>) -> bool,
    ) -> Result<FeedEnd> {
        let index = run.index;
        let frames = &index.frames;
        let t_dec = frames[t].decode_index;
        loop {
            if !pending.contains(&t) {
                return Ok(FeedEnd::Fed);
            }
            let nd = self.next_decode.unwrap_or(0);
            if nd > t_dec + MAX_REORDER_PACKETS {
                return Ok(FeedEnd::Fed);
            }
            let mut pkt = match self.next_packet()? {
                NextPacket::Packet(p) => p,
                NextPacket::Again => continue,
                NextPacket::End => return Ok(FeedEnd::Eof),
            };
            let pkt_frame = self.packet_frame(index, &mut pkt);
            if let Some(fi) = pkt_frame {
                self.next_decode = Some(frames[fi].decode_index + 1);
            }
            let needed = pkt_frame.map(|fi| pending.contains(&fi)).unwrap_or(true);
            self.feed(&pkt, pkt_frame.map(|fi| &frames[fi]), needed);
            if !self.receive_all(index, pending, sink)? {
                return Ok(FeedEnd::SinkStopped);
            }
            // (`t` itself must be in: a seek may land on an earlier keyframe, and then
            // the run goes on through it.)
            if let Some(fi) =
                pkt_frame.filter(|&fi| early_drain && frames[fi].decode_index >= t_dec)
            {
                let stop = match run.more_in_run(frames[fi].decode_index) {
                    Some(more) => !more,
                    None => run.last,
                };
                if stop {
                    self.drain(index, pending, sink)?;
                    return Ok(FeedEnd::DrainedEarly);
                }
            }
        }
    }

    /// End of data: drains what the decoder holds, then fails every target still pending.
    fn fail_rest_at_end(
        &mut self,
        index: &VideoIndex,
        pending: &mut BTreeSet<usize>,
        sink: &mut dyn FnMut(usize, Result<RgbFrame>) -> bool,
    ) -> Result<()> {
        self.drain(index, pending, sink)?;
        let reason = if index.truncated {
            "the file's data ends before this frame".to_string()
        } else {
            self.last_error
                .clone()
                .unwrap_or_else(|| "the stream ended before this frame".into())
        };
        for i in std::mem::take(pending) {
            if !sink(i, Err(VideoError::decode(&self.path, reason.clone()))) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Went far past `t` without getting it: drains and gives up on it. False if the sink
    /// asked to stop.
    fn give_up_on(
        &mut self,
        index: &VideoIndex,
        t: usize,
        pending: &mut BTreeSet<usize>,
        sink: &mut dyn FnMut(usize, Result<RgbFrame>) -> bool,
    ) -> Result<bool> {
        self.drain(index, pending, sink)?;
        if pending.remove(&t) {
            let reason = self
                .last_error
                .clone()
                .unwrap_or_else(|| "the decoder produced no picture for it".into());
            if !sink(t, Err(VideoError::decode(&self.path, reason))) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The next packet of the video stream: Again for another stream's packet or a damaged
    /// one the demuxer skips, End at the end of the data or where reading failed (the
    /// failure kept in `last_error`).
    fn next_packet(&mut self) -> Result<NextPacket> {
        let mut pkt = ffmpeg::Packet::empty();
        self.at_start = false;
        match media::read_packet(&mut pkt, &mut self.ictx)? {
            Ok(()) if pkt.stream() == self.stream_index => Ok(NextPacket::Packet(pkt)),
            Ok(()) => Ok(NextPacket::Again),
            Err(ffmpeg::Error::Eof) => Ok(NextPacket::End),
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                Ok(NextPacket::Again)
            }
            Err(ffmpeg::Error::InvalidData) => Ok(NextPacket::Again),
            Err(e) => {
                self.last_error = Some(format!("reading packets failed: {e}"));
                Ok(NextPacket::End)
            }
        }
    }

    /// Sends `pkt` (the packet of `frame`, where the index knows it) to the decoder: decoded
    /// fully where a target `needs` it or skipping is unsafe, else with non-reference
    /// pictures skipped. A refusal is kept in `last_error`.
    fn feed(&mut self, pkt: &ffmpeg::Packet, frame: Option<&FrameEntry>, needed: bool) {
        // In packed MPEG-4 streams a packet's call may keep a B-VOP in the decoder's buffer
        // for the next call: skipping that call (a B no target needs) would drop it too. The
        // index says which packets are safe to skip.
        let may_skip = self.opts.skip_nonref && frame.is_some_and(|f| f.skip_safe);
        self.set_skip(if needed || !may_skip {
            ffi::AVDiscard::AVDISCARD_DEFAULT
        } else {
            ffi::AVDiscard::AVDISCARD_NONREF
        });
        match self.decoder.send_packet(pkt) {
            Ok(()) => {}
            Err(ffmpeg::Error::InvalidData) => {
                self.last_error = Some("the decoder rejected a corrupt packet".into());
            }
            Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {
                // Cannot happen with the receive loop after each packet; keep going.
            }
            Err(e) => self.last_error = Some(format!("decoder error: {e}")),
        }
    }

    /// The decoder flagged the picture it just put out as damaged: errors concealed, or
    /// references missing.
    pub(super) fn picture_is_damaged(&self) -> bool {
        media::frame_is_damaged(&self.frame)
    }

    pub(super) fn set_skip(&mut self, d: ffi::AVDiscard) {
        // SAFETY: `skip_frame` is read by the decoder at each packet; changing it between
        // packets is supported (frame threads copy it per packet).
        unsafe { (*self.decoder.as_mut_ptr()).skip_frame = d }
    }

    /// Receive every picture the decoder has ready; deliver targets. Returns false if the
    /// sink asked to stop.
    pub(super) fn receive_all(
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
                            Err(VideoError::decode(
                                &self.path,
                                "the decoder found damage in this picture and concealed it \
                                 (the accept_concealed option takes such pictures)",
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
    pub(super) fn drain(
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
    pub(super) fn seek_to_keyframe(&mut self, key: usize) -> Result<()> {
        let index = Arc::clone(&self.index);
        let kf = index.frames[key];
        // Seek by the keyframe's pts: demuxers index keyframes by presentation time (MP4 with
        // an edit list shifts its index by the B-frame delay, so seeking by dts lands one GOP
        // early). Landing early is still correct, only slower; landing late falls back below.
        let ts = kf.pts;
        // A seek moves the demuxer even when it fails (Matroska without cues reads ahead).
        self.at_start = false;
        // MPEG-TS has no index: a seek by time is a search by timestamps that lands past the
        // keyframe (and then everything is decoded from the top of the file: 3x slower for 16
        // spread frames of a 240-frame 480p segment). The packet index knows the keyframe's
        // byte position, the start of its PES packet: go there. (Not for program streams:
        // there a PES can start inside the previous frame, and a byte seek misreads it.)
        let by_bytes = kf.pos >= 0 && self.ictx.format().name() == "mpegts";
        // SAFETY: seeking an open context on its own stream index (or by bytes, -1).
        let r = unsafe {
            if by_bytes {
                ffi::av_seek_frame(self.ictx.as_mut_ptr(), -1, kf.pos, ffi::AVSEEK_FLAG_BYTE)
            } else {
                ffi::av_seek_frame(
                    self.ictx.as_mut_ptr(),
                    self.stream_index as i32,
                    ts,
                    ffi::AVSEEK_FLAG_BACKWARD,
                )
            }
        };
        if std::env::var_os("VDX_TRACE_SEEK").is_some() {
            eprintln!(
                "vdx: seek to keyframe {key} ({}): {r}",
                if by_bytes { "by bytes" } else { "by time" }
            );
        }
        if r < 0 {
            self.seek_to_start()?;
            return Ok(());
        }
        // Find the first packet at or before the keyframe that is a keyframe; if the demuxer
        // landed after it, start over from the beginning of the file.
        loop {
            let mut pkt = ffmpeg::Packet::empty();
            self.at_start = false;
            match media::read_packet(&mut pkt, &mut self.ictx)? {
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
                if std::env::var_os("VDX_TRACE_SEEK").is_some() {
                    eprintln!("vdx: seek to keyframe {key} landed past it on frame {fi}");
                }
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

    pub(super) fn seek_to_start(&mut self) -> Result<()> {
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
    pub(super) fn reopen(&mut self) -> Result<()> {
        self.ictx = media::open_for_demux(&self.path, &self.opts.budget)?;
        media::discard_all_but(&mut self.ictx, self.stream_index);
        self.at_start = true;
        Ok(())
    }
}
