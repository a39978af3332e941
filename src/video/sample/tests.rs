//! Unit tests of the samplers, tail and damage policies.

#[test]
fn nearest_good_frame_wins_and_ties_go_earlier() {
    let good = |set: &'static [usize]| move |j: usize| set.contains(&j);
    // Position 4 of 0..8 with 1 and 5 good: 5 is nearer.
    assert_eq!(nearest_good(4, 8, good(&[1, 5])), Some(5));
    // 3 and 5 equally near: the earlier.
    assert_eq!(nearest_good(4, 8, good(&[3, 5])), Some(3));
    assert_eq!(nearest_good(0, 4, good(&[3])), Some(3));
    assert_eq!(nearest_good(3, 4, good(&[0])), Some(0));
    assert_eq!(nearest_good(2, 4, good(&[])), None);
}
use super::*;
use crate::video::index::{FrameEntry, FrameType, HeaderClaims};
use crate::video::media::Ratio;

fn fake_index(n: usize) -> VideoIndex {
    let frames = (0..n)
        .map(|i| FrameEntry {
            pts: i as i64 * 512,
            dts: Some(i as i64 * 512),
            duration: 512,
            size_bytes: 100,
            pos: 0,
            keyframe: i % 10 == 0,
            recovery_frames: 0,
            frame_type: FrameType::P,
            decode_index: i as u32,
            decode_status: Default::default(),
            skip_safe: true,
        })
        .collect();
    VideoIndex {
        path: "fake.mp4".into(),
        stream_index: 0,
        codec_name: "h264".into(),
        time_base: Ratio { num: 1, den: 15360 },
        frames,
        keyframes: (0..n).step_by(10).collect(),
        header: HeaderClaims::default(),
        truncated: false,
        discarded_packets: 0,
        order_from_decode: false,
        pictureless_packets: 0,
        warnings: vec![],
    }
}

#[test]
fn uniform_spans_first_to_last() {
    let idx = fake_index(100);
    let c = sample_clips(
        &idx,
        &SamplerConfig {
            frames_per_clip: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].frame_indices, vec![0, 33, 66, 99]);
    assert_eq!(c[0].pts, vec![0, 33 * 512, 66 * 512, 99 * 512]);
}

#[test]
fn regular_with_tail_policies() {
    let idx = fake_index(10);
    let base = SamplerConfig {
        kind: SamplerKind::Regular,
        frames_per_clip: 4,
        stride: 1.0,
        ..Default::default()
    };
    let c = sample_clips(&idx, &base).unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[2].frame_indices, vec![8, 9, 9, 9]);
    assert_eq!(c[2].padded, 2);
    let w = sample_clips(
        &idx,
        &SamplerConfig {
            tail: TailPolicy::Wrap,
            ..base
        },
    )
    .unwrap();
    assert_eq!(w[2].frame_indices, vec![8, 9, 0, 1]);
    let d = sample_clips(
        &idx,
        &SamplerConfig {
            tail: TailPolicy::Drop,
            ..base
        },
    )
    .unwrap();
    assert_eq!(d.len(), 2);
    let e = sample_clips(
        &idx,
        &SamplerConfig {
            tail: TailPolicy::Error,
            ..base
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("runs past the last frame"), "{e}");
    let s = sample_clips(
        &idx,
        &SamplerConfig {
            stride: 2.0,
            step: 5.0,
            ..base
        },
    )
    .unwrap();
    assert_eq!(s[0].frame_indices, vec![0, 2, 4, 6]);
    assert_eq!(s[1].frame_indices, vec![5, 7, 9, 9]);
}

#[test]
fn random_is_seeded_and_reaches_last_start() {
    let idx = fake_index(20);
    let cfg = SamplerConfig {
        kind: SamplerKind::Random,
        frames_per_clip: 16,
        num_clips: 400,
        seed: 3,
        ..Default::default()
    };
    let a = sample_clips(&idx, &cfg).unwrap();
    assert_eq!(a, sample_clips(&idx, &cfg).unwrap());
    let starts: std::collections::BTreeSet<usize> = a.iter().map(|c| c.frame_indices[0]).collect();
    assert_eq!(starts, (0..=4).collect());
    // Shorter than the clip: start 0 and the tail policy fills.
    let short = fake_index(5);
    let c = sample_clips(
        &short,
        &SamplerConfig {
            num_clips: 1,
            ..cfg
        },
    )
    .unwrap();
    assert_eq!(c[0].frame_indices[..6], [0, 1, 2, 3, 4, 4]);
}

#[test]
fn time_units_follow_timestamps() {
    let idx = fake_index(90); // 30 fps, 3 s
    let c = sample_clips(
        &idx,
        &SamplerConfig {
            kind: SamplerKind::Regular,
            units: Units::Seconds,
            frames_per_clip: 3,
            stride: 0.5,
            step: 1.0,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].frame_indices, vec![0, 15, 30]);
    assert_eq!(c[1].frame_indices, vec![30, 45, 60]);
    assert_eq!(c[2].frame_indices, vec![60, 75, 75]);
    assert_eq!(c[2].padded, 1);
}

#[test]
fn bad_parameters_are_named() {
    let idx = fake_index(10);
    let e = sample_clips(
        &idx,
        &SamplerConfig {
            frames_per_clip: 0,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("frames"));
    let e = sample_clips(
        &idx,
        &SamplerConfig {
            stride: 1.5,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("stride"));
}
