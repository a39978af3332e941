//! Sharded datasets: a build split into N independent shards (`--shard k/N`, one task of a
//! Ray, Daft or Slurm job each), tied together by a manifest (`NAME.vdxm`) that every reader
//! opens as one dataset.
//!
//! - Partition: shard k of N takes the k-th of N contiguous runs of the whole input list
//!   (`k·len/N .. (k+1)·len/N`), so the same list on every worker gives disjoint shards that
//!   cover it, and the shards in order hold a single build's samples in its order.
//! - Shard files are ordinary datasets named `NAME-kkkkk-of-NNNNN.vdx`, written atomically;
//!   their info records the shard (`"shard": {index, count, inputs_crc32c, options_crc32c}`)
//!   so a re-run of a finished shard is a no-op.
//! - The manifest (JSON, written atomically) lists every shard with its sample count, byte
//!   size and a CRC-32C of its header, descriptors and allocation table; opening it checks
//!   each shard against that and refuses, naming it, a shard that is missing, cut short,
//!   replaced, or a shard file beside it that it does not list. (On object storage a shard is
//!   opened, and checked, when a sample of it is first read: see [`crate::dataset::Dataset`].)

use crate::dataset::build::BuildInput;
use crate::dataset::error::{DatasetError, Result};
use crate::dataset::format::{self, Header};
use crate::dataset::reader::DatasetFile;
pub use open::{open_listed_shard, open_listed_shards, open_shards, read_manifest};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod open;

pub const MANIFEST_FORMAT: &str = "vdx-manifest";
pub const MANIFEST_VERSION: u32 = 1;
pub const MANIFEST_EXT: &str = "vdxm";

/// Which part of the input list a build takes: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for ShardSpec {
    type Err = DatasetError;
    /// `k/N`, 0 <= k < N.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: String| DatasetError::param("shard", format!("'{s}': {why}"));
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| bad("give it as k/N, e.g. 3/8".into()))?;
        let k: usize = k
            .trim()
            .parse()
            .map_err(|_| bad("k is not a whole number".into()))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number".into()))?;
        if n == 0 || n > 99_999 {
            return Err(bad("N must be between 1 and 99999".into()));
        }
        if k >= n {
            return Err(bad(format!("k must be in 0..{n} (shards count from 0)")));
        }
        Ok(ShardSpec { index: k, count: n })
    }
}

impl ShardSpec {
    /// The range of the whole (sorted) input list this shard takes.
    pub fn range(&self, len: usize) -> std::ops::Range<usize> {
        (self.index * len / self.count)..((self.index + 1) * len / self.count)
    }
    /// `NAME-kkkkk-of-NNNNN.vdx`.
    pub fn file_name(&self, name: &str) -> String {
        format!("{name}-{:05}-of-{:05}.vdx", self.index, self.count)
    }
}

/// `(name, k, N)` of a shard file name `NAME-kkkkk-of-NNNNN.vdx`.
pub fn parse_shard_file_name(file: &str) -> Option<(String, usize, usize)> {
    let stem = file.strip_suffix(".vdx")?;
    let (rest, n) = stem.rsplit_once("-of-")?;
    let (name, k) = rest.rsplit_once('-')?;
    if k.len() != 5 || n.len() != 5 || name.is_empty() {
        return None;
    }
    Some((name.to_string(), k.parse().ok()?, n.parse().ok()?))
}

/// Labels from a class list file (one class name per line, blank lines ignored): each
/// input's class (by its current label into `classes`) is looked up by name. Every class of
/// the inputs must be in the file, so that shards built on different workers agree.
pub fn relabel_from_class_file(
    inputs: &mut [BuildInput],
    classes: &[String],
    file: &Path,
) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file).map_err(|e| DatasetError::io(file, e))?;
    let list: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = list.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(DatasetError::param(
            "classes",
            format!("{}: class '{dup}' is listed twice", file.display()),
        ));
    }
    for inp in inputs.iter_mut() {
        if inp.label < 0 {
            continue;
        }
        let name = &classes[inp.label as usize];
        inp.label = list.iter().position(|c| c == name).ok_or_else(|| {
            DatasetError::param(
                "classes",
                format!(
                    "{}: class folder '{name}' ({}) is not in the class list",
                    file.display(),
                    inp.path.display()
                ),
            )
        })? as i64;
    }
    Ok(list)
}

/// A CRC-32C of the input list (paths and labels): the same list on every worker.
pub fn inputs_crc32c(inputs: &[BuildInput]) -> u32 {
    let mut crc = 0u32;
    for i in inputs {
        crc = crc32c::crc32c_append(crc, i.path.to_string_lossy().as_bytes());
        crc = crc32c::crc32c_append(crc, &i.label.to_le_bytes());
    }
    crc
}

/// What a sharded build will write: the output path and the info that marks the shard.
pub struct ShardPlan {
    pub out: PathBuf,
    pub info: serde_json::Value,
}

/// The output file of shard `spec` of `out` (`DIR/NAME`) and the info recording it: the
/// shard, a CRC-32C of the whole input list and of the build options.
pub fn plan_shard(
    out: &Path,
    spec: ShardSpec,
    inputs: &[BuildInput],
    opts: &crate::dataset::BuildOptions,
) -> Result<ShardPlan> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| DatasetError::param("out", "give DIR/NAME for a sharded build"))?;
    let name = name.strip_suffix(".vdx").unwrap_or(&name).to_string();
    if spec.range(inputs.len()).is_empty() {
        return Err(DatasetError::param(
            "shard",
            format!(
                "shard {}/{} of {} videos would be empty: use at most {} shards",
                spec.index,
                spec.count,
                inputs.len(),
                inputs.len()
            ),
        ));
    }
    let opts_json = serde_json::to_vec(opts).expect("options serialize");
    let info = serde_json::json!({
        "shard": {
            "index": spec.index,
            "count": spec.count,
            "inputs_crc32c": inputs_crc32c(inputs),
            "options_crc32c": crc32c::crc32c(&opts_json),
        }
    });
    Ok(ShardPlan {
        out: out.with_file_name(spec.file_name(&name)),
        info,
    })
}

/// Whether the shard file exists, opens, and records the same shard of the same inputs and
/// options (then building it again would write the same samples).
pub fn shard_is_built(plan: &ShardPlan) -> bool {
    match DatasetFile::open(&plan.out) {
        Ok(ds) => ds.info().get("shard") == plan.info.get("shard"),
        Err(_) => false,
    }
}

/// One shard as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// File name, in the manifest's folder.
    pub file: String,
    pub samples: u64,
    pub bytes: u64,
    /// CRC-32C of the header and field descriptors, then the allocation table.
    pub crc32c: u32,
}

/// The manifest file (`NAME.vdxm`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub name: String,
    pub samples: u64,
    pub classes: Vec<String>,
    /// The video field: type id, name and arguments, as in every shard.
    pub field: serde_json::Value,
    /// The shards' build options (the same in every shard).
    pub build_options: serde_json::Value,
    pub shards: Vec<ShardEntry>,
}

/// CRC-32C of a shard's header + descriptors and of its allocation table (the parts that
/// change whenever its samples do), read without mapping the data.
pub fn shard_crc32c(path: &Path) -> Result<(u32, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let len = f.metadata().map_err(|e| DatasetError::io(path, e))?.len();
    let mut head = vec![0u8; format::HEADER_SIZE.min(len as usize)];
    f.read_exact(&mut head)
        .map_err(|e| DatasetError::io(path, e))?;
    let h = Header::parse(&head, path)?;
    let desc_end = format::metadata_offset(h.num_fields as usize);
    if desc_end > len || h.alloc_table_ptr > len || h.alloc_table_ptr < desc_end {
        return Err(format::corrupt(path, "cut short or unfinished"));
    }
    let mut buf = vec![0u8; desc_end as usize];
    f.seek(SeekFrom::Start(0))
        .and_then(|_| f.read_exact(&mut buf))
        .map_err(|e| DatasetError::io(path, e))?;
    let mut crc = crc32c::crc32c(&buf);
    let mut table = Vec::with_capacity((len - h.alloc_table_ptr) as usize);
    f.seek(SeekFrom::Start(h.alloc_table_ptr))
        .and_then(|_| f.read_to_end(&mut table))
        .map_err(|e| DatasetError::io(path, e))?;
    crc = crc32c::crc32c_append(crc, &table);
    Ok((crc, len))
}

/// [`shard_crc32c`] of an opened shard (a remote one: from the header and table its open
/// fetched).
pub(crate) fn opened_shard_crc32c(ds: &DatasetFile) -> Result<(u32, u64)> {
    let len = ds.file_len();
    let desc_end = format::metadata_offset(ds.header.num_fields as usize);
    let at = ds.header.alloc_table_ptr;
    if desc_end > len || at > len || at < desc_end {
        return Err(format::corrupt(ds.path(), "cut short or unfinished"));
    }
    let crc = crc32c::crc32c_append(
        crc32c::crc32c(ds.range(0, desc_end)?),
        ds.range(at, len - at)?,
    );
    Ok((crc, len))
}

pub(crate) fn field_json(ds: &DatasetFile) -> serde_json::Value {
    let f = ds.video_field();
    serde_json::json!({
        "type_id": f.field_type.id(), "name": f.name, "arguments": f.arguments,
    })
}

/// The build options recorded in a shard's info.
fn build_options(ds: &DatasetFile) -> serde_json::Value {
    ds.info()["build_options"].clone()
}

/// Write `DIR/NAME.vdxm` for the shards `NAME-*-of-*.vdx` in `dir` (all N of them must be
/// there and agree). `name`: which set, where the folder holds several.
pub fn write_manifest(dir: &Path, name: Option<&str>) -> Result<(PathBuf, Manifest)> {
    let remote = crate::storage::is_url(dir);
    let mut found = shard_files_by_set(dir, remote)?;
    let name = pick_shard_set(dir, name, &found)?;
    let mut shards = found.remove(&name).ok_or_else(|| {
        DatasetError::param(
            "name",
            format!("{}: no shard files of '{name}'", dir.display()),
        )
    })?;
    shards.sort();
    check_all_shards_there(dir, &name, &shards)?;
    let (entries, total, (field, classes, build_options)) = shard_entries(dir, &shards)?;
    let m = Manifest {
        format: MANIFEST_FORMAT.into(),
        version: MANIFEST_VERSION,
        name: name.clone(),
        samples: total,
        classes,
        field,
        build_options,
        shards: entries,
    };
    let out = dir.join(format!("{name}.{MANIFEST_EXT}"));
    let mut text = serde_json::to_vec_pretty(&m).expect("JSON values serialize");
    text.push(b'\n');
    if remote {
        // Written last, after every shard it names is there.
        crate::storage::put(&out, text)?;
    } else {
        crate::npy::write_atomic(&out, &text)?;
    }
    Ok((out, m))
}

/// Shard files of one set: (k, N, file name).
type ShardFiles = Vec<(usize, usize, String)>;

/// The field, class list and build options every shard of a set must share.
type ShardFacts = (serde_json::Value, Vec<String>, serde_json::Value);

/// The shard files in `dir` (a folder, or a URL where `remote`), grouped by set name.
fn shard_files_by_set(
    dir: &Path,
    remote: bool,
) -> Result<std::collections::BTreeMap<String, ShardFiles>> {
    let mut found: std::collections::BTreeMap<String, ShardFiles> = Default::default();
    let names = if remote {
        crate::storage::list(dir)?
    } else {
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| DatasetError::io(dir, e))? {
            let e = e.map_err(|e| DatasetError::io(dir, e))?;
            names.push(e.file_name().to_string_lossy().to_string());
        }
        names
    };
    for file in names {
        if let Some((n, k, count)) = parse_shard_file_name(&file) {
            found.entry(n).or_default().push((k, count, file));
        }
    }
    Ok(found)
}

/// The set to write the manifest of: the one named, else the only one in the folder.
fn pick_shard_set(
    dir: &Path,
    name: Option<&str>,
    found: &std::collections::BTreeMap<String, ShardFiles>,
) -> Result<String> {
    Ok(match name {
        Some(n) => n.to_string(),
        None if found.len() == 1 => found.keys().next().expect("one").clone(),
        None if found.is_empty() => {
            return Err(DatasetError::param(
                "manifest",
                format!(
                    "{}: no shard files (NAME-kkkkk-of-NNNNN.vdx)",
                    dir.display()
                ),
            ))
        }
        None => {
            return Err(DatasetError::param(
                "name",
                format!(
                    "{} holds shards of several datasets ({}): say which",
                    dir.display(),
                    found.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ))
        }
    })
}

/// Fails unless the (sorted) shards agree on N and all N of them are there.
fn check_all_shards_there(dir: &Path, name: &str, shards: &[(usize, usize, String)]) -> Result<()> {
    let count = shards[0].1;
    if let Some((_, c, f)) = shards.iter().find(|(_, c, _)| *c != count) {
        return Err(DatasetError::param(
            "manifest",
            format!("{f} is one of {c} shards, {} one of {count}", shards[0].2),
        ));
    }
    let missing: Vec<String> = (0..count)
        .filter(|k| !shards.iter().any(|(j, _, _)| j == k))
        .map(|k| ShardSpec { index: k, count }.file_name(name))
        .collect();
    if !missing.is_empty() {
        return Err(DatasetError::param(
            "manifest",
            format!(
                "{}: {} of {count} shards are not built yet: {}",
                dir.display(),
                missing.len(),
                missing.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Opens each shard in order: its manifest entry, the total of samples, and the facts all
/// shards share (a shard that differs from the first is an error).
fn shard_entries(
    dir: &Path,
    shards: &[(usize, usize, String)],
) -> Result<(Vec<ShardEntry>, u64, ShardFacts)> {
    let mut entries = Vec::new();
    let mut first: Option<ShardFacts> = None;
    let mut total = 0u64;
    for (_, _, file) in shards {
        let path = dir.join(file);
        let ds = DatasetFile::open(&path)?;
        let facts = (field_json(&ds), ds.classes().to_vec(), build_options(&ds));
        match &first {
            None => first = Some(facts),
            Some(f) if *f != facts => {
                return Err(DatasetError::Malformed {
                    path,
                    reason: format!(
                        "its field, classes or build options differ from {}'s: shards of one dataset must be built with the same options and class list",
                        shards[0].2
                    ),
                })
            }
            Some(_) => {}
        }
        // From the open shard (mapped, or its header and table fetched): not read again.
        let (crc32c, bytes) = opened_shard_crc32c(&ds)?;
        total += ds.len();
        entries.push(ShardEntry {
            file: file.clone(),
            samples: ds.len(),
            bytes,
            crc32c,
        });
    }
    Ok((entries, total, first.expect("at least one shard")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_partition_the_list() {
        let s: ShardSpec = "3/8".parse().unwrap();
        assert_eq!(s, ShardSpec { index: 3, count: 8 });
        for bad in ["8/8", "1", "a/3", "1/0", "-1/3"] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
        for len in [0usize, 1, 5, 17, 100] {
            for n in 1..=9 {
                let mut covered = Vec::new();
                for k in 0..n {
                    let r = ShardSpec { index: k, count: n }.range(len);
                    assert!(r.len() <= len / n + 1);
                    covered.extend(r);
                }
                assert_eq!(covered, (0..len).collect::<Vec<_>>(), "{len} in {n}");
            }
        }
        let f = ShardSpec {
            index: 2,
            count: 10,
        }
        .file_name("kinetics");
        assert_eq!(f, "kinetics-00002-of-00010.vdx");
        assert_eq!(parse_shard_file_name(&f), Some(("kinetics".into(), 2, 10)));
        assert_eq!(
            parse_shard_file_name("a-b-00001-of-00002.vdx").unwrap().0,
            "a-b"
        );
        assert_eq!(parse_shard_file_name("plain.vdx"), None);
    }
}
