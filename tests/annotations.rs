//! Datasets defined by annotation files: clips are sampled inside each row's segment (frames
//! chosen by their timestamps), every label, split, segment and row id is kept in the
//! sample's provenance, missing videos are listed, and malformed files are refused naming
//! the file, the line and the column.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Each frame's time in seconds from the first frame, as FFmpeg's decode gives it.
fn frame_times(file: &Path) -> Vec<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=best_effort_timestamp_time",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    let t: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().trim_end_matches(','))
        .filter(|l| !l.is_empty() && !l.starts_with("side_data"))
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(t.len() > 10, "{}: {} frame times", file.display(), t.len());
    t.iter().map(|x| x - t[0]).collect()
}

/// Two untrimmed videos under `videos/`: a B-frame MP4 (3 s, 30 fps) and a VFR MP4.
fn videos() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("videos");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(fixture("h264_bframes.mp4"), root.join("vidA.mp4")).unwrap();
    std::fs::copy(fixture("vfr.mp4"), root.join("vidB.mp4")).unwrap();
    (d, root)
}

fn inspect_sample(ds: &Path, i: usize) -> serde_json::Value {
    let out = vdx_ok(&[
        "inspect",
        ds.to_str().unwrap(),
        "--json",
        "--sample",
        &i.to_string(),
    ]);
    serde_json::from_str(&out).unwrap()
}

const KINETICS: &str = "label,youtube_id,time_start,time_end,split\n\
jump,vidA,0.5,1.5,train\n\
\"run, fast\",vidA,2,2.9,val\n\
jump,vidB,1,2.5,train\n\
swim,gone,0,10,train\n";

#[test]
fn kinetics_segments_give_clips_inside_them_with_labels_splits_and_ids() {
    let (d, root) = videos();
    let csv = d.path().join("kinetics_700.csv");
    std::fs::write(&csv, KINETICS).unwrap();
    let out = d.path().join("k.vdx");
    let o = vdx(&[
        "build",
        "--annotations",
        csv.to_str().unwrap(),
        "--videos",
        root.to_str().unwrap(),
        "--format",
        "kinetics",
        "--filename-pattern",
        "{youtube_id}.mp4",
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "8",
        "--num-clips",
        "2",
        "--size",
        "32",
        "--keep-going",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // The missing video is named and listed in a file beside the output.
    assert!(err.contains("gone.mp4") && err.contains("1 of 4"), "{err}");
    let missing = std::fs::read_to_string(format!("{}.missing.txt", out.display())).unwrap();
    assert!(
        missing.contains("gone.mp4") && missing.contains("line 5"),
        "{missing}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&vdx_ok(&["inspect", out.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(summary["samples"].as_array().unwrap().len(), 6);
    // Splits x classes: train has two "jump" samples from row 2 and two from row 4.
    assert_eq!(
        summary["split_counts"]["train"]["jump"], 4,
        "{}",
        summary["split_counts"]
    );
    assert_eq!(
        summary["split_counts"]["val"]["run, fast"], 2,
        "{}",
        summary["split_counts"]
    );
    let info = &summary["info"];
    // Classes come from the whole file, missing videos included, so they do not depend on
    // which videos a machine has.
    assert_eq!(
        info["classes"],
        serde_json::json!(["jump", "run, fast", "swim"]),
        "{info}"
    );
    assert_eq!(
        info["splits"],
        serde_json::json!(["train", "val"]),
        "{info}"
    );
    assert_eq!(info["annotations"]["format"], "kinetics");
    assert_eq!(info["annotations"]["missing_videos"], 1);

    // (row line, video, segment, class, split) of the three rows that have a video.
    let rows = [
        (2, "vidA.mp4", (0.5, 1.5), 0, 0),
        (3, "vidA.mp4", (2.0, 2.9), 1, 1),
        (4, "vidB.mp4", (1.0, 2.5), 0, 0),
    ];
    let mut checked = 0;
    for (k, &(line, video, (s, e), class, split)) in rows.iter().enumerate() {
        let times = frame_times(&root.join(video));
        let inside: Vec<usize> = (0..times.len())
            .filter(|&i| times[i] >= s - 1e-6 && times[i] < e - 1e-6)
            .collect();
        for c in 0..2 {
            let v = inspect_sample(&out, k * 2 + c);
            let p = &v["provenance"];
            assert!(p["source"].as_str().unwrap().ends_with(video), "{p}");
            assert_eq!(p["annotation_line"], line, "{p}");
            assert_eq!(p["labels"], serde_json::json!([class]), "{p}");
            assert_eq!(p["split"], split, "{p}");
            assert_eq!(v["label"], class, "{v}");
            assert_eq!(p["segment"]["start_secs"].as_f64(), Some(s), "{p}");
            assert_eq!(p["segment"]["end_secs"].as_f64(), Some(e), "{p}");
            let seg_frames = [inside[0], inside[inside.len() - 1] + 1];
            assert_eq!(p["segment"]["frames"], serde_json::json!(seg_frames), "{p}");
            let frames: Vec<usize> = p["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(frames.len(), 8);
            for f in &frames {
                assert!(
                    inside.contains(f),
                    "row {line} clip {c}: frame {f} ({} s) is outside [{s}, {e})",
                    times[*f]
                );
            }
            // Uniform clips: the first clip starts at the segment's first frame, the last
            // ends at its last frame.
            if c == 0 {
                assert_eq!(frames[0], inside[0], "{p}");
            } else {
                assert_eq!(*frames.last().unwrap(), *inside.last().unwrap(), "{p}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
    vdx_ok(&["verify", out.to_str().unwrap()]);
}

#[test]
fn trimmed_kinetics_names_take_the_whole_file() {
    let (d, root) = videos();
    std::fs::copy(root.join("vidA.mp4"), root.join("vidA_000001_000003.mp4")).unwrap();
    let csv = d.path().join("k.csv");
    std::fs::write(
        &csv,
        "label,youtube_id,time_start,time_end,split\njump,vidA,1,3,train\n",
    )
    .unwrap();
    let out = d.path().join("t.vdx");
    vdx_ok(&[
        "build",
        "--annotations",
        csv.to_str().unwrap(),
        "--videos",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "4",
        "--size",
        "32",
        "--quiet",
    ]);
    let p = inspect_sample(&out, 0)["provenance"].clone();
    assert!(
        p["source"]
            .as_str()
            .unwrap()
            .ends_with("vidA_000001_000003.mp4"),
        "{p}"
    );
    assert!(
        p.get("segment").is_none(),
        "a trimmed clip is the whole file: {p}"
    );
    // Uniform over the whole file: the clip ends on its last frame.
    let n = frame_times(&root.join("vidA_000001_000003.mp4")).len();
    assert_eq!(p["frames"][3], n - 1, "{p}");
}

#[test]
fn a_missing_video_stops_the_build_unless_keep_going_and_nothing_is_written() {
    let (d, root) = videos();
    let csv = d.path().join("kinetics.csv");
    std::fs::write(&csv, KINETICS).unwrap();
    let out = d.path().join("k.vdx");
    let err = vdx_err(&[
        "build",
        "--annotations",
        csv.to_str().unwrap(),
        "--videos",
        root.to_str().unwrap(),
        "--filename-pattern",
        "{youtube_id}.mp4",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        err.contains("1 of 4 rows") && err.contains("gone.mp4") && err.contains("--keep-going"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn a_segment_past_the_end_and_a_bad_time_are_named_by_file_line_and_column() {
    let (d, root) = videos();
    let csv = d.path().join("kinetics.csv");
    std::fs::write(
        &csv,
        "label,youtube_id,time_start,time_end,split\njump,vidA,0,1,train\njump,vidA,9,12,train\n",
    )
    .unwrap();
    let out = d.path().join("k.vdx");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "build",
            "--annotations",
            csv.to_str().unwrap(),
            "--videos",
            root.to_str().unwrap(),
            "--filename-pattern",
            "{youtube_id}.mp4",
            "--out",
            out.to_str().unwrap(),
            "--frames",
            "4",
            "--size",
            "32",
            "--quiet",
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let a = args(&[]);
    let err = vdx_err(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains("kinetics.csv")
            && err.contains("line 3")
            && err.contains("past the video's end"),
        "{err}"
    );
    assert!(!out.exists());
    // With --keep-going the row is skipped and named; the good row is built.
    let a = args(&["--keep-going"]);
    let o = vdx(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("line 3"), "{text}");
    let summary: serde_json::Value =
        serde_json::from_str(&vdx_ok(&["inspect", out.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(summary["samples"].as_array().unwrap().len(), 1);

    std::fs::write(
        &csv,
        "label,youtube_id,time_start,time_end,split\njump,vidA,0,1,train\njump,vidA,abc,2,train\n",
    )
    .unwrap();
    let _ = std::fs::remove_file(&out);
    let a = args(&[]);
    let err = vdx_err(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains("kinetics.csv") && err.contains("line 3") && err.contains("time_start"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Charades-style overlapping multi-label rows: every label is kept, the first is the
/// sample's label, and clips stay inside each action's segment.
#[test]
fn charades_overlapping_actions_keep_every_label() {
    let (d, root) = videos();
    let csv = d.path().join("Charades_v1_train.csv");
    std::fs::write(
        &csv,
        "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\n\
         vidA,s1,Kitchen,6,7,Yes,script,cup,desc,c002 0.20 2.00;c001 1.00 2.80,3.0\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("Charades_v1_classes.txt"),
        "c000 Holding some clothes\nc001 Putting clothes somewhere\nc002 Taking some clothes\n",
    )
    .unwrap();
    let out = d.path().join("c.vdx");
    vdx_ok(&[
        "build",
        "--annotations",
        csv.to_str().unwrap(),
        "--videos",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "4",
        "--size",
        "32",
        "--quiet",
    ]);
    let a = inspect_sample(&out, 0);
    let b = inspect_sample(&out, 1);
    assert_eq!(a["provenance"]["labels"], serde_json::json!([2, 1]), "{a}");
    assert_eq!(a["label"], 2);
    assert_eq!(b["provenance"]["labels"], serde_json::json!([1, 2]), "{b}");
    assert_eq!(a["provenance"]["row_id"], "vidA#0");
    assert_eq!(a["provenance"]["split"], 0);
    let times = frame_times(&root.join("vidA.mp4"));
    for (v, (s, e)) in [(&a, (0.2, 2.0)), (&b, (1.0, 2.8))] {
        for f in v["provenance"]["frames"].as_array().unwrap() {
            let t = times[f.as_u64().unwrap() as usize];
            assert!(t >= s - 1e-6 && t < e, "frame at {t} s outside [{s}, {e})");
        }
    }
    vdx_ok(&["verify", out.to_str().unwrap()]);
}

#[test]
fn exports_keep_stored_splits_and_every_label() {
    let (d, root) = videos();
    let csv = d.path().join("clips.csv");
    // Multi-label rows (labels separated by '|') in two splits.
    std::fs::write(
        &csv,
        "path,labels,t0,t1,subset\n\
         vidA.mp4,jump|run,0.2,1.4,train\n\
         vidA.mp4,swim,1.5,2.9,val\n\
         vidB.mp4,run,0.5,2.0,train\n",
    )
    .unwrap();
    let out = d.path().join("m.vdx");
    vdx_ok(&[
        "build",
        "--annotations",
        csv.to_str().unwrap(),
        "--videos",
        root.to_str().unwrap(),
        "--format",
        "csv",
        "--columns",
        "video=path,label=labels,start=t0,end=t1,split=subset",
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "4",
        "--size",
        "32",
        "--quiet",
    ]);
    let summary: serde_json::Value =
        serde_json::from_str(&vdx_ok(&["inspect", out.to_str().unwrap(), "--json"])).unwrap();
    let classes: Vec<String> = serde_json::from_value(summary["info"]["classes"].clone()).unwrap();
    let n = summary["samples"].as_array().unwrap().len();
    assert_eq!(n, 3, "{summary}");
    let samples: Vec<serde_json::Value> = (0..n).map(|i| inspect_sample(&out, i)).collect();
    let split_of = |s: &serde_json::Value| -> String {
        summary["info"]["splits"][s["provenance"]["split"].as_u64().unwrap() as usize]
            .as_str()
            .unwrap()
            .to_string()
    };

    // npy: one folder per stored split; label arrays beside the clips equal the dataset's.
    let npy = d.path().join("npy");
    vdx_ok(&[
        "export",
        out.to_str().unwrap(),
        "--format",
        "npy",
        "--out",
        npy.to_str().unwrap(),
        "--quiet",
    ]);
    let mut seen = 0;
    for split in ["train", "val"] {
        let dir = npy.join(split);
        let meta: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(dir.join("shard_00000.json")).unwrap()).unwrap();
        let want: Vec<&serde_json::Value> =
            samples.iter().filter(|s| split_of(s) == split).collect();
        assert_eq!(meta.len(), want.len(), "{split}: {meta:?}");
        let hot = std::fs::read(dir.join("multi_hot_00000.npy")).unwrap();
        let labels = std::fs::read(dir.join("labels_00000.npy")).unwrap();
        let hot_data = &hot[hot.len() - meta.len() * classes.len()..];
        let label_data = &labels[labels.len() - meta.len() * 8..];
        for (r, (m, s)) in meta.iter().zip(&want).enumerate() {
            assert_eq!(m["split"], split);
            assert_eq!(m["labels"], s["provenance"]["labels"], "{m}");
            let names: Vec<&str> = m["classes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            let idx: Vec<usize> = s["provenance"]["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(
                names,
                idx.iter().map(|&k| classes[k].as_str()).collect::<Vec<_>>()
            );
            let row = &hot_data[r * classes.len()..(r + 1) * classes.len()];
            for (c, &v) in row.iter().enumerate() {
                assert_eq!(v == 1, idx.contains(&c), "{split} row {r} class {c}");
            }
            let first = i64::from_le_bytes(label_data[r * 8..r * 8 + 8].try_into().unwrap());
            assert_eq!(first, s["label"].as_i64().unwrap());
            seen += 1;
        }
    }
    assert_eq!(seen, 3);
    let jump_run = samples
        .iter()
        .find(|s| s["provenance"]["labels"].as_array().unwrap().len() == 2)
        .expect("the multi-label row");
    assert_eq!(split_of(jump_run), "train");

    // WebDataset: each sample's .json carries its labels, class names and split.
    let wds = d.path().join("wds");
    vdx_ok(&[
        "export",
        out.to_str().unwrap(),
        "--format",
        "wds",
        "--out",
        wds.to_str().unwrap(),
        "--splits",
        "val",
        "--quiet",
    ]);
    let tars: Vec<PathBuf> = std::fs::read_dir(wds.join("val"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tar"))
        .collect();
    assert_eq!(tars.len(), 1, "{tars:?}");
    assert!(!wds.join("train").exists(), "--splits val keeps val only");
    let tar = std::fs::read(&tars[0]).unwrap();
    let jsons = tar_json_members(&tar);
    assert_eq!(jsons.len(), 1, "one val sample");
    assert_eq!(jsons[0]["split"], "val");
    assert_eq!(jsons[0]["classes"], serde_json::json!(["swim"]));

    // An unknown split is refused, naming the ones there are.
    let o = vdx(&[
        "export",
        out.to_str().unwrap(),
        "--format",
        "npy",
        "--out",
        d.path().join("x").to_str().unwrap(),
        "--splits",
        "test",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("--splits") && err.contains("'test'") && err.contains("train, val"),
        "{err}"
    );
}

/// The `.json` members of a (ustar) tar archive, parsed.
fn tar_json_members(tar: &[u8]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let name = String::from_utf8_lossy(&h[..100])
            .trim_end_matches('\0')
            .to_string();
        let size_text = String::from_utf8_lossy(&h[124..136]);
        let size =
            usize::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
                .unwrap();
        let data = &tar[at + 512..at + 512 + size];
        if name.ends_with(".json") {
            out.push(serde_json::from_slice(data).unwrap());
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

#[test]
fn segments_of_a_long_video_decode_only_their_keyframe_groups_and_index_it_once() {
    // 60 s at 30 fps, a keyframe every second exactly: six 5 s segments, each starting on a
    // keyframe, cover 6 x 5 groups = 900 frames.
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("videos");
    std::fs::create_dir_all(&root).unwrap();
    let video = root.join("long.mp4");
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=s=96x64:r=30:d=60")
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
            "-keyint_min",
            "30",
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-threads",
            "1",
        ])
        .arg(&video)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ann = d.path().join("segments.jsonl");
    let rows: String = [0, 10, 20, 30, 40, 50]
        .iter()
        .map(|s| {
            format!(
                "{{\"video\": \"long.mp4\", \"start\": {s}, \"end\": {}, \"label\": \"x{}\"}}\n",
                s + 5,
                s % 20
            )
        })
        .collect();
    std::fs::write(&ann, rows).unwrap();
    let req = vdx::dataset::BuildRequest {
        annotations: Some(ann),
        videos: Some(root),
        out: d.path().join("long.vdx"),
        frames: 8,
        num_clips: 2,
        size: "32".into(),
        threads: 1,
        ..Default::default()
    };
    let outcome = req
        .run(
            &std::sync::atomic::AtomicBool::new(false),
            &vdx::dataset::BuildHooks {
                progress: &|_, _| {},
                left_out: &|_, _| {},
                note: &|_| {},
            },
        )
        .unwrap();
    let vdx::dataset::BuildOutcome::Built(report) = outcome else {
        panic!("built")
    };
    assert_eq!(report.samples, 12);
    let groups = 6 * 5 * 30;
    eprintln!(
        "decoded {} frames; the segments' groups hold {groups}",
        report.frames_decoded
    );
    // At least the sampled frames themselves; at most 1.2x the segments' groups (the whole
    // video for every row would be 6 x 1800).
    assert!(
        report.frames_decoded >= 12 * 8 && report.frames_decoded as f64 <= 1.2 * groups as f64,
        "decoded {} frames for segments whose groups hold {groups}",
        report.frames_decoded
    );
}

#[test]
fn inspect_checks_short_segments_overlaps_leakage_and_duplicate_rows() {
    let (d, root) = videos();
    let ann = d.path().join("rows.jsonl");
    std::fs::write(
        &ann,
        concat!(
            r#"{"id": "r1", "video": "vidA.mp4", "start": 0.2, "end": 1.4, "label": "jump", "split": "train"}"#,
            "\n",
            r#"{"id": "r2", "video": "vidA.mp4", "start": 1.0, "end": 2.0, "label": "run", "split": "val"}"#,
            "\n",
            r#"{"id": "r3", "video": "vidA.mp4", "start": 0.2, "end": 1.4, "label": "jump", "split": "train"}"#,
            "\n",
            r#"{"id": "r4", "video": "vidB.mp4", "start": 1.0, "end": 1.1, "label": "run", "split": "train"}"#,
            "\n",
        ),
    )
    .unwrap();
    let out = d.path().join("c.vdx");
    vdx_ok(&[
        "build",
        "--annotations",
        ann.to_str().unwrap(),
        "--videos",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "8",
        "--size",
        "32",
        "--quiet",
    ]);
    let j: serde_json::Value =
        serde_json::from_str(&vdx_ok(&["inspect", out.to_str().unwrap(), "--json"])).unwrap();
    let c = &j["checks"];
    assert_eq!(c["rows"], 4, "{c}");
    // r4: a 0.1 s segment (6 frames of the VFR video) for 8-frame clips: the clip repeats
    // frames to fill 8 positions.
    assert_eq!(c["short_segments"]["count"], 1, "{c}");
    let short = &c["short_segments"]["listed"][0];
    assert_eq!(short["row_id"], "r4");
    assert_eq!(short["clip_frames"], 8);
    let seg = short["frames"].as_array().unwrap();
    let len = seg[1].as_u64().unwrap() - seg[0].as_u64().unwrap();
    let sample = inspect_sample(&out, short["samples"][0].as_u64().unwrap() as usize);
    assert!(
        len < 8 && short["repeated"].as_u64().unwrap() == 8 - len,
        "{short}\n{}",
        sample["provenance"]
    );
    // r1 and r3 (jump) each overlap r2 (run); r1 and r3 agree, so they are not an overlap
    // of different labels, but they are duplicate rows.
    assert_eq!(c["overlaps"]["count"], 2, "{c}");
    let pairs: Vec<(String, String)> = c["overlaps"]["listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["a"].as_str().unwrap().into(),
                o["b"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("r1".to_string(), "r2".to_string()),
            ("r3".into(), "r2".into())
        ]
    );
    assert_eq!(c["leakage"]["count"], 1, "{c}");
    assert!(c["leakage"]["listed"][0]["source"]
        .as_str()
        .unwrap()
        .ends_with("vidA.mp4"));
    assert_eq!(
        c["leakage"]["listed"][0]["splits"],
        serde_json::json!(["train", "val"])
    );
    assert_eq!(c["duplicate_rows"]["count"], 1, "{c}");
    assert_eq!(
        c["duplicate_rows"]["listed"][0]["rows"],
        serde_json::json!(["r1", "r3"])
    );
    // The text summary says the same.
    let text = vdx_ok(&["inspect", out.to_str().unwrap()]);
    for want in [
        "4 annotation rows",
        "1 segments shorter than a clip",
        "2 overlapping segments with different labels",
        "1 videos in more than one split (leakage)",
        "1 duplicate rows",
    ] {
        assert!(text.contains(want), "missing '{want}' in:\n{text}");
    }
}

#[test]
fn a_dry_run_plans_lists_missing_videos_and_writes_no_dataset() {
    let (d, root) = videos();
    let csv = d.path().join("kinetics_700.csv");
    std::fs::write(&csv, KINETICS).unwrap();
    let out = d.path().join("k.vdx");
    // Without --keep-going a missing video stops a build; a dry run reports it instead.
    let text = vdx_ok(&[
        "build",
        "--annotations",
        csv.to_str().unwrap(),
        "--videos",
        root.to_str().unwrap(),
        "--filename-pattern",
        "{youtube_id}.mp4",
        "--out",
        out.to_str().unwrap(),
        "--dry-run",
        "--quiet",
    ]);
    assert!(
        text.contains("plan: 3 inputs from 2 videos, 3 classes, splits: train 2, val 1, 1 annotated videos missing"),
        "{text}"
    );
    assert!(!out.exists(), "a dry run writes no dataset");
    let missing = std::fs::read_to_string(format!("{}.missing.txt", out.display())).unwrap();
    assert!(
        missing.contains("gone.mp4") && missing.contains("line 5"),
        "{missing}"
    );
}
