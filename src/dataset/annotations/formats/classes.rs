//! Class lists: the file the caller gives, or the format's own beside the annotations
//! (`classInd.txt`, SSv2's labels JSON, Charades' classes file).

use super::{decode_utf8, Ctx, NO_COLUMN};
use crate::dataset::annotations::Format;
use crate::dataset::error::{DatasetError, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A class list read from a file.
#[derive(Debug, Clone)]
pub(super) struct ClassList {
    pub names: Vec<String>,
    pub source: PathBuf,
    /// The numbers of a numbered list (`classInd.txt`: `1 ApplyEyeMakeup`).
    pub numbered: BTreeMap<u64, String>,
}

impl ClassList {
    /// The class numbered `n` (1-based): by the file's numbers, else by position.
    pub fn by_number(&self, n: u64) -> Option<&str> {
        if self.numbered.is_empty() {
            let i = usize::try_from(n).ok()?.checked_sub(1)?;
            self.names.get(i).map(String::as_str)
        } else {
            self.numbered.get(&n).map(String::as_str)
        }
    }
}

/// The format's own class file beside the annotations (`classInd.txt`, ...), if there.
pub(super) fn class_file_beside(
    annotations: &Path,
    name: &str,
    format: Format,
) -> Result<Option<ClassList>> {
    let file = annotations
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(name);
    if file.is_file() {
        read_class_file(&file, format).map(Some)
    } else {
        Ok(None)
    }
}

/// A class list: one name a line; a numbered list (`1 ApplyEyeMakeup`); Charades' classes
/// file (`c000 Holding some clothes`: the code is the class); SSv2's labels JSON (an object
/// name → index); or a JSON list of names.
pub(super) fn read_class_file(path: &Path, format: Format) -> Result<ClassList> {
    let ctx = Ctx { path };
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    let text = decode_utf8(ctx, &bytes)?;
    let mut numbered = BTreeMap::new();
    let start = text.trim_start();
    let entries = if start.starts_with('{') || start.starts_with('[') {
        json_classes(ctx, text)?
    } else {
        text_classes(ctx, text, format, &mut numbered)?
    };
    if entries.is_empty() {
        return Err(ctx.err(1, NO_COLUMN, "the class list is empty"));
    }
    check_unique_classes(ctx, &entries)?;
    Ok(ClassList {
        names: entries.into_iter().map(|(_, n)| n).collect(),
        source: path.to_path_buf(),
        numbered,
    })
}

/// The (line, name) entries of a JSON class list: an object name → index, or a list of names.
fn json_classes(ctx: Ctx, text: &str) -> Result<Vec<(usize, String)>> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        ctx.err(
            e.line(),
            &e.column().to_string(),
            format!("not valid JSON: {e}"),
        )
    })?;
    match value {
        serde_json::Value::Object(map) => indexed_classes(ctx, map),
        serde_json::Value::Array(list) => {
            let mut entries = Vec::new();
            for (i, v) in list.into_iter().enumerate() {
                match v {
                    serde_json::Value::String(s) => entries.push((i + 1, s)),
                    other => {
                        return Err(ctx.err(
                            i + 1,
                            NO_COLUMN,
                            format!("element {} is {other}, not a class name", i + 1),
                        ))
                    }
                }
            }
            Ok(entries)
        }
        _ => Err(ctx.err(
            1,
            NO_COLUMN,
            "expected a JSON object (class name → index) or a list of class names",
        )),
    }
}

/// The entries of a JSON object name → index (SSv2's labels), in index order; the indices
/// must be numbers (or number strings) and distinct.
fn indexed_classes(
    ctx: Ctx,
    map: serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(usize, String)>> {
    let mut indexed = Vec::with_capacity(map.len());
    for (name, index) in map {
        let n = match &index {
            serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
            v => v.as_u64(),
        };
        let Some(n) = n else {
            return Err(ctx.err(
                1,
                &name,
                format!("the index {index} of class '{name}' is not a number"),
            ));
        };
        indexed.push((n, name));
    }
    indexed.sort();
    for (i, pair) in indexed.windows(2).enumerate() {
        if pair[0].0 == pair[1].0 {
            return Err(ctx.err(
                i + 2,
                &pair[1].1,
                format!(
                    "classes '{}' and '{}' have the same index {}",
                    pair[0].1, pair[1].1, pair[0].0
                ),
            ));
        }
    }
    Ok(indexed
        .into_iter()
        .enumerate()
        .map(|(i, (_, name))| (i + 1, name))
        .collect())
}

/// The entries of a text class list: one name a line, Charades' codes, or numbered lines
/// (their numbers go into `numbered`).
fn text_classes(
    ctx: Ctx,
    text: &str,
    format: Format,
    numbered: &mut BTreeMap<u64, String>,
) -> Result<Vec<(usize, String)>> {
    let mut entries = Vec::new();
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let split = |l: &str| -> (String, String) {
        match l.split_once(char::is_whitespace) {
            Some((a, b)) => (a.to_string(), b.trim().to_string()),
            None => (l.to_string(), String::new()),
        }
    };
    let is_code =
        |t: &str| t.len() > 1 && t.starts_with('c') && t[1..].bytes().all(|b| b.is_ascii_digit());
    let codes = format == Format::Charades && lines.iter().all(|(_, l)| is_code(&split(l).0));
    let numbers = !codes
        && lines.iter().all(|(_, l)| {
            let (first, rest) = split(l);
            !rest.is_empty() && first.bytes().all(|b| b.is_ascii_digit())
        });
    for (line, l) in lines {
        let (first, rest) = split(l);
        if codes {
            entries.push((line, first));
        } else if numbers {
            let n: u64 = first.parse().map_err(|_| {
                ctx.err(line, NO_COLUMN, format!("'{first}' is too large a number"))
            })?;
            if let Some(other) = numbered.insert(n, rest.clone()) {
                return Err(ctx.err(
                    line,
                    NO_COLUMN,
                    format!("number {n} is given twice (to '{other}' and '{rest}')"),
                ));
            }
            entries.push((line, rest));
        } else {
            entries.push((line, l.to_string()));
        }
    }
    Ok(entries)
}

/// Fails on the first class name listed twice.
fn check_unique_classes(ctx: Ctx, entries: &[(usize, String)]) -> Result<()> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (line, name) in entries {
        if let Some(first) = seen.insert(name, *line) {
            return Err(ctx.err(
                *line,
                NO_COLUMN,
                format!("class '{name}' is listed twice (also on line {first})"),
            ));
        }
    }
    Ok(())
}
