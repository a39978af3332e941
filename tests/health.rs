//! `vdx health` on fixtures with known faults, made here with the ffmpeg CLI: each check
//! finds exactly the injected faults (every flag of every fixture is asserted, so a missed
//! fault and a false alarm both fail: precision and recall 1.0), at the frames where they
//! were put. Then the sidecar: written beside the dataset, refused once stale or foreign.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use vdx::dataset::Dataset;
use vdx::health::{self, sidecar, HealthOptions, HealthReport};

/// 50 frames at 25 fps, 160x120, each fixture from lavfi sources and filters.
fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.mp4"));
    let mut a: Vec<&str> = vec!["-y"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-frames:v", "50", "-c:v", "libx264", "-pix_fmt", "yuv420p"]);
    let o = out.to_str().unwrap().to_string();
    a.push(&o);
    ffmpeg(&a);
    out
}

struct Fixtures {
    _dir: tempfile::TempDir,
    dataset: PathBuf,
    names: Vec<String>,
}

fn fixtures() -> Fixtures {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("videos");
    let (a, b) = (v.join("a"), v.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    // Every random source and filter has its seed, so the fixtures are the same on every run.
    // Each fixture from its own lavfi source, so that no two are near-duplicates by
    // accident (the perceptual hash ignores brightness scaling: a clip fading to black keeps
    // its source's hash); temporal noise keeps moving pictures from ever repeating.
    let noise = "noise=alls=20:allf=t:all_seed=7";
    make(
        &a,
        "black",
        &["-f", "lavfi", "-i", "color=black:s=160x120:r=25"],
    );
    make(
        &a,
        "blank",
        &["-f", "lavfi", "-i", "color=0x4080c0:s=160x120:r=25"],
    );
    // Frames 25.. black: a black segment inside a clip (a cut into it, frozen there).
    // (Cellular automaton, black and white: no noise, whose hue on grey pixels is random.)
    let vf = "drawbox=c=black:t=fill:enable='gte(n,25)'";
    make(
        &a,
        "black_tail",
        &[
            "-f",
            "lavfi",
            "-i",
            "cellauto=s=160x120:r=25:rule=110:seed=5",
            "-vf",
            vf,
        ],
    );
    // A hard cut: a Sierpinski carpet for 25 frames, then the Game of Life (both moving on
    // their own; no noise, whose hue on grey pixels is random).
    make(
        &a,
        "cut",
        &[
            "-f", "lavfi", "-i", "sierpinski=s=160x120:r=25:seed=4", "-f", "lavfi", "-i",
            "life=s=160x120:r=25:mold=10:ratio=0.1:seed=3", "-filter_complex",
            "[0]trim=end_frame=25[x];[1]trim=end_frame=25,setpts=PTS-STARTPTS[y];[x][y]concat=n=2:v=1",
        ],
    );
    // A fade to black over the last second: gradual, no cut. (Noise added after the fade
    // would make the hue of near-black pixels random, which PySceneDetect's content score,
    // and so vdx's, counts as a cut.)
    let vf = format!("{noise},fade=t=out:st=1:d=1");
    make(
        &b,
        "fade",
        &[
            "-f",
            "lavfi",
            "-i",
            "gradients=s=160x120:r=25:speed=0.05:seed=2:n=2:c0=0x4080c0:c1=0xe0c040",
            "-vf",
            &vf,
        ],
    );
    // Frames 10..=30 replaced by frame 10: a frozen run of 21 frames.
    let fc = format!("[0]{noise},split[x][y];[x][y]freezeframes=first=10:last=30:replace=10");
    make(
        &b,
        "frozen",
        &[
            "-f",
            "lavfi",
            "-i",
            "smptebars=s=160x120:r=25",
            "-filter_complex",
            &fc,
        ],
    );
    // 16:9 content letterboxed into 4:3.
    let vf = format!("{noise},pad=160:120:0:15:black");
    make(
        &b,
        "letterbox",
        &["-f", "lavfi", "-i", "pal100bars=s=160x90:r=25", "-vf", &vf],
    );
    // A slideshow: a new still every 10 frames (2.5 pictures a second shown at 25 fps).
    let vf = format!("{noise},fps=25");
    make(
        &b,
        "slideshow",
        &["-f", "lavfi", "-i", "testsrc2=s=160x120:r=2.5", "-vf", &vf],
    );
    // The same clip, and a copy re-encoded at another size and a much lower quality.
    let orig = make(
        &b,
        "orig",
        &["-f", "lavfi", "-i", "mandelbrot=s=160x120:r=25"],
    );
    let copy = a.join("copy.mp4");
    ffmpeg(&[
        "-y",
        "-i",
        orig.to_str().unwrap(),
        "-vf",
        "scale=96:72",
        "-c:v",
        "libx264",
        "-crf",
        "38",
        copy.to_str().unwrap(),
    ]);
    let dataset = dir.path().join("ds.vdx");
    build(&v, &dataset, 50, 1, 64);
    let ds = Dataset::open(&dataset).unwrap();
    let names = (0..ds.len())
        .map(|i| {
            let m = ds.meta(i).unwrap();
            Path::new(m.provenance["source"].as_str().unwrap())
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    Fixtures {
        _dir: dir,
        dataset,
        names,
    }
}

/// `vdx build VIDEOS --out OUT --frames F --num-clips K --size S --quiet`.
fn build(videos: &Path, out: &Path, frames: u32, clips: u32, size: u32) {
    let (f, k, z) = (frames.to_string(), clips.to_string(), size.to_string());
    vdx_ok(&[
        "build",
        videos.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--frames",
        &f,
        "--num-clips",
        &k,
        "--size",
        &z,
        "--quiet",
    ]);
}

fn pass(path: &Path) -> HealthReport {
    let ds = Dataset::open(path).unwrap();
    health::health_pass(
        &ds,
        &HealthOptions::default(),
        &AtomicBool::new(false),
        &|_, _| {},
    )
    .unwrap()
}

#[test]
fn each_check_finds_exactly_the_injected_faults() {
    let f = fixtures();
    let r = pass(&f.dataset);
    assert!(r.unreadable.is_empty(), "{:?}", r.unreadable);
    assert_eq!(r.samples.len(), f.names.len());
    let by: BTreeMap<&str, &health::SampleHealth> =
        f.names.iter().map(|n| n.as_str()).zip(&r.samples).collect();
    let flags = |n: &str| by[n].flags.join(",");
    let want: &[(&str, &str)] = &[
        ("black", "black,frozen,static"),
        ("blank", "blank,frozen,static"),
        ("black_tail", "black,frozen,cut"),
        ("cut", "cut"),
        ("fade", ""),
        ("frozen", "frozen"),
        ("letterbox", "letterbox"),
        ("slideshow", "frozen"),
        ("orig", "duplicate,duplicate_label_conflict"),
        ("copy", "duplicate,duplicate_label_conflict"),
    ];
    let mut wrong = Vec::new();
    for (n, w) in want {
        if flags(n) != *w {
            wrong.push(format!("{n}: flags '{}', expected '{w}'", flags(n)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\nphash: {:?}",
        wrong.join("\n"),
        f.names
            .iter()
            .zip(&r.samples)
            .map(|(n, s)| format!("{n} {}", s.phash))
            .collect::<Vec<_>>()
    );
    assert_eq!(want.len(), by.len(), "every fixture has its expectation");
    // Per flag over the fixtures: precision and recall (both 1.0, as the exact flags above
    // already say; printed for the record).
    let mut names: Vec<&str> = want
        .iter()
        .flat_map(|(_, w)| w.split(','))
        .filter(|f| !f.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    for flag in names {
        let has = |list: &str| list.split(',').any(|f| f == flag);
        let (mut tp, mut fp, mut fnn) = (0, 0, 0);
        for (n, w) in want {
            match (has(&flags(n)), has(w)) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fnn += 1,
                _ => {}
            }
        }
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / (tp + fnn).max(1) as f64;
        eprintln!("{flag:<26} precision {precision:.2} recall {recall:.2} ({tp} found)");
        assert!(precision == 1.0 && recall == 1.0 && tp > 0, "{flag}");
    }

    // Where: the frames of each fault.
    let range = |a: u32, b: u32| (a..b).collect::<Vec<u32>>();
    assert_eq!(by["black"].black_frames, range(0, 50));
    assert_eq!(by["black_tail"].black_frames, range(25, 50));
    assert_eq!(by["black_tail"].cuts, vec![25]);
    assert_eq!(by["black_tail"].frozen_runs, vec![[25, 49]]);
    assert_eq!(by["blank"].blank_frames, range(0, 50));
    assert_eq!(by["cut"].cuts, vec![25]);
    assert!(by["fade"].cuts.is_empty() && by["fade"].frozen_runs.is_empty());
    assert_eq!(by["frozen"].frozen_runs, vec![[10, 30]]);
    assert_eq!(
        by["slideshow"].frozen_runs,
        vec![[0, 9], [10, 19], [20, 29], [30, 39], [40, 49]]
    );
    // 15-pixel bars of 120 rows, stored at 64 rows: 8 rows, less the JPEG ringing at the edge.
    let b = by["letterbox"].bars;
    assert!(
        (6..=8).contains(&b.top) && (6..=8).contains(&b.bottom),
        "{b:?}"
    );
    assert_eq!((b.left, b.right), (0, 0));
    let (o, c) = (
        &f.names.iter().position(|n| n == "orig").unwrap(),
        &f.names.iter().position(|n| n == "copy").unwrap(),
    );
    assert_eq!(
        r.duplicate_groups,
        vec![{
            let mut g = vec![*o as u64, *c as u64];
            g.sort();
            g
        }]
    );
}

#[test]
fn the_sidecar_is_refused_when_stale_or_from_another_dataset() {
    let f = fixtures();
    let r = pass(&f.dataset);
    let p = sidecar::save(&r).unwrap();
    assert_eq!(p, f.dataset.with_file_name("ds.vdx.health.json"));
    let ds = Dataset::open(&f.dataset).unwrap();
    let back = sidecar::load(&ds).unwrap().expect("the sidecar");
    assert_eq!(back.identity, r.identity);
    assert_eq!(back.duplicate_groups, r.duplicate_groups);
    let flags = |r: &HealthReport| {
        r.samples
            .iter()
            .map(|s| s.flags.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(flags(&back), flags(&r));

    // Another dataset's report, copied beside this one.
    let dir = f.dataset.parent().unwrap();
    let other = dir.join("other.vdx");
    vdx_ok(&[
        "build",
        dir.join("videos/a").to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--frames",
        "8",
        "--size",
        "32",
        "--quiet",
    ]);
    std::fs::copy(&p, sidecar::path_for(&other)).unwrap();
    let e = sidecar::load(&Dataset::open(&other).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("other.vdx.health.json") && e.contains("stale"),
        "{e}"
    );

    // The same path rebuilt with other options.
    std::fs::remove_file(&f.dataset).unwrap();
    build(&dir.join("videos"), &f.dataset, 40, 1, 64);
    let e = sidecar::load(&Dataset::open(&f.dataset).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("stale") && e.contains("run the health pass again"),
        "{e}"
    );
}

/// A report saved before identities named what their CRC covers (everything before the first
/// data page) still loads, checked as it was written; reports now cover the header,
/// descriptors, metadata rows and allocation table only (a remote dataset fetches no more for
/// them than its open did).
#[test]
fn a_report_saved_with_the_first_identity_scheme_still_loads() {
    let f = fixtures();
    let r = pass(&f.dataset);
    assert_eq!(r.identity.scheme, 1);
    let ds = Dataset::open(&f.dataset).unwrap();
    let file = ds.files().unwrap()[0];
    let (_, _, data_start) = file.layout();
    let alloc = file.header.alloc_table_ptr;
    let bytes = std::fs::read(&f.dataset).unwrap();
    let old = crc32c::crc32c_append(
        crc32c::crc32c(&bytes[..data_start as usize]),
        &bytes[alloc as usize..],
    );
    assert_ne!(old, r.identity.crc32c);
    let mut v = serde_json::to_value(&r).unwrap();
    v["identity"] = serde_json::json!({"samples": r.identity.samples, "crc32c": old});
    let p = sidecar::path_for(&f.dataset);
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let back = sidecar::load(&ds).unwrap().expect("the old report");
    assert_eq!(back.identity.scheme, 0);
    assert_eq!(back.samples.len(), r.samples.len());
    // The old scheme with a wrong CRC is refused as any stale report.
    v["identity"]["crc32c"] = serde_json::json!(old ^ 1);
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let e = sidecar::load(&ds).unwrap_err().to_string();
    assert!(e.contains("stale"), "{e}");
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn the_cli_reports_saves_and_refuses_bad_parameters() {
    let f = fixtures();
    let d = f.dataset.to_str().unwrap();
    let out = vdx_ok(&["health", d, "--quiet", "--flag", "cut"]);
    assert!(
        out.contains(
            "flags: black 2, blank 1, frozen 5, static 2, cut 2, letterbox 1, duplicate 2"
        ),
        "{out}"
    );
    assert!(out.contains("cuts before [25]"), "{out}");
    assert!(sidecar::path_for(&f.dataset).is_file());
    let j: serde_json::Value =
        serde_json::from_str(&vdx_ok(&["health", d, "--json", "--no-save"])).unwrap();
    assert_eq!(j["samples"].as_array().unwrap().len(), f.names.len());
    assert_eq!(j["thresholds"]["cut_threshold"], 27.0);
    // A threshold changes the verdict: at 200 no content change is a cut.
    let j: serde_json::Value = serde_json::from_str(&vdx_ok(&[
        "health",
        d,
        "--json",
        "--no-save",
        "--threshold",
        "cut_threshold=200",
    ]))
    .unwrap();
    assert!(j["samples"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["cuts"].as_array().unwrap().is_empty()));
    let e = vdx_err(&["health", d, "--threshold", "cut=3"]);
    assert!(e.contains("'cut' is not a threshold"), "{e}");
    let e = vdx_err(&["health", d, "--flag", "sparkly"]);
    assert!(e.contains("'sparkly' is not a health flag"), "{e}");
    let e = vdx_err(&["health", d, "--threshold", "frozen_min_frames=2.5"]);
    assert!(e.contains("must be a whole number"), "{e}");
}

#[test]
fn export_leaves_out_flagged_samples_and_lists_them() {
    let f = fixtures();
    let d = f.dataset.to_str().unwrap();
    let out = f.dataset.with_file_name("clean");
    let o = out.to_str().unwrap();
    let e = vdx_err(&[
        "export",
        d,
        "--format",
        "folders",
        "--exclude",
        "black,duplicate",
        "--out",
        o,
        "--quiet",
    ]);
    assert!(
        e.contains("health report") && e.contains("ds.vdx.health.json"),
        "{e}"
    );
    assert!(!out.exists(), "a refused export leaves nothing");
    vdx_ok(&["health", d, "--quiet"]);
    let msg = vdx_ok(&[
        "export",
        d,
        "--format",
        "folders",
        "--exclude",
        "black,duplicate",
        "--out",
        o,
        "--quiet",
    ]);
    let idx = |n: &str| f.names.iter().position(|x| x == n).unwrap() as u64;
    let mut want = vec![idx("black"), idx("black_tail"), idx("orig"), idx("copy")];
    want.sort();
    assert!(
        msg.contains("left out 4 samples flagged black, duplicate"),
        "{msg}"
    );
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("excluded.json")).unwrap()).unwrap();
    let got: Vec<u64> = j["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["index"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want);
    assert_eq!(j["flags"], serde_json::json!(["black", "duplicate"]));
    // The exported folders are the other samples.
    let folders = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .map(|e| {
            let p = e.unwrap().path();
            std::fs::read_dir(p)
                .unwrap()
                .filter(|x| x.as_ref().unwrap().path().is_dir())
                .count()
        })
        .sum::<usize>();
    assert_eq!(folders, f.names.len() - want.len());
    let o2 = f.dataset.with_file_name("other");
    let e = vdx_err(&[
        "export",
        d,
        "--format",
        "folders",
        "--exclude",
        "sparkly",
        "--out",
        o2.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(e.contains("'sparkly' is not a health flag"), "{e}");
}

/// The segments and flow fields are measured too: a segments sample decodes to the same
/// frames (flags as for frames), a flow sample measures its keyframes and its stored flow
/// (a black, still clip: black, frozen and static from the flow's zero magnitude; no cut
/// detection without consecutive pictures).
#[test]
fn segments_and_flow_samples_are_measured() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("videos");
    std::fs::create_dir_all(&v).unwrap();
    make(
        &v,
        "black",
        &["-f", "lavfi", "-i", "color=black:s=160x120:r=25"],
    );
    let vf = "noise=alls=20:allf=t:all_seed=7";
    make(
        &v,
        "moving",
        &["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25", "-vf", vf],
    );
    for (field, extra) in [("segments", vec!["--keyint", "8"]), ("flow", vec![])] {
        let out = dir.path().join(format!("{field}.vdx"));
        let mut args = vec![
            "build",
            v.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--field",
            field,
            "--frames",
            "16",
            "--num-clips",
            "1",
            "--size",
            "64",
            "--quiet",
        ];
        args.extend(extra);
        vdx_ok(&args);
        let r = pass(&out);
        assert!(r.unreadable.is_empty(), "{field}: {:?}", r.unreadable);
        let flags: Vec<String> = r.samples.iter().map(|s| s.flags.join(",")).collect();
        assert_eq!(
            flags,
            vec!["black,frozen,static".to_string(), String::new()],
            "{field}"
        );
        let moving = &r.samples[1];
        match field {
            "segments" => {
                assert_eq!(moving.positions.len(), 16);
                assert_eq!(moving.content.len(), 15);
            }
            _ => {
                // Keyframes only, flow between every pair, no content scores.
                assert!(moving.positions.len() < 16 && moving.positions[0] == 0);
                assert_eq!(moving.motion.len(), 15);
                assert!(moving.content.is_empty() && moving.cuts.is_empty());
                assert!(moving.motion_mean > 0.1, "{}", moving.motion_mean);
            }
        }
    }
}

#[test]
fn the_pass_stops_when_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("videos");
    std::fs::create_dir_all(&v).unwrap();
    make(
        &v,
        "clip",
        &["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25"],
    );
    let out = dir.path().join("ds.vdx");
    build(&v, &out, 8, 4, 32);
    let ds = Dataset::open(&out).unwrap();
    let cancel = AtomicBool::new(true);
    let r = health::health_pass(&ds, &HealthOptions::default(), &cancel, &|_, _| {});
    assert!(
        matches!(r, Err(vdx::health::HealthError::Cancelled)),
        "{r:?}"
    );
    assert!(
        !sidecar::path_for(&out).exists(),
        "a cancelled pass saves nothing"
    );
}

/// The same clip under two names, one in train and one in val (an annotation dataset), with
/// one label: a duplicate across splits, not a label conflict.
#[test]
fn a_duplicate_across_splits_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("videos");
    std::fs::create_dir_all(&v).unwrap();
    let a = make(
        &v,
        "walk",
        &["-f", "lavfi", "-i", "mandelbrot=s=160x120:r=25"],
    );
    std::fs::copy(&a, v.join("walk_reupload.mp4")).unwrap();
    make(
        &v,
        "other",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=160x120:r=25",
            "-vf",
            "noise=alls=20:allf=t:all_seed=7",
        ],
    );
    let ann = dir.path().join("ann.jsonl");
    std::fs::write(
        &ann,
        concat!(
            r#"{"video": "walk.mp4", "label": "walk", "split": "train"}"#,
            "\n",
            r#"{"video": "walk_reupload.mp4", "label": "walk", "split": "val"}"#,
            "\n",
            r#"{"video": "other.mp4", "label": "walk", "split": "val"}"#,
            "\n",
        ),
    )
    .unwrap();
    let out = dir.path().join("ds.vdx");
    vdx_ok(&[
        "build",
        "--annotations",
        ann.to_str().unwrap(),
        "--videos",
        v.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "16",
        "--num-clips",
        "1",
        "--size",
        "64",
        "--quiet",
    ]);
    let r = pass(&out);
    let flags: Vec<String> = r.samples.iter().map(|s| s.flags.join(",")).collect();
    assert_eq!(
        flags,
        vec![
            "duplicate,duplicate_across_splits",
            "duplicate,duplicate_across_splits",
            ""
        ],
        "{:?}",
        r.samples
            .iter()
            .map(|s| (&s.source, s.split))
            .collect::<Vec<_>>()
    );
    assert_eq!(r.duplicate_groups, vec![vec![0, 1]]);
}

/// The remaining picture flags, each on a fixture made for it (luma-only noise keeps the
/// clips moving without making the hue of grey pixels random): dark, overexposed, pillarbox
/// bars, blurry; each exactly its own flag.
#[test]
fn dark_overexposed_pillarbox_and_blurry_clips_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("videos");
    std::fs::create_dir_all(&v).unwrap();
    let lnoise = |s: u32| format!("noise=c0s={s}:c0f=t:all_seed=7");
    let vf = format!("lutyuv=y=val*0.2,{}", lnoise(12));
    make(
        &v,
        "a_dark",
        &["-f", "lavfi", "-i", "mandelbrot=s=160x120:r=25", "-vf", &vf],
    );
    let vf = format!("lutyuv=y=230+val*0.1,{}", lnoise(12));
    make(
        &v,
        "b_bright",
        &["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25", "-vf", &vf],
    );
    // 60-pixel-wide bars content padded to 160: after the centre crop to 64x64, 15-16
    // columns of bar on each side.
    let vf = format!("{},pad=160:120:50:0:black", lnoise(30));
    make(
        &v,
        "c_pillar",
        &["-f", "lavfi", "-i", "smptehdbars=s=60x120:r=25", "-vf", &vf],
    );
    make(
        &v,
        "d_blur",
        &[
            "-f",
            "lavfi",
            "-i",
            "cellauto=s=160x120:r=25:rule=110:seed=5",
            "-vf",
            "gblur=sigma=8",
        ],
    );
    let out = dir.path().join("ds.vdx");
    build(&v, &out, 50, 1, 64);
    let r = pass(&out);
    let flags: Vec<String> = r.samples.iter().map(|s| s.flags.join(",")).collect();
    assert_eq!(flags, vec!["dark", "overexposed", "pillarbox", "blurry"]);
    let b = r.samples[2].bars;
    assert!(
        (14..=17).contains(&b.left) && (14..=17).contains(&b.right),
        "{b:?}"
    );
    assert_eq!((b.top, b.bottom), (0, 0));
}
