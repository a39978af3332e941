//! A build's inputs: video files, folders and class folders collected in a stable order, with what was left out and why; annotated inputs.

use super::*;

/// One input video and its label (-1: unlabelled).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildInput {
    pub path: PathBuf,
    pub label: i64,
    /// Where the input is an annotation row: its segment, every label, split and id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotation: Option<Box<AnnotatedInput>>,
}

impl BuildInput {
    /// A whole video with one label (-1: unlabelled).
    pub fn video(path: PathBuf, label: i64) -> Self {
        BuildInput {
            path,
            label,
            annotation: None,
        }
    }
}

/// What an annotation row adds to an input (see [`crate::dataset::annotations`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnotatedInput {
    /// The annotation file (shared by every row: one allocation, not 650,000) and the row's
    /// line in it (for messages).
    pub file: std::sync::Arc<std::path::Path>,
    pub line: usize,
    pub row_id: String,
    /// The annotated segment; None: the whole video. Clips are sampled inside it.
    pub segment: Option<crate::dataset::annotations::Segment>,
    /// Class index of every label; the first is the input's `label`.
    pub labels: Vec<i64>,
    /// Index into the dataset info's `splits`.
    pub split: Option<usize>,
    /// The row's other columns.
    pub extra: std::collections::BTreeMap<String, String>,
}

/// File extensions a folder scan takes as video (lower case). Files given one by one are
/// taken whatever their name; FFmpeg decides what they hold.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "qt", "3gp", "3g2", "mkv", "webm", "avi", "divx", "ts", "m2ts", "mts",
    "m2t", "trp", "mpg", "mpeg", "m1v", "m2v", "vob", "flv", "f4v", "wmv", "asf", "ogv", "ogg",
    "mxf", "dv", "ivf", "y4m", "h264", "264", "h265", "265", "hevc",
];

pub(super) fn is_video(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// Why a folder entry was not taken as a video, or None when it is one.
pub(super) fn not_video_reason(p: &Path) -> Option<String> {
    if is_video(p) {
        return None;
    }
    Some(match p.extension().and_then(|e| e.to_str()) {
        Some(e) => format!("'.{e}' is not a video extension vdx scans for"),
        None => "no file extension".into(),
    })
}

/// Whether `p` is a folder: a local directory, or a URL ending in '/' (a prefix on object
/// storage, whose sub-folders are its common prefixes).
pub(super) fn is_folder(p: &Path) -> bool {
    if crate::storage::is_url(p) {
        p.to_str().is_some_and(|s| s.ends_with('/'))
    } else {
        p.is_dir()
    }
}

/// Entries of `dir`, sorted, hidden ones (a leading '.') apart. On object storage, sub-folders
/// come back as URLs ending in '/'.
pub(super) fn sorted_entries(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut v: Vec<PathBuf> = Vec::new();
    let mut hidden: Vec<PathBuf> = Vec::new();
    let found: Vec<PathBuf> = if crate::storage::is_url(dir) {
        let base = dir.to_str().unwrap_or_default().trim_end_matches('/');
        let (files, dirs) = crate::storage::list_folder(dir)?;
        files
            .into_iter()
            .map(|f| PathBuf::from(format!("{base}/{f}")))
            .chain(
                dirs.into_iter()
                    .map(|d| PathBuf::from(format!("{base}/{d}/"))),
            )
            .collect()
    } else {
        let mut found = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| DatasetError::io(dir, e))? {
            found.push(e.map_err(|e| DatasetError::io(dir, e))?.path());
        }
        found
    };
    for p in found {
        let is_hidden = p
            .file_name()
            .map(|n| n.to_string_lossy().starts_with('.'))
            .unwrap_or(true);
        if is_hidden {
            hidden.push(p);
        } else {
            v.push(p);
        }
    }
    v.sort();
    hidden.sort();
    Ok((v, hidden))
}

/// What a scan of the build inputs found.
#[derive(Debug, Clone, Default)]
pub struct CollectedInputs {
    pub inputs: Vec<BuildInput>,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Folder entries that were not taken, each with the reason.
    pub ignored: Vec<(PathBuf, String)>,
}

/// Expand the command line's inputs: video files as given (unlabelled), and folders. A folder
/// whose sub-folders hold videos is a class layout (UCF-101, Kinetics): each sub-folder is a
/// class, labels are the sorted class names' positions. A folder of videos adds them,
/// unlabelled. Returns the inputs and the class names.
pub fn collect_inputs(inputs: &[PathBuf]) -> Result<(Vec<BuildInput>, Vec<String>)> {
    let c = collect_inputs_report(inputs)?;
    Ok((c.inputs, c.classes))
}

/// [`collect_inputs`], also saying which folder entries were left out and why (hidden
/// files, other extensions, folders below the class level), so nothing is dropped silently.
pub fn collect_inputs_report(inputs: &[PathBuf]) -> Result<CollectedInputs> {
    let mut c = CollectedInputs::default();
    let hidden_reason = || "a hidden file or folder".to_string();
    for p in inputs {
        if is_folder(p) {
            let (entries, hidden) = sorted_entries(p)?;
            c.ignored
                .extend(hidden.into_iter().map(|h| (h, hidden_reason())));
            for f in entries.iter().filter(|e| !is_folder(e)) {
                match not_video_reason(f) {
                    None => c.inputs.push(BuildInput {
                        annotation: None,
                        path: f.clone(),
                        label: -1,
                    }),
                    Some(why) => c.ignored.push((f.clone(), why)),
                }
            }
            for d in entries.iter().filter(|e| is_folder(e)) {
                let name = d
                    .file_name()
                    .expect("a folder entry")
                    .to_string_lossy()
                    .to_string();
                let (sub, hidden) = sorted_entries(d)?;
                c.ignored
                    .extend(hidden.into_iter().map(|h| (h, hidden_reason())));
                let mut vids = Vec::new();
                for e in sub {
                    if is_folder(&e) {
                        c.ignored.push((
                            e,
                            "a folder two levels down (class folders hold videos directly)".into(),
                        ));
                    } else {
                        match not_video_reason(&e) {
                            None => vids.push(e),
                            Some(why) => c.ignored.push((e, why)),
                        }
                    }
                }
                if vids.is_empty() {
                    c.ignored
                        .push((d.clone(), "a folder with no videos in it".into()));
                    continue;
                }
                let label = match c.classes.iter().position(|k| *k == name) {
                    Some(k) => k,
                    None => {
                        c.classes.push(name);
                        c.classes.len() - 1
                    }
                } as i64;
                c.inputs
                    .extend(vids.into_iter().map(|path| BuildInput::video(path, label)));
            }
        } else if p.exists() || crate::storage::is_url(p) {
            // A URL is one video (object storage is read as it is built from).
            c.inputs.push(BuildInput {
                annotation: None,
                path: p.clone(),
                label: -1,
            });
        } else {
            return Err(DatasetError::io(
                p,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            ));
        }
    }
    if c.inputs.is_empty() {
        let shown: Vec<String> = c
            .ignored
            .iter()
            .take(3)
            .map(|(p, why)| format!("{} ({why})", p.display()))
            .collect();
        return Err(DatasetError::param(
            "inputs",
            format!(
                "no videos found (looked for {} files){}",
                VIDEO_EXTENSIONS.join(", "),
                if shown.is_empty() {
                    String::new()
                } else {
                    format!("; left out: {}", shown.join(", "))
                }
            ),
        ));
    }
    Ok(c)
}

/// The annotation keys of a sample's provenance (FORMAT.md): every label, the split, the
/// segment as the file gave it and as frames, the row's id, line and other columns.
pub(super) fn annotate_provenance(
    o: &mut serde_json::Map<String, serde_json::Value>,
    a: &AnnotatedInput,
    frames: Option<(usize, usize)>,
) {
    use crate::dataset::annotations::TimeSpec;
    o.insert("labels".into(), serde_json::json!(a.labels));
    if let Some(s) = a.split {
        o.insert("split".into(), serde_json::json!(s));
    }
    if let Some(seg) = a.segment {
        let mut m = serde_json::Map::new();
        match (seg.start, seg.end) {
            (TimeSpec::Seconds(s), TimeSpec::Seconds(e)) => {
                m.insert("start_secs".into(), serde_json::json!(s));
                m.insert("end_secs".into(), serde_json::json!(e));
            }
            (s, e) => {
                let f = |t: TimeSpec| match t {
                    TimeSpec::Frame(f) => serde_json::json!(f),
                    TimeSpec::Seconds(x) => serde_json::json!(x),
                };
                m.insert("start_frame".into(), f(s));
                m.insert("end_frame".into(), f(e));
            }
        }
        if let Some((a, b)) = frames {
            m.insert("frames".into(), serde_json::json!([a, b]));
        }
        o.insert("segment".into(), serde_json::Value::Object(m));
    }
    o.insert("row_id".into(), serde_json::json!(a.row_id));
    o.insert("annotation_line".into(), serde_json::json!(a.line));
    if !a.extra.is_empty() {
        o.insert("extra".into(), serde_json::json!(a.extra));
    }
}
