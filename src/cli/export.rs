//! `vdx export`: a dataset to frame folders, .npy shards, MP4 clips, WebDataset or audio.

use crate::cli::progress::{bar, ctrl_c_flag};
use crate::error::{Result, VdxError};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ExportArgs {
    pub dataset: PathBuf,
    /// folders, npy, mp4, wds, audio.
    #[arg(long)]
    pub format: String,
    /// Output folder (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// Keep only these labels (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<i64>,
    /// Keep samples A..B.
    #[arg(long)]
    pub range: Option<String>,
    /// Keep exactly these samples (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub samples: Vec<u64>,
    /// Then keep N at random.
    #[arg(long)]
    pub random: Option<usize>,
    /// Keep only samples of these stored splits (a dataset built from annotations), e.g.
    /// train,val.
    #[arg(long, value_delimiter = ',')]
    pub splits: Vec<String>,
    /// Train share for a new train/val split grouped by source video (e.g. 0.8). Without it,
    /// a dataset built from annotations keeps its own splits, one folder each.
    #[arg(long)]
    pub split: Option<f64>,
    /// Leave out samples with these health flags (e.g. black,frozen,duplicate; from the
    /// report `vdx health` saved beside the dataset). The list goes to excluded.json.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Seed for --random and --split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// folders: jpg or png.
    #[arg(long, default_value = "jpg")]
    pub image_format: String,
    /// npy: f32 in [0,1] (u8 otherwise).
    #[arg(long)]
    pub float: bool,
    /// npy: apply this augmentation recipe.
    #[arg(long)]
    pub recipe: Option<PathBuf>,
    /// Samples per shard (npy, wds).
    #[arg(long, default_value_t = 256)]
    pub shard_size: usize,
    /// mp4: codec for re-encoded frames/flow.
    #[arg(long, default_value = "h264")]
    pub codec: String,
    /// mp4: CRF for re-encoded frames/flow.
    #[arg(long, default_value_t = 18)]
    pub crf: u32,
    /// A sample that cannot be exported is reported and left out (folders, mp4, wds, audio);
    /// without it the export stops at that sample and leaves nothing at the output.
    #[arg(long)]
    pub keep_going: bool,
    #[arg(long)]
    pub quiet: bool,
}

pub fn cmd_export(a: ExportArgs) -> Result<ExitCode> {
    use crate::export::{ExportOptions, Subset};
    let range = match &a.range {
        None => None,
        Some(r) => {
            let (x, y) = r
                .split_once("..")
                .ok_or_else(|| VdxError::param("--range", format!("'{r}' is not A..B")))?;
            let p = |s: &str| {
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| VdxError::param("--range", format!("'{r}' is not A..B")))
            };
            Some((p(x)?, p(y)?))
        }
    };
    let opts = ExportOptions {
        format: a.format.parse()?,
        subset: Subset {
            labels: a.labels.clone(),
            range,
            samples: a.samples.clone(),
            random: a.random.map(|n| (n, a.seed)),
            splits: a.splits.clone(),
            split: a.split.map(|s| (s, a.seed)),
            exclude: a.exclude.clone(),
        },
        image_ext: a.image_format.clone(),
        float: a.float,
        recipe: match &a.recipe {
            Some(p) => Some(crate::augment::Recipe::load(p)?),
            None => None,
        },
        shard_size: a.shard_size,
        segment: crate::dataset::segments::SegmentParams {
            codec: a.codec.clone(),
            crf: a.crf,
            ..Default::default()
        },
        fps: 0.0,
        keep_going: a.keep_going,
    };
    let cancel = ctrl_c_flag();
    let pb = std::sync::Mutex::new(None::<indicatif::ProgressBar>);
    let r = crate::export::export(&a.dataset, &opts, &a.out, &cancel, &|d, n| {
        let mut g = pb.lock().unwrap_or_else(|e| e.into_inner());
        g.get_or_insert_with(|| bar(n as u64, a.quiet, "samples"))
            .set_position(d as u64);
    });
    if let Some(p) = pb.lock().unwrap_or_else(|e| e.into_inner()).take() {
        p.finish_and_clear();
    }
    let r = r?;
    for (i, why) in &r.skipped {
        eprintln!("vdx: skipped sample {i}: {why}");
    }
    if !a.exclude.is_empty() {
        println!(
            "left out {} samples flagged {} (listed in excluded.json)",
            r.excluded.len(),
            a.exclude.join(", ")
        );
    }
    println!(
        "wrote {}: {} samples, {} files, {:.1} MB{}",
        r.output.display(),
        r.samples,
        r.files,
        r.bytes as f64 / 1e6,
        if r.splits.len() > 1 {
            format!(" ({:?})", r.splits)
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
