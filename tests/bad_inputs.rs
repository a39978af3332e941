//! Broken and hostile inputs get a clear error that names the file and the problem; nothing
//! panics, and truncated files give what they hold.

mod common;

use common::*;
use vdx::decode::{DecodeOptions, VideoDecoder};
use vdx::index::{build_index, IndexOptions};
use vdx::{probe, ProbeBudget, VdxError};

#[test]
fn empty_file_is_named_and_explained() {
    let f = fixture("empty.mp4");
    let e = probe(&f, &ProbeBudget::default()).unwrap_err();
    assert!(matches!(e, VdxError::EmptyFile { .. }));
    let msg = e.to_string();
    assert!(msg.contains("empty.mp4") && msg.contains("empty"), "{msg}");
    let e = build_index(&f, &IndexOptions::default()).unwrap_err();
    assert!(e.to_string().contains("empty.mp4"));
}

#[test]
fn text_file_is_not_a_video() {
    let f = fixture("text.mp4");
    for e in [
        probe(&f, &ProbeBudget::default()).unwrap_err(),
        build_index(&f, &IndexOptions::default()).unwrap_err(),
        VideoDecoder::open(&f, DecodeOptions::default())
            .err()
            .unwrap(),
    ] {
        let msg = e.to_string();
        assert!(
            msg.contains("text.mp4") && msg.contains("not a readable video file"),
            "{msg}"
        );
    }
}

#[test]
fn missing_file_and_directory() {
    let e = probe(
        std::path::Path::new("/nonexistent/dir/x.mp4"),
        &ProbeBudget::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/dir/x.mp4"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = probe(dir.path(), &ProbeBudget::default()).unwrap_err();
    assert!(e.to_string().contains("directory"), "{e}");
}

#[test]
fn audio_only_file_has_no_video_stream() {
    let f = fixture("audio_only.m4a");
    let e = build_index(&f, &IndexOptions::default()).unwrap_err();
    assert!(matches!(e, VdxError::NoVideoStream { .. }));
    assert!(e.to_string().contains("no video stream") && e.to_string().contains("audio_only.m4a"));
    // Probing it is fine: it is a valid file.
    let p = probe(&f, &ProbeBudget::default()).unwrap();
    assert_eq!(p.streams[0].codec_type, "audio");
}

#[test]
fn zeroed_moov_is_a_clear_error() {
    let f = fixture("zeroed_moov.mp4");
    let e = build_index(&f, &IndexOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("zeroed_moov.mp4"), "{msg}");
}

#[test]
fn truncated_faststart_is_indexed_up_to_where_data_ends() {
    let f = fixture("truncated_faststart.mp4");
    let idx = build_index(&f, &IndexOptions::default()).unwrap();
    assert!(idx.truncated);
    assert!(idx.len() > 10 && idx.len() < 90, "{} frames", idx.len());
    assert!(idx.warnings[0].contains("truncated"), "{:?}", idx.warnings);
    assert!(
        idx.warnings[0].contains("of 90 frames"),
        "{:?}",
        idx.warnings
    );
    // Every indexed packet lies inside the file.
    let size = std::fs::metadata(&f).unwrap().len() as i64;
    assert!(idx
        .frames
        .iter()
        .all(|p| p.pos + p.size_bytes as i64 <= size));

    // The frames that are there decode; frames past the end are a clear error.
    let mut d = VideoDecoder::open(&f, DecodeOptions::default()).unwrap();
    let n = d.frame_count();
    assert!(d.frame(0).is_ok());
    let r = d.frames_partial(&[1, n - 1, n + 5]);
    assert!(r[0].is_ok());
    let e = r[2].as_ref().unwrap_err().to_string();
    assert!(e.contains("out of range"), "{e}");
}

#[test]
fn truncated_moov_at_end_is_a_clear_error() {
    let f = fixture("truncated_moov_end.mp4");
    let e = build_index(&f, &IndexOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("truncated_moov_end.mp4"), "{msg}");
}

#[test]
fn out_of_range_frame_is_named() {
    let mut d = VideoDecoder::open(&fixture("h264_bframes.mp4"), DecodeOptions::default()).unwrap();
    let e = d.frame(1000).unwrap_err().to_string();
    assert!(
        e.contains("frame 1000 is out of range") && e.contains("90 frames"),
        "{e}"
    );
}
