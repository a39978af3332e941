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
