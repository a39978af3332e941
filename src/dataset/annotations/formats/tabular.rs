//! The CSV formats: Kinetics, EPIC-Kitchens-100, Charades and a generic CSV whose columns
//! `--columns` names.

use super::text::{parse_frame, parse_seconds, split_from_name, CsvReader, Pattern, Record};
use super::{checked_segment, class_file_beside, Ctx, Input, Parsed, NO_COLUMN};
use crate::dataset::annotations::{AnnotationRow, Format, Segment, TimeSpec};
use crate::dataset::error::DatasetError;
use crate::dataset::error::Result;
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
    /// The columns the file name pattern names (one pattern per file).
    pattern_cols: std::sync::OnceLock<Vec<usize>>,
}

/// A CSV syntax error as an annotation error naming the line and the field.
fn csv_error(ctx: Ctx, e: super::text::CsvError) -> DatasetError {
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
        pattern_cols: Default::default(),
    })
}

/// Files below this size are read by one thread.
const ROWS_SIDE_BY_SIDE_FROM_BYTES: usize = 1 << 20;

impl<'a> Table<'a> {
    /// The rows that `make` turns the remaining records into (it pushes each record's rows),
    /// in the file's order, or the first error in the file's order: what one loop over
    /// a reader over the records gives. A large file is cut at record boundaries (found by one
    /// reader going through it, which costs a tenth of making the rows) into pieces made into
    /// rows side by side: a Kinetics-700 file's 650,000 rows took 1 s on one core.
    fn rows<T: Send>(
        &self,
        ctx: Ctx,
        make: impl Fn(&Record<'a>, &mut Vec<T>) -> Result<()> + Sync,
    ) -> Result<Vec<T>> {
        let (text, (start, _)) = (self.records.text(), self.records.position());
        let threads = rayon::current_num_threads();
        let pieces = if text.len() - start < ROWS_SIDE_BY_SIDE_FROM_BYTES || threads < 2 {
            1
        } else {
            4 * threads
        };
        self.rows_in_pieces(ctx, pieces, make)
    }

    /// [`Table::rows`] with the text cut into (at most) `pieces` pieces.
    fn rows_in_pieces<T: Send>(
        &self,
        ctx: Ctx,
        pieces: usize,
        make: impl Fn(&Record<'a>, &mut Vec<T>) -> Result<()> + Sync,
    ) -> Result<Vec<T>> {
        use rayon::prelude::*;
        let mut scan = self.records.clone();
        let text = scan.text();
        let (start, _) = scan.position();
        // Each piece: (first byte, its line, end byte).
        let mut cuts: Vec<(usize, usize)> = vec![scan.position()];
        for k in 1..pieces {
            let target = start + (text.len() - start) * k / pieces;
            while scan.position().0 < target {
                match scan.next() {
                    Some(Ok(_)) => {}
                    // A syntax error: the piece holding it reports it.
                    _ => break,
                }
            }
            if scan.position().0 >= text.len() || scan.position() == cuts[cuts.len() - 1] {
                break;
            }
            cuts.push(scan.position());
        }
        let ends: Vec<usize> = cuts
            .iter()
            .skip(1)
            .map(|c| c.0)
            .chain([text.len()])
            .collect();
        let made: Vec<Result<Vec<T>>> = cuts
            .par_iter()
            .zip(ends)
            .map(|(&(from, line), to)| {
                let mut out = Vec::new();
                for r in CsvReader::resume(&text[..to], from, line) {
                    make(&self.checked(ctx, r)?, &mut out)?;
                }
                Ok(out)
            })
            .collect();
        let mut rows =
            Vec::with_capacity(made.iter().map(|m| m.as_ref().map_or(0, Vec::len)).sum());
        let side_by_side = made.len() > 1;
        for piece in made {
            rows.extend(piece?);
        }
        if side_by_side {
            crate::memory::give_back_freed();
        }
        Ok(rows)
    }

    /// A record with as many fields as the header (empty trailing fields dropped), or an
    /// error naming the line and the field.
    fn checked(
        &self,
        ctx: Ctx,
        r: Result<Record<'a>, super::text::CsvError>,
    ) -> Result<Record<'a>> {
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
        Ok(row)
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
    let t = table(ctx, input.text)?;
    let youtube_id = t.column(ctx, "youtube_id")?;
    let start = t.column(ctx, "time_start")?;
    let end = t.column(ctx, "time_end")?;
    let label = t.find("label");
    let split = t.find("split");
    let trimmed = input.pattern.uses("time_start") || input.pattern.uses("time_end");
    // Records are read as rows are made (650,000 rows are not held twice).
    let rows = t.rows(ctx, |row, rows| {
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
            row_id: [id, cell(row, start), cell(row, end)].join("_"),
            video,
            segment: (!trimmed).then_some(segment),
            labels: optional(row, label).into_iter().collect(),
            split: optional(row, split),
            extra: t.extra(row, &used),
        });
        Ok(())
    })?;
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
    let t = table(ctx, input.text)?;
    let id = t.column(ctx, "narration_id")?;
    let start = t.column(ctx, "start_timestamp")?;
    let end = t.column(ctx, "stop_timestamp")?;
    // The test file has no verb or noun: its rows are unlabelled.
    let label = match input.columns.get("label") {
        Some(name) => Some(t.column(ctx, name)?),
        None => t.find("verb"),
    };
    let split = split_from_name(ctx.path);
    // Records are read as rows are made (650,000 rows are not held twice).
    let rows = t.rows(ctx, |row, rows| {
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
        Ok(())
    })?;
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
    let t = table(ctx, input.text)?;
    let id = t.column(ctx, "id")?;
    let acts = t.column(ctx, "actions")?;
    let own_classes = match input.classes {
        Some(_) => None,
        None => class_file_beside(ctx.path, "Charades_v1_classes.txt", Format::Charades)?,
    };
    let split = split_from_name(ctx.path);
    // Records are read as rows are made (650,000 rows are not held twice).
    let rows = t.rows(ctx, |row, rows| {
        let video_id = required(ctx, &t, row, id)?;
        let list = actions(ctx, row.line, t.name(acts), cell(row, acts))?;
        if list.is_empty() {
            return Ok(());
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
        Ok(())
    })?;
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
    let t = table(ctx, input.text)?;
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
    // Records are read as rows are made (650,000 rows are not held twice).
    let rows = t.rows(ctx, |row, rows| {
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
        Ok(())
    })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows made from pieces of the text equal the rows one reader makes: the same records,
    /// lines and first error, wherever the cuts fall (quoted line ends, doubled quotes, CRLF,
    /// blank lines, a last line without its end).
    #[test]
    fn rows_made_in_pieces_equal_one_readers() {
        let path = std::path::Path::new("/data/annotations.csv");
        let ctx = Ctx { path };
        let mut good = String::from("id,text,n\r\n");
        for k in 0..300 {
            match k % 5 {
                0 => good.push_str(&format!("r{k},\"two\nlines, {k}\",{k}\n")),
                1 => good.push_str(&format!("r{k},\"a \"\"quote\"\"\",{k}\r\n")),
                2 => good.push_str(&format!("r{k},plain,{k}\n\n")),
                3 => good.push_str(&format!("r{k},\"\",{k},\n")),
                _ => good.push_str(&format!("r{k},x\"y,{k}\n")),
            }
        }
        good.push_str("last,row,0");
        let make = |row: &Record<'_>, out: &mut Vec<(usize, Vec<String>)>| {
            out.push((row.line, row.fields.iter().map(|f| f.to_string()).collect()));
            Ok(())
        };
        let whole = table(ctx, &good)
            .unwrap()
            .rows_in_pieces(ctx, 1, make)
            .unwrap();
        assert_eq!(whole.len(), 301);
        assert_eq!(
            whole[1],
            (4, vec!["r1".into(), "a \"quote\"".into(), "1".into()])
        );
        for pieces in [2, 3, 7, 64, 1000] {
            let cut = table(ctx, &good)
                .unwrap()
                .rows_in_pieces(ctx, pieces, make)
                .unwrap();
            assert_eq!(cut, whole, "{pieces} pieces");
        }
        // The first error in the file's order, wherever it lies: a short line, then an
        // unclosed quote further on.
        let mut bad = good.replace("r122,plain,122\n", "r122,plain\n");
        bad.push_str("\nr999,\"never closed,1\nr1000,a,b\n");
        let first = |pieces| {
            table(ctx, &bad)
                .unwrap()
                .rows_in_pieces(ctx, pieces, make)
                .unwrap_err()
                .to_string()
        };
        let one = first(1);
        assert!(one.contains("missing: this line has 2 fields"), "{one}");
        for pieces in [2, 5, 64] {
            assert_eq!(first(pieces), one, "{pieces} pieces");
        }
        let unclosed = bad.replace("r122,plain\n", "r122,plain,122\n");
        let one = table(ctx, &unclosed)
            .unwrap()
            .rows_in_pieces(ctx, 1, make)
            .unwrap_err()
            .to_string();
        assert!(one.contains("never closed"), "{one}");
        for pieces in [2, 5, 64] {
            let cut = table(ctx, &unclosed)
                .unwrap()
                .rows_in_pieces(ctx, pieces, make)
                .unwrap_err()
                .to_string();
            assert_eq!(cut, one, "{pieces} pieces");
        }
    }
}
