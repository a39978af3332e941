//! Decode-cost-aware sampling on real files: `snap=keyframe` starts every clip at its nearest
//! keyframe, `snap=cheapest, within=k` finds the cheapest start within k frames (checked by
//! brute force), the keyframes sampler takes keyframes only, and the snapped clips really make
//! the decoder decode fewer pictures. The CLI and the parameter checks agree.

mod common;

use common::*;
use std::process::Command;
use vdx::decode::{DecodeOptions, VideoDecoder};
use vdx::index::VideoIndex;
use vdx::sample::{clip_decode_cost, sample_clips, SamplerConfig, SamplerKind, Snap};

fn random(clips: usize, t: usize) -> SamplerConfig {
    SamplerConfig {
        kind: SamplerKind::Random,
        frames_per_clip: t,
        num_clips: clips,
        seed: 11,
        ..Default::default()
    }
}

fn index(name: &str) -> std::sync::Arc<VideoIndex> {
    VideoDecoder::open(&fixture(name), DecodeOptions::default())
        .unwrap()
        .index()
        .clone()
}

#[test]
fn keyframe_snap_starts_each_clip_at_its_nearest_keyframe() {
    // GOP 24: keyframes 0, 24, 48, 72 of 90 frames.
    let idx = index("h264_bframes.mp4");
    assert_eq!(idx.keyframes, vec![0, 24, 48, 72]);
    let exact = sample_clips(&idx, &random(40, 8)).unwrap();
    let snapped = sample_clips(
        &idx,
        &SamplerConfig {
            snap: Snap::Keyframe,
            ..random(40, 8)
        },
    )
    .unwrap();
    assert_eq!(exact.len(), snapped.len());
    let mut moved = 0;
    for (e, s) in exact.iter().zip(&snapped) {
        let s0 = e.frame_indices[0];
        let want = *idx
            .keyframes
            .iter()
            .filter(|&&k| k + 7 < 90)
            .min_by_key(|&&k| (k.abs_diff(s0), k))
            .unwrap();
        assert_eq!(
            s.frame_indices,
            (want..want + 8).collect::<Vec<_>>(),
            "from {s0}"
        );
        assert_eq!(s.padded, 0);
        // From a keyframe: the clip plus at most the reference frames B-frames wait for.
        let c = clip_decode_cost(&idx, &s.frame_indices);
        assert!((8..=11).contains(&c), "cost {c}");
        assert!(c <= clip_decode_cost(&idx, &e.frame_indices));
        moved += (want != s0) as usize;
    }
    assert!(moved > 30, "only {moved} of 40 clips moved");
}

#[test]
fn cheapest_snap_is_the_cheapest_start_within_k() {
    let idx = index("h264_bframes.mp4");
    let k = 6;
    let exact = sample_clips(&idx, &random(60, 5)).unwrap();
    let snapped = sample_clips(
        &idx,
        &SamplerConfig {
            snap: Snap::Cheapest,
            within: k,
            ..random(60, 5)
        },
    )
    .unwrap();
    let (mut before, mut after) = (0, 0);
    for (e, s) in exact.iter().zip(&snapped) {
        let s0 = e.frame_indices[0] as i64;
        let got = s.frame_indices[0] as i64;
        assert!((got - s0).abs() <= k as i64, "moved {s0} -> {got}");
        assert_eq!(
            s.frame_indices,
            (got as usize..got as usize + 5).collect::<Vec<_>>()
        );
        // Brute force: no start within k (clip inside the video) is cheaper, and none as
        // cheap is closer.
        let cost =
            |a: i64| clip_decode_cost(&idx, &(a as usize..a as usize + 5).collect::<Vec<_>>());
        let c = cost(got);
        for a in (s0 - k as i64).max(0)..=(s0 + k as i64).min(85) {
            assert!(
                cost(a) >= c,
                "start {a} costs {} < {c} (from {s0})",
                cost(a)
            );
            if cost(a) == c {
                assert!((a - s0).abs() >= (got - s0).abs());
            }
        }
        before += cost(s0);
        after += c;
    }
    assert!(after * 10 < before * 7, "cost {before} -> {after}");
}

#[test]
fn keyframes_sampler_takes_keyframes_only() {
    let idx = index("h264_bframes.mp4");
    let c = sample_clips(
        &idx,
        &SamplerConfig {
            kind: SamplerKind::Keyframes,
            frames_per_clip: 2,
            num_clips: 3,
            ..Default::default()
        },
    )
    .unwrap();
    let got: Vec<Vec<usize>> = c.iter().map(|c| c.frame_indices.clone()).collect();
    assert_eq!(got, vec![vec![0, 24], vec![24, 48], vec![48, 72]]);
    for clip in &c {
        assert_eq!(clip_decode_cost(&idx, &clip.frame_indices), 2);
    }
    // More keyframes than there are: the tail policy fills in.
    let long = sample_clips(
        &idx,
        &SamplerConfig {
            kind: SamplerKind::Keyframes,
            frames_per_clip: 6,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(long[0].frame_indices, vec![0, 24, 48, 72, 72, 72]);
    assert_eq!(long[0].padded, 2);
}

#[test]
fn snapped_clips_make_the_decoder_decode_less() {
    // One GOP of 90 frames: an exact start late in it costs up to 90 pictures.
    let path = fixture("h264_longgop.mp4");
    let decoded = |cfg: &SamplerConfig| {
        let mut total = 0;
        let idx = index("h264_longgop.mp4");
        for clip in sample_clips(&idx, cfg).unwrap() {
            let mut d = VideoDecoder::open(
                &path,
                DecodeOptions {
                    threads: 1,
                    skip_nonref: false,
                    ..Default::default()
                },
            )
            .unwrap();
            d.frames(&clip.frame_indices).unwrap();
            total += d.pictures_decoded();
        }
        total
    };
    let exact = decoded(&random(12, 4));
    let snapped = decoded(&SamplerConfig {
        snap: Snap::Keyframe,
        ..random(12, 4)
    });
    assert!(
        snapped * 4 < exact,
        "decoded {exact} exact, {snapped} snapped"
    );
}

#[test]
fn cli_and_parameter_checks() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("c.npy");
    let run = |extra: &[&str]| {
        let mut a = vec![
            "clips".to_string(),
            fixture("h264_bframes.mp4").to_str().unwrap().into(),
            "--sampler".into(),
            "random".into(),
            "--clips".into(),
            "5".into(),
            "--frames".into(),
            "4".into(),
            "--size".into(),
            "32".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args(&a)
            .output()
            .unwrap()
    };
    let o = run(&["--snap", "keyframe"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap())
            .unwrap();
    for (clip, cost) in v["clips"]
        .as_array()
        .unwrap()
        .iter()
        .zip(v["decode_cost"].as_array().unwrap())
    {
        assert_eq!(clip["frame_indices"][0].as_u64().unwrap() % 24, 0);
        assert!((4..=7).contains(&cost.as_u64().unwrap()), "{cost}");
    }
    assert_eq!(v["sampler"]["snap"], "keyframe");
    for (extra, msg) in [
        (vec!["--snap", "cheapest"], "within"),
        (
            vec!["--snap", "keyframe", "--within", "3"],
            "only applies to snap=cheapest",
        ),
        (
            vec!["--snap", "sideways"],
            "not one of none, keyframe, cheapest",
        ),
    ] {
        let o = run(&extra);
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(msg), "{extra:?}: {e}");
    }
    let idx = index("h264_bframes.mp4");
    let e = sample_clips(
        &idx,
        &SamplerConfig {
            kind: SamplerKind::Keyframes,
            snap: Snap::Keyframe,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("start on keyframes already"), "{e}");
}
