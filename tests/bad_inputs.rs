//! Broken and hostile inputs get a clear error that names the file and the problem; nothing
//! panics, and truncated files give what they hold.

mod common;

use common::*;
use vdx::decode::{DecodeOptions, VideoDecoder};
use vdx::index::{build_index, IndexOptions};
use vdx::video::VideoError;
use vdx::{probe, ProbeBudget};

#[test]
fn empty_file_is_named_and_explained() {
    let f = fixture("empty.mp4");
    let e = probe(&f, &ProbeBudget::default()).unwrap_err();
    assert!(matches!(e, VideoError::EmptyFile { .. }));
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
    assert!(matches!(e, VideoError::NoVideoStream { .. }));
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

/// A stream whose picture size changes mid-way (64x48 then 96x64, MKV): indexed whole;
/// clips at one size work; clips at the stream's own size give a clear error, not a bad file.
#[test]
fn mid_stream_resolution_change_is_handled() {
    let d = tempfile::tempdir().unwrap();
    let part = |name: &str, size: &str| {
        let p = d.path().join(name);
        let st = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("testsrc=s={size}:d=1:r=10"))
            .args(["-c:v", "libx264", "-bf", "0"])
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::read(p).unwrap()
    };
    let mut raw = part("a.h264", "64x48");
    raw.extend(part("b.h264", "96x64"));
    let raw_path = d.path().join("ab.h264");
    std::fs::write(&raw_path, raw).unwrap();
    let mkv = d.path().join("ab.mkv");
    let st = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&raw_path)
        .args(["-c", "copy"])
        .arg(&mkv)
        .status()
        .unwrap();
    assert!(st.success());
    let idx = vdx::build_index(&mkv, &Default::default()).unwrap();
    assert_eq!(idx.len(), 20);
    // Exact frames on both sides of the change, at their own sizes.
    let mut dec = vdx::decode::VideoDecoder::open(&mkv, Default::default()).unwrap();
    let f = dec.frames(&[3, 15]).unwrap();
    assert_eq!((f[0].width, f[0].height), (64, 48));
    assert_eq!((f[1].width, f[1].height), (96, 64));
    // The raw elementary stream (no container timestamps) gives the very same frames, in
    // any order.
    let mut raw_dec = vdx::decode::VideoDecoder::open(&raw_path, Default::default()).unwrap();
    for i in [19usize, 3, 12, 0, 15] {
        let a = raw_dec.frame(i).unwrap();
        let b = dec.frame(i).unwrap();
        assert!(
            a.data == b.data,
            "raw stream frame {i} differs from the MKV's"
        );
    }
    let out = d.path().join("c.npy");
    let vdx = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args([
                "clips",
                mkv.to_str().unwrap(),
                "--frames",
                "4",
                "--clips",
                "3",
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let o = vdx(&[]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("size changes mid-stream") && e.contains("ab.mkv"),
        "{e}"
    );
    assert!(!out.exists());
    let o = vdx(&["--size", "32"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A reader that stops early (`vdx index --json FILE | head`) ends the command quietly:
/// killed by SIGPIPE or exiting 0, with no panic and no "Broken pipe" error on stderr. The
/// outputs are several times the 64 KiB a pipe holds, so vdx is still writing when the
/// reader goes away.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    let d = tempfile::tempdir().unwrap();
    let video = d.path().join("long.mp4");
    // 3000 frames of 32x32: one index row per frame.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=32x32:r=100:d=30,format=yuv420p",
        "-c:v",
        "libx264",
        "-threads",
        "1",
        video.to_str().unwrap(),
    ]);
    let v = video.to_str().unwrap();
    // One probe is about 1.5 kB: 100 files make the probe output long enough to fill a pipe.
    let mut probe_args = vec!["probe", "--json"];
    probe_args.extend(std::iter::repeat_n(v, 100));
    let commands: [Vec<&str>; 3] = [
        vec!["index", "--json", v],
        vec!["index", "--csv", v],
        probe_args,
    ];
    for args in commands {
        let what = args[..2].join(" ");
        let full = vdx_ok(&args);
        assert!(
            full.len() > 2 * 65536,
            "vdx {what} prints {} bytes: too few to fill a pipe",
            full.len()
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut head = [0u8; 300];
        out.read_exact(&mut head).unwrap();
        assert_eq!(&head[..], &full.as_bytes()[..300], "vdx {what}");
        drop(out);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "vdx {what}: {err}"
        );
        assert!(
            o.status.signal() == Some(13) || o.status.code() == Some(0),
            "vdx {what} should end by SIGPIPE or exit 0, got {:?}: {err}",
            o.status
        );
    }
}
