//! One dataset sample against the source frames it was made from.
//!
//! A sample's provenance names its source video and the frame indices of its clip. The source
//! is decoded again with the dataset's own resize (its build options), which reproduces
//! exactly the pictures the builder encoded; the stored sample is decoded as any reader
//! does; the two are measured frame by frame (PSNR, SSIM), and for flow the stored int8 flow
//! is measured against Farneback flow computed afresh from the source frames (EPE).

use super::metrics;
use crate::dataset::fields::{farneback_flow, FlowTensor};
use crate::dataset::{BuildOptions, Dataset, Decoders, SampleData, SampleMeta};
use crate::quality::error::{QualityError, Result};
use crate::video::decode::{DecodeOptions, Resize, VideoDecoder};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where source videos are looked for.
#[derive(Debug, Clone, Default)]
pub struct SourceFinder {
    /// A folder the sources were moved to. A recorded path `a/b/c.mp4` is looked for as
    /// `DIR/a/b/c.mp4`, `DIR/b/c.mp4`, then `DIR/c.mp4` (the longest tail first); without a
    /// match, or without a folder, at the recorded path itself.
    pub dir: Option<PathBuf>,
}

impl SourceFinder {
    pub fn new(dir: Option<PathBuf>) -> Self {
        SourceFinder { dir }
    }

    /// The source file for a recorded path, or an error naming both.
    pub fn find(&self, recorded: &Path) -> Result<PathBuf> {
        if let Some(dir) = &self.dir {
            let parts: Vec<_> = recorded
                .components()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .collect();
            for k in (1..=parts.len()).rev() {
                let p = parts[parts.len() - k..]
                    .iter()
                    .fold(dir.clone(), |acc, c| acc.join(c));
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
        if recorded.is_file() {
            return Ok(recorded.to_path_buf());
        }
        Err(QualityError::param(
            "sources",
            match &self.dir {
                Some(d) => format!(
                    "source video {} is not there, nor under {} (by any tail of its path)",
                    recorded.display(),
                    d.display()
                ),
                None => format!(
                    "source video {} is not there; point the sources option to the folder it moved to",
                    recorded.display()
                ),
            },
        ))
    }
}

/// What a sample's provenance says about its source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRef {
    /// The path recorded at build time.
    pub recorded: PathBuf,
    /// The clip's source frame indices (presentation order), one per stored frame.
    pub frames: Vec<usize>,
    pub source_frames: Option<usize>,
    pub source_size: Option<(u32, u32)>,
    /// Clip positions whose stored frame stands in for an undecodable one.
    pub damaged: Vec<usize>,
}

/// Read the source reference out of a sample's provenance.
pub fn source_ref(meta: &SampleMeta) -> Result<SourceRef> {
    let p = &meta.provenance;
    let bad = |what: &str| {
        QualityError::param(
            "sample",
            format!(
                "sample {}: its provenance has no {what}, so its source frames are unknown",
                meta.index
            ),
        )
    };
    let recorded = p["source"].as_str().ok_or_else(|| bad("source path"))?;
    let frames: Vec<usize> = p["frames"]
        .as_array()
        .ok_or_else(|| bad("frame list"))?
        .iter()
        .map(|v| v.as_u64().map(|x| x as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("valid frame list"))?;
    let num = |k: &str| p[k].as_u64();
    let damaged = p["damaged"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64().or_else(|| v["position"].as_u64()))
                .map(|x| x as usize)
                .collect()
        })
        .unwrap_or_default();
    Ok(SourceRef {
        recorded: PathBuf::from(recorded),
        frames,
        source_frames: num("source_frames").map(|x| x as usize),
        source_size: num("source_width")
            .zip(num("source_height"))
            .map(|(w, h)| (w as u32, h as u32)),
        damaged,
    })
}

/// The options the dataset was built with (its info's `build_options`).
pub fn build_options(ds: &Dataset) -> Result<BuildOptions> {
    let v = ds.info().get("build_options").cloned().ok_or_else(|| {
        QualityError::param(
            "dataset",
            format!(
                "{}: the dataset records no build options, so its sources cannot be resized the same way",
                ds.path().display()
            ),
        )
    })?;
    serde_json::from_value(v).map_err(|e| {
        QualityError::param(
            "dataset",
            format!("{}: unreadable build options: {e}", ds.path().display()),
        )
    })
}

/// Open a source video with the dataset's resize. `group_workers` decoders may run side by
/// side on the current rayon pool for a batch spanning keyframe groups.
pub fn open_source(path: &Path, opts: &BuildOptions, group_workers: usize) -> Result<VideoDecoder> {
    VideoDecoder::open(
        path,
        DecodeOptions {
            resize: Some(Resize {
                width: opts.width,
                height: opts.height,
                mode: opts.resize,
            }),
            threads: 1,
            group_workers,
            ..Default::default()
        },
    )
    .map_err(QualityError::from)
}

/// Refuse a source that is not the file the sample was made from.
pub fn check_source(dec: &VideoDecoder, r: &SourceRef, index: u64) -> Result<()> {
    let path = dec.path();
    if let Some(n) = r.source_frames {
        if n != dec.frame_count() {
            return Err(QualityError::decode(
                path,
                format!(
                    "has {} frames but sample {index} was made from a video of {n}: not the same file",
                    dec.frame_count()
                ),
            ));
        }
    }
    if let Some((w, h)) = r.source_size {
        if (w, h) != dec.source_size() {
            let (sw, sh) = dec.source_size();
            return Err(QualityError::decode(
                path,
                format!("is {sw}x{sh} but sample {index} was made from a {w}x{h} video: not the same file"),
            ));
        }
    }
    if let Some(&i) = r.frames.iter().find(|&&i| i >= dec.frame_count()) {
        return Err(crate::video::VideoError::FrameOutOfRange {
            path: path.to_path_buf(),
            index: i,
            count: dec.frame_count(),
        }
        .into());
    }
    Ok(())
}

/// Quality of one stored frame against its source frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrameQuality {
    /// Position in the clip.
    pub position: usize,
    /// Frame index in the source video.
    pub source_frame: usize,
    /// dB; `null` in JSON when the frames are identical.
    #[serde(serialize_with = "finite_or_null")]
    pub psnr: f64,
    pub ssim: f64,
    /// The stored frame stands in for an undecodable source frame.
    pub damaged: bool,
}

/// One sample's quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleQuality {
    pub index: u64,
    pub shard: usize,
    pub label: i64,
    /// The source file measured against.
    pub source: PathBuf,
    /// Stored frames (flow: its JPEG keyframes) against the source frames.
    pub frames: Vec<FrameQuality>,
    /// PSNR of the clip's mean squared error (FFmpeg's `average`); `null` when identical.
    #[serde(serialize_with = "finite_or_null")]
    pub psnr_mean: f64,
    #[serde(serialize_with = "finite_or_null")]
    pub psnr_min: f64,
    pub ssim_mean: f64,
    pub ssim_min: f64,
    /// Flow: mean end-point error (pixels) of each consecutive pair, stored against fresh.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flow_epe: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epe_mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epe_max: Option<f64>,
}

impl SampleQuality {
    /// How bad the sample is, for ranking (higher is worse): EPE for flow, else −PSNR.
    pub fn badness(&self) -> f64 {
        match self.epe_mean {
            Some(e) => e,
            None => -self.psnr_mean,
        }
    }
}

fn finite_or_null<S: serde::Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_none()
    }
}

/// A measured sample with the pictures behind the numbers (for the explorer).
pub struct Comparison {
    pub quality: SampleQuality,
    pub width: usize,
    pub height: usize,
    /// Stored frames, one per entry of `quality.frames`.
    pub stored: Vec<Vec<u8>>,
    /// The source frames they came from, resized as the dataset was.
    pub reference: Vec<Vec<u8>>,
    /// Flow: stored (dequantized) and fresh flow, `(T-1, H, W, 2)` each.
    pub flow: Option<(Vec<f32>, Vec<f32>)>,
}

/// Measure a decoded stored sample against its `T` source frames (resized like the
/// dataset). `keep` keeps the pictures for a [`Comparison`].
#[allow(clippy::too_many_arguments)]
pub fn measure(
    meta: &SampleMeta,
    source: &Path,
    r: &SourceRef,
    stored: SampleData,
    reference: &[&[u8]],
    opts: &BuildOptions,
    keep: bool,
) -> Result<Comparison> {
    let mismatch = |what: String| {
        QualityError::param(
            "sample",
            format!(
                "sample {}: {what}; the dataset and its source disagree",
                meta.index
            ),
        )
    };
    let (w, h, positions, pictures, flow): (usize, usize, Vec<usize>, Vec<u8>, Option<FlowTensor>) =
        match stored {
            SampleData::Clip(c) => (c.width, c.height, (0..c.num_frames).collect(), c.data, None),
            SampleData::Flow(mut f) => {
                let pos = f.keyframe_positions.iter().map(|&p| p as usize).collect();
                let pics = std::mem::take(&mut f.keyframes);
                (f.width, f.height, pos, pics, Some(f))
            }
        };
    if reference.len() != r.frames.len() {
        return Err(mismatch(format!(
            "{} source frames for {} recorded",
            reference.len(),
            r.frames.len()
        )));
    }
    let n = w * h * 3;
    if let Some(bad) = reference.iter().find(|f| f.len() != n) {
        return Err(mismatch(format!(
            "source frames of {} bytes against stored {w}x{h}",
            bad.len()
        )));
    }
    let mut frames = Vec::with_capacity(positions.len());
    let mut mse_sum = 0.0;
    let mut stored_pics = Vec::new();
    let mut ref_pics = Vec::new();
    for (k, &p) in positions.iter().enumerate() {
        let a = &pictures[k * n..(k + 1) * n];
        let b = *reference
            .get(p)
            .ok_or_else(|| mismatch(format!("clip position {p} has no source frame")))?;
        let m = metrics::mse(a, b);
        mse_sum += m;
        frames.push(FrameQuality {
            position: p,
            source_frame: r.frames[p],
            psnr: metrics::psnr_of_mse(m),
            ssim: metrics::ssim(a, b, w, h),
            damaged: r.damaged.contains(&p),
        });
        if keep {
            stored_pics.push(a.to_vec());
            ref_pics.push(b.to_vec());
        }
    }
    let count = frames.len().max(1) as f64;
    let mut flow_epe = Vec::new();
    let mut flow_pair = None;
    if let Some(f) = flow {
        let fresh = farneback_flow(reference, w as u32, h as u32, &opts.farneback)?;
        if fresh.len() != f.flow.len() {
            return Err(mismatch(format!(
                "{} flow values stored, {} computed",
                f.flow.len(),
                fresh.len()
            )));
        }
        let pair = w * h * 2;
        flow_epe = f
            .flow
            .chunks(pair.max(1))
            .zip(fresh.chunks(pair.max(1)))
            .map(|(a, b)| metrics::epe(a, b))
            .collect();
        if keep {
            flow_pair = Some((f.flow, fresh));
        }
    }
    let quality = SampleQuality {
        index: meta.index,
        shard: meta.shard,
        label: meta.label,
        source: source.to_path_buf(),
        psnr_mean: metrics::psnr_of_mse(mse_sum / count),
        psnr_min: frames.iter().map(|f| f.psnr).fold(f64::INFINITY, f64::min),
        ssim_mean: frames.iter().map(|f| f.ssim).sum::<f64>() / count,
        ssim_min: frames.iter().map(|f| f.ssim).fold(f64::INFINITY, f64::min),
        epe_mean: (!flow_epe.is_empty())
            .then(|| flow_epe.iter().sum::<f64>() / flow_epe.len() as f64),
        epe_max: flow_epe.iter().copied().reduce(f64::max),
        flow_epe,
        frames,
    };
    Ok(Comparison {
        quality,
        width: w,
        height: h,
        stored: stored_pics,
        reference: ref_pics,
        flow: flow_pair,
    })
}

/// Compare dataset sample `i` with its source: find it, check it is the same file, decode
/// the clip's frames again and measure.
pub fn compare_sample(ds: &Dataset, i: u64, finder: &SourceFinder) -> Result<Comparison> {
    let opts = build_options(ds)?;
    let meta = ds.meta(i)?;
    let r = source_ref(&meta)?;
    let source = finder.find(&r.recorded)?;
    let mut dec = open_source(&source, &opts, 0)?;
    check_source(&dec, &r, i)?;
    let frames = decode_reference(&mut dec, &r)?;
    let views: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
    let stored = ds.decode(i, &mut Decoders::default())?;
    measure(&meta, &source, &r, stored, &views, &opts, true)
}

/// Decode a clip's source frames as the builder decoded them (its frame list as it is, a
/// padded clip's repeats included), with the builder's stand-ins at damaged positions.
pub fn decode_reference(dec: &mut VideoDecoder, r: &SourceRef) -> Result<Vec<Vec<u8>>> {
    let got = dec.frames_partial(&r.frames);
    let per_position: Vec<Result<&[u8]>> = r
        .frames
        .iter()
        .zip(&got)
        .map(|(i, f)| match f {
            Ok(f) => Ok(f.data.as_slice()),
            Err(e) => Err(QualityError::decode(
                dec.path(),
                format!("frame {i}: {}", e.bare_reason()),
            )),
        })
        .collect();
    Ok(reference_with_stand_ins(per_position, r)?
        .into_iter()
        .map(|f| f.to_vec())
        .collect())
}

/// A clip's source frames with the builder's stand-ins: where the provenance lists a position
/// as damaged (built with `--damaged repeat`), the source frame cannot be decoded and the
/// builder stored the clip's nearest good frame ([`crate::video::sample::nearest_good`]) in its place; the reference
/// takes the same frame, so the comparison measures encoding alone (the frame is marked
/// `damaged`). An undecodable frame the provenance does not list is an error.
pub fn reference_with_stand_ins<'a>(
    frames: Vec<Result<&'a [u8]>>,
    r: &SourceRef,
) -> Result<Vec<&'a [u8]>> {
    // The provenance decides, not this decode: a damaged group's last B-frames may decode
    // or not depending on what else a decoder was asked for, and the builder stored the
    // stand-in wherever it listed one.
    let good: Vec<Option<&[u8]>> = frames
        .iter()
        .enumerate()
        .map(|(k, f)| match f {
            _ if r.damaged.contains(&k) => Ok(None),
            Ok(d) => Ok(Some(*d)),
            Err(e) => Err(QualityError::decode(
                &r.recorded,
                format!("position {k} of the clip: {e}"),
            )),
        })
        .collect::<Result<_>>()?;
    (0..good.len())
        .map(|k| {
            good[k]
                .or_else(|| {
                    crate::video::sample::nearest_good(k, good.len(), |j| good[j].is_some())
                        .and_then(|j| good[j])
                })
                .ok_or_else(|| {
                    QualityError::decode(&r.recorded, "no frame of the clip decodes".to_string())
                })
        })
        .collect()
}
