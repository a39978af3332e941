//! The CSV formats: Kinetics, EPIC-Kitchens-100, Charades and a generic CSV whose columns
//! `--columns` names.

use super::text::{parse_frame, parse_seconds, split_from_name, CsvReader, Pattern, Record};
use super::{checked_segment, class_file_beside, Ctx, Input, Parsed, NO_COLUMN};
use crate::dataset::annotations::{AnnotationRow, Format, Segment, TimeSpec};
use crate::error::Result;
use std::collections::BTreeMap;

/// The columns a Charades CSV starts with.
pub(super) const CHARADES_HEADER: &[&str] = &[
    "id",
    "subject",
    "scene",
    "quality",
    "relevance",
    "verified",
    "script",
    "objects",
    "descriptions",
    "actions",
    "length",
];

const KINETICS_HEADER: &[&str] = &["label", "youtube_id", "time_start", "time_end", "split"];

/// `label,youtube_id,time_start,time_end,split[,is_cc]`, or the unlabelled test files'
/// `youtube_id,time_start,time_end,split`.
pub(super) fn is_kinetics_header(header: &[&str]) -> bool {
    header == KINETICS_HEADER
        || (header.len() == 6 && header[..5] == *KINETICS_HEADER && header[5] == "is_cc")
        || header == &KINETICS_HEADER[1..]
}

/// A CSV file: its header and rows, every row as long as the header.
struct Table<'a> {
    header_line: usize,
    header: Vec<String>,
    /// The records after the header, read as the rows are made.
    records: CsvReader<'a>,
    /// About how many rows follow (for capacity).
    rows_hint: usize,
    /// The columns the file name pattern names (one pattern per file).
    pattern_cols: std::sync::OnceLock<Vec<usize>>,
}

/// A CSV syntax error as an annotation error naming the line and the field.
fn csv_error(ctx: Ctx, e: super::text::CsvError) -> crate::error::VdxError {
    ctx.err(
        e.line,
        &e.field.to_string(),
        format!("not valid CSV: {}", e.reason),
    )
}

fn table<'a>(ctx: Ctx, text: &'a str) -> Result<Table<'a>> {
    let mut records = CsvReader::new(text);
    let head = match records.next() {
        None => return Err(ctx.err(1, NO_COLUMN, "the file is empty: no header")),
        Some(r) => r.map_err(|e| csv_error(ctx, e))?,
    };
    let header: Vec<String> = head.fields.iter().map(|h| h.trim().to_string()).collect();
    for (i, name) in header.iter().enumerate() {
        if !name.is_empty() && header[..i].contains(name) {
            return Err(ctx.err(
                head.line,
                name,
                format!("the header names column '{name}' twice"),
            ));
        }
    }
    Ok(Table {
        header_line: head.line,
        header,
        records,
        rows_hint: memchr::memchr_iter(b'\n', text.as_bytes()).count(),
        pattern_cols: Default::default(),
    })
}

impl<'a> Table<'a> {
    /// The next record, with as many fields as the header (empty trailing fields dropped),
    /// or an error naming the line and the field.
    fn next_row(&mut self, ctx: Ctx) -> Result<Option<Record<'a>>> {
        let Some(r) = self.records.next() else {
            return Ok(None);
        };
        let mut row = r.map_err(|e| csv_error(ctx, e))?;
        let header = &self.header;
        let n = row.fields.len();
        if n > header.len() {
            if row.fields[header.len()..]
                .iter()
                .all(|f| f.trim().is_empty())
            {
                row.fields.truncate(header.len());
            } else {
                return Err(ctx.err(
                    row.line,
                    &(header.len() + 1).to_string(),
                    format!(
                        "this line has {n} fields, the header only {} (a label with a comma \
                         must be in double quotes)",
                        header.len()
                    ),
                ));
            }
        } else if n < header.len() {
            return Err(ctx.err(
                row.line,
                &header[n],
                format!(
                    "missing: this line has {n} fields, the header {}",
                    header.len()
                ),
            ));
        }
        Ok(Some(row))
    }
}

impl Table<'_> {
    /// The column named `name` (exactly, else ignoring case).
    fn find(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name).or_else(|| {
            self.header
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
        })
    }

    /// The column named `name`, or an error on the header line naming it.
    fn column(&self, ctx: Ctx, name: &str) -> Result<usize> {
        self.find(name).ok_or_else(|| {
            ctx.err(
                self.header_line,
                name,
                format!(
                    "the header has no column '{name}' (the columns: {})",
                    self.header.join(", ")
                ),
            )
        })
    }

    fn name(&self, i: usize) -> &str {
        &self.header[i]
    }

    /// The row's columns by name (unnamed columns left out), values trimmed.
    fn fields(&self, row: &Record<'_>) -> BTreeMap<String, String> {
        self.header
            .iter()
            .zip(&row.fields)
            .filter(|(h, _)| !h.is_empty())
            .map(|(h, v)| (h.clone(), v.trim().to_string()))
            .collect()
    }

    /// The row's columns that `pattern` names (all a file name needs, without copying the
    /// other columns of every row: a Kinetics-700 file has 650,000 rows). The columns are
    /// looked up once per file, not per row.
    /// The row's video file name from `pattern`, its fields read from the row's cells in
    /// place (a 650,000-row file builds no map per row).
    fn video(&self, ctx: Ctx, row: &Record<'_>, pattern: &Pattern) -> Result<String> {
        let cols = self.pattern_cols.get_or_init(|| {
            self.header
                .iter()
                .enumerate()
                .filter(|(_, h)| !h.is_empty() && pattern.uses(h))
                .map(|(i, _)| i)
                .collect()
        });
        let get = |name: &str| {
            cols.iter()
                .find(|&&i| self.header[i] == name)
                .and_then(|&i| row.fields.get(i))
                .map(|v| v.trim())
        };
        let names = || {
            cols.iter()
                .filter(|&&i| i < row.fields.len())
                .map(|&i| self.header[i].as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        };
        ctx.video_path(row.line, pattern, pattern.render_with(get, names))
    }

    /// The row's columns except `used`.
    fn extra(&self, row: &Record<'_>, used: &[Option<usize>]) -> BTreeMap<String, String> {
        self.header
            .iter()
            .zip(&row.fields)
            .enumerate()
            .filter(|(i, (h, _))| !h.is_empty() && !used.contains(&Some(*i)))
            .map(|(_, (h, v))| (h.clone(), v.trim().to_string()))
            .collect()
    }
}

fn cell<'r>(row: &'r Record<'_>, i: usize) -> &'r str {
    row.fields[i].trim()
}

/// A non-empty cell, or an error naming its column.
fn required<'r>(ctx: Ctx, table: &Table, row: &'r Record<'_>, i: usize) -> Result<&'r str> {
    let value = cell(row, i);
    if value.is_empty() {
        return Err(ctx.err(row.line, table.name(i), "empty"));
    }
    Ok(value)
}

fn seconds(ctx: Ctx, table: &Table, row: &Record<'_>, i: usize) -> Result<TimeSpec> {
    parse_seconds(cell(row, i))
        .map(TimeSpec::Seconds)
        .map_err(|e| ctx.err(row.line, table.name(i), e))
}

fn frame(ctx: Ctx, table: &Table, row: &Record<'_>, i: usize) -> Result<TimeSpec> {
    parse_frame(cell(row, i))
        .map(TimeSpec::Frame)
        .map_err(|e| ctx.err(row.line, table.name(i), e))
}

fn optional(row: &Record<'_>, i: Option<usize>) -> Option<String> {
    i.map(|i| cell(row, i))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Kinetics: `label,youtube_id,time_start,time_end,split[,is_cc]`. A pattern that uses the
/// times names trimmed clips (no segment); otherwise the segment is [time_start, time_end).
pub(super) fn kinetics(input: &Input) -> Result<Parsed> {
    let ctx = input.ctx;
    let mut t = table(ctx, input.text)?;
    let youtube_id = t.column(ctx, "youtube_id")?;
    let start = t.column(ctx, "time_start")?;
    let end = t.column(ctx, "time_end")?;
    let label = t.find("label");
    let split = t.find("split");
    let trimmed = input.pattern.uses("time_start") || input.pattern.uses("time_end");
    let mut rows = Vec::with_capacity(t.rows_hint);
    // Records are read as rows are made (650,000 rows are not held twice).
    while let Some(row) = t.next_row(ctx)? {
        let row = &row;
        let id = required(ctx, &t, row, youtube_id)?;
        let segment = checked_segment(
            ctx,
            row.line,
            t.name(end),
            seconds(ctx, &t, row, start)?,
            seconds(ctx, &t, row, end)?,
        )?;
        let video = t.video(ctx, row, input.pattern)?;
        // The id and times are in the row id (`{youtube_id}_{time_start}_{time_end}`) and, for
        // untrimmed videos, the segment: not repeated as extra columns of every row (a map of
        // three more columns is most of a row's memory in a 650,000-row file).
        let used = [label, split, Some(youtube_id), Some(start), Some(end)];
        rows.push(AnnotationRow {
            line: row.line,
            row_id: format!("{id}_{}_{}", cell(row, start), cell(row, end)),
            video,
            segment: (!trimmed).then_some(segment),
            labels: optional(row, label).into_iter().collect(),
            split: optional(row, split),
            extra: t.extra(row, &used),
        });
    }
    Ok(Parsed {
        rows,
        id_column: t.name(youtube_id).to_string(),
        label_column: label.map_or("label", |i| t.name(i)).to_string(),
        own_classes: None,
    })
}

/// EPIC-Kitchens-100: one row per narration, [start_timestamp, stop_timestamp); the label is
/// `verb` (or the column the columns option names as `label=`); the split comes from the file
/// name.
pub(super) fn epic(input: &Input) -> Result<Parsed> {
    let ctx = input.ctx;
    let mut t = table(ctx, input.text)?;
    let id = t.column(ctx, "narration_id")?;
    let start = t.column(ctx, "start_timestamp")?;
    let end = t.column(ctx, "stop_timestamp")?;
    // The test file has no verb or noun: its rows are unlabelled.
    let label = match input.columns.get("label") {
        Some(name) => Some(t.column(ctx, name)?),
        None => t.find("verb"),
    };
    let split = split_from_name(ctx.path);
    let mut rows = Vec::with_capacity(t.rows_hint);
    // Records are read as rows are made (650,000 rows are not held twice).
    while let Some(row) = t.next_row(ctx)? {
        let row = &row;
        let row_id = required(ctx, &t, row, id)?;
        let segment = checked_segment(
            ctx,
            row.line,
            t.name(end),
            seconds(ctx, &t, row, start)?,
            seconds(ctx, &t, row, end)?,
        )?;
        rows.push(AnnotationRow {
            line: row.line,
            row_id: row_id.to_string(),
            video: t.video(ctx, row, input.pattern)?,
            segment: Some(segment),
            labels: optional(row, label).into_iter().collect(),
            split: split.clone(),
            extra: t.extra(row, &[Some(id), Some(start), Some(end), label]),
        });
    }
    Ok(Parsed {
        rows,
        id_column: t.name(id).to_string(),
        label_column: label.map_or("verb", |i| t.name(i)).to_string(),
        own_classes: None,
    })
}

/// One Charades action: `c092 11.90 21.20`.
struct Action {
    class: String,
    start: f64,
    end: f64,
}

fn actions(ctx: Ctx, line: usize, column: &str, text: &str) -> Result<Vec<Action>> {
    let mut out = Vec::new();
    for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let parts: Vec<&str> = item.split_whitespace().collect();
        let [class, start, end] = parts[..] else {
            return Err(ctx.err(
                line,
                column,
                format!("action '{item}' is not 'CLASS START END' (such as 'c092 11.90 21.20')"),
            ));
        };
        let time = |s: &str| {
            parse_seconds(s).map_err(|e| ctx.err(line, column, format!("action '{item}': {e}")))
        };
        let (start, end) = (time(start)?, time(end)?);
        if end <= start {
            return Err(ctx.err(
                line,
                column,
                format!("action '{item}': end {end} s is not after start {start} s"),
            ));
        }
        out.push(Action {
            class: class.to_string(),
            start,
            end,
        });
    }
    Ok(out)
}

/// Charades: one row per action of `actions`; its labels are its class, then the classes of
/// the video's other actions that overlap it (in the list's order, once each).
pub(super) fn charades(input: &Input) -> Result<Parsed> {
    let ctx = input.ctx;
    let mut t = table(ctx, input.text)?;
    let id = t.column(ctx, "id")?;
    let acts = t.column(ctx, "actions")?;
    let own_classes = match input.classes {
        Some(_) => None,
        None => class_file_beside(ctx.path, "Charades_v1_classes.txt", Format::Charades)?,
    };
    let split = split_from_name(ctx.path);
    let mut rows = Vec::new();
    // Records are read as rows are made (650,000 rows are not held twice).
    while let Some(row) = t.next_row(ctx)? {
        let row = &row;
        let video_id = required(ctx, &t, row, id)?;
        let list = actions(ctx, row.line, t.name(acts), cell(row, acts))?;
        if list.is_empty() {
            continue;
        }
        let video = t.video(ctx, row, input.pattern)?;
        let extra = t.extra(row, &[Some(acts)]);
        for (k, action) in list.iter().enumerate() {
            let mut labels = vec![action.class.clone()];
            for (j, other) in list.iter().enumerate() {
                let overlaps = action.start < other.end && other.start < action.end;
                if j != k && overlaps && !labels.contains(&other.class) {
                    labels.push(other.class.clone());
                }
            }
            rows.push(AnnotationRow {
                line: row.line,
                row_id: format!("{video_id}#{k}"),
                video: video.clone(),
                segment: Some(Segment {
                    start: TimeSpec::Seconds(action.start),
                    end: TimeSpec::Seconds(action.end),
                }),
                labels,
                split: split.clone(),
                extra: extra.clone(),
            });
        }
    }
    Ok(Parsed {
        rows,
        id_column: t.name(id).to_string(),
        label_column: t.name(acts).to_string(),
        own_classes,
    })
}

/// A generic CSV: `--columns` says which column holds the video, the label(s) (`;` or `|`
/// between several), the segment (times or frames), the split and the id.
pub(super) fn csv(input: &Input) -> Result<Parsed> {
    let ctx = input.ctx;
    let mut t = table(ctx, input.text)?;
    let role = |r: &str| -> Result<Option<usize>> {
        let Some(name) = input.columns.get(r) else {
            return Ok(None);
        };
        t.find(name).map(Some).ok_or_else(|| {
            ctx.err(
                t.header_line,
                name,
                format!(
                    "columns {r}={name}: the header has no column '{name}' (the columns: {})",
                    t.header.join(", ")
                ),
            )
        })
    };
    let video = role("video")?.expect("check_columns requires video=");
    let label = role("label")?;
    let split = role("split")?;
    let id = role("id")?;
    let (times, frames) = (
        role("start")?.zip(role("end")?),
        role("start_frame")?.zip(role("end_frame")?),
    );
    let mut used = vec![Some(video), label, split, id];
    for (a, b) in times.iter().chain(frames.iter()) {
        used.extend([Some(*a), Some(*b)]);
    }
    let mut rows = Vec::with_capacity(t.rows_hint);
    // Records are read as rows are made (650,000 rows are not held twice).
    while let Some(row) = t.next_row(ctx)? {
        let row = &row;
        required(ctx, &t, row, video)?;
        let mut fields = t.fields(row);
        for (r, name) in input.columns {
            if let Some(i) = t.find(name) {
                let value = cell(row, i).to_string();
                fields.entry(r.clone()).or_insert(value);
            }
        }
        let segment = match (times, frames) {
            (Some((a, b)), _) => segment(ctx, &t, row, a, b, seconds)?,
            (_, Some((a, b))) => segment(ctx, &t, row, a, b, frame)?,
            _ => None,
        };
        rows.push(AnnotationRow {
            line: row.line,
            row_id: optional(row, id).unwrap_or_else(|| format!("line {}", row.line)),
            video: ctx.video(row.line, input.pattern, &fields)?,
            segment,
            labels: label
                .map(|i| {
                    cell(row, i)
                        .split([';', '|'])
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            split: optional(row, split),
            extra: t.extra(row, &used),
        });
    }
    Ok(Parsed {
        rows,
        id_column: id.map_or(NO_COLUMN, |i| t.name(i)).to_string(),
        label_column: label.map_or(NO_COLUMN, |i| t.name(i)).to_string(),
        own_classes: None,
    })
}

/// A segment from two columns: both empty is the whole video, one empty an error.
fn segment(
    ctx: Ctx,
    t: &Table,
    row: &Record<'_>,
    start: usize,
    end: usize,
    parse: fn(Ctx, &Table, &Record<'_>, usize) -> Result<TimeSpec>,
) -> Result<Option<Segment>> {
    match (cell(row, start).is_empty(), cell(row, end).is_empty()) {
        (true, true) => Ok(None),
        (true, false) | (false, true) => {
            let (empty, set) = if cell(row, start).is_empty() {
                (start, end)
            } else {
                (end, start)
            };
            Err(ctx.err(
                row.line,
                t.name(empty),
                format!(
                    "empty while '{}' is set: give both ends of the segment, or neither for \
                     the whole video",
                    t.name(set)
                ),
            ))
        }
        (false, false) => checked_segment(
            ctx,
            row.line,
            t.name(end),
            parse(ctx, t, row, start)?,
            parse(ctx, t, row, end)?,
        )
        .map(Some),
    }
}
