//! Object storage: videos and datasets addressed by URL (`s3://`, `gs://`, `az://`,
//! `http(s)://`) and read by ranged GETs through the `object_store` crate (the client Polars
//! and DataFusion use), not hand-written HTTP.
//!
//! A URL travels through vdx as a `Path` whose text is the URL, so every surface that takes a
//! path takes a URL too; [`is_url`] tells them apart where a local file system call would be
//! wrong. Reading goes through [`RemoteFile`]: it pins the object's version (ETag) at open and
//! sends it with every ranged read, so an object replaced while it is read is an error
//! ([`StorageError::Changed`]), never a mix of two files. Fetched blocks are kept in one
//! process-wide cache bounded in bytes.
//!
//! Credentials and endpoint come from the standard variables: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL` (plain
//! `http://` allowed for such an endpoint), with `VDX_S3_ENDPOINT` overriding the endpoint,
//! else from the profile `AWS_PROFILE` names in `~/.aws/credentials` and `~/.aws/config`;
//! `GOOGLE_*` and `AZURE_*` likewise for `gs://` and `az://`. Messages never show a secret:
//! [`redact`] strips a URL's user information and query string before it is shown.

mod aws_profile;
mod cache;
mod disk_cache;
mod remote;

pub use disk_cache::{reserve, CachedObject, DiskCache};
pub use remote::RemoteFile;

use object_store::ObjectStore;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Why a read from object storage failed. Every variant names the URL (redacted), but for
/// the local side of a transfer (`Local`), which names the file.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The local file of a transfer could not be read (the file to upload, a local path's
    /// size).
    #[error(transparent)]
    Local(#[from] crate::error_parts::FileError),
    /// The URL cannot be used (unknown scheme, no bucket, a query string).
    #[error("{url}: not a usable storage URL: {reason}")]
    BadUrl { url: String, reason: String },
    /// The object does not exist.
    #[error("{url}: no such object")]
    NotFound {
        url: String,
        #[source]
        source: object_store::Error,
    },
    /// The credentials were refused or are missing.
    #[error(
        "{url}: access denied to bucket '{bucket}' (check AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY, or the AWS_PROFILE's keys in ~/.aws/credentials; for gs:// \
         and az://, the GOOGLE_/AZURE_ credentials)"
    )]
    Denied {
        url: String,
        bucket: String,
        #[source]
        source: object_store::Error,
    },
    /// The object was replaced (its ETag or version changed) after vdx opened it.
    #[error(
        "{url}: the object changed while it was being read (it was replaced after vdx opened \
         it); open it again to read the new version"
    )]
    Changed {
        url: String,
        #[source]
        source: object_store::Error,
    },
    /// A read returned fewer bytes than the object's size promised (a truncated object).
    #[error("{url}: the object ended early: {got} bytes at offset {offset}, {want} expected")]
    ShortRead {
        url: String,
        offset: u64,
        want: u64,
        got: u64,
    },
    /// Any other failure of the store or the network, after the client's retries.
    #[error("{url}: {what} failed: {source}")]
    Store {
        url: String,
        what: &'static str,
        #[source]
        source: object_store::Error,
    },
}

impl StorageError {
    /// What sort of failure this is: a missing object is `NotFound`, the rest `Storage`.
    pub fn kind(&self) -> crate::error_parts::ErrorKind {
        match self {
            StorageError::NotFound { .. } => crate::error_parts::ErrorKind::NotFound,
            StorageError::Local(crate::error_parts::FileError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                crate::error_parts::ErrorKind::NotFound
            }
            StorageError::Local(_) => crate::error_parts::ErrorKind::Other,
            _ => crate::error_parts::ErrorKind::Storage,
        }
    }
    fn from_store(url: &str, what: &'static str, e: object_store::Error) -> Self {
        let url = redact(url);
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound { url, source: e },
            object_store::Error::Precondition { .. } | object_store::Error::NotModified { .. } => {
                StorageError::Changed { url, source: e }
            }
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => StorageError::Denied {
                bucket: bucket_of(&url),
                url,
                source: e,
            },
            e => StorageError::Store {
                url,
                what,
                source: e,
            },
        }
    }
}

/// Schemes vdx reads through object storage.
const SCHEMES: [&str; 7] = [
    "s3://", "s3a://", "gs://", "az://", "abfs://", "http://", "https://",
];

/// Whether `path` is a URL for object storage or an HTTP server rather than a local path.
pub fn is_url(path: &Path) -> bool {
    path.to_str().is_some_and(is_url_str)
}

/// [`is_url`] on text.
pub fn is_url_str(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    SCHEMES.iter().any(|p| lower.starts_with(p))
}

/// `url` as it may be shown: without user information (`user:password@`) and without a query
/// string (presigned signatures, SAS tokens). Anything else is returned as it is.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if is_url_str(url) => {
            let had_query = u.query().is_some();
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.set_query(None);
            let mut s = u.to_string();
            if had_query {
                s.push_str("?<redacted>");
            }
            s
        }
        _ => url.to_string(),
    }
}

fn bucket_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

/// Bytes and requests fetched from object storage by this process (for tests and reports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    pub bytes: u64,
    pub requests: u64,
}

static BYTES: AtomicU64 = AtomicU64::new(0);
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// What this process has fetched from object storage so far.
pub fn fetch_stats() -> FetchStats {
    FetchStats {
        bytes: BYTES.load(Ordering::Relaxed),
        requests: REQUESTS.load(Ordering::Relaxed),
    }
}

pub(crate) fn count_fetch(bytes: u64) {
    BYTES.fetch_add(bytes, Ordering::Relaxed);
    REQUESTS.fetch_add(1, Ordering::Relaxed);
}

/// The runtime the object store client runs on: two worker threads, shared by every caller,
/// which blocks on it from its own thread (FFmpeg's read callback, a rayon worker, Python).
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vdx-storage")
            .enable_all()
            .build()
            .expect("the storage runtime's threads cannot be started")
    })
}

/// A store and the object's path in it.
pub(crate) struct Located {
    pub store: Arc<dyn ObjectStore>,
    pub path: object_store::path::Path,
}

/// Stores by scheme and bucket (or HTTP origin), built once: they keep their connections.
fn stores() -> &'static Mutex<HashMap<String, Arc<dyn ObjectStore>>> {
    static S: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    S.get_or_init(Default::default)
}

/// Retries with backoff (from 100 ms, jittered, growing to at most 15 s apart) on
/// connection errors, 5xx, 429 and S3's SlowDown, for `VDX_STORAGE_RETRY_SECS` (60 by
/// default) per request: a server restarting or throttling is waited for, one that stays
/// away is reported after that time. (A count of retries would end a connection-refused
/// outage within a second or two: those backoffs start small.)
fn retry() -> object_store::RetryConfig {
    let secs = std::env::var("VDX_STORAGE_RETRY_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(60);
    object_store::RetryConfig {
        max_retries: 1000,
        retry_timeout: Duration::from_secs(secs),
        ..Default::default()
    }
}

fn client_options() -> object_store::ClientOptions {
    object_store::ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(60))
}

/// The store for `url` and the object's path in it.
pub(crate) fn locate(url: &str) -> Result<Located, StorageError> {
    let bad = |reason: &str| StorageError::BadUrl {
        url: redact(url),
        reason: reason.to_string(),
    };
    let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if parsed.query().is_some() {
        return Err(bad(
            "query strings (presigned URLs, SAS tokens) are not supported; give credentials \
             through the environment",
        ));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| bad("it names no bucket or host"))?
        .to_string();
    let scheme = parsed.scheme().to_ascii_lowercase();
    let key = format!("{scheme}://{host}:{}", parsed.port().unwrap_or(0));
    let path =
        object_store::path::Path::from_url_path(parsed.path()).map_err(|e| bad(&e.to_string()))?;
    if path.as_ref().is_empty() {
        return Err(bad("it names a bucket or host but no object"));
    }
    let mut map = stores().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(store) = map.get(&key) {
        return Ok(Located {
            store: store.clone(),
            path,
        });
    }
    let built: Result<Arc<dyn ObjectStore>, object_store::Error> = match scheme.as_str() {
        "s3" | "s3a" => {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            // The shared files' profile, under the environment (which wins key by key).
            let profile = aws_profile::profile(env).unwrap_or_default();
            let mut b = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(&host)
                .with_retry(retry())
                .with_client_options(client_options());
            if env("AWS_ACCESS_KEY_ID").is_none() {
                if let (Some(k), Some(s)) = (&profile.access_key_id, &profile.secret_access_key) {
                    b = b.with_access_key_id(k).with_secret_access_key(s);
                    if let Some(t) = &profile.session_token {
                        b = b.with_token(t);
                    }
                }
            }
            let endpoint = env("VDX_S3_ENDPOINT")
                .or_else(|| env("AWS_ENDPOINT_URL"))
                .or(profile.endpoint_url);
            if let Some(e) = endpoint {
                b = b.with_allow_http(e.starts_with("http://")).with_endpoint(e);
            }
            if env("AWS_REGION").is_none() {
                let region = env("AWS_DEFAULT_REGION").or(profile.region);
                b = b.with_region(region.as_deref().unwrap_or("us-east-1"));
            }
            b.build().map(|s| Arc::new(s) as _)
        }
        "gs" => object_store::gcp::GoogleCloudStorageBuilder::from_env()
            .with_bucket_name(&host)
            .with_retry(retry())
            .with_client_options(client_options())
            .build()
            .map(|s| Arc::new(s) as _),
        "az" | "abfs" => object_store::azure::MicrosoftAzureBuilder::from_env()
            .with_url(format!("{scheme}://{host}"))
            .with_retry(retry())
            .with_client_options(client_options())
            .build()
            .map(|s| Arc::new(s) as _),
        "http" | "https" => {
            let origin = &parsed[..url::Position::BeforePath];
            let opts = client_options().with_allow_http(scheme == "http");
            let mut b = object_store::http::HttpBuilder::new()
                .with_url(redact(origin))
                .with_retry(retry())
                .with_client_options(opts);
            if !parsed.username().is_empty() {
                // user:password@host: sent as HTTP basic authentication, never shown.
                use base64::Engine;
                let token = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    parsed.username(),
                    parsed.password().unwrap_or("")
                ));
                let mut headers = http::HeaderMap::new();
                if let Ok(v) = format!("Basic {token}").parse() {
                    headers.insert("authorization", v);
                }
                b = b.with_client_options(
                    client_options()
                        .with_allow_http(scheme == "http")
                        .with_default_headers(headers),
                );
            }
            b.build().map(|s| Arc::new(s) as _)
        }
        _ => return Err(bad("unknown scheme")),
    };
    let store = built.map_err(|e| StorageError::from_store(url, "setting up the client", e))?;
    map.insert(key, store.clone());
    Ok(Located { store, path })
}

/// Part size of a multipart upload (S3 asks for at least 5 MiB per part but the last).
const PART: usize = 16 << 20;

/// Uploads the local file `from` to `to` (a URL): one PUT up to one part's size, a multipart
/// upload above it (aborted on failure, so no partial object appears). The object appears
/// whole or not at all; a reader never sees part of it.
pub fn upload(from: &Path, to: &Path) -> Result<(), StorageError> {
    use object_store::ObjectStoreExt;
    let url = to.to_str().unwrap_or_default();
    let loc = locate(url)?;
    let len = std::fs::metadata(from)
        .map_err(|e| crate::error_parts::FileError::read(from, e))?
        .len();
    let fail = |e| StorageError::from_store(url, "an upload", e);
    if len <= PART as u64 {
        let data = std::fs::read(from).map_err(|e| crate::error_parts::FileError::read(from, e))?;
        runtime()
            .block_on(loc.store.put(&loc.path, data.into()))
            .map_err(fail)?;
        return Ok(());
    }
    let mut file =
        std::fs::File::open(from).map_err(|e| crate::error_parts::FileError::read(from, e))?;
    runtime().block_on(async {
        let mut up = loc.store.put_multipart(&loc.path).await.map_err(fail)?;
        let mut parts = Vec::new();
        loop {
            let mut buf = vec![0u8; PART];
            let mut n = 0;
            while n < PART {
                let k = std::io::Read::read(&mut file, &mut buf[n..])
                    .map_err(|e| crate::error_parts::FileError::read(from, e))?;
                if k == 0 {
                    break;
                }
                n += k;
            }
            if n == 0 {
                break;
            }
            buf.truncate(n);
            parts.push(up.put_part(buf.into()));
            if parts.len() >= 4 {
                for p in parts.drain(..) {
                    if let Err(e) = p.await {
                        let _ = up.abort().await;
                        return Err(fail(e));
                    }
                }
            }
        }
        for p in parts {
            if let Err(e) = p.await {
                let _ = up.abort().await;
                return Err(fail(e));
            }
        }
        up.complete().await.map_err(fail)?;
        Ok::<(), StorageError>(())
    })
}

/// Names of the objects directly under the "folder" `dir` (a URL).
pub fn list(dir: &Path) -> Result<Vec<String>, StorageError> {
    Ok(list_folder(dir)?.0)
}

/// The objects and the sub-folders (common prefixes) directly under the "folder" `dir` (a
/// URL), by name.
pub fn list_folder(dir: &Path) -> Result<(Vec<String>, Vec<String>), StorageError> {
    let url = dir
        .to_str()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    // `locate` wants an object: name a placeholder under the folder and take its parent.
    let loc = locate(&format!("{url}/_"))?;
    let prefix: object_store::path::Path = loc
        .path
        .parts()
        .take(loc.path.parts().count() - 1)
        .collect();
    let listed = runtime()
        .block_on(loc.store.list_with_delimiter(Some(&prefix)))
        .map_err(|e| StorageError::from_store(&url, "listing the folder", e))?;
    count_fetch(0);
    let files = listed
        .objects
        .into_iter()
        .filter_map(|o| o.location.filename().map(str::to_string))
        .collect();
    let dirs = listed
        .common_prefixes
        .into_iter()
        .filter_map(|p| p.filename().map(str::to_string))
        .collect();
    Ok((files, dirs))
}

/// Writes `data` as the object at `url` (one PUT: a manifest, a small report).
pub fn put(url: &Path, data: Vec<u8>) -> Result<(), StorageError> {
    use object_store::ObjectStoreExt;
    let u = url.to_str().unwrap_or_default();
    let loc = locate(u)?;
    runtime()
        .block_on(loc.store.put(&loc.path, data.into()))
        .map_err(|e| StorageError::from_store(u, "an upload", e))?;
    Ok(())
}

/// Reads a whole (small) object: a manifest, an annotation file, a health report. Always its
/// current version (one request up to 1 MiB), even where this process read an older one.
pub fn read_all(url: &Path) -> Result<Vec<u8>, StorageError> {
    let (mut f, first) = RemoteFile::open_reading(url, 1 << 20)?;
    let n = f.size() as usize;
    if first.len() >= n {
        return Ok(first[..n].to_vec());
    }
    let mut all = first.to_vec();
    all.extend(f.read_exact_at(first.len() as u64, n - first.len())?);
    Ok(all)
}

/// The size of a local file or of an object at a URL.
pub fn size_of(path: &Path) -> Result<u64, StorageError> {
    if is_url(path) {
        Ok(RemoteFile::open(path)?.size())
    } else {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| crate::error_parts::FileError::read(path, e).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths_and_redacted() {
        assert!(is_url(Path::new("s3://bucket/a/b.mp4")));
        assert!(is_url(Path::new("HTTPS://host/x.mkv")));
        assert!(!is_url(Path::new("/data/s3://x")));
        assert!(!is_url(Path::new("videos/a.mp4")));
        assert_eq!(
            redact("https://me:hunter2@host:8080/a.mp4?X-Amz-Signature=abc"),
            "https://host:8080/a.mp4?<redacted>"
        );
        assert_eq!(redact("s3://bucket/key.mp4"), "s3://bucket/key.mp4");
        assert_eq!(redact("/local/file.mp4"), "/local/file.mp4");
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        let e = locate("s3://bucket/").err().unwrap().to_string();
        assert!(e.contains("no object"), "{e}");
        let e = locate("https://h/x.mp4?sig=secret")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("query strings") && !e.contains("secret"), "{e}");
    }
}
