//! One object opened for reading: its size and version pinned at open, ranged reads through
//! the shared block cache with read-ahead for sequential runs.

use super::cache::{self, BLOCK};
use super::{count_fetch, locate, redact, runtime, Located, StorageError};
use bytes::Bytes;
use object_store::{GetOptions, GetRange, ObjectStoreExt};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// One ranged GET of the pinned version: the ETag the server sent, and the bytes.
async fn get_range(
    loc: Arc<Located>,
    pin: Pinned,
    start: u64,
    end: u64,
) -> Result<(Option<String>, Bytes), object_store::Error> {
    let opts = GetOptions {
        range: Some(GetRange::Bounded(start..end)),
        if_match: pin.etag,
        version: pin.version,
        ..Default::default()
    };
    let r = loc.store.get_opts(&loc.path, opts).await?;
    let etag = r.meta.e_tag.clone();
    Ok((etag, r.bytes().await?))
}

/// Whether a ranged GET failed because of its range (refused, or answered whole), not because
/// of the object, the credentials or the network.
fn range_unanswered(e: &object_store::Error) -> bool {
    let text = match e {
        object_store::Error::Generic { .. }
        | object_store::Error::NotSupported { .. }
        | object_store::Error::NotImplemented { .. } => e.to_string().to_ascii_lowercase(),
        _ => return false,
    };
    ["range", "partial", "416"].iter().any(|w| text.contains(w))
}

/// Read-ahead for sequential reads grows to this many blocks (8 MiB) per request.
const MAX_AHEAD: u64 = 32;

/// What an open found out about an object: the same for every reader in this process until
/// a read finds it changed.
#[derive(Debug, Clone)]
struct Pinned {
    size: u64,
    etag: Option<String>,
    version: Option<String>,
    /// Cache identity of this version of the object.
    id: u64,
}

impl Pinned {
    /// The version of the object at `url` that `meta` (a HEAD's or a GET's) describes.
    fn of(url: &str, meta: object_store::ObjectMeta) -> Pinned {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (url, &meta.e_tag, &meta.version, meta.size).hash(&mut h);
        Pinned {
            size: meta.size,
            etag: meta.e_tag,
            version: meta.version,
            id: h.finish(),
        }
    }
}

/// The object at `url` was found changed: later opens read its new version, and
/// its old blocks leave the cache.
fn forget_url(url: &str) {
    let old = pins().lock().unwrap_or_else(|p| p.into_inner()).remove(url);
    if let Some(old) = old {
        cache::shared()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget(old.id);
    }
}

fn pins() -> &'static Mutex<HashMap<String, Pinned>> {
    static P: OnceLock<Mutex<HashMap<String, Pinned>>> = OnceLock::new();
    P.get_or_init(Default::default)
}

/// An object in storage, read like a file (`Read + Seek`, and [`RemoteFile::read_at`]).
pub struct RemoteFile {
    url: String,
    loc: Arc<Located>,
    pin: Pinned,
    pos: u64,
    /// Block after the last one read: a read there is sequential and grows the read-ahead.
    next_block: u64,
    ahead: u64,
}

impl std::fmt::Debug for RemoteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RemoteFile({}, {} bytes)",
            redact(&self.url),
            self.pin.size
        )
    }
}

impl RemoteFile {
    /// Opens the object at `url` (a `Path` holding a URL): one HEAD request the first time
    /// this process opens it, none afterwards while it stays the same.
    pub fn open(url: &Path) -> Result<RemoteFile, StorageError> {
        let url = url.to_str().unwrap_or_default().to_string();
        let loc = Arc::new(locate(&url)?);
        let pinned = pins()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&url)
            .cloned();
        let pin = match pinned {
            Some(p) => p,
            None => {
                let meta = runtime()
                    .block_on(loc.store.head(&loc.path))
                    .map_err(|e| StorageError::from_store(&url, "reading the object's size", e))?;
                count_fetch(0);
                let p = Pinned::of(&url, meta);
                pins()
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(url.clone(), p.clone());
                p
            }
        };
        Ok(RemoteFile {
            url,
            loc,
            pin,
            pos: 0,
            next_block: u64::MAX,
            ahead: 1,
        })
    }

    /// Opens the object at `url` and reads its first `n` bytes (fewer where it is shorter) in
    /// one request: a ranged GET tells the size and version as a HEAD would, so opening a
    /// dataset shard costs its header's request and no HEAD before it. Where the server does
    /// not answer a range with one (an empty object, a server without ranges), opens as
    /// [`RemoteFile::open`] does.
    ///
    /// Unlike [`RemoteFile::open`], this reads the object's current version even where this
    /// process has read an older one (a dataset opened again after it was rebuilt, a report
    /// written again): the version it finds is pinned from then on. Readers opened before
    /// keep their version, and fail if they read after the change.
    pub fn open_reading(url: &Path, n: u64) -> Result<(RemoteFile, Bytes), StorageError> {
        let key = url.to_str().unwrap_or_default().to_string();
        if n > 0 {
            let loc = Arc::new(locate(&key)?);
            let opts = GetOptions {
                range: Some(GetRange::Bounded(0..n)),
                ..Default::default()
            };
            let got = runtime().block_on(async {
                let r = loc.store.get_opts(&loc.path, opts).await?;
                let meta = r.meta.clone();
                Ok::<_, object_store::Error>((meta, r.bytes().await?))
            });
            match got {
                Ok((meta, bytes)) => {
                    count_fetch(bytes.len() as u64);
                    let pin = Pinned::of(&key, meta);
                    if (bytes.len() as u64) < n.min(pin.size) {
                        return Err(StorageError::ShortRead {
                            url: redact(&key),
                            offset: 0,
                            want: n.min(pin.size),
                            got: bytes.len() as u64,
                        });
                    }
                    let old = pins()
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key.clone(), pin.clone());
                    if let Some(old) = old.filter(|o| o.id != pin.id) {
                        cache::shared()
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .forget(old.id);
                    }
                    let file = RemoteFile {
                        url: key,
                        loc,
                        pin,
                        pos: 0,
                        next_block: u64::MAX,
                        ahead: 1,
                    };
                    return Ok((file, bytes));
                }
                // The range itself was refused (an empty object: 416) or not answered as a
                // range: the HEAD below says what there is.
                Err(e) if range_unanswered(&e) => {}
                Err(e) => {
                    return Err(StorageError::from_store(
                        &key,
                        "reading the object's first bytes",
                        e,
                    ))
                }
            }
        }
        let file = RemoteFile::open(url)?;
        let end = n.min(file.size());
        let bytes = if end > 0 {
            file.fetch_exact(0, end)?
        } else {
            Bytes::new()
        };
        Ok((file, bytes))
    }

    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.pin.size
    }

    /// The version of the object this file reads (its ETag and version id, as the server
    /// gave them); None where the server gives neither (a replacement could not be told).
    pub fn version_tag(&self) -> Option<String> {
        match (&self.pin.etag, &self.pin.version) {
            (None, None) => None,
            (e, v) => Some(format!(
                "etag={};version={}",
                e.as_deref().unwrap_or(""),
                v.as_deref().unwrap_or("")
            )),
        }
    }

    /// The URL as it may be shown (no secrets).
    pub fn shown_url(&self) -> String {
        redact(&self.url)
    }

    /// Fetches bytes `[start, end)` of the pinned version.
    fn fetch(&self, start: u64, end: u64) -> Result<Bytes, StorageError> {
        let got = runtime().block_on(get_range(self.loc.clone(), self.pin.clone(), start, end));
        self.check(start, end, got)
    }

    /// Fetches several ranges at once, up to 32 requests in flight (the heads of a video's
    /// packets while indexing, a Loader batch's samples), in the order given.
    pub fn fetch_ranges(&self, ranges: &[(u64, u64)]) -> Result<Vec<Bytes>, StorageError> {
        let got = runtime().block_on(async {
            let permits = Arc::new(tokio::sync::Semaphore::new(32));
            let tasks: Vec<_> = ranges
                .iter()
                .map(|&(s, e)| {
                    let (loc, pin, permits) = (self.loc.clone(), self.pin.clone(), permits.clone());
                    tokio::spawn(async move {
                        let _permit = permits.acquire_owned().await;
                        get_range(loc, pin, s, e).await
                    })
                })
                .collect();
            let mut got = Vec::with_capacity(tasks.len());
            for t in tasks {
                got.push(
                    t.await
                        .map_err(|e| object_store::Error::JoinError { source: e }),
                );
            }
            got
        });
        ranges
            .iter()
            .zip(got)
            .map(|(&(s, e), g)| self.check(s, e, g.and_then(|r| r)))
            .collect()
    }

    /// A fetch's result checked: the pinned version, all the bytes asked for.
    fn check(
        &self,
        start: u64,
        end: u64,
        got: Result<(Option<String>, Bytes), object_store::Error>,
    ) -> Result<Bytes, StorageError> {
        let (etag, bytes) = match got {
            Ok(v) => v,
            Err(e) => {
                let err = StorageError::from_store(&self.url, "a ranged read", e);
                if matches!(err, StorageError::Changed { .. }) {
                    self.forget();
                }
                return Err(err);
            }
        };
        count_fetch(bytes.len() as u64);
        // A server that ignores If-Match still says which version it sent.
        if let (Some(want), Some(got)) = (&self.pin.etag, &etag) {
            if want != got {
                self.forget();
                return Err(StorageError::Changed {
                    url: redact(&self.url),
                    source: object_store::Error::Precondition {
                        path: self.loc.path.to_string(),
                        source: format!("ETag {want} at open, {got} now").into(),
                    },
                });
            }
        }
        if (bytes.len() as u64) < end - start {
            return Err(StorageError::ShortRead {
                url: redact(&self.url),
                offset: start,
                want: end - start,
                got: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// The object changed: later opens see the new version; this reader keeps failing.
    fn forget(&self) {
        forget_url(&self.url);
    }

    /// The block holding byte `block * BLOCK`, from the cache or fetched together with the
    /// missing blocks after it that read-ahead asks for.
    fn block(&mut self, block: u64) -> Result<Bytes, StorageError> {
        let id = self.pin.id;
        self.ahead = if block == self.next_block {
            (self.ahead * 2).min(MAX_AHEAD)
        } else {
            1
        };
        self.next_block = block + 1;
        let last_block = self.pin.size.saturating_sub(1) / BLOCK;
        let (first, n) = {
            let mut c = cache::shared().lock().unwrap_or_else(|p| p.into_inner());
            if let Some(b) = c.get(id, block) {
                return Ok(b);
            }
            let mut n = 1;
            while n < self.ahead && block + n <= last_block && !c.contains(id, block + n) {
                n += 1;
            }
            (block, n)
        };
        let start = first * BLOCK;
        let end = ((first + n) * BLOCK).min(self.pin.size);
        let bytes = self.fetch(start, end)?;
        let mut c = cache::shared().lock().unwrap_or_else(|p| p.into_inner());
        for k in 0..n {
            let s = (k * BLOCK) as usize;
            let e = (((k + 1) * BLOCK) as usize).min(bytes.len());
            c.insert(id, first + k, bytes.slice(s..e));
        }
        Ok(bytes.slice(0..(BLOCK as usize).min(bytes.len())))
    }

    /// Reads up to `buf.len()` bytes at `offset` (fewer at a block boundary or the end);
    /// 0 at or past the end.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize, StorageError> {
        if offset >= self.pin.size || buf.is_empty() {
            return Ok(0);
        }
        let b = self.block(offset / BLOCK)?;
        let within = (offset % BLOCK) as usize;
        let n = buf.len().min(b.len().saturating_sub(within));
        buf[..n].copy_from_slice(&b[within..within + n]);
        Ok(n)
    }

    /// Fetches bytes `[start, end)` with one request, past the block cache (a dataset's
    /// sample ranges, kept by the dataset reader itself).
    pub fn fetch_exact(&self, start: u64, end: u64) -> Result<Bytes, StorageError> {
        if start >= end {
            return Ok(Bytes::new());
        }
        self.fetch(start, end)
    }

    /// Reads exactly `len` bytes at `offset` with one request where they are not cached
    /// (a dataset sample's byte range).
    pub fn read_exact_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, StorageError> {
        let mut out = vec![0u8; len];
        let mut done = 0;
        while done < len {
            let n = self.read_at(offset + done as u64, &mut out[done..])?;
            if n == 0 {
                return Err(StorageError::ShortRead {
                    url: redact(&self.url),
                    offset,
                    want: len as u64,
                    got: done as u64,
                });
            }
            done += n;
        }
        Ok(out)
    }
}

impl Read for RemoteFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.read_at(self.pos, buf).map_err(std::io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RemoteFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let p = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => self.pin.size as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if p < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the object",
            ));
        }
        self.pos = p as u64;
        Ok(self.pos)
    }
}
