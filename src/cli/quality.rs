//! `vdx quality`: how far a dataset's stored samples are from their source frames.

use crate::cli::progress::{bar, ctrl_c_flag};
use crate::dataset::Dataset;
use crate::error::Result;
use crate::quality::{self, PassOptions, SourceFinder};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct QualityArgs {
    /// A dataset (.vdx) or manifest (.vdxm).
    pub dataset: PathBuf,
    /// Folder the source videos moved to (looked up by the tail of their recorded paths).
    #[arg(long)]
    pub sources: Option<PathBuf>,
    /// Measure one sample and list every frame (and flow pair).
    #[arg(long)]
    pub sample: Option<u64>,
    /// How many of the worst samples to list.
    #[arg(long, default_value_t = 10)]
    pub worst: usize,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Everything as JSON on stdout (every sample with every frame).
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub quiet: bool,
}

pub fn cmd_quality(a: QualityArgs) -> Result<ExitCode> {
    let ds = Dataset::open(&a.dataset)?;
    if let Some(i) = a.sample {
        let c = quality::compare_sample(&ds, i, &SourceFinder::new(a.sources.clone()))?;
        let q = &c.quality;
        if a.json {
            println!("{}", serde_json::to_string_pretty(q).expect("serializable"));
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "sample {i} ({}x{}) from {}",
            c.width,
            c.height,
            q.source.display()
        );
        for f in &q.frames {
            println!(
                "  position {:>3}  source frame {:>6}  PSNR {:>10}  SSIM {:.5}{}",
                f.position,
                f.source_frame,
                quality::metrics::db_text(f.psnr),
                f.ssim,
                if f.damaged {
                    "  (damaged: a stand-in)"
                } else {
                    ""
                }
            );
        }
        for (k, e) in q.flow_epe.iter().enumerate() {
            println!("  flow {k:>3}->{:<3} EPE {e:.4} px", k + 1);
        }
        println!(
            "mean PSNR {}, min {}; mean SSIM {:.5}, min {:.5}{}",
            quality::metrics::db_text(q.psnr_mean),
            quality::metrics::db_text(q.psnr_min),
            q.ssim_mean,
            q.ssim_min,
            q.epe_mean
                .map(|e| format!("; mean EPE {e:.4} px"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let cancel = ctrl_c_flag();
    let quiet = a.quiet || a.json;
    let pb = bar(ds.len(), quiet, "samples");
    let opts = PassOptions {
        sources: a.sources.clone(),
        threads: a.threads,
        decode_only: false,
    };
    let r = quality::quality_pass(&ds, &opts, &cancel, &|d, _| pb.set_position(d as u64));
    pb.finish_and_clear();
    let r = r?;
    let worst: Vec<u64> = r.worst(a.worst).iter().map(|s| s.index).collect();
    if a.json {
        let mut v = serde_json::to_value(&r).expect("serializable");
        v["summary"] = r.summary();
        v["worst"] = serde_json::json!(worst);
        println!("{v}");
    } else {
        let s = r.summary();
        println!(
            "{}: {} samples measured ({} field), {} source frames decoded",
            r.dataset.display(),
            r.samples.len(),
            r.field,
            r.source_frames
        );
        if let Some(p) = s["psnr_mean"].as_f64() {
            println!(
                "PSNR mean {:.2} dB (lowest sample {:.2} dB); SSIM mean {:.5} (lowest frame {:.5})",
                p,
                s["psnr_min"].as_f64().unwrap_or(f64::NAN),
                s["ssim_mean"].as_f64().unwrap_or(f64::NAN),
                s["ssim_min"].as_f64().unwrap_or(f64::NAN)
            );
        }
        if let Some(e) = s["epe_mean"].as_f64() {
            println!(
                "flow EPE mean {e:.4} px (worst sample {:.4} px)",
                s["epe_max"].as_f64().unwrap_or(f64::NAN)
            );
        }
        if !worst.is_empty() {
            println!("worst samples:");
            for q in r.worst(a.worst) {
                println!(
                    "  sample {:>6}  PSNR {:>10}  SSIM {:.5}{}  {}",
                    q.index,
                    quality::metrics::db_text(q.psnr_mean),
                    q.ssim_mean,
                    q.epe_mean
                        .map(|e| format!("  EPE {e:.4} px"))
                        .unwrap_or_default(),
                    q.source.display()
                );
            }
        }
        for u in &r.unmeasured {
            eprintln!(
                "sample {}: not measured: {}",
                u.index,
                super::with_flags(&u.reason)
            );
        }
    }
    Ok(if r.unmeasured.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
