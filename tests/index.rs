//! The packet index against ffprobe: frame counts, keyframe positions, VFR timestamps.

mod common;

use common::*;
use std::path::Path;
use vdx::index::{build_index, IndexOptions};
use vdx::FrameType;

fn check_against_ffprobe(file: &Path) {
    let idx = build_index(file, &IndexOptions::default())
        .unwrap_or_else(|e| panic!("index {}: {e}", file.display()));
    let name = file.display();
    assert_eq!(
        idx.len(),
        ffprobe_frame_count(file),
        "{name}: frame count vs ffprobe -count_frames"
    );
    let pk = ffprobe_packets(file);
    assert_eq!(
        idx.len(),
        pk.len(),
        "{name}: packet count vs ffprobe -show_packets"
    );
    let our_pts: Vec<i64> = idx.frames.iter().map(|f| f.pts).collect();
    let their_pts: Vec<i64> = pk.iter().map(|p| p.0).collect();
    assert_eq!(our_pts, their_pts, "{name}: pts in presentation order");
    let our_keys = idx.keyframes.clone();
    let their_keys: Vec<usize> = pk
        .iter()
        .enumerate()
        .filter(|(_, p)| p.1)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(our_keys, their_keys, "{name}: keyframe positions");
    assert!(!idx.truncated, "{name}: not truncated");
    // Decode order is a permutation.
    let mut dec: Vec<u32> = idx.frames.iter().map(|f| f.decode_index).collect();
    dec.sort_unstable();
    assert!(
        dec.iter().enumerate().all(|(i, &d)| d as usize == i),
        "{name}: decode order"
    );
    // Every keyframe is typed I.
    for &k in &idx.keyframes {
        assert_eq!(
            idx.frames[k].frame_type,
            FrameType::I,
            "{name}: keyframe {k} typed I"
        );
    }
}

#[test]
fn index_matches_ffprobe_on_every_fixture() {
    for f in video_fixtures() {
        check_against_ffprobe(&f);
    }
}

#[test]
#[ignore = "needs the generated corpus: make corpus-test (sets VDX_CORPUS)"]
fn index_matches_ffprobe_on_the_corpus_when_available() {
    for f in corpus_files() {
        check_against_ffprobe(&f);
    }
}

#[test]
fn frame_types_show_b_frames_and_gops() {
    let idx = build_index(&fixture("h264_bframes.mp4"), &IndexOptions::default()).unwrap();
    assert_eq!(idx.len(), 90);
    assert_eq!(idx.keyframes, vec![0, 24, 48, 72]);
    assert_eq!(idx.gop_lengths(), vec![24, 24, 24, 18]);
    let b = idx
        .frames
        .iter()
        .filter(|f| f.frame_type == FrameType::B)
        .count();
    let p = idx
        .frames
        .iter()
        .filter(|f| f.frame_type == FrameType::P)
        .count();
    assert!(b > 20, "B-frames found: {b}");
    assert!(p > 5, "P-frames found: {p}");
    assert_eq!(b + p + 4, 90);
    // A B-frame comes later in decode order than the P-frame after it.
    let first_b = idx
        .frames
        .iter()
        .position(|f| f.frame_type == FrameType::B)
        .unwrap();
    assert!(
        idx.frames[first_b].decode_index > idx.frames[first_b + 1].decode_index
            || idx.frames[first_b + 1].frame_type == FrameType::B
    );
    // Frame types without the parser are unknown except keyframes.
    let raw = build_index(
        &fixture("h264_bframes.mp4"),
        &IndexOptions {
            frame_types: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        raw.frames
            .iter()
            .filter(|f| f.frame_type == FrameType::I)
            .count(),
        4
    );
}

#[test]
fn vfr_timestamps_are_real_and_flagged() {
    let f = fixture("vfr.mp4");
    let idx = build_index(&f, &IndexOptions::default()).unwrap();
    // 30 fps for 1 s, 60 fps for 1 s, 15 fps for 1 s.
    assert_eq!(idx.len(), 30 + 60 + 15);
    assert!(idx.is_vfr());
    assert!(
        idx.warnings
            .iter()
            .any(|w| w.contains("variable frame rate")),
        "{:?}",
        idx.warnings
    );
    let t = |i: usize| idx.time_secs(i);
    assert!((t(1) - t(0) - 1.0 / 30.0).abs() < 1e-3);
    assert!((t(31) - t(30) - 1.0 / 60.0).abs() < 1e-3);
    assert!((t(91) - t(90) - 1.0 / 15.0).abs() < 1e-3);
    // frame_at_time picks the frame shown at that time.
    assert_eq!(idx.frame_at_time(t(50) + 0.001), Some(50));
    assert_eq!(idx.frame_at_time(-1.0), Some(0));
    assert_eq!(idx.frame_at_time(100.0), Some(idx.len() - 1));
}

#[test]
fn decode_cost_counts_from_the_keyframe() {
    let idx = build_index(&fixture("h264_bframes.mp4"), &IndexOptions::default()).unwrap();
    assert_eq!(idx.decode_cost(0), 1);
    assert_eq!(idx.decode_cost(24), 1);
    assert!(idx.decode_cost(47) <= 24 && idx.decode_cost(47) >= 20);
    assert_eq!(idx.keyframe_before(47), Some(24));
}

#[test]
fn header_claims_are_kept_beside_counts() {
    let idx = build_index(&fixture("h264_bframes.mp4"), &IndexOptions::default()).unwrap();
    assert_eq!(idx.header.nb_frames, Some(90));
    assert!(
        (idx.duration_secs() - 3.0).abs() < 0.01,
        "{}",
        idx.duration_secs()
    );
    assert!(idx.warnings.is_empty(), "{:?}", idx.warnings);
}

#[test]
fn cli_index_csv_and_json() {
    let f = fixture("h264_bframes.mp4");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["index", "--csv"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 91);
    assert!(csv.starts_with("frame,pts,pts_time,dts,duration,size,pos,key,type,decode_index"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["index", "--json"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["frame_count"], 90);
    assert_eq!(v["frames"].as_array().unwrap().len(), 90);
    assert_eq!(v["keyframes"], serde_json::json!([0, 24, 48, 72]));
}

/// The MPEG-4 Part 2 order read from VOP headers (what the index uses for AVIs, at demux cost)
/// equals the order FFmpeg's decoder puts the pictures out in, on every MPEG-4 Part 2 file of
/// the fixtures (packed and unpacked B-frames) and of the real-world corpus (Xvid and DivX
/// AVIs with packed B-frames, DivX 5, FMP4, QuickTime mp4v, MPEG-4 in MKV).
#[test]
fn mpeg4_order_from_vop_headers_equals_the_decoders() {
    let mut files: Vec<std::path::PathBuf> = [
        "xvid_packed.avi",
        "xvid_packed_bf2.avi",
        "mpeg4_bframes.avi",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    files.extend(realworld_files().into_iter().filter(|f| {
        vdx::build_index(
            f,
            &IndexOptions {
                frame_types: false,
                ..Default::default()
            },
        )
        .is_ok_and(|i| i.codec_name == "mpeg4")
    }));
    assert!(files.len() >= 9, "{files:?}");
    let mut modelled = 0;
    for f in &files {
        let (ours, decoded) = vdx::index::mpeg4_orders(f).unwrap();
        assert!(!decoded.is_empty());
        if let Some(o) = ours {
            assert_eq!(o, decoded, "{}", f.display());
            modelled += 1;
        }
    }
    assert!(
        modelled >= 8,
        "only {modelled} of {} files fit the model",
        files.len()
    );
}
