//! [`Dataset`]: one dataset file, or the shards of a manifest (`*.vdxm`) read as one
//! dataset with global sample indices in shard order. Everything that reads datasets (the
//! CLI, the explorer, export, verify, the Python package) goes through it.

use crate::dataset::error::{DatasetError, Result};
use crate::dataset::fields::ClipTensor;
use crate::dataset::format::{FieldDescriptor, Header, RowLayout};
use crate::dataset::manifest::{self, Manifest, MANIFEST_EXT};
use crate::dataset::reader::{DatasetFile, Decoders, SampleData, SampleMeta};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// An open dataset: a single file or a manifest's shards.
///
/// A local manifest opens every shard at once (cheap, and a damaged shard is refused before
/// anything is read). On object storage each shard open costs requests: the first shard is
/// opened with the manifest (its field, classes and info are the dataset's), the others when
/// a sample of theirs is first read, each checked against its entry then, so the first batch
/// of a 1,000-shard manifest opens the shards it reads, not all of them.
pub struct Dataset {
    path: PathBuf,
    files: Vec<OnceLock<DatasetFile>>,
    /// Global index of each shard's first sample, and the total at the end.
    starts: Vec<u64>,
    manifest: Option<Manifest>,
    /// For a single file its header; for a manifest the first shard's, with the total
    /// sample count.
    pub header: Header,
    /// The fields (the same in every shard).
    pub fields: Vec<FieldDescriptor>,
    /// [`Dataset::will_read`]'s samples of shards not open yet (shard -> local indices),
    /// handed to each shard when it opens.
    hints: Mutex<BTreeMap<usize, Vec<u64>>>,
}

impl Dataset {
    /// Open a dataset file (`.vdx`, `.beton`) or a manifest (`.vdxm`).
    pub fn open(path: &Path) -> Result<Self> {
        let is_manifest = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(MANIFEST_EXT));
        let (files, counts, manifest): (Vec<OnceLock<DatasetFile>>, Vec<u64>, _) = if is_manifest {
            let m = manifest::read_manifest(path)?;
            let counts = m.shards.iter().map(|s| s.samples).collect();
            let files = if crate::storage::is_url(path) {
                let first = manifest::open_listed_shard(path, &m, 0)?;
                std::iter::once(OnceLock::from(first))
                    .chain((1..m.shards.len()).map(|_| OnceLock::new()))
                    .collect()
            } else {
                let all: Vec<usize> = (0..m.shards.len()).collect();
                manifest::open_listed_shards(path, &m, &all)?
                    .into_iter()
                    .map(OnceLock::from)
                    .collect()
            };
            (files, counts, Some(m))
        } else {
            let f = DatasetFile::open(path)?;
            let counts = vec![f.len()];
            (vec![OnceLock::from(f)], counts, None)
        };
        // Global indices from the manifest's counts (each shard is checked to hold its count
        // when it is opened).
        let mut starts = Vec::with_capacity(counts.len() + 1);
        let mut at = 0u64;
        for c in &counts {
            starts.push(at);
            at += c;
        }
        starts.push(at);
        let first = files[0]
            .get()
            .expect("the first file is opened with the dataset");
        // For one file this is its own header (the total is its own count).
        let mut header = first.header;
        header.num_samples = at;
        let fields = first.fields.clone();
        Ok(Dataset {
            path: path.to_path_buf(),
            files,
            starts,
            manifest,
            header,
            fields,
            hints: Mutex::new(BTreeMap::new()),
        })
    }

    /// The first file, opened with the dataset.
    fn first(&self) -> &DatasetFile {
        self.files[0]
            .get()
            .expect("the first file is opened with the dataset")
    }

    /// Shard `s`, opened (and checked against the manifest) the first time it is asked for.
    pub fn file(&self, s: usize) -> Result<&DatasetFile> {
        if let Some(f) = self.files[s].get() {
            return Ok(f);
        }
        let m = self
            .manifest
            .as_ref()
            .expect("only a manifest's shards are opened late");
        let f = manifest::open_listed_shard(&self.path, m, s)?;
        // Another thread may have opened it meanwhile: either copy is the same shard.
        let _ = self.files[s].set(f);
        Ok(self.files[s].get().expect("just set"))
    }

    /// Opens the shards `ss` not yet open, side by side.
    fn open_files(&self, ss: &[usize]) -> Result<()> {
        let mut need: Vec<usize> = ss
            .iter()
            .copied()
            .filter(|&s| self.files[s].get().is_none())
            .collect();
        need.sort_unstable();
        need.dedup();
        if need.is_empty() {
            return Ok(());
        }
        let m = self
            .manifest
            .as_ref()
            .expect("only a manifest's shards are opened late");
        for (s, f) in need
            .iter()
            .zip(manifest::open_listed_shards(&self.path, m, &need)?)
        {
            let _ = self.files[*s].set(f);
        }
        Ok(())
    }

    /// The path opened: the dataset file or the manifest.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Whether the dataset is read from object storage (a URL), where reads are worth
    /// planning ahead ([`Dataset::will_read`], [`Dataset::prefetch`]).
    pub fn is_remote(&self) -> bool {
        crate::storage::is_url(&self.path)
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
    /// The dataset files: one, or every shard in manifest order (those of a manifest on
    /// object storage not yet open are opened now).
    pub fn files(&self) -> Result<Vec<&DatasetFile>> {
        let all: Vec<usize> = (0..self.files.len()).collect();
        self.open_files(&all)?;
        Ok(self
            .files
            .iter()
            .map(|f| f.get().expect("opened above"))
            .collect())
    }
    /// The paths (or URLs) of the dataset files, without opening them.
    pub fn file_paths(&self) -> Vec<PathBuf> {
        match &self.manifest {
            Some(m) => {
                let dir = self.path.parent().unwrap_or(Path::new("."));
                m.shards.iter().map(|s| dir.join(&s.file)).collect()
            }
            None => vec![self.path.clone()],
        }
    }
    /// (shard, index within it) of global sample `i`.
    pub fn shard_of(&self, i: u64) -> Result<(usize, u64)> {
        if i >= self.len() {
            return Err(DatasetError::Malformed {
                path: self.path.clone(),
                reason: format!("sample {i} is out of range: it has {} samples", self.len()),
            });
        }
        let s = self.starts.partition_point(|&st| st <= i) - 1;
        Ok((s, i - self.starts[s]))
    }
    fn part(&self, i: u64) -> Result<(&DatasetFile, usize, u64)> {
        let (s, j) = self.shard_of(i)?;
        Ok((self.file(s)?, s, j))
    }
    pub fn video_field(&self) -> &FieldDescriptor {
        self.first().video_field()
    }
    /// Dataset-level facts (the first shard's info for a manifest).
    pub fn info(&self) -> &serde_json::Value {
        self.first().info()
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
        self.first().classes()
    }
    /// The row layout, metadata offset and data start (of the first shard).
    pub fn layout(&self) -> (&RowLayout, u64, u64) {
        self.first().layout()
    }
    /// These samples (global indices) by the shard they live in: (shard, local indices) for
    /// each shard touched, the shards opened.
    fn by_shard(&self, samples: &[u64]) -> Result<Vec<(usize, Vec<u64>)>> {
        let mut per_file: Vec<Vec<u64>> = vec![Vec::new(); self.files.len()];
        for &i in samples {
            let (s, j) = self.shard_of(i)?;
            per_file[s].push(j);
        }
        let touched: Vec<usize> = (0..per_file.len())
            .filter(|&s| !per_file[s].is_empty())
            .collect();
        self.open_files(&touched)?;
        Ok(touched
            .into_iter()
            .map(|s| (s, std::mem::take(&mut per_file[s])))
            .collect())
    }
    /// Fetches the provenance of these samples (global indices) where they are on object
    /// storage, side by side, for a reader of many samples' metadata; a no-op for local files.
    pub fn prefetch_meta(&self, samples: &[u64]) -> Result<()> {
        for (s, local) in self.by_shard(samples)? {
            self.file(s)?.prefetch_meta(&local)?;
        }
        Ok(())
    }
    /// Fetches the bytes of these samples (global indices) where they are on object storage,
    /// several requests in flight; a no-op for local files.
    pub fn prefetch(&self, samples: &[u64]) -> Result<()> {
        for (s, local) in self.by_shard(samples)? {
            let f = self.file(s)?;
            let hint = self
                .hints
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&s);
            if let Some(h) = hint {
                f.will_read(&h);
            }
            f.prefetch(&local)?;
        }
        Ok(())
    }
    /// A hint that these samples (global indices) will all be read, as a Loader's epoch
    /// does: where they make up most of a remote file (a shard) of at most 64 MiB, the first
    /// batch reading that file fetches them in a few large requests instead of one per
    /// sample (the same bytes). Out-of-range indices are left out; a no-op for local files.
    pub fn will_read(&self, samples: &[u64]) {
        let mut per_file: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
        for &i in samples {
            if let Ok((s, j)) = self.shard_of(i) {
                per_file.entry(s).or_default().push(j);
            }
        }
        let mut hints = self.hints.lock().unwrap_or_else(|p| p.into_inner());
        hints.clear();
        for (s, local) in per_file {
            match self.files[s].get() {
                Some(f) => f.will_read(&local),
                None => {
                    hints.insert(s, local);
                }
            }
        }
    }
    pub fn meta(&self, i: u64) -> Result<SampleMeta> {
        let (f, s, j) = self.part(i)?;
        let mut m = f.meta(j)?;
        m.index = i;
        m.shard = s;
        Ok(m)
    }
    /// Sample `i`'s data could not be decoded: the field's error kept as the source.
    pub fn sample_error(&self, i: u64, source: crate::dataset::fields::FieldError) -> DatasetError {
        DatasetError::Sample {
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
