//! Hostile videos: inputs made to break a video tool (absurd declared sizes, zero time scales,
//! duplicate and non-monotonic timestamps, a stream that starts without a keyframe or ends
//! inside a frame, tens of thousands of packets, a declared sample count of 4 billion).
//!
//! Each goes through the CLI the way a user meets it (`vdx FILE` without a display, `vdx
//! index`, `vdx frames`, `vdx build` then `vdx verify`) under an address-space limit and a
//! time limit: every run either succeeds or exits 1 with a message naming the file; no panic,
//! no abort, no hang, no runaway allocation. Where frames come out, frames fetched alone and
//! in batches equal one sequential decode.

mod common;

use common::ffmpeg;
use std::path::{Path, PathBuf};
use std::process::Command;
use vdx::decode::{DecodeOptions, RgbFrame, VideoDecoder};

/// Address space a vdx run may use (the 1080p corpus builds stay far below this; a buffer
/// sized from a 65535x65535 header would not).
const MEMORY_LIMIT_KB: u64 = 6 << 20;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the vdx binary with `args` under `ulimit -v` and `timeout`, without a display.
fn vdx_bounded(args: &[&str]) -> Run {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_LIMIT_KB}; exec timeout -s KILL 120 \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_vdx"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    let o = cmd.output().unwrap();
    Run {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

/// A run ended well: success, or exit 1 with an error that names the file.
fn ended_well(r: &Run, file: &Path, what: &str) -> bool {
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("RUST_BACKTRACE"),
        "{name}: {what} panicked:\n{}",
        r.stderr
    );
    match r.code {
        Some(0) => true,
        Some(1) => {
            assert!(
                r.stderr.contains(&name) && r.stderr.contains("error"),
                "{name}: {what} failed without naming the file:\n{}",
                r.stderr
            );
            false
        }
        other => panic!(
            "{name}: {what} ended with {other:?} (killed by the time or memory limit?):\n{}",
            r.stderr
        ),
    }
}

/// A small H.264 MP4 (64x48, 20 frames at 10 fps, keyframe every 5, B-frames).
fn small_mp4(dir: &Path) -> PathBuf {
    let p = dir.join("small.mp4");
    if !p.exists() {
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=64x48:d=2:r=10",
            "-c:v",
            "libx264",
            "-g",
            "5",
            "-bf",
            "2",
            "-pix_fmt",
            "yuv420p",
            p.to_str().unwrap(),
        ]);
    }
    p
}

/// `src` with the bytes after the first `box_type` patched by `f(bytes, type_pos)`.
fn patched(src: &Path, dst: &Path, box_type: &[u8], f: impl FnOnce(&mut Vec<u8>, usize)) {
    let mut b = std::fs::read(src).unwrap();
    let p = b
        .windows(box_type.len())
        .position(|w| w == box_type)
        .unwrap_or_else(|| panic!("{} not found", String::from_utf8_lossy(box_type)));
    f(&mut b, p);
    std::fs::write(dst, b).unwrap();
}

/// The index's frame count, or None where indexing failed (cleanly).
fn index_len(file: &Path) -> Option<usize> {
    let r = vdx_bounded(&["index", file.to_str().unwrap(), "--json"]);
    if !ended_well(&r, file, "index") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{}: index --json is not JSON ({e})", file.display()));
    Some(
        v["frames"]
            .as_array()
            .map(|a| a.len())
            .or_else(|| v["num_frames"].as_u64().map(|n| n as usize))
            .expect("frame list in index JSON"),
    )
}

/// Every CLI step on `file`; returns (frames indexed, whether a dataset was built).
fn through_the_cli(file: &Path, dir: &Path) -> (Option<usize>, bool) {
    let f = file.to_str().unwrap();
    let r = vdx_bounded(&[f]);
    ended_well(&r, file, "vdx FILE");
    let r = vdx_bounded(&["probe", f]);
    ended_well(&r, file, "probe");
    let n = index_len(file);
    if let Some(n) = n.filter(|&n| n > 0) {
        let out = dir.join(format!(
            "{}_frames",
            file.file_name().unwrap().to_string_lossy()
        ));
        let mut at = vec![0, n / 2, n - 1];
        at.dedup();
        let list = at
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let r = vdx_bounded(&["frames", f, "--at", &list, "--out", out.to_str().unwrap()]);
        if ended_well(&r, file, "frames") {
            assert_eq!(
                std::fs::read_dir(&out).unwrap().count(),
                at.len(),
                "{f}: one image per frame asked"
            );
        }
    }
    let ds = dir.join(format!(
        "{}.vdx",
        file.file_name().unwrap().to_string_lossy()
    ));
    let r = vdx_bounded(&[
        "build",
        f,
        "--out",
        ds.to_str().unwrap(),
        "--frames",
        "4",
        "--size",
        "32x32",
        "--quiet",
    ]);
    let built = ended_well(&r, file, "build");
    if built {
        let r = vdx_bounded(&["verify", ds.to_str().unwrap()]);
        assert_eq!(
            r.code,
            Some(0),
            "{f}: built dataset verifies:\n{}",
            r.stderr
        );
    } else {
        assert!(!ds.exists(), "{f}: a failed build left {}", ds.display());
    }
    (n, built)
}

/// Frames one at a time (in a scrambled order) and as one batch equal the sequential decode;
/// a frame that cannot be decoded is an error naming the file, the same way every time.
fn exact_where_decodable(file: &Path) -> usize {
    let opts = DecodeOptions::default();
    let Ok(mut d) = VideoDecoder::open(file, opts) else {
        return 0;
    };
    let n = d.frame_count();
    let mut seq: Vec<Option<RgbFrame>> = vec![None; n];
    let mut s = VideoDecoder::open(file, opts).unwrap();
    let _ = s.for_each_frame(&mut |f| {
        let i = f.index;
        if i < n {
            seq[i] = Some(f);
        }
        true
    });
    let order: Vec<usize> = (0..n).map(|k| (k * 7 + 3) % n).collect();
    let mut good = 0;
    for &i in &order {
        match (d.frame(i), &seq[i]) {
            (Ok(f), Some(o)) => {
                assert!(
                    f == *o,
                    "{}: frame {i} alone differs from the sequential decode",
                    file.display()
                );
                good += 1;
            }
            (Ok(_), None) => panic!(
                "{}: frame {i} decodes alone but not sequentially",
                file.display()
            ),
            (Err(e), _) => {
                let m = e.to_string();
                assert!(
                    m.contains(&*file.file_name().unwrap().to_string_lossy()),
                    "{m}"
                );
            }
        }
    }
    let batch = d.frames_partial(&order);
    for (r, &i) in batch.iter().zip(&order) {
        if let (Ok(f), Some(o)) = (r, &seq[i]) {
            assert!(f == o, "{}: frame {i} in a batch differs", file.display());
        }
    }
    good
}

#[test]
fn declared_65535x65535_in_the_mp4_header() {
    let d = tempfile::tempdir().unwrap();
    let src = small_mp4(d.path());
    let f = d.path().join("huge_header.mp4");
    patched(&src, &f, b"tkhd", |b, p| {
        b[p + 80..p + 84].copy_from_slice(&(65535u32 << 16).to_be_bytes());
        b[p + 84..p + 88].copy_from_slice(&(65535u32 << 16).to_be_bytes());
        let q = b.windows(4).position(|w| w == b"avc1").unwrap();
        b[q + 28..q + 30].copy_from_slice(&65535u16.to_be_bytes());
        b[q + 30..q + 32].copy_from_slice(&65535u16.to_be_bytes());
    });
    let (n, built) = through_the_cli(&f, d.path());
    assert_eq!(n, Some(20));
    assert!(built, "the pictures are 64x48 whatever the header says");
    assert_eq!(exact_where_decodable(&f), 20);
    // The frames come out at the stream's real size.
    let mut dec = VideoDecoder::open(&f, DecodeOptions::default()).unwrap();
    let fr = dec.frame(7).unwrap();
    assert_eq!((fr.width, fr.height), (64, 48));
}

#[test]
fn declared_65535x65535_raw_frames_are_refused_before_allocating() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("huge.y4m");
    let mut b = b"YUV4MPEG2 W65535 H65535 F30:1 Ip A1:1 C420jpeg\nFRAME\n".to_vec();
    b.extend(std::iter::repeat_n(0x80u8, 100_000));
    std::fs::write(&f, b).unwrap();
    let (n, built) = through_the_cli(&f, d.path());
    assert_eq!(n, None);
    assert!(!built);
    let r = vdx_bounded(&["probe", f.to_str().unwrap()]);
    assert!(r.stderr.contains("65535x65535"), "{}", r.stderr);
}

#[test]
fn zero_time_scales() {
    let d = tempfile::tempdir().unwrap();
    let src = small_mp4(d.path());
    // The track's media time scale (mdhd) and the movie's (mvhd) set to 0.
    for (name, box_type) in [("mdhd0.mp4", b"mdhd"), ("mvhd0.mp4", b"mvhd")] {
        let f = d.path().join(name);
        patched(&src, &f, box_type, |b, p| {
            b[p + 16..p + 20].copy_from_slice(&0u32.to_be_bytes())
        });
        let (n, _) = through_the_cli(&f, d.path());
        assert!(n.is_some(), "{name}: indexed");
        // Every frame vdx indexes decodes, and equals the sequential decode.
        assert_eq!(Some(exact_where_decodable(&f)), n, "{name}");
        if name == "mdhd0.mp4" {
            // FFmpeg replaces the scale with 1 and its edit list then keeps one frame: vdx
            // says both things rather than showing a 1-frame video as if it were whole.
            let r = vdx_bounded(&[f.to_str().unwrap()]);
            assert!(
                r.stdout.contains("time scale 0") && r.stdout.contains("header says 20 frames"),
                "{}",
                r.stdout
            );
        }
    }
    // Matroska's TimestampScale set to 0.
    let mkv = d.path().join("src.mkv");
    ffmpeg(&[
        "-i",
        src.to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ]);
    let f = d.path().join("tscale0.mkv");
    patched(&mkv, &f, &[0x2A, 0xD7, 0xB1], |b, p| {
        let len = (b[p + 3] & 0x7f) as usize;
        for x in &mut b[p + 4..p + 4 + len] {
            *x = 0;
        }
    });
    let (n, _) = through_the_cli(&f, d.path());
    assert_eq!(n, Some(20));
    assert_eq!(exact_where_decodable(&f), 20, "every frame decodes exactly");
}

#[test]
fn duplicate_and_non_monotonic_timestamps() {
    let d = tempfile::tempdir().unwrap();
    let src = small_mp4(d.path());
    for (name, expr) in [
        ("dup_pts.mkv", "setts=pts=if(eq(N\\,5)\\,PREV_OUTPTS\\,PTS)"),
        (
            "backwards.mkv",
            "setts=pts=if(eq(N\\,6)\\,PTS-2000\\,PTS):dts=if(eq(N\\,6)\\,DTS-2000\\,DTS)",
        ),
    ] {
        let f = d.path().join(name);
        ffmpeg(&[
            "-i",
            src.to_str().unwrap(),
            "-c",
            "copy",
            "-bsf:v",
            expr,
            f.to_str().unwrap(),
        ]);
        let (n, _) = through_the_cli(&f, d.path());
        assert_eq!(n, Some(20), "{name}: every packet indexed");
        let good = exact_where_decodable(&f);
        assert!(good >= 15, "{name}: only {good} of 20 frames exact");
        let r = vdx_bounded(&[f.to_str().unwrap()]);
        assert!(
            r.stdout.contains("share a pts"),
            "{name}: the collision is reported:\n{}",
            r.stdout
        );
    }
}

/// Annex-B NAL units of a raw H.264 stream: (start of start code, nal type).
fn nal_units(b: &[u8]) -> Vec<(usize, u8)> {
    let mut v = Vec::new();
    let mut i = 0;
    while i + 3 < b.len() {
        if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 {
            let start = if i > 0 && b[i - 1] == 0 { i - 1 } else { i };
            v.push((start, b[i + 3] & 0x1f));
            i += 3;
        } else {
            i += 1;
        }
    }
    v
}

#[test]
fn stream_without_its_first_keyframe_and_one_cut_inside_a_frame() {
    let d = tempfile::tempdir().unwrap();
    let raw = d.path().join("src.h264");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=64x48:d=3:r=10",
        "-c:v",
        "libx264",
        "-g",
        "10",
        "-bf",
        "0",
        raw.to_str().unwrap(),
    ]);
    let b = std::fs::read(&raw).unwrap();
    let nals = nal_units(&b);
    // Drop the first IDR slice: the stream opens on P-frames that reference nothing.
    let k = nals.iter().position(|&(_, t)| t == 5).unwrap();
    let mut cut = b[..nals[k].0].to_vec();
    cut.extend_from_slice(&b[nals[k + 1].0..]);
    let f = d.path().join("no_first_idr.h264");
    std::fs::write(&f, &cut).unwrap();
    let mkv = d.path().join("no_first_idr.mkv");
    ffmpeg(&[
        "-i",
        f.to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ]);
    for file in [&f, &mkv] {
        through_the_cli(file, d.path());
        let good = exact_where_decodable(file);
        assert!(
            good >= 20,
            "{}: the frames after the second keyframe decode ({good})",
            file.display()
        );
    }
    // Ends in the middle of a frame's slice data.
    let last = nals.iter().rev().find(|&&(_, t)| t == 1).unwrap().0;
    let f = d.path().join("ends_inside_a_frame.h264");
    std::fs::write(&f, &b[..last + 12]).unwrap();
    let (n, _) = through_the_cli(&f, d.path());
    assert!(n.is_some());
    assert!(exact_where_decodable(&f) >= 28);
}

#[test]
fn thirty_thousand_packets() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("many.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=16x16:d=30:r=1000",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "1000",
        f.to_str().unwrap(),
    ]);
    let (n, built) = through_the_cli(&f, d.path());
    assert_eq!(n, Some(30_000));
    assert!(built);
    // The last frame, alone, equals the sequential decode's.
    let mut dec = VideoDecoder::open(&f, DecodeOptions::default()).unwrap();
    let last = dec.frame(29_999).unwrap();
    let mut s = VideoDecoder::open(&f, DecodeOptions::default()).unwrap();
    let mut seq_last = None;
    s.for_each_frame(&mut |fr| {
        if fr.index == 29_999 {
            seq_last = Some(fr);
        }
        true
    })
    .unwrap();
    assert!(seq_last.as_ref() == Some(&last));
}

#[test]
fn declared_four_billion_samples() {
    let d = tempfile::tempdir().unwrap();
    let src = small_mp4(d.path());
    let f = d.path().join("stsz_4g.mp4");
    patched(&src, &f, b"stsz", |b, p| {
        b[p + 12..p + 16].copy_from_slice(&u32::MAX.to_be_bytes())
    });
    let (n, built) = through_the_cli(&f, d.path());
    assert_eq!(n, None, "FFmpeg refuses the sample table");
    assert!(!built);
    let f2 = d.path().join("stts_4g.mp4");
    // The time-to-sample table claiming 4 billion frames of one duration.
    patched(&src, &f2, b"stts", |b, p| {
        b[p + 12..p + 16].copy_from_slice(&u32::MAX.to_be_bytes())
    });
    let (n, _) = through_the_cli(&f2, d.path());
    assert_eq!(n, Some(20), "the real sample count, not the claimed one");
    assert_eq!(
        exact_where_decodable(&f2),
        20,
        "every frame decodes exactly"
    );
}
