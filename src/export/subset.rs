//! Which samples an export takes: by label, range, list, stored split, health flags, a
//! seeded random subset, and a train/val split grouped by source video.

use crate::dataset::{Dataset, SampleMeta};
use crate::export::error::{ExportError, Result};
use crate::rng::Rng;
use std::collections::BTreeMap;

/// Which samples to export.
#[derive(Debug, Clone, Default)]
pub struct Subset {
    /// Keep only these labels.
    pub labels: Vec<i64>,
    /// Keep sample indices in `a..b`.
    pub range: Option<(u64, u64)>,
    /// Keep exactly these sample indices.
    pub samples: Vec<u64>,
    /// Then keep N at random (seeded).
    pub random: Option<(usize, u64)>,
    /// Keep only samples of these stored splits (an annotation dataset's `split`).
    pub splits: Vec<String>,
    /// Then split into train/val with this train share, grouped by source video. Without
    /// it, a dataset built from annotations keeps its own splits (one folder each).
    pub split: Option<(f64, u64)>,
    /// Leave out the samples carrying any of these health flags (from the health report
    /// saved beside the dataset, which must be there and current).
    pub exclude: Vec<String>,
}

/// The samples carrying any of `flags` in the dataset's saved health report, with the flags
/// they carry of those, in index order.
pub fn excluded_by_health(ds: &Dataset, flags: &[String]) -> Result<Vec<(u64, Vec<String>)>> {
    let report = crate::health::sidecar::load(ds)?.ok_or_else(|| {
        ExportError::param(
            "exclude",
            format!(
                "needs the dataset's health report ({}), which is not there: run the health \
                 pass first",
                crate::health::sidecar::path_for(ds.path()).display()
            ),
        )
    })?;
    let ids = report.flagged(flags)?;
    Ok(ids
        .into_iter()
        .map(|i| {
            let s = report.sample(i).expect("flagged samples are measured");
            let which = s
                .flags
                .iter()
                .filter(|f| flags.contains(f))
                .cloned()
                .collect();
            (i, which)
        })
        .collect())
}

/// The stored split of sample `m` by name (an annotation dataset's `split`), if any.
pub(super) fn stored_split(ds: &Dataset, m: &SampleMeta) -> Option<String> {
    let k = m.provenance["split"].as_u64()? as usize;
    ds.info()["splits"][k].as_str().map(str::to_string)
}

/// The samples an export takes, with their split name ("" without a split): the train/val
/// split asked for, else the splits the dataset stores.
pub fn select(ds: &Dataset, s: &Subset) -> Result<Vec<(u64, String)>> {
    let mut v: Vec<u64> = if s.samples.is_empty() {
        (0..ds.len()).collect()
    } else {
        for &i in &s.samples {
            if i >= ds.len() {
                return Err(ExportError::param(
                    "samples",
                    format!("{i} is out of range: the dataset has {} samples", ds.len()),
                ));
            }
        }
        s.samples.clone()
    };
    if let Some((a, b)) = s.range {
        if a >= b {
            return Err(ExportError::param("range", format!("{a}..{b} is empty")));
        }
        v.retain(|&i| i >= a && i < b);
    }
    // On object storage, every sample's metadata below side by side first (a failure is left
    // to the sample's own read, which reports it).
    if ds.is_remote() {
        let _ = ds.prefetch_meta(&v);
    }
    if !s.labels.is_empty() {
        let mut keep = Vec::with_capacity(v.len());
        for i in v {
            if s.labels.contains(&ds.meta(i)?.label) {
                keep.push(i);
            }
        }
        v = keep;
    }
    if !s.splits.is_empty() {
        let known = ds.splits();
        if let Some(bad) = s.splits.iter().find(|w| !known.contains(w)) {
            return Err(ExportError::param(
                "splits",
                format!(
                    "the dataset has no split '{bad}' (its splits: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        let mut keep = Vec::with_capacity(v.len());
        for i in v {
            let m = ds.meta(i)?;
            if stored_split(ds, &m).is_some_and(|w| s.splits.contains(&w)) {
                keep.push(i);
            }
        }
        v = keep;
    }
    if !s.exclude.is_empty() {
        let drop = excluded_by_health(ds, &s.exclude)?;
        v.retain(|i| drop.binary_search_by_key(i, |(k, _)| *k).is_err());
    }
    if let Some((n, seed)) = s.random {
        // Seeded partial Fisher-Yates, then back to index order.
        let mut rng = Rng::new(seed);
        let n = n.min(v.len());
        for k in 0..n {
            let j = rng.range_inclusive(k as u64, (v.len() - 1) as u64) as usize;
            v.swap(k, j);
        }
        v.truncate(n);
        v.sort_unstable();
    }
    let Some((train, seed)) = s.split else {
        let mut out = Vec::with_capacity(v.len());
        for i in v {
            let m = ds.meta(i)?;
            out.push((i, stored_split(ds, &m).unwrap_or_default()));
        }
        return Ok(out);
    };
    if !(0.0..=1.0).contains(&train) {
        return Err(ExportError::param(
            "split",
            "the train share must be in [0, 1]",
        ));
    }
    // Group by source video so that no video lands in both splits.
    let mut sources: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for i in v {
        let src = ds.meta(i)?.provenance["source"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        sources.entry(src).or_default().push(i);
    }
    let mut keys: Vec<String> = sources.keys().cloned().collect();
    let mut rng = Rng::new(seed);
    for k in (1..keys.len()).rev() {
        let j = rng.range_inclusive(0, k as u64) as usize;
        keys.swap(k, j);
    }
    let n_train = (keys.len() as f64 * train).round() as usize;
    let mut out = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        let split = if k < n_train { "train" } else { "val" };
        out.extend(sources[key].iter().map(|&i| (i, split.to_string())));
    }
    out.sort_unstable();
    Ok(out)
}
