//! The three fields compared on the user's own videos (`vdx compare-fields`, the explorer's
//! "Compare fields" window): each variant (frames at each JPEG quality, segments at each CRF
//! and keyframe interval, flow at each quantization scale) is built from a sample of the
//! videos into a temporary folder, and measured for what decides how a dataset should be
//! encoded: bytes per clip, build time, clip read time (sequential and random order), the
//! cost of one random frame, and quality against the source (PSNR/SSIM; EPE for flow).

use super::compare::{self, SampleQuality};
use super::pass::QualityReport;
use crate::dataset::build::{
    dataset_info, encode_sample, open_for_build, worker_pool, SourceFacts,
};
use crate::dataset::fields;
use crate::dataset::segments;
use crate::dataset::writer::DatasetWriter;
use crate::dataset::{collect_inputs, BuildInput, BuildOptions, Dataset, Decoders, FieldKind};
use crate::quality::error::{QualityError, Result};
use crate::rng::Rng;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What to compare.
#[derive(Debug, Clone)]
pub struct FieldCompareOptions {
    /// Video files or folders (as `vdx build` takes them).
    pub inputs: Vec<PathBuf>,
    /// At most this many videos, spread evenly over the sorted input list.
    pub max_videos: usize,
    /// Sampler, size and the settings not varied.
    pub base: BuildOptions,
    pub fields: Vec<FieldKind>,
    /// JPEG qualities (frames).
    pub qualities: Vec<i32>,
    /// CRFs and keyframe intervals (segments; every pair).
    pub crfs: Vec<u32>,
    pub keyints: Vec<u32>,
    /// int8 scales (flow).
    pub flow_scales: Vec<f32>,
    /// Worker threads for builds and the quality pass (0: one per core).
    pub threads: usize,
    /// Random single-frame reads timed per variant.
    pub random_frames: usize,
    /// Keep each variant's dataset in this folder (as `NAME.vdx`, the variant's name with
    /// `_` for spaces); by default they are removed.
    pub keep: Option<PathBuf>,
}

impl Default for FieldCompareOptions {
    fn default() -> Self {
        let mut base = BuildOptions::default();
        base.sampler.num_clips = 2;
        FieldCompareOptions {
            inputs: Vec::new(),
            max_videos: 10,
            base,
            fields: vec![FieldKind::Frames, FieldKind::Segments, FieldKind::Flow],
            qualities: vec![75, 90, 95],
            crfs: vec![18, 23, 28],
            keyints: vec![8, 30],
            flow_scales: vec![4.0],
            threads: 0,
            random_frames: 64,
            keep: None,
        }
    }
}

/// A comma-separated list of numbers (`--quality 75,90,95`); `what` names the setting in
/// the error.
pub fn parse_list<T: std::str::FromStr>(what: &str, s: &str) -> Result<Vec<T>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse::<T>()
                .map_err(|_| QualityError::param(what, format!("'{x}' in '{s}' is not a number")))
        })
        .collect()
}

/// One variant to build.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub options: BuildOptions,
}

/// The variants the options ask for, in field order.
pub fn variants(o: &FieldCompareOptions) -> Vec<Variant> {
    let mut v = Vec::new();
    for f in &o.fields {
        match f {
            FieldKind::Frames => {
                for &q in &o.qualities {
                    let mut b = o.base.clone();
                    b.field = FieldKind::Frames;
                    b.quality = q;
                    v.push(Variant {
                        name: format!("frames q{q}"),
                        options: b,
                    });
                }
            }
            FieldKind::Segments => {
                for &crf in &o.crfs {
                    for &k in &o.keyints {
                        let mut b = o.base.clone();
                        b.field = FieldKind::Segments;
                        b.segment.crf = crf;
                        b.segment.keyint = k;
                        v.push(Variant {
                            name: format!("segments {} crf{crf} key{k}", b.segment.codec),
                            options: b,
                        });
                    }
                }
            }
            FieldKind::Flow => {
                for &s in &o.flow_scales {
                    let mut b = o.base.clone();
                    b.field = FieldKind::Flow;
                    b.flow_scale = s;
                    v.push(Variant {
                        name: format!("flow scale{s} q{}", b.quality),
                        options: b,
                    });
                }
            }
        }
    }
    v
}

/// One variant's measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantResult {
    pub name: String,
    pub field: String,
    pub options: BuildOptions,
    pub samples: usize,
    /// The dataset file's size (with its header, tables and page alignment).
    pub file_bytes: u64,
    /// Mean bytes of a sample's video data (what grows with the dataset).
    pub bytes_per_clip: f64,
    /// Decoding the sources' clips, once for all variants.
    pub source_decode_secs: f64,
    /// Encoding and writing this variant (the shared source decode not included).
    pub build_secs: f64,
    /// Decoding every clip in index order, then in a shuffled order: milliseconds per clip.
    pub read_sequential_ms: f64,
    pub read_random_ms: f64,
    /// One frame of a random clip at a random position, alone: median milliseconds
    /// (frames: one JPEG; segments: from its keyframe; flow: the keyframe before it plus
    /// the flow pairs from there, dequantized).
    pub random_frame_ms: f64,
    /// Against the source frames (flow: its keyframes), averaged over samples.
    pub psnr: Option<f64>,
    pub ssim: f64,
    pub epe: Option<f64>,
}

/// Progress: (steps done, steps total, what runs now).
pub type FieldProgress<'a> = dyn Fn(usize, usize, &str) + Sync + 'a;

/// One sampled clip of a source, decoded once at the comparison's size.
struct SourceClip {
    clip: crate::video::sample::Clip,
    frames: Vec<Vec<u8>>,
    damaged: Vec<usize>,
}

/// A source and its decoded clips.
struct DecodedSource {
    facts: SourceFacts,
    clips: Vec<SourceClip>,
}

/// Build and measure every variant. Nothing is left on disk.
///
/// The sources are decoded once (every variant stores the same clips at the same size) and
/// each variant is encoded from those frames exactly as `vdx build` encodes them, into the
/// file `vdx build` writes with those options, byte for byte (tests/quality.rs compares them
/// with `--keep`); its build time is the encoding and writing
/// (the shared decode is reported once, in the first result's `source_decode_secs`). Quality
/// is measured against the same decoded frames.
pub fn compare_fields(
    o: &FieldCompareOptions,
    cancel: &AtomicBool,
    progress: &FieldProgress<'_>,
) -> Result<Vec<VariantResult>> {
    if o.inputs.is_empty() {
        return Err(QualityError::param("videos", "no videos given"));
    }
    // Labels index the class list of all inputs, as in `vdx build` over the same inputs.
    let (all, classes) = collect_inputs(&o.inputs)?;
    if all.is_empty() {
        return Err(QualityError::param(
            "videos",
            "no video files among the inputs",
        ));
    }
    let chosen = spread(&all, o.max_videos.max(1));
    let vs = variants(o);
    check_variants(o, &vs)?;
    if let Some(d) = &o.keep {
        std::fs::create_dir_all(d).map_err(|e| QualityError::write_io(d, e))?;
    }
    let pool = worker_pool(o.threads)?;
    let steps = 1 + vs.len() * 2;
    // 1. Decode every chosen source's clips once, in parallel.
    progress(0, steps, "decoding the sources");
    let t0 = Instant::now();
    let group_workers = pool.current_num_threads();
    let decoded: Vec<DecodedSource> = pool.install(|| {
        use rayon::prelude::*;
        chosen
            .par_iter()
            .map(|input| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(QualityError::Cancelled);
                }
                let (mut dec, mut facts) = open_for_build(input, &o.base, group_workers)?;
                let index = dec.index().clone();
                let clips =
                    crate::video::sample::sample_clips(&index, &o.base.effective_sampler())?;
                let mut out = Vec::with_capacity(clips.len());
                for clip in clips {
                    let results = dec.frames_partial(&clip.frame_indices);
                    let (frames, damaged) =
                        crate::video::sample::fill_damaged(results, o.base.damaged)?;
                    if facts.conversion.is_none() {
                        facts.conversion = dec.conversion_note().map(str::to_string);
                    }
                    out.push(SourceClip {
                        clip,
                        frames: frames.into_iter().map(|f| f.data).collect(),
                        damaged,
                    });
                }
                Ok(DecodedSource { facts, clips: out })
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let source_decode_secs = t0.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().map_err(|e| QualityError::write_io(&std::env::temp_dir(), e))?;
    let mut out = Vec::with_capacity(vs.len());
    for (k, v) in vs.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(QualityError::Cancelled);
        }
        progress(1 + 2 * k, steps, &format!("encoding {}", v.name));
        let path = match &o.keep {
            Some(d) => d.join(format!("{}.vdx", v.name.replace(' ', "_"))),
            None => dir.path().join(format!("v{k}.vdx")),
        };
        let t0 = Instant::now();
        let written = write_variant(&pool, &decoded, &classes, &v.options, &path, cancel)?;
        let build_secs = t0.elapsed().as_secs_f64();
        progress(2 + 2 * k, steps, &format!("measuring {}", v.name));
        let ds = Dataset::open(&written)?;
        let (seq, rnd) = read_times(&ds)?;
        let random_frame_ms = random_frame_ms(&ds, o.random_frames, k as u64)?;
        let report = measure_variant(&pool, &ds, &decoded, &v.options)?;
        let s = report.summary();
        let data: u64 = (0..ds.len())
            .map(|i| ds.meta(i).map(|m| m.data_size))
            .sum::<std::result::Result<u64, _>>()?;
        let file_bytes = std::fs::metadata(&written).map(|m| m.len()).unwrap_or(0);
        let n = ds.len() as usize;
        out.push(VariantResult {
            name: v.name.clone(),
            field: format!("{:?}", v.options.field).to_lowercase(),
            options: v.options.clone(),
            samples: n,
            file_bytes,
            bytes_per_clip: data as f64 / n.max(1) as f64,
            source_decode_secs,
            build_secs,
            read_sequential_ms: seq,
            read_random_ms: rnd,
            random_frame_ms,
            psnr: s["psnr_mean"].as_f64(),
            ssim: s["ssim_mean"].as_f64().unwrap_or(f64::NAN),
            epe: s["epe_mean"].as_f64(),
        });
        drop(ds);
        if o.keep.is_none() {
            let _ = std::fs::remove_file(&written);
        }
    }
    progress(steps, steps, "done");
    Ok(out)
}

/// At least one variant, each valid and sampling the very clips of the base options.
fn check_variants(o: &FieldCompareOptions, vs: &[Variant]) -> Result<()> {
    if vs.is_empty() {
        return Err(QualityError::param(
            "fields",
            "nothing to compare: no field with a setting",
        ));
    }
    for v in vs {
        v.options.validate()?;
        if v.options.effective_sampler() != o.base.effective_sampler() {
            return Err(QualityError::param(
                "fields",
                "variants must sample the same clips (no segment frame rate or duration cap)",
            ));
        }
    }
    Ok(())
}

/// Encode every decoded clip with `opts` and write the dataset as `vdx build` does.
fn write_variant(
    pool: &rayon::ThreadPool,
    decoded: &[DecodedSource],
    classes: &[String],
    opts: &BuildOptions,
    path: &std::path::Path,
    cancel: &AtomicBool,
) -> Result<PathBuf> {
    let writer = DatasetWriter::new(path)?;
    let spools: Result<Vec<_>> = pool.install(|| {
        use rayon::prelude::*;
        decoded
            .par_iter()
            .enumerate()
            .map(|(k, src)| {
                let mut spool = writer.spool(k)?;
                let mut jpeg = turbojpeg::Compressor::new().map_err(|e| {
                    QualityError::param("jpeg", format!("libjpeg-turbo could not start: {e}"))
                })?;
                for c in &src.clips {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(QualityError::Cancelled);
                    }
                    let views: Vec<&[u8]> = c.frames.iter().map(|f| f.as_slice()).collect();
                    spool.push(encode_sample(
                        opts, &src.facts, &c.clip, &views, &c.damaged, &mut jpeg,
                    )?)?;
                }
                Ok(spool.close()?)
            })
            .collect()
    });
    let spools = match spools {
        Ok(s) => s,
        Err(e) => {
            writer.abandon();
            return Err(e);
        }
    };
    let info = dataset_info(opts, classes, decoded.len(), &[], None);
    Ok(writer.finish(opts.field_descriptor(), spools, info)?)
}

/// Every sample of a variant against the decoded source frames it was made from.
fn measure_variant(
    pool: &rayon::ThreadPool,
    ds: &Dataset,
    decoded: &[DecodedSource],
    opts: &BuildOptions,
) -> Result<QualityReport> {
    let refs: Vec<(&DecodedSource, &SourceClip)> = decoded
        .iter()
        .flat_map(|s| s.clips.iter().map(move |c| (s, c)))
        .collect();
    if refs.len() as u64 != ds.len() {
        return Err(QualityError::param(
            "dataset",
            format!("{} samples written for {} clips", ds.len(), refs.len()),
        ));
    }
    let samples: Vec<SampleQuality> = pool.install(|| {
        use rayon::prelude::*;
        refs.par_iter()
            .enumerate()
            .map_init(Decoders::default, |dec, (i, (src, c))| {
                let meta = ds.meta(i as u64)?;
                let r = compare::source_ref(&meta)?;
                let stored = ds.decode(i as u64, dec)?;
                let views: Vec<&[u8]> = c.frames.iter().map(|f| f.as_slice()).collect();
                compare::measure(&meta, &src.facts.path, &r, stored, &views, opts, false)
                    .map(|m| m.quality)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    Ok(QualityReport {
        dataset: ds.path().to_path_buf(),
        field: format!("{:?}", opts.field).to_lowercase(),
        samples,
        unmeasured: Vec::new(),
        source_frames: 0,
    })
}

/// `n` inputs spread evenly over the list (all of them when there are fewer).
fn spread(all: &[BuildInput], n: usize) -> Vec<BuildInput> {
    if all.len() <= n {
        return all.to_vec();
    }
    (0..n).map(|k| all[k * all.len() / n].clone()).collect()
}

/// Milliseconds per clip decoding every sample in order, then in a shuffled order.
fn read_times(ds: &Dataset) -> Result<(f64, f64)> {
    let n = ds.len();
    let mut dec = Decoders::default();
    let t0 = Instant::now();
    for i in 0..n {
        std::hint::black_box(ds.decode(i, &mut dec)?);
    }
    let seq = t0.elapsed().as_secs_f64() * 1e3 / n.max(1) as f64;
    let mut order: Vec<u64> = (0..n).collect();
    let mut rng = Rng::for_sample(7, 0, 0);
    for k in (1..order.len()).rev() {
        let j = rng.range_inclusive(0, k as u64) as usize;
        order.swap(k, j);
    }
    let t0 = Instant::now();
    for &i in &order {
        std::hint::black_box(ds.decode(i, &mut dec)?);
    }
    let rnd = t0.elapsed().as_secs_f64() * 1e3 / n.max(1) as f64;
    Ok((seq, rnd))
}

/// Median milliseconds to get one frame of a random sample at a random position, alone.
fn random_frame_ms(ds: &Dataset, reps: usize, seed: u64) -> Result<f64> {
    let mut dec = Decoders::default();
    let mut times = Vec::with_capacity(reps);
    let args = ds.video_field().arguments.clone();
    for r in 0..reps.max(1) {
        let mut rng = Rng::for_sample(seed, r as u64, 1);
        let i = rng.range_inclusive(0, ds.len().saturating_sub(1));
        let (meta, data) = ds.raw_data(i)?;
        let t = meta.record.num_frames() as usize;
        let k = rng.range_inclusive(0, t.saturating_sub(1) as u64) as usize;
        let (h, w) = meta.record.size_hw();
        let (h, w) = (h as usize, w as usize);
        let bad = |source: fields::FieldError| {
            QualityError::from(crate::dataset::DatasetError::Sample {
                path: ds.path().to_path_buf(),
                sample: i,
                source: Box::new(source),
            })
        };
        let t0 = Instant::now();
        match meta.record {
            crate::dataset::writer::VideoRecord::Frames { .. } => {
                let ranges = fields::frame_ranges(data, t).map_err(bad)?;
                let (a, b) = ranges[k];
                let mut out = vec![0u8; w * h * 3];
                fields::decompress_into(dec.jpeg()?, &data[a..b], w, h, &mut out).map_err(bad)?;
                std::hint::black_box(&out);
            }
            crate::dataset::writer::VideoRecord::Segments { .. } => {
                let f = segments::decode_frame(data, &meta.record, &args, k).map_err(bad)?;
                std::hint::black_box(&f);
            }
            crate::dataset::writer::VideoRecord::Flow { .. } => {
                // The flow field stores keyframes and flow; a frame is its keyframe plus
                // the flow from there: decode the sample (keyframes and int8 flow).
                let f = ds.decode(i, &mut dec)?;
                std::hint::black_box(&f);
            }
        }
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
