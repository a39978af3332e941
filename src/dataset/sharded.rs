//! [`Dataset`]: one dataset file, or the shards of a manifest (`*.vdxm`) read as one
//! dataset with global sample indices in shard order. Everything that reads datasets (the
//! CLI, the explorer, export, verify, the Python package) goes through it.

use crate::dataset::fields::ClipTensor;
use crate::dataset::format::{FieldDescriptor, Header, RowLayout};
use crate::dataset::manifest::{self, Manifest, MANIFEST_EXT};
use crate::dataset::reader::{DatasetFile, Decoders, SampleData, SampleMeta};
use crate::error::{Result, VdxError};
use std::path::{Path, PathBuf};

/// An open dataset: a single file or a manifest's shards.
pub struct Dataset {
    path: PathBuf,
    files: Vec<DatasetFile>,
    /// Global index of each shard's first sample, and the total at the end.
    starts: Vec<u64>,
    manifest: Option<Manifest>,
    /// For a single file its header; for a manifest the first shard's, with the total
    /// sample count.
    pub header: Header,
    /// The fields (the same in every shard).
    pub fields: Vec<FieldDescriptor>,
}

impl Dataset {
    /// Open a dataset file (`.vdx`, `.beton`) or a manifest (`.vdxm`).
    pub fn open(path: &Path) -> Result<Self> {
        let is_manifest = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(MANIFEST_EXT));
        let (files, manifest) = if is_manifest {
            let (m, files) = manifest::open_shards(path)?;
            (files, Some(m))
        } else {
            (vec![DatasetFile::open(path)?], None)
        };
        let mut starts = Vec::with_capacity(files.len() + 1);
        let mut at = 0u64;
        for f in &files {
            starts.push(at);
            at += f.len();
        }
        starts.push(at);
        // For one file this is its own header (the total is its own count).
        let mut header = files[0].header;
        header.num_samples = at;
        let fields = files[0].fields.clone();
        Ok(Dataset {
            path: path.to_path_buf(),
            files,
            starts,
            manifest,
            header,
            fields,
        })
    }

    /// The path opened: the dataset file or the manifest.
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn len(&self) -> u64 {
        *self.starts.last().expect("at least the end")
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The manifest, where one was opened.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }
    /// The dataset files: one, or every shard in manifest order.
    pub fn files(&self) -> &[DatasetFile] {
        &self.files
    }
    /// (shard, index within it) of global sample `i`.
    pub fn shard_of(&self, i: u64) -> Result<(usize, u64)> {
        if i >= self.len() {
            return Err(VdxError::Dataset {
                path: self.path.clone(),
                reason: format!("sample {i} is out of range: it has {} samples", self.len()),
            });
        }
        let s = self.starts.partition_point(|&st| st <= i) - 1;
        Ok((s, i - self.starts[s]))
    }
    fn part(&self, i: u64) -> Result<(&DatasetFile, usize, u64)> {
        let (s, j) = self.shard_of(i)?;
        Ok((&self.files[s], s, j))
    }
    pub fn video_field(&self) -> &FieldDescriptor {
        self.files[0].video_field()
    }
    /// Dataset-level facts (the first shard's info for a manifest).
    pub fn info(&self) -> &serde_json::Value {
        self.files[0].info()
    }
    /// An annotation dataset's split names (the info's `splits`; empty for other datasets).
    /// A sample's provenance `split` is an index into them.
    pub fn splits(&self) -> Vec<String> {
        self.info()["splits"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
    pub fn classes(&self) -> &[String] {
        self.files[0].classes()
    }
    /// The row layout, metadata offset and data start (of the first shard).
    pub fn layout(&self) -> (&RowLayout, u64, u64) {
        self.files[0].layout()
    }
    /// Fetches the bytes of these samples (global indices) where they are on object storage,
    /// several requests in flight; a no-op for local files.
    pub fn prefetch(&self, samples: &[u64]) -> Result<()> {
        let mut per_file: Vec<Vec<u64>> = vec![Vec::new(); self.files.len()];
        for &i in samples {
            let (s, j) = self.shard_of(i)?;
            per_file[s].push(j);
        }
        for (f, idx) in self.files.iter().zip(&per_file) {
            if !idx.is_empty() {
                f.prefetch(idx)?;
            }
        }
        Ok(())
    }
    pub fn meta(&self, i: u64) -> Result<SampleMeta> {
        let (f, s, j) = self.part(i)?;
        let mut m = f.meta(j)?;
        m.index = i;
        m.shard = s;
        Ok(m)
    }
    /// Sample `i`'s data could not be decoded: the field's error kept as the source.
    pub fn sample_error(&self, i: u64, source: crate::dataset::fields::FieldError) -> VdxError {
        VdxError::Sample {
            path: self.path().to_path_buf(),
            sample: i,
            source: Box::new(source),
        }
    }
    pub fn raw_data(&self, i: u64) -> Result<(SampleMeta, &[u8])> {
        let (f, s, j) = self.part(i)?;
        let (mut m, d) = f.raw_data(j)?;
        m.index = i;
        m.shard = s;
        Ok((m, d))
    }
    pub fn verify_sample_checksum(&self, i: u64) -> Result<()> {
        let (f, _, j) = self.part(i)?;
        f.verify_sample_checksum(j)
    }
    pub fn decode(&self, i: u64, dec: &mut Decoders) -> Result<SampleData> {
        let (f, _, j) = self.part(i)?;
        f.decode(j, dec)
    }
    pub fn decode_reusing(&self, i: u64, dec: &mut Decoders, buf: Vec<u8>) -> Result<SampleData> {
        let (f, _, j) = self.part(i)?;
        f.decode_reusing(j, dec, buf)
    }
    pub fn decode_clip(&self, i: u64, dec: &mut Decoders) -> Result<ClipTensor> {
        let (f, _, j) = self.part(i)?;
        f.decode_clip(j, dec)
    }
    pub fn decode_clip_reusing(
        &self,
        i: u64,
        dec: &mut Decoders,
        buf: Vec<u8>,
    ) -> Result<ClipTensor> {
        let (f, _, j) = self.part(i)?;
        f.decode_clip_reusing(j, dec, buf)
    }
}
