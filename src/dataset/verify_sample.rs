//! The rules of FORMAT.md about one sample's bytes, as `vdx verify` checks them: its
//! metadata row (zero padding, label range, checksum range, the record against the field's
//! arguments, pointers that are its allocations, the checksum itself), its video data (the
//! rules in `verify_data.rs`) and its provenance (UTF-8 JSON object with one NUL, the
//! documented keys).

use crate::dataset::format::{le_i64, le_u64, Allocation, FieldType, ALLOC_ROW_SIZE};
use crate::dataset::reader::DatasetFile;
use crate::dataset::verify_data::{self, VideoArgs, TIME_BASE};
use crate::dataset::verify_problem::{is_int, show, Keys, Problem};
use crate::dataset::verify_rules::FieldFacts;
use crate::dataset::writer::VideoRecord;
use serde_json::Value;

pub const PADDING: &str = "padding bytes are zero";
pub const LABEL: &str = "label in -1..classes-1";
pub const CHECKSUM_RANGE: &str = "checksum is a non-negative CRC-32C";
pub const CHECKSUM: &str = "checksum is the CRC-32C of row, data and provenance";
pub const RECORD_ARGS: &str = "record matches the field arguments";
pub const POINTERS: &str = "pointers are the sample's allocations";
pub const PROV_NUL: &str = "provenance is JSON and one NUL";
pub const PROV_JSON: &str = "provenance is a UTF-8 JSON object";
pub const PROV_KEYS: &str = "provenance keys and types";
pub const PROV_T: &str = "provenance frames and pts have T entries";
pub const PROV_PADDED: &str = "padded ≤ T";
pub const PROV_DAMAGED: &str = "damaged positions < T";

/// Per-sample rules of one file, set up once.
pub struct SampleRules<'a> {
    b: &'a [u8],
    kind: FieldType,
    video: String,
    meta_off: usize,
    itemsize: usize,
    /// (offset, size) of each field's record in a row.
    members: [(usize, usize); 4],
    classes: usize,
    /// How many split names the dataset info lists (annotation datasets).
    splits: usize,
    args: VideoArgs,
    prov_versioned: bool,
    /// Allocation rows as (sample, ptr, size), sorted.
    owned: Vec<(u64, u64, u64)>,
}

impl<'a> SampleRules<'a> {
    /// `None` where the fields are not the four of a vdx dataset (reported by
    /// `verify_rules::check_descriptors`): rows cannot be read by these rules then.
    pub fn new(ds: &'a DatasetFile, facts: &FieldFacts) -> Option<Self> {
        if !facts.layout_ok || ds.fields.len() != 4 {
            return None;
        }
        let b = ds.bytes();
        let (layout, meta_off, _) = ds.layout();
        let types: Vec<FieldType> = ds.fields.iter().map(|f| f.field_type).collect();
        let mut members = [(0, 0); 4];
        for k in 0..4 {
            members[k] = (layout.offsets[k], types[k].record().size());
        }
        let a = &ds.fields[0].arguments;
        let args = VideoArgs {
            frames: a["frames"].as_u64(),
            height: a["height"].as_u64(),
            width: a["width"].as_u64(),
            scale: a["scale"].as_f64(),
            keyint: a["keyint"].as_u64().filter(|&k| k > 0),
            keyframe_interval: a["keyframe_interval"].as_u64().filter(|&k| k > 0),
            codec: a["codec"].as_str().map(str::to_string),
        };
        let at = (ds.header.alloc_table_ptr as usize).min(b.len());
        let mut owned: Vec<(u64, u64, u64)> = b[at..]
            .chunks_exact(ALLOC_ROW_SIZE)
            .map(Allocation::parse)
            .map(|a| (a.sample_id, a.ptr, a.size))
            .collect();
        owned.sort_unstable();
        Some(SampleRules {
            b,
            kind: types[0],
            video: ds.fields[0].name.clone(),
            meta_off: meta_off as usize,
            itemsize: layout.itemsize,
            members,
            classes: ds.classes().len(),
            splits: ds.info()["splits"].as_array().map_or(0, Vec::len),
            args,
            prov_versioned: facts.provenance_versioned,
            owned,
        })
    }

    fn row(&self, i: u64) -> &'a [u8] {
        let o = self.meta_off + i as usize * self.itemsize;
        &self.b[o..o + self.itemsize]
    }

    /// Sample `i`'s (video ptr, size) and (provenance ptr, size), as its row says.
    pub fn pointers(&self, i: u64) -> [(u64, u64); 2] {
        let row = self.row(i);
        let (v, p) = (self.members[0].0, self.members[2].0);
        [
            (le_u64(row, v), le_u64(row, v + 8)),
            (le_u64(row, p), le_u64(row, p + 8)),
        ]
    }

    fn owned(&self, i: u64, (ptr, size): (u64, u64)) -> Option<&'a [u8]> {
        self.owned.binary_search(&(i, ptr, size)).ok()?;
        self.b.get(ptr as usize..ptr.checked_add(size)? as usize)
    }

    /// Every rule about sample `i`'s bytes.
    pub fn check(&self, i: u64) -> Vec<Problem> {
        let mut out = Vec::new();
        let row = self.row(i);
        let video = format!("field {}", self.video);
        let p = |part: &str, rule: &'static str, detail: String| {
            Problem::at(Some(i), part.to_string(), rule, detail)
        };
        // Padding: every row byte outside the four records.
        let names = [self.video.as_str(), "label", "provenance", "checksum"];
        for (pos, &byte) in row.iter().enumerate() {
            let inside = self.members.iter().any(|&(o, n)| (o..o + n).contains(&pos));
            if !inside && byte != 0 {
                let k = self
                    .members
                    .iter()
                    .rposition(|&(o, _)| o <= pos)
                    .unwrap_or(0);
                out.push(p(
                    &format!("field {}", names[k]),
                    PADDING,
                    format!(
                        "row byte {pos} (padding after field {}) is 0x{byte:02x}",
                        names[k]
                    ),
                ));
            }
        }
        let label = le_i64(row, self.members[1].0);
        if label < -1 || label >= self.classes as i64 {
            out.push(p(
                "field label",
                LABEL,
                format!(
                    "label {label}, but the dataset info has {} classes (labels -1..={})",
                    self.classes,
                    self.classes as i64 - 1
                ),
            ));
        }
        let stored = le_i64(row, self.members[3].0);
        if !(0..=u32::MAX as i64).contains(&stored) {
            out.push(p(
                "field checksum",
                CHECKSUM_RANGE,
                format!("the checksum is {stored}"),
            ));
        }
        let (vo, vn) = self.members[0];
        let Some((_, _, rec)) = VideoRecord::parse(self.kind, &row[vo..vo + vn]) else {
            return out;
        };
        self.check_record(&rec, &mut |r, d| out.push(p(&video, r, d)));
        let [vptr, pptr] = self.pointers(i);
        let data = self.owned(i, vptr);
        let prov = self.owned(i, pptr);
        for (what, (ptr, size), got, part) in [
            ("video data", vptr, data, video.as_str()),
            ("provenance", pptr, prov, "field provenance"),
        ] {
            if got.is_none() {
                out.push(p(
                    part,
                    POINTERS,
                    format!("its {what} pointer {ptr}+{size} is not one of its allocations"),
                ));
            }
        }
        if let (Some(d), Some(pr)) = (data, prov) {
            let upto = self.members[3].0;
            let crc =
                crc32c::crc32c_append(crc32c::crc32c_append(crc32c::crc32c(&row[..upto]), d), pr);
            if crc as i64 != stored {
                out.push(p(
                    "field checksum",
                    CHECKSUM,
                    format!("stored {stored}, the bytes give {crc}: the sample's bytes changed"),
                ));
            }
        }
        if let Some(d) = data {
            let mut push = |r, detail| out.push(p(&video, r, detail));
            match rec {
                VideoRecord::Frames { num_frames, .. } => {
                    verify_data::frames_data(d, num_frames, &mut push)
                }
                VideoRecord::Segments { .. } => {
                    verify_data::segments_data(&self.args, d, &rec, &mut push)
                }
                VideoRecord::Flow { .. } => verify_data::flow_data(&self.args, d, &rec, &mut push),
            }
        }
        if let Some(pr) = prov {
            self.provenance(i, pr, rec.num_frames(), &mut out);
        }
        out
    }

    fn check_record(&self, rec: &VideoRecord, push: &mut dyn FnMut(&'static str, String)) {
        let (h, w) = rec.size_hw();
        let t = rec.num_frames();
        let mut cmp = |what: &str, got: u64, key: &str, want: Option<u64>| {
            if let Some(want) = want {
                if got != want {
                    push(
                        RECORD_ARGS,
                        format!("the record's {what} is {got}; the arguments' {key} is {want}"),
                    );
                }
            }
        };
        cmp("height", h as u64, "height", self.args.height);
        cmp("width", w as u64, "width", self.args.width);
        if self.kind != FieldType::Segments {
            cmp("num_frames", t as u64, "frames", self.args.frames);
        }
        if let (VideoRecord::Flow { scale, .. }, Some(want)) = (rec, self.args.scale) {
            if *scale != want as f32 {
                push(
                    RECORD_ARGS,
                    format!("the record's scale is {scale}; the arguments' scale is {want}"),
                );
            }
        }
        if let VideoRecord::Segments {
            time_base_num,
            time_base_den,
            ..
        } = *rec
        {
            if time_base_num == 0 || time_base_den == 0 {
                push(
                    TIME_BASE,
                    format!("the record's time base is {time_base_num}/{time_base_den}"),
                );
            }
        }
    }

    fn provenance(&self, i: u64, bytes: &[u8], t: u32, out: &mut Vec<Problem>) {
        let part = "field provenance";
        Self::provenance_nul(i, bytes, self.prov_versioned, out);
        let Some(v) = Self::provenance_object(i, bytes, out) else {
            return;
        };
        let mut k = Keys {
            v: &v,
            sample: Some(i),
            part: part.into(),
            rule: PROV_KEYS,
            out: &mut *out,
        };
        Self::provenance_source_keys(&mut k);
        self.provenance_annotation_keys(i, &mut k);
        Self::provenance_frame_keys(i, t, &mut k);
    }

    /// Checks that the provenance holds one NUL, at its end (none only before version 1).
    fn provenance_nul(i: u64, bytes: &[u8], versioned: bool, out: &mut Vec<Problem>) {
        let nuls = bytes.iter().filter(|&&c| c == 0).count();
        let ends_nul = bytes.last() == Some(&0);
        // One NUL, at the end; none only in files from before provenance version 1.
        if nuls > 1 || (nuls == 1 && !ends_nul) || (versioned && nuls == 0) {
            out.push(Problem::at(
                Some(i),
                "field provenance",
                PROV_NUL,
                format!(
                    "{} bytes, {nuls} NUL bytes, {}",
                    bytes.len(),
                    if ends_nul {
                        "ending in NUL"
                    } else {
                        "not ending in NUL"
                    }
                ),
            ));
        }
    }

    /// Parses the provenance (less its final NUL) as a UTF-8 JSON object, or reports why not.
    fn provenance_object(i: u64, bytes: &[u8], out: &mut Vec<Problem>) -> Option<Value> {
        let p = |rule, detail: String| Problem::at(Some(i), "field provenance", rule, detail);
        let body = bytes.strip_suffix(&[0]).unwrap_or(bytes);
        match std::str::from_utf8(body)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str(s).map_err(|e| e.to_string()))
        {
            Ok(v @ Value::Object(_)) => Some(v),
            Ok(other) => {
                out.push(p(PROV_JSON, format!("it is {}", show(Some(&other)))));
                None
            }
            Err(e) => {
                out.push(p(PROV_JSON, e));
                None
            }
        }
    }

    /// Checks the source keys: source, clip, its size and fps, time_base, conversion.
    fn provenance_source_keys(k: &mut Keys) {
        let v = k.v;
        k.string("source");
        k.uint("clip");
        k.uint("source_frames");
        k.uint("source_width");
        k.uint("source_height");
        k.number("source_fps", false, false);
        let tb_ok = v["time_base"].as_str().and_then(|s| {
            let (n, d) = s.split_once('/')?;
            let (n, d) = (n.parse::<u64>().ok()?, d.parse::<u64>().ok()?);
            (n > 0 && d > 0).then_some(())
        });
        if tb_ok.is_none() {
            k.bad("time_base", "a string \"num/den\" of positive ints");
        }
        if v.get("conversion").is_some() {
            k.string("conversion");
        }
    }

    /// Checks the annotation keys: labels, split, row_id with its line, segment.
    fn provenance_annotation_keys(&self, i: u64, k: &mut Keys) {
        let part = "field provenance";
        let v = k.v;
        // Annotation datasets: every label a class index, the first the row's label; the
        // split an index into the info's `splits`; the segment's frames inside the source.
        if let Some(labels) = v
            .get("labels")
            .is_some()
            .then(|| k.list("labels", "class indices"))
            .flatten()
        {
            let n = self.classes as i64;
            if labels.is_empty()
                || !labels
                    .iter()
                    .all(|x| x.as_i64().is_some_and(|l| (0..n).contains(&l)))
            {
                k.out.push(Problem::at(
                    Some(i),
                    part,
                    LABEL,
                    format!(
                        "labels {}: each must be a class index 0..{}",
                        show(v.get("labels")),
                        n - 1
                    ),
                ));
            }
        }
        if v.get("split").is_some() {
            if let Some(s) = k.uint("split") {
                if s as usize >= self.splits {
                    k.out.push(Problem::at(
                        Some(i),
                        part,
                        PROV_KEYS,
                        format!(
                            "split {s}, but the dataset info lists {} splits",
                            self.splits
                        ),
                    ));
                }
            }
        }
        if v.get("row_id").is_some() {
            k.string("row_id");
            k.uint("annotation_line");
        }
        if let Some(seg) = v.get("segment") {
            let frames = seg["frames"]
                .as_array()
                .map(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>());
            let n = v["source_frames"].as_u64().unwrap_or(u64::MAX);
            match frames {
                Some(Some(f)) if f.len() == 2 && f[0] < f[1] && f[1] <= n => {}
                _ => k.bad(
                    "segment",
                    "an object with \"frames\": [a, b), a < b <= source_frames",
                ),
            }
        }
    }

    /// Checks the per-frame keys against T: frames and pts, padded, damaged.
    fn provenance_frame_keys(i: u64, t: u32, k: &mut Keys) {
        let part = "field provenance";
        let v = k.v;
        for key in ["frames", "pts"] {
            if let Some(list) = k.list(key, "ints") {
                if !list
                    .iter()
                    .all(|x| is_int(x) && (key == "pts" || x.is_u64()))
                {
                    k.bad(key, "a list of ints (frames: ≥ 0)");
                } else if list.len() != t as usize {
                    k.out.push(Problem::at(
                        Some(i),
                        part,
                        PROV_T,
                        format!("'{key}' has {} entries; T is {t}", list.len()),
                    ));
                }
            }
        }
        if let Some(padded) = k.uint("padded") {
            if padded > t as u64 {
                k.out.push(Problem::at(
                    Some(i),
                    part,
                    PROV_PADDED,
                    format!("padded is {padded}; T is {t}"),
                ));
            }
        }
        if v.get("damaged").is_some() {
            if let Some(list) = k.list("damaged", "ints") {
                for x in list {
                    match x.as_u64() {
                        Some(pos) if pos < t as u64 => {}
                        Some(pos) => k.out.push(Problem::at(
                            Some(i),
                            part,
                            PROV_DAMAGED,
                            format!("damaged position {pos}; T is {t}"),
                        )),
                        None => k.bad("damaged", "a list of ints ≥ 0"),
                    }
                }
            }
        }
    }
}
