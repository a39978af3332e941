//! Writing a dataset atomically.
//!
//! Samples are produced in parallel (one video per task) and spooled, in the order they are
//! made, to one spool file per video in a hidden work folder beside the output. `finish`
//! then lays the samples out in input order (deterministic whatever the thread count), writes
//! the final file in the same folder with the header's allocation-table pointer left at 0,
//! fsyncs, writes the pointer, fsyncs again and renames the file onto the output path. A crash
//! at any moment leaves at most the hidden work folder, never a file at the output path that
//! looks complete; the next build of the same output removes the stale folder.

use crate::dataset::error::{DatasetError, Result};
use crate::dataset::format::{
    self, Allocation, FieldDescriptor, FieldType, Header, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The fixed part of a video field's record (everything but `ptr` and `size`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum VideoRecord {
    Frames {
        num_frames: u32,
        height: u32,
        width: u32,
    },
    Segments {
        num_frames: u32,
        num_packets: u32,
        height: u32,
        width: u32,
        extradata_size: u32,
        time_base_num: u32,
        time_base_den: u32,
    },
    Flow {
        num_frames: u32,
        num_keyframes: u32,
        height: u32,
        width: u32,
        scale: f32,
    },
}

impl std::fmt::Display for VideoRecord {
    /// One line for people: "flow: 16 frames 224×224, 2 keyframes, int8 × 4".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            VideoRecord::Frames {
                num_frames,
                height,
                width,
            } => write!(f, "frames: {num_frames} JPEG frames {width}×{height}"),
            VideoRecord::Segments {
                num_frames,
                num_packets,
                height,
                width,
                ..
            } => write!(
                f,
                "segments: {num_frames} frames {width}×{height}, {num_packets} packets"
            ),
            VideoRecord::Flow {
                num_frames,
                num_keyframes,
                height,
                width,
                scale,
            } => write!(
                f,
                "flow: {num_frames} frames {width}×{height}, {num_keyframes} keyframes, int8 flow × {scale}"
            ),
        }
    }
}

impl VideoRecord {
    pub fn field_type(&self) -> FieldType {
        match self {
            VideoRecord::Frames { .. } => FieldType::Frames,
            VideoRecord::Segments { .. } => FieldType::Segments,
            VideoRecord::Flow { .. } => FieldType::Flow,
        }
    }
    /// The record as stored: ptr, size, then the fixed members.
    pub fn to_bytes(&self, ptr: u64, size: u64) -> Vec<u8> {
        let mut b = Vec::with_capacity(48);
        b.extend_from_slice(&ptr.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        let mut u = |v: u32| b.extend_from_slice(&v.to_le_bytes());
        match *self {
            VideoRecord::Frames {
                num_frames,
                height,
                width,
            } => {
                u(num_frames);
                u(height);
                u(width);
            }
            VideoRecord::Segments {
                num_frames,
                num_packets,
                height,
                width,
                extradata_size,
                time_base_num,
                time_base_den,
            } => {
                for v in [
                    num_frames,
                    num_packets,
                    height,
                    width,
                    extradata_size,
                    time_base_num,
                    time_base_den,
                ] {
                    u(v);
                }
            }
            VideoRecord::Flow {
                num_frames,
                num_keyframes,
                height,
                width,
                scale,
            } => {
                u(num_frames);
                u(num_keyframes);
                u(height);
                u(width);
                u(scale.to_bits());
            }
        }
        debug_assert_eq!(b.len(), self.field_type().record().size());
        b
    }
    /// Parse a stored record: (ptr, size, fixed part).
    pub fn parse(t: FieldType, b: &[u8]) -> Option<(u64, u64, VideoRecord)> {
        let u = |k: usize| format::le_u32(b, 16 + 4 * k);
        let rec = match t {
            FieldType::Frames => VideoRecord::Frames {
                num_frames: u(0),
                height: u(1),
                width: u(2),
            },
            FieldType::Segments => VideoRecord::Segments {
                num_frames: u(0),
                num_packets: u(1),
                height: u(2),
                width: u(3),
                extradata_size: u(4),
                time_base_num: u(5),
                time_base_den: u(6),
            },
            FieldType::Flow => VideoRecord::Flow {
                num_frames: u(0),
                num_keyframes: u(1),
                height: u(2),
                width: u(3),
                scale: f32::from_bits(u(4)),
            },
            _ => return None,
        };
        Some((format::le_u64(b, 0), format::le_u64(b, 8), rec))
    }
    pub fn num_frames(&self) -> u32 {
        match *self {
            VideoRecord::Frames { num_frames, .. }
            | VideoRecord::Segments { num_frames, .. }
            | VideoRecord::Flow { num_frames, .. } => num_frames,
        }
    }
    pub fn size_hw(&self) -> (u32, u32) {
        match *self {
            VideoRecord::Frames { height, width, .. }
            | VideoRecord::Segments { height, width, .. }
            | VideoRecord::Flow { height, width, .. } => (height, width),
        }
    }
}

/// One sample as produced by a builder task.
pub struct SampleSpec {
    pub record: VideoRecord,
    pub video_data: Vec<u8>,
    pub label: i64,
    pub provenance: serde_json::Value,
}

#[derive(Debug, Clone)]
struct Spooled {
    record: VideoRecord,
    label: i64,
    offset: u64,
    video_len: u64,
    prov_len: u64,
}

/// Samples of one task, spooled to their own file.
pub struct Spool {
    path: PathBuf,
    out: BufWriter<File>,
    at: u64,
    samples: Vec<Spooled>,
}

impl Spool {
    pub fn push(&mut self, s: SampleSpec) -> Result<()> {
        if s.video_data.is_empty() {
            // FFCV's loader misreads zero-length allocations; never write one.
            return Err(DatasetError::param(
                "sample",
                "a sample's video data is empty",
            ));
        }
        // FFCV's JSONField convention: UTF-8 JSON and one NUL byte (its unpack cuts there).
        let mut prov = serde_json::to_vec(&s.provenance).expect("JSON values serialize");
        prov.push(0);
        self.out
            .write_all(&s.video_data)
            .and_then(|_| self.out.write_all(&prov))
            .map_err(|e| DatasetError::write_io(&self.path, e))?;
        self.samples.push(Spooled {
            record: s.record,
            label: s.label,
            offset: self.at,
            video_len: s.video_data.len() as u64,
            prov_len: prov.len() as u64,
        });
        self.at += (s.video_data.len() + prov.len()) as u64;
        Ok(())
    }
    pub fn len(&self) -> usize {
        self.samples.len()
    }
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
    /// Flush and close; the spool is ready for `finish`.
    pub fn close(mut self) -> Result<ClosedSpool> {
        self.out
            .flush()
            .map_err(|e| DatasetError::write_io(&self.path, e))?;
        Ok(ClosedSpool {
            path: self.path,
            samples: self.samples,
        })
    }
}

/// A finished spool.
pub struct ClosedSpool {
    path: PathBuf,
    samples: Vec<Spooled>,
}

impl ClosedSpool {
    pub fn len(&self) -> usize {
        self.samples.len()
    }
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// An atomic dataset writer.
pub struct DatasetWriter {
    out: PathBuf,
    work: PathBuf,
}

/// The names of the four fields of every vdx dataset, in order.
pub const LABEL_FIELD: &str = "label";
pub const PROVENANCE_FIELD: &str = "provenance";
pub const CHECKSUM_FIELD: &str = "checksum";

impl DatasetWriter {
    /// Prepare to write `out`. Creates the hidden work folder beside it (removing a stale one
    /// left by a crashed build of the same output). Nothing appears at `out` until `finish`.
    pub fn new(out: &Path) -> Result<Self> {
        let name = out
            .file_name()
            .ok_or_else(|| {
                DatasetError::param("out", format!("{} has no file name", out.display()))
            })?
            .to_string_lossy()
            .to_string();
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(DatasetError::write(out, "its folder does not exist"));
        }
        if out.is_dir() {
            return Err(DatasetError::write(out, "it is a folder"));
        }
        let work = dir.join(format!(".{name}.vdx-partial"));
        if work.exists() {
            std::fs::remove_dir_all(&work).map_err(|e| DatasetError::write_io(&work, e))?;
        }
        std::fs::create_dir(&work).map_err(|e| DatasetError::write_io(&work, e))?;
        Ok(DatasetWriter {
            out: out.to_path_buf(),
            work,
        })
    }

    /// A spool for task `k` (spools are laid out in order of `k` by `finish`).
    pub fn spool(&self, k: usize) -> Result<Spool> {
        let path = self.work.join(format!("spool-{k:08}"));
        let f = File::create(&path).map_err(|e| DatasetError::write_io(&path, e))?;
        Ok(Spool {
            path,
            out: BufWriter::with_capacity(1 << 20, f),
            at: 0,
            samples: Vec::new(),
        })
    }

    /// Lay out and write the dataset, then move it onto the output path.
    ///
    /// `video_field` is the video field's descriptor; `info` is the dataset-level JSON (class
    /// names, build options), stored as an allocation of sample 0 that the label field's
    /// arguments point to.
    pub fn finish(
        self,
        video_field: FieldDescriptor,
        spools: Vec<ClosedSpool>,
        info: serde_json::Value,
    ) -> Result<PathBuf> {
        let r = self.write_final(video_field, &spools, info);
        match r {
            Ok(p) => {
                let _ = std::fs::remove_dir_all(&self.work);
                Ok(p)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&self.work);
                Err(e)
            }
        }
    }

    /// Give up: remove the work folder.
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.work);
    }

    fn write_final(
        &self,
        video_field: FieldDescriptor,
        spools: &[ClosedSpool],
        info: serde_json::Value,
    ) -> Result<PathBuf> {
        let samples: Vec<(&ClosedSpool, &Spooled)> = spools
            .iter()
            .flat_map(|s| s.samples.iter().map(move |x| (s, x)))
            .collect();
        if samples.is_empty() {
            return Err(DatasetError::param(
                "inputs",
                "no samples were made: nothing to write",
            ));
        }
        let info_bytes = serde_json::to_vec(&info).expect("JSON values serialize");
        let plan = Placement::of(&samples, video_field.field_type, info_bytes.len() as u64)?;
        let fields = field_descriptors(video_field, &plan, &info_bytes);

        let tmp = self.work.join("dataset.tmp");
        let file = File::create(&tmp).map_err(|e| DatasetError::write_io(&tmp, e))?;
        let werr = |e: std::io::Error| DatasetError::write_io(&tmp, e);
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let header = Header {
            version: format::VERSION,
            num_fields: fields.len() as u16,
            page_size: plan.page,
            num_samples: samples.len() as u64,
            alloc_table_ptr: 0,
        };
        w.write_all(&header.to_bytes()).map_err(werr)?;
        for d in &fields {
            w.write_all(&d.to_bytes()?).map_err(werr)?;
        }
        // Metadata rows and checksums need the data bytes: read each sample from its spool
        // once, keep the rows (small), write the data afterwards in the same order.
        let mut open: Option<(PathBuf, File)> = None;
        let mut buf = Vec::new();
        let rows = plan.metadata_rows(&samples, &mut open, &mut buf)?;
        w.write_all(&rows).map_err(werr)?;
        drop(rows);
        let allocs = plan.write_data(&mut w, &samples, &info_bytes, &mut open, &mut buf, &werr)?;
        for a in &allocs {
            w.write_all(&a.to_bytes()).map_err(werr)?;
        }
        let mut file = w.into_inner().map_err(|e| werr(e.into_error()))?;
        file.sync_all().map_err(werr)?;
        // The pointer that marks the file finished, written last.
        file.seek(SeekFrom::Start(16)).map_err(werr)?;
        file.write_all(&plan.alloc_table_ptr.to_le_bytes())
            .map_err(werr)?;
        file.sync_all().map_err(werr)?;
        drop(file);
        std::fs::rename(&tmp, &self.out).map_err(|e| DatasetError::write_io(&self.out, e))?;
        if let Some(dir) = self.out.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(self.out.clone())
    }
}

/// Where everything of a dataset file goes: its page size, its metadata rows, the info blob
/// and each sample's data and provenance, and the allocation table.
struct Placement {
    page: u64,
    layout: format::RowLayout,
    meta_off: u64,
    meta_len: u64,
    info_ptr: u64,
    /// Per sample: where its video data starts (its provenance follows).
    ptrs: Vec<u64>,
    alloc_table_ptr: u64,
}

impl Placement {
    fn of(
        samples: &[(&ClosedSpool, &Spooled)],
        video_type: FieldType,
        info_len: u64,
    ) -> Result<Placement> {
        // Page size: the next power of two that holds the largest sample, at least FFCV's
        // smallest page (2 MiB) for a dataset whose data fits in one 8 MiB page, else at least
        // FFCV's default (8 MiB). The zero gap before the first page is up to a page long: a
        // hole on disk, but bytes in a copy to object storage or a tar, so small datasets
        // keep it small; big ones keep FFCV's default page for its quasi-random reads.
        let largest = samples
            .iter()
            .map(|(_, s)| s.video_len + s.prov_len)
            .max()
            .unwrap_or(0)
            .max(info_len);
        let total: u64 = samples
            .iter()
            .map(|(_, s)| s.video_len + s.prov_len)
            .sum::<u64>()
            + info_len;
        let floor = if total <= DEFAULT_PAGE_SIZE {
            MIN_PAGE_SIZE
        } else {
            DEFAULT_PAGE_SIZE
        };
        let page = floor.max(largest.next_power_of_two());
        if page > MAX_PAGE_SIZE {
            return Err(DatasetError::param(
                "sample size",
                format!("a sample of {largest} bytes exceeds the format's 2 GiB page limit"),
            ));
        }
        let types = [video_type, FieldType::Int, FieldType::Json, FieldType::Int];
        let layout = format::row_layout(&types);
        let meta_off = format::metadata_offset(types.len());
        let meta_len = samples.len() as u64 * layout.itemsize as u64;
        let data_start = (meta_off + meta_len).div_ceil(page) * page;
        // The info blob first, then each sample's video data and provenance back to back,
        // never across a page boundary.
        let mut cursor = data_start;
        let mut place = |len: u64| -> u64 {
            if cursor % page + len > page {
                cursor = cursor.div_ceil(page) * page;
            }
            let p = cursor;
            cursor += len;
            p
        };
        let info_ptr = place(info_len);
        let ptrs: Vec<u64> = samples
            .iter()
            .map(|(_, s)| place(s.video_len + s.prov_len))
            .collect();
        Ok(Placement {
            page,
            layout,
            meta_off,
            meta_len,
            info_ptr,
            ptrs,
            alloc_table_ptr: cursor,
        })
    }

    /// The metadata rows, each with its checksum over the row and the sample's bytes.
    fn metadata_rows(
        &self,
        samples: &[(&ClosedSpool, &Spooled)],
        open: &mut Option<(PathBuf, File)>,
        buf: &mut Vec<u8>,
    ) -> Result<Vec<u8>> {
        let (layout, size) = (&self.layout, self.layout.itemsize);
        let mut rows = vec![0u8; self.meta_len as usize];
        for (k, (sp, s)) in samples.iter().enumerate() {
            read_spooled(open, sp, s, buf)?;
            let row = &mut rows[k * size..(k + 1) * size];
            let rec = s.record.to_bytes(self.ptrs[k], s.video_len);
            row[layout.offsets[0]..layout.offsets[0] + rec.len()].copy_from_slice(&rec);
            row[layout.offsets[1]..layout.offsets[1] + 8].copy_from_slice(&s.label.to_le_bytes());
            let pp = self.ptrs[k] + s.video_len;
            row[layout.offsets[2]..layout.offsets[2] + 8].copy_from_slice(&pp.to_le_bytes());
            row[layout.offsets[2] + 8..layout.offsets[2] + 16]
                .copy_from_slice(&s.prov_len.to_le_bytes());
            let crc = crc32c::crc32c_append(crc32c::crc32c(&row[..layout.offsets[3]]), buf);
            row[layout.offsets[3]..layout.offsets[3] + 8]
                .copy_from_slice(&(crc as i64).to_le_bytes());
        }
        Ok(rows)
    }

    /// Writes the info blob and every sample's bytes at their places, after the metadata
    /// rows; returns the allocation table's entries.
    fn write_data(
        &self,
        w: &mut BufWriter<File>,
        samples: &[(&ClosedSpool, &Spooled)],
        info_bytes: &[u8],
        open: &mut Option<(PathBuf, File)>,
        buf: &mut Vec<u8>,
        werr: &dyn Fn(std::io::Error) -> DatasetError,
    ) -> Result<Vec<Allocation>> {
        let mut pos = self.meta_off + self.meta_len;
        let zeros = vec![0u8; 1 << 16];
        // Gaps (up to a page boundary) are left as holes where large: they read as zeros
        // and take no disk space on file systems with sparse files.
        let pad_to = |w: &mut BufWriter<File>, pos: &mut u64, to: u64| -> Result<()> {
            if to > *pos + (1 << 16) {
                w.seek(SeekFrom::Start(to)).map_err(werr)?;
                *pos = to;
            }
            while *pos < to {
                let k = ((to - *pos) as usize).min(zeros.len());
                w.write_all(&zeros[..k]).map_err(werr)?;
                *pos += k as u64;
            }
            Ok(())
        };
        pad_to(w, &mut pos, self.info_ptr)?;
        w.write_all(info_bytes).map_err(werr)?;
        pos += info_bytes.len() as u64;
        let mut allocs = Vec::with_capacity(samples.len() * 2 + 1);
        allocs.push(Allocation {
            sample_id: 0,
            ptr: self.info_ptr,
            size: info_bytes.len() as u64,
        });
        for (k, (sp, s)) in samples.iter().enumerate() {
            read_spooled(open, sp, s, buf)?;
            pad_to(w, &mut pos, self.ptrs[k])?;
            w.write_all(buf).map_err(werr)?;
            pos += buf.len() as u64;
            allocs.push(Allocation {
                sample_id: k as u64,
                ptr: self.ptrs[k],
                size: s.video_len,
            });
            allocs.push(Allocation {
                sample_id: k as u64,
                ptr: self.ptrs[k] + s.video_len,
                size: s.prov_len,
            });
        }
        debug_assert_eq!(pos, self.alloc_table_ptr);
        Ok(allocs)
    }
}

/// The four fields' descriptors: the video field, the label (which points at the info
/// blob), the provenance and the checksum.
fn field_descriptors(
    video_field: FieldDescriptor,
    plan: &Placement,
    info_bytes: &[u8],
) -> [FieldDescriptor; 4] {
    let label_field = FieldDescriptor {
        field_type: FieldType::Int,
        name: LABEL_FIELD.into(),
        arguments: serde_json::json!({
            "version": 1,
            "info": {"ptr": plan.info_ptr, "size": info_bytes.len(), "crc32c": crc32c::crc32c(info_bytes)},
        }),
    };
    let prov_field = FieldDescriptor {
        field_type: FieldType::Json,
        name: PROVENANCE_FIELD.into(),
        arguments: serde_json::json!({
            "version": 1, "encoding": "utf-8", "nul_terminated": true,
        }),
    };
    let sum_field = FieldDescriptor {
        field_type: FieldType::Int,
        name: CHECKSUM_FIELD.into(),
        arguments: serde_json::json!({
            "version": 1,
            "algorithm": "crc32c",
            "covers": "metadata row bytes before this field, then the video data, then the provenance JSON",
        }),
    };
    [video_field, label_field, prov_field, sum_field]
}

fn read_spooled(
    open: &mut Option<(PathBuf, File)>,
    sp: &ClosedSpool,
    s: &Spooled,
    buf: &mut Vec<u8>,
) -> Result<()> {
    if open.as_ref().map(|(p, _)| p != &sp.path).unwrap_or(true) {
        let f = File::open(&sp.path).map_err(|e| DatasetError::io(&sp.path, e))?;
        *open = Some((sp.path.clone(), f));
    }
    let (_, f) = open.as_mut().expect("opened above");
    buf.resize((s.video_len + s.prov_len) as usize, 0);
    f.seek(SeekFrom::Start(s.offset))
        .and_then(|_| f.read_exact(buf))
        .map_err(|e| DatasetError::io(&sp.path, e))
}
