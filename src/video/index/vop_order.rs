//! Presentation order of an MPEG-4 Part 2 stream (Xvid, DivX) read from its VOP headers, at
//! demux cost, for containers that store none (AVI).
//!
//! This follows what FFmpeg's MPEG-4 decoder does with the packets, header by header, without
//! decoding a macroblock: which VOP a packet call decodes (its own, or the B-VOP a *packed*
//! stream left in the decoder's buffer: DivX and Xvid pack a P-VOP and a B-VOP in one AVI
//! chunk and put a not-coded placeholder VOP in the next), which VOPs put out no picture
//! (not coded; a B-VOP before any reference), and when an anchor (I/P/S) comes out (when the
//! next one is decoded, or at the end; at once in low-delay streams). Every picture is named by
//! the packet whose call put it out, as the frame decoder names them.
//!
//! Anything outside that model (no VOL header, a failed marker bit, a non-rectangular shape,
//! a stream that does not start with an I-VOP, more than two VOPs in a packet) makes
//! [`VopOrder::finish`] give `None`, and the index falls back to decoding the stream
//! (`decode_order`). The tests hold this order equal to the decode's on every AVI of the
//! fixtures and of the real-world corpus.

use crate::video::index::decode_order::OutputPicture;
use crate::video::index::FrameType;

/// FFmpeg's `MAX_NVOP_SIZE`: a packet this small is taken as a placeholder.
const MAX_NVOP_SIZE: usize = 19;

/// A VOP header's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Vop {
    /// 0 I, 1 P, 2 B, 3 S.
    coding_type: u8,
    coded: bool,
}

/// Reads bits MSB first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, pos: 0 }
    }
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(b as u32)
    }
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }
    fn marker(&mut self) -> Option<()> {
        (self.bit()? == 1).then_some(())
    }
}

/// Start codes (`00 00 01 xx`) in `d`: (offset of the code byte xx, xx).
fn start_codes(d: &[u8]) -> impl Iterator<Item = (usize, u8)> + '_ {
    super::start_codes(d).filter_map(|at| d.get(at).map(|&code| (at, code)))
}

/// The state FFmpeg's decoder keeps between packets, as far as the output order needs it.
#[derive(Debug, Default)]
pub(crate) struct VopOrder {
    time_increment_bits: Option<u32>,
    low_delay: bool,
    vol_control: bool,
    divx_packed: bool,
    /// The VOP left in the decoder's buffer by a packed chunk.
    buffered: Option<Vop>,
    /// The newest decoded anchor (FFmpeg's next picture): (packet, coding type).
    next_anchor: Option<(u32, u8)>,
    /// A reference exists for B-VOPs (FFmpeg's last picture).
    have_last: bool,
    out: Vec<OutputPicture>,
    /// Packets whose call keeps a VOP in the decoder's buffer for the next call: skipping
    /// their decode (a non-reference B-VOP) would also drop that VOP.
    keeps: Vec<u32>,
    /// Set when the stream leaves the model.
    failed: bool,
}

impl VopOrder {
    /// A model fed the stream's extradata (VOL and user data, where the container keeps them).
    pub(crate) fn new(extradata: &[u8]) -> Self {
        let mut s = VopOrder::default();
        s.headers(extradata, usize::MAX);
        s
    }

    /// Apply the VOL and user data headers in `d` that start before `end`.
    fn headers(&mut self, d: &[u8], end: usize) {
        for (at, code) in start_codes(d) {
            if at >= end {
                break;
            }
            match code {
                0x20..=0x2F if self.vol(&d[at + 1..]).is_none() => self.failed = true,
                0xB2 => self.user_data(&d[at + 1..]),
                _ => {}
            }
        }
    }

    /// A VOL header: low delay and the width of vop_time_increment.
    fn vol(&mut self, d: &[u8]) -> Option<()> {
        let mut b = Bits::new(d);
        b.bits(1)?; // random_accessible_vol
        let vo_type = b.bits(8)?;
        let ver_id = if b.bit()? == 1 {
            let v = b.bits(4)?;
            b.bits(3)?;
            v
        } else {
            1
        };
        if b.bits(4)? == 15 {
            b.bits(16)?; // extended pixel aspect ratio
        }
        self.vol_control = b.bit()? == 1;
        if self.vol_control {
            b.bits(2)?; // chroma format
            self.low_delay = b.bit()? == 1;
            if b.bit()? == 1 {
                // vbv parameters
                for n in [15, 15, 15] {
                    b.bits(n)?;
                    b.marker()?;
                }
                b.bits(3)?;
                b.bits(11)?;
                b.marker()?;
                b.bits(15)?;
                b.marker()?;
            }
        } else if self.next_anchor.is_none() && self.out.is_empty() {
            // FFmpeg: Simple and Advanced Simple profiles start low-delay until a B-VOP.
            self.low_delay = matches!(vo_type, 1 | 17);
        }
        let shape = b.bits(2)?;
        if shape == 3 && ver_id != 1 {
            b.bits(4)?;
        }
        if shape != 0 {
            return None; // not rectangular
        }
        b.marker()?;
        let res = b.bits(16)?;
        let bits = if res > 1 {
            32 - (res - 1).leading_zeros()
        } else {
            1
        };
        self.time_increment_bits = Some(bits.max(1));
        Some(())
    }

    /// User data: DivX marks packed B-frames with a trailing 'p' ("DivX503b1393p").
    fn user_data(&mut self, d: &[u8]) {
        let end = d[..d.len().min(256)]
            .windows(3)
            .position(|w| w == [0, 0, 1])
            .unwrap_or(d.len())
            .min(256);
        let text = String::from_utf8_lossy(&d[..end]);
        let Some(rest) = text.strip_prefix("DivX") else {
            return;
        };
        let ver: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let rest = &rest[ver.len()..];
        let rest = rest
            .strip_prefix("Build")
            .or_else(|| rest.strip_prefix('b'));
        if let (false, Some(rest)) = (ver.is_empty(), rest) {
            let build: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !build.is_empty() {
                self.divx_packed = rest[build.len()..].starts_with('p');
            }
        }
    }

    /// A VOP header that starts right after its start code.
    fn vop(&self, d: &[u8]) -> Option<Vop> {
        let tib = self.time_increment_bits?;
        let mut b = Bits::new(d);
        let coding_type = b.bits(2)? as u8;
        while b.bit()? == 1 {} // modulo_time_base
        b.marker()?;
        b.bits(tib)?;
        b.marker()?;
        let coded = b.bit()? == 1;
        Some(Vop { coding_type, coded })
    }

    /// Feed packet `k` (decode order) with its data.
    pub(crate) fn push(&mut self, k: u32, d: &[u8]) {
        if self.failed {
            return;
        }
        let vops: Vec<usize> = start_codes(d)
            .filter(|&(_, c)| c == 0xB6)
            .map(|(at, _)| at)
            .collect();
        if vops.len() > 2 {
            self.failed = true;
            return;
        }
        // FFmpeg drops the buffer when a packed stream's packet starts with a VOS header.
        if self.divx_packed
            && self.buffered.is_some()
            && start_codes(d).next().map(|c| c.1) == Some(0xB0)
        {
            self.buffered = None;
        }
        let use_buffer = self.buffered.is_some() && (self.divx_packed || d.len() <= MAX_NVOP_SIZE);
        let vop = if use_buffer {
            self.buffered.take()
        } else {
            // Headers before the VOP (a VOL repeated at a keyframe) apply first.
            self.headers(d, vops.first().copied().unwrap_or(usize::MAX));
            match vops.first() {
                Some(&at) => match self.vop(&d[at + 1..]) {
                    Some(v) => Some(v),
                    None => {
                        self.failed = true;
                        return;
                    }
                },
                None => None,
            }
        };
        self.buffered = None;
        let Some(vop) = vop else {
            return; // no picture in this call
        };
        if vop.coding_type == 2 && self.low_delay && !self.vol_control {
            self.low_delay = false; // FFmpeg: "low_delay flag set incorrectly, clearing it"
        }
        if !vop.coded {
            return; // not coded: skipped
        }
        let is_b = vop.coding_type == 2;
        if is_b && !self.have_last {
            return; // a B-VOP without references is skipped
        }
        if !is_b && self.next_anchor.is_none() && vop.coding_type != 0 {
            self.failed = true; // the stream starts with a P-VOP: FFmpeg invents a reference
            return;
        }
        // The decode: an anchor moves the previous one to "last".
        let previous = if is_b {
            None
        } else {
            let p = self.next_anchor.replace((k, vop.coding_type));
            self.have_last = p.is_some();
            p
        };
        // Packed streams keep what follows the decoded VOP in the packet (from its start when
        // the VOP came from the buffer) if it is an I- or B-VOP and more than 7 bytes.
        if self.divx_packed {
            let from = if use_buffer {
                Some(0)
            } else {
                vops.get(1).copied().map(|at| at - 3)
            };
            if let Some(from) = from {
                if d.len() - from > 7 {
                    if let Some(&(at, _)) = start_codes(&d[from..])
                        .filter(|&(_, c)| c == 0xB6)
                        .collect::<Vec<_>>()
                        .first()
                    {
                        let at = from + at;
                        let kind = d.get(at + 1).map(|b| b >> 6);
                        if matches!(kind, Some(0) | Some(2)) {
                            match self.vop(&d[at + 1..]) {
                                Some(v) => {
                                    self.buffered = Some(v);
                                    self.keeps.push(k);
                                }
                                None => {
                                    self.failed = true;
                                    return;
                                }
                            }
                        }
                    }
                }
            }
        }
        // The output of this call.
        if is_b || self.low_delay {
            self.emit(k, vop.coding_type);
        } else if let Some((p, t)) = previous {
            self.emit(p, t);
        }
    }

    fn emit(&mut self, k: u32, coding_type: u8) {
        self.out.push(OutputPicture {
            decode_index: k,
            key: coding_type == 0,
            pict_type: match coding_type {
                0 => FrameType::I,
                2 => FrameType::B,
                _ => FrameType::P,
            },
            corrupt: false,
        });
    }

    /// The pictures in output order, after the end of the stream flushed the last anchor, and
    /// the packets that must not be skipped (see `keeps`); None when the stream left the model.
    pub(crate) fn finish(mut self) -> Option<(Vec<OutputPicture>, Vec<u32>)> {
        if self.failed || self.time_increment_bits.is_none() {
            return None;
        }
        if !self.low_delay {
            if let Some((p, t)) = self.next_anchor.take() {
                self.emit(p, t);
            }
        }
        Some((self.out, self.keeps))
    }
}
