//! Export: each format read back by the consumer it is for (numpy, tarfile + webdataset,
//! ffprobe), lossless paths byte- or pixel-exact, subsets and splits, atomic outputs.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use vdx::dataset::{Dataset, Decoders};

fn vdx(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn python(script: &str, args: &[&Path]) -> String {
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Two classes of two videos each, built with `field`; returns (tempdir, dataset path).
fn dataset(field: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("videos");
    for (class, files) in [
        ("walk", ["h264_bframes.mp4", "vfr.mp4"]),
        ("run", ["h264_opengop.mp4", "hevc.mp4"]),
    ] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for f in files {
            std::fs::copy(fixture(f), root.join(class).join(f)).unwrap();
        }
    }
    let out = d.path().join(format!("{field}.vdx"));
    ok(vdx(&[
        "build",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--field",
        field,
        "--frames",
        "8",
        "--size",
        "64x48",
        "--num-clips",
        "2",
        "--quiet",
    ]));
    (d, out)
}

fn export(ds: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "export",
        ds.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ok(vdx(&args))
}

#[test]
fn npy_shard_written_in_several_batches_equals_the_datasets_decode() {
    // One worker thread: batches of 4, so the 8 samples of this one shard are decoded in two
    // batches while the writer streams the first (and recycles its buffers for the next).
    let (d, ds_path) = dataset("frames");
    let out = d.path().join("npy1");
    let o = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args([
            "export",
            ds_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--quiet", "--format", "npy", "--shard-size", "8"])
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    ok(o);
    let ds = Dataset::open(&ds_path).unwrap();
    let mut dec = Decoders::default();
    let mut want = Vec::new();
    for i in 0..8 {
        want.extend_from_slice(&ds.decode_clip(i, &mut dec).unwrap().data);
    }
    let got = std::fs::read(out.join("shard_00000.npy")).unwrap();
    assert_eq!(
        got.len() % 64,
        want.len() % 64,
        "header is a multiple of 64 bytes"
    );
    assert!(
        got[got.len() - want.len()..] == want[..],
        "shard body differs"
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("shard_00000.json")).unwrap()).unwrap();
    let samples: Vec<u64> = (0..8)
        .map(|k| meta[k]["sample"].as_u64().unwrap())
        .collect();
    assert_eq!(samples, (0..8).collect::<Vec<_>>());
}

#[test]
fn npy_shards_load_in_numpy_and_equal_the_datasets_decode() {
    let (d, ds_path) = dataset("frames");
    let out = d.path().join("npy");
    export(&ds_path, &out, &["--format", "npy", "--shard-size", "3"]);
    let ds = Dataset::open(&ds_path).unwrap();
    let mut dec = Decoders::default();
    // 8 samples in shards of 3, 3, 2.
    let shapes = python(
        "import numpy as np,sys,glob; print([np.load(f).shape for f in sorted(glob.glob(sys.argv[1]+'/shard_*.npy'))])",
        &[&out],
    );
    assert_eq!(
        shapes,
        "[(3, 8, 48, 64, 3), (3, 8, 48, 64, 3), (2, 8, 48, 64, 3)]"
    );
    let shard1 = std::fs::read(out.join("shard_00001.npy")).unwrap();
    let body = &shard1[shard1.len() - 3 * 8 * 48 * 64 * 3..];
    for k in 0..3 {
        let c = ds.decode_clip(3 + k as u64, &mut dec).unwrap();
        assert!(
            body[k * c.data.len()..(k + 1) * c.data.len()] == c.data[..],
            "sample {}",
            3 + k
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("shard_00001.json")).unwrap()).unwrap();
    assert_eq!(meta[0]["sample"], 3);
    assert_eq!(meta[0]["frames"].as_array().unwrap().len(), 8);
    // f32 with a recipe: exactly the augmentation engine's output for (sample, epoch 0).
    let out2 = d.path().join("npy_f32");
    let recipe = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/recipes/light.json");
    let r = vdx::augment::Recipe::load(Path::new(recipe)).unwrap();
    let mut small = r.clone();
    small.ops = vec![
        vdx::augment::Op::TemporalCrop {
            frames: 4,
            mode: vdx::augment::TemporalMode::Random,
        },
        vdx::augment::Op::SpatialCrop {
            width: 32,
            height: 32,
            position: vdx::augment::CropPos::Random,
        },
        vdx::augment::Op::HorizontalFlip { p: 0.5 },
    ];
    let rp = d.path().join("small.json");
    std::fs::write(&rp, small.to_json()).unwrap();
    export(
        &ds_path,
        &out2,
        &[
            "--format",
            "npy",
            "--float",
            "--recipe",
            rp.to_str().unwrap(),
            "--range",
            "2..4",
        ],
    );
    let got = std::fs::read(out2.join("shard_00000.npy")).unwrap();
    let n = 2 * 4 * 32 * 32 * 3;
    let vals: Vec<f32> = got[got.len() - 4 * n..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    for (k, i) in [2u64, 3].iter().enumerate() {
        let c = ds.decode_clip(*i, &mut dec).unwrap();
        let clip = vdx::augment::Clip::new(c.num_frames, c.height, c.width, c.data).unwrap();
        let (a, _) = vdx::augment::apply(&small, &clip, *i, 0).unwrap();
        let mut want = vec![0f32; a.data.len()];
        vdx::augment::to_float_into(&small, &a, &mut want).unwrap();
        assert!(vals[k * n / 2..(k + 1) * n / 2] == want[..], "sample {i}");
    }
}

#[test]
fn frame_folders_copy_the_stored_jpegs_with_annotations() {
    let (d, ds_path) = dataset("frames");
    let out = d.path().join("folders");
    export(&ds_path, &out, &["--format", "folders"]);
    let ann = std::fs::read_to_string(out.join("annotations.txt")).unwrap();
    let lines: Vec<&str> = ann.lines().collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(
        std::fs::read_to_string(out.join("classes.txt")).unwrap(),
        "run\nwalk\n"
    );
    let ds = Dataset::open(&ds_path).unwrap();
    for (i, line) in lines.iter().enumerate() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts[1], "8");
        let m = ds.meta(i as u64).unwrap();
        assert_eq!(parts[2], m.label.to_string());
        assert!(parts[0].starts_with(m.class.as_deref().unwrap()), "{line}");
        let (_, data) = ds.raw_data(i as u64).unwrap();
        let ranges = vdx::dataset::fields::frame_ranges(data, 8).unwrap();
        for (k, (a, b)) in ranges.iter().enumerate() {
            let f =
                std::fs::read(out.join(parts[0]).join(format!("img_{:05}.jpg", k + 1))).unwrap();
            assert!(
                f == data[*a..*b],
                "{line}: frame {k} is not the stored JPEG"
            );
        }
    }
}

#[test]
fn mp4_clips_play_with_the_right_frames_size_and_codec() {
    for field in ["segments", "frames"] {
        let (d, ds_path) = dataset(field);
        let out = d.path().join("mp4");
        export(&ds_path, &out, &["--format", "mp4", "--samples", "0,5"]);
        for i in [0, 5] {
            let f = out.join(format!("{i:06}.mp4"));
            let o = Command::new("ffprobe")
                .args(["-v", "error", "-count_frames", "-show_entries"])
                .arg("stream=codec_name,width,height,nb_read_frames")
                .args(["-of", "csv=p=0"])
                .arg(&f)
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&o.stdout).trim(),
                "h264,64,48,8",
                "{field} {i}"
            );
        }
        if field == "segments" {
            // Remuxed, not re-encoded: decoding the MP4 gives the dataset's own frames.
            let ds = Dataset::open(&ds_path).unwrap();
            let c = ds.decode_clip(5, &mut Decoders::default()).unwrap();
            let mut v =
                vdx::decode::VideoDecoder::open(&out.join("000005.mp4"), Default::default())
                    .unwrap();
            let frames = v.frames(&(0..8).collect::<Vec<_>>()).unwrap();
            for (t, fr) in frames.iter().enumerate() {
                let mse: f64 = fr
                    .data
                    .iter()
                    .zip(c.frame(t))
                    .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
                    .sum::<f64>()
                    / fr.data.len() as f64;
                assert!(mse < 1.0, "frame {t}: mean squared difference {mse} (same bitstream, only RGB conversion may differ)");
            }
        }
    }
}

#[test]
fn webdataset_shards_read_with_tarfile_and_webdataset() {
    let (d, ds_path) = dataset("segments");
    let out = d.path().join("wds");
    export(&ds_path, &out, &["--format", "wds", "--shard-size", "5"]);
    let listing = python(
        "import tarfile,sys,glob; fs=sorted(glob.glob(sys.argv[1]+'/shard-*.tar')); print(len(fs), [len(tarfile.open(f).getnames()) for f in fs], tarfile.open(fs[0]).getnames()[:3])",
        &[&out],
    );
    assert_eq!(
        listing,
        "2 [15, 9] ['000000.mp4', '000000.json', '000000.cls']"
    );
    let wds = python(
        "import webdataset as wds,sys,glob,json\nn=0\nfor s in wds.WebDataset(sorted(glob.glob(sys.argv[1]+'/shard-*.tar')), shardshuffle=False):\n    assert s['mp4'][4:8]==b'ftyp'; j=json.loads(s['json']); assert int(s['cls'])==j['label']; n+=1\nprint(n)",
        &[&out],
    );
    assert_eq!(wds, "8");
}

#[test]
fn audio_clips_are_16k_mono_and_videos_without_audio_are_reported() {
    let (d, ds_path) = dataset("frames");
    let out = d.path().join("audio");
    let o = vdx(&[
        "export",
        ds_path.to_str().unwrap(),
        "--format",
        "audio",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    // Only h264_bframes.mp4 has audio (samples 4 and 5 in sorted class order: run, walk).
    assert!(err.contains("no audio stream"), "{err}");
    let wavs: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(wavs.len(), 2, "{wavs:?}");
    let info = python(
        "import wave,sys,struct\nb=open(sys.argv[1],'rb').read(); print(struct.unpack('<HHI',b[20:28]))",
        &[&wavs[0]],
    );
    assert_eq!(info, "(3, 1, 16000)");
}

#[test]
fn subsets_splits_and_atomic_outputs() {
    let (d, ds_path) = dataset("frames");
    let ds = Dataset::open(&ds_path).unwrap();
    use vdx::export::{select, Subset};
    let all = select(&ds, &Subset::default()).unwrap();
    assert_eq!(all.len(), 8);
    let walk = select(
        &ds,
        &Subset {
            labels: vec![1],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(walk.len(), 4);
    let r = select(
        &ds,
        &Subset {
            random: Some((3, 7)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(
        r,
        select(
            &ds,
            &Subset {
                random: Some((3, 7)),
                ..Default::default()
            }
        )
        .unwrap()
    );
    let split = select(
        &ds,
        &Subset {
            split: Some((0.5, 1)),
            ..Default::default()
        },
    )
    .unwrap();
    let mut by_src: std::collections::HashMap<String, &str> = Default::default();
    for (i, s) in &split {
        let src = ds.meta(*i).unwrap().provenance["source"]
            .as_str()
            .unwrap()
            .to_string();
        if let Some(prev) = by_src.insert(src.clone(), s) {
            assert_eq!(prev, *s, "{src} is in both splits");
        }
    }
    assert!(split.iter().any(|(_, s)| *s == "train") && split.iter().any(|(_, s)| *s == "val"));
    // Existing outputs are never overwritten; bad options are named.
    let out = d.path().join("exists");
    std::fs::create_dir(&out).unwrap();
    let o = vdx(&[
        "export",
        ds_path.to_str().unwrap(),
        "--format",
        "npy",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"));
    let o = vdx(&[
        "export",
        ds_path.to_str().unwrap(),
        "--format",
        "gif",
        "--out",
        d.path().join("x").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--format"));
    // A failed export (a shard too big to hold differently sized clips is not possible here,
    // so use an out-of-range sample) leaves nothing behind.
    let failed = d.path().join("failed");
    let o = vdx(&[
        "export",
        ds_path.to_str().unwrap(),
        "--format",
        "npy",
        "--samples",
        "1,99",
        "--out",
        failed.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("99"));
    assert!(!failed.exists());
    assert!(!d.path().join(".failed.vdx-partial").exists());
}

/// A VFR AVI (frames dropped as empty chunks, about 3 frames a second on average) built as a
/// segments field exports to MP4: the segment's frame rate is a fraction muxers take, not a
/// float turned into 838653605/1926627027. And a sample that cannot be exported (its stored
/// bytes damaged) is listed and left out with --keep-going, while without it the export
/// stops and leaves nothing at the output.
#[test]
fn vfr_avi_segments_export_and_a_bad_sample_is_left_out_or_stops_cleanly() {
    let d = tempfile::tempdir().unwrap();
    let avi = d.path().join("vfr.avi");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=96x64:r=10:d=8",
        "-vf",
        "select=not(mod(n\\,4))+eq(n\\,5)+eq(n\\,6)",
        "-fps_mode",
        "vfr",
        "-c:v",
        "mpeg4",
        "-q:v",
        "5",
        avi.to_str().unwrap(),
    ]);
    let idx = vdx::build_index(&avi, &Default::default()).unwrap();
    let fps = idx.summary().mean_fps;
    assert!((2.0..4.0).contains(&fps), "mean fps {fps}");
    let seg = d.path().join("seg.vdx");
    ok(vdx(&[
        "build",
        avi.to_str().unwrap(),
        "--out",
        seg.to_str().unwrap(),
        "--field",
        "segments",
        "--frames",
        "4",
        "--size",
        "64x48",
        "--num-clips",
        "4",
        "--quiet",
    ]));
    let ds = vdx::dataset::Dataset::open(&seg).unwrap();
    let n = ds.len() as usize;
    assert_eq!(n, 4);
    let out = d.path().join("mp4");
    export(&seg, &out, &["--format", "mp4"]);
    let files = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(files, n, "one MP4 per sample");

    // Damage sample 1's stored bytes (a copy of the dataset).
    let bad = d.path().join("bad.vdx");
    let mut bytes = std::fs::read(&seg).unwrap();
    let m = ds.meta(1).unwrap();
    let mid = (m.data_ptr + m.data_size / 2) as usize;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0x5A;
    }
    std::fs::write(&bad, &bytes).unwrap();
    let stop = d.path().join("stop");
    let o = vdx(&[
        "export",
        bad.to_str().unwrap(),
        "--out",
        stop.to_str().unwrap(),
        "--format",
        "mp4",
        "--quiet",
    ]);
    assert!(!o.status.success(), "a damaged sample stops the export");
    assert!(
        !stop.exists(),
        "a stopped export leaves nothing at the output"
    );
    let go = d.path().join("go");
    let o = vdx(&[
        "export",
        bad.to_str().unwrap(),
        "--out",
        go.to_str().unwrap(),
        "--format",
        "mp4",
        "--keep-going",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    assert!(err.contains("skipped sample 1"), "{err}");
    let names: Vec<String> = std::fs::read_dir(&go)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), n - 1, "{names:?}");
    assert!(!names.iter().any(|f| f.starts_with("000001")), "{names:?}");
}
