//! `vdx verify`: every rule of FORMAT.md, checksums, and that every sample decodes.
//!
//! Opening the file checks its structure (reader.rs; an error if that fails). Then the rules
//! of the whole file (`verify_rules.rs`: fields, arguments, dataset info, gap, allocation
//! table) and, in parallel, those of each sample (`verify_sample.rs`: row, record, data,
//! provenance, checksum), and with `decode` a full decode of every sample. Each problem names
//! its rule, the sample and the field.

use crate::dataset::error::{DatasetError, Result};
use crate::dataset::verify_rules::{self, Problem};
use crate::dataset::verify_sample::{self, SampleRules};
use crate::dataset::{Dataset, Decoders};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The rule a sample breaks when it does not decode to its record's shape.
pub const DECODES: &str = "sample decodes to its record's shape";
/// At most this many problems of one rule are listed; the rest are counted.
const PER_RULE: usize = 100;

/// What `verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    pub path: String,
    pub samples: u64,
    pub checked: u64,
    pub decoded: u64,
    /// One line per problem: `sample 3, field segments: rule "...": what is wrong`.
    pub problems: Vec<String>,
    /// The same problems, one object each.
    pub violations: Vec<Violation>,
}

/// One problem of a report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Violation {
    pub rule: String,
    /// The sample's index in the dataset (over all shards of a manifest), where the rule is
    /// about one sample.
    pub sample: Option<u64>,
    /// The shard (position in the manifest) for a manifest.
    pub shard: Option<usize>,
    /// `field NAME`, `allocation table`, `header` or `gap`.
    pub part: String,
    pub detail: String,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.checked == self.samples
    }
}

/// Verify `path` (a dataset file or a manifest): the structure (done by `Dataset::open`, an
/// error if it fails), every rule of FORMAT.md, every checksum, and (with `decode`) that
/// every sample decodes to its recorded shape.
pub fn verify(
    path: &Path,
    decode: bool,
    cancel: &AtomicBool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<VerifyReport> {
    let ds = Dataset::open(path)?;
    let files = ds.files()?;
    let multi = files.len() > 1;
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.path()
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
        })
        .collect();
    let mut starts = Vec::with_capacity(files.len());
    let mut at = 0u64;
    for f in &files {
        starts.push(at);
        at += f.len();
    }
    // (shard, problem): the file-level rules of every file first.
    let mut found: Vec<(usize, Problem)> = Vec::new();
    let mut rules = Vec::with_capacity(files.len());
    for (s, f) in files.iter().enumerate() {
        // Every rule reads bytes: a dataset on object storage is fetched whole here.
        f.fetch_all()?;
        let mut ps = Vec::new();
        let facts = verify_rules::check_descriptors(verify_rules::head(f), &mut ps);
        verify_rules::check_info(f, &mut ps);
        verify_rules::check_gap(f, &mut ps);
        let r = SampleRules::new(f, &facts);
        let pointers: Option<Vec<_>> = r
            .as_ref()
            .map(|r| (0..f.len()).map(|i| r.pointers(i)).collect());
        verify_rules::check_allocations(f, pointers.as_deref(), &mut ps);
        found.extend(ps.into_iter().map(|p| (s, p)));
        rules.push(r);
    }
    let video = format!("field {}", ds.video_field().name);
    let n = ds.len();
    let done = AtomicUsize::new(0);
    let decoded = AtomicUsize::new(0);
    use rayon::prelude::*;
    let per_sample: Vec<(usize, Vec<Problem>)> = (0..n)
        .into_par_iter()
        .map_init(Decoders::default, |dec, i| {
            let Ok((s, j)) = ds.shard_of(i) else {
                return (0, Vec::new());
            };
            if cancel.load(Ordering::Relaxed) {
                return (s, Vec::new());
            }
            let mut ps = match &rules[s] {
                Some(r) => r.check(j),
                // Fields not the four of a vdx dataset (reported above): the reader's own
                // checksum check still runs.
                None => match ds.verify_sample_checksum(i) {
                    Ok(()) => Vec::new(),
                    Err(e) => vec![Problem::at(
                        Some(j),
                        "field checksum",
                        verify_sample::CHECKSUM,
                        bare(&e, j),
                    )],
                },
            };
            if decode {
                match decode_one(&ds, i, dec) {
                    Ok(()) => {
                        decoded.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => ps.push(Problem::at(Some(j), video.clone(), DECODES, bare(&e, j))),
                }
            }
            let d = done.fetch_add(1, Ordering::Relaxed) as u64 + 1;
            if d % 64 == 0 || d == n {
                progress(d, n);
            }
            (s, ps)
        })
        .collect();
    if cancel.load(Ordering::Relaxed) {
        return Err(DatasetError::Cancelled);
    }
    found.extend(
        per_sample
            .into_iter()
            .flat_map(|(s, ps)| ps.into_iter().map(move |p| (s, p))),
    );
    let (problems, violations) = listed(&found, multi, &names, &starts);
    Ok(VerifyReport {
        path: path.display().to_string(),
        samples: n,
        checked: done.load(Ordering::Relaxed) as u64,
        decoded: decoded.load(Ordering::Relaxed) as u64,
        problems,
        violations,
    })
}

/// Decode sample `i` and hold the result to its record's shape.
fn decode_one(ds: &Dataset, i: u64, dec: &mut Decoders) -> Result<()> {
    let m = ds.meta(i)?;
    let got = ds.decode(i, dec)?;
    let (h, w) = m.record.size_hw();
    let t = m.record.num_frames() as usize;
    let ok = match &got {
        crate::dataset::SampleData::Clip(c) => {
            c.num_frames == t && (c.height, c.width) == (h as usize, w as usize)
        }
        crate::dataset::SampleData::Flow(f) => {
            f.flow.len() == t.saturating_sub(1) * h as usize * w as usize * 2
        }
    };
    if !ok {
        return Err(DatasetError::Malformed {
            path: ds.path().to_path_buf(),
            reason: "the decoded shape differs from its record".into(),
        });
    }
    Ok(())
}

/// A reader error without the path and the 'sample j: ' the problem line already gives.
fn bare(e: &DatasetError, j: u64) -> String {
    let r = e.bare_reason();
    r.strip_prefix(&format!("sample {j}: "))
        .map(str::to_string)
        .unwrap_or(r)
}

/// The lines and objects of a report: at most `PER_RULE` of each rule, then a count.
fn listed(
    found: &[(usize, Problem)],
    multi: bool,
    names: &[String],
    starts: &[u64],
) -> (Vec<String>, Vec<Violation>) {
    let mut per_rule: std::collections::BTreeMap<&str, usize> = Default::default();
    let (mut lines, mut objects) = (Vec::new(), Vec::new());
    for (s, p) in found {
        let c = per_rule.entry(p.rule).or_default();
        *c += 1;
        if *c > PER_RULE {
            continue;
        }
        let shard = multi.then(|| (*s, names[*s].as_str(), starts[*s]));
        lines.push(p.render(shard));
        objects.push(Violation {
            rule: p.rule.to_string(),
            sample: p.sample.map(|j| starts[*s] + j),
            shard: multi.then_some(*s),
            part: p.part.clone(),
            detail: p.detail.clone(),
        });
    }
    for (rule, c) in per_rule {
        if c > PER_RULE {
            lines.push(format!(
                "rule \"{rule}\": {} more problems like these, not listed",
                c - PER_RULE
            ));
        }
    }
    (lines, objects)
}
