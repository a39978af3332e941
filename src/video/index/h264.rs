//! What the packet index needs to know of an H.264 access unit that the container does not
//! say: whether a sync-flagged packet is a true random-access point.
//!
//! An MP4 muxer marks as sync samples the pictures a recovery-point SEI introduces (x264's
//! `--intra-refresh`, low-latency encoders, screen capture, many IP cameras): one IDR, then
//! periodic intra refresh. Decoding cannot start cleanly at such a picture: FFmpeg's H.264
//! decoder puts out nothing until `recovery_frame_cnt` more frames (in decode order) have
//! been decoded, so a frame closer than that to the recovery point needs an earlier start.
//! An IDR picture, or a recovery point with a count of 0, decodes on its own.

/// How a packet's NAL units are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NalFraming {
    /// Start codes (`00 00 01`): MPEG-TS, raw `.h264`, Matroska from some muxers.
    AnnexB,
    /// Big-endian length prefixes of this many bytes (MP4/MOV/Matroska with an `avcC`).
    Length(usize),
}

impl NalFraming {
    /// The framing of a stream's packets, from its extradata: an `avcC` record (first byte 1)
    /// gives the length size; anything else means start codes.
    pub(crate) fn from_extradata(extradata: &[u8]) -> Self {
        if extradata.len() >= 7 && extradata[0] == 1 {
            NalFraming::Length(usize::from(extradata[4] & 3) + 1)
        } else {
            NalFraming::AnnexB
        }
    }
}

/// Visit the NAL units of one access unit in order (header byte first, framing removed)
/// until `visit` returns false.
fn for_each_nal(data: &[u8], framing: NalFraming, mut visit: impl FnMut(&[u8]) -> bool) {
    match framing {
        NalFraming::Length(n) => {
            let mut at = 0usize;
            while at + n <= data.len() {
                let len = data[at..at + n]
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                at += n;
                if len == 0 || at + len > data.len() || !visit(&data[at..at + len]) {
                    return;
                }
                at += len;
            }
        }
        NalFraming::AnnexB => {
            let next_start = |from: usize| -> Option<usize> {
                memchr::memmem::find(&data[from.min(data.len())..], &[0, 0, 1]).map(|i| from + i)
            };
            let mut cur = next_start(0).map(|i| i + 3);
            while let Some(s) = cur {
                let next = next_start(s);
                let mut end = next.unwrap_or(data.len());
                // A four-byte start code's leading zero, and trailing zeros, are not payload.
                while end > s && data[end - 1] == 0 {
                    end -= 1;
                }
                if end > s && !visit(&data[s..end]) {
                    return;
                }
                cur = next.map(|i| i + 3);
            }
        }
    }
}

/// Bytes of a slice's header the index reads: FFmpeg's parsers stop at the picture type
/// (H.264) or the picture order count (HEVC), well inside this.
const SLICE_HEAD: u64 = 128;

/// How many bytes from the start of a length-framed (`n`-byte prefixes) H.264 or HEVC
/// packet of `packet_len` bytes the index must see, given its first bytes `head`: every NAL
/// unit before the first slice (parameter sets and SEI, the recovery point's among them)
/// whole, and the first slice's header. The NAL units' lengths are walked as far as `head`
/// goes: where it ends before the first slice's header, the answer is as far as it can tell
/// (the next length prefix and a slice header), and a longer head may need more. `hevc`
/// chooses the NAL header layout.
pub(crate) fn head_needed(head: &[u8], packet_len: u64, n: usize, hevc: bool) -> u64 {
    let vcl = |b: u8| {
        if hevc {
            (b >> 1) & 0x3F < 32
        } else {
            (1..=5).contains(&(b & 0x1F))
        }
    };
    let have = head.len() as u64;
    let n64 = n as u64;
    let mut at = 0u64;
    loop {
        if at >= packet_len {
            return packet_len;
        }
        if at + n64 + 1 > have {
            // The next length prefix or NAL header is past the head.
            return (at + n64 + SLICE_HEAD).min(packet_len);
        }
        let len = head[at as usize..(at + n64) as usize]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let start = at + n64;
        if len == 0 {
            // Not a NAL unit: nothing further can be told; what is here is all there is.
            return have;
        }
        if vcl(head[start as usize]) {
            return (start + len.min(SLICE_HEAD)).min(packet_len);
        }
        at = start + len;
    }
}

/// The RBSP of a NAL unit's payload: emulation-prevention bytes (`00 00 03`) removed.
fn rbsp(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &b in payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// An unsigned Exp-Golomb code at the start of `bits`, or None if it runs off the end.
fn read_ue(bits: &[u8]) -> Option<u32> {
    let bit = |i: usize| -> Option<u32> { Some(u32::from((bits.get(i / 8)? >> (7 - i % 8)) & 1)) };
    let mut zeros = 0usize;
    while bit(zeros)? == 0 {
        zeros += 1;
        if zeros > 31 {
            return None;
        }
    }
    let mut v: u32 = 0;
    for k in 0..zeros {
        v = (v << 1) | bit(zeros + 1 + k)?;
    }
    Some((1u32 << zeros) - 1 + v)
}

/// `recovery_frame_cnt` of a recovery-point message in an SEI NAL's RBSP, if it holds one.
fn sei_recovery_count(sei: &[u8]) -> Option<u32> {
    let mut at = 0usize;
    // Each message: payload type and size as runs of 0xFF plus a last byte.
    while at < sei.len() && sei[at] != 0x80 {
        let mut read_num = || -> Option<usize> {
            let mut v = 0usize;
            loop {
                let b = *sei.get(at)?;
                at += 1;
                v += usize::from(b);
                if b != 0xFF {
                    return Some(v);
                }
            }
        };
        let ptype = read_num()?;
        let psize = read_num()?;
        let body = sei.get(at..at.checked_add(psize)?)?;
        if ptype == 6 {
            return read_ue(body);
        }
        at += psize;
    }
    None
}

/// What an access unit says about starting a decode at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AccessUnit {
    /// Its picture is an IDR picture: a clean start.
    pub idr: bool,
    /// A recovery-point SEI's `recovery_frame_cnt`: decoding from here gives clean pictures
    /// from the reference picture that many reference pictures later (0: this one).
    pub recovery: Option<u32>,
    /// Its picture is a reference picture (`nal_ref_idc` != 0): it advances `frame_num`.
    pub reference: bool,
}

/// Classify one access unit (a demuxed packet). Reads the NAL units up to the first slice.
pub(crate) fn access_unit(data: &[u8], framing: NalFraming) -> AccessUnit {
    let mut au = AccessUnit::default();
    for_each_nal(data, framing, |nal| match nal[0] & 0x1F {
        t @ 1..=5 => {
            au.idr = t == 5;
            au.reference = nal[0] & 0x60 != 0;
            false
        }
        6 => {
            if au.recovery.is_none() {
                au.recovery = sei_recovery_count(&rbsp(&nal[1..]));
            }
            true
        }
        _ => true,
    });
    au
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length-framed (4-byte) access unit of these NAL units (header byte, payload size).
    fn au(nals: &[(u8, usize)]) -> Vec<u8> {
        let mut v = Vec::new();
        for &(h, len) in nals {
            v.extend_from_slice(&(len as u32 + 1).to_be_bytes());
            v.push(h);
            v.extend(std::iter::repeat_n(0x5A, len));
        }
        v
    }

    #[test]
    fn a_head_must_hold_every_nal_unit_before_the_first_slice_and_its_header() {
        // AUD, a 600-byte SEI, then a 4 kB P slice.
        let data = au(&[(0x09, 1), (0x06, 600), (0x41, 4096)]);
        let len = data.len() as u64;
        let slice_at = 4 + 2 + 4 + 601 + 4;
        // 256 bytes end inside the SEI: its length is known, the slice's is not yet.
        let want = head_needed(&data[..256], len, 4, false);
        assert_eq!(want, (slice_at - 4 + 4 + SLICE_HEAD as usize) as u64);
        // Grown to that, the slice's header is inside: enough.
        let grown = &data[..want as usize];
        assert_eq!(
            head_needed(grown, len, 4, false),
            slice_at as u64 + SLICE_HEAD
        );
        assert!(head_needed(grown, len, 4, false) <= grown.len() as u64);
        // A slice first: its header is all it takes.
        let p = au(&[(0x41, 4096)]);
        assert_eq!(
            head_needed(&p[..256], p.len() as u64, 4, false),
            4 + SLICE_HEAD
        );
        // A short slice: the whole packet, no more.
        let tiny = au(&[(0x01, 10)]);
        assert_eq!(
            head_needed(&tiny, tiny.len() as u64, 4, false),
            tiny.len() as u64
        );
        // No slice at all: the whole packet.
        let sei = au(&[(0x06, 20)]);
        assert_eq!(
            head_needed(&sei, sei.len() as u64, 4, false),
            sei.len() as u64
        );
        // HEVC: a prefix SEI (type 39) before a TRAIL_R slice (type 1); header bytes 2.
        let h = au(&[(39 << 1, 700), (1 << 1, 4096)]);
        let want = head_needed(&h[..256], h.len() as u64, 4, true);
        assert_eq!(want, 4 + 701 + 4 + SLICE_HEAD);
        assert_eq!(
            head_needed(&h[..want as usize], h.len() as u64, 4, true),
            want
        );
        // 0x41 read as HEVC is type 32 (VPS): not a slice.
        let v = au(&[(0x40, 30), (1 << 1, 4096)]);
        assert_eq!(
            head_needed(&v[..256], v.len() as u64, 4, true),
            4 + 31 + 4 + SLICE_HEAD
        );
    }

    #[test]
    fn exp_golomb() {
        // 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3, 0001111 -> 14
        assert_eq!(read_ue(&[0b1000_0000]), Some(0));
        assert_eq!(read_ue(&[0b0100_0000]), Some(1));
        assert_eq!(read_ue(&[0b0110_0000]), Some(2));
        assert_eq!(read_ue(&[0b0010_0000]), Some(3));
        assert_eq!(read_ue(&[0b0001_1110]), Some(14));
        assert_eq!(read_ue(&[0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn recovery_point_in_both_framings() {
        // SEI NAL: header 0x06, payload type 5 (user data, 3 bytes), then type 6, size 1,
        // recovery_frame_cnt = 29 (ue: 000011110 -> padded), then trailing bits.
        let sei = [
            0x06u8,
            5,
            3,
            0xAA,
            0xBB,
            0xCC,
            6,
            2,
            0b0000_1111,
            0b0000_0000,
            0x80,
        ];
        let slice = [0x01u8, 0x9A, 0x00];
        let mut annexb = vec![0, 0, 0, 1];
        annexb.extend_from_slice(&sei);
        annexb.extend_from_slice(&[0, 0, 1]);
        annexb.extend_from_slice(&slice);
        let au = access_unit(&annexb, NalFraming::AnnexB);
        assert_eq!(
            (au.idr, au.recovery, au.reference),
            (false, Some(29), false)
        );
        let mut avcc = Vec::new();
        for n in [&sei[..], &slice[..]] {
            avcc.extend_from_slice(&(n.len() as u32).to_be_bytes());
            avcc.extend_from_slice(n);
        }
        assert_eq!(access_unit(&avcc, NalFraming::Length(4)).recovery, Some(29));
        let idr = access_unit(&[0u8, 0, 0, 2, 0x65, 0x88], NalFraming::Length(4));
        assert!(idr.idr && idr.reference && idr.recovery.is_none());
        let p = access_unit(&[0, 0, 0, 2, 0x41, 0x9A], NalFraming::Length(4));
        assert!(!p.idr && p.reference && p.recovery.is_none());
        let b = access_unit(&[0, 0, 1, 0x01, 0x9A], NalFraming::AnnexB);
        assert!(!b.idr && !b.reference);
    }

    #[test]
    fn emulation_prevention_removed() {
        assert_eq!(rbsp(&[0, 0, 3, 1, 0, 0, 3, 0]), vec![0, 0, 1, 0, 0, 0]);
    }
}
