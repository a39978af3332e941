//! Text helpers shared by the annotation parsers: an RFC 4180 CSV reader, times, the video
//! file name pattern and the split a file name implies.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

/// One CSV record: its fields and the 1-based line it starts on.
#[derive(Debug)]
pub(super) struct Record<'a> {
    pub line: usize,
    /// Fields borrowed from the text where they can be (unquoted, or quoted without a
    /// doubled quote): a 650,000-row file is read without a string per field.
    pub fields: Vec<Cow<'a, str>>,
}

/// A CSV syntax error: where, and why.
#[derive(Debug)]
pub(super) struct CsvError {
    pub line: usize,
    /// The 1-based field number.
    pub field: usize,
    pub reason: String,
}

/// Reads CSV text (RFC 4180: fields in double quotes may hold commas, newlines and doubled
/// quotes; CRLF or LF line ends). Blank lines are skipped; a quote inside an unquoted field
/// is kept as a character.
#[cfg(test)]
pub(super) fn read_csv(text: &str) -> Result<Vec<Record<'_>>, CsvError> {
    CsvReader::new(text).collect()
}

/// [`read_csv`] one record at a time, so a 650,000-row file is never held as records. Works
/// on bytes: every character with a meaning in CSV is ASCII, so fields cut at them are valid
/// UTF-8 slices of the text.
#[derive(Clone)]
pub(super) struct CsvReader<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    done: bool,
    /// Fields of the last record: the next one's vector is made this large at once.
    width: usize,
}

impl<'a> CsvReader<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        CsvReader {
            text,
            pos: 0,
            line: 1,
            done: false,
            width: 4,
        }
    }

    /// The whole text read.
    pub(super) fn text(&self) -> &'a str {
        self.text
    }

    /// Where the next record starts: (byte offset, its line).
    pub(super) fn position(&self) -> (usize, usize) {
        (self.pos, self.line)
    }

    /// The records of `text` from byte `pos`, where a record starts on line `line` (a
    /// [`CsvReader::position`] of a reader over a text that `text` begins): the same records,
    /// lines and errors as that reader gives from there on, up to the end of `text`.
    pub(super) fn resume(text: &'a str, pos: usize, line: usize) -> Self {
        CsvReader {
            pos,
            line,
            ..CsvReader::new(text)
        }
    }

    /// A quoted field whose opening quote is at `self.pos - 1`: its content (borrowed where
    /// no quote is doubled), with `pos` after the closing quote. None: never closed.
    fn quoted(&mut self) -> Option<Cow<'a, str>> {
        let b = self.text.as_bytes();
        let mut owned: Option<String> = None;
        let mut from = self.pos;
        loop {
            let q = from + memchr::memchr(b'"', &b[from..])?;
            self.line += memchr::memchr_iter(b'\n', &b[from..q]).count();
            if b.get(q + 1) == Some(&b'"') {
                // A doubled quote: one quote in the content.
                owned
                    .get_or_insert_with(String::new)
                    .push_str(&self.text[from..=q]);
                from = q + 2;
                continue;
            }
            let field = match owned {
                Some(mut o) => {
                    o.push_str(&self.text[from..q]);
                    Cow::Owned(o)
                }
                None => Cow::Borrowed(&self.text[self.pos..q]),
            };
            self.pos = q + 1;
            return Some(field);
        }
    }
}

impl<'a> Iterator for CsvReader<'a> {
    type Item = Result<Record<'a>, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let b = self.text.as_bytes();
        let mut fields: Vec<Cow<'a, str>> = Vec::with_capacity(self.width);
        let mut record_line = self.line;
        loop {
            // At the start of a field.
            if self.pos >= b.len() {
                // End of text: a last record without a line end.
                self.done = true;
                return None;
            }
            let (field, closed) = if b[self.pos] == b'"' {
                let quote_line = self.line;
                self.pos += 1;
                match self.quoted() {
                    Some(f) => (f, true),
                    None => {
                        self.done = true;
                        return Some(Err(CsvError {
                            line: quote_line,
                            field: fields.len() + 1,
                            reason: "a quoted field opened here is never closed (a missing '\"')"
                                .to_string(),
                        }));
                    }
                }
            } else {
                let start = self.pos;
                let end = memchr::memchr2(b',', b'\n', &b[start..]).map_or(b.len(), |k| start + k);
                self.pos = end;
                // CRLF: the CR belongs to the line end (a lone CR stays in the field).
                let cut = if end > start && b[end - 1] == b'\r' && b.get(end) == Some(&b'\n') {
                    end - 1
                } else {
                    end
                };
                (Cow::Borrowed(&self.text[start..cut]), false)
            };
            if closed {
                // After a closing quote: blanks, then the field's end.
                while let Some(&c) = b.get(self.pos) {
                    match c {
                        b' ' | b'\t' => self.pos += 1,
                        b'\r' if b.get(self.pos + 1) == Some(&b'\n') => self.pos += 1,
                        b',' | b'\n' => break,
                        _ => {
                            self.done = true;
                            let ch = self.text[self.pos..].chars().next().unwrap_or('?');
                            return Some(Err(CsvError {
                                line: self.line,
                                field: fields.len() + 1,
                                reason: format!(
                                    "text ('{ch}') after the closing quote of a quoted field; a \
                                     quote inside a quoted field is written twice (\"\")"
                                ),
                            }));
                        }
                    }
                }
            }
            fields.push(field);
            match b.get(self.pos) {
                Some(b',') => {
                    self.pos += 1;
                    if self.pos >= b.len() {
                        // A trailing comma at the very end: one more, empty field.
                        fields.push(Cow::Borrowed(""));
                        self.done = true;
                        return Some(Ok(Record {
                            line: record_line,
                            fields,
                        }));
                    }
                }
                Some(_) => {
                    // The line end.
                    self.pos += 1;
                    self.line += 1;
                    let blank = fields.len() == 1 && fields[0].trim().is_empty() && !closed;
                    if !blank {
                        self.width = fields.len();
                        return Some(Ok(Record {
                            line: record_line,
                            fields,
                        }));
                    }
                    fields.clear();
                    record_line = self.line;
                }
                None => {
                    self.done = true;
                    let blank = fields.len() == 1 && fields[0].trim().is_empty() && !closed;
                    if blank {
                        return None;
                    }
                    return Some(Ok(Record {
                        line: record_line,
                        fields,
                    }));
                }
            }
        }
    }
}

/// Why a time, a frame number or a file name pattern in an annotation file cannot be read;
/// the caller adds the file, line and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TextError(pub String);

impl From<String> for TextError {
    fn from(m: String) -> Self {
        TextError(m)
    }
}

impl From<TextError> for String {
    fn from(e: TextError) -> Self {
        e.0
    }
}

impl From<&str> for TextError {
    fn from(m: &str) -> Self {
        TextError(m.to_string())
    }
}

const TIME_SYNTAX: &str = "seconds (12.5) or a timestamp (HH:MM:SS, HH:MM:SS.ff, MM:SS.ff)";

/// Seconds from "12.5", "12", "HH:MM:SS", "HH:MM:SS.ff", "MM:SS" or "MM:SS.ff". The value
/// is the decimal written, rounded once (00:01:02.35 is exactly as near 62.35 as "62.35").
pub(super) fn parse_seconds(text: &str) -> Result<f64, TextError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("the time is empty; expected {TIME_SYNTAX}").into());
    }
    let bad = || format!("'{s}' is not a time; expected {TIME_SYNTAX}");
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 3 {
        return Err(bad().into());
    }
    let (last, whole) = parts.split_last().ok_or_else(bad)?;
    let (int_part, frac) = last.split_once('.').unwrap_or((last, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac.is_empty()) || !digits(int_part) || !digits(frac) {
        return Err(bad().into());
    }
    let int_secs: u64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| bad())?
    };
    let mut units = Vec::with_capacity(whole.len());
    for part in whole {
        if part.is_empty() || !digits(part) {
            return Err(bad().into());
        }
        units.push(part.parse::<u64>().map_err(|_| bad())?);
    }
    if !units.is_empty() && int_secs >= 60 {
        return Err(format!("'{s}': the seconds ({last}) must be below 60").into());
    }
    if units.len() == 2 && units[1] >= 60 {
        return Err(format!("'{s}': the minutes ({}) must be below 60", units[1]).into());
    }
    // [HH, MM] or [MM] as whole minutes, then whole seconds.
    let minutes = units
        .iter()
        .try_fold(0u64, |acc, &u| acc.checked_mul(60)?.checked_add(u))
        .ok_or_else(bad)?;
    let total = minutes
        .checked_mul(60)
        .and_then(|m| m.checked_add(int_secs))
        .ok_or_else(bad)?;
    // Plain seconds ("12", "12.5"): the text is the decimal itself, parsed as written.
    let value: f64 = if units.is_empty() {
        s.strip_suffix('.')
            .unwrap_or(s)
            .parse()
            .map_err(|_| bad())?
    } else {
        let frac = if frac.is_empty() { "0" } else { frac };
        format!("{total}.{frac}").parse().map_err(|_| bad())?
    };
    if !value.is_finite() {
        return Err(bad().into());
    }
    Ok(value)
}

/// A frame number (0-based, end exclusive where it ends a segment).
pub(super) fn parse_frame(text: &str) -> Result<u64, TextError> {
    let s = text.trim();
    if s.is_empty() {
        return Err("the frame number is empty".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{s}' is not a frame number (a whole number, 0 or more)").into());
    }
    s.parse()
        .map_err(|_| format!("'{s}' is too large for a frame number").into())
}

/// One piece of a video file name pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    /// `{name}` or `{name:06d}`: `int` formats the value as an integer, padded to `width`
    /// with zeros (`zero`) or spaces.
    Field {
        name: String,
        int: bool,
        zero: bool,
        width: usize,
    },
}

/// A parsed video file name pattern: `{youtube_id}_{time_start:06d}_{time_end:06d}.mp4`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pattern {
    pub text: String,
    pieces: Vec<Piece>,
}

/// Why a pattern could not be filled: the field at fault, if one is.
#[derive(Debug)]
pub(super) struct PatternError {
    pub field: Option<String>,
    pub reason: String,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, TextError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(format!(
                        "pattern '{text}': a lone '}}' (write '}}}}' for a literal brace)"
                    )
                    .into())
                }
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => {
                                return Err(format!(
                                    "pattern '{text}': a '{{' is not closed by '}}' (write \
                                     '{{{{' for a literal brace)"
                                )
                                .into())
                            }
                            Some(ch) => inner.push(ch),
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(parse_field(text, &inner)?);
                }
                _ => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Pattern {
            text: text.to_string(),
            pieces,
        })
    }

    /// Whether the pattern uses the field `name`.
    pub fn uses(&self, name: &str) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Field { name: n, .. } if n == name))
    }

    /// The pattern with the fields' values in place.
    pub fn render(&self, fields: &BTreeMap<String, String>) -> Result<String, PatternError> {
        self.render_with(
            |k| fields.get(k).map(String::as_str),
            || {
                fields
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        )
    }

    /// [`Pattern::render`] with the fields looked up by `get` (no map built per row);
    /// `names` lists them for an error.
    pub fn render_with<'v>(
        &self,
        get: impl Fn(&str) -> Option<&'v str>,
        names: impl Fn() -> String,
    ) -> Result<String, PatternError> {
        let mut out = String::with_capacity(self.text.len() + 16);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Field {
                    name,
                    int,
                    zero,
                    width,
                } => {
                    let Some(value) = get(name) else {
                        return Err(PatternError {
                            field: Some(name.clone()),
                            reason: format!(
                                "unknown field '{name}' in the file name pattern '{}'; the \
                                 fields are: {}",
                                self.text,
                                names()
                            ),
                        });
                    };
                    if !*int {
                        out.push_str(value);
                        continue;
                    }
                    let n = integer(value).ok_or_else(|| PatternError {
                        field: Some(name.clone()),
                        reason: format!(
                            "'{value}' is not a whole number, which the file name pattern \
                             '{}' needs for {{{name}:...d}}",
                            self.text
                        ),
                    })?;
                    push_padded(&mut out, n, *width, *zero);
                }
            }
        }
        Ok(out)
    }
}

/// `n` as `format!("{n:0width$}")` (or `{n:width$}` without `zero`) writes it, without the
/// formatting machinery: a Kinetics-sized file renders 1.3 million of these.
fn push_padded(out: &mut String, n: i64, width: usize, zero: bool) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = digits.len() - at + usize::from(n < 0);
    let pad = width.saturating_sub(len);
    if zero {
        if n < 0 {
            out.push('-');
        }
        out.extend(std::iter::repeat_n('0', pad));
    } else {
        out.extend(std::iter::repeat_n(' ', pad));
        if n < 0 {
            out.push('-');
        }
    }
    // The digits are ASCII.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// `name`, `name:d`, `name:6d` or `name:06d`.
fn parse_field(pattern: &str, inner: &str) -> Result<Piece, TextError> {
    let (name, spec) = match inner.split_once(':') {
        Some((n, s)) => (n.trim(), Some(s.trim())),
        None => (inner.trim(), None),
    };
    if name.is_empty() {
        return Err(format!(
            "pattern '{pattern}': '{{{inner}}}' names no field (write '{{{{' for a literal brace)"
        )
        .into());
    }
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return Ok(Piece::Field {
            name: name.to_string(),
            int: false,
            zero: false,
            width: 0,
        });
    };
    let bad = || {
        format!(
            "pattern '{pattern}': unsupported format '{spec}' for field '{name}'; use \
             {{{name}}} or a padded integer such as {{{name}:06d}}"
        )
    };
    let digits = spec.strip_suffix('d').ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad().into());
    }
    let zero = digits.starts_with('0');
    let width = if digits.is_empty() {
        0
    } else {
        digits.parse::<usize>().map_err(|_| bad())?
    };
    if width > 64 {
        return Err(bad().into());
    }
    Ok(Piece::Field {
        name: name.to_string(),
        int: true,
        zero,
        width,
    })
}

/// An integer from "10", "-3" or an integral float such as "10.0" (as Kinetics CSVs write
/// times).
fn integer(value: &str) -> Option<i64> {
    let v = value.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Some(n);
    }
    let f: f64 = v.parse().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// The split a file name implies: `train`, `val` or `test` (`EPIC_100_validation.csv`,
/// `something-something-v2-train.json`, `Charades_v1_test.csv`).
pub(super) fn split_from_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
    let words: Vec<&str> = stem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |names: &[&str]| words.iter().any(|w| names.contains(w));
    let split = if has(&["train", "training", "trainlist"]) {
        "train"
    } else if has(&["validation", "val", "valid"]) {
        "val"
    } else if has(&["test", "testing", "testlist"]) {
        "test"
    } else if stem.contains("train") {
        "train"
    } else if stem.contains("validation") {
        "val"
    } else if stem.contains("test") {
        "test"
    } else {
        return None;
    };
    Some(split.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn padded_integers_equal_formats_own() {
        for n in [
            0i64,
            7,
            -7,
            42,
            -42,
            123_456,
            -123_456,
            i64::MAX,
            i64::MIN,
            1_000_000,
        ] {
            for width in [0usize, 1, 3, 6, 8, 25] {
                let mut zero = String::from("x");
                super::push_padded(&mut zero, n, width, true);
                assert_eq!(zero, format!("x{n:0width$}"), "{n} {width}");
                let mut space = String::new();
                super::push_padded(&mut space, n, width, false);
                assert_eq!(space, format!("{n:width$}"), "{n} {width}");
            }
        }
    }
}
