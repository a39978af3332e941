//! Probe: container and stream facts, compared with ffprobe where it has the same key.

mod common;

use common::*;
use std::process::Command;
use vdx::{probe, ProbeBudget};

fn ffprobe_json(file: &std::path::Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(file)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn probe_agrees_with_ffprobe_on_every_fixture() {
    for f in video_fixtures().into_iter().chain(real_world_fixtures()) {
        let p = probe(&f, &ProbeBudget::default()).unwrap_or_else(|e| panic!("{e}"));
        let ff = ffprobe_json(&f);
        let name = f.display();
        assert_eq!(
            p.format.format_name,
            ff["format"]["format_name"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            p.streams.len(),
            ff["streams"].as_array().unwrap().len(),
            "{name}"
        );
        for (ours, theirs) in p.streams.iter().zip(ff["streams"].as_array().unwrap()) {
            assert_eq!(
                ours.codec_type,
                theirs["codec_type"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                ours.codec_name,
                theirs["codec_name"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                ours.time_base,
                theirs["time_base"].as_str().unwrap(),
                "{name}"
            );
            if ours.codec_type == "video" {
                assert_eq!(
                    ours.width,
                    theirs["width"].as_u64().map(|v| v as u32),
                    "{name}"
                );
                assert_eq!(
                    ours.height,
                    theirs["height"].as_u64().map(|v| v as u32),
                    "{name}"
                );
                assert_eq!(
                    ours.pix_fmt.as_deref(),
                    theirs["pix_fmt"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    ours.r_frame_rate.as_deref(),
                    theirs["r_frame_rate"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    ours.profile.as_deref(),
                    theirs["profile"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    ours.color_range.as_deref(),
                    theirs["color_range"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    ours.color_space.as_deref(),
                    theirs["color_space"].as_str(),
                    "{name}"
                );
            }
            if ours.codec_type == "audio" {
                assert_eq!(
                    ours.sample_rate.map(|r| r.to_string()).as_deref(),
                    theirs["sample_rate"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    ours.channels,
                    theirs["channels"].as_u64().map(|v| v as u32),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn probe_reports_bit_depth_rotation_and_streams() {
    let p = probe(&fixture("hevc_10bit.mkv"), &ProbeBudget::default()).unwrap();
    let v = p.best_video().unwrap();
    assert_eq!(v.pix_fmt.as_deref(), Some("yuv420p10le"));
    assert_eq!(v.bit_depth, Some(10));
    assert_eq!(v.profile.as_deref(), Some("Main 10"));

    let p = probe(&fixture("rotate90.mp4"), &ProbeBudget::default()).unwrap();
    let v = p.best_video().unwrap();
    // `-metadata:s:v:0 rotate=90` gives a display matrix that ffprobe reports as rotation=90
    // (counter-clockwise) and that ffmpeg's autorotate shows turned 90 degrees counter-clockwise.
    assert_eq!(v.rotation, Some(90.0));
    assert_eq!(v.rotate_cw, Some(270));
    assert_eq!((v.width, v.height), (Some(192), Some(108)));
    assert_eq!((v.display_width, v.display_height), (Some(108), Some(192)));

    let p = probe(&fixture("subs.mkv"), &ProbeBudget::default()).unwrap();
    let kinds: Vec<&str> = p.streams.iter().map(|s| s.codec_type.as_str()).collect();
    assert_eq!(kinds, ["video", "audio", "subtitle"]);
    assert_eq!(p.streams[1].codec_name, "opus");
    assert_eq!(p.streams[2].codec_name, "subrip");
    assert_eq!(p.streams[1].channel_layout.as_deref(), Some("mono"));

    let p = probe(&fixture("h264_bframes.mp4"), &ProbeBudget::default()).unwrap();
    let v = p.best_video().unwrap();
    assert_eq!((v.coded_width, v.coded_height), (Some(192), Some(112)));
    assert_eq!(v.nb_frames, Some(90));
    assert!((p.format.duration.unwrap() - 3.0).abs() < 0.05);
}

#[test]
fn probe_budget_is_bounded_and_reported() {
    let b = ProbeBudget {
        probesize_bytes: 4096,
        analyze_duration_us: 100_000,
    };
    let p = probe(&fixture("h264_bframes.mp4"), &b).unwrap();
    assert_eq!(p.probe_budget, b);
    assert_eq!(p.best_video().unwrap().width, Some(192));
}

#[test]
fn cli_probe_json_uses_ffprobe_keys_and_reports_each_failure() {
    let good = fixture("h264_bframes.mp4");
    let bad = fixture("text.mp4");
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["probe", "--json"])
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "one file failed, so the exit code says so"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["streams"][0]["codec_name"], "h264");
    assert_eq!(v[0]["format"]["nb_streams"], 2);
    assert!(v[1]["error"].as_str().unwrap().contains("text.mp4"));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("text.mp4") && err.contains("not a readable video file"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .arg("probe")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("h264 (High)") && table.contains("192x108"),
        "{table}"
    );
}

/// The fast path (header + bitstream parser, no decoding) must report exactly what FFmpeg's
/// full stream analysis reports, field for field, on every fixture it takes.
#[test]
fn fast_probe_equals_full_analysis() {
    use vdx::probe::{probe_with, ProbeMode};
    for f in video_fixtures().into_iter().chain(real_world_fixtures()) {
        let b = ProbeBudget::default();
        let fast = probe_with(&f, &b, ProbeMode::Fast).unwrap();
        let full = probe_with(&f, &b, ProbeMode::Full).unwrap();
        let mut a = serde_json::to_value(&fast).unwrap();
        let mut z = serde_json::to_value(&full).unwrap();
        // The bit rate FFmpeg derives after analysis is size*8/duration as well, but rounded
        // through its own timing estimate; compare within 1%.
        let (ba, bz) = (
            a["format"]["bit_rate"].as_f64().unwrap_or(0.0),
            z["format"]["bit_rate"].as_f64().unwrap_or(0.0),
        );
        assert!(
            (ba - bz).abs() <= 0.01 * bz.max(1.0),
            "{}: {ba} vs {bz}",
            f.display()
        );
        a["format"]["bit_rate"] = serde_json::Value::Null;
        let ext = f.extension().unwrap().to_str().unwrap();
        let name = f.file_name().unwrap().to_str().unwrap();
        let vcodec = full
            .best_video()
            .map(|v| v.codec_name.clone())
            .unwrap_or_default();
        // H.264/H.265 in MP4 with a constant frame rate: the fast path must be taken.
        if matches!(ext, "mp4" | "mov")
            && matches!(vcodec.as_str(), "h264" | "hevc")
            && !name.contains("vfr")
        {
            assert_eq!(fast.probe_method, "header", "{}", f.display());
        }
        assert_eq!(full.probe_method, "analysis");
        a["probe_method"] = serde_json::Value::Null;
        z["probe_method"] = serde_json::Value::Null;
        z["format"]["bit_rate"] = serde_json::Value::Null;
        let (fa, fz) = (flatten(&a), flatten(&z));
        let diff: Vec<String> = fa
            .iter()
            .filter(|kv| !fz.contains(kv))
            .map(|kv| format!("fast {kv}"))
            .chain(
                fz.iter()
                    .filter(|kv| !fa.contains(kv))
                    .map(|kv| format!("full {kv}")),
            )
            .collect();
        assert!(
            diff.is_empty(),
            "{}: fast and full probes differ:\n{}",
            f.display(),
            diff.join("\n")
        );
    }
}

/// `path = value` lines of a JSON value, for readable differences.
fn flatten(v: &serde_json::Value) -> Vec<String> {
    fn go(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    go(x, format!("{at}.{k}"), out)
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    go(x, format!("{at}[{i}]"), out)
                }
            }
            other => out.push(format!("{at} = {other}")),
        }
    }
    let mut out = Vec::new();
    go(v, String::new(), &mut out);
    out
}

/// An SPS crop FFmpeg applies only in part: the MP4 header says 352x256 and the crop 336x256,
/// but FFmpeg's decoder keeps the 6-pixel left crop (alignment) and gives 342x256 frames.
/// The probe says what the frames will be, warns in JSON and in text, and `vdx frames`
/// writes pictures of that size. An ordinary file gets neither key.
#[test]
fn probe_reports_the_decoded_size_where_ffmpeg_keeps_part_of_the_crop() {
    let f = fixture("h264_leftcrop.mp4");
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["probe", "--json"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    assert_eq!(s["codec_type"], "video");
    assert_eq!((&s["width"], &s["height"]), (&352.into(), &256.into()));
    assert_eq!(s["frame_width"], 342, "{s}");
    assert_eq!(s["frame_height"], 256, "{s}");
    let warnings = s["warnings"].as_array().expect("a warnings list");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("342x256"))),
        "{warnings:?}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .arg("probe")
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("warning:") && l.contains("342x256")),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let o = vdx_ok(&[
        "frames",
        f.to_str().unwrap(),
        "--at",
        "0",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let pngs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(pngs.len(), 1, "{o}");
    let png = std::fs::read(&pngs[0]).unwrap();
    assert_eq!(&png[12..16], b"IHDR");
    let dim = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((dim(16), dim(20)), (342, 256), "{}", pngs[0].display());

    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["probe", "--json"])
        .arg(fixture("h264_bframes.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let streams = v["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2);
    for s in streams {
        let keys = s.as_object().unwrap();
        assert!(
            !keys.contains_key("frame_width")
                && !keys.contains_key("frame_height")
                && !keys.contains_key("warnings"),
            "{s}"
        );
    }
}
