//! Reading annotation files into [`AnnotationRow`]s: the format (given or detected), one
//! parser per format, then the checks every format shares (duplicate row ids, the split to
//! keep, the class list and the labels' membership in it).
//!
//! The parsers live beside this file: `formats/tabular.rs` (the CSV formats: Kinetics, EPIC,
//! Charades, a generic CSV), `formats/lists.rs` (SSv2's JSON list, the UCF-101 and HMDB-51
//! split lists, JSON Lines), `formats/classes.rs` (class list files) and `formats/text.rs`
//! (the CSV reader, times, the file name pattern). Every malformed input is a
//! [`DatasetError::Annotation`] naming the file, the 1-based line and the column (or key); `-`
//! stands for the column where the fault is the whole line or the whole file.

mod classes;
mod lists;
mod tabular;
#[cfg(test)]
mod tests;
mod text;

use super::{AnnotationOptions, AnnotationRow, Annotations, Format, Segment, TimeSpec};
use crate::dataset::error::{DatasetError, Result};
use classes::{class_file_beside, read_class_file, ClassList};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use text::{Pattern, PatternError};

/// The column named when a fault is the whole line or the whole file.
const NO_COLUMN: &str = "-";

/// The roles `--columns` may name (for `csv` and `jsonl`; `label` also for `epic`).
const ROLES: &[&str] = &[
    "video",
    "label",
    "start",
    "end",
    "start_frame",
    "end_frame",
    "split",
    "id",
];

const FORMAT_LIST: &str = "kinetics, ssv2, ucf101, hmdb51, epic, charades, jsonl, or csv with \
                           the columns option: video=COLUMN,label=COLUMN";

/// The file errors name.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    path: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, line: usize, column: &str, reason: impl Into<String>) -> DatasetError {
        DatasetError::Annotation {
            path: self.path.to_path_buf(),
            line,
            column: column.to_string(),
            reason: reason.into(),
        }
    }

    /// The video path: the pattern filled with the row's fields.
    fn video(
        &self,
        line: usize,
        pattern: &Pattern,
        fields: &BTreeMap<String, String>,
    ) -> Result<String> {
        self.video_path(line, pattern, pattern.render(fields))
    }

    /// A rendered video path, or the pattern's error said of `line` (and of the field at
    /// fault); an empty path is an error.
    fn video_path(
        &self,
        line: usize,
        pattern: &Pattern,
        rendered: std::result::Result<String, PatternError>,
    ) -> Result<String> {
        let video = rendered
            .map_err(|e| self.err(line, e.field.as_deref().unwrap_or(NO_COLUMN), e.reason))?;
        if video.trim().is_empty() {
            return Err(self.err(
                line,
                NO_COLUMN,
                format!(
                    "the file name pattern '{}' gives an empty video path",
                    pattern.text
                ),
            ));
        }
        Ok(video)
    }
}

/// A segment [start, end), or an error on `end_column` where end is not after start.
fn checked_segment(
    ctx: Ctx,
    line: usize,
    end_column: &str,
    start: TimeSpec,
    end: TimeSpec,
) -> Result<Segment> {
    let after = match (start, end) {
        (TimeSpec::Seconds(a), TimeSpec::Seconds(b)) => b > a,
        (TimeSpec::Frame(a), TimeSpec::Frame(b)) => b > a,
        _ => true,
    };
    if !after {
        let show = |t: TimeSpec| match t {
            TimeSpec::Seconds(s) => format!("{s} s"),
            TimeSpec::Frame(f) => format!("frame {f}"),
        };
        return Err(ctx.err(
            line,
            end_column,
            format!("end {} is not after start {}", show(end), show(start)),
        ));
    }
    Ok(Segment { start, end })
}

/// What every parser gets.
struct Input<'a> {
    ctx: Ctx<'a>,
    text: &'a str,
    /// `--columns`, role → column, `labels` read as `label`.
    columns: &'a BTreeMap<String, String>,
    pattern: &'a Pattern,
    /// The class file the caller gave, if any.
    classes: Option<&'a ClassList>,
}

/// What a parser gives.
struct Parsed {
    rows: Vec<AnnotationRow>,
    /// Where the row id comes from, for duplicate-id errors.
    id_column: String,
    /// Where the labels come from, for unknown-class errors.
    label_column: String,
    /// The format's own class file found beside the annotations (none when the caller gave
    /// one).
    own_classes: Option<ClassList>,
}

/// Reads an annotation file: see the module documentation of [`super`].
pub fn read_annotations(path: &Path, opts: &AnnotationOptions) -> Result<Annotations> {
    let ctx = Ctx { path };
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    let text = decode_utf8(ctx, &bytes)?;
    if text.trim().is_empty() {
        return Err(ctx.err(
            1,
            NO_COLUMN,
            "the file is empty: no header and no annotation rows",
        ));
    }
    let format = choose_format(path, text, opts)?;
    let columns = check_columns(path, format, opts)?;
    let pattern_text = opts
        .filename_pattern
        .as_deref()
        .unwrap_or(default_pattern(format));
    let pattern =
        Pattern::parse(pattern_text).map_err(|e| DatasetError::param("filename_pattern", e))?;
    let explicit = match &opts.classes_file {
        Some(file) => Some(read_class_file(file, format)?),
        None => None,
    };
    let input = Input {
        ctx,
        text,
        columns: &columns,
        pattern: &pattern,
        classes: explicit.as_ref(),
    };
    let Parsed {
        rows,
        id_column,
        label_column,
        own_classes,
    } = match format {
        Format::Kinetics => tabular::kinetics(&input)?,
        Format::Epic => tabular::epic(&input)?,
        Format::Charades => tabular::charades(&input)?,
        Format::Csv => tabular::csv(&input)?,
        Format::Ssv2 => lists::ssv2(&input)?,
        Format::Ucf101 => lists::ucf101(&input)?,
        Format::Hmdb51 => lists::hmdb51(&input)?,
        Format::Jsonl => lists::jsonl(&input)?,
    };
    if rows.is_empty() {
        return Err(ctx.err(
            text.lines().count().max(1),
            NO_COLUMN,
            format!("no annotation rows in the file ({})", empty_hint(format)),
        ));
    }
    check_duplicates(ctx, &rows, &id_column)?;
    let class_list = explicit.or(own_classes);
    let classes = match &class_list {
        Some(list) => list.names.clone(),
        // Over every split, so that a class has the same index in each.
        // (Distinct labels first: a set of 650,000 labels sorted whole cost 0.1-0.2 s.)
        None => {
            let distinct: HashSet<&str> = rows
                .iter()
                .flat_map(|r| r.labels.iter().map(String::as_str))
                .collect();
            let mut names: Vec<String> = distinct.into_iter().map(str::to_string).collect();
            names.sort_unstable();
            names
        }
    };
    let rows = keep_split(path, rows, opts.split.as_deref())?;
    if let Some(list) = &class_list {
        let known: HashSet<&str> = list.names.iter().map(String::as_str).collect();
        for row in &rows {
            if let Some(label) = row.labels.iter().find(|l| !known.contains(l.as_str())) {
                return Err(ctx.err(
                    row.line,
                    &label_column,
                    format!(
                        "unknown class '{label}': it is not in the class list {} ({} classes)",
                        list.source.display(),
                        list.names.len()
                    ),
                ));
            }
        }
    }
    Ok(Annotations {
        source: path.to_path_buf(),
        format,
        rows,
        classes,
    })
}

/// The format from the file's name and first line(s): see the module documentation of
/// [`super`]. None where they do not say (a generic CSV needs `--columns`).
pub fn detect_format(path: &Path, head: &str) -> Option<Format> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let head = head.strip_prefix('\u{feff}').unwrap_or(head);
    if name.ends_with(".jsonl") {
        return Some(Format::Jsonl);
    }
    if lists::is_ucf_list_name(&name) {
        return Some(Format::Ucf101);
    }
    if lists::is_hmdb_list_name(&name) {
        return Some(Format::Hmdb51);
    }
    let first = head.lines().next().unwrap_or("");
    let header: Vec<String> = first
        .split(',')
        .map(|c| c.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    if tabular::is_kinetics_header(&header) {
        return Some(Format::Kinetics);
    }
    if header.starts_with(tabular::CHARADES_HEADER) {
        return Some(Format::Charades);
    }
    if header.contains(&"narration_id")
        && (header.contains(&"start_timestamp") || header.contains(&"stop_timestamp"))
    {
        return Some(Format::Epic);
    }
    if lists::looks_like_ssv2(&name, head) {
        return Some(Format::Ssv2);
    }
    None
}

/// Fills a video file name pattern: `{name}` is the field's value, `{name:06d}` the value as
/// an integer zero-padded to 6 digits (an integral float such as `10.0` is accepted),
/// `{{` and `}}` are literal braces. An unknown field is an error naming it and the fields
/// there are (as an invalid `pattern` parameter).
pub fn format_pattern(
    pattern: &str,
    fields: &BTreeMap<String, String>,
) -> std::result::Result<String, crate::error_parts::ParamError> {
    let refuse = |reason: String| crate::error_parts::ParamError::new("pattern", reason);
    Pattern::parse(pattern)
        .map_err(|e| refuse(e.0))?
        .render(fields)
        .map_err(|e| refuse(e.reason))
}

/// The text of a file: a UTF-8 BOM skipped; invalid UTF-8 is an error naming its line and
/// character column.
fn decode_utf8<'b>(ctx: Ctx, bytes: &'b [u8]) -> Result<&'b str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = std::str::from_utf8(&good[line_start..]).map_or(0, |s| s.chars().count()) + 1;
        ctx.err(
            line,
            &column.to_string(),
            format!(
                "not valid UTF-8 (byte 0x{:02x}); save the file as UTF-8",
                bytes[e.valid_up_to()]
            ),
        )
    })
}

fn choose_format(path: &Path, text: &str, opts: &AnnotationOptions) -> Result<Format> {
    if let Some(format) = opts.format {
        return Ok(format);
    }
    let mut end = text.len().min(64 * 1024);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    if let Some(format) = detect_format(path, head) {
        return Ok(format);
    }
    if !opts.columns.is_empty() {
        return Ok(if head.trim_start().starts_with('{') {
            Format::Jsonl
        } else {
            Format::Csv
        });
    }
    let first: String = head
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(120)
        .collect();
    Err(DatasetError::param(
        "format",
        format!(
            "{}: cannot tell the annotation format from the file name and the first line \
             ('{first}'); set the format option to one of: {FORMAT_LIST}",
            path.display()
        ),
    ))
}

/// `--columns`, checked against the format: role → column, `labels` read as `label`.
fn check_columns(
    path: &Path,
    format: Format,
    opts: &AnnotationOptions,
) -> Result<BTreeMap<String, String>> {
    let mut columns = BTreeMap::new();
    for (role, column) in &opts.columns {
        let role = role.trim();
        let role = if role == "labels" { "label" } else { role };
        if !ROLES.contains(&role) {
            return Err(DatasetError::param(
                "columns",
                format!("unknown role '{role}'; the roles are: {}", ROLES.join(", ")),
            ));
        }
        if column.trim().is_empty() {
            return Err(DatasetError::param(
                "columns",
                format!("{role}= names no column"),
            ));
        }
        if columns
            .insert(role.to_string(), column.trim().to_string())
            .is_some()
        {
            return Err(DatasetError::param(
                "columns",
                "label= and labels= are the same role; give one",
            ));
        }
    }
    let takes = match format {
        Format::Csv | Format::Jsonl => true,
        Format::Epic => columns.keys().all(|r| r == "label"),
        _ => columns.is_empty(),
    };
    if !takes {
        return Err(DatasetError::param(
            "columns",
            format!(
                "the columns option applies to the csv and jsonl formats (and label=COLUMN to epic), \
                 not to {}; set the format option to csv to read {} as a generic CSV",
                format.name(),
                path.display()
            ),
        ));
    }
    if format == Format::Csv {
        if columns.is_empty() {
            return Err(DatasetError::param(
                "columns",
                format!(
                    "{}: a generic CSV needs the columns option video=COLUMN,label=COLUMN (also \
                     start=, end= or start_frame=, end_frame=, split=, id=) to say which \
                     column holds what",
                    path.display()
                ),
            ));
        }
        if !columns.contains_key("video") {
            return Err(DatasetError::param(
                "columns",
                "a generic CSV needs video=COLUMN: the column of the video paths",
            ));
        }
    }
    let has = |r: &str| columns.contains_key(r);
    for (a, b) in [("start", "end"), ("start_frame", "end_frame")] {
        if has(a) != has(b) {
            return Err(DatasetError::param(
                "columns",
                format!("{a}= and {b}= go together: give both or neither"),
            ));
        }
    }
    if has("start") && has("start_frame") {
        return Err(DatasetError::param(
            "columns",
            "give start=/end= (times) or start_frame=/end_frame= (frames), not both",
        ));
    }
    Ok(columns)
}

fn default_pattern(format: Format) -> &'static str {
    match format {
        Format::Kinetics => "{youtube_id}_{time_start:06d}_{time_end:06d}.mp4",
        Format::Ssv2 => "{id}.webm",
        Format::Ucf101 => "{path}",
        Format::Hmdb51 => "{class}/{name}",
        Format::Epic => "{participant_id}/videos/{video_id}.MP4",
        Format::Charades => "{id}.mp4",
        Format::Csv | Format::Jsonl => "{video}",
    }
}

fn empty_hint(format: Format) -> &'static str {
    match format {
        Format::Kinetics | Format::Epic | Format::Csv => "a header only",
        Format::Charades => "a header only, or every video's actions column is empty",
        Format::Ssv2 => "an empty list",
        Format::Hmdb51 => "every line is tagged 0 (unused)",
        Format::Ucf101 | Format::Jsonl => "blank lines only",
    }
}

/// Two rows with one id: an error naming both lines.
fn check_duplicates(ctx: Ctx, rows: &[AnnotationRow], id_column: &str) -> Result<()> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    for row in rows {
        if let Some(&first) = seen.get(row.row_id.as_str()) {
            return Err(ctx.err(
                row.line,
                id_column,
                format!(
                    "duplicate row id '{}': line {first} has the same id",
                    row.row_id
                ),
            ));
        }
        seen.insert(&row.row_id, row.line);
    }
    Ok(())
}

/// The rows of `split` (all rows for None); none is an error naming the splits found.
fn keep_split(
    path: &Path,
    rows: Vec<AnnotationRow>,
    split: Option<&str>,
) -> Result<Vec<AnnotationRow>> {
    let Some(want) = split else {
        return Ok(rows);
    };
    let found: BTreeSet<String> = rows.iter().filter_map(|r| r.split.clone()).collect();
    let kept: Vec<AnnotationRow> = rows
        .into_iter()
        .filter(|r| r.split.as_deref() == Some(want))
        .collect();
    if kept.is_empty() {
        let reason = if found.is_empty() {
            format!(
                "{}: no rows of split '{want}': the file gives no split (leave out the split option)",
                path.display()
            )
        } else {
            format!(
                "{}: no rows of split '{want}'; the splits in the file: {}",
                path.display(),
                found.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        return Err(DatasetError::param("split", reason));
    }
    Ok(kept)
}
