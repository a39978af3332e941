//! FFmpeg reading from object storage: a custom I/O context whose read and seek callbacks
//! are ranged reads of a [`RemoteFile`], so probing and indexing fetch the header and the
//! packets FFmpeg asks for, and random access only the blocks around the keyframe groups it
//! decodes, never the whole object.
//!
//! A failed read (network, credentials, the object replaced) is kept on the reading thread
//! and taken by [`super::media::read_packet`] and the open, which turn it into the storage
//! error with its URL: FFmpeg alone would report it as a truncated file or the end of the
//! stream.

use crate::storage::{RemoteFile, StorageError};
use bytes::Bytes;
use ffmpeg_next::ffi;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::raw::{c_int, c_void};

/// FFmpeg's I/O buffer: what one read callback asks for at most.
const IO_BUFFER: usize = 64 * 1024;

thread_local! {
    static IO_ERROR: RefCell<Option<StorageError>> = const { RefCell::new(None) };
}

/// The storage error of the last failed read on this thread, if any.
pub(crate) fn take_io_error() -> Option<StorageError> {
    IO_ERROR.try_with(|e| e.borrow_mut().take()).ok().flatten()
}

struct Opaque {
    file: RemoteFile,
    pos: u64,
    sparse: Option<Sparse>,
}

/// While a remote MP4/MOV is indexed: its video packets' byte ranges from the sample table.
/// Of each packet only the first bytes are fetched (where the frame type, the reference flag
/// and a recovery point's SEI are: 1 KiB, 8 KiB for a sync sample, which carries the
/// parameter sets), in a few concurrent requests; the rest of the packet reads as zeros. The
/// index then costs a few percent of the file instead of all of it.
struct Sparse {
    /// (start, end, end of the head) per packet, sorted by start.
    packets: Vec<(u64, u64, u64)>,
    /// Fetched runs of heads: start -> bytes.
    heads: BTreeMap<u64, Bytes>,
}

/// How many bytes from its start a packet's head must hold, given the bytes fetched of it
/// and the packet's length.
pub(crate) type HeadNeeded<'a> = &'a dyn Fn(&[u8], u64) -> u64;

/// Heads closer than this are fetched in one request, up to `MAX_RUN` bytes.
const JOIN_GAP: u64 = 4096;
const MAX_RUN: u64 = 1 << 20;

/// A custom AVIOContext over a remote object. Freed after the format context using it.
pub(crate) struct RemoteIo {
    avio: *mut ffi::AVIOContext,
    opaque: *mut Opaque,
}

// SAFETY: the context and its opaque state are used by one thread at a time: they belong to
// one demuxer, which moves between threads but is never shared.
unsafe impl Send for RemoteIo {}

impl RemoteIo {
    pub(crate) fn new(file: RemoteFile) -> Option<RemoteIo> {
        let opaque = Box::into_raw(Box::new(Opaque {
            file,
            pos: 0,
            sparse: None,
        }));
        // SAFETY: the buffer comes from av_malloc as avio_alloc_context requires; the opaque
        // pointer stays valid until `drop`, after the format context is closed.
        unsafe {
            let buf = ffi::av_malloc(IO_BUFFER) as *mut u8;
            if buf.is_null() {
                drop(Box::from_raw(opaque));
                return None;
            }
            let avio = ffi::avio_alloc_context(
                buf,
                IO_BUFFER as c_int,
                0,
                opaque as *mut c_void,
                Some(read_cb),
                None,
                Some(seek_cb),
            );
            if avio.is_null() {
                ffi::av_free(buf as *mut c_void);
                drop(Box::from_raw(opaque));
                return None;
            }
            Some(RemoteIo { avio, opaque })
        }
    }

    pub(crate) fn as_ptr(&self) -> *mut ffi::AVIOContext {
        self.avio
    }

    /// Reads of the given packets (start, end, head length) fetch only their heads from now
    /// on; the heads are fetched here. `needed(head, packet_len)`, given the bytes fetched of
    /// a video packet's head and the packet's length, says how many bytes from its start the
    /// index must see (see [`crate::video::index::h264::head_needed`]): heads it finds short
    /// are grown, in a few rounds of concurrent requests, until none is.
    pub(crate) fn fetch_heads_only(
        &mut self,
        mut packets: Vec<(u64, u64, u64)>,
        needed: Option<HeadNeeded>,
    ) -> Result<(), StorageError> {
        packets.sort_unstable();
        packets.dedup_by_key(|p| p.0);
        let packets: Vec<(u64, u64, u64)> = packets
            .into_iter()
            .map(|(s, e, h)| (s, e, (s + h).min(e)))
            .collect();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for &(s, _, h) in packets.iter().filter(|p| p.2 > p.0) {
            match runs.last_mut() {
                Some(r) if s <= r.1 + JOIN_GAP && h - r.0 <= MAX_RUN => r.1 = r.1.max(h),
                _ => runs.push((s, h)),
            }
        }
        // SAFETY: `opaque` is valid until drop and used by this thread alone.
        let o = unsafe { &mut *self.opaque };
        let got = o.file.fetch_ranges(&runs)?;
        let mut sparse = Sparse {
            packets,
            heads: runs.iter().map(|r| r.0).zip(got).collect(),
        };
        if let Some(needed) = needed {
            for round in 0..=GROW_ROUNDS {
                let mut grow = sparse.short_heads(needed);
                if grow.is_empty() {
                    break;
                }
                // Still short after the rounds (many NAL units before the first slice): the
                // whole packet, so that the index never reads zeros where it needs bytes.
                if round == GROW_ROUNDS {
                    for g in &mut grow {
                        let (s, e, _) = sparse.packets[g.0];
                        g.1 = e - s;
                    }
                }
                // Only bytes no run holds yet: runs never overlap.
                let mut fetch = Vec::new();
                for &(k, want) in &grow {
                    let (s, _, h) = sparse.packets[k];
                    fetch.extend(sparse.unfetched(h, s + want));
                    sparse.packets[k].2 = s + want;
                }
                let got = o.file.fetch_ranges(&fetch)?;
                for (r, b) in fetch.iter().zip(got) {
                    sparse.heads.insert(r.0, b);
                }
            }
        }
        o.sparse = Some(sparse);
        Ok(())
    }
}

/// Rounds of growing heads found short (a head too short for a NAL unit's length prefix
/// reveals the next length only once fetched); a head still short after them is fetched
/// whole.
const GROW_ROUNDS: usize = 4;
/// A grown head is rounded up to this, so that one more round is rarely needed.
const GROW_STEP: u64 = 512;

impl Sparse {
    /// The bytes of `[s, e)` that no fetched run holds, as [start, end) ranges.
    fn unfetched(&self, s: u64, e: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = s;
        if let Some((&rs, run)) = self.heads.range(..=at).next_back() {
            at = at.max(rs + run.len() as u64);
        }
        for (&rs, run) in self.heads.range(s..e) {
            if rs > at {
                out.push((at, rs.min(e)));
            }
            at = at.max(rs + run.len() as u64);
        }
        if at < e {
            out.push((at, e));
        }
        out
    }

    /// The fetched bytes of `[s, e)`, which every run together holds.
    fn fetched(&self, s: u64, e: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity((e - s) as usize);
        let mut p = s;
        while p < e {
            let Some((&at, run)) = self.heads.range(..=p).next_back() else {
                break;
            };
            let off = (p - at) as usize;
            if off >= run.len() {
                break;
            }
            let n = run.len().min(off + (e - p) as usize) - off;
            out.extend_from_slice(&run[off..off + n]);
            p += n as u64;
        }
        out
    }

    /// Video packets (by position in `packets`) whose fetched head is shorter than `needed`
    /// says, with the head length to grow each to.
    fn short_heads(&self, needed: &dyn Fn(&[u8], u64) -> u64) -> Vec<(usize, u64)> {
        let mut out = Vec::new();
        for (k, &(s, e, h)) in self.packets.iter().enumerate() {
            if h <= s || h >= e {
                continue;
            }
            let want = needed(&self.fetched(s, h), e - s);
            if want > h - s {
                out.push((k, (want.div_ceil(GROW_STEP) * GROW_STEP).min(e - s)));
            }
        }
        out
    }
}

impl Drop for RemoteIo {
    fn drop(&mut self) {
        // SAFETY: FFmpeg may have replaced the buffer, so the context's current one is freed;
        // both were allocated in `new` and are freed once, after the demuxer closed.
        unsafe {
            ffi::av_freep(&mut (*self.avio).buffer as *mut *mut u8 as *mut c_void);
            ffi::avio_context_free(&mut self.avio);
            drop(Box::from_raw(self.opaque));
        }
    }
}

unsafe extern "C" fn read_cb(opaque: *mut c_void, buf: *mut u8, size: c_int) -> c_int {
    // SAFETY: `opaque` is the Opaque given to avio_alloc_context; FFmpeg hands a buffer of
    // `size` bytes.
    let (o, out) = unsafe {
        (
            &mut *(opaque as *mut Opaque),
            std::slice::from_raw_parts_mut(buf, size.max(0) as usize),
        )
    };
    let mut out = out;
    if let Some(sp) = &o.sparse {
        let p = o.pos;
        let k = sp.packets.partition_point(|x| x.0 <= p);
        if k > 0 && p < sp.packets[k - 1].1 {
            let (_, end, head) = sp.packets[k - 1];
            let run = sp
                .heads
                .range(..=p)
                .next_back()
                .filter(|(&at, run)| p < at + run.len() as u64);
            let n = if let (true, Some((&at, run))) = (p < head, run) {
                let off = (p - at) as usize;
                let n = out.len().min((head - p) as usize).min(run.len() - off);
                out[..n].copy_from_slice(&run[off..off + n]);
                n
            } else {
                let n = out.len().min((end - p) as usize);
                out[..n].fill(0);
                n
            };
            o.pos += n as u64;
            return n as c_int;
        }
        // Between packets: read as usual, up to the next packet.
        if let Some(next) = sp.packets.get(k) {
            let n = out.len().min((next.0 - p) as usize);
            out = &mut out[..n];
        }
    }
    match o.file.read_at(o.pos, out) {
        Ok(0) => ffi::AVERROR_EOF,
        Ok(n) => {
            o.pos += n as u64;
            n as c_int
        }
        Err(e) => {
            let _ = IO_ERROR.try_with(|slot| *slot.borrow_mut() = Some(e));
            -libc::EIO
        }
    }
}

unsafe extern "C" fn seek_cb(opaque: *mut c_void, offset: i64, whence: c_int) -> i64 {
    // SAFETY: `opaque` is the Opaque given to avio_alloc_context.
    let o = unsafe { &mut *(opaque as *mut Opaque) };
    let size = o.file.size() as i64;
    let to = match whence & !(ffi::AVSEEK_FORCE as c_int) {
        w if w == ffi::AVSEEK_SIZE as c_int => return size,
        0 => offset,
        1 => o.pos as i64 + offset,
        2 => size + offset,
        _ => return -22, // EINVAL
    };
    if to < 0 {
        return -22;
    }
    o.pos = to as u64;
    to
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: u64, e: u64) -> Bytes {
        (s..e).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
    }

    #[test]
    fn short_heads_grow_by_the_bytes_no_run_holds() {
        // Two packets, heads of 256 bytes fetched apart.
        let mut sp = Sparse {
            packets: vec![(0, 1000, 256), (1000, 3000, 1256)],
            heads: [(0, bytes(0, 256)), (1000, bytes(1000, 1256))].into(),
        };
        assert_eq!(sp.fetched(0, 256), bytes(0, 256).to_vec());
        // The first packet needs 700 bytes: grown to 768 (a 512-byte step), whole bytes only.
        let needed = |head: &[u8], len: u64| if len == 1000 { 700 } else { head.len() as u64 };
        assert_eq!(sp.short_heads(&needed), vec![(0, 1000)]);
        assert_eq!(sp.unfetched(256, 1000), vec![(256, 1000)]);
        sp.heads.insert(256, bytes(256, 1000));
        sp.packets[0].2 = 1000;
        assert_eq!(sp.fetched(0, 1000), bytes(0, 1000).to_vec());
        assert!(sp.short_heads(&needed).is_empty());
        // Heads fetched in one joined run: the bytes between them are there already.
        let joined = Sparse {
            packets: vec![(0, 1000, 256), (1000, 3000, 1256)],
            heads: [(0, bytes(0, 1256))].into(),
        };
        assert!(joined.unfetched(256, 1000).is_empty());
        assert_eq!(joined.unfetched(1200, 1500), vec![(1256, 1500)]);
        // A gap between two runs inside the range.
        let gappy = Sparse {
            packets: vec![],
            heads: [(0, bytes(0, 100)), (200, bytes(200, 300))].into(),
        };
        assert_eq!(gappy.unfetched(50, 400), vec![(100, 200), (300, 400)]);
        assert_eq!(gappy.fetched(0, 300), bytes(0, 100).to_vec());
    }
}
