//! The health sidecar: `D.vdx.health.json` (or `D.vdxm.health.json`) beside the dataset,
//! written atomically, holding the [`HealthReport`] and the identity of the dataset bytes it
//! measured. A sidecar whose identity differs from the dataset's (another dataset, or the
//! same path after a rebuild) is refused with the reason.
//!
//! A dataset on object storage keeps its report beside it there too (`s3://b/D.vdx` has
//! `s3://b/D.vdx.health.json`), written by one PUT, so an object appears whole or not at all
//! and everyone reading the dataset finds the same report.

use super::HealthReport;
use crate::dataset::Dataset;
use crate::health::error::{HealthError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which dataset a report describes: CRC-32C over each file's header, field descriptors and
/// metadata rows (every sample's label, record and checksum, which covers its data) and its
/// allocation table, in shard order; with the sample count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub samples: u64,
    pub crc32c: u32,
    /// What the CRC covers. 1: the bytes above. 0, in reports written before there was this
    /// field: everything before the first data page (the dataset info and the zero gap before
    /// the page too), which a dataset on object storage would fetch only for this.
    #[serde(default)]
    pub scheme: u32,
}

/// The identity of `ds`'s bytes, as reports are written now.
pub fn identity(ds: &Dataset) -> Result<Identity> {
    identity_with(ds, 1)
}

fn identity_with(ds: &Dataset, scheme: u32) -> Result<Identity> {
    let mut crc = 0u32;
    for f in ds.files()? {
        let (rows, meta_off, data_start) = f.layout();
        let head_end = if scheme == 0 {
            data_start
        } else {
            meta_off + f.len() * rows.itemsize as u64
        };
        let alloc = f.header.alloc_table_ptr;
        let len = f.file_len();
        if head_end > len || data_start > len || alloc > len {
            return Err(crate::dataset::DatasetError::Malformed {
                path: f.path().to_path_buf(),
                reason: "cut short or unfinished".into(),
            }
            .into());
        }
        crc = crc32c::crc32c_append(crc, f.range(0, head_end)?);
        crc = crc32c::crc32c_append(crc, f.range(alloc, len - alloc)?);
    }
    Ok(Identity {
        samples: ds.len(),
        crc32c: crc,
        scheme,
    })
}

/// Where the sidecar of the dataset at `path` lives.
pub fn path_for(dataset: &Path) -> PathBuf {
    let mut name = dataset
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".health.json");
    dataset.with_file_name(name)
}

/// Write `report` beside its dataset (atomically: a reader never sees half a file); on
/// object storage, as the object beside the dataset's.
pub fn save(report: &HealthReport) -> Result<PathBuf> {
    let p = path_for(&report.dataset);
    let text = serde_json::to_vec(report).expect("serializable");
    if crate::storage::is_url(&p) {
        crate::storage::put(&p, text).map_err(crate::dataset::DatasetError::from)?;
    } else {
        crate::npy::write_atomic(&p, &text)?;
    }
    Ok(p)
}

/// The sidecar's bytes, `None` where there is none (locally or on object storage).
fn read_sidecar(p: &Path) -> Result<Option<Vec<u8>>> {
    if crate::storage::is_url(p) {
        return match crate::storage::read_all(p) {
            Ok(b) => Ok(Some(b)),
            Err(crate::storage::StorageError::NotFound { .. }) => Ok(None),
            Err(e) => Err(crate::dataset::DatasetError::from(e).into()),
        };
    }
    match std::fs::read(p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(HealthError::io(p, e)),
    }
}

/// The sidecar of `ds`, checked against the dataset's bytes. `Ok(None)` when there is none.
pub fn load(ds: &Dataset) -> Result<Option<HealthReport>> {
    let p = path_for(ds.path());
    let Some(bytes) = read_sidecar(&p)? else {
        return Ok(None);
    };
    let report: HealthReport =
        serde_json::from_slice(&bytes).map_err(|e| crate::dataset::DatasetError::Malformed {
            path: p.clone(),
            reason: format!("not a health report: {e}"),
        })?;
    // A report written before identities had a scheme is checked as it was written.
    let now = identity_with(ds, report.identity.scheme.min(1))?;
    if report.identity != now {
        return Err(crate::dataset::DatasetError::Malformed {
            path: p,
            reason: format!(
                "the health report is stale: it describes {} samples with CRC-32C {:08x}, \
                 the dataset now has {} samples with CRC-32C {:08x} (rebuilt or replaced); \
                 run the health pass again",
                report.identity.samples, report.identity.crc32c, now.samples, now.crc32c
            ),
        }
        .into());
    }
    Ok(Some(report))
}
