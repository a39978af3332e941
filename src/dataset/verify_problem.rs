//! A broken rule as `vdx verify` reports it (rule, sample, field, what is wrong), and the
//! checks of JSON keys (arguments, dataset info, provenance) that report them.

use serde_json::Value;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    /// The sample (its index in its own file) whose bytes break the rule; `None` for a rule
    /// about the file as a whole (header, descriptors, gap).
    pub sample: Option<u64>,
    /// Where: `field NAME`, `allocation table`, `header`, `gap`.
    pub part: String,
    pub rule: &'static str,
    pub detail: String,
}

impl Problem {
    pub fn at(
        sample: Option<u64>,
        part: impl Into<String>,
        rule: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            sample,
            part: part.into(),
            rule,
            detail: detail.into(),
        }
    }

    /// One line: `sample 3, field segments: rule "...": detail`. `shard`: (position, file
    /// name, global index of its first sample) where the file is one shard of several.
    pub fn render(&self, shard: Option<(usize, &str, u64)>) -> String {
        let whom = match (self.sample, shard) {
            (Some(i), None) => format!("sample {i}"),
            (Some(i), Some((s, f, start))) => {
                format!("sample {} (shard {s}, {f}, its sample {i})", start + i)
            }
            (None, None) => "dataset".to_string(),
            (None, Some((s, f, _))) => format!("shard {s} ({f})"),
        };
        format!(
            "{whom}, {}: rule \"{}\": {}",
            self.part, self.rule, self.detail
        )
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(None))
    }
}

/// What a value is, for messages.
pub fn show(v: Option<&Value>) -> String {
    match v {
        None => "missing".into(),
        Some(v) => {
            let s = v.to_string();
            if s.len() > 60 {
                format!(
                    "{}…",
                    &s[..s.char_indices().nth(60).map_or(s.len(), |(i, _)| i)]
                )
            } else {
                s
            }
        }
    }
}

pub fn is_int(v: &Value) -> bool {
    v.is_i64() || v.is_u64()
}

/// Checks one JSON object's keys, pushing a problem per broken key.
pub struct Keys<'v, 'o> {
    pub v: &'v Value,
    pub sample: Option<u64>,
    pub part: String,
    pub rule: &'static str,
    pub out: &'o mut Vec<Problem>,
}

impl<'v> Keys<'v, '_> {
    pub fn bad(&mut self, key: &str, want: &str) {
        let got = show(self.v.get(key));
        self.out.push(Problem::at(
            self.sample,
            self.part.clone(),
            self.rule,
            format!("'{key}' is {got}; it must be {want}"),
        ));
    }
    /// A required int in `lo..=hi`.
    pub fn int(&mut self, key: &str, lo: i64, hi: i64) -> Option<i64> {
        match self.v.get(key).and_then(Value::as_i64) {
            Some(x) if is_int(&self.v[key]) && (lo..=hi).contains(&x) => Some(x),
            _ => {
                let want = if hi == i64::MAX {
                    format!("an int ≥ {lo}")
                } else {
                    format!("an int in {lo}..={hi}")
                };
                self.bad(key, &want);
                None
            }
        }
    }
    /// A required int ≥ 0 that fits in u64.
    pub fn uint(&mut self, key: &str) -> Option<u64> {
        match self.v.get(key).and_then(Value::as_u64) {
            Some(x) => Some(x),
            None => {
                self.bad(key, "an int ≥ 0");
                None
            }
        }
    }
    pub fn string(&mut self, key: &str) -> Option<&'v str> {
        match self.v.get(key).and_then(Value::as_str) {
            Some(s) => Some(s),
            None => {
                self.bad(key, "a string");
                None
            }
        }
    }
    pub fn one_of(&mut self, key: &str, allowed: &[&str]) -> Option<String> {
        match self.v.get(key).and_then(Value::as_str) {
            Some(s) if allowed.contains(&s) => Some(s.to_string()),
            _ => {
                let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
                self.bad(key, &format!("one of {}", list.join(", ")));
                None
            }
        }
    }
    /// A number (`positive`: finite and > 0); `null_ok`: null is allowed too.
    pub fn number(&mut self, key: &str, positive: bool, null_ok: bool) -> Option<f64> {
        let v = self.v.get(key);
        if null_ok && v.is_some_and(Value::is_null) {
            return None;
        }
        match v.and_then(Value::as_f64) {
            Some(x) if !positive || (x.is_finite() && x > 0.0) => Some(x),
            _ => {
                let mut want = if positive {
                    "a number > 0".to_string()
                } else {
                    "a number".to_string()
                };
                if null_ok {
                    want.push_str(" or null");
                }
                self.bad(key, &want);
                None
            }
        }
    }
    pub fn list(&mut self, key: &str, what: &str) -> Option<&'v Vec<Value>> {
        match self.v.get(key).and_then(Value::as_array) {
            Some(a) => Some(a),
            None => {
                self.bad(key, &format!("a list of {what}"));
                None
            }
        }
    }
    pub fn object(&mut self, key: &str) -> Option<&'v Value> {
        match self.v.get(key) {
            Some(o) if o.is_object() => Some(o),
            _ => {
                self.bad(key, "an object");
                None
            }
        }
    }
    /// `version`: absent (files from before versioning) or 1. Whether it is present.
    pub fn version(&mut self) -> bool {
        match self.v.get("version") {
            None => false,
            Some(v) if v.as_i64() == Some(1) && is_int(v) => true,
            Some(_) => {
                self.bad("version", "1 (or absent, in files from before versioning)");
                true
            }
        }
    }
}
