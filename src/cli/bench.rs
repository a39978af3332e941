//! `vdx bench`: vdx's side of the benchmarks, as medians over repeated runs, printed as JSON
//! so `scripts/bench.py` can put them beside the ffmpeg CLI and the Python peers measured in
//! the same run.

use crate::error::Result;
use crate::video::decode::{DecodeOptions, Resize, ResizeMode, VideoDecoder};
use crate::video::index::{self, IndexOptions};
use crate::video::media::ProbeBudget;
use crate::video::sample::{self, SamplerConfig, SamplerKind};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The video to measure (e.g. the corpus's long-GOP 1080p file).
    pub file: PathBuf,
    /// Repetitions per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Decoder threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Which measurements: probe,index,uniform,random,decode_all (comma separated); or
    /// `read` alone, with FILE a frames-field dataset; or `quality` alone, with FILE a
    /// dataset whose sources are in place; or `snap` alone (clip starts against decode cost).
    #[arg(long, default_value = "probe,index,uniform,random,decode_all")]
    pub what: String,
    /// First frames of the random clips (comma separated), so that other tools can be
    /// measured on the very same clips; without it, 8 seeded random clips.
    #[arg(long, value_delimiter = ',')]
    pub clip_starts: Vec<usize>,
    /// With `--what read`: also read and augment every sample with this recipe into float32
    /// (what a training loader does; the Python Loader is measured against it).
    #[arg(long)]
    pub recipe: Option<PathBuf>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn time<F: FnMut() -> Result<()>>(reps: usize, mut f: F) -> Result<f64> {
    let mut v = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        f()?;
        v.push(t.elapsed().as_secs_f64());
    }
    Ok(median(v))
}

/// Reading a frames-field dataset: vdx's reader against libjpeg-turbo decoding the very same
/// JPEGs into a preallocated buffer (the raw speed), on 1 and 2 threads, and against decoding
/// the same clips from the source videos.
fn bench_read(
    path: &std::path::Path,
    reps: usize,
    recipe: Option<&std::path::Path>,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    use crate::dataset::Dataset;
    let ds = Dataset::open(path)?;
    let n = ds.len();
    let (jpegs, shape) = sample_jpegs(&ds)?;
    let (t, h, w) = shape;
    let mut out = serde_json::Map::new();
    out.insert("read_samples".into(), n.into());
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| crate::error::VdxError::param("threads", e.to_string()))?;
        // Both sides produce what a loader needs, a whole (T, H, W, 3) clip in memory, each
        // worker reusing one clip buffer: raw libjpeg-turbo decodes frame j straight into its
        // slot; vdx's reader does the same through the dataset (offsets, checks, shape).
        let raw = time_raw_jpeg(&pool, reps, &jpegs, shape)?;
        let reader = time_reader(&pool, reps, &ds, t)?;
        out.insert(
            format!("read_raw_jpeg_clips_per_sec_{threads}t"),
            (n as f64 / raw).into(),
        );
        out.insert(
            format!("read_vdx_clips_per_sec_{threads}t"),
            (n as f64 / reader).into(),
        );
        out.insert(format!("read_vdx_vs_raw_{threads}t"), (raw / reader).into());
        if let Some(r) = recipe {
            let secs = time_read_augment(&pool, reps, &ds, r)?;
            out.insert(
                format!("read_augment_clips_per_sec_{threads}t"),
                (n as f64 / secs).into(),
            );
        }
    }
    // The same clips decoded from the source videos (first 8 samples, one thread each).
    let k = n.min(8);
    let src = time_from_source(&ds, k, (w, h))?;
    out.insert(
        "read_from_source_video_clips_per_sec".into(),
        (k as f64 / src).into(),
    );
    Ok(out)
}

/// A clip's (T, H, W).
type Shape = (usize, usize, usize);

/// The JPEG byte ranges of every sample, found once (not timed), and the (T, H, W) shape.
fn sample_jpegs(ds: &crate::dataset::Dataset) -> Result<(Vec<Vec<&[u8]>>, Shape)> {
    use crate::dataset::fields;
    let n = ds.len();
    // The JPEG byte ranges of every sample, found once (not timed).
    let mut jpegs: Vec<Vec<&[u8]>> = Vec::new();
    let mut shape = (0usize, 0usize, 0usize);
    for i in 0..n {
        let (m, data) = ds.raw_data(i)?;
        let t = m.record.num_frames() as usize;
        let (h, w) = m.record.size_hw();
        shape = (t, h as usize, w as usize);
        let ranges = fields::frame_ranges(data, t).map_err(|e| ds.sample_error(i, e))?;
        jpegs.push(ranges.into_iter().map(|(a, b)| &data[a..b]).collect());
    }
    Ok((jpegs, shape))
}

/// Median time of libjpeg-turbo decoding every sample's JPEGs into a reused clip buffer.
fn time_raw_jpeg(
    pool: &rayon::ThreadPool,
    reps: usize,
    jpegs: &[Vec<&[u8]>],
    (t, h, w): Shape,
) -> Result<f64> {
    use rayon::prelude::*;
    time(reps, || {
        pool.install(|| {
            jpegs.par_iter().for_each_init(
                || {
                    (
                        turbojpeg::Decompressor::new().expect("libjpeg-turbo"),
                        vec![0u8; t * h * w * 3],
                    )
                },
                |(d, buf), frames| {
                    for (j, jpeg) in frames.iter().enumerate() {
                        d.decompress(
                            jpeg,
                            turbojpeg::Image {
                                pixels: &mut buf[j * h * w * 3..(j + 1) * h * w * 3],
                                width: w,
                                pitch: w * 3,
                                height: h,
                                format: turbojpeg::PixelFormat::RGB,
                            },
                        )
                        .expect("valid JPEG");
                    }
                },
            )
        });
        Ok(())
    })
}

/// Median time of vdx's reader decoding every sample into a reused clip buffer.
fn time_reader(
    pool: &rayon::ThreadPool,
    reps: usize,
    ds: &crate::dataset::Dataset,
    t: usize,
) -> Result<f64> {
    use crate::dataset::Decoders;
    use rayon::prelude::*;
    let n = ds.len();
    time(reps, || {
        pool.install(|| {
            (0..n).into_par_iter().try_for_each_init(
                || (Decoders::default(), Vec::new()),
                |(d, buf), i| {
                    let c = ds.decode_clip_reusing(i, d, std::mem::take(buf))?;
                    assert_eq!(c.num_frames, t);
                    *buf = c.data;
                    Ok::<(), crate::error::VdxError>(())
                },
            )
        })
    })
}

/// Median time of reading, augmenting (recipe `r`) and converting to float32 every sample.
fn time_read_augment(
    pool: &rayon::ThreadPool,
    reps: usize,
    ds: &crate::dataset::Dataset,
    r: &std::path::Path,
) -> Result<f64> {
    use crate::dataset::Decoders;
    use rayon::prelude::*;
    let n = ds.len();
    // Read + augment + float32, sample by sample into a reused output slot per worker,
    // keyed by (seed, sample, epoch) as in training.
    let recipe = crate::augment::Recipe::load(r)?;
    time(reps, || {
        pool.install(|| {
            (0..n).into_par_iter().try_for_each_init(
                || (Decoders::default(), Vec::<f32>::new()),
                |(d, out), i| {
                    let c = ds.decode_clip(i, d)?;
                    let clip = crate::augment::Clip::new(c.num_frames, c.height, c.width, c.data)?;
                    let (a, _) = crate::augment::apply(&recipe, &clip, i, 0)?;
                    out.resize(a.data.len(), 0.0);
                    Ok(crate::augment::to_float_into(&recipe, &a, out)?)
                },
            )
        })
    })
}

/// Time of decoding the first `k` samples' clips from their source videos at `w`x`h`.
fn time_from_source(ds: &crate::dataset::Dataset, k: u64, (w, h): (usize, usize)) -> Result<f64> {
    time(1, || {
        for i in 0..k {
            let m = ds.meta(i)?;
            let src = m.provenance["source"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let frames: Vec<usize> = m.provenance["frames"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|x| x.as_u64())
                        .map(|x| x as usize)
                        .collect()
                })
                .unwrap_or_default();
            let mut d = VideoDecoder::open(
                std::path::Path::new(&src),
                DecodeOptions {
                    resize: Some(Resize {
                        width: w as u32,
                        height: h as u32,
                        mode: ResizeMode::ShortSideCrop,
                    }),
                    threads: 2,
                    ..Default::default()
                },
            )?;
            d.frames(&frames)?;
        }
        Ok(())
    })
}

/// The quality pass against decoding the same source frames alone (the same grouping,
/// chunks and threads, measuring nothing), alternated, medians.
fn bench_quality(
    path: &std::path::Path,
    reps: usize,
    threads: usize,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    use crate::quality::{quality_pass, PassOptions};
    use std::sync::atomic::AtomicBool;
    let ds = crate::dataset::Dataset::open(path)?;
    let no = AtomicBool::new(false);
    let (mut dec, mut full) = (Vec::new(), Vec::new());
    let mut frames = 0;
    for _ in 0..reps.max(1) {
        for decode_only in [true, false] {
            let o = PassOptions {
                sources: None,
                threads,
                decode_only,
            };
            let t = Instant::now();
            let r = quality_pass(&ds, &o, &no, &|_, _| {})?;
            let s = t.elapsed().as_secs_f64();
            frames = r.source_frames;
            if decode_only {
                dec.push(s);
            } else {
                if !r.unmeasured.is_empty() {
                    return Err(crate::error::VdxError::param(
                        "dataset",
                        format!(
                            "sample {}: {}",
                            r.unmeasured[0].index, r.unmeasured[0].reason
                        ),
                    ));
                }
                full.push(s);
            }
        }
    }
    let (d, f) = (median(dec), median(full));
    let mut out = serde_json::Map::new();
    out.insert("dataset".into(), path.display().to_string().into());
    out.insert("samples".into(), ds.len().into());
    out.insert("source_frames".into(), frames.into());
    out.insert("threads".into(), threads.into());
    out.insert("decode_only_secs".into(), d.into());
    out.insert("quality_pass_secs".into(), f.into());
    out.insert("pass_speed_vs_decode".into(), (d / f).into());
    Ok(out)
}

/// Random clips with exact starts against snapped starts on one video: decode time per clip
/// (each clip from a freshly opened file, as a loader does), frames decoded, and the bias
/// (how far starts moved, how many distinct starts remain).
fn bench_snap(
    a: &BenchArgs,
    opts: DecodeOptions,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    use crate::video::sample::Snap;
    let idx = VideoDecoder::open(&a.file, opts)?.index().clone();
    let base = SamplerConfig {
        kind: SamplerKind::Random,
        frames_per_clip: 16,
        num_clips: 24,
        seed: 5,
        ..Default::default()
    };
    let exact = sample::sample_clips(&idx, &base)?;
    let mut variants: Vec<(String, SamplerConfig)> = vec![("exact".into(), base)];
    variants.push((
        "keyframe".into(),
        SamplerConfig {
            snap: Snap::Keyframe,
            ..base
        },
    ));
    for k in [8usize, 30, 120] {
        variants.push((
            format!("cheapest_within_{k}"),
            SamplerConfig {
                snap: Snap::Cheapest,
                within: k,
                ..base
            },
        ));
    }
    variants.push((
        "keyframes_only".into(),
        SamplerConfig {
            kind: SamplerKind::Keyframes,
            num_clips: 24,
            ..base
        },
    ));
    let mut out = serde_json::Map::new();
    out.insert("file".into(), a.file.display().to_string().into());
    out.insert("frames".into(), idx.len().into());
    out.insert("keyframes".into(), idx.keyframes.len().into());
    let mut exact_secs = f64::NAN;
    for (name, cfg) in variants {
        let clips = sample::sample_clips(&idx, &cfg)?;
        let per_clip: Vec<f64> = clips
            .iter()
            .map(|c| {
                time(a.reps.min(3), || {
                    let mut d = VideoDecoder::with_index(&a.file, idx.clone(), opts)?;
                    d.frames_final(&c.frame_indices)?;
                    Ok(())
                })
            })
            .collect::<Result<_>>()?;
        let secs = median(per_clip);
        if name == "exact" {
            exact_secs = secs;
        }
        let cost: Vec<usize> = clips
            .iter()
            .map(|c| sample::clip_decode_cost(&idx, &c.frame_indices))
            .collect();
        let shift: Vec<f64> = clips
            .iter()
            .zip(&exact)
            .map(|(c, e)| (c.frame_indices[0] as f64 - e.frame_indices[0] as f64).abs())
            .collect();
        let mut starts: Vec<usize> = clips.iter().map(|c| c.frame_indices[0]).collect();
        starts.sort_unstable();
        starts.dedup();
        out.insert(
            name,
            serde_json::json!({
                "clip_secs_median": secs,
                "speedup_vs_exact": exact_secs / secs,
                "frames_decoded_mean": cost.iter().sum::<usize>() as f64 / cost.len().max(1) as f64,
                "start_shift_frames_mean": shift.iter().sum::<f64>() / shift.len().max(1) as f64,
                "start_shift_frames_max": shift.iter().copied().fold(0.0, f64::max),
                "distinct_starts": starts.len(),
                "starts_on_keyframes": clips.iter().filter(|c| idx.frames[c.frame_indices[0]].keyframe).count(),
                "clips": clips.len(),
            }),
        );
    }
    Ok(out)
}

/// Run the measurements and print one JSON object.
pub fn run(a: BenchArgs) -> Result<ExitCode> {
    let what: Vec<&str> = a.what.split(',').map(|s| s.trim()).collect();
    if what == ["quality"] {
        let m = bench_quality(&a.file, a.reps, a.threads)?;
        println!("{}", serde_json::Value::Object(m));
        return Ok(ExitCode::SUCCESS);
    }
    if what == ["snap"] {
        let opts = DecodeOptions {
            resize: Some(Resize {
                width: 224,
                height: 224,
                mode: ResizeMode::Squash,
            }),
            threads: a.threads,
            ..Default::default()
        };
        let m = bench_snap(&a, opts)?;
        println!("{}", serde_json::Value::Object(m));
        return Ok(ExitCode::SUCCESS);
    }
    if what == ["read"] {
        let m = bench_read(&a.file, a.reps, a.recipe.as_deref())?;
        println!("{}", serde_json::Value::Object(m));
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = serde_json::Map::new();
    out.insert("file".into(), a.file.display().to_string().into());
    out.insert("threads".into(), a.threads.into());
    out.insert("reps".into(), a.reps.into());
    let size = Some(Resize {
        width: 224,
        height: 224,
        mode: ResizeMode::Squash,
    });
    let opts = DecodeOptions {
        resize: size,
        threads: a.threads,
        ..Default::default()
    };

    if what.contains(&"probe") {
        bench_probe(&a, &mut out)?;
    }
    if what.contains(&"index") {
        bench_index(&a, &mut out)?;
    }
    if what.contains(&"uniform") {
        bench_uniform(&a, opts, &mut out)?;
    }
    if what.contains(&"random") {
        bench_random(&a, opts, &mut out)?;
    }
    if what.contains(&"decode_all") {
        bench_decode_all(&a, &mut out)?;
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(ExitCode::SUCCESS)
}

/// Probing the file (the header's frame count with it).
fn bench_probe(a: &BenchArgs, out: &mut serde_json::Map<String, serde_json::Value>) -> Result<()> {
    let mut frames = 0;
    let s = time(a.reps * 4, || {
        let p = crate::video::probe::probe(&a.file, &ProbeBudget::default())?;
        frames = p.best_video().and_then(|v| v.nb_frames).unwrap_or(0);
        Ok(())
    })?;
    out.insert("probe_secs".into(), s.into());
    out.insert("probe_header_frames".into(), frames.into());
    Ok(())
}

/// Building the frame index, with frame types and without.
fn bench_index(a: &BenchArgs, out: &mut serde_json::Map<String, serde_json::Value>) -> Result<()> {
    let mut n = 0;
    let s = time(a.reps, || {
        n = index::build_index(&a.file, &IndexOptions::default())?.len();
        Ok(())
    })?;
    let s_raw = time(a.reps, || {
        index::build_index(
            &a.file,
            &IndexOptions {
                frame_types: false,
                ..Default::default()
            },
        )?;
        Ok(())
    })?;
    out.insert("index_secs".into(), s.into());
    out.insert("index_no_types_secs".into(), s_raw.into());
    out.insert("index_frames".into(), n.into());
    Ok(())
}

/// Open (with index) + 16 uniform frames at 224x224: what a data loader does per video.
fn bench_uniform(
    a: &BenchArgs,
    opts: DecodeOptions,
    out: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let s = time(a.reps, || {
        let mut d = VideoDecoder::open(&a.file, opts)?;
        let clips = sample::sample_clips(d.index(), &SamplerConfig::default())?;
        let f = sample::decode_clips(&mut d, &clips)?;
        assert_eq!(f[0].len(), 16);
        Ok(())
    })?;
    out.insert("uniform16_secs".into(), s.into());
    Ok(())
}

/// Random clips of 16 frames, each from a freshly opened file: the given starts, or 8 seeded.
fn bench_random(
    a: &BenchArgs,
    opts: DecodeOptions,
    out: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    // 8 random clips of 16 consecutive frames, each from a freshly opened file (as a
    // loader does); reported per clip.
    let mut per_clip = Vec::new();
    let mut clip_pictures = Vec::new();
    if !a.clip_starts.is_empty() {
        for &start in &a.clip_starts {
            let mut pictures = 0;
            let s = time(a.reps.min(3), || {
                let mut d = VideoDecoder::open(&a.file, opts)?;
                let idx: Vec<usize> = (start..start + 16).collect();
                let f = d.frames_final(&idx)?;
                assert_eq!(f.len(), 16);
                pictures = d.pictures_decoded();
                Ok(())
            })?;
            clip_pictures.push(pictures);
            per_clip.push(s);
        }
    }
    for c in 0..(if a.clip_starts.is_empty() { 8u64 } else { 0 }) {
        let cfg = SamplerConfig {
            kind: SamplerKind::Random,
            frames_per_clip: 16,
            num_clips: 1,
            seed: 1000 + c,
            ..Default::default()
        };
        let s = time(a.reps.min(3), || {
            let mut d = VideoDecoder::open(&a.file, opts)?;
            let clips = sample::sample_clips(d.index(), &cfg)?;
            sample::decode_clips(&mut d, &clips)?;
            Ok(())
        })?;
        per_clip.push(s);
    }
    out.insert("random_clip_secs".into(), median(per_clip).into());
    if !clip_pictures.is_empty() {
        // Pictures decoded per clip (16 targets + the reference chain before them).
        out.insert("random_clip_pictures".into(), clip_pictures.into());
    }
    Ok(())
}

/// Decoding every frame at full size.
fn bench_decode_all(
    a: &BenchArgs,
    out: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let mut n = 0;
    let full = DecodeOptions {
        threads: a.threads,
        ..Default::default()
    };
    let s = time(a.reps.min(3), || {
        let mut d = VideoDecoder::open(&a.file, full)?;
        n = d.for_each_frame(&mut |_| true)?;
        Ok(())
    })?;
    out.insert("decode_all_secs".into(), s.into());
    out.insert("decode_all_frames".into(), n.into());
    Ok(())
}
