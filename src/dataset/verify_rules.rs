//! The rules of FORMAT.md that `vdx verify` checks on top of what opening a file checks, for
//! the whole file: the four fields and their descriptors' bytes, every field's arguments, the
//! dataset info, the allocation table and the zero gap before the data region. The rules of
//! one sample's bytes are in `verify_sample.rs` and `verify_data.rs`, the problem type in
//! `verify_problem.rs`.
//!
//! Every problem names its rule (the words FORMAT.md's section "What vdx checks" lists), the
//! sample (or the part of the file, where the rule is about no one sample) and the field.

use crate::dataset::format::{
    self, Allocation, ALLOC_ROW_SIZE, ARGS_LEN, DESCRIPTOR_SIZE, HEADER_SIZE, NAME_LEN,
};
use crate::dataset::reader::DatasetFile;
pub use crate::dataset::verify_problem::Problem;
use crate::dataset::verify_problem::{is_int, show, Keys};
use serde_json::Value;
use std::collections::HashSet;

pub const FIELDS: &str = "four fields: frames|segments|flow, label, provenance, checksum";
pub const NAME_PADDING: &str = "field name is ASCII, NUL-padded";
pub const ARGS_PADDING: &str = "field arguments are a JSON object, NUL-padded";
pub const ARGS: &str = "field arguments";
pub const INFO_KEYS: &str = "dataset info keys and types";
pub const CLASSES_UNIQUE: &str = "classes are unique";
pub const INFO_FIRST: &str = "dataset info first in the data region";
pub const GAP: &str = "gap before the data region is zeros";
pub const SORTED: &str = "allocation table sorted by ptr";
pub const NON_EMPTY: &str = "no zero-size allocation";
pub const OVERLAP: &str = "allocations do not overlap";
pub const REFERENCED: &str = "every allocation is a pointer of its sample";
pub const BACK_TO_BACK: &str = "allocations back to back within a page";
pub const TABLE_AFTER: &str = "allocation table directly after the last allocation";

/// The video fields: type id and the one name FORMAT.md gives each.
pub const VIDEO_FIELDS: [(u8, &str); 3] = [(10, "frames"), (11, "segments"), (12, "flow")];
/// FORMAT.md's `resize` values.
pub const RESIZES: [&str; 3] = ["squash", "short_side_crop", "letterbox"];
pub const QUANTIZATION: &str = "clip(round(flow*scale),-128,127)";

/// The facts of the descriptors the per-sample rules need.
#[derive(Debug, Clone, Default)]
pub struct FieldFacts {
    /// The fields are the four of a vdx dataset, in order, with the right type ids.
    pub layout_ok: bool,
    /// The provenance field's arguments carry a `version` (so the NUL is required).
    pub provenance_versioned: bool,
}

/// The four fields and their descriptors' bytes, and every field's arguments. `head` is the
/// file from its start (header and descriptors at least).
pub fn check_descriptors(head: &[u8], out: &mut Vec<Problem>) -> FieldFacts {
    let mut facts = FieldFacts::default();
    if head.len() < HEADER_SIZE {
        return facts;
    }
    let nf = u16::from_le_bytes([head[2], head[3]]) as usize;
    let mut layout_ok = nf == 4;
    if nf != 4 {
        out.push(Problem::at(
            None,
            "header",
            FIELDS,
            format!("num_fields is {nf}; a vdx dataset has exactly 4"),
        ));
    }
    for k in 0..nf {
        let at = HEADER_SIZE + k * DESCRIPTOR_SIZE;
        let Some(d) = head.get(at..at + DESCRIPTOR_SIZE) else {
            break;
        };
        let type_id = d[0];
        let (name, part) = descriptor_name(k, d, out);
        let args = descriptor_arguments(d, &part, out);
        layout_ok &= check_field_slot(k, type_id, &name, &part, out);
        if !args.is_object() {
            continue;
        }
        check_field_arguments(k, type_id, &args, part, &mut facts, out);
    }
    facts.layout_ok = layout_ok;
    facts
}

/// Descriptor `k`'s name and its part ("field NAME"); checks the name is ASCII, NUL-padded.
fn descriptor_name(k: usize, d: &[u8], out: &mut Vec<Problem>) -> (String, String) {
    let name_raw = &d[1..1 + NAME_LEN];
    let name_len = name_raw.iter().position(|&c| c == 0).unwrap_or(NAME_LEN);
    let name = String::from_utf8_lossy(&name_raw[..name_len]).to_string();
    let part = format!("field {name}");
    if !name_raw[..name_len].is_ascii() || name_raw[name_len..].iter().any(|&c| c != 0) {
        out.push(Problem::at(
            None,
            part.clone(),
            NAME_PADDING,
            format!("descriptor {k}'s name bytes are {:02x?}", name_raw),
        ));
    }
    (name, part)
}

/// A descriptor's arguments as JSON (null where unreadable); checks their NUL padding and
/// that they are an object.
fn descriptor_arguments(d: &[u8], part: &str, out: &mut Vec<Problem>) -> Value {
    let args_raw = &d[1 + NAME_LEN..1 + NAME_LEN + ARGS_LEN];
    let alen = args_raw.iter().position(|&c| c == 0).unwrap_or(ARGS_LEN);
    if let Some(p) = args_raw[alen..].iter().position(|&c| c != 0) {
        out.push(Problem::at(
            None,
            part.to_string(),
            ARGS_PADDING,
            format!(
                "byte {} of the arguments is 0x{:02x} after the NUL that ends the JSON",
                alen + p,
                args_raw[alen + p]
            ),
        ));
    }
    let args: Value = serde_json::from_slice(&args_raw[..alen]).unwrap_or(Value::Null);
    if !args.is_object() {
        out.push(Problem::at(
            None,
            part.to_string(),
            ARGS_PADDING,
            "the arguments are not a JSON object",
        ));
    }
    args
}

/// Checks field `k` has the name and type id of its place among the four; false where the
/// type id is wrong (the rows cannot be read then).
fn check_field_slot(k: usize, type_id: u8, name: &str, part: &str, out: &mut Vec<Problem>) -> bool {
    let want: Option<(u8, &str)> = match k {
        0 => Some(
            VIDEO_FIELDS
                .iter()
                .copied()
                .find(|(t, _)| *t == type_id)
                .unwrap_or((10, "frames|segments|flow")),
        ),
        1 => Some((1, "label")),
        2 => Some((5, "provenance")),
        3 => Some((1, "checksum")),
        _ => None,
    };
    let Some((t, n)) = want else {
        return true;
    };
    let type_ok = if k == 0 {
        (10..=12).contains(&type_id)
    } else {
        type_id == t
    };
    if !type_ok || name != n {
        out.push(Problem::at(
            None,
            part.to_string(),
            FIELDS,
            format!(
                "field {k} is named '{name}' with type id {type_id}; it must be '{n}' \
                 (type id {})",
                if k == 0 {
                    "10|11|12".to_string()
                } else {
                    t.to_string()
                }
            ),
        ));
    }
    type_ok
}

/// Checks the keys of field `k`'s arguments (an object) by its place and type id; notes
/// whether the provenance arguments are versioned.
fn check_field_arguments(
    k: usize,
    type_id: u8,
    args: &Value,
    part: String,
    facts: &mut FieldFacts,
    out: &mut Vec<Problem>,
) {
    let mut keys = Keys {
        v: args,
        sample: None,
        part,
        rule: ARGS,
        out,
    };
    match (k, type_id) {
        (0, 10..=12) => check_video_arguments(type_id, &mut keys),
        (1, 1) => {
            keys.version();
            if let Some(info) = keys.object("info") {
                let mut ik = Keys {
                    v: info,
                    sample: None,
                    part: keys.part.clone(),
                    rule: ARGS,
                    out: &mut *keys.out,
                };
                ik.uint("ptr");
                ik.uint("size");
                ik.int("crc32c", 0, u32::MAX as i64);
            }
        }
        (2, 5) => {
            let versioned = keys.version();
            facts.provenance_versioned = versioned;
            // Files from before versioning wrote `{}`; versioned ones say how to read.
            if versioned || args.get("encoding").is_some() {
                keys.one_of("encoding", &["utf-8"]);
            }
            if (versioned || args.get("nul_terminated").is_some())
                && args.get("nul_terminated") != Some(&Value::Bool(true))
            {
                keys.bad("nul_terminated", "true");
            }
        }
        (3, 1) => {
            keys.version();
            keys.one_of("algorithm", &["crc32c"]);
            keys.string("covers");
        }
        _ => {}
    }
}

fn check_video_arguments(type_id: u8, k: &mut Keys) {
    k.version();
    k.int("height", 1, i64::MAX);
    k.int("width", 1, i64::MAX);
    k.one_of("resize", &RESIZES);
    match type_id {
        10 => {
            k.one_of("encoding", &["jpeg"]);
            k.int("frames", 1, i64::MAX);
            k.int("quality", 1, 100);
        }
        11 => {
            let codec = k.one_of("codec", &["h264", "hevc", "vp9", "av1"]);
            match codec.as_deref() {
                Some("h264" | "hevc") => {
                    k.one_of("bitstream", &["annexb"]);
                }
                Some(_) => {
                    k.one_of("bitstream", &["raw"]);
                }
                None => {
                    k.one_of("bitstream", &["annexb", "raw"]);
                }
            }
            k.int("crf", 0, 63);
            k.int("keyint", 1, i64::MAX);
            k.number("fps", true, true);
            k.number("max_duration_secs", true, true);
        }
        _ => {
            k.int("frames", 1, i64::MAX);
            k.int("quality", 1, 100);
            k.int("keyframe_interval", 1, i64::MAX);
            k.number("scale", true, false);
            k.one_of("quantization", &[QUANTIZATION]);
            if let Some(fb) = k.object("farneback") {
                let keys = [
                    ("pyr_scale", false),
                    ("poly_sigma", false),
                    ("levels", true),
                    ("winsize", true),
                    ("iterations", true),
                    ("poly_n", true),
                ];
                for (key, int) in keys {
                    let v = fb.get(key);
                    let ok = if int {
                        v.is_some_and(is_int)
                    } else {
                        v.is_some_and(Value::is_number)
                    };
                    if !ok {
                        k.out.push(Problem::at(
                            None,
                            k.part.clone(),
                            ARGS,
                            format!(
                                "'farneback.{key}' is {}; it must be {}",
                                show(v),
                                if int { "an int" } else { "a number" }
                            ),
                        ));
                    }
                }
            }
        }
    }
}

/// The dataset info: its keys and types, unique classes, placed first in the data region.
pub fn check_info(ds: &DatasetFile, out: &mut Vec<Problem>) {
    let info = ds.info();
    let part = "field label (dataset info)";
    let args = info_args(ds);
    if info.is_null() {
        // No pointer in the label arguments: reported by the arguments' rule.
        return;
    }
    if !info.is_object() {
        out.push(Problem::at(
            Some(0),
            part,
            INFO_KEYS,
            "the info is not a JSON object",
        ));
        return;
    }
    let mut k = Keys {
        v: info,
        sample: Some(0),
        part: part.into(),
        rule: INFO_KEYS,
        out: &mut *out,
    };
    k.string("vdx_version");
    k.uint("videos");
    k.object("build_options");
    if let Some(classes) = k.list("classes", "class names") {
        let mut seen = HashSet::new();
        for (j, c) in classes.iter().enumerate() {
            match c.as_str() {
                None => k.out.push(Problem::at(
                    Some(0),
                    part,
                    INFO_KEYS,
                    format!("classes[{j}] is {c}; class names are strings"),
                )),
                Some(s) if !seen.insert(s) => k.out.push(Problem::at(
                    Some(0),
                    part,
                    CLASSES_UNIQUE,
                    format!("class '{s}' is listed twice (again at position {j})"),
                )),
                Some(_) => {}
            }
        }
    }
    if let Some(skipped) = k.list("skipped", "{\"path\", \"reason\"} objects") {
        for (j, s) in skipped.iter().enumerate() {
            let ok = s.get("path").is_some_and(Value::is_string)
                && s.get("reason").is_some_and(Value::is_string);
            if !ok {
                k.out.push(Problem::at(
                    Some(0),
                    part,
                    INFO_KEYS,
                    format!(
                        "skipped[{j}] is {}; it must be {{\"path\", \"reason\"}} strings",
                        show(Some(s))
                    ),
                ));
            }
        }
    }
    if info.get("splits").is_some() {
        if let Some(splits) = k.list("splits", "split names") {
            if !splits.iter().all(Value::is_string) {
                k.bad("splits", "a list of split names (strings)");
            }
        }
    }
    if info.get("annotations").is_some() {
        k.object("annotations");
    }
    if info.get("shard").is_some() {
        if let Some(sh) = k.object("shard") {
            let mut s = Keys {
                v: sh,
                sample: Some(0),
                part: part.into(),
                rule: INFO_KEYS,
                out: &mut *k.out,
            };
            let index = s.uint("index");
            let count = s.int("count", 1, i64::MAX);
            s.int("inputs_crc32c", 0, u32::MAX as i64);
            s.int("options_crc32c", 0, u32::MAX as i64);
            if let (Some(i), Some(n)) = (index, count) {
                if i >= n as u64 {
                    s.bad("index", &format!("below shard.count ({n})"));
                }
            }
        }
    }
    let (_, _, data_start) = ds.layout();
    if let Some(ptr) = args["ptr"].as_u64() {
        if ptr != data_start {
            out.push(Problem::at(
                Some(0),
                part,
                INFO_FIRST,
                format!("info.ptr is {ptr}; the data region starts at {data_start}"),
            ));
        }
    }
}

/// The zero gap between the metadata table and the data region.
pub fn check_gap(ds: &DatasetFile, out: &mut Vec<Problem>) {
    let b = ds.bytes();
    let (layout, meta_off, data_start) = ds.layout();
    let meta_end = meta_off + ds.len() * layout.itemsize as u64;
    let gap = &b[(meta_end as usize).min(b.len())..(data_start as usize).min(b.len())];
    if let Some(p) = gap.iter().position(|&c| c != 0) {
        out.push(Problem::at(
            None,
            "gap",
            GAP,
            format!(
                "byte {} (between the metadata table's end {meta_end} and the data region at \
                 {data_start}) is 0x{:02x}",
                meta_end + p as u64,
                gap[p]
            ),
        ));
    }
}

/// The allocation table: sorted by ptr, no zero sizes, no overlaps, back to back within a
/// page from the data region's start, the table right after the last allocation, and every
/// row one of its sample's pointers (video data, provenance; the info for sample 0).
/// `pointers`: per sample, its (video ptr, size) and (provenance ptr, size); `None` where
/// the rows cannot be read (fields that are not vdx's four), then rows are not matched.
pub fn check_allocations(
    ds: &DatasetFile,
    pointers: Option<&[[(u64, u64); 2]]>,
    out: &mut Vec<Problem>,
) {
    let b = ds.bytes();
    let at = ds.header.alloc_table_ptr as usize;
    let page = ds.header.page_size;
    let (_, _, data_start) = ds.layout();
    let rows: Vec<Allocation> = b[at.min(b.len())..]
        .chunks_exact(ALLOC_ROW_SIZE)
        .map(Allocation::parse)
        .collect();
    let part = "allocation table";
    let info = info_args(ds);
    let info_ptr = (info["ptr"].as_u64(), info["size"].as_u64());
    for (r, a) in rows.iter().enumerate() {
        if r > 0 && a.ptr <= rows[r - 1].ptr {
            out.push(Problem::at(
                Some(a.sample_id),
                part,
                SORTED,
                format!(
                    "row {r} (ptr {}) follows row {} (ptr {})",
                    a.ptr,
                    r - 1,
                    rows[r - 1].ptr
                ),
            ));
        }
        if a.size == 0 {
            out.push(Problem::at(
                Some(a.sample_id),
                part,
                NON_EMPTY,
                format!("row {r} (ptr {}) has size 0", a.ptr),
            ));
        }
        let s = a.sample_id;
        let Some(pointers) = pointers else { continue };
        let mine = pointers
            .get(s as usize)
            .is_some_and(|p| p.contains(&(a.ptr, a.size)));
        let is_info = s == 0 && info_ptr == (Some(a.ptr), Some(a.size));
        if !mine && !is_info {
            out.push(Problem::at(
                Some(s),
                part,
                REFERENCED,
                format!(
                    "row {r} ({}+{}) is not sample {s}'s video data, provenance{}",
                    a.ptr,
                    a.size,
                    if s == 0 { " or dataset info" } else { "" }
                ),
            ));
        }
    }
    let mut sorted: Vec<(usize, Allocation)> = rows.iter().copied().enumerate().collect();
    sorted.sort_by_key(|(r, a)| (a.ptr, *r));
    if let Some((r, first)) = sorted.first() {
        if first.ptr != data_start {
            out.push(Problem::at(
                Some(first.sample_id),
                part,
                BACK_TO_BACK,
                format!(
                    "the first allocation (row {r}) is at {}; the data region starts at {data_start}",
                    first.ptr
                ),
            ));
        }
    }
    for w in sorted.windows(2) {
        let ((ra, a), (rb, bb)) = (w[0], w[1]);
        let end = a.ptr.saturating_add(a.size);
        if bb.ptr < end {
            out.push(Problem::at(
                Some(bb.sample_id),
                part,
                OVERLAP,
                format!(
                    "row {rb} ({}+{}, sample {}) starts inside row {ra} ({}+{}, sample {})",
                    bb.ptr, bb.size, bb.sample_id, a.ptr, a.size, a.sample_id
                ),
            ));
        } else if bb.ptr > end && bb.ptr % page != 0 {
            out.push(Problem::at(
                Some(bb.sample_id),
                part,
                BACK_TO_BACK,
                format!(
                    "row {rb} starts at {}, {} bytes after row {ra} ends, and not at a page \
                     boundary",
                    bb.ptr,
                    bb.ptr - end
                ),
            ));
        }
    }
    if let Some((r, last)) = sorted.last() {
        let end = last.ptr.saturating_add(last.size);
        if end != at as u64 {
            out.push(Problem::at(
                Some(last.sample_id),
                part,
                TABLE_AFTER,
                format!("the last allocation (row {r}) ends at {end}; the table starts at {at}"),
            ));
        }
    }
}

/// The label field's `info` argument (null where absent).
fn info_args(ds: &DatasetFile) -> &Value {
    static NULL: Value = Value::Null;
    ds.fields.get(1).map_or(&NULL, |f| &f.arguments["info"])
}

/// The file's first bytes: header and descriptors (as many as fit).
pub fn head(ds: &DatasetFile) -> &[u8] {
    let b = ds.bytes();
    let end = format::metadata_offset(ds.header.num_fields as usize) as usize;
    &b[..end.min(b.len())]
}
