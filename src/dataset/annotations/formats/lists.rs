//! The list formats: Something-Something v2's JSON list, the UCF-101 and HMDB-51 split lists
//! and JSON Lines.

use super::text::{parse_frame, parse_seconds, split_from_name, TextError};
use super::{checked_segment, class_file_beside, Ctx, Input, Parsed, NO_COLUMN};
use crate::dataset::annotations::{AnnotationRow, Format, Segment, TimeSpec};
use crate::dataset::error::Result;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `trainlist01.txt`, `testlist03.txt` (lower-cased).
pub(super) fn is_ucf_list_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".txt") else {
        return false;
    };
    let number = stem
        .strip_prefix("trainlist")
        .or_else(|| stem.strip_prefix("testlist"));
    number.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `brush_hair_test_split1.txt` (lower-cased).
pub(super) fn is_hmdb_list_name(name: &str) -> bool {
    hmdb_class(name).is_some()
}

/// The class of an HMDB-51 split file: the name before `_test_splitN.txt`.
fn hmdb_class(name: &str) -> Option<&str> {
    let stem = name
        .strip_suffix(".txt")
        .or_else(|| name.strip_suffix(".TXT"))?;
    let (class, number) = stem.rsplit_once("_test_split")?;
    let numbered = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    (!class.is_empty() && numbered).then_some(class)
}

/// A JSON list whose first object has `id` and `template` or `label` (or, for the
/// unlabelled test list, a file named like SSv2's).
pub(super) fn looks_like_ssv2(name: &str, head: &str) -> bool {
    let text = head.trim_start();
    let Some(rest) = text.strip_prefix('[') else {
        return false;
    };
    rest.trim_start().starts_with('{')
        && text.contains("\"id\"")
        && (text.contains("\"template\"")
            || text.contains("\"label\"")
            || name.contains("something-something")
            || name.contains("ssv2"))
}

/// A JSON value as a field's text: strings as they are, `null` empty, others as JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn fields_of(map: &Map<String, Value>) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.clone(), value_text(v)))
        .collect()
}

/// A key's value: None when absent or null.
fn get<'m>(map: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// A string (or number) key's text; other values are an error naming the key.
fn text_key(ctx: Ctx, line: usize, map: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match get(map, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.trim().is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(ctx.err(line, key, format!("{other} is not a string"))),
    }
}

fn parse_json(ctx: Ctx, line: usize, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        // A whole-file document reports its own line; a JSON Lines line is line `line`.
        let at = if e.line() > 1 {
            line + e.line() - 1
        } else {
            line
        };
        ctx.err(at, &e.column().to_string(), format!("not valid JSON: {e}"))
    })
}

/// Something-Something v2: a JSON list of `{"id", "label", "template", "placeholders"}`; the
/// class is the template without its brackets; `line` is the element number.
pub(super) fn ssv2(input: &Input) -> Result<Parsed> {
    let ctx = input.ctx;
    let Value::Array(items) = parse_json(ctx, 1, input.text)? else {
        return Err(ctx.err(
            1,
            NO_COLUMN,
            "expected a JSON list of objects {\"id\", \"label\", \"template\", \"placeholders\"}",
        ));
    };
    let own_classes = match input.classes {
        Some(_) => None,
        None => class_file_beside(ctx.path, "something-something-v2-labels.json", Format::Ssv2)?,
    };
    let split = split_from_name(ctx.path);
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let line = i + 1;
        let Value::Object(map) = item else {
            return Err(ctx.err(
                line,
                NO_COLUMN,
                format!("element {line} of the list is not an object"),
            ));
        };
        let Some(id) = text_key(ctx, line, map, "id")? else {
            return Err(ctx.err(line, "id", format!("element {line} has no id")));
        };
        let template = text_key(ctx, line, map, "template")?;
        let label = text_key(ctx, line, map, "label")?;
        let class = template.or(label).map(|t| t.replace(['[', ']'], ""));
        let fields = fields_of(map);
        let video = ctx.video(line, input.pattern, &fields)?;
        let mut extra = fields;
        extra.remove("id");
        extra.remove("template");
        rows.push(AnnotationRow {
            line,
            row_id: id,
            video,
            segment: None,
            labels: class.into_iter().collect(),
            split: split.clone(),
            extra,
        });
    }
    Ok(Parsed {
        rows,
        id_column: "id".to_string(),
        label_column: "template".to_string(),
        own_classes,
    })
}

/// UCF-101: `Class/v_Class_g08_c01.avi [N]` lines; the label is the folder, which must be
/// class N of `classInd.txt` where N is given.
pub(super) fn ucf101(input: &Input) -> Result<Parsed> {
    let ctx = input.ctx;
    let name = ctx
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let split = if name.starts_with("trainlist") {
        Some("train".to_string())
    } else if name.starts_with("testlist") {
        Some("test".to_string())
    } else {
        split_from_name(ctx.path)
    };
    let own_classes = match input.classes {
        Some(_) => None,
        None => class_file_beside(ctx.path, "classInd.txt", Format::Ucf101)?,
    };
    let classes = input.classes.or(own_classes.as_ref());
    let mut rows = Vec::new();
    for (i, text) in input.text.lines().enumerate() {
        let line = i + 1;
        let mut words = text.split_whitespace();
        let Some(path) = words.next() else {
            continue;
        };
        let index = words.next();
        if words.next().is_some() {
            return Err(ctx.err(
                line,
                NO_COLUMN,
                "expected 'Class/v_Class_g08_c01.avi' and an optional class index, found more",
            ));
        }
        let parts: Vec<&str> = path.split(['/', '\\']).collect();
        let [.., class, file] = parts[..] else {
            return Err(ctx.err(
                line,
                "path",
                format!("'{path}' has no class folder (expected Class/v_Class_g08_c01.avi)"),
            ));
        };
        if class.is_empty() || file.is_empty() {
            return Err(ctx.err(
                line,
                "path",
                format!("'{path}' is not Class/v_Class_g08_c01.avi"),
            ));
        }
        let mut extra = BTreeMap::new();
        if let Some(index) = index {
            let n: u64 = index.parse().map_err(|_| {
                ctx.err(
                    line,
                    "class index",
                    format!("'{index}' is not a class number (1, 2, ...)"),
                )
            })?;
            if let Some(list) = classes {
                match list.by_number(n) {
                    None => {
                        return Err(ctx.err(
                            line,
                            "class index",
                            format!(
                                "class {n} is not in {} ({} classes)",
                                list.source.display(),
                                list.names.len()
                            ),
                        ))
                    }
                    Some(named) if named != class => {
                        return Err(ctx.err(
                            line,
                            "class index",
                            format!(
                                "class {n} is '{named}' in {}, but the path's folder is \
                                 '{class}'",
                                list.source.display()
                            ),
                        ))
                    }
                    Some(_) => {}
                }
            }
            extra.insert("class_index".to_string(), n.to_string());
        }
        let fields = BTreeMap::from([
            ("path".to_string(), path.to_string()),
            ("class".to_string(), class.to_string()),
            ("name".to_string(), file.to_string()),
        ]);
        rows.push(AnnotationRow {
            line,
            row_id: format!("line {line}"),
            video: ctx.video(line, input.pattern, &fields)?,
            segment: None,
            labels: vec![class.to_string()],
            split: split.clone(),
            extra,
        });
    }
    Ok(Parsed {
        rows,
        id_column: NO_COLUMN.to_string(),
        label_column: "path".to_string(),
        own_classes,
    })
}

/// HMDB-51: `{class}_test_split{N}.txt` with `name.avi TAG` lines: 1 train, 2 test, 0
/// unused (skipped).
pub(super) fn hmdb51(input: &Input) -> Result<Parsed> {
    let ctx = input.ctx;
    let name = ctx.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let Some(class) = hmdb_class(name) else {
        return Err(ctx.err(
            1,
            NO_COLUMN,
            format!(
                "the file name '{name}' is not CLASS_test_splitN.txt (HMDB-51's split lists), \
                 which gives the class"
            ),
        ));
    };
    let mut rows = Vec::new();
    for (i, text) in input.text.lines().enumerate() {
        let line = i + 1;
        let words: Vec<&str> = text.split_whitespace().collect();
        let (file, tag) = match words[..] {
            [] => continue,
            [file, tag] => (file, tag),
            [_] => {
                return Err(ctx.err(
                    line,
                    "tag",
                    "no split tag after the video (0 unused, 1 train, 2 test)",
                ))
            }
            _ => return Err(ctx.err(line, NO_COLUMN, "expected 'VIDEO.avi TAG', found more")),
        };
        let split = match tag {
            "0" => continue,
            "1" => "train",
            "2" => "test",
            other => {
                return Err(ctx.err(
                    line,
                    "tag",
                    format!("'{other}' is not a split tag (0 unused, 1 train, 2 test)"),
                ))
            }
        };
        let fields = BTreeMap::from([
            ("class".to_string(), class.to_string()),
            ("name".to_string(), file.to_string()),
        ]);
        rows.push(AnnotationRow {
            line,
            row_id: format!("line {line}"),
            video: ctx.video(line, input.pattern, &fields)?,
            segment: None,
            labels: vec![class.to_string()],
            split: Some(split.to_string()),
            extra: BTreeMap::new(),
        });
    }
    Ok(Parsed {
        rows,
        id_column: NO_COLUMN.to_string(),
        label_column: "class".to_string(),
        own_classes: None,
    })
}

/// Seconds from a JSON number or a time string.
fn json_seconds(ctx: Ctx, line: usize, key: &str, value: &Value) -> Result<TimeSpec> {
    let seconds = match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| TextError(format!("{n} is not a time (seconds, 0 or more)"))),
        Value::String(s) => parse_seconds(s),
        other => Err(TextError(format!(
            "{other} is not a time (seconds or HH:MM:SS.ff)"
        ))),
    };
    seconds
        .map(TimeSpec::Seconds)
        .map_err(|e| ctx.err(line, key, e))
}

/// A frame number from a JSON integer or a string of digits.
fn json_frame(ctx: Ctx, line: usize, key: &str, value: &Value) -> Result<TimeSpec> {
    let frame = match value {
        Value::Number(n) => n.as_u64().ok_or_else(|| {
            TextError(format!(
                "{n} is not a frame number (a whole number, 0 or more)"
            ))
        }),
        Value::String(s) => parse_frame(s),
        other => Err(TextError(format!("{other} is not a frame number"))),
    };
    frame
        .map(TimeSpec::Frame)
        .map_err(|e| ctx.err(line, key, e))
}

/// JSON Lines: one object a line, keys as `--columns` says or `video`, `start`/`end` or
/// `start_frame`/`end_frame`, `label` or `labels`, `split`, `id`; other keys are extra.
pub(super) fn jsonl(input: &Input) -> Result<Parsed> {
    let ctx = input.ctx;
    let key = |role: &str| {
        input
            .columns
            .get(role)
            .cloned()
            .unwrap_or_else(|| role.to_string())
    };
    let (video_key, split_key, id_key) = (key("video"), key("split"), key("id"));
    let times = (key("start"), key("end"));
    let frames = (key("start_frame"), key("end_frame"));
    let mut rows = Vec::new();
    let mut label_column = input.columns.get("label").cloned();
    for (i, text) in input.text.lines().enumerate() {
        let line = i + 1;
        if text.trim().is_empty() {
            continue;
        }
        let Value::Object(map) = parse_json(ctx, line, text)? else {
            return Err(ctx.err(line, NO_COLUMN, "not a JSON object"));
        };
        if text_key(ctx, line, &map, &video_key)?.is_none() {
            return Err(ctx.err(
                line,
                &video_key,
                format!("no '{video_key}' key (the video's path), or it is empty"),
            ));
        }
        let mut fields = fields_of(&map);
        for (role, k) in input.columns {
            if let Some(v) = map.get(k) {
                fields.entry(role.clone()).or_insert_with(|| value_text(v));
            }
        }
        let video = ctx.video(line, input.pattern, &fields)?;
        let has = |(a, b): &(String, String)| get(&map, a).is_some() || get(&map, b).is_some();
        let segment = if has(&times) && has(&frames) {
            return Err(ctx.err(
                line,
                &frames.0,
                format!(
                    "give '{}'/'{}' (seconds) or '{}'/'{}' (frames), not both",
                    times.0, times.1, frames.0, frames.1
                ),
            ));
        } else if has(&times) {
            Some(segment(ctx, line, &map, &times, json_seconds)?)
        } else if has(&frames) {
            Some(segment(ctx, line, &map, &frames, json_frame)?)
        } else {
            None
        };
        let label_key = match input.columns.get("label") {
            Some(k) => k.clone(),
            None if map.contains_key("label") || !map.contains_key("labels") => "label".to_string(),
            None => "labels".to_string(),
        };
        label_column.get_or_insert_with(|| label_key.clone());
        let labels = match get(&map, &label_key) {
            None => Vec::new(),
            Some(Value::String(s)) => Some(s.trim().to_string())
                .filter(|s| !s.is_empty())
                .into_iter()
                .collect(),
            Some(Value::Array(list)) => {
                let mut labels = Vec::with_capacity(list.len());
                for v in list {
                    let Value::String(s) = v else {
                        return Err(ctx.err(
                            line,
                            &label_key,
                            format!("{v} is not a class name (a string)"),
                        ));
                    };
                    labels.push(s.trim().to_string());
                }
                labels
            }
            Some(other) => {
                return Err(ctx.err(
                    line,
                    &label_key,
                    format!("{other} is not a class name or a list of them"),
                ))
            }
        };
        let mut extra = fields_of(&map);
        for k in [
            &video_key, &split_key, &id_key, &times.0, &times.1, &frames.0, &frames.1, &label_key,
        ] {
            extra.remove(k);
        }
        rows.push(AnnotationRow {
            line,
            row_id: text_key(ctx, line, &map, &id_key)?.unwrap_or_else(|| format!("line {line}")),
            video,
            segment,
            labels,
            split: text_key(ctx, line, &map, &split_key)?,
            extra,
        });
    }
    Ok(Parsed {
        rows,
        id_column: id_key,
        label_column: label_column.unwrap_or_else(|| "label".to_string()),
        own_classes: None,
    })
}

/// A segment from two keys, both present.
fn segment(
    ctx: Ctx,
    line: usize,
    map: &Map<String, Value>,
    (start, end): &(String, String),
    parse: fn(Ctx, usize, &str, &Value) -> Result<TimeSpec>,
) -> Result<Segment> {
    let value = |k: &String, other: &String| {
        get(map, k).ok_or_else(|| {
            ctx.err(
                line,
                k,
                format!("missing while '{other}' is set: give both ends of the segment"),
            )
        })
    };
    let s = parse(ctx, line, start, value(start, end)?)?;
    let e = parse(ctx, line, end, value(end, start)?)?;
    checked_segment(ctx, line, end, s, e)
}
