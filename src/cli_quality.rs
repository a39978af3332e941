//! `vdx quality`: how far a dataset's stored samples are from their source frames.

use crate::cli_dataset::{bar, ctrl_c_flag};
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

fn db(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2} dB")
    } else {
        "identical".into()
    }
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
                db(f.psnr),
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
            db(q.psnr_mean),
            db(q.psnr_min),
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
                    db(q.psnr_mean),
                    q.ssim_mean,
                    q.epe_mean
                        .map(|e| format!("  EPE {e:.4} px"))
                        .unwrap_or_default(),
                    q.source.display()
                );
            }
        }
        for u in &r.unmeasured {
            eprintln!("sample {}: not measured: {}", u.index, u.reason);
        }
    }
    Ok(if r.unmeasured.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Args, Debug)]
pub struct CompareFieldsArgs {
    /// Video files or folders.
    #[arg(required = true)]
    pub videos: Vec<PathBuf>,
    /// Fields to compare.
    #[arg(long, default_value = "frames,segments,flow")]
    pub fields: String,
    /// JPEG qualities of the frames field.
    #[arg(long, default_value = "75,90,95")]
    pub quality: String,
    /// CRFs of the segments field.
    #[arg(long, default_value = "18,23,28")]
    pub crf: String,
    /// Keyframe intervals of the segments field (each with each CRF).
    #[arg(long, default_value = "8,30")]
    pub keyint: String,
    /// int8 scales of the flow field.
    #[arg(long, default_value = "4")]
    pub flow_scale: String,
    /// Segments codec: h264, hevc, vp9, av1.
    #[arg(long, default_value = "h264")]
    pub codec: String,
    /// At most this many videos (spread over the sorted list).
    #[arg(long, default_value_t = 10)]
    pub videos_max: usize,
    /// Clips per video and frames per clip.
    #[arg(long, default_value_t = 2)]
    pub clips: usize,
    #[arg(long, default_value_t = 16)]
    pub frames: usize,
    /// Frame size: N or WxH.
    #[arg(long, default_value = "224")]
    pub size: String,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub quiet: bool,
}

fn list<T: std::str::FromStr>(name: &str, s: &str) -> Result<Vec<T>> {
    s.split(',')
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse::<T>().map_err(|_| {
                crate::error::VdxError::param(name, format!("'{x}' in '{s}' is not a number"))
            })
        })
        .collect()
}

/// The options `vdx compare-fields` runs with.
pub fn compare_fields_options(
    a: &CompareFieldsArgs,
) -> Result<quality::field_compare::FieldCompareOptions> {
    let mut o = quality::field_compare::FieldCompareOptions {
        inputs: a.videos.clone(),
        max_videos: a.videos_max,
        threads: a.threads,
        qualities: list("--quality", &a.quality)?,
        crfs: list("--crf", &a.crf)?,
        keyints: list("--keyint", &a.keyint)?,
        flow_scales: list("--flow-scale", &a.flow_scale)?,
        ..Default::default()
    };
    o.fields = a
        .fields
        .split(',')
        .map(|f| f.trim().parse())
        .collect::<Result<_>>()?;
    let (w, h) = crate::cli::parse_size(&a.size)?;
    o.base.width = w;
    o.base.height = h;
    o.base.sampler.num_clips = a.clips;
    o.base.sampler.frames_per_clip = a.frames;
    o.base.segment.codec = a.codec.clone();
    Ok(o)
}

fn ms(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn cmd_compare_fields(a: CompareFieldsArgs) -> Result<ExitCode> {
    let o = compare_fields_options(&a)?;
    let cancel = ctrl_c_flag();
    let n = quality::field_compare::variants(&o).len() as u64 * 2;
    let pb = bar(n, a.quiet || a.json, "variants");
    let r = quality::field_compare::compare_fields(&o, &cancel, &|d, _, what| {
        pb.set_position(d as u64);
        pb.set_message(what.to_string());
    });
    pb.finish_and_clear();
    let r = r?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).expect("serializable")
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<28} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "variant",
        "kB/clip",
        "build s",
        "seq ms",
        "rand ms",
        "frame ms",
        "PSNR dB",
        "SSIM",
        "EPE px"
    );
    for v in &r {
        println!(
            "{:<28} {:>10.1} {:>8.2} {:>9} {:>9} {:>9} {:>9} {:>8.4} {:>8}",
            v.name,
            v.bytes_per_clip / 1e3,
            v.build_secs,
            ms(v.read_sequential_ms),
            ms(v.read_random_ms),
            ms(v.random_frame_ms),
            v.psnr.map_or("identical".into(), |p| format!("{p:.2}")),
            v.ssim,
            v.epe.map_or("-".into(), |e| format!("{e:.4}")),
        );
    }
    println!(
        "{} source clips decoded once for all variants in {:.1} s; build s is encoding and writing",
        r.first().map_or(0, |v| v.samples),
        r.first().map_or(0.0, |v| v.source_decode_secs)
    );
    println!(
        "{} clips per variant; read times are per clip (seq: in order, rand: shuffled); frame ms: one random frame alone (median); quality against the source frames (flow: keyframes; EPE: stored int8 against fresh Farneback)",
        r.first().map_or(0, |v| v.samples)
    );
    Ok(ExitCode::SUCCESS)
}
