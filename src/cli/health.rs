//! `vdx health`: the clips of a dataset that will hurt training, from its stored samples.

use crate::cli::progress::{bar, ctrl_c_flag};
use crate::dataset::{Dataset, Decoders};
use crate::error::{Result, VdxError};
use crate::health::{
    self, sidecar, HealthOptions, HealthReport, SampleHealth, Thresholds, FLAGS, SCORES,
};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct HealthArgs {
    /// A dataset (.vdx) or manifest (.vdxm).
    pub dataset: PathBuf,
    /// Measure one sample and list every frame.
    #[arg(long)]
    pub sample: Option<u64>,
    /// List the samples with this flag (repeatable; default: every flagged sample).
    #[arg(long = "flag")]
    pub flags: Vec<String>,
    /// Order the list by a score, highest first (brightness, motion, sharpness, cuts,
    /// frozen, black, bars; prefix '-' for lowest first).
    #[arg(long, allow_hyphen_values = true)]
    pub sort: Option<String>,
    /// How many samples to list.
    #[arg(long, default_value_t = 20)]
    pub list: usize,
    /// A threshold, NAME=VALUE (repeatable): black_luma, black_ratio, blank_std,
    /// clip_fraction, dark_mean, light_mean, frozen_diff, frozen_flow_px, frozen_min_frames,
    /// static_motion, static_flow_px, cut_threshold, bar_std, bar_fraction, blur_variance,
    /// duplicate_bits.
    #[arg(long = "threshold")]
    pub thresholds: Vec<String>,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Do not write the report beside the dataset (D.vdx.health.json).
    #[arg(long)]
    pub no_save: bool,
    /// The whole report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub quiet: bool,
}

/// Thresholds from NAME=VALUE pairs over the defaults (names and values checked by serde).
pub fn parse_thresholds(pairs: &[String]) -> Result<Thresholds> {
    let mut v = serde_json::to_value(Thresholds::default()).expect("serializable");
    for p in pairs {
        let Some((k, val)) = p.split_once('=') else {
            return Err(VdxError::param(
                "threshold",
                format!("'{p}' is not NAME=VALUE"),
            ));
        };
        let k = k.trim();
        if v.get(k).is_none() {
            let names: Vec<&String> = v.as_object().expect("object").keys().collect();
            return Err(VdxError::param(
                "threshold",
                format!("'{k}' is not a threshold; thresholds: {names:?}"),
            ));
        }
        let num: f64 = val
            .trim()
            .parse()
            .map_err(|_| VdxError::param("threshold", format!("{k}: '{val}' is not a number")))?;
        if !num.is_finite() || num < 0.0 {
            return Err(VdxError::param(
                "threshold",
                format!("{k}: {val} must be a number, 0 or more"),
            ));
        }
        v[k] = if v[k].is_u64() {
            if num.fract() != 0.0 {
                return Err(VdxError::param(
                    "threshold",
                    format!("{k}: {val} must be a whole number"),
                ));
            }
            serde_json::json!(num as u64)
        } else {
            serde_json::json!(num)
        };
    }
    serde_json::from_value(v).map_err(|e| VdxError::param("threshold", e.to_string()))
}

pub fn cmd_health(a: HealthArgs) -> Result<ExitCode> {
    check_flags_and_sort(&a)?;
    let thresholds = parse_thresholds(&a.thresholds)?;
    let ds = Dataset::open(&a.dataset)?;
    if let Some(i) = a.sample {
        let s = health::measure_sample(&ds, i, &mut Decoders::default(), &thresholds)?;
        if a.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&s).expect("serializable")
            );
            return Ok(ExitCode::SUCCESS);
        }
        print_sample(i, &s);
        return Ok(ExitCode::SUCCESS);
    }
    let cancel = ctrl_c_flag();
    let quiet = a.quiet || a.json;
    let pb = bar(ds.len(), quiet, "samples");
    let opts = HealthOptions {
        threads: a.threads,
        thresholds,
    };
    let r = health::health_pass(&ds, &opts, &cancel, &|d, _| pb.set_position(d as u64));
    pb.finish_and_clear();
    let r = r?;
    // The report is shown even where it cannot be saved (a read-only bucket, a full disk):
    // the pass is not lost, and the failure is the command's error after it.
    let (saved, not_saved) = match (!a.no_save).then(|| sidecar::save(&r)) {
        Some(Ok(p)) => (Some(p), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    if a.json {
        println!("{}", serde_json::to_string(&r).expect("serializable"));
    } else {
        print_report(&a, &r, saved);
    }
    if let Some(e) = not_saved {
        eprintln!(
            "vdx: the report above was not saved beside the dataset (--no-save measures \
             without saving; --json prints it whole)"
        );
        return Err(e.into());
    }
    Ok(ExitCode::SUCCESS)
}

/// Fails on a `--flag` that is no health flag or a `--sort` that is no score.
fn check_flags_and_sort(a: &HealthArgs) -> Result<()> {
    for f in &a.flags {
        if !FLAGS.contains(&f.as_str()) {
            return Err(VdxError::param(
                "flag",
                format!("'{f}' is not a health flag; flags: {}", FLAGS.join(", ")),
            ));
        }
    }
    if let Some(s) = &a.sort {
        if !SCORES.contains(&s.trim_start_matches('-')) {
            return Err(VdxError::param(
                "sort",
                format!("'{s}' is not a score; scores: {}", SCORES.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Prints one measured sample: its summary line, then a line for every frame.
fn print_sample(i: u64, s: &SampleHealth) {
    println!(
        "sample {i}: flags {}; brightness {:.1}, motion {:.2}, sharpness {:.1}, bars {}/{}/{}/{} (top/bottom/left/right), hash {}",
        if s.flags.is_empty() { "none".to_string() } else { s.flags.join(", ") },
        s.brightness,
        s.motion_mean,
        s.sharpness_median,
        s.bars.top,
        s.bars.bottom,
        s.bars.left,
        s.bars.right,
        s.phash
    );
    for (k, &p) in s.positions.iter().enumerate() {
        let pair = |v: &Vec<f64>| {
            k.checked_sub(1)
                .and_then(|j| v.get(j))
                .map(|x| format!("{x:8.2}"))
                .unwrap_or_else(|| "       -".into())
        };
        let mut marks = Vec::new();
        if s.black_frames.contains(&p) {
            marks.push("black");
        }
        if s.blank_frames.contains(&p) {
            marks.push("blank");
        }
        if s.cuts.contains(&p) {
            marks.push("cut before");
        }
        if s.frozen_runs.iter().any(|r| (r[0]..=r[1]).contains(&p)) {
            marks.push("frozen");
        }
        println!(
            "  frame {p:>4}  luma {:6.1} ± {:5.1}  sharpness {:9.1}  diff {}  content {}  {}",
            s.luma_mean[k],
            s.luma_std[k],
            s.sharpness[k],
            pair(&s.motion),
            pair(&s.content),
            marks.join(", ")
        );
    }
}

/// Prints the report as text: counts, flags, duplicate groups, the listed samples, the
/// unreadable ones (stderr) and where the report was saved.
fn print_report(a: &HealthArgs, r: &HealthReport, saved: Option<PathBuf>) {
    println!(
        "{}: {} samples measured, {} unreadable",
        r.dataset.display(),
        r.samples.len(),
        r.unreadable.len()
    );
    let counts: Vec<String> = r
        .flag_counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| format!("{f} {n}"))
        .collect();
    println!(
        "flags: {}",
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        }
    );
    println!("near-duplicate groups: {}", r.duplicate_groups.len());
    for g in r.duplicate_groups.iter().take(a.list) {
        println!("  {g:?}");
    }
    let mut listed: Vec<u64> = r
        .samples
        .iter()
        .filter(|s| {
            if a.flags.is_empty() {
                !s.flags.is_empty()
            } else {
                a.flags.iter().any(|f| s.has(f))
            }
        })
        .map(|s| s.index)
        .collect();
    if let Some(key) = &a.sort {
        match key.strip_prefix('-') {
            Some(name) => r.order_by(&mut listed, name, true),
            None => r.order_by(&mut listed, key, false),
        }
    }
    if !listed.is_empty() {
        println!(
            "samples ({} listed of {}):",
            listed.len().min(a.list),
            listed.len()
        );
    }
    for s in listed.iter().take(a.list).filter_map(|&i| r.sample(i)) {
        println!("  sample {:>6}  {}", s.index, s.summary("  "));
    }
    for u in &r.unreadable {
        eprintln!("sample {}: not measured: {}", u.index, u.reason);
    }
    if let Some(p) = saved {
        println!("report: {}", p.display());
    }
}
