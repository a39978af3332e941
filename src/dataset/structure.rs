//! A dataset file's structure, read and checked before any number in it is trusted: the
//! header, the field descriptors, where the metadata table, the data region and the
//! allocation table lie (inside the file), which field is which, and every allocation's
//! bounds. Nothing is sized by a number from the file before that number is checked.

use crate::dataset::error::Result;
use crate::dataset::format::{
    self, corrupt, Allocation, FieldDescriptor, FieldType, Header, ALLOC_ROW_SIZE, DESCRIPTOR_SIZE,
    HEADER_SIZE, MAX_FIELDS, MAX_PAGE_SIZE, MAX_SAMPLES, MIN_PAGE_SIZE,
};
use crate::dataset::writer::{CHECKSUM_FIELD, LABEL_FIELD, PROVENANCE_FIELD};
use std::path::Path;

/// A sample's rows in the sorted allocations: `[start, end)`.
type SampleRows = (u32, u32);

/// What [`parse`] found, every part checked.
pub(crate) struct Structure {
    pub header: Header,
    pub fields: Vec<FieldDescriptor>,
    pub layout: format::RowLayout,
    pub meta_off: u64,
    pub data_start: u64,
    /// The allocations, sorted by (sample, pointer).
    pub allocs: Vec<Allocation>,
    /// Per sample: the range of its rows in `allocs`.
    pub alloc_ranges: Vec<SampleRows>,
    /// The video, label, provenance and checksum fields' positions.
    pub video_k: usize,
    pub label_k: usize,
    pub prov_k: usize,
    pub sum_k: usize,
}

/// The structure of the dataset file `path` whose bytes are `b`.
pub(crate) fn parse(path: &Path, b: &[u8]) -> Result<Structure> {
    let len = b.len() as u64;
    let header = Header::parse(b, path)?;
    check_header(path, &header)?;
    let p = header.page_size;
    let nf = header.num_fields as usize;
    let meta_off = format::metadata_offset(nf);
    if meta_off > len {
        return Err(corrupt(
            path,
            format!("the file ({len} bytes) ends inside the field descriptors"),
        ));
    }
    let mut fields = Vec::with_capacity(nf);
    for k in 0..nf {
        let at = HEADER_SIZE + k * DESCRIPTOR_SIZE;
        fields.push(FieldDescriptor::parse(
            &b[at..at + DESCRIPTOR_SIZE],
            k,
            path,
        )?);
    }
    let types: Vec<FieldType> = fields.iter().map(|f| f.field_type).collect();
    let layout = format::row_layout(&types);
    let meta_len = header
        .num_samples
        .checked_mul(layout.itemsize as u64)
        .ok_or_else(|| corrupt(path, "metadata table size overflows"))?;
    let meta_end = meta_off
        .checked_add(meta_len)
        .ok_or_else(|| corrupt(path, "metadata table size overflows"))?;
    let data_start = meta_end.div_ceil(p) * p;
    let at = header.alloc_table_ptr;
    if meta_end > len || at < data_start.min(len) || at > len {
        return Err(corrupt(
            path,
            format!(
                "the file is {len} bytes but its header places the metadata table at \
                 {meta_off}..{meta_end} and the allocation table at {at}: cut short?"
            ),
        ));
    }
    if (len - at) % ALLOC_ROW_SIZE as u64 != 0 {
        return Err(corrupt(
            path,
            format!(
                "the allocation table ({} bytes) is not a whole number of rows: cut short?",
                len - at
            ),
        ));
    }
    let [video_k, label_k, prov_k, sum_k] = roles(path, &fields, &types)?;
    let (allocs, alloc_ranges) = allocations(path, b, &header, data_start)?;
    Ok(Structure {
        header,
        fields,
        layout,
        meta_off,
        data_start,
        allocs,
        alloc_ranges,
        video_k,
        label_k,
        prov_k,
        sum_k,
    })
}

/// The header's own rules: version, field count, finished, page size, sample count.
fn check_header(path: &Path, header: &Header) -> Result<()> {
    if header.version != format::VERSION {
        return Err(corrupt(
            path,
            format!(
                "format version {} (vdx reads version {}); is this a .beton/.vdx file?",
                header.version,
                format::VERSION
            ),
        ));
    }
    if header.num_fields == 0 || header.num_fields > MAX_FIELDS {
        return Err(corrupt(
            path,
            format!("{} fields is not a plausible count", header.num_fields),
        ));
    }
    if header.alloc_table_ptr == 0 {
        return Err(corrupt(
            path,
            "unfinished: the header's allocation-table pointer is 0 (a build was cut short)",
        ));
    }
    let p = header.page_size;
    if !p.is_power_of_two() || !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&p) {
        return Err(corrupt(
            path,
            format!("page size {p} is not a power of two between 2 MiB and 2 GiB"),
        ));
    }
    if header.num_samples > MAX_SAMPLES {
        return Err(corrupt(
            path,
            format!("{} samples is not plausible", header.num_samples),
        ));
    }
    Ok(())
}

/// Where the video field and the three fields every dataset has are.
fn roles(path: &Path, fields: &[FieldDescriptor], types: &[FieldType]) -> Result<[usize; 4]> {
    let video_k = types
        .iter()
        .position(|t| matches!(t, FieldType::Frames | FieldType::Segments | FieldType::Flow))
        .ok_or_else(|| {
            corrupt(
                path,
                format!(
                    "no video field (type 10, 11 or 12) among its fields {:?}",
                    fields.iter().map(|f| &f.name).collect::<Vec<_>>()
                ),
            )
        })?;
    let find = |name: &str, t: FieldType| {
        fields
            .iter()
            .position(|f| f.name == name && f.field_type == t)
            .ok_or_else(|| {
                let have: Vec<String> = fields
                    .iter()
                    .map(|f| format!("'{}' (type id {})", f.name, f.field_type.id()))
                    .collect();
                corrupt(
                    path,
                    format!(
                        "dataset, field {name}: rule \"{}\": no field named '{name}' of \
                         type id {} (its fields: {})",
                        crate::dataset::verify_rules::FIELDS,
                        t.id(),
                        have.join(", ")
                    ),
                )
            })
    };
    let label_k = find(LABEL_FIELD, FieldType::Int)?;
    let prov_k = find(PROVENANCE_FIELD, FieldType::Json)?;
    let sum_k = find(CHECKSUM_FIELD, FieldType::Int)?;

    Ok([video_k, label_k, prov_k, sum_k])
}

/// The allocation table (from `header.alloc_table_ptr` to the end), each row inside the data
/// region and within a page, sorted by (sample, pointer), with each sample's range of rows.
fn allocations(
    path: &Path,
    b: &[u8],
    header: &Header,
    data_start: u64,
) -> Result<(Vec<Allocation>, Vec<SampleRows>)> {
    let (len, at, p) = (b.len() as u64, header.alloc_table_ptr, header.page_size);
    let nrows = ((len - at) / ALLOC_ROW_SIZE as u64) as usize;
    let mut allocs = Vec::with_capacity(nrows);
    for r in 0..nrows {
        let o = at as usize + r * ALLOC_ROW_SIZE;
        let a = Allocation::parse(&b[o..o + ALLOC_ROW_SIZE]);
        let end = a.ptr.checked_add(a.size);
        let ok = a.sample_id < header.num_samples
            && a.size > 0
            && a.ptr >= data_start
            && end.is_some_and(|e| e <= at)
            && a.ptr / p == (a.ptr + a.size - 1) / p;
        if !ok {
            let rule = if a.sample_id >= header.num_samples {
                "allocations are for existing samples"
            } else if a.size == 0 {
                crate::dataset::verify_rules::NON_EMPTY
            } else if a.ptr < data_start || end.is_none_or(|e| e > at) {
                "allocations lie inside the data region"
            } else {
                "allocations do not cross a page boundary"
            };
            return Err(corrupt(
                path,
                format!(
                    "sample {}, allocation table: rule \"{rule}\": row {r} (bytes {}+{}; \
                     data region {data_start}..{at}, pages of {p})",
                    a.sample_id, a.ptr, a.size
                ),
            ));
        }
        allocs.push(a);
    }
    allocs.sort_by_key(|a| (a.sample_id, a.ptr));
    let mut alloc_ranges = vec![(0u32, 0u32); header.num_samples as usize];
    let mut i = 0usize;
    while i < allocs.len() {
        let s = allocs[i].sample_id as usize;
        let j = i + allocs[i..]
            .iter()
            .take_while(|a| a.sample_id as usize == s)
            .count();
        alloc_ranges[s] = (i as u32, j as u32);
        i = j;
    }
    Ok((allocs, alloc_ranges))
}
