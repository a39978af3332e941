//! Clips, frames and audio from the command line, read back by their consumers (numpy for
//! .npy, the JSON for indices and pts), and checked against the decoder.

mod common;

use common::*;
use std::process::Command;
use vdx::decode::{DecodeOptions, Resize, ResizeMode, VideoDecoder};
use vdx::sample::{sample_clips, SamplerConfig, SamplerKind, TailPolicy};

fn vdx(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(args)
        .output()
        .unwrap()
}

fn python_numpy(script: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn clips_npy_loads_in_numpy_and_matches_the_decoder() {
    let f = fixture("h264_bframes.mp4");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clips.npy");
    let r = vdx(&[
        "clips",
        f.to_str().unwrap(),
        "--sampler",
        "regular",
        "--frames",
        "8",
        "--stride",
        "2",
        "--step",
        "40",
        "--size",
        "32",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("clips.json")).unwrap()).unwrap();
    // 90 frames, starts 0, 40, 80; the last clip runs past the end and repeats its own last
    // frame (88: the stride keeps it from landing on 89).
    let clips = meta["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 3);
    assert_eq!(
        clips[0]["frame_indices"],
        serde_json::json!([0, 2, 4, 6, 8, 10, 12, 14])
    );
    assert_eq!(
        clips[2]["frame_indices"],
        serde_json::json!([80, 82, 84, 86, 88, 88, 88, 88])
    );
    assert_eq!(clips[2]["padded"], 3);
    let s = python_numpy(&format!(
        "import numpy as np; a = np.load(r'{}'); print(a.shape, a.dtype, int(a[1, 3].sum()), int(a[2, 6].sum()) == int(a[2, 7].sum()))",
        out.display()
    ));
    let mut d = VideoDecoder::open(
        &f,
        DecodeOptions {
            resize: Some(Resize {
                width: 32,
                height: 32,
                mode: ResizeMode::ShortSideCrop,
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let fr = d.frame(46).unwrap();
    let sum: u64 = fr.data.iter().map(|&v| v as u64).sum();
    assert_eq!(s.trim(), format!("(3, 8, 32, 32, 3) uint8 {sum} True"));
    // pts in the JSON are the index's pts.
    assert_eq!(
        clips[1]["pts"][3].as_i64().unwrap(),
        d.index().frames[46].pts
    );
}

#[test]
fn f32_clips_are_scaled_to_unit_range() {
    let f = fixture("vp9.webm");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.npy");
    let r = vdx(&[
        "clips",
        f.to_str().unwrap(),
        "--frames",
        "4",
        "--size",
        "16x8",
        "--dtype",
        "f32",
        "--sampler",
        "random",
        "--clips",
        "2",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let s = python_numpy(&format!(
        "import numpy as np; a = np.load(r'{}'); print(a.shape, a.dtype, bool(a.min() >= 0), bool(a.max() <= 1), bool(a.max() > 0.5))",
        out.display()
    ));
    assert_eq!(s.trim(), "(2, 1, 4, 8, 16, 3) float32 True True True");
}

#[test]
fn tail_policies_on_a_real_video() {
    let d = VideoDecoder::open(&fixture("h264_bframes.mp4"), DecodeOptions::default()).unwrap();
    let base = SamplerConfig {
        kind: SamplerKind::Regular,
        frames_per_clip: 16,
        stride: 4.0,
        ..Default::default()
    };
    let base = SamplerConfig {
        stride: 4.0,
        ..base
    };
    let rl = sample_clips(d.index(), &base).unwrap();
    assert_eq!(rl.len(), 2); // starts 0 and 61 (span 61)
    assert_eq!(rl[1].frame_indices[..8], [61, 65, 69, 73, 77, 81, 85, 89]);
    assert!(rl[1].frame_indices[8..].iter().all(|&i| i == 89));
    let wrap = sample_clips(
        d.index(),
        &SamplerConfig {
            tail: TailPolicy::Wrap,
            ..base
        },
    )
    .unwrap();
    assert_eq!(wrap[1].frame_indices[8], (61 + 32) % 90);
    let drop = sample_clips(
        d.index(),
        &SamplerConfig {
            tail: TailPolicy::Drop,
            ..base
        },
    )
    .unwrap();
    assert_eq!(drop.len(), 1);
    assert!(sample_clips(
        d.index(),
        &SamplerConfig {
            tail: TailPolicy::Error,
            ..base
        }
    )
    .is_err());
}

#[test]
fn uniform_by_time_on_vfr_follows_timestamps() {
    let d = VideoDecoder::open(&fixture("vfr.mp4"), DecodeOptions::default()).unwrap();
    let by_index = sample_clips(
        d.index(),
        &SamplerConfig {
            frames_per_clip: 3,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(by_index[0].frame_indices, vec![0, 52, 104]);
    let by_time = sample_clips(
        d.index(),
        &SamplerConfig {
            frames_per_clip: 3,
            units: vdx::sample::Units::Seconds,
            ..Default::default()
        },
    )
    .unwrap();
    // Middle time ~1.47 s lies in the 60 fps second: frame 30 + 28.
    let mid = by_time[0].frame_indices[1];
    assert!((56..=60).contains(&mid), "{mid}");
    assert_eq!(by_time[0].frame_indices[2], 104);
}

#[test]
fn frames_cli_writes_png_and_jpeg_at_exact_indices() {
    let f = fixture("h264_opengop.mp4");
    let dir = tempfile::tempdir().unwrap();
    let r = vdx(&[
        "frames",
        f.to_str().unwrap(),
        "--at",
        "0,21,89",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let png = image::open(dir.path().join("frame_000021.png"))
        .unwrap()
        .to_rgb8();
    let mut d = VideoDecoder::open(&f, DecodeOptions::default()).unwrap();
    assert_eq!(
        png.as_raw(),
        &d.frame(21).unwrap().data,
        "PNG is lossless: equal to the decoder"
    );
    let r = vdx(&[
        "frames",
        f.to_str().unwrap(),
        "--time",
        "1.0",
        "--format",
        "jpg",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(r.status.success());
    assert!(dir.path().join("frame_000030.jpg").exists());
    let r = vdx(&[
        "frames",
        f.to_str().unwrap(),
        "--at",
        "500",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("frame 500 is out of range"));
}

#[test]
fn audio_cli_writes_mono_float_at_the_rate_asked() {
    let f = fixture("h264_bframes.mp4");
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("a.npy");
    let r = vdx(&[
        "audio",
        f.to_str().unwrap(),
        "--rate",
        "8000",
        "--out",
        npy.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let s = python_numpy(&format!(
        "import numpy as np; a = np.load(r'{}'); print(a.dtype, a.ndim, abs(len(a) - 24000) < 1200, bool(np.abs(a).max() > 0.1))",
        npy.display()
    ));
    assert_eq!(s.trim(), "float32 1 True True");
    let wav = dir.path().join("a.wav");
    let r = vdx(&["audio", f.to_str().unwrap(), "--out", wav.to_str().unwrap()]);
    assert!(r.status.success());
    let probe = vdx::probe(&wav, &vdx::ProbeBudget::default()).unwrap();
    assert_eq!(probe.streams[0].sample_rate, Some(16000));
    assert_eq!(probe.streams[0].channels, Some(1));
    assert_eq!(probe.streams[0].codec_name, "pcm_f32le");
    // No audio stream: a clear error.
    let r = vdx(&[
        "audio",
        fixture("vp9.webm").to_str().unwrap(),
        "--out",
        wav.to_str().unwrap(),
    ]);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("no audio stream"));
}

/// Clips over a damaged keyframe group (frames 24-45): by default the command fails naming the
/// frame; with `--damaged repeat` the nearest good frame of each clip stands in, the JSON lists exactly the
/// positions that could not be decoded, and the stand-ins are those neighbours' pictures. A
/// build takes the same choice and records it in the sample's provenance.
#[test]
fn damaged_frames_fail_a_clip_or_are_filled_and_listed_by_choice() {
    let f = fixture("h264_damaged_idr.mp4");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("c.npy");
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args([
                "clips",
                f.to_str().unwrap(),
                "--sampler",
                "regular",
                "--frames",
                "30",
            ])
            .args(["--step", "30", "--out", out.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("h264_damaged_idr.mp4") && err.contains("frame 24"),
        "{err}"
    );
    let o = run(&["--damaged", "repeat"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.with_extension("json")).unwrap()).unwrap();
    let idx = vdx::build_index(
        &f,
        &vdx::IndexOptions {
            check_decode: true,
            ..Default::default()
        },
    )
    .unwrap();
    let mut dec = vdx::decode::VideoDecoder::open(&f, Default::default()).unwrap();
    let npy = std::fs::read(&out).unwrap();
    let k_clips = meta["shape"][0].as_u64().unwrap() as usize;
    let data = &npy[npy.len() - k_clips * 30 * 108 * 192 * 3..];
    let frame_bytes = 108 * 192 * 3;
    let mut filled = 0;
    for (c, clip) in meta["clips"].as_array().unwrap().iter().enumerate() {
        let indices: Vec<usize> = clip["frame_indices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let damaged: Vec<usize> = meta["damaged"][c]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let bad: Vec<usize> = (0..indices.len())
            .filter(|&k| dec.frame(indices[k]).is_err())
            .collect();
        assert_eq!(damaged, bad, "clip {c}");
        for (k, &i) in indices.iter().enumerate() {
            let got = &data[(c * 30 + k) * frame_bytes..(c * 30 + k + 1) * frame_bytes];
            if damaged.contains(&k) {
                filled += 1;
                // A filled frame is one the decode check calls damaged, or one of the damaged
                // group's last B-frames, which FFmpeg's sequential decode shows (built from the
                // wrong references, unflagged) and a decode from their keyframe cannot.
                let damaged_group = idx.keyframes[1]..idx.keyframes[2];
                assert!(
                    idx.frames[i].decode_status != vdx::DecodeStatus::Ok
                        || damaged_group.contains(&i),
                    "frame {i} was filled"
                );
                let near = (0..k)
                    .rev()
                    .chain(k + 1..indices.len())
                    .find(|j| !damaged.contains(j))
                    .unwrap();
                assert_eq!(got, dec.frame(indices[near]).unwrap().data.as_slice());
            } else {
                assert_eq!(
                    got,
                    dec.frame(i).unwrap().data.as_slice(),
                    "clip {c} frame {i}"
                );
            }
        }
    }
    assert!(filled >= 10, "{filled} frames filled");

    // A build with the same choice, and without it.
    let ds = d.path().join("d.vdx");
    let build = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args(["build", f.to_str().unwrap(), "--out", ds.to_str().unwrap()])
            .args([
                "--clips", "all", "--frames", "30", "--size", "64", "--quiet",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(
        !build(&[]).status.success(),
        "a damaged video fails the build"
    );
    assert!(!ds.exists());
    let o = build(&["--damaged", "repeat"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let set = vdx::dataset::Dataset::open(&ds).unwrap();
    let listed: usize = (0..set.len())
        .map(|i| {
            set.meta(i).unwrap().provenance["damaged"]
                .as_array()
                .map_or(0, |a| a.len())
        })
        .sum();
    assert_eq!(listed, filled, "the provenance lists every filled frame");
}
