//! Datasets: build, read back, verify; determinism; bit flips and truncation are found;
//! failed builds leave nothing; numpy alone reads the documented layout.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use vdx::dataset::{self, BuildOptions, Dataset, Decoders, FieldKind, SampleData};
use vdx::decode::{DecodeOptions, Resize, ResizeMode, VideoDecoder};

fn vdx(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(args)
        .output()
        .unwrap()
}

/// A class layout: walk/{bframes, vfr}, run/{opengop, hevc_10bit}.
fn class_folder() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("videos");
    for (class, files) in [
        ("walk", ["h264_bframes.mp4", "vfr.mp4"]),
        ("run", ["h264_opengop.mp4", "hevc_10bit.mkv"]),
    ] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for f in files {
            std::fs::copy(fixture(f), root.join(class).join(f)).unwrap();
        }
    }
    (d, root)
}

fn build(
    inputs: &[PathBuf],
    opts: &BuildOptions,
    out: &Path,
    threads: usize,
) -> dataset::BuildReport {
    let (inp, classes) = dataset::collect_inputs(inputs).unwrap();
    dataset::build(
        &inp,
        &classes,
        opts,
        out,
        dataset::RunOptions {
            threads,
            keep_going: false,
        },
        &AtomicBool::new(false),
        &|_| {},
    )
    .unwrap()
}

fn small(field: FieldKind) -> BuildOptions {
    let mut o = BuildOptions {
        field,
        width: 64,
        height: 48,
        ..Default::default()
    };
    o.sampler.frames_per_clip = 8;
    o.sampler.num_clips = 2;
    o
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

fn jpeg_round_trip(rgb: &[u8], w: u32, h: u32) -> Vec<u8> {
    let j = vdx::jpeg::encode_rgb(rgb, w, h, 95).unwrap();
    vdx::jpeg::decode_rgb(&j).unwrap().2
}

fn source_frames(path: &str, frames: &[usize], w: u32, h: u32) -> Vec<Vec<u8>> {
    let mut d = VideoDecoder::open(
        Path::new(path),
        DecodeOptions {
            resize: Some(Resize {
                width: w,
                height: h,
                mode: ResizeMode::ShortSideCrop,
            }),
            ..Default::default()
        },
    )
    .unwrap();
    d.frames(frames)
        .unwrap()
        .into_iter()
        .map(|f| f.data)
        .collect()
}

#[test]
fn frames_dataset_round_trips_with_labels_and_provenance() {
    let (_d, root) = class_folder();
    let out = root.parent().unwrap().join("frames.vdx");
    let r = build(
        std::slice::from_ref(&root),
        &small(FieldKind::Frames),
        &out,
        2,
    );
    assert_eq!(r.samples, 8);
    assert_eq!(r.classes, vec!["run", "walk"]);
    let ds = Dataset::open(&out).unwrap();
    assert_eq!(ds.len(), 8);
    assert_eq!(ds.classes(), vec!["run", "walk"]);
    let mut dec = Decoders::default();
    for i in 0..ds.len() {
        let m = ds.meta(i).unwrap();
        let src = m.provenance["source"].as_str().unwrap().to_string();
        let class = if src.contains("/walk/") {
            "walk"
        } else {
            "run"
        };
        assert_eq!(m.class.as_deref(), Some(class), "sample {i}");
        let frames: Vec<usize> = m.provenance["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(frames.len(), 8);
        assert_eq!(m.provenance["pts"].as_array().unwrap().len(), 8);
        let SampleData::Clip(c) = ds.decode(i, &mut dec).unwrap() else {
            panic!("frames field decodes to a clip")
        };
        assert_eq!((c.num_frames, c.height, c.width), (8, 48, 64));
        // The stored frames are exactly the JPEGs (q95) of the exact source frames.
        let want = source_frames(&src, &frames, 64, 48);
        for (t, f) in want.iter().enumerate() {
            assert!(
                c.frame(t) == jpeg_round_trip(f, 64, 48),
                "sample {i} frame {t}"
            );
        }
    }
    let rep = dataset::verify::verify(&out, true, &AtomicBool::new(false), &|_, _| {}).unwrap();
    assert!(rep.ok(), "{:?}", rep.problems);
    assert_eq!(rep.decoded, 8);
}

#[test]
fn same_inputs_give_the_same_bytes_whatever_the_thread_count() {
    let (_d, root) = class_folder();
    let a = root.parent().unwrap().join("a.vdx");
    let b = root.parent().unwrap().join("b.vdx");
    build(
        std::slice::from_ref(&root),
        &small(FieldKind::Frames),
        &a,
        1,
    );
    build(
        std::slice::from_ref(&root),
        &small(FieldKind::Frames),
        &b,
        2,
    );
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());
}

#[test]
fn every_flipped_bit_in_sample_bytes_is_found_and_truncation_is_refused() {
    let (_d, root) = class_folder();
    let out = root.parent().unwrap().join("f.vdx");
    build(&[root.join("walk")], &small(FieldKind::Frames), &out, 2);
    let good = std::fs::read(&out).unwrap();
    let ds = Dataset::open(&out).unwrap();
    let (layout, meta_off, _) = ds.layout();
    let row_bytes = layout.itemsize as u64 * ds.len();
    // Byte ranges that belong to samples: metadata rows and every sample's data.
    let mut ranges = vec![(meta_off, meta_off + row_bytes)];
    for i in 0..ds.len() {
        let m = ds.meta(i).unwrap();
        ranges.push((m.data_ptr, m.data_ptr + m.data_size));
        ranges.push((m.provenance_ptr, m.provenance_ptr + m.provenance_size));
    }
    drop(ds);
    let bad = out.with_extension("bad.vdx");
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut flips = 0;
    for &(a, b) in &ranges {
        // Every bit of each metadata row's first byte region, and random bits elsewhere.
        for _ in 0..40 {
            let byte = a + next() % (b - a);
            let bit = next() % 8;
            let mut data = good.clone();
            data[byte as usize] ^= 1 << bit;
            std::fs::write(&bad, &data).unwrap();
            let found =
                match dataset::verify::verify(&bad, false, &AtomicBool::new(false), &|_, _| {}) {
                    Ok(r) => !r.ok(),
                    Err(_) => true,
                };
            assert!(found, "flipping bit {bit} of byte {byte} went unnoticed");
            flips += 1;
        }
    }
    assert!(flips >= 40 * 3);
    // Cut short anywhere: never accepted.
    let len = good.len();
    let mut cuts: Vec<usize> = (1..40).map(|k| k * len / 40).collect();
    cuts.extend([0, 10, 24, len - 1, len - 24, len - 25]);
    for c in cuts {
        std::fs::write(&bad, &good[..c]).unwrap();
        let accepted = dataset::verify::verify(&bad, true, &AtomicBool::new(false), &|_, _| {})
            .map(|r| r.ok())
            .unwrap_or(false);
        assert!(!accepted, "a file cut at {c} of {len} bytes was accepted");
    }
    // An unfinished file (pointer still 0) says so.
    let mut data = good.clone();
    data[16..24].fill(0);
    std::fs::write(&bad, &data).unwrap();
    let e = Dataset::open(&bad).err().unwrap().to_string();
    assert!(e.contains("unfinished") && e.contains("bad.vdx"), "{e}");
}

/// Every frame of a segment decodes from its nearest keyframe alone, for every codec vdx
/// writes: keyframes are real random-access points (closed GOPs), exactly every keyint frames.
#[test]
fn segments_decode_frame_k_alone_equals_the_full_decode() {
    let (_d, root) = class_folder();
    let mut checked = Vec::new();
    for codec in ["h264", "hevc", "vp9", "av1"] {
        let out = root.parent().unwrap().join(format!("s-{codec}.vdx"));
        let mut o = small(FieldKind::Segments);
        // 64x64: SVT-AV1's smallest picture.
        (o.width, o.height) = (64, 64);
        o.sampler.frames_per_clip = 20;
        o.sampler.num_clips = 1;
        o.segment.codec = codec.into();
        o.segment.keyint = 5;
        build(&[root.join("walk")], &o, &out, 2);
        let ds = Dataset::open(&out).unwrap();
        assert_eq!(ds.len(), 2, "{codec}");
        let mut dec = Decoders::default();
        for i in 0..ds.len() {
            let (m, data) = ds.raw_data(i).unwrap();
            let SampleData::Clip(all) = ds.decode(i, &mut dec).unwrap() else {
                panic!()
            };
            assert_eq!(all.num_frames, 20);
            let (rows, extradata) = vdx::dataset::segments::parse(data, &m.record).unwrap();
            // One packet per frame in every segment vdx writes (FORMAT.md says so).
            assert_eq!(rows.len(), 20, "{codec} sample {i}: packets");
            if codec != "vp9" {
                assert!(!extradata.is_empty(), "{codec}: extradata");
            }
            let mut keys: Vec<i64> = rows.iter().filter(|r| r.key).map(|r| r.pts).collect();
            keys.sort();
            assert_eq!(keys, vec![0, 5, 10, 15], "{codec} sample {i}: keyframe pts");
            let args = &ds.video_field().arguments;
            for k in 0..20 {
                let one = vdx::dataset::segments::decode_frame_from_nearest_keyframe(
                    data, &m.record, args, k,
                )
                .unwrap_or_else(|e| panic!("{codec} sample {i} frame {k}: {e}"));
                assert!(
                    one.frame(0) == all.frame(k),
                    "{codec} sample {i}: frame {k} from its keyframe differs from the full decode"
                );
            }
            if codec == "h264" {
                // Lossy, but each decoded frame is nearest to its own source frame.
                let frames: Vec<usize> = m.provenance["frames"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect();
                let src = source_frames(m.provenance["source"].as_str().unwrap(), &frames, 64, 64);
                for k in [0usize, 7, 19] {
                    let own = psnr(all.frame(k), &src[k]);
                    for (j, other) in src.iter().enumerate() {
                        if j != k && frames[j] != frames[k] {
                            assert!(
                                own > psnr(all.frame(k), other),
                                "sample {i}: frame {k} looks like {j}"
                            );
                        }
                    }
                }
            }
        }
        checked.push(codec);
    }
    assert_eq!(checked.len(), 4);
}

#[test]
fn av1_segments_smaller_than_64_pixels_are_refused_with_the_size() {
    let (_d, root) = class_folder();
    let out = root.parent().unwrap().join("small-av1.vdx");
    let o = vdx(&[
        "build",
        root.join("walk").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--field",
        "segments",
        "--codec",
        "av1",
        "--size",
        "64x48",
        "--quiet",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("64x48") && err.contains("AV1"), "{err}");
    assert!(!out.exists());
}

#[test]
fn flow_is_farneback_quantized_by_rounding_with_stored_keyframes() {
    let (_d, root) = class_folder();
    let out = root.parent().unwrap().join("flow.vdx");
    let mut o = small(FieldKind::Flow);
    o.sampler.kind = vdx::sample::SamplerKind::Regular;
    o.sampler.frames_per_clip = 10;
    o.sampler.step = 40.0;
    o.flow_keyframe_interval = 4;
    build(&[root.join("walk").join("h264_bframes.mp4")], &o, &out, 1);
    let ds = Dataset::open(&out).unwrap();
    assert!(ds.len() >= 2);
    let mut dec = Decoders::default();
    let m = ds.meta(1).unwrap();
    let SampleData::Flow(f) = ds.decode(1, &mut dec).unwrap() else {
        panic!()
    };
    assert_eq!(f.keyframe_positions, vec![0, 4, 8]);
    assert_eq!(f.flow.len(), 9 * 48 * 64 * 2);
    let frames: Vec<usize> = m.provenance["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(frames, (40..50).collect::<Vec<_>>());
    let src = source_frames(m.provenance["source"].as_str().unwrap(), &frames, 64, 48);
    let views: Vec<&[u8]> = src.iter().map(|v| v.as_slice()).collect();
    let want = vdx::dataset::fields::farneback_flow(&views, 64, 48, &Default::default()).unwrap();
    let q: Vec<i8> = want
        .iter()
        .map(|&v| vdx::dataset::fields::quantize_flow(v, 4.0))
        .collect();
    assert!(
        q == f.flow_q,
        "stored flow equals round(farneback × 4) of the source frames"
    );
    assert!(
        f.flow_q.iter().any(|&v| v != 0),
        "the moving test pattern has flow"
    );
    let n = 64 * 48 * 3;
    for (k, &p) in f.keyframe_positions.iter().enumerate() {
        assert!(
            f.keyframes[k * n..(k + 1) * n] == jpeg_round_trip(&src[p as usize], 64, 48),
            "keyframe {p} is the JPEG of source frame {p}"
        );
    }
}

#[test]
fn numpy_alone_reads_what_inspect_reports() {
    let (_d, root) = class_folder();
    for field in ["frames", "segments", "flow"] {
        let out = root.parent().unwrap().join(format!("{field}.vdx"));
        let o = vdx(&[
            "build",
            root.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--field",
            field,
            "--frames",
            "6",
            "--size",
            "64x48",
            "--num-clips",
            "2",
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let ins = vdx(&["inspect", out.to_str().unwrap(), "--json"]);
        assert!(ins.status.success());
        let ours: serde_json::Value = serde_json::from_slice(&ins.stdout).unwrap();
        let py = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/read_dataset.py"
            ))
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "{}",
            String::from_utf8_lossy(&py.stderr)
        );
        let theirs: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
        assert_eq!(ours["row_offsets"], theirs["row_offsets"], "{field}");
        assert_eq!(ours["row_itemsize"], theirs["row_itemsize"], "{field}");
        let (a, b) = (
            ours["samples"].as_array().unwrap(),
            theirs["samples"].as_array().unwrap(),
        );
        assert_eq!(a.len(), 8);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            for k in [
                "label",
                "data_ptr",
                "data_size",
                "provenance_ptr",
                "provenance_size",
                "checksum",
                "provenance",
            ] {
                assert_eq!(x[k], y[k], "{field}: {k}");
            }
            let mut rec = x["record"].clone();
            rec.as_object_mut().unwrap().remove("field");
            assert_eq!(rec, y["record"], "{field}");
        }
        assert_eq!(
            theirs["info"]["classes"],
            serde_json::json!(["run", "walk"])
        );
    }
}

#[test]
fn a_bad_video_fails_the_build_and_leaves_nothing_unless_keep_going() {
    let (d, root) = class_folder();
    std::fs::copy(fixture("text.mp4"), root.join("walk").join("broken.mp4")).unwrap();
    let out = d.path().join("x.vdx");
    let o = vdx(&[
        "build",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("broken.mp4"), "{err}");
    assert!(
        !out.exists(),
        "a failed build left a file at the output path"
    );
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("x.vdx"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let o = vdx(&[
        "build",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--keep-going",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("skipped"));
    let ds = Dataset::open(&out).unwrap();
    assert_eq!(ds.len(), 4);
    assert_eq!(ds.info()["skipped"].as_array().unwrap().len(), 1);
    // Wrong parameters are named.
    let o = vdx(&[
        "build",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--field",
        "pixels",
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--field"));
    let o = vdx(&["verify", fixture("h264_bframes.mp4").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("h264_bframes.mp4"));
}

/// A class folder of camcorder and broadcast files (.m2ts, .MTS, .ts) and Xvid AVIs builds
/// from all of them, and every entry the scan leaves out is named with its reason.
#[test]
fn folder_builds_take_ts_m2ts_mts_and_avi_and_name_what_they_leave_out() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("videos");
    std::fs::create_dir_all(root.join("cam")).unwrap();
    std::fs::create_dir_all(root.join("tv")).unwrap();
    std::fs::create_dir_all(root.join("cam").join("deeper")).unwrap();
    let ts = fixture("h264_360w.ts");
    std::fs::copy(&ts, root.join("cam").join("00001.MTS")).unwrap();
    std::fs::copy(&ts, root.join("cam").join("00002.m2ts")).unwrap();
    std::fs::copy(&ts, root.join("tv").join("news.ts")).unwrap();
    std::fs::copy(fixture("xvid_packed.avi"), root.join("tv").join("xvid.avi")).unwrap();
    std::fs::write(root.join("tv").join("notes.txt"), "not a video").unwrap();
    std::fs::write(root.join("cam").join(".DS_Store"), "x").unwrap();
    let out = d.path().join("x.vdx");
    let o = vdx(&[
        "build",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--num-clips",
        "1",
        "--frames",
        "4",
        "--size",
        "64",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("notes.txt: '.txt' is not a video extension"),
        "{err}"
    );
    assert!(err.contains(".DS_Store: a hidden file"), "{err}");
    assert!(err.contains("deeper: a folder two levels down"), "{err}");
    let ds = Dataset::open(&out).unwrap();
    assert_eq!(ds.len(), 4, "one clip from each of the four videos");
    let mut sources: Vec<String> = (0..ds.len())
        .map(|i| {
            let m = ds.meta(i).unwrap();
            let s = m.provenance["source"].as_str().unwrap().to_string();
            s.rsplit('/').next().unwrap().to_string()
        })
        .collect();
    sources.sort();
    assert_eq!(sources, ["00001.MTS", "00002.m2ts", "news.ts", "xvid.avi"]);
}

/// H.264 and H.265 segments are the same bytes in every run. Encoding on a pooled worker
/// that had just decoded (one video, two threads) used to give different packets in about
/// one build in three.
#[test]
fn segments_builds_are_byte_identical_run_after_run() {
    let d = tempfile::tempdir().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample.mp4");
    for codec in ["h264", "hevc"] {
        let mut first: Option<Vec<u8>> = None;
        for run in 0..6 {
            let out = d.path().join(format!("{codec}{run}.vdx"));
            let o = vdx(&[
                "build",
                sample,
                "--out",
                out.to_str().unwrap(),
                "--field",
                "segments",
                "--codec",
                codec,
                "--num-clips",
                "2",
                "--frames",
                "8",
                "--size",
                "64",
                "--threads",
                "2",
                "--quiet",
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let bytes = std::fs::read(&out).unwrap();
            match &first {
                None => first = Some(bytes),
                Some(f) => assert!(f == &bytes, "{codec}: run {run} differs from run 0"),
            }
        }
    }
}

/// H.265 segments with a 64-pixel side are the same bytes whatever the memory they are encoded
/// in held before: libx265 3.5 reads memory it never wrote when a side is one 64-pixel coding
/// tree unit, so its output changed with glibc's MALLOC_PERTURB_ fill (and from run to run
/// in builds of several videos). vdx gives it 32-pixel units there.
#[test]
fn hevc_segments_at_64_pixels_do_not_depend_on_uninitialised_memory() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("noise.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=96x64:r=30:d=2,noise=alls=40:allf=t+u",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        src.to_str().unwrap(),
    ]);
    let mut outputs = Vec::new();
    for fill in ["0", "1", "85", "170"] {
        let out = d.path().join(format!("fill{fill}.vdx"));
        let o = Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args([
                "build",
                src.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--field",
                "segments",
                "--codec",
                "hevc",
                "--num-clips",
                "2",
                "--frames",
                "24",
                "--size",
                "64",
                "--threads",
                "1",
                "--quiet",
            ])
            .env("MALLOC_PERTURB_", fill)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outputs.push((fill, std::fs::read(&out).unwrap()));
    }
    for (fill, bytes) in &outputs[1..] {
        assert!(
            bytes == &outputs[0].1,
            "the build with MALLOC_PERTURB_={fill} differs from the one with 0"
        );
    }
}

/// A tiny source: 8 frames of 64x64 testsrc2 (H.264).
fn tiny_source(dir: &Path) -> PathBuf {
    let p = dir.join("tiny.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=64x64:r=25:d=0.32,format=yuv420p",
        "-c:v",
        "libx264",
        "-threads",
        "1",
        p.to_str().unwrap(),
    ]);
    p
}

/// `--codec h265` is an alias: the file names the codec `hevc` (FORMAT.md's one name), in the
/// segments field's arguments and in the build options, and nowhere says `h265`.
#[test]
fn h265_is_written_as_hevc() {
    let d = tempfile::tempdir().unwrap();
    let src = tiny_source(d.path());
    let out = d.path().join("alias.vdx");
    let o = vdx(&[
        "build",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--field",
        "segments",
        "--codec",
        "h265",
        "--size",
        "64x64",
        "--frames",
        "4",
        "--keyint",
        "4",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ins = vdx(&["inspect", out.to_str().unwrap(), "--json"]);
    assert!(ins.status.success());
    let v: serde_json::Value = serde_json::from_slice(&ins.stdout).unwrap();
    let field = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field_type"] == "segments")
        .expect("a segments field");
    assert_eq!(field["arguments"]["codec"], "hevc", "{field}");
    assert_eq!(v["info"]["build_options"]["segment"]["codec"], "hevc");
    assert!(
        !String::from_utf8_lossy(&ins.stdout).contains("h265"),
        "inspect shows h265"
    );
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        !bytes.windows(4).any(|w| w == b"h265"),
        "the file says h265 somewhere"
    );
}

/// libx265 corrupts its heap below 64 pixels (invalid writes in `Lookahead::cuTree` at
/// widths of 48 and under): HEVC segments smaller than 64x64 on either side, asked for as
/// `hevc` or `h265`, are refused before any work, naming the size and the limit, and leave
/// no file. The input is not even a video: the size is checked before it is read.
#[test]
fn hevc_segments_smaller_than_64_pixels_are_refused_with_the_size() {
    use vdx::dataset::segments::HEVC_MIN_SIDE;
    assert_eq!(HEVC_MIN_SIDE, 64);
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("broken.mp4");
    std::fs::copy(fixture("text.mp4"), &bad).unwrap();
    let out = d.path().join("small-hevc.vdx");
    for codec in ["hevc", "h265"] {
        for size in ["48x48", "64x48", "48x64", "62x64"] {
            let o = vdx(&[
                "build",
                bad.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--field",
                "segments",
                "--codec",
                codec,
                "--size",
                size,
                "--frames",
                "4",
                "--quiet",
            ]);
            assert!(!o.status.success(), "{codec} {size} was accepted");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains(size)
                    && err.contains("HEVC")
                    && err.contains(&format!("{HEVC_MIN_SIDE}x{HEVC_MIN_SIDE}")),
                "{codec} {size}: {err}"
            );
            assert!(
                !err.contains("broken.mp4"),
                "{codec} {size}: the input was read before the size was checked: {err}"
            );
            let left: Vec<String> = std::fs::read_dir(d.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .filter(|n| n.contains("small-hevc"))
                .collect();
            assert!(left.is_empty(), "{codec} {size}: left {left:?}");
        }
    }
}

/// "123.4 kB" or "2.2 MB" as bytes.
fn size_bytes(text: &str) -> f64 {
    let (n, unit) = text
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("a size: {text:?}"));
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("a size: {text:?}"));
    n * match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => panic!("unit {other:?} in {text:?}"),
    }
}

/// A small dataset gets FFCV's smallest page (2 MiB), not the 8 MiB default, so the zero gap
/// before the first page (a hole on disk, but real bytes in a tar or an upload) stays small;
/// `vdx build` prints the data size apart from the file size and names the gap.
#[test]
fn a_small_dataset_gets_a_2_mib_page_and_build_names_the_gap() {
    let d = tempfile::tempdir().unwrap();
    let src = tiny_source(d.path());
    let out = d.path().join("small.vdx");
    let o = vdx(&[
        "build",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--num-clips",
        "2",
        "--frames",
        "4",
        "--size",
        "64x64",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let page = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
    assert_eq!(page, 2 * 1024 * 1024, "page size");
    let file = bytes.len() as f64;
    assert!(file < 3e6, "{file} bytes");
    assert_eq!(Dataset::open(&out).unwrap().len(), 2);

    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("wrote "))
        .unwrap_or_else(|| panic!("no 'wrote' line: {stdout}"));
    assert!(line.contains(": 2 samples from 1 videos"), "{line}");
    // "..., 0 classes, 123.4 kB of data (file 2.2 MB: a 2.1 MB zero gap before the first
    // page, sparse on disk)"
    let (before, after) = line.split_once(" of data").expect("'of data'");
    let data = size_bytes(before.rsplit(", ").next().unwrap());
    let (file_said, rest) = after
        .strip_prefix(" (file ")
        .and_then(|a| a.split_once(": a "))
        .unwrap_or_else(|| panic!("the file size: {line}"));
    let (gap_said, tail) = rest
        .split_once(" zero gap")
        .unwrap_or_else(|| panic!("the gap: {line}"));
    assert!(tail.contains("sparse on disk"), "{line}");
    let (file_said, gap_said) = (size_bytes(file_said), size_bytes(gap_said));
    assert!(
        data > 0.0 && data < file,
        "{line}: the file is {file} bytes"
    );
    // Printed to one decimal of its unit.
    assert!((file_said - file).abs() <= 0.05e6, "{line}: {file} bytes");
    assert!(
        (gap_said - (file - data)).abs() <= 0.051e6 && gap_said > 1e6,
        "{line}: {file} bytes"
    );
}

/// The sample's `conversion` provenance: a `vdx inspect --json --sample 0` user sees the
/// source pixel format, its bit depth, and how swscale scaled it (bilinear to the size it
/// scaled to, or FFmpeg's default bicubic at the source size).
#[test]
fn provenance_records_the_pixel_conversion() {
    let d = tempfile::tempdir().unwrap();
    let conversion = |src: &Path, name: &str, extra: &[&str]| -> String {
        let out = d.path().join(format!("{name}.vdx"));
        let mut args = vec![
            "build",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--frames",
            "4",
            "--num-clips",
            "2",
            "--quiet",
        ];
        args.extend(extra);
        let o = vdx(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let ins = vdx(&["inspect", out.to_str().unwrap(), "--json", "--sample", "0"]);
        assert!(ins.status.success());
        let v: serde_json::Value = serde_json::from_slice(&ins.stdout).unwrap();
        assert_eq!(v["index"], 0);
        v["provenance"]["conversion"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no conversion in {}", v["provenance"]))
            .to_string()
    };
    // 10-bit HEVC (192x108) squashed to 64x64.
    let c = conversion(
        &fixture("hevc_10bit.mkv"),
        "ten",
        &["--size", "64x64", "--resize-mode", "squash"],
    );
    assert!(
        c.contains("yuv420p10le") && c.contains("10-bit") && c.contains("bilinear to 64x64"),
        "{c}"
    );
    // 8-bit H.264 (192x108), short side to 64 then a centre crop: swscale scales to 114x64.
    let c = conversion(&fixture("h264_bframes.mp4"), "eight", &["--size", "64x64"]);
    assert!(
        c.contains("yuv420p ")
            && c.contains("8-bit")
            && !c.contains("10-bit")
            && c.contains("bilinear to 114x64"),
        "{c}"
    );
    // At the source's own size: no scaling, FFmpeg's default bicubic for the chroma.
    let c = conversion(
        &fixture("h264_bframes.mp4"),
        "native",
        &["--size", "192x108"],
    );
    assert!(
        c.contains("yuv420p ")
            && c.contains("8-bit")
            && c.contains("bicubic")
            && !c.contains("bilinear"),
        "{c}"
    );
}
