//! `vdx compare-fields`: the three fields built from a sample of the user's videos and
//! measured side by side.

use crate::cli::progress::{bar, ctrl_c_flag};
use crate::error::Result;
use crate::quality;
use crate::quality::field_compare::parse_list;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Keep every variant's dataset in this folder (NAME.vdx, e.g. frames_q90.vdx).
    #[arg(long)]
    pub keep: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub quiet: bool,
}

/// The options `vdx compare-fields` runs with.
pub fn compare_fields_options(
    a: &CompareFieldsArgs,
) -> Result<quality::field_compare::FieldCompareOptions> {
    let mut o = quality::field_compare::FieldCompareOptions {
        inputs: a.videos.clone(),
        max_videos: a.videos_max,
        threads: a.threads,
        qualities: parse_list("--quality", &a.quality)?,
        crfs: parse_list("--crf", &a.crf)?,
        keyints: parse_list("--keyint", &a.keyint)?,
        flow_scales: parse_list("--flow-scale", &a.flow_scale)?,
        keep: a.keep.clone(),
        ..Default::default()
    };
    o.fields = a
        .fields
        .split(',')
        .map(|f| f.trim().parse::<crate::dataset::FieldKind>())
        .collect::<std::result::Result<_, _>>()?;
    let (w, h) = crate::cli::args::parse_size(&a.size)?;
    o.base.width = w;
    o.base.height = h;
    o.base.sampler.num_clips = a.clips;
    o.base.sampler.frames_per_clip = a.frames;
    o.base.segment.codec = crate::dataset::segments::canonical_codec(&a.codec);
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
