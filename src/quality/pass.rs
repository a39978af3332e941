//! The dataset-wide quality pass: every sample against its source, on worker threads, with
//! progress and cancel.
//!
//! Samples are grouped by source video so that each source is opened and indexed once and
//! its frames are decoded in order (a keyframe group once per chunk of samples), like the
//! builder decodes them. Sources are taken largest first on a pool of `threads`; a long
//! source's keyframe groups are decoded side by side on the same pool. A sample whose source
//! is missing or changed is reported with the reason and the pass goes on.

use super::compare::{self, SampleQuality, SourceFinder, SourceRef};
use crate::dataset::{Dataset, Decoders, SampleMeta};
use crate::quality::error::{QualityError, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Samples decoded per batch of one source (bounds memory: a batch's source frames).
const CHUNK: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct PassOptions {
    pub sources: Option<PathBuf>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Decode the source frames only and measure nothing: the reference the pass's speed is
    /// held to (`vdx bench --what quality`).
    pub decode_only: bool,
}

/// A sample that could not be measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unmeasured {
    pub index: u64,
    pub reason: String,
}

/// The pass's result.
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    pub dataset: PathBuf,
    pub field: String,
    pub samples: Vec<SampleQuality>,
    pub unmeasured: Vec<Unmeasured>,
    /// Source frames decoded.
    pub source_frames: usize,
}

impl QualityReport {
    /// The `n` worst samples, worst first (flow: highest mean EPE; else lowest mean PSNR).
    pub fn worst(&self, n: usize) -> Vec<&SampleQuality> {
        let mut v: Vec<&SampleQuality> = self.samples.iter().collect();
        v.sort_by(|a, b| {
            b.badness()
                .total_cmp(&a.badness())
                .then(a.index.cmp(&b.index))
        });
        v.truncate(n);
        v
    }

    /// Summary numbers over all measured samples.
    pub fn summary(&self) -> serde_json::Value {
        let n = self.samples.len().max(1) as f64;
        let finite: Vec<f64> = self
            .samples
            .iter()
            .map(|s| s.psnr_mean)
            .filter(|v| v.is_finite())
            .collect();
        let epe: Vec<f64> = self.samples.iter().filter_map(|s| s.epe_mean).collect();
        serde_json::json!({
            "measured": self.samples.len(),
            "unmeasured": self.unmeasured.len(),
            "identical": self.samples.len() - finite.len(),
            "psnr_mean": (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64),
            "psnr_min": finite.iter().copied().reduce(f64::min),
            "ssim_mean": self.samples.iter().map(|s| s.ssim_mean).sum::<f64>() / n,
            "ssim_min": self.samples.iter().map(|s| s.ssim_min).reduce(f64::min),
            "epe_mean": (!epe.is_empty()).then(|| epe.iter().sum::<f64>() / epe.len() as f64),
            "epe_max": epe.iter().copied().reduce(f64::max),
        })
    }
}

/// Run the pass over every sample of `ds`. `progress(done, total)` is called as samples
/// finish; `cancel` stops it (the result is then `Err(Cancelled)`).
pub fn quality_pass(
    ds: &Dataset,
    opts: &PassOptions,
    cancel: &AtomicBool,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<QualityReport> {
    let build = compare::build_options(ds)?;
    let finder = SourceFinder::new(opts.sources.clone());
    let total = ds.len() as usize;
    // Group samples (their metadata and source reference, read once) by recorded source,
    // keeping sample order within each.
    let mut groups: Vec<(PathBuf, Vec<(SampleMeta, SourceRef)>)> = Vec::new();
    let mut at: std::collections::HashMap<PathBuf, usize> = Default::default();
    let mut unmeasured = Vec::new();
    for i in 0..ds.len() {
        let meta = ds.meta(i)?;
        match compare::source_ref(&meta) {
            Ok(r) => {
                let g = *at.entry(r.recorded.clone()).or_insert_with(|| {
                    groups.push((r.recorded.clone(), Vec::new()));
                    groups.len() - 1
                });
                groups[g].1.push((meta, r));
            }
            Err(e) => unmeasured.push(Unmeasured {
                index: i,
                reason: e.to_string(),
            }),
        }
    }
    let pool = crate::dataset::build::worker_pool(opts.threads)?;
    let threads = pool.current_num_threads();
    // Largest group first (longest-processing-time first), as the builder does.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&g| std::cmp::Reverse(groups[g].1.len()));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(unmeasured.len());
    let decoded = AtomicUsize::new(0);
    let measured: Mutex<Vec<SampleQuality>> = Mutex::new(Vec::new());
    let failed: Mutex<Vec<Unmeasured>> = Mutex::new(unmeasured);
    let fail = |ids: &[u64], e: &QualityError| {
        let mut f = failed.lock().unwrap_or_else(|p| p.into_inner());
        f.extend(ids.iter().map(|&index| Unmeasured {
            index,
            reason: e.to_string(),
        }));
    };
    pool.scope(|s| {
        for _ in 0..threads.min(groups.len()) {
            s.spawn(|_| {
                let mut decs = Decoders::default();
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&g) = order.get(j) else { break };
                    let (recorded, samples) = &groups[g];
                    let r = run_group(
                        ds,
                        recorded,
                        samples,
                        &finder,
                        &build,
                        opts,
                        threads,
                        &mut decs,
                        cancel,
                        &|q: Option<std::result::Result<SampleQuality, (u64, QualityError)>>,
                          frames| {
                            decoded.fetch_add(frames, Ordering::Relaxed);
                            match q {
                                Some(Ok(q)) => {
                                    measured.lock().unwrap_or_else(|p| p.into_inner()).push(q)
                                }
                                Some(Err((i, e))) => fail(&[i], &e),
                                None => {}
                            }
                            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                            progress(d, total);
                        },
                    );
                    if let Err(e) = r {
                        if e.is_cancelled() {
                            return;
                        }
                        // The whole source failed (missing, changed, unreadable).
                        let ids: Vec<u64> = samples.iter().map(|(m, _)| m.index).collect();
                        fail(&ids, &e);
                        let d = done.fetch_add(ids.len(), Ordering::Relaxed) + ids.len();
                        progress(d, total);
                    }
                }
            });
        }
    });
    if cancel.load(Ordering::Relaxed) {
        return Err(QualityError::Cancelled);
    }
    let mut samples = measured.into_inner().unwrap_or_else(|p| p.into_inner());
    samples.sort_by_key(|s| s.index);
    let mut unmeasured = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    unmeasured.sort_by_key(|u| u.index);
    Ok(QualityReport {
        dataset: ds.path().to_path_buf(),
        field: format!("{:?}", build.field).to_lowercase(),
        samples,
        unmeasured,
        source_frames: decoded.into_inner(),
    })
}

/// Hears each sample of a group: its result (`None` when only decoding) and the number of
/// source frames it took.
type Done<'a> = dyn Fn(Option<std::result::Result<SampleQuality, (u64, QualityError)>>, usize) + 'a;

/// One source's samples, in chunks of [`CHUNK`]. An `Err` means none of the group's samples
/// that were not reported yet could be measured (reported by the caller for all of them).
#[allow(clippy::too_many_arguments)]
fn run_group(
    ds: &Dataset,
    recorded: &std::path::Path,
    samples: &[(SampleMeta, SourceRef)],
    finder: &SourceFinder,
    build: &crate::dataset::BuildOptions,
    opts: &PassOptions,
    group_workers: usize,
    decs: &mut Decoders,
    cancel: &AtomicBool,
    done: &Done<'_>,
) -> Result<()> {
    let source = finder.find(recorded)?;
    let mut dec = compare::open_source(&source, build, group_workers)?;
    for (m, r) in samples {
        compare::check_source(&dec, r, m.index)?;
    }
    for chunk in samples.chunks(CHUNK) {
        if cancel.load(Ordering::Relaxed) {
            return Err(QualityError::Cancelled);
        }
        let mut all: Vec<usize> = chunk
            .iter()
            .flat_map(|(_, r)| r.frames.iter().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        let frames = dec.frames_partial(&all);
        let by: std::collections::HashMap<
            usize,
            &crate::video::error::Result<crate::video::decode::RgbFrame>,
        > = all.iter().copied().zip(frames.iter()).collect();
        for (m, r) in chunk {
            if opts.decode_only {
                done(None, r.frames.len());
                continue;
            }
            let per_position: Vec<Result<&[u8]>> = r
                .frames
                .iter()
                .map(|i| match by[i] {
                    Ok(f) => Ok(f.data.as_slice()),
                    Err(e) => Err(QualityError::decode(
                        &source,
                        format!("frame {i}: {}", e.bare_reason()),
                    )),
                })
                .collect();
            let got = compare::reference_with_stand_ins(per_position, r);
            let q = got
                .and_then(|views| {
                    let stored = ds.decode(m.index, decs)?;
                    compare::measure(m, &source, r, stored, &views, build, false)
                })
                .map(|c| c.quality)
                .map_err(|e| (m.index, e));
            done(Some(q), r.frames.len());
        }
    }
    Ok(())
}
