//! The npy format: clips stacked into shard arrays with a labels file.

use super::*;

/// An npy shard being written: all its clips must have one shape.
pub(super) struct NpyShard {
    pub(super) path: PathBuf,
    pub(super) len: usize,
    pub(super) float: bool,
    pub(super) writer: Option<crate::npy::NpyWriter>,
    pub(super) shape: Option<[usize; 3]>,
    pub(super) meta: Vec<serde_json::Value>,
}

impl NpyShard {
    /// Appends sample `i`; returns the bytes written.
    pub(super) fn push(
        &mut self,
        i: u64,
        bytes: &[u8],
        s: [usize; 3],
        j: serde_json::Value,
    ) -> Result<u64> {
        if *self.shape.get_or_insert(s) != s {
            return Err(ExportError::param(
                "npy",
                format!(
                    "sample {i} is {s:?}, others in its shard {:?}: give a recipe that crops \
                     to one size",
                    self.shape.unwrap_or(s)
                ),
            ));
        }
        if self.writer.is_none() {
            let dtype = if self.float {
                crate::npy::Dtype::F32
            } else {
                crate::npy::Dtype::U8
            };
            self.writer = Some(crate::npy::NpyWriter::create(
                &self.path,
                dtype,
                &[self.len, s[0], s[1], s[2], 3],
            )?);
        }
        self.writer.as_mut().expect("created above").write(bytes)?;
        self.meta.push(j);
        Ok(bytes.len() as u64)
    }
}

/// A batch of samples: (shard number, shard length, sample ids).
pub(super) type NpyBatch<'a> = (usize, usize, &'a [u64]);

/// One sample for an npy shard: its bytes (u8, or f32 little-endian), shape, and JSON.
pub(super) type NpySample = (Vec<u8>, [usize; 3], serde_json::Value);

pub(super) fn npy_sample(
    ds: &Dataset,
    i: u64,
    opts: &ExportOptions,
    dec: &mut Decoders,
    buf: Vec<u8>,
) -> Result<NpySample> {
    let m = ds.meta(i)?;
    // Exports never pass on bytes that changed since the build.
    ds.verify_sample_checksum(i)?;
    let c = ds.decode_clip_reusing(i, dec, buf)?;
    let mut clip = augment::Clip::new(c.num_frames, c.height, c.width, c.data)?;
    let mut draws = serde_json::Value::Null;
    if let Some(r) = &opts.recipe {
        let (a, d) = augment::apply(r, &clip, i, 0)?;
        clip = a;
        draws = serde_json::to_value(d).unwrap_or_default();
    }
    let shape = [clip.t, clip.h, clip.w];
    let bytes = if opts.float {
        let mut f = vec![0f32; clip.data.len()];
        match &opts.recipe {
            Some(r) => augment::to_float_into(r, &clip, &mut f)?,
            None => {
                for (d, v) in f.iter_mut().zip(&clip.data) {
                    *d = *v as f32 * (1.0 / 255.0);
                }
            }
        }
        let mut b = Vec::with_capacity(f.len() * 4);
        for v in f {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    } else {
        clip.data
    };
    let mut j = sample_json(ds, &m);
    j["draws"] = draws;
    Ok((bytes, shape, j))
}

/// A shard's label arrays beside its clips: `labels` int64 (N,) (the first label, -1 for
/// none), and for a dataset built from annotations `multi_hot` uint8 (N, C) with every label
/// of each sample set.
pub(super) fn npy_label_arrays(
    meta: &[serde_json::Value],
    n_classes: usize,
) -> Vec<(&'static str, Vec<u8>)> {
    let n = meta.len();
    let mut labels = crate::npy::header(crate::npy::Dtype::I64, &[n]);
    for m in meta {
        labels.extend_from_slice(&m["label"].as_i64().unwrap_or(-1).to_le_bytes());
    }
    let mut out = vec![("labels", labels)];
    if meta.iter().any(|m| m["labels"].is_array()) {
        let mut hot = crate::npy::header(crate::npy::Dtype::U8, &[n, n_classes]);
        let at = hot.len();
        hot.resize(at + n * n_classes, 0);
        for (r, m) in meta.iter().enumerate() {
            let all: Vec<i64> = match m["labels"].as_array() {
                Some(l) => l.iter().filter_map(|v| v.as_i64()).collect(),
                None => m["label"].as_i64().into_iter().collect(),
            };
            for c in all {
                if (0..n_classes as i64).contains(&c) {
                    hot[at + r * n_classes + c as usize] = 1;
                }
            }
        }
        out.push(("multi_hot", hot));
    }
    out
}
