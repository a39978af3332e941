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
            return Err(VdxError::param(
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
