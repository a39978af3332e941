//! `vdx augment`: a recipe's draws on a video clip or a dataset sample.

use crate::dataset::{Dataset, Decoders};
use crate::error::{Result, VdxError};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct AugmentArgs {
    /// A video file, or a dataset with --sample.
    pub input: PathBuf,
    /// The recipe (JSON), e.g. assets/recipes/train_224.json.
    #[arg(long)]
    pub recipe: PathBuf,
    /// Overrides the recipe's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Dataset sample to augment (INPUT is a dataset).
    #[arg(long)]
    pub sample: Option<u64>,
    /// Video: first frame of the clip.
    #[arg(long, default_value_t = 0)]
    pub start: usize,
    /// Video: frames in the clip.
    #[arg(long, default_value_t = 32)]
    pub frames: usize,
    /// Video: decode at this size (N or WxH, short side + centre crop); default: stored size.
    #[arg(long)]
    pub size: Option<String>,
    /// Number of draws (epochs 0..K of the same sample).
    #[arg(long, default_value_t = 4)]
    pub draws: usize,
    /// A folder (contact sheet PNG + draws JSON) or FILE.npy (f32 (K,1,T,H,W,3) + FILE.json).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn cmd_augment(a: AugmentArgs) -> Result<ExitCode> {
    use crate::augment::{self, Clip, Recipe};
    let mut recipe = Recipe::load(&a.recipe)?;
    if let Some(s) = a.seed {
        recipe.seed = s;
    }
    if a.draws == 0 || a.draws > 256 {
        return Err(VdxError::param("--draws", "must be between 1 and 256"));
    }
    let (clip, sample_id, source) = match a.sample {
        Some(i) => {
            let ds = Dataset::open(&a.input)?;
            let c = ds.decode_clip(i, &mut Decoders::default())?;
            (
                Clip::new(c.num_frames, c.height, c.width, c.data)?,
                i,
                serde_json::json!({"dataset": a.input, "sample": i}),
            )
        }
        None => {
            let resize = match &a.size {
                Some(s) => {
                    let (w, h) = crate::cli::args::parse_size(s)?;
                    Some(crate::video::decode::Resize {
                        width: w,
                        height: h,
                        mode: crate::video::decode::ResizeMode::ShortSideCrop,
                    })
                }
                None => None,
            };
            let mut d = crate::video::decode::VideoDecoder::open(
                &a.input,
                crate::video::decode::DecodeOptions {
                    resize,
                    ..Default::default()
                },
            )?;
            let n = d.frame_count();
            if a.start >= n || a.frames == 0 {
                return Err(VdxError::param(
                    "--start/--frames",
                    format!("{} has {n} frames", a.input.display()),
                ));
            }
            let idx: Vec<usize> = (a.start..(a.start + a.frames).min(n)).collect();
            let frames = d.frames(&idx)?;
            let (w, h) = (frames[0].width as usize, frames[0].height as usize);
            let data: Vec<u8> = frames.iter().flat_map(|f| f.data.iter().copied()).collect();
            (
                Clip::new(frames.len(), h, w, data)?,
                0,
                serde_json::json!({"video": a.input, "frames": idx}),
            )
        }
    };
    let mut rows = Vec::with_capacity(a.draws);
    let mut draws = Vec::with_capacity(a.draws);
    for epoch in 0..a.draws as u64 {
        let (c, d) = augment::apply(&recipe, &clip, sample_id, epoch)?;
        rows.push(c);
        draws.push(serde_json::json!({"sample": sample_id, "epoch": epoch, "draws": d}));
    }
    let meta = serde_json::json!({
        "source": source, "seed": recipe.seed, "recipe": recipe, "draws": draws,
        "shape": [rows[0].t, rows[0].h, rows[0].w, 3],
    });
    let meta_bytes = serde_json::to_vec_pretty(&meta).expect("serializable");
    if a.out.extension().and_then(|e| e.to_str()) == Some("npy") {
        let first = &rows[0];
        if rows
            .iter()
            .any(|r| (r.t, r.h, r.w) != (first.t, first.h, first.w))
        {
            return Err(VdxError::param(
                "--out",
                "the draws have different shapes; write a contact sheet to a folder instead",
            ));
        }
        let mut buf = vec![0f32; first.data.len() * rows.len()];
        for (r, dst) in rows.iter().zip(buf.chunks_exact_mut(first.data.len())) {
            augment::to_float_into(&recipe, r, dst)?;
        }
        let mut bytes = crate::npy::header(
            crate::npy::Dtype::F32,
            &[rows.len(), 1, first.t, first.h, first.w, 3],
        );
        for v in &buf {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        crate::npy::write_atomic(&a.out, &bytes)?;
        crate::npy::write_atomic(&a.out.with_extension("json"), &meta_bytes)?;
        println!(
            "wrote {} and {}",
            a.out.display(),
            a.out.with_extension("json").display()
        );
    } else {
        std::fs::create_dir_all(&a.out).map_err(|e| VdxError::write_io(&a.out, e))?;
        let (w, h, sheet) = augment::contact_sheet(&rows);
        let png = crate::jpeg::encode_png(&sheet, w as u32, h as u32)?;
        let p = a.out.join("contact_sheet.png");
        crate::npy::write_atomic(&p, &png)?;
        crate::npy::write_atomic(&a.out.join("draws.json"), &meta_bytes)?;
        println!(
            "wrote {} and draws.json ({} draws)",
            p.display(),
            rows.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
