//! Reading a dataset: memory-mapped, random access to any sample, safe on any bytes.
//!
//! `open` checks the structure before trusting any number in it (see `structure`): header,
//! descriptors, that the metadata table, data region and allocation table fit in the file,
//! and every allocation's bounds. A sample's pointers are checked against the allocation table when it
//! is read. Nothing is sized by a number from the file before that number is checked.

use crate::dataset::backing::Backing;
use crate::dataset::error::{DatasetError, Result};
use crate::dataset::fields::{self, ClipTensor, FlowTensor};
use crate::dataset::format::{
    self, corrupt, Allocation, FieldDescriptor, Header, DESCRIPTOR_SIZE, HEADER_SIZE, MAX_FIELDS,
};
use crate::dataset::structure;
use crate::dataset::writer::VideoRecord;
use std::path::{Path, PathBuf};

/// One open dataset file (a whole dataset, or one shard of a manifest: see
/// [`crate::dataset::Dataset`]).
pub struct DatasetFile {
    path: PathBuf,
    map: Backing,
    pub header: Header,
    pub fields: Vec<FieldDescriptor>,
    layout: format::RowLayout,
    meta_off: usize,
    data_start: u64,
    /// Per sample: the range of its rows in `allocs`.
    alloc_ranges: Vec<(u32, u32)>,
    allocs: Vec<Allocation>,
    video_k: usize,
    label_k: usize,
    prov_k: usize,
    sum_k: usize,
    info: serde_json::Value,
    /// Class names from the info, parsed once (every sample's metadata names its class).
    classes: Vec<String>,
}

/// What a sample holds, decoded.
pub enum SampleData {
    Clip(ClipTensor),
    Flow(FlowTensor),
}

/// One sample's metadata.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SampleMeta {
    /// The sample's index in the dataset (over all shards of a manifest).
    pub index: u64,
    /// The shard (position in the manifest) the sample lives in; 0 for a single file.
    pub shard: usize,
    pub label: i64,
    pub class: Option<String>,
    pub record: VideoRecord,
    pub data_ptr: u64,
    pub data_size: u64,
    pub provenance_ptr: u64,
    pub provenance_size: u64,
    pub checksum: u32,
    pub provenance: serde_json::Value,
}

impl DatasetFile {
    /// Opens a dataset file: a local path (memory-mapped) or a URL (`s3://`, `http(s)://`,
    /// ...: the header and tables fetched now, each sample's bytes when it is read).
    pub fn open(path: &Path) -> Result<Self> {
        if crate::storage::is_url(path) {
            // The structure, before it is checked: bounds are clamped to the object. The
            // first 16 KiB, fetched by the request that opens the object, hold the header, the
            // descriptors and, for a shard of up to a few hundred samples, the metadata table
            // (then the info and the allocation table are fetched, see below).
            let map = Backing::open_remote(path, (HEADER_SIZE as u64).max(16 << 10))?;
            let len = map.len();
            if len >= HEADER_SIZE as u64 {
                let h = Header::parse(map.present(0, HEADER_SIZE), path)?;
                let nf = (h.num_fields as usize).min(MAX_FIELDS as usize);
                let desc_end = format::metadata_offset(nf);
                map.ensure(0, desc_end)?;
                let b = map.present(0, desc_end.min(len) as usize);
                let mut types = Vec::new();
                // Where the dataset info lies (the label field's `info` argument).
                let mut info = None;
                for k in 0..nf {
                    let at = HEADER_SIZE + k * DESCRIPTOR_SIZE;
                    if let Some(d) = b.get(at..at + DESCRIPTOR_SIZE) {
                        if let Ok(f) = FieldDescriptor::parse(d, k, path) {
                            let a = &f.arguments["info"];
                            if let (Some(p), Some(n)) = (a["ptr"].as_u64(), a["size"].as_u64()) {
                                info = Some((p, n));
                            }
                            types.push(f.field_type);
                        }
                    }
                }
                let row = format::row_layout(&types).itemsize as u64;
                // The metadata rows, the allocation table and the info: fetched together,
                // those closer than 64 KiB in one request (a small shard's info and table are
                // a few KiB apart: one request instead of two, each costing far more than
                // 64 KiB of transfer).
                let mut parts = vec![
                    (desc_end, h.num_samples.saturating_mul(row)),
                    (h.alloc_table_ptr, len.saturating_sub(h.alloc_table_ptr)),
                ];
                parts.extend(info);
                map.ensure_many_coalesced(&parts, 64 << 10)?;
            }
            return Self::from_map(path, map);
        }
        Self::from_map(path, Backing::open_local(path)?)
    }

    fn from_map(path: &Path, map: Backing) -> Result<Self> {
        // For an object, what is not fetched yet reads as zeros here; everything this parse
        // uses was fetched by `open`.
        let s = structure::parse(path, map.present(0, map.len() as usize))?;
        let mut ds = DatasetFile {
            path: path.to_path_buf(),
            map,
            header: s.header,
            fields: s.fields,
            layout: s.layout,
            meta_off: s.meta_off as usize,
            data_start: s.data_start,
            alloc_ranges: s.alloc_ranges,
            allocs: s.allocs,
            video_k: s.video_k,
            label_k: s.label_k,
            prov_k: s.prov_k,
            sum_k: s.sum_k,
            info: serde_json::Value::Null,
            classes: Vec::new(),
        };
        ds.info = ds.read_info()?;
        ds.classes = ds.info["classes"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|c| c.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        Ok(ds)
    }

    fn read_info(&self) -> Result<serde_json::Value> {
        let a = &self.fields[self.label_k].arguments["info"];
        let (Some(ptr), Some(size), Some(crc)) =
            (a["ptr"].as_u64(), a["size"].as_u64(), a["crc32c"].as_u64())
        else {
            return Ok(serde_json::Value::Null);
        };
        let bytes = self.allocation(0, ptr, size)?.ok_or_else(|| {
            corrupt(
                &self.path,
                format!(
                    "sample 0, field label (dataset info): rule \"the dataset info is an \
                     allocation of sample 0\": the dataset info ({ptr}+{size}) is not a listed \
                     allocation of sample 0"
                ),
            )
        })?;
        let got = crc32c::crc32c(bytes);
        if got as u64 != crc {
            return Err(corrupt(
                &self.path,
                format!(
                    "sample 0, field label (dataset info): rule \"info.crc32c is the info's \
                     CRC-32C\": the dataset info fails its checksum (info.crc32c is {crc}, its \
                     bytes give {got})"
                ),
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| {
            corrupt(
                &self.path,
                format!(
                    "sample 0, field label (dataset info): rule \"{}\": the dataset info is \
                     not JSON: {e}",
                    crate::dataset::verify_rules::INFO_KEYS
                ),
            )
        })
    }

    /// The bytes of an allocation of `sample` at exactly (ptr, size), if the table lists it
    /// (fetched first where the file is remote).
    fn allocation(&self, sample: u64, ptr: u64, size: u64) -> Result<Option<&[u8]>> {
        if !self.is_allocation(sample, ptr, size) {
            return Ok(None);
        }
        self.map.slice(ptr, size).map(Some)
    }

    /// Whether `ptr`+`size` is one of `sample`'s allocations (nothing is read).
    fn is_allocation(&self, sample: u64, ptr: u64, size: u64) -> bool {
        let Some(&(a, b)) = self.alloc_ranges.get(sample as usize) else {
            return false;
        };
        self.allocs[a as usize..b as usize]
            .iter()
            .any(|x| x.ptr == ptr && x.size == size)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A local file holding this file's every byte, for a reader that maps files itself
    /// (FFCV's): the file itself, or for a URL its entry in the cache folder
    /// (`VDX_CACHE_DIR`), the missing bytes fetched first.
    pub fn local_copy(&self) -> Result<PathBuf> {
        self.map
            .local_copy(&self.path)?
            .ok_or_else(|| DatasetError::Malformed {
                path: self.path.clone(),
                reason: if std::env::var_os("VDX_CACHE_DIR").is_some_and(|d| !d.is_empty()) {
                    "no local copy: the server gives this object no ETag or version, so the \
                 cache folder cannot tell a replaced object from the one it holds"
                        .to_string()
                } else {
                    "no local copy: set VDX_CACHE_DIR to a folder (the cache of datasets on \
                 object storage) for vdx to fetch the object into it"
                        .to_string()
                },
            })
    }

    /// The whole file's bytes (for `verify`'s byte-level rules). A remote file is fetched
    /// whole first: call [`DatasetFile::fetch_all`] before, to see a failed fetch as an error
    /// (here it leaves an empty slice).
    pub fn bytes(&self) -> &[u8] {
        self.map.slice(0, self.map.len()).unwrap_or(&[])
    }
    /// Fetches a remote file whole (a no-op for a local one).
    pub fn fetch_all(&self) -> Result<()> {
        self.map.ensure(0, self.map.len())
    }
    /// For a remote file: fetches the bytes of these samples (data and provenance) that are
    /// not here yet, with several requests in flight, so that reading them then waits on
    /// nothing (a Loader batch). A no-op for a local file.
    pub fn prefetch(&self, samples: &[u64]) -> Result<()> {
        if matches!(self.map, Backing::Mapped(_)) {
            return Ok(());
        }
        self.map.ensure_batch(&self.sample_ranges(samples))
    }
    /// A hint that these samples will all be read (a Loader's epoch): for a remote file whose
    /// samples they make up most of (at most 64 MiB), the first batch fetches them all in a
    /// few large requests instead of one request per sample. A no-op for a local file.
    pub fn will_read(&self, samples: &[u64]) {
        if matches!(self.map, Backing::Mapped(_)) {
            return;
        }
        self.map.plan_reads(&self.sample_ranges(samples));
    }
    /// The byte ranges (start, length) of these samples' data and provenance.
    fn sample_ranges(&self, samples: &[u64]) -> Vec<(u64, u64)> {
        let mut ranges = Vec::new();
        for &i in samples {
            if let Some(&(a, b)) = self.alloc_ranges.get(i as usize) {
                ranges.extend(
                    self.allocs[a as usize..b as usize]
                        .iter()
                        .map(|x| (x.ptr, x.size)),
                );
            }
        }
        ranges
    }
    /// Bytes `[start, start + len)` of the file, fetched first where it is remote.
    pub fn range(&self, start: u64, len: u64) -> Result<&[u8]> {
        if start.saturating_add(len) > self.map.len() {
            return Err(corrupt(
                &self.path,
                format!("bytes {start}+{len} lie past the end of the file"),
            ));
        }
        self.map.slice(start, len)
    }
    pub fn len(&self) -> u64 {
        self.header.num_samples
    }
    /// The file's size in bytes.
    pub fn file_len(&self) -> u64 {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.header.num_samples == 0
    }
    pub fn video_field(&self) -> &FieldDescriptor {
        &self.fields[self.video_k]
    }
    /// Dataset-level facts: class names, build options.
    pub fn info(&self) -> &serde_json::Value {
        &self.info
    }
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    pub fn layout(&self) -> (&format::RowLayout, u64, u64) {
        (&self.layout, self.meta_off as u64, self.data_start)
    }

    fn row(&self, i: u64) -> Result<&[u8]> {
        if i >= self.len() {
            return Err(DatasetError::param(
                "sample",
                format!(
                    "{i} is out of range: {} has {} samples",
                    self.path.display(),
                    self.len()
                ),
            ));
        }
        let s = self.layout.itemsize;
        let o = self.meta_off + i as usize * s;
        Ok(self.map.present(o, s))
    }

    fn bad(&self, i: u64, reason: impl std::fmt::Display) -> DatasetError {
        corrupt(&self.path, format!("sample {i}: {reason}"))
    }

    /// Sample `i`'s data could not be decoded: the field's error kept as the source.
    pub(crate) fn bad_data(&self, i: u64, source: fields::FieldError) -> DatasetError {
        DatasetError::Sample {
            path: self.path.clone(),
            sample: i,
            source: Box::new(source),
        }
    }

    /// The sample's metadata, provenance and the two data allocations, checked against the
    /// allocation table (not against the checksum: see `verify_sample`).
    /// Sample `i`'s metadata: its row and provenance (on object storage, the provenance's
    /// bytes are fetched; the video data is not).
    pub fn meta(&self, i: u64) -> Result<SampleMeta> {
        Ok(self.sample_meta(i)?.0)
    }

    fn sample_parts(&self, i: u64) -> Result<(SampleMeta, &[u8], &[u8])> {
        let (meta, prov_bytes) = self.sample_meta(i)?;
        let data = self.map.slice(meta.data_ptr, meta.data_size)?;
        Ok((meta, data, prov_bytes))
    }

    /// The provenance byte ranges ((start, length)) of these samples, from their rows.
    fn provenance_ranges(&self, samples: &[u64]) -> Vec<(u64, u64)> {
        let po = self.layout.offsets[self.prov_k];
        samples
            .iter()
            .filter_map(|&i| self.row(i).ok())
            .map(|row| (format::le_u64(row, po), format::le_u64(row, po + 8)))
            .collect()
    }

    /// Fetches the provenance of these samples side by side (on object storage; a no-op for
    /// a local file), for a reader of many samples' metadata ([`DatasetFile::meta`]).
    pub fn prefetch_meta(&self, samples: &[u64]) -> Result<()> {
        if matches!(self.map, Backing::Mapped(_)) {
            return Ok(());
        }
        self.map.ensure_many(&self.provenance_ranges(samples))
    }

    /// Sample `i`'s metadata, its pointers checked against its allocations, and its
    /// provenance bytes.
    fn sample_meta(&self, i: u64) -> Result<(SampleMeta, &[u8])> {
        let row = self.row(i)?;
        let t = self.fields[self.video_k].field_type;
        let vo = self.layout.offsets[self.video_k];
        let (ptr, size, record) =
            VideoRecord::parse(t, &row[vo..vo + t.record().size()]).expect("video field type");
        let label = format::le_i64(row, self.layout.offsets[self.label_k]);
        let po = self.layout.offsets[self.prov_k];
        let (pptr, psize) = (format::le_u64(row, po), format::le_u64(row, po + 8));
        let stored = format::le_i64(row, self.layout.offsets[self.sum_k]);
        // A CRC-32C fits in 32 bits; anything above is damage.
        let checksum = u32::try_from(stored)
            .map_err(|_| self.bad(i, format!("checksum value {stored} is not a CRC-32C")))?;
        if !self.is_allocation(i, ptr, size) {
            return Err(self.bad(
                i,
                format!("video data pointer {ptr}+{size} is not one of its allocations"),
            ));
        }
        let prov_bytes = self.allocation(i, pptr, psize)?.ok_or_else(|| {
            self.bad(
                i,
                format!("provenance pointer {pptr}+{psize} is not one of its allocations"),
            )
        })?;
        // Written with FFCV's JSONField NUL terminator; files from before it have none.
        let prov_json = prov_bytes.strip_suffix(&[0]).unwrap_or(prov_bytes);
        let provenance = serde_json::from_slice(prov_json)
            .map_err(|e| self.bad(i, format!("provenance is not JSON: {e}")))?;
        let class = usize::try_from(label)
            .ok()
            .and_then(|l| self.classes.get(l).cloned());
        Ok((
            SampleMeta {
                index: i,
                shard: 0,
                label,
                class,
                record,
                data_ptr: ptr,
                data_size: size,
                provenance_ptr: pptr,
                provenance_size: psize,
                checksum,
                provenance,
            },
            prov_bytes,
        ))
    }

    /// The raw video data of sample `i` (for export without re-encoding).
    pub fn raw_data(&self, i: u64) -> Result<(SampleMeta, &[u8])> {
        let (m, d, _) = self.sample_parts(i)?;
        Ok((m, d))
    }

    /// Check sample `i`'s checksum (metadata row and data).
    pub fn verify_sample_checksum(&self, i: u64) -> Result<()> {
        let (meta, data, prov) = self.sample_parts(i)?;
        let row = self.row(i)?;
        let upto = self.layout.offsets[self.sum_k];
        let crc = crc32c::crc32c_append(
            crc32c::crc32c_append(crc32c::crc32c(&row[..upto]), data),
            prov,
        );
        if crc != meta.checksum {
            return Err(self.bad(
                i,
                format!(
                    "checksum mismatch (stored {:08x}, computed {crc:08x}): the sample's bytes changed",
                    meta.checksum
                ),
            ));
        }
        Ok(())
    }

    /// Decode sample `i`.
    pub fn decode(&self, i: u64, dec: &mut Decoders) -> Result<SampleData> {
        self.decode_reusing(i, dec, Vec::new())
    }

    /// Decode sample `i`; a frames-field clip is decoded into `buf`'s allocation (no fresh
    /// pages to fault in and zero when a loop recycles its buffers).
    pub fn decode_reusing(&self, i: u64, dec: &mut Decoders, buf: Vec<u8>) -> Result<SampleData> {
        let (meta, data, _) = self.sample_parts(i)?;
        let (h, w) = meta.record.size_hw();
        let (h, w) = (h as usize, w as usize);
        let t = meta.record.num_frames() as usize;
        if h == 0 || w == 0 || h > 1 << 15 || w > 1 << 15 || t > 1 << 16 {
            return Err(self.bad(i, format!("implausible shape {t}x{h}x{w}")));
        }
        match meta.record {
            VideoRecord::Frames { .. } => {
                let n = t * h * w * 3;
                // Each JPEG holds at least a few hundred bytes; a record claiming far more
                // pixels than its data could carry is refused before allocating.
                if t * 100 > data.len() {
                    return Err(self.bad(i, "frame count does not fit the data size"));
                }
                let mut out = buf;
                // Every byte is overwritten by the decode: only grow, never clear.
                out.truncate(n);
                out.resize(n, 0);
                fields::decode_frames_into(data, t, w, h, &mut out, dec.jpeg()?)
                    .map_err(|e| self.bad_data(i, e))?;
                Ok(SampleData::Clip(ClipTensor {
                    num_frames: t,
                    height: h,
                    width: w,
                    data: out,
                }))
            }
            VideoRecord::Flow {
                num_keyframes,
                scale,
                ..
            } => fields::decode_flow(data, t, num_keyframes as usize, w, h, scale, dec.jpeg()?)
                .map(SampleData::Flow)
                .map_err(|e| self.bad_data(i, e)),
            VideoRecord::Segments { .. } => crate::dataset::segments::decode_all(
                data,
                &meta.record,
                &self.fields[self.video_k].arguments,
            )
            .map(SampleData::Clip)
            .map_err(|e| self.bad_data(i, e)),
        }
    }

    /// Decode sample `i` as a clip `u8 (T,H,W,3)` (flow samples: their keyframes only).
    pub fn decode_clip(&self, i: u64, dec: &mut Decoders) -> Result<ClipTensor> {
        self.decode_clip_reusing(i, dec, Vec::new())
    }

    /// [`DatasetFile::decode_clip`] into `buf`'s allocation where the field allows.
    pub fn decode_clip_reusing(
        &self,
        i: u64,
        dec: &mut Decoders,
        buf: Vec<u8>,
    ) -> Result<ClipTensor> {
        match self.decode_reusing(i, dec, buf)? {
            SampleData::Clip(c) => Ok(c),
            SampleData::Flow(f) => Ok(ClipTensor {
                num_frames: f.keyframe_positions.len(),
                height: f.height,
                width: f.width,
                data: f.keyframes,
            }),
        }
    }
}

/// Per-thread decoder state reused across samples.
#[derive(Default)]
pub struct Decoders {
    jpeg: Option<turbojpeg::Decompressor>,
}

impl Decoders {
    pub fn jpeg(&mut self) -> Result<&mut turbojpeg::Decompressor> {
        if self.jpeg.is_none() {
            self.jpeg = Some(turbojpeg::Decompressor::new().map_err(|e| {
                DatasetError::param("jpeg", format!("libjpeg-turbo could not start: {e}"))
            })?);
        }
        Ok(self.jpeg.as_mut().expect("set above"))
    }
}
