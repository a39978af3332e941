//! The bytes under a [`super::reader::DatasetFile`]: a local file, memory-mapped, or an
//! object in storage, fetched by ranged reads as the reader needs them.
//!
//! A remote dataset is laid out in a mapping as large as the object (address space only:
//! pages appear as bytes are written into them) of its entry in the cache folder
//! (`VDX_CACHE_DIR`), else of an unlinked temporary file, so that the kernel can write its
//! pages back and drop them (anonymous memory only where no temporary file can be made; it
//! would grow with every sample an epoch reads). Opening fetches the header, the
//! field descriptors, the metadata table and the allocation table; each sample's byte ranges
//! are fetched when it is first read, exactly those bytes (one request per missing run), and
//! kept. Bytes are written once, into ranges no reader has been handed, so a slice handed out
//! never changes.
//!
//! A reader that will read many samples (a Loader's epoch) says so first
//! ([`Backing::plan_reads`]): where those samples make up a small file (at most 64 MiB to
//! fetch, with at most 10% more bytes than theirs, the page tails between them), the first
//! batch fetches them all in 8 MiB parts instead of one request per sample. The store then
//! answers a handful of requests an epoch instead of one per sample, which is most of what a
//! remote epoch costs beyond a local one (each request takes the server about a millisecond
//! of CPU); the bytes fetched are the same.

use crate::dataset::error::{DatasetError, Result};
use crate::storage::{CachedObject, DiskCache, RemoteFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub(crate) enum Backing {
    Mapped(memmap2::Mmap),
    Remote(Box<Remote>),
}

pub(crate) struct Remote {
    /// Written only through `ptr`, in ranges not yet fetched, under `have`'s lock. Anonymous
    /// memory, or the object's entry in the cache folder mapped shared (`VDX_CACHE_DIR`).
    buf: memmap2::MmapMut,
    ptr: *mut u8,
    len: usize,
    file: RemoteFile,
    /// Fetched byte ranges, disjoint and merged: start -> end.
    have: Mutex<BTreeMap<u64, u64>>,
    /// The cache folder's entry `buf` maps, which fetched ranges are recorded in.
    cached: Option<CachedObject>,
    /// Without a cache folder: the unlinked temporary file `buf` maps.
    spill: Option<std::fs::File>,
    /// Reads planned ahead ([`Backing::plan_reads`]): their bytes and the parts to fetch.
    /// Locked while the parts are fetched, so a batch fetching side by side waits for them
    /// instead of fetching its samples a second time.
    plan: Mutex<Option<Plan>>,
}

/// Reads planned ahead: the bytes they fetch and the parts ((start, length)) to fetch.
struct Plan {
    bytes: u64,
    parts: Vec<(u64, u64)>,
}

/// Planned reads: runs less than this apart are joined (a page's tail between samples).
const PLAN_GAP: u64 = 64 << 10;
/// Planned reads are fetched in parts of at most this, side by side.
const PLAN_PART: u64 = 8 << 20;
/// At most this is fetched ahead by a plan.
const PLAN_MAX: u64 = 64 << 20;
/// A plan is fetched with the first batch whose own bytes are at least 1/this of it (a batch
/// of a 1,000-shard manifest's shuffled epoch, one sample of each shard it touches, fetches
/// its samples alone).
const PLAN_BATCH_SHARE: u64 = 8;

// SAFETY: the buffer is written only under `have`'s lock, in ranges no slice covers yet;
// every slice handed out covers fetched ranges only, which are never written again.
unsafe impl Send for Remote {}
// SAFETY: as above.
unsafe impl Sync for Remote {}

/// The parts of `[start, end)` not in `have`.
fn gaps(have: &BTreeMap<u64, u64>, start: u64, end: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = start;
    // The range starting at or before `start` may cover its beginning.
    if let Some((_, &e)) = have.range(..=start).next_back() {
        at = at.max(e);
    }
    for (&s, &e) in have.range(start..end) {
        if s > at {
            out.push((at, s.min(end)));
        }
        at = at.max(e);
        if at >= end {
            break;
        }
    }
    if at < end {
        out.push((at, end));
    }
    out
}

fn insert(have: &mut BTreeMap<u64, u64>, start: u64, end: u64) {
    let (mut s, mut e) = (start, end);
    if let Some((&ps, &pe)) = have.range(..=s).next_back() {
        if pe >= s {
            s = ps;
            e = e.max(pe);
        }
    }
    let inside: Vec<u64> = have.range(s..=e).map(|(&k, _)| k).collect();
    for k in inside {
        if let Some(v) = have.remove(&k) {
            e = e.max(v);
        }
    }
    have.insert(s, e);
}

impl Remote {
    /// Writes fetched bytes `[s, e)` into the mapping and marks them present. In a cache
    /// folder, their disk blocks are allocated first: a full disk is an error naming the
    /// folder, not a SIGBUS.
    fn keep(&self, s: u64, e: u64, bytes: &[u8]) -> Result<()> {
        let mut have = self.have.lock().unwrap_or_else(|p| p.into_inner());
        // Another reader may have fetched part of it meanwhile: write only what is still
        // missing, never bytes a slice may already cover.
        for (gs, ge) in gaps(&have, s, e) {
            if let Some(c) = &self.cached {
                c.reserve(gs, ge).map_err(|err| {
                    DatasetError::write(
                        &c.data_path,
                        format!(
                            "the cache folder (VDX_CACHE_DIR) cannot take the fetched bytes: \
                             {err}; free space there, lower VDX_CACHE_MAX_BYTES, or unset \
                             VDX_CACHE_DIR"
                        ),
                    )
                })?;
            }
            if let Some(f) = &self.spill {
                crate::storage::reserve(f, gs, ge).map_err(|err| {
                    DatasetError::write(
                        &std::env::temp_dir(),
                        format!(
                            "the temporary folder cannot take the bytes fetched from {}: \
                             {err}; free space there, set TMPDIR to a folder with room, or \
                             VDX_CACHE_DIR",
                            self.file.shown_url()
                        ),
                    )
                })?;
            }
            let from = &bytes[(gs - s) as usize..(ge - s) as usize];
            // SAFETY: [gs, ge) lies inside the mapping and no slice covers it yet (it is not
            // in `have`); the lock keeps other writers out.
            unsafe {
                std::ptr::copy_nonoverlapping(from.as_ptr(), self.ptr.add(gs as usize), from.len())
            };
            // In the cache folder: on disk first, then listed (a crash never lists bytes
            // that are not there). A failure only leaves the range unlisted.
            if let Some(c) = &self.cached {
                let (at, n) = (gs as usize, (ge - gs) as usize);
                if self.buf.flush_range(at, n).is_ok() {
                    let _ = c.record(gs, ge);
                }
            }
        }
        insert(&mut have, s, e);
        Ok(())
    }

    /// The parts of `ranges` ((start, length), clamped to the object) not fetched yet, as
    /// [start, end) runs.
    fn missing(&self, ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
        let have = self.have.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for &(start, len) in ranges {
            let end = start.saturating_add(len).min(self.len as u64);
            if start < end {
                out.extend(gaps(&have, start, end));
            }
        }
        out
    }

    /// Fetches these [start, end) runs, one request each, side by side, and keeps them.
    fn fetch_runs(&self, runs: &[(u64, u64)]) -> Result<()> {
        let got = self.file.fetch_ranges(runs)?;
        for (&(s, e), bytes) in runs.iter().zip(&got) {
            self.keep(s, e, bytes)?;
        }
        Ok(())
    }

    /// An unlinked temporary file of `len` bytes (sparse) to hold a remote object's fetched
    /// bytes, or None (said once) where the temporary folder cannot make one.
    fn spill_file(len: u64) -> Option<std::fs::File> {
        let made = tempfile::tempfile().and_then(|f| {
            f.set_len(len)?;
            Ok(f)
        });
        match made {
            Ok(f) => Some(f),
            Err(e) => {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| {
                    eprintln!(
                        "vdx: no temporary file in {} ({e}): remote bytes are kept in memory",
                        std::env::temp_dir().display()
                    )
                });
                None
            }
        }
    }

    /// The cache folder's entry of this object, where there is one.
    fn cache_entry(url: &Path, file: &RemoteFile, len: usize) -> Option<CachedObject> {
        let cache = match DiskCache::from_env() {
            Ok(c) => c?,
            Err(e) => {
                cache_warning(&e.to_string());
                return None;
            }
        };
        let tag = file.version_tag()?;
        match cache.open(&file.shown_url(), &tag, len as u64) {
            Ok(entry) => entry,
            Err(e) => {
                cache_warning(&format!(
                    "{}: cannot use the cache folder {} ({e}); reading without it",
                    crate::storage::redact(&url.to_string_lossy()),
                    cache.dir().display()
                ));
                None
            }
        }
    }
}

/// A cache folder that cannot be used is said once per process (reads go on without it).
fn cache_warning(text: &str) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| eprintln!("vdx: {text}"));
}

impl Backing {
    pub(crate) fn open_local(path: &Path) -> Result<Backing> {
        let file = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
        let len = file
            .metadata()
            .map_err(|e| DatasetError::io(path, e))?
            .len();
        if len == 0 {
            return Err(DatasetError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
        // SAFETY: the map is read-only; vdx never writes dataset files in place (they are
        // replaced by rename), so the mapped bytes do not change under the reader.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| DatasetError::io(path, e))?;
        Ok(Backing::Mapped(map))
    }

    /// An object in storage, with its first `head` bytes fetched by the request that opens it.
    pub(crate) fn open_remote(url: &Path, head: u64) -> Result<Backing> {
        let (file, first) = RemoteFile::open_reading(url, head)?;
        let len = file.size();
        if len == 0 {
            return Err(DatasetError::EmptyFile {
                path: url.to_path_buf(),
            });
        }
        let len = usize::try_from(len).map_err(|_| DatasetError::Malformed {
            path: url.to_path_buf(),
            reason: format!("{len} bytes do not fit this machine's address space"),
        })?;
        let cached = Remote::cache_entry(url, &file, len);
        // Without a cache folder, an unlinked temporary file holds the fetched bytes: its
        // pages are the kernel's to write back and drop under memory pressure, where
        // anonymous memory would grow with every sample an epoch reads until the process is
        // killed. Where no temporary file can be made, anonymous memory (said once).
        let spill = match &cached {
            Some(_) => None,
            None => Remote::spill_file(len as u64),
        };
        let mut buf = match (&cached, &spill) {
            // SAFETY: the entry's file is as large as the object (checked when opened); other
            // processes write into it only the object's own bytes (its version is in the
            // entry's name), so the bytes under a slice handed out never change.
            (Some(c), _) => unsafe { memmap2::MmapOptions::new().len(len).map_mut(&c.data) },
            // SAFETY: this process's own unlinked file, as large as the object; written only
            // through `keep`, in ranges no slice covers yet.
            (None, Some(f)) => unsafe { memmap2::MmapOptions::new().len(len).map_mut(f) },
            (None, None) => memmap2::MmapOptions::new()
                .len(len)
                .no_reserve_swap()
                .map_anon(),
        }
        .map_err(|e| DatasetError::io(url, e))?;
        let mut have = BTreeMap::new();
        for &(s, e) in cached.iter().flat_map(|c| &c.present) {
            insert(&mut have, s, e.min(len as u64));
        }
        let ptr = buf.as_mut_ptr();
        let remote = Remote {
            buf,
            ptr,
            len,
            file,
            have: Mutex::new(have),
            cached,
            spill,
            plan: Mutex::new(None),
        };
        let first = &first[..first.len().min(len)];
        if !first.is_empty() {
            remote.keep(0, first.len() as u64, first)?;
        }
        Ok(Backing::Remote(Box::new(remote)))
    }

    /// A local file holding every byte: the file itself, or for an object, its entry in the
    /// cache folder once the missing bytes are fetched (FFCV's reader maps a local file).
    /// None for an object without a cache entry.
    pub(crate) fn local_copy(&self, path: &Path) -> Result<Option<PathBuf>> {
        match self {
            Backing::Mapped(_) => Ok(Some(path.to_path_buf())),
            Backing::Remote(r) => {
                let Some(c) = &r.cached else {
                    return Ok(None);
                };
                // In 8 MiB runs, 16 in flight.
                let step = 8u64 << 20;
                let runs: Vec<(u64, u64)> = (0..r.len as u64)
                    .step_by(step as usize)
                    .map(|s| (s, step.min(r.len as u64 - s)))
                    .collect();
                self.ensure_many(&runs)?;
                Ok(Some(c.data_path.clone()))
            }
        }
    }

    pub(crate) fn len(&self) -> u64 {
        match self {
            Backing::Mapped(m) => m.len() as u64,
            Backing::Remote(r) => r.len as u64,
        }
    }

    /// Makes sure `[start, start + len)` (clamped to the file) is present: a no-op for a
    /// local file; for an object, fetches the missing runs, one request each.
    pub(crate) fn ensure(&self, start: u64, len: u64) -> Result<()> {
        let Backing::Remote(r) = self else {
            return Ok(());
        };
        let end = start.saturating_add(len).min(r.len as u64);
        if start >= end {
            return Ok(());
        }
        let missing = gaps(
            &r.have.lock().unwrap_or_else(|p| p.into_inner()),
            start,
            end,
        );
        for (s, e) in missing {
            let bytes = r.file.fetch_exact(s, e)?;
            r.keep(s, e, &bytes)?;
        }
        Ok(())
    }

    /// A hint that every range of `ranges` ((start, length)) will be read (a Loader's epoch):
    /// where the missing bytes, joined across gaps under 64 KiB, are at most 64 MiB and at
    /// most 10% more than the ranges' own, [`Backing::ensure_batch`] fetches them all with
    /// the first batch large enough. A new hint replaces the last; a no-op for a local file
    /// and where `VDX_READ_AHEAD=off` (each batch then fetches its own samples).
    pub(crate) fn plan_reads(&self, ranges: &[(u64, u64)]) {
        let Backing::Remote(r) = self else {
            return;
        };
        if std::env::var("VDX_READ_AHEAD").is_ok_and(|v| v == "off") {
            *r.plan.lock().unwrap_or_else(|p| p.into_inner()) = None;
            return;
        }
        // The missing parts of the ranges, joined into runs across gaps under 64 KiB; of a
        // run, what is missing is fetched (a part already here, such as the dataset info
        // between samples, is not fetched again).
        let missing = r.missing(ranges);
        let own: u64 = merge_runs(missing.clone(), 0)
            .iter()
            .map(|(s, e)| e - s)
            .sum();
        let runs = merge_runs(missing, PLAN_GAP);
        let as_ranges: Vec<(u64, u64)> = runs.iter().map(|&(s, e)| (s, e - s)).collect();
        let total: u64 = r.missing(&as_ranges).iter().map(|(s, e)| e - s).sum();
        let plan = (own > 0 && total <= PLAN_MAX && total * 10 <= own * 11).then(|| {
            let parts = runs
                .iter()
                .flat_map(|&(s, e)| {
                    (s..e)
                        .step_by(PLAN_PART as usize)
                        .map(move |p| (p, (p + PLAN_PART).min(e) - p))
                })
                .collect();
            Plan {
                bytes: total,
                parts,
            }
        });
        *r.plan.lock().unwrap_or_else(|p| p.into_inner()) = plan;
    }

    /// A batch's ranges ((start, length)) made present: first the planned reads, where there
    /// are some and this batch's own bytes are at least 1/8 of them, then what the batch
    /// still misses ([`Backing::ensure_many`]).
    pub(crate) fn ensure_batch(&self, ranges: &[(u64, u64)]) -> Result<()> {
        let Backing::Remote(r) = self else {
            return Ok(());
        };
        {
            let mut plan = r.plan.lock().unwrap_or_else(|p| p.into_inner());
            let batch: u64 = ranges.iter().map(|&(_, n)| n).sum();
            if plan
                .as_ref()
                .is_some_and(|p| p.bytes <= batch * PLAN_BATCH_SHARE)
            {
                // What each part misses, in one request a part: bytes already here between
                // its runs (the provenance a metadata pass read, say) are fetched again
                // rather than splitting the part into a request per sample.
                let parts = plan.take().expect("checked").parts;
                let runs: Vec<(u64, u64)> = parts
                    .iter()
                    .flat_map(|&p| merge_runs(r.missing(&[p]), PLAN_GAP))
                    .collect();
                r.fetch_runs(&runs)?;
            }
        }
        self.ensure_many(ranges)
    }

    /// [`Backing::ensure`] for many ranges at once: the missing runs are fetched with 16
    /// requests in flight (a batch's samples before they are decoded).
    pub(crate) fn ensure_many(&self, ranges: &[(u64, u64)]) -> Result<()> {
        self.ensure_many_coalesced(ranges, 0)
    }

    /// [`Backing::ensure_many`], fetching runs less than `gap` bytes apart in one request
    /// (with the bytes between them).
    pub(crate) fn ensure_many_coalesced(&self, ranges: &[(u64, u64)], gap: u64) -> Result<()> {
        let Backing::Remote(r) = self else {
            return Ok(());
        };
        r.fetch_runs(&merge_runs(r.missing(ranges), gap))
    }

    /// The bytes `[start, start + len)`, fetched first where the file is remote.
    pub(crate) fn slice(&self, start: u64, len: u64) -> Result<&[u8]> {
        self.ensure(start, len)?;
        Ok(self.present(start as usize, len as usize))
    }

    /// The bytes `[start, start + len)`, which [`Backing::ensure`] made present.
    pub(crate) fn present(&self, start: usize, len: usize) -> &[u8] {
        match self {
            Backing::Mapped(m) => &m[start..start + len],
            Backing::Remote(r) => {
                assert!(start + len <= r.len, "a range past the end of the object");
                // SAFETY: in bounds (checked); the caller ensured the range, and fetched
                // ranges are never written again.
                unsafe { std::slice::from_raw_parts(r.ptr.add(start), len) }
            }
        }
    }
}

/// Byte ranges `[s, e)` sorted and merged where they touch (a sample's data and its
/// provenance) or lie less than `gap` bytes apart: one request each.
fn merge_runs(mut ranges: Vec<(u64, u64)>, gap: u64) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut runs: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match runs.last_mut() {
            Some(r) if s <= r.1.saturating_add(gap) => r.1 = r.1.max(e),
            _ => runs.push((s, e)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_where_they_touch_or_lie_within_the_gap() {
        let r = vec![(100, 200), (0, 10), (10, 20), (250, 300), (1000, 1100)];
        assert_eq!(
            merge_runs(r.clone(), 0),
            vec![(0, 20), (100, 200), (250, 300), (1000, 1100)]
        );
        assert_eq!(
            merge_runs(r.clone(), 50),
            vec![(0, 20), (100, 300), (1000, 1100)]
        );
        assert_eq!(merge_runs(r, 1 << 20), vec![(0, 1100)]);
        assert_eq!(merge_runs(vec![(5, 50), (10, 20)], 0), vec![(5, 50)]);
    }

    #[test]
    fn gaps_and_merges_of_fetched_ranges() {
        let mut h = BTreeMap::new();
        assert_eq!(gaps(&h, 0, 10), vec![(0, 10)]);
        insert(&mut h, 2, 4);
        insert(&mut h, 6, 8);
        assert_eq!(gaps(&h, 0, 10), vec![(0, 2), (4, 6), (8, 10)]);
        assert_eq!(gaps(&h, 3, 7), vec![(4, 6)]);
        assert_eq!(gaps(&h, 2, 4), vec![]);
        insert(&mut h, 4, 6);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(gaps(&h, 1, 9), vec![(1, 2), (8, 9)]);
        insert(&mut h, 0, 20);
        assert_eq!(h.into_iter().collect::<Vec<_>>(), vec![(0, 20)]);
    }
}
