//! Export: datasets into the formats training code reads.
//!
//! Every export writes into a hidden work folder beside the output and renames it onto the
//! output path only when complete: an interrupted or failed export leaves nothing at the
//! destination (the output must not exist yet). Write errors, a full disk included, are
//! reported with the path.
//!
//! Formats (one folder per export; with a train/val split, `train/` and `val/` inside; a
//! dataset built from annotations keeps its own splits, one folder each, unless a new
//! train/val split is asked for; every sample's JSON carries its `labels`, their `classes`,
//! its `split`, `segment` and `row_id` where the dataset has them):
//! - `folders`: `{class}/{video}_{clip}/img_00001.jpg` (or .png), `annotations.txt` with
//!   `path num_frames label` per line, `classes.txt`. Frames-field JPEGs are copied byte for
//!   byte; flow samples give their keyframes plus `flow_00001.png` colour images.
//! - `npy`: `shard_00000.npy` `u8 (N,T,H,W,3)` or `f32 (N,T,H,W,3)` in [0,1] (a recipe, if
//!   given, is applied with sample index as the sample id, epoch 0), plus `shard_00000.json`
//!   with label, class, frame indices, pts and source per sample, `labels_00000.npy` `i64 (N,)`
//!   (the first label, -1 for none) and, for annotation datasets, `multi_hot_00000.npy`
//!   `u8 (N, classes)`.
//! - `mp4`: `{key}.mp4` per sample: segments remuxed without re-encoding, frames re-encoded
//!   (codec, CRF), flow as a colour-wheel video.
//! - `wds`: WebDataset tar shards `shard-000000.tar` holding `{key}.mp4` (segments) or
//!   `{key}.npy` (`u8 (T,H,W,3)`), `{key}.json` and `{key}.cls`.
//! - `audio`: `{key}.wav`, the clip's span of the source's audio as 16 kHz mono float WAV.

pub mod error;
pub use error::ExportError;

use crate::augment::{self, Recipe};
use crate::dataset::fields::{self};
use crate::dataset::segments::{self, SegmentParams};
use crate::dataset::writer::VideoRecord;
use crate::dataset::{Dataset, Decoders, SampleData, SampleMeta};
use crate::export::error::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

mod media;
mod npy;
mod subset;

use media::*;
use npy::*;
use subset::stored_split;
pub use subset::{excluded_by_health, select, Subset};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Folders,
    Npy,
    Mp4,
    Wds,
    Audio,
}

impl std::str::FromStr for Format {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "folders" => Format::Folders,
            "npy" => Format::Npy,
            "mp4" => Format::Mp4,
            "wds" | "webdataset" => Format::Wds,
            "audio" => Format::Audio,
            _ => {
                return Err(ExportError::param(
                    "format",
                    format!("'{s}' is not one of folders, npy, mp4, wds, audio"),
                ))
            }
        })
    }
}

/// Export settings.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: Format,
    pub subset: Subset,
    /// folders: "jpg" or "png".
    pub image_ext: String,
    /// npy: f32 in [0,1] instead of u8.
    pub float: bool,
    pub recipe: Option<Recipe>,
    /// Samples per shard (npy, wds).
    pub shard_size: usize,
    /// mp4 re-encoding of frames and flow.
    pub segment: SegmentParams,
    pub fps: f64,
    /// A sample that cannot be exported (it does not decode, its encoder refuses it) is
    /// reported in [`ExportReport::skipped`] and left out; off, the export stops at it and
    /// leaves nothing at the output.
    pub keep_going: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            format: Format::Npy,
            subset: Subset::default(),
            image_ext: "jpg".into(),
            float: false,
            recipe: None,
            shard_size: 256,
            segment: SegmentParams::default(),
            fps: 0.0,
            keep_going: false,
        }
    }
}

/// What an export did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub output: PathBuf,
    pub samples: usize,
    pub files: usize,
    pub bytes: u64,
    /// Samples left out, with the reason (e.g. no audio).
    pub skipped: Vec<(u64, String)>,
    pub splits: BTreeMap<String, usize>,
    /// Samples left out by their health flags (`Subset::exclude`), with those flags; also
    /// written to `excluded.json` in the export.
    pub excluded: Vec<(u64, Vec<String>)>,
}

fn werr(p: &Path, e: std::io::Error) -> ExportError {
    ExportError::write_io(p, e)
}

struct Out {
    files: usize,
    bytes: u64,
}

impl Out {
    fn write(&mut self, p: &Path, bytes: &[u8]) -> Result<()> {
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(|e| werr(d, e))?;
        }
        std::fs::write(p, bytes).map_err(|e| werr(p, e))?;
        self.files += 1;
        self.bytes += bytes.len() as u64;
        Ok(())
    }
}

fn class_name(ds: &Dataset, m: &SampleMeta) -> String {
    usize::try_from(m.label)
        .ok()
        .and_then(|k| ds.classes().get(k).cloned())
        .unwrap_or_else(|| "unlabelled".into())
}

fn sample_json(ds: &Dataset, m: &SampleMeta) -> serde_json::Value {
    let mut j = serde_json::json!({
        "sample": m.index,
        "label": m.label,
        "class": class_name(ds, m),
        "source": m.provenance["source"],
        "clip": m.provenance["clip"],
        "frames": m.provenance["frames"],
        "pts": m.provenance["pts"],
        "time_base": m.provenance["time_base"],
    });
    // An annotation dataset's every label (class indices and names), split, segment and row.
    if let Some(labels) = m.provenance["labels"].as_array() {
        let names: Vec<serde_json::Value> = labels
            .iter()
            .map(|l| {
                l.as_u64()
                    .and_then(|k| ds.classes().get(k as usize))
                    .map(|c| serde_json::Value::from(c.as_str()))
                    .unwrap_or(serde_json::Value::Null)
            })
            .collect();
        j["labels"] = serde_json::Value::Array(labels.clone());
        j["classes"] = serde_json::Value::Array(names);
    }
    if let Some(split) = stored_split(ds, m) {
        j["split"] = split.into();
    }
    for key in ["segment", "row_id", "annotation_line"] {
        if !m.provenance[key].is_null() {
            j[key] = m.provenance[key].clone();
        }
    }
    j
}

/// Export `dataset` to `out` (which must not exist).
pub fn export(
    dataset: &Path,
    opts: &ExportOptions,
    out: &Path,
    cancel: &AtomicBool,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ExportReport> {
    if out.exists() {
        return Err(ExportError::write(
            out,
            "already exists; choose a new output path (exports never overwrite)",
        ));
    }
    if opts.shard_size == 0 {
        return Err(ExportError::param("shard_size", "must be at least 1"));
    }
    if !matches!(opts.image_ext.as_str(), "jpg" | "png") {
        return Err(ExportError::param("image_format", "must be jpg or png"));
    }
    let ds = Dataset::open(dataset)?;
    // On object storage, a whole-dataset export says so up front and fetches its first
    // samples: a small dataset (at most 64 MiB) then comes in a few large requests before
    // the subset reads every sample's metadata, instead of a request per sample for each.
    if ds.is_remote() && opts.subset.samples.is_empty() {
        let all: Vec<u64> = (0..ds.len()).collect();
        ds.will_read(&all);
        let _ = ds.prefetch(&all[..all.len().min(AHEAD)]);
    }
    let picked = select(&ds, &opts.subset)?;
    if picked.is_empty() {
        return Err(ExportError::param("subset", "no samples match"));
    }
    let name = out
        .file_name()
        .ok_or_else(|| ExportError::param("out", "has no file name"))?
        .to_string_lossy()
        .to_string();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let work = parent.join(format!(".{name}.vdx-partial"));
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|e| werr(&work, e))?;
    }
    std::fs::create_dir_all(&work).map_err(|e| werr(&work, e))?;
    let excluded = if opts.subset.exclude.is_empty() {
        Vec::new()
    } else {
        excluded_by_health(&ds, &opts.subset.exclude)?
    };
    let r = export_into(&ds, opts, &picked, &work, cancel, progress).and_then(|mut rep| {
        if !excluded.is_empty() || !opts.subset.exclude.is_empty() {
            let j = serde_json::json!({
                "dataset": ds.path(),
                "health_report": crate::health::sidecar::path_for(ds.path()),
                "flags": opts.subset.exclude,
                "samples": excluded
                    .iter()
                    .map(|(i, f)| serde_json::json!({ "index": i, "flags": f }))
                    .collect::<Vec<_>>(),
            });
            let p = work.join("excluded.json");
            std::fs::write(&p, serde_json::to_vec_pretty(&j).expect("serializable"))
                .map_err(|e| werr(&p, e))?;
            rep.files += 1;
        }
        rep.excluded = excluded;
        Ok(rep)
    });
    match r {
        Ok(mut rep) => {
            std::fs::rename(&work, out).map_err(|e| werr(out, e))?;
            rep.output = out.to_path_buf();
            Ok(rep)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&work);
            Err(e)
        }
    }
}

fn export_into(
    ds: &Dataset,
    opts: &ExportOptions,
    picked: &[(u64, String)],
    work: &Path,
    cancel: &AtomicBool,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ExportReport> {
    let mut splits: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_split: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (i, s) in picked {
        let (i, s) = (*i, s.as_str());
        by_split.entry(s).or_default().push(i);
        *splits
            .entry(if s.is_empty() { "all" } else { s }.to_string())
            .or_default() += 1;
    }
    let mut run = Run {
        ds,
        opts,
        o: Out { files: 0, bytes: 0 },
        skipped: Vec::new(),
        done: 0,
        total: picked.len(),
        dec: Decoders::default(),
        cancel,
        progress,
    };
    for (split, ids) in by_split {
        let dir = if split.is_empty() {
            work.to_path_buf()
        } else {
            work.join(split)
        };
        match opts.format {
            Format::Folders => run.folders(&dir, &ids)?,
            Format::Npy => run.npy(&dir, &ids)?,
            Format::Mp4 => run.mp4(&dir, &ids)?,
            Format::Wds => run.wds(&dir, &ids)?,
            Format::Audio => run.audio(&dir, &ids)?,
        }
    }
    Ok(ExportReport {
        output: work.to_path_buf(),
        samples: run.total - run.skipped.len(),
        files: run.o.files,
        bytes: run.o.bytes,
        skipped: run.skipped,
        splits,
        excluded: Vec::new(),
    })
}

/// Samples an export fetches ahead at a time from object storage.
const AHEAD: usize = 256;

/// One export's writing state, shared by every format's writer.
struct Run<'a> {
    ds: &'a Dataset,
    opts: &'a ExportOptions,
    o: Out,
    skipped: Vec<(u64, String)>,
    done: usize,
    total: usize,
    dec: Decoders,
    cancel: &'a AtomicBool,
    progress: &'a (dyn Fn(usize, usize) + Sync),
}

impl Run<'_> {
    /// On object storage: at every `AHEAD`th sample of `ids`, the next `AHEAD` samples'
    /// bytes (or only their metadata, `meta_only`) fetched side by side instead of one
    /// request per sample as each is read. A failure here is left to the sample's own read,
    /// which reports it (or, with keep_going, notes it).
    fn ahead(&self, ids: &[u64], at: usize, meta_only: bool) {
        if at % AHEAD != 0 || !self.ds.is_remote() {
            return;
        }
        let next = &ids[at..(at + AHEAD).min(ids.len())];
        let _ = if meta_only {
            self.ds.prefetch_meta(next)
        } else {
            self.ds.prefetch(next)
        };
    }

    /// A sample's own failure: stop, or (keep_going) note it and go on. Cancelling and
    /// failures to write the output always stop.
    fn failed(&mut self, i: u64, e: ExportError) -> Result<()> {
        match e {
            e if e.is_cancelled() || e.is_write() => Err(e),
            e if self.opts.keep_going => {
                self.skipped.push((i, e.without_path()));
                Ok(())
            }
            e => Err(e),
        }
    }

    /// One more sample done: progress, and stop if cancelled.
    fn tick(&mut self) -> Result<()> {
        self.done += 1;
        (self.progress)(self.done, self.total);
        if self.cancel.load(Ordering::Relaxed) {
            return Err(ExportError::Cancelled);
        }
        Ok(())
    }

    /// Frame folders per sample, `annotations.txt` and `classes.txt`.
    fn folders(&mut self, dir: &Path, ids: &[u64]) -> Result<()> {
        let (ds, opts) = (self.ds, self.opts);
        let mut ann = String::new();
        for (at, &i) in ids.iter().enumerate() {
            self.ahead(ids, at, false);
            let m = ds.meta(i)?;
            let stem = Path::new(m.provenance["source"].as_str().unwrap_or("video"))
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let rel = format!(
                "{}/{}_{:03}",
                class_name(ds, &m),
                stem,
                m.provenance["clip"].as_u64().unwrap_or(0)
            );
            match ds
                .verify_sample_checksum(i)
                .map_err(ExportError::from)
                .and_then(|_| {
                    write_frames_folder(
                        ds,
                        i,
                        &m,
                        &dir.join(&rel),
                        &opts.image_ext,
                        &mut self.o,
                        &mut self.dec,
                    )
                }) {
                Ok(n) => ann.push_str(&format!("{rel} {n} {}\n", m.label)),
                Err(e) => self.failed(i, e)?,
            }
            self.tick()?;
        }
        self.o.write(&dir.join("annotations.txt"), ann.as_bytes())?;
        let mut classes = ds.classes().join("\n");
        classes.push('\n');
        self.o.write(&dir.join("classes.txt"), classes.as_bytes())?;
        Ok(())
    }

    /// `.npy` shards: a batch decodes on the pool while the one before is written.
    fn npy(&mut self, dir: &Path, ids: &[u64]) -> Result<()> {
        let (ds, opts) = (self.ds, self.opts);
        use rayon::prelude::*;
        std::fs::create_dir_all(dir).map_err(|e| werr(dir, e))?;
        // Clip buffers go back here once written and are decoded into again.
        let pool = std::sync::Mutex::new(Vec::<Vec<u8>>::new());
        // Batches of a few clips per worker (16 at most), each within one shard.
        let per = (4 * rayon::current_num_threads()).clamp(4, 16);
        let mut batches = ids
            .chunks(opts.shard_size)
            .enumerate()
            .flat_map(|(k, chunk)| chunk.chunks(per).map(move |b| (k, chunk.len(), b)));
        let mut shard: Option<(usize, NpyShard)> = None;
        let n_classes = ds.classes().len();
        let finish = |sh: NpyShard, k: usize, o: &mut Out| -> Result<()> {
            if let Some(w) = sh.writer {
                w.finish()?;
                o.files += 1;
            }
            for (name, bytes) in npy_label_arrays(&sh.meta, n_classes) {
                o.write(&dir.join(format!("{name}_{k:05}.npy")), &bytes)?;
            }
            o.write(
                &dir.join(format!("shard_{k:05}.json")),
                &serde_json::to_vec_pretty(&sh.meta).expect("JSON"),
            )
        };
        let mut pending: Option<(Vec<Result<NpySample>>, NpyBatch)> = None;
        loop {
            let next = batches.next();
            // This batch decodes on the rayon pool while this thread writes the one
            // before (and finishes shards): with one worker thread too, writing is not
            // in the way of JPEG decoding. Memory holds two batches, not a shard.
            let (decoded, written) = std::thread::scope(|sc| {
                let decoding = sc.spawn(|| {
                    next.map(|(_, _, b)| {
                        // On object storage, the batch's bytes side by side first.
                        if ds.is_remote() {
                            let _ = ds.prefetch(b);
                        }
                        b.par_iter()
                            .map_init(Decoders::default, |dec, &i| {
                                let buf = pool.lock().ok().and_then(|mut p| p.pop());
                                npy_sample(ds, i, opts, dec, buf.unwrap_or_default())
                            })
                            .collect::<Vec<_>>()
                    })
                });
                let written = (|| -> Result<()> {
                    let Some((results, (k, len, batch))) = pending.take() else {
                        return Ok(());
                    };
                    if shard.as_ref().is_some_and(|(sk, _)| *sk != k) {
                        let (sk, sh) = shard.take().expect("checked");
                        finish(sh, sk, &mut self.o)?;
                    }
                    let (_, sh) = shard.get_or_insert_with(|| {
                        (
                            k,
                            NpyShard {
                                path: dir.join(format!("shard_{k:05}.npy")),
                                len,
                                float: opts.float,
                                writer: None,
                                shape: None,
                                meta: Vec::with_capacity(len),
                            },
                        )
                    });
                    for (r, &i) in results.into_iter().zip(batch) {
                        let (bytes, s, j) = r?;
                        self.o.bytes += sh.push(i, &bytes, s, j)?;
                        if let Ok(mut p) = pool.lock() {
                            p.push(bytes);
                        }
                        self.tick()?;
                    }
                    Ok(())
                })();
                let decoded = match decoding.join() {
                    Ok(d) => d,
                    Err(panic) => std::panic::resume_unwind(panic),
                };
                (decoded, written)
            });
            written?;
            match (decoded, next) {
                (Some(d), Some((k, len, b))) => pending = Some((d, (k, len, b))),
                _ => break,
            }
        }
        if let Some((k, sh)) = shard.take() {
            finish(sh, k, &mut self.o)?;
        }
        Ok(())
    }

    /// One MP4 per sample.
    fn mp4(&mut self, dir: &Path, ids: &[u64]) -> Result<()> {
        let (ds, opts) = (self.ds, self.opts);
        for (at, &i) in ids.iter().enumerate() {
            self.ahead(ids, at, false);
            let p = dir.join(format!("{i:06}.mp4"));
            let bytes = ds
                .verify_sample_checksum(i)
                .map_err(ExportError::from)
                .and_then(|_| sample_mp4(ds, i, opts, &mut self.dec, dir));
            match bytes {
                Ok(bytes) => self.o.write(&p, &bytes)?,
                Err(e) => self.failed(i, e)?,
            }
            self.tick()?;
        }
        Ok(())
    }

    /// WebDataset tar shards.
    fn wds(&mut self, dir: &Path, ids: &[u64]) -> Result<()> {
        let (ds, opts) = (self.ds, self.opts);
        for (k, chunk) in ids.chunks(opts.shard_size).enumerate() {
            let mut tar = Vec::new();
            for (at, &i) in chunk.iter().enumerate() {
                self.ahead(chunk, at, false);
                let m = ds.meta(i)?;
                let key = format!("{i:06}");
                let payload = match ds.verify_sample_checksum(i).map(|_| &m.record) {
                    Err(e) => Err(ExportError::from(e)),
                    Ok(_) => match m.record {
                        VideoRecord::Segments { .. } => sample_mp4(ds, i, opts, &mut self.dec, dir)
                            .map(|mp4| (format!("{key}.mp4"), mp4)),
                        _ => ds
                            .decode_clip(i, &mut self.dec)
                            .map_err(ExportError::from)
                            .map(|c| {
                                let mut b = crate::npy::header(
                                    crate::npy::Dtype::U8,
                                    &[c.num_frames, c.height, c.width, 3],
                                );
                                b.extend_from_slice(&c.data);
                                (format!("{key}.npy"), b)
                            }),
                    },
                };
                match payload {
                    Ok((name, bytes)) => tar_entry(&mut tar, &name, &bytes),
                    Err(e) => {
                        self.failed(i, e)?;
                        self.tick()?;
                        continue;
                    }
                }
                tar_entry(
                    &mut tar,
                    &format!("{key}.json"),
                    &serde_json::to_vec(&sample_json(ds, &m)).expect("JSON"),
                );
                tar_entry(
                    &mut tar,
                    &format!("{key}.cls"),
                    m.label.to_string().as_bytes(),
                );
                self.tick()?;
            }
            tar.extend_from_slice(&[0u8; 1024]);
            self.o.write(&dir.join(format!("shard-{k:06}.tar")), &tar)?;
        }
        Ok(())
    }

    /// Each clip's audio as 16 kHz mono WAV.
    fn audio(&mut self, dir: &Path, ids: &[u64]) -> Result<()> {
        let ds = self.ds;
        let mut cache: BTreeMap<
            String,
            std::result::Result<crate::video::audio::MonoAudio, crate::video::VideoError>,
        > = BTreeMap::new();
        for (at, &i) in ids.iter().enumerate() {
            self.ahead(ids, at, true);
            let m = ds.meta(i)?;
            let src = m.provenance["source"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let audio = cache
                .entry(src.clone())
                .or_insert_with(|| crate::video::audio::decode_mono(Path::new(&src), 16000));
            match audio {
                Ok(a) => {
                    let (t0, t1) = clip_span(&m);
                    let s0 = ((t0 * 16000.0).round().max(0.0) as usize).min(a.samples.len());
                    let s1 = ((t1 * 16000.0).round().max(0.0) as usize).clamp(s0, a.samples.len());
                    let clip = crate::video::audio::MonoAudio {
                        sample_rate: 16000,
                        samples: a.samples[s0..s1].to_vec(),
                        warnings: Vec::new(),
                    };
                    let p = dir.join(format!("{i:06}.wav"));
                    crate::video::audio::write_wav(&p, &clip)?;
                    self.o.files += 1;
                    self.o.bytes += (clip.samples.len() * 4 + 58) as u64;
                }
                Err(e) => self.skipped.push((i, e.to_string())),
            }
            self.tick()?;
        }
        Ok(())
    }
}

/// Append one file to a tar archive (POSIX ustar).
fn tar_entry(tar: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut h = [0u8; 512];
    let nb = name.as_bytes();
    h[..nb.len().min(100)].copy_from_slice(&nb[..nb.len().min(100)]);
    let oct = |h: &mut [u8; 512], at: usize, len: usize, v: u64| {
        let s = format!("{:0width$o}\0", v, width = len - 1);
        h[at..at + len].copy_from_slice(s.as_bytes());
    };
    oct(&mut h, 100, 8, 0o644);
    oct(&mut h, 108, 8, 0);
    oct(&mut h, 116, 8, 0);
    oct(&mut h, 124, 12, data.len() as u64);
    oct(&mut h, 136, 12, 0);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    tar.extend_from_slice(&h);
    tar.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    tar.extend(std::iter::repeat_n(0u8, pad));
}
