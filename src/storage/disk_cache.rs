//! A local cache folder for datasets on object storage: `VDX_CACHE_DIR=/some/folder`, bounded
//! by `VDX_CACHE_MAX_BYTES` (a byte count, or with a `K`/`M`/`G`/`T` suffix; 20G by default).
//!
//! Each object version is one entry, named by a hash of its URL, version tag (ETag or
//! version id) and size:
//! - `KEY.json`: the entry's identity (URL without secrets, tag, size), written last when the
//!   entry is made, and checked on every open (a hash collision is never read as a hit);
//! - `KEY.data`: a sparse file as large as the object, holding the fetched bytes in place;
//! - `KEY.ranges`: the byte ranges present in `KEY.data`, 16-byte records (start, end; little
//!   endian) appended after those bytes were written and flushed to disk, so a range listed
//!   there is on disk even after a crash. A record cut short at the end is ignored.
//!
//! Processes share entries: each appends what it fetched; two that fetch the same range write
//! the same bytes (the tag pins the version). An object replaced on the server has a new tag,
//! so a new entry; the old one ages out. When an entry is opened and the folder holds more
//! than its bound, the least recently opened entries are deleted (a process still reading a
//! deleted entry keeps its open file). An object without a tag (a plain HTTP server that
//! sends no ETag) is not cached: a replacement could not be told from the cached bytes.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Bytes the folder may hold when `VDX_CACHE_MAX_BYTES` is not set.
pub const DEFAULT_MAX_BYTES: u64 = 20 << 30;

/// The cache folder the environment names, if any.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
    max_bytes: u64,
}

/// Why the cache settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value}: {reason}")]
pub struct CacheSettingError {
    name: &'static str,
    value: String,
    reason: String,
}

/// `20G`, `512M`, `1048576`: a byte count.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&t[..i], t[i..].trim()),
        None => (t, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

impl DiskCache {
    /// The folder `VDX_CACHE_DIR` names (made if missing), bounded by `VDX_CACHE_MAX_BYTES`;
    /// None where `VDX_CACHE_DIR` is not set or empty.
    pub fn from_env() -> Result<Option<DiskCache>, CacheSettingError> {
        let Some(dir) = std::env::var_os("VDX_CACHE_DIR").filter(|d| !d.is_empty()) else {
            return Ok(None);
        };
        let max_bytes = match std::env::var("VDX_CACHE_MAX_BYTES") {
            Ok(v) => parse_bytes(&v).ok_or_else(|| CacheSettingError {
                name: "VDX_CACHE_MAX_BYTES",
                value: v.clone(),
                reason: "not a byte count (such as 20G, 512M or 1048576)".into(),
            })?,
            Err(_) => DEFAULT_MAX_BYTES,
        };
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).map_err(|e| CacheSettingError {
            name: "VDX_CACHE_DIR",
            value: dir.display().to_string(),
            reason: format!("cannot make the folder: {e}"),
        })?;
        Ok(Some(DiskCache { dir, max_bytes }))
    }

    pub fn new(dir: &Path, max_bytes: u64) -> DiskCache {
        DiskCache {
            dir: dir.to_path_buf(),
            max_bytes,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry of the object `url` (shown form, no secrets) at version `tag` with `size`
    /// bytes: opened, or made empty. None where the name is taken by another object (a hash
    /// collision: that object stays uncached) or `size` is 0.
    pub fn open(&self, url: &str, tag: &str, size: u64) -> std::io::Result<Option<CachedObject>> {
        if size == 0 {
            return Ok(None);
        }
        let identity = serde_json::json!({"url": url, "tag": tag, "size": size}).to_string();
        let key = {
            let a = crc32c::crc32c(identity.as_bytes());
            let b = crc32c::crc32c_append(a ^ 0x5bd1_e995, identity.as_bytes());
            let name: String = url
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .take(48)
                .collect();
            format!("{a:08x}{b:08x}-{name}")
        };
        let json = self.dir.join(format!("{key}.json"));
        let data_path = self.dir.join(format!("{key}.data"));
        let ranges_path = self.dir.join(format!("{key}.ranges"));
        match std::fs::read_to_string(&json) {
            Ok(text) if text == identity => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A new entry: its files first, the identity last (it marks the entry made).
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&ranges_path)?;
                let data = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&data_path)?;
                data.set_len(size)?;
                let tmp = self
                    .dir
                    .join(format!("{key}.json.{}.tmp", std::process::id()));
                std::fs::write(&tmp, &identity)?;
                std::fs::rename(&tmp, &json)?;
            }
            Err(e) => return Err(e),
        }
        let data = OpenOptions::new().read(true).write(true).open(&data_path)?;
        if data.metadata()?.len() != size {
            // Not the entry its identity says: left alone, the object read uncached.
            return Ok(None);
        }
        let mut log = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&ranges_path)?;
        let mut raw = Vec::new();
        log.read_to_end(&mut raw)?;
        let present = raw
            .chunks_exact(16)
            .map(|r| {
                let s = u64::from_le_bytes(r[..8].try_into().unwrap_or_default());
                let e = u64::from_le_bytes(r[8..].try_into().unwrap_or_default());
                (s, e)
            })
            .filter(|&(s, e)| s < e && e <= size)
            .collect();
        // Opened now: the least recently opened entries go first when the folder is full.
        let _ = File::options()
            .write(true)
            .open(&json)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        self.evict(&key);
        Ok(Some(CachedObject {
            data,
            data_path,
            log,
            present,
        }))
    }

    /// Deletes the least recently opened entries (not `keep`) while the folder holds more
    /// than its bound (bytes on disk: a sparse entry counts what it holds).
    fn evict(&self, keep: &str) {
        use std::os::unix::fs::MetadataExt;
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, String, u64)> = Vec::new();
        let mut total = 0u64;
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(key) = name.strip_suffix(".json") else {
                continue;
            };
            let used = std::fs::metadata(self.dir.join(format!("{key}.data")))
                .map_or(0, |m| m.blocks() * 512);
            total += used;
            if key != keep {
                let opened = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                entries.push((opened, key.to_string(), used));
            }
        }
        entries.sort();
        for (_, key, used) in entries {
            if total <= self.max_bytes {
                break;
            }
            for ext in ["json", "ranges", "data"] {
                let _ = std::fs::remove_file(self.dir.join(format!("{key}.{ext}")));
            }
            total = total.saturating_sub(used);
        }
    }
}

/// Allocates the disk blocks of `file` under `[start, end)` (inside its length) before bytes
/// are written there through a shared mapping: on a full disk such a write stops the process
/// with SIGBUS, where this gives an error (ENOSPC) to report.
pub fn reserve(file: &File, start: u64, end: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(at), Ok(len)) = (
        libc::off_t::try_from(start),
        libc::off_t::try_from(end.saturating_sub(start)),
    ) else {
        return Err(std::io::Error::other(
            "a range past what the system can address",
        ));
    };
    if len == 0 {
        return Ok(());
    }
    // SAFETY: a valid open file descriptor; posix_fallocate only allocates blocks (the
    // file's length stays: the range lies inside it).
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), at, len) } {
        0 => Ok(()),
        rc => Err(std::io::Error::from_raw_os_error(rc)),
    }
}

/// One object's entry, open for reading and filling.
pub struct CachedObject {
    /// The sparse file, as large as the object (map it shared to read and fill it).
    pub data: File,
    pub data_path: PathBuf,
    log: File,
    /// Byte ranges `[start, end)` already in `data` (as recorded; they may overlap).
    pub present: Vec<(u64, u64)>,
}

impl CachedObject {
    /// Allocates the disk blocks under `[start, end)` before bytes are written there through
    /// a shared mapping: on a full disk a write through the mapping stops the process with
    /// SIGBUS, where this gives an error (ENOSPC) the reader reports.
    pub fn reserve(&self, start: u64, end: u64) -> std::io::Result<()> {
        reserve(&self.data, start, end)
    }

    /// Records that `[start, end)` of `data` holds the object's bytes; call it after they
    /// were written and flushed to disk.
    pub fn record(&self, start: u64, end: u64) -> std::io::Result<()> {
        let mut rec = [0u8; 16];
        rec[..8].copy_from_slice(&start.to_le_bytes());
        rec[8..].copy_from_slice(&end.to_le_bytes());
        // One write of 16 bytes to a file opened for appending: whole, after any other
        // process's records.
        (&self.log).write_all(&rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_with_units() {
        assert_eq!(parse_bytes("1048576"), Some(1 << 20));
        assert_eq!(parse_bytes("20G"), Some(20 << 30));
        assert_eq!(parse_bytes("512m"), Some(512 << 20));
        assert_eq!(parse_bytes("3 GiB"), Some(3 << 30));
        assert_eq!(parse_bytes("2TB"), Some(2 << 40));
        assert_eq!(parse_bytes("ten"), None);
        assert_eq!(parse_bytes("5X"), None);
        assert_eq!(parse_bytes(""), None);
    }

    #[test]
    fn entries_keep_their_ranges_refuse_collisions_and_age_out() {
        let d = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(d.path(), 10_000);
        let a = cache.open("s3://b/a.vdx", "\"e1\"", 4096).unwrap().unwrap();
        assert!(a.present.is_empty());
        assert_eq!(a.data.metadata().unwrap().len(), 4096);
        a.record(0, 100).unwrap();
        a.record(2000, 4096).unwrap();
        drop(a);
        // A record cut short by a crash is ignored; one out of bounds too.
        let log = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".ranges"))
            .unwrap()
            .path();
        let mut bad = std::fs::read(&log).unwrap();
        bad.extend_from_slice(&5000u64.to_le_bytes());
        bad.extend_from_slice(&6000u64.to_le_bytes());
        bad.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&log, bad).unwrap();
        let a = cache.open("s3://b/a.vdx", "\"e1\"", 4096).unwrap().unwrap();
        assert_eq!(a.present, vec![(0, 100), (2000, 4096)]);
        // Another version of the object is another entry.
        let a2 = cache.open("s3://b/a.vdx", "\"e2\"", 4096).unwrap().unwrap();
        assert!(a2.present.is_empty());
        assert_ne!(a2.data_path, a.data_path);
        // An identity file that names another object: not a hit.
        let json = a.data_path.with_extension("json");
        std::fs::write(&json, "{\"url\":\"s3://b/other\"}").unwrap();
        assert!(cache
            .open("s3://b/a.vdx", "\"e1\"", 4096)
            .unwrap()
            .is_none());
        // Untagged or empty objects are not cached.
        assert!(cache.open("s3://b/z", "\"e\"", 0).unwrap().is_none());
    }

    #[test]
    fn the_least_recently_opened_entries_go_when_the_folder_is_full() {
        let d = tempfile::tempdir().unwrap();
        let cache = DiskCache::new(d.path(), 3 * 65536);
        let fill = |o: &CachedObject| {
            use std::os::unix::fs::FileExt;
            o.data.write_all_at(&vec![7u8; 65536], 0).unwrap();
            o.data.sync_all().unwrap();
            o.record(0, 65536).unwrap();
        };
        for k in 0..3 {
            let o = cache
                .open(&format!("s3://b/{k}"), "t", 65536)
                .unwrap()
                .unwrap();
            fill(&o);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Entry 0 opened again: now the most recent.
        cache.open("s3://b/0", "t", 65536).unwrap().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let o = cache.open("s3://b/3", "t", 65536).unwrap().unwrap();
        fill(&o);
        // A fifth open finds 4 x 64 KiB over the bound: entry 1 (the oldest) goes.
        let _ = cache.open("s3://b/4", "t", 65536).unwrap().unwrap();
        let names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");
        let hit = |k: u32| {
            cache
                .open(&format!("s3://b/{k}"), "t", 65536)
                .unwrap()
                .unwrap()
        };
        assert!(
            hit(1).present.is_empty(),
            "entry 1 was evicted and made anew"
        );
        assert_eq!(hit(0).present, vec![(0, 65536)]);
    }
}
