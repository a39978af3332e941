//! `vdx inspect` and `vdx verify`: what a dataset holds, and whether it is sound.

use crate::cli::progress::{bar, ctrl_c_flag};
use crate::dataset::{self, Dataset, Decoders, SampleData};
use crate::error::{Result, VdxError};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct InspectArgs {
    pub dataset: PathBuf,
    /// Show (and with --frames-out, decode) this sample.
    #[arg(long)]
    pub sample: Option<u64>,
    /// Write the sample's frames (or flow keyframes and flow colour images) as PNGs here.
    #[arg(long)]
    pub frames_out: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// Samples per split and class (every label of a multi-label sample counts): `{split:
/// {class: n}}`, the split `-` for samples without one; null for a dataset without splits.
fn split_counts(ds: &Dataset, samples: &[crate::dataset::SampleMeta]) -> serde_json::Value {
    let splits: Vec<String> = match ds.info()["splits"].as_array() {
        Some(a) => a
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect(),
        None => return serde_json::Value::Null,
    };
    let classes = ds.classes();
    let mut out =
        std::collections::BTreeMap::<String, std::collections::BTreeMap<String, u64>>::new();
    for m in samples {
        let split = m.provenance["split"]
            .as_u64()
            .and_then(|s| splits.get(s as usize).cloned())
            .unwrap_or_else(|| "-".into());
        let labels: Vec<i64> = match m.provenance["labels"].as_array() {
            Some(l) => l.iter().filter_map(|x| x.as_i64()).collect(),
            None => vec![m.label],
        };
        for l in labels {
            let name = usize::try_from(l)
                .ok()
                .and_then(|l| classes.get(l).cloned())
                .unwrap_or_else(|| "(unlabelled)".into());
            *out.entry(split.clone())
                .or_default()
                .entry(name)
                .or_default() += 1;
        }
    }
    serde_json::json!(out)
}

pub fn cmd_inspect(a: InspectArgs) -> Result<ExitCode> {
    let ds = Dataset::open(&a.dataset)?;
    if let Some(i) = a.sample {
        let m = ds.meta(i)?;
        if let Some(dir) = &a.frames_out {
            write_sample_images(&ds, i, dir)?;
        }
        if a.json {
            let v = serde_json::to_string_pretty(&m).expect("serializable");
            println!("{v}");
        } else {
            print_sample(&ds, i, &m);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut samples = Vec::with_capacity(ds.len() as usize);
    let mut labels = std::collections::BTreeMap::<i64, u64>::new();
    let mut bytes = 0u64;
    for i in 0..ds.len() {
        // On object storage: the provenance of the next samples, side by side.
        if i % META_CHUNK == 0 {
            let end = (i + META_CHUNK).min(ds.len());
            ds.prefetch_meta(&(i..end).collect::<Vec<u64>>())?;
        }
        let m = ds.meta(i)?;
        *labels.entry(m.label).or_default() += 1;
        bytes += m.data_size;
        samples.push(m);
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&dataset_json(&ds, &samples)).expect("serializable")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let vf = ds.video_field();
    print_layout(&ds);
    print_counts(&ds, &samples, &labels, bytes);
    let _ = vf;
    Ok(ExitCode::SUCCESS)
}

/// Samples whose metadata `inspect` fetches at a time from object storage.
const META_CHUNK: u64 = 1024;

/// Prints one sample's metadata as text.
fn print_sample(ds: &Dataset, i: u64, m: &crate::dataset::SampleMeta) {
    println!("sample {i} of {}", ds.len());
    println!(
        "  label      {} {}",
        m.label,
        m.class.as_deref().unwrap_or("")
    );
    println!("  record     {:?}", m.record);
    println!("  data       {} bytes at {}", m.data_size, m.data_ptr);
    println!("  checksum   {:08x}", m.checksum);
    println!("  provenance {}", m.provenance);
}

/// The whole dataset as JSON: header, fields, row layout, info, shards, counts, checks and
/// every sample's metadata.
fn dataset_json(ds: &Dataset, samples: &[crate::dataset::SampleMeta]) -> serde_json::Value {
    let (layout, meta_off, data_start) = ds.layout();
    serde_json::json!({
        "path": ds.path(),
        "header": ds.header,
        "fields": ds.fields,
        "row_offsets": layout.offsets,
        "row_itemsize": layout.itemsize,
        "metadata_offset": meta_off,
        "data_start": data_start,
        "info": ds.info(),
        "shards": ds.manifest().map(|m| &m.shards),
        "split_counts": split_counts(ds, samples),
        "checks": annotation_checks(ds, samples),
        "samples": samples,
    })
}

/// Prints the path, the manifest's shards, the file format and the fields.
fn print_layout(ds: &Dataset) {
    println!("{}", ds.path().display());
    if let Some(m) = ds.manifest() {
        println!(
            "manifest '{}': {} samples in {} shards",
            m.name,
            m.samples,
            m.shards.len()
        );
        for s in &m.shards {
            println!(
                "  {}  {} samples  {:.1} MB",
                s.file,
                s.samples,
                s.bytes as f64 / 1e6
            );
        }
    }
    println!(
        "  format     .beton v{}, page size {} MiB, {} fields",
        ds.header.version,
        ds.header.page_size >> 20,
        ds.header.num_fields
    );
    for f in &ds.fields {
        println!(
            "  field      {:<10} type {:>2} ({:?}) {}",
            f.name,
            f.field_type.id(),
            f.field_type,
            f.arguments
        );
    }
}

/// Prints the sample count and data size, the samples per label and per split, and the
/// annotation checks.
fn print_counts(
    ds: &Dataset,
    samples: &[crate::dataset::SampleMeta],
    labels: &std::collections::BTreeMap<i64, u64>,
    bytes: u64,
) {
    println!("  samples    {}", ds.len());
    println!(
        "  video data {:.1} MB ({:.1} kB per sample)",
        bytes as f64 / 1e6,
        bytes as f64 / 1e3 / ds.len().max(1) as f64
    );
    let classes = ds.classes();
    for (l, n) in labels {
        let name = usize::try_from(*l)
            .ok()
            .and_then(|k| classes.get(k).cloned())
            .unwrap_or_else(|| "(unlabelled)".into());
        println!("  label {l:>4}  {n:>6} samples  {name}");
    }
    if let serde_json::Value::Object(by_split) = split_counts(ds, samples) {
        for (split, counts) in &by_split {
            let total: u64 = counts
                .as_object()
                .map(|c| c.values().filter_map(|v| v.as_u64()).sum())
                .unwrap_or(0);
            let per: Vec<String> = counts
                .as_object()
                .map(|c| c.iter().map(|(k, v)| format!("{k} {v}")).collect())
                .unwrap_or_default();
            println!("  split {split:<8} {total:>6} labels: {}", per.join(", "));
        }
    }
    if let Some(c) = annotation_checks(ds, samples) {
        println!("  checks:");
        for line in c.summary() {
            println!("    {line}");
        }
    }
}

/// The annotation checks, for a dataset built from annotations.
fn annotation_checks(
    ds: &Dataset,
    samples: &[crate::dataset::SampleMeta],
) -> Option<crate::dataset::checks::AnnotationChecks> {
    let rows = crate::dataset::checks::rows(ds, samples);
    (!rows.is_empty()).then(|| crate::dataset::checks::check(&rows))
}

fn write_sample_images(ds: &Dataset, i: u64, dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| VdxError::write_io(dir, e))?;
    let mut dec = Decoders::default();
    let save = |name: String, rgb: &[u8], w: usize, h: usize| -> Result<()> {
        let png = crate::jpeg::encode_png(rgb, w as u32, h as u32)?;
        let p = dir.join(name);
        std::fs::write(&p, png).map_err(|e| VdxError::write_io(&p, e))
    };
    match ds.decode(i, &mut dec)? {
        SampleData::Clip(c) => {
            for t in 0..c.num_frames {
                save(format!("frame_{t:03}.png"), c.frame(t), c.width, c.height)?;
            }
        }
        SampleData::Flow(f) => {
            let n = f.width * f.height * 3;
            for (k, p) in f.keyframe_positions.iter().enumerate() {
                save(
                    format!("keyframe_{p:03}.png"),
                    &f.keyframes[k * n..(k + 1) * n],
                    f.width,
                    f.height,
                )?;
            }
            let m = f.width * f.height * 2;
            for t in 0..f.num_frames.saturating_sub(1) {
                let rgb = crate::flowviz::flow_to_rgb(&f.flow[t * m..(t + 1) * m], None);
                save(format!("flow_{t:03}.png"), &rgb, f.width, f.height)?;
            }
        }
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    pub dataset: PathBuf,
    /// Check structure and checksums only, without decoding every sample.
    #[arg(long)]
    pub no_decode: bool,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub quiet: bool,
}

pub fn cmd_verify(a: VerifyArgs) -> Result<ExitCode> {
    let cancel = ctrl_c_flag();
    let pb = std::sync::Mutex::new(None::<indicatif::ProgressBar>);
    let quiet = a.quiet || a.json;
    let r = dataset::verify::verify(&a.dataset, !a.no_decode, &cancel, &|d, n| {
        let mut g = pb.lock().unwrap_or_else(|e| e.into_inner());
        g.get_or_insert_with(|| bar(n, quiet, "samples"))
            .set_position(d);
    });
    if let Some(p) = pb.lock().unwrap_or_else(|e| e.into_inner()).take() {
        p.finish_and_clear();
    }
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({"path": a.dataset, "ok": false, "problems": [e.to_string()]})
                );
            }
            return Err(e.into());
        }
    };
    if a.json {
        let mut v = serde_json::to_value(&r).expect("serializable");
        v["ok"] = r.ok().into();
        println!("{v}");
    } else if r.ok() {
        println!(
            "{}: OK: {} samples, checksums match, {} decoded",
            r.path, r.samples, r.decoded
        );
    } else {
        for p in &r.problems {
            eprintln!("{p}");
        }
        eprintln!(
            "{}: FAILED: {} problems in {} samples",
            r.path,
            r.problems.len(),
            r.samples
        );
    }
    Ok(if r.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
