//! The byte layout of a dataset file: FFCV's `.beton` layout, version 2.
//!
//! ```text
//! header            24 bytes  version u2 (=2) | num_fields u2 | page_size u4 | num_samples u8 | alloc_table_ptr u8
//! field descriptors 1041 bytes each: type_id u1 | name u1[16] (NUL-padded) | arguments u1[1024] (JSON, NUL-padded)
//! metadata table    num_samples records of np.dtype([(f0, rec0), (f1, rec1), ...], align=True)
//! (zeros up to the next page boundary)
//! data region       pages of page_size bytes; a sample's allocations lie in one page, back to back
//! allocation table  rows (sample_id u8, ptr u8, size u8) from alloc_table_ptr to the end of the file
//! ```
//!
//! All integers are little-endian. `alloc_table_ptr` is written last: 0 means unfinished.
//! See FORMAT.md for every field's record and data layout with numpy dtype strings.

use crate::dataset::error::{DatasetError, Result};
use std::path::Path;

pub const VERSION: u16 = 2;
pub const HEADER_SIZE: usize = 24;
pub const NAME_LEN: usize = 16;
pub const ARGS_LEN: usize = 1024;
pub const DESCRIPTOR_SIZE: usize = 1 + NAME_LEN + ARGS_LEN;
pub const ALLOC_ROW_SIZE: usize = 24;
/// Smallest page size FFCV accepts (2 MiB).
pub const MIN_PAGE_SIZE: u64 = 1 << 21;
/// FFCV's default page size (8 MiB).
pub const DEFAULT_PAGE_SIZE: u64 = 1 << 23;
/// Page sizes must stay below 4 GiB (they are stored as u4).
pub const MAX_PAGE_SIZE: u64 = 1 << 31;
/// Sanity limits checked before any allocation sized by the file.
pub const MAX_FIELDS: u16 = 64;
pub const MAX_SAMPLES: u64 = 1 << 40;

/// Field type ids: FFCV's own (0-5) and the vdx video fields (10-12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Float,
    Int,
    RgbImage,
    Bytes,
    NdArray,
    Json,
    Frames,
    Segments,
    Flow,
}

impl FieldType {
    pub fn id(self) -> u8 {
        match self {
            FieldType::Float => 0,
            FieldType::Int => 1,
            FieldType::RgbImage => 2,
            FieldType::Bytes => 3,
            FieldType::NdArray => 4,
            FieldType::Json => 5,
            FieldType::Frames => 10,
            FieldType::Segments => 11,
            FieldType::Flow => 12,
        }
    }
    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => FieldType::Float,
            1 => FieldType::Int,
            2 => FieldType::RgbImage,
            3 => FieldType::Bytes,
            4 => FieldType::NdArray,
            5 => FieldType::Json,
            10 => FieldType::Frames,
            11 => FieldType::Segments,
            12 => FieldType::Flow,
            _ => return None,
        })
    }
    /// The field's metadata record: its members (name, numpy type, bytes) and whether it is a
    /// packed struct (alignment 1, as FFCV's struct records) or a scalar (its own alignment).
    pub fn record(self) -> Record {
        use FieldType::*;
        let m = |v: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
            v.to_vec()
        };
        match self {
            Float => Record::scalar("<f8"),
            Int => Record::scalar("<i8"),
            Bytes | Json => Record::packed(m(&[("ptr", "<u8"), ("size", "<u8")])),
            RgbImage => Record::packed(m(&[
                ("mode", "<u1"),
                ("width", "<u2"),
                ("height", "<u2"),
                ("data_ptr", "<u8"),
            ])),
            NdArray => Record::scalar("<u8"),
            Frames => Record::packed(m(&[
                ("ptr", "<u8"),
                ("size", "<u8"),
                ("num_frames", "<u4"),
                ("height", "<u4"),
                ("width", "<u4"),
            ])),
            Segments => Record::packed(m(&[
                ("ptr", "<u8"),
                ("size", "<u8"),
                ("num_frames", "<u4"),
                ("num_packets", "<u4"),
                ("height", "<u4"),
                ("width", "<u4"),
                ("extradata_size", "<u4"),
                ("time_base_num", "<u4"),
                ("time_base_den", "<u4"),
            ])),
            Flow => Record::packed(m(&[
                ("ptr", "<u8"),
                ("size", "<u8"),
                ("num_frames", "<u4"),
                ("num_keyframes", "<u4"),
                ("height", "<u4"),
                ("width", "<u4"),
                ("scale", "<f4"),
            ])),
        }
    }
}

/// A field's metadata record type.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Members in order; a scalar record has one member named "".
    pub members: Vec<(&'static str, &'static str)>,
    pub packed: bool,
}

fn type_size(t: &str) -> usize {
    t[2..]
        .parse()
        .expect("numpy type strings here end in their byte size")
}

impl Record {
    fn scalar(t: &'static str) -> Self {
        Record {
            members: vec![("", t)],
            packed: false,
        }
    }
    fn packed(members: Vec<(&'static str, &'static str)>) -> Self {
        Record {
            members,
            packed: true,
        }
    }
    pub fn size(&self) -> usize {
        self.members.iter().map(|(_, t)| type_size(t)).sum()
    }
    /// numpy's alignment for this record inside an `align=True` struct.
    pub fn align(&self) -> usize {
        if self.packed {
            1
        } else {
            type_size(self.members[0].1)
        }
    }
    /// Byte offset of a member inside the record.
    pub fn offset_of(&self, name: &str) -> Option<usize> {
        let mut off = 0;
        for (n, t) in &self.members {
            if *n == name {
                return Some(off);
            }
            off += type_size(t);
        }
        None
    }
    /// The numpy dtype expression of this record.
    pub fn numpy(&self) -> String {
        if !self.packed {
            return format!("'{}'", self.members[0].1);
        }
        let parts: Vec<String> = self
            .members
            .iter()
            .map(|(n, t)| format!("('{n}', '{t}')"))
            .collect();
        format!("np.dtype([{}])", parts.join(", "))
    }
}

/// Where each field's record sits in a metadata row, and the row size, computed the way numpy
/// does for `np.dtype([...], align=True)`.
#[derive(Debug, Clone, PartialEq)]
pub struct RowLayout {
    pub offsets: Vec<usize>,
    pub itemsize: usize,
}

pub fn row_layout(types: &[FieldType]) -> RowLayout {
    let mut off = 0usize;
    let mut max_align = 1usize;
    let mut offsets = Vec::with_capacity(types.len());
    for t in types {
        let r = t.record();
        let a = r.align();
        max_align = max_align.max(a);
        off = off.div_ceil(a) * a;
        offsets.push(off);
        off += r.size();
    }
    RowLayout {
        offsets,
        itemsize: off.div_ceil(max_align) * max_align,
    }
}

/// The 24-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    pub version: u16,
    pub num_fields: u16,
    pub page_size: u64,
    pub num_samples: u64,
    pub alloc_table_ptr: u64,
}

impl Header {
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[0..2].copy_from_slice(&self.version.to_le_bytes());
        b[2..4].copy_from_slice(&self.num_fields.to_le_bytes());
        b[4..8].copy_from_slice(&(self.page_size as u32).to_le_bytes());
        b[8..16].copy_from_slice(&self.num_samples.to_le_bytes());
        b[16..24].copy_from_slice(&self.alloc_table_ptr.to_le_bytes());
        b
    }
    pub fn parse(b: &[u8], path: &Path) -> Result<Self> {
        if b.len() < HEADER_SIZE {
            return Err(corrupt(
                path,
                format!(
                    "the file is {} bytes, shorter than the {HEADER_SIZE}-byte header",
                    b.len()
                ),
            ));
        }
        Ok(Header {
            version: u16::from_le_bytes([b[0], b[1]]),
            num_fields: u16::from_le_bytes([b[2], b[3]]),
            page_size: u32::from_le_bytes(b[4..8].try_into().expect("4 bytes")) as u64,
            num_samples: u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
            alloc_table_ptr: u64::from_le_bytes(b[16..24].try_into().expect("8 bytes")),
        })
    }
}

/// One field descriptor.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldDescriptor {
    pub field_type: FieldType,
    pub name: String,
    /// The field's parameters as JSON.
    pub arguments: serde_json::Value,
}

impl FieldDescriptor {
    pub fn to_bytes(&self) -> Result<[u8; DESCRIPTOR_SIZE]> {
        let mut b = [0u8; DESCRIPTOR_SIZE];
        b[0] = self.field_type.id();
        let name = self.name.as_bytes();
        if name.len() > NAME_LEN || !self.name.is_ascii() {
            return Err(DatasetError::param(
                "field name",
                format!("'{}' must be ASCII and at most {NAME_LEN} bytes", self.name),
            ));
        }
        b[1..1 + name.len()].copy_from_slice(name);
        let args = serde_json::to_vec(&self.arguments).expect("JSON values serialize");
        if args.len() > ARGS_LEN {
            return Err(DatasetError::param(
                "field arguments",
                format!(
                    "field '{}': {} bytes of JSON, more than the {ARGS_LEN} the format holds",
                    self.name,
                    args.len()
                ),
            ));
        }
        b[1 + NAME_LEN..1 + NAME_LEN + args.len()].copy_from_slice(&args);
        Ok(b)
    }
    pub fn parse(b: &[u8], k: usize, path: &Path) -> Result<Self> {
        let field_type = FieldType::from_id(b[0]).ok_or_else(|| {
            corrupt(
                path,
                format!("field {k} has unknown type id {} (known: 0-5, 10-12)", b[0]),
            )
        })?;
        let name_raw = &b[1..1 + NAME_LEN];
        let name_len = name_raw.iter().position(|&c| c == 0).unwrap_or(NAME_LEN);
        let name = std::str::from_utf8(&name_raw[..name_len])
            .map_err(|_| corrupt(path, format!("field {k}'s name is not text")))?
            .to_string();
        let args_raw = &b[1 + NAME_LEN..DESCRIPTOR_SIZE];
        let args_len = args_raw.iter().position(|&c| c == 0).unwrap_or(ARGS_LEN);
        let arguments = if args_len == 0 {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&args_raw[..args_len]).map_err(|e| {
                corrupt(
                    path,
                    format!("field {k} ('{name}') has unreadable arguments: {e}"),
                )
            })?
        };
        Ok(FieldDescriptor {
            field_type,
            name,
            arguments,
        })
    }
}

/// One allocation-table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Allocation {
    pub sample_id: u64,
    pub ptr: u64,
    pub size: u64,
}

impl Allocation {
    pub fn to_bytes(&self) -> [u8; ALLOC_ROW_SIZE] {
        let mut b = [0u8; ALLOC_ROW_SIZE];
        b[0..8].copy_from_slice(&self.sample_id.to_le_bytes());
        b[8..16].copy_from_slice(&self.ptr.to_le_bytes());
        b[16..24].copy_from_slice(&self.size.to_le_bytes());
        b
    }
    pub fn parse(b: &[u8]) -> Self {
        let u = |r: std::ops::Range<usize>| u64::from_le_bytes(b[r].try_into().expect("8 bytes"));
        Allocation {
            sample_id: u(0..8),
            ptr: u(8..16),
            size: u(16..24),
        }
    }
}

/// Offset of the metadata table.
pub fn metadata_offset(num_fields: usize) -> u64 {
    (HEADER_SIZE + DESCRIPTOR_SIZE * num_fields) as u64
}

pub(crate) fn corrupt(path: &Path, reason: impl Into<String>) -> DatasetError {
    DatasetError::Malformed {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
pub(crate) fn le_i64(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_layout_matches_numpy_align_true() {
        // The design's example: [int, bytes, JSON, ndarray-ptr] -> 0, 8, 24, 40; itemsize 48.
        let l = row_layout(&[
            FieldType::Int,
            FieldType::Bytes,
            FieldType::Json,
            FieldType::NdArray,
        ]);
        assert_eq!(l.offsets, vec![0, 8, 24, 40]);
        assert_eq!(l.itemsize, 48);
        // vdx frames dataset: [frames(28, packed), label i8, provenance (16), checksum i8].
        let l = row_layout(&[
            FieldType::Frames,
            FieldType::Int,
            FieldType::Json,
            FieldType::Int,
        ]);
        assert_eq!(l.offsets, vec![0, 32, 40, 56]);
        assert_eq!(l.itemsize, 64);
    }

    #[test]
    fn header_and_descriptor_round_trip() {
        let h = Header {
            version: 2,
            num_fields: 4,
            page_size: DEFAULT_PAGE_SIZE,
            num_samples: 7,
            alloc_table_ptr: 123456,
        };
        assert_eq!(Header::parse(&h.to_bytes(), Path::new("x")).unwrap(), h);
        let d = FieldDescriptor {
            field_type: FieldType::Flow,
            name: "flow".into(),
            arguments: serde_json::json!({"scale": 4.0}),
        };
        let b = d.to_bytes().unwrap();
        assert_eq!(b.len(), 1041);
        assert_eq!(FieldDescriptor::parse(&b, 0, Path::new("x")).unwrap(), d);
        let long = FieldDescriptor {
            name: "a_name_longer_than_16".into(),
            ..d
        };
        assert!(long.to_bytes().is_err());
    }
}
