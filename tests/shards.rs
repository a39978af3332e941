//! Sharded builds tied by a manifest: the shards of one input list equal a single build sample
//! for sample; a finished shard is not rebuilt; every reader opens the manifest as one
//! dataset; a missing, cut, altered, rebuilt or extra shard is refused by name.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use vdx::dataset::Dataset;

/// walk/{bframes, vfr}, run/{opengop, hevc_10bit, av1}: five videos, two classes.
fn class_folder() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("videos");
    for (class, files) in [
        ("walk", vec!["h264_bframes.mp4", "vfr.mp4"]),
        (
            "run",
            vec!["h264_opengop.mp4", "hevc_10bit.mkv", "vp9.webm"],
        ),
    ] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for f in files {
            std::fs::copy(fixture(f), root.join(class).join(f)).unwrap();
        }
    }
    (d, root)
}

const OPTS: [&str; 8] = [
    "--frames",
    "4",
    "--size",
    "48",
    "--num-clips",
    "2",
    "--quiet",
    "--threads",
];

fn build_shard(root: &Path, out: &Path, spec: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "build",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--shard",
        spec,
    ];
    args.extend(OPTS);
    args.push("1");
    args.extend(extra);
    vdx_ok(&args)
}

fn assert_same_samples(a: &Dataset, b: &Dataset) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.classes(), b.classes());
    for i in 0..a.len() {
        let (ma, da) = a.raw_data(i).unwrap();
        let (mb, db) = b.raw_data(i).unwrap();
        assert_eq!(da, db, "sample {i}: data");
        assert_eq!(ma.label, mb.label, "sample {i}: label");
        assert_eq!(ma.provenance, mb.provenance, "sample {i}: provenance");
        assert_eq!(ma.record, mb.record, "sample {i}: record");
    }
}

#[test]
fn four_shards_tie_into_a_manifest_equal_to_a_single_build() {
    let (d, root) = class_folder();
    let single = d.path().join("single.vdx");
    let mut args = vec![
        "build",
        root.to_str().unwrap(),
        "--out",
        single.to_str().unwrap(),
    ];
    args.extend(OPTS);
    args.push("2");
    vdx_ok(&args);
    let out_dir = d.path().join("shards");
    std::fs::create_dir_all(&out_dir).unwrap();
    let name = out_dir.join("ds");
    // Built in any order, as an engine schedules them.
    for spec in ["2/4", "0/4", "3/4", "1/4"] {
        build_shard(&root, &name, spec, &[]);
    }
    let files: Vec<String> = (0..4).map(|k| format!("ds-{k:05}-of-00004.vdx")).collect();
    for f in &files {
        assert!(out_dir.join(f).exists(), "{f}");
    }
    // The manifest is refused while a shard is missing, naming it.
    let manifest = out_dir.join("ds.vdxm");
    vdx_ok(&["manifest", out_dir.to_str().unwrap()]);
    let text = std::fs::read(&manifest).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(m["shards"].as_array().unwrap().len(), 4);
    assert_eq!(m["classes"], serde_json::json!(["run", "walk"]));

    let one = Dataset::open(&single).unwrap();
    let all = Dataset::open(&manifest).unwrap();
    assert_eq!(all.len(), 10);
    assert_same_samples(&one, &all);
    // Global indices in shard order: shards hold 1, 1, 1, 2 videos (5 over 4).
    let shards: Vec<usize> = (0..all.len()).map(|i| all.meta(i).unwrap().shard).collect();
    assert_eq!(shards, vec![0, 0, 1, 1, 2, 2, 3, 3, 3, 3]);
    assert_eq!(all.shard_of(5).unwrap(), (2, 1));

    // inspect, verify and export read the manifest as one dataset.
    let ins: serde_json::Value =
        serde_json::from_str(&vdx_ok(&["inspect", manifest.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(ins["samples"].as_array().unwrap().len(), 10);
    assert_eq!(ins["samples"][9]["shard"], 3);
    assert_eq!(ins["samples"][9]["index"], 9);
    let v = vdx_ok(&["verify", manifest.to_str().unwrap()]);
    assert!(v.contains("OK: 10 samples"), "{v}");
    let exp = d.path().join("exp");
    vdx_ok(&[
        "export",
        manifest.to_str().unwrap(),
        "--format",
        "npy",
        "--out",
        exp.to_str().unwrap(),
        "--quiet",
    ]);
    let npy: Vec<_> = std::fs::read_dir(&exp)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "npy"))
        .collect();
    assert!(!npy.is_empty());

    // A re-run of a finished shard is a no-op; --force rebuilds it (same bytes).
    let before = std::fs::metadata(out_dir.join(&files[1]))
        .unwrap()
        .modified()
        .unwrap();
    let again = build_shard(&root, &name, "1/4", &[]);
    assert!(again.contains("already built"), "{again}");
    assert_eq!(
        before,
        std::fs::metadata(out_dir.join(&files[1]))
            .unwrap()
            .modified()
            .unwrap()
    );
    let bytes = std::fs::read(out_dir.join(&files[1])).unwrap();
    build_shard(&root, &name, "1/4", &["--force"]);
    assert_eq!(bytes, std::fs::read(out_dir.join(&files[1])).unwrap());

    // A task killed mid-way leaves no shard file (the build is atomic); the driver re-runs
    // it and writes the manifest again: byte for byte the same manifest.
    std::fs::remove_file(out_dir.join(&files[2])).unwrap();
    std::fs::remove_file(&manifest).unwrap();
    let e = vdx_err(&["manifest", out_dir.to_str().unwrap()]);
    assert!(e.contains(&files[2]) && e.contains("not built yet"), "{e}");
    build_shard(&root, &name, "2/4", &[]);
    vdx_ok(&["manifest", out_dir.to_str().unwrap()]);
    assert_eq!(text, std::fs::read(&manifest).unwrap());

    // Other options: the shard is rebuilt, and the old manifest no longer matches it.
    let keep = std::fs::read(out_dir.join(&files[0])).unwrap();
    build_shard(&root, &name, "0/4", &["--quality", "80"]);
    let e = Dataset::open(&manifest).err().unwrap().to_string();
    assert!(e.contains(&files[0]) && e.contains("ds.vdxm"), "{e}");
    let e = vdx_err(&["manifest", out_dir.to_str().unwrap()]);
    assert!(e.contains("differ"), "{e}");
    std::fs::write(out_dir.join(&files[0]), &keep).unwrap();
    Dataset::open(&manifest).unwrap();

    // Missing, cut short, altered, extra: each refused, naming the shard.
    let f3 = out_dir.join(&files[3]);
    let good3 = std::fs::read(&f3).unwrap();
    std::fs::remove_file(&f3).unwrap();
    let e = Dataset::open(&manifest).err().unwrap().to_string();
    assert!(e.contains(&files[3]) && e.contains("missing"), "{e}");
    std::fs::write(&f3, &good3[..good3.len() - 24]).unwrap();
    let e = Dataset::open(&manifest).err().unwrap().to_string();
    assert!(e.contains(&files[3]) && e.contains("cut short"), "{e}");
    let mut altered = good3.clone();
    let at = altered.len() - 10; // inside the allocation table
    altered[at] ^= 1;
    std::fs::write(&f3, &altered).unwrap();
    let e = Dataset::open(&manifest).err().unwrap().to_string();
    assert!(e.contains(&files[3]) && e.contains("altered"), "{e}");
    std::fs::write(&f3, &good3).unwrap();
    let extra = out_dir.join("ds-00004-of-00005.vdx");
    std::fs::write(&extra, &good3).unwrap();
    let e = Dataset::open(&manifest).err().unwrap().to_string();
    assert!(
        e.contains("ds-00004-of-00005.vdx") && e.contains("not in the manifest"),
        "{e}"
    );
    std::fs::remove_file(&extra).unwrap();
    assert_eq!(Dataset::open(&manifest).unwrap().len(), 10);
}

#[test]
fn shard_parameters_and_class_lists() {
    let (d, root) = class_folder();
    let out = d.path().join("o").join("ds");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    for (spec, want) in [
        ("4/4", "k must be in 0..4"),
        ("1", "k/N"),
        ("0/0", "between 1 and 99999"),
        ("0/6", "would be empty"),
    ] {
        let mut args = vec![
            "build",
            root.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--shard",
            spec,
        ];
        args.extend(OPTS);
        args.push("1");
        let e = vdx_err(&args);
        assert!(e.contains(want), "{spec}: {e}");
    }
    // A class list fixes the labels: positions in the file, whatever the folders.
    let list = d.path().join("classes.txt");
    std::fs::write(&list, "walk\nswim\nrun\n").unwrap();
    build_shard(&root, &out, "0/2", &["--classes", list.to_str().unwrap()]);
    build_shard(&root, &out, "1/2", &["--classes", list.to_str().unwrap()]);
    vdx_ok(&["manifest", out.parent().unwrap().to_str().unwrap()]);
    let ds = Dataset::open(&out.with_extension("vdxm")).unwrap();
    assert_eq!(ds.classes(), ["walk", "swim", "run"]);
    for i in 0..ds.len() {
        let m = ds.meta(i).unwrap();
        let src = m.provenance["source"].as_str().unwrap().to_string();
        let want = if src.contains("/walk/") { 0 } else { 2 };
        assert_eq!(m.label, want, "{src}");
    }
    std::fs::write(&list, "walk\n").unwrap();
    let mut args = vec![
        "build",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--classes",
        list.to_str().unwrap(),
    ];
    args.extend(OPTS);
    args.push("1");
    let e = vdx_err(&args);
    assert!(
        e.contains("'run'") && e.contains("not in the class list"),
        "{e}"
    );
    // A folder with shards of two datasets needs --name.
    let other = out.with_file_name("other");
    build_shard(&root, &other, "0/1", &[]);
    let e = vdx_err(&["manifest", out.parent().unwrap().to_str().unwrap()]);
    assert!(e.contains("several") && e.contains("other"), "{e}");
    vdx_ok(&[
        "manifest",
        out.parent().unwrap().to_str().unwrap(),
        "--name",
        "other",
    ]);
    assert_eq!(
        Dataset::open(&other.with_extension("vdxm")).unwrap().len(),
        10
    );
}
