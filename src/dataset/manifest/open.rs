//! Reading a manifest and opening its shards, each checked against its entry (size, CRC-32C
//! of header and allocation table, sample count, field, classes, its own shard number).

use super::{
    field_json, opened_shard_crc32c, parse_shard_file_name, shard_crc32c, Manifest,
    MANIFEST_FORMAT, MANIFEST_VERSION,
};
use crate::dataset::error::{DatasetError, Result};
use crate::dataset::reader::DatasetFile;
use std::path::Path;

fn bad(path: &Path, why: String) -> DatasetError {
    DatasetError::Malformed {
        path: path.to_path_buf(),
        reason: why,
    }
}

/// Read a manifest and check it (format, version, shard list, the sample total; beside a
/// local manifest, no shard file it does not list). No shard is opened.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let remote = crate::storage::is_url(path);
    let text = if remote {
        crate::storage::read_all(path)?
    } else {
        std::fs::read(path).map_err(|e| DatasetError::io(path, e))?
    };
    let bad = |why: String| bad(path, why);
    let m: Manifest =
        serde_json::from_slice(&text).map_err(|e| bad(format!("not a vdx manifest: {e}")))?;
    if m.format != MANIFEST_FORMAT || m.version != MANIFEST_VERSION {
        return Err(bad(format!(
            "format '{}' version {} (vdx reads {MANIFEST_FORMAT} version {MANIFEST_VERSION})",
            m.format, m.version
        )));
    }
    if m.shards.is_empty() {
        return Err(bad("it lists no shards".into()));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    // A shard file of this dataset that the manifest does not list: a stale or extra shard
    // (a re-run with another N, or a file copied in). Refuse rather than guess.
    let listed: std::collections::HashSet<&str> =
        m.shards.iter().map(|s| s.file.as_str()).collect();
    // (Not listed on object storage: a listing of a 1,000-shard prefix costs more than the
    // manifest's own CRCs, which still catch a replaced shard.)
    if let Some(rd) = (!remote).then(|| std::fs::read_dir(dir).ok()).flatten() {
        for e in rd.flatten() {
            let file = e.file_name().to_string_lossy().to_string();
            if let Some((n, _, _)) = parse_shard_file_name(&file) {
                if n == m.name && !listed.contains(file.as_str()) {
                    return Err(bad(format!(
                        "shard file {file} beside it is not in the manifest (a stale or extra shard: remove it, or write the manifest again)"
                    )));
                }
            }
        }
    }
    let total: u64 = m.shards.iter().map(|s| s.samples).sum();
    if total != m.samples {
        return Err(bad(format!(
            "the shards hold {total} samples, the manifest says {}",
            m.samples
        )));
    }
    Ok(m)
}

/// Shard `k` of the manifest `m` read from `path`, opened and checked against its entry.
pub fn open_listed_shard(path: &Path, m: &Manifest, k: usize) -> Result<DatasetFile> {
    let remote = crate::storage::is_url(path);
    let dir = path.parent().unwrap_or(Path::new("."));
    let bad = |why: String| bad(path, why);
    let s = &m.shards[k];
    if s.file.contains('/') || s.file.contains('\\') || s.file.starts_with('.') {
        return Err(bad(format!("shard {k}: '{}' is not a file name", s.file)));
    }
    let sp = dir.join(&s.file);
    let missing = |e: DatasetError| {
        let gone = match &e {
            DatasetError::Io { .. } => true,
            DatasetError::Storage(s) => {
                matches!(**s, crate::storage::StorageError::NotFound { .. })
            }
            _ => false,
        };
        if gone {
            bad(format!(
                "shard {k} ({}) is missing from {}",
                s.file,
                dir.display()
            ))
        } else {
            e
        }
    };
    // A remote shard is opened first (no HEAD before it: the request that fetches its
    // header tells its size); then its table is fetched once.
    let wrong_size = |size: u64| {
        bad(format!(
            "shard {k} ({}) is {} bytes, the manifest says {}: cut short or replaced",
            s.file, size, s.bytes
        ))
    };
    let opened = if remote {
        match DatasetFile::open(&sp) {
            Ok(ds) => Some(ds),
            Err(e) => {
                // A shard cut short fails its structure check: say so by its size (known
                // from the open's request, fetched again by none).
                return Err(match crate::storage::size_of(&sp) {
                    Ok(size) if size != s.bytes => wrong_size(size),
                    _ => missing(e),
                });
            }
        }
    } else {
        None
    };
    let size = match &opened {
        Some(ds) => ds.file_len(),
        None => crate::storage::size_of(&sp).map_err(|e| missing(e.into()))?,
    };
    if size != s.bytes {
        return Err(wrong_size(size));
    }
    let (ds, crc) = if let Some(ds) = opened {
        let (crc, _) = opened_shard_crc32c(&ds)?;
        (Some(ds), crc)
    } else {
        let (crc, _) = shard_crc32c(&sp)
            .map_err(|e| bad(format!("shard {k} ({}) is damaged: {e}", s.file)))?;
        (None, crc)
    };
    if crc != s.crc32c {
        return Err(bad(format!(
            "shard {k} ({}) is not the one the manifest lists (its header or allocation table changed: rebuilt or altered)",
            s.file
        )));
    }
    let ds = match ds {
        Some(ds) => ds,
        None => DatasetFile::open(&sp)?,
    };
    if ds.len() != s.samples {
        return Err(bad(format!(
            "shard {k} ({}) holds {} samples, the manifest says {}",
            s.file,
            ds.len(),
            s.samples
        )));
    }
    if field_json(&ds) != m.field || ds.classes() != m.classes.as_slice() {
        return Err(bad(format!(
            "shard {k} ({}) has another field or class list than the manifest",
            s.file
        )));
    }
    // Each shard's info says which shard it is: entries swapped in the manifest (or a
    // shard of another split renamed into place) read samples out of order.
    let sh = &ds.info()["shard"];
    let (index, count) = (sh["index"].as_u64(), sh["count"].as_u64());
    if index != Some(k as u64) || count != Some(m.shards.len() as u64) {
        return Err(bad(format!(
            "shard {k} ({}), field label (dataset info): rule \"shard.index is the \
             shard's position and shard.count the number of shards\": its info says \
             shard {} of {}, but it is entry {k} of the manifest's {} shards",
            s.file,
            index.map_or("(none)".to_string(), |i| i.to_string()),
            count.map_or("(none)".to_string(), |c| c.to_string()),
            m.shards.len()
        )));
    }
    Ok(ds)
}

/// Shards `ks` of the manifest `m` read from `path`, opened and checked: on object storage
/// 64 at a time. The first failure in the order of `ks` is the one reported.
pub fn open_listed_shards(path: &Path, m: &Manifest, ks: &[usize]) -> Result<Vec<DatasetFile>> {
    if !crate::storage::is_url(path) || ks.len() < 2 {
        return ks.iter().map(|&k| open_listed_shard(path, m, k)).collect();
    }
    // On object storage each open is two requests or so: 64 shards at a time.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<DatasetFile>>>> =
        ks.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|sc| {
        for _ in 0..64.min(ks.len()) {
            sc.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&k) = ks.get(n) else { break };
                *slots[n].lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(open_listed_shard(path, m, k));
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .expect("every shard was opened")
        })
        .collect()
}

/// Read a manifest and open every shard, checking each against it.
pub fn open_shards(path: &Path) -> Result<(Manifest, Vec<DatasetFile>)> {
    let m = read_manifest(path)?;
    let all: Vec<usize> = (0..m.shards.len()).collect();
    let files = open_listed_shards(path, &m, &all)?;
    Ok((m, files))
}
