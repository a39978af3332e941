//! `vdx verify`: structure, pointers, checksums, and that every sample decodes.

use crate::dataset::{Dataset, Decoders};
use crate::error::{Result, VdxError};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// What `verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    pub path: String,
    pub samples: u64,
    pub checked: u64,
    pub decoded: u64,
    /// One line per problem, naming the sample.
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.checked == self.samples
    }
}

/// Verify `path`: the structure (done by `Dataset::open`, an error if it fails), that no two
/// allocations overlap, every sample's pointers and checksum, and (with `decode`) that every
/// sample decodes to its recorded shape.
pub fn verify(
    path: &Path,
    decode: bool,
    cancel: &AtomicBool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<VerifyReport> {
    let ds = Dataset::open(path)?;
    let mut problems = Vec::new();
    {
        // (shard, ptr, size, sample): allocations can only overlap within one file.
        let mut all: Vec<(usize, u64, u64, u64)> = Vec::new();
        for i in 0..ds.len() {
            if let Ok(m) = ds.meta(i) {
                all.push((m.shard, m.data_ptr, m.data_size, i));
                all.push((m.shard, m.provenance_ptr, m.provenance_size, i));
            }
        }
        all.sort_unstable();
        for w in all.windows(2) {
            let (a, b) = ((w[0].1, w[0].2, w[0].3), (w[1].1, w[1].2, w[1].3));
            if w[0].0 == w[1].0 && a.0 + a.1 > b.0 {
                let w = [a, b];
                problems.push(format!(
                    "samples {} and {} have overlapping data ({}+{} and {})",
                    w[0].2, w[1].2, w[0].0, w[0].1, w[1].0
                ));
            }
        }
    }
    let n = ds.len();
    let done = AtomicUsize::new(0);
    let decoded = AtomicUsize::new(0);
    use rayon::prelude::*;
    let per_sample: Vec<Option<String>> = (0..n)
        .into_par_iter()
        .map_init(Decoders::default, |dec, i| {
            if cancel.load(Ordering::Relaxed) {
                return Some("cancelled".to_string());
            }
            let r = ds.verify_sample_checksum(i).and_then(|_| {
                if decode {
                    let m = ds.meta(i)?;
                    let got = ds.decode(i, dec)?;
                    let (h, w) = m.record.size_hw();
                    let ok = match &got {
                        crate::dataset::SampleData::Clip(c) => {
                            c.num_frames == m.record.num_frames() as usize
                                && (c.height, c.width) == (h as usize, w as usize)
                        }
                        crate::dataset::SampleData::Flow(f) => {
                            f.flow.len()
                                == (m.record.num_frames() as usize).saturating_sub(1)
                                    * h as usize
                                    * w as usize
                                    * 2
                        }
                    };
                    if !ok {
                        return Err(VdxError::Dataset {
                            path: ds.path().to_path_buf(),
                            reason: format!("sample {i}: decoded shape differs from its record"),
                        });
                    }
                    decoded.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            });
            let d = done.fetch_add(1, Ordering::Relaxed) as u64 + 1;
            if d % 64 == 0 || d == n {
                progress(d, n);
            }
            r.err().map(|e| e.to_string())
        })
        .collect();
    if cancel.load(Ordering::Relaxed) {
        return Err(VdxError::Cancelled);
    }
    problems.extend(per_sample.into_iter().flatten());
    Ok(VerifyReport {
        path: path.display().to_string(),
        samples: n,
        checked: done.load(Ordering::Relaxed) as u64,
        decoded: decoded.load(Ordering::Relaxed) as u64,
        problems,
    })
}
