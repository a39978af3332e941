//! Source against stored: vdx's PSNR and SSIM equal FFmpeg's `psnr` and `ssim` filters on the
//! same frame pairs; flow EPE measures the int8 quantization; `vdx quality --json` equals the
//! library's numbers; moved sources are found with --sources, changed or missing ones named.

mod common;

use common::*;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use vdx::dataset::Dataset;
use vdx::quality::{self, PassOptions, SourceFinder};

fn build(inputs: &[&Path], out: &Path, extra: &[&str]) -> Dataset {
    let mut args: Vec<&str> = vec!["build"];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    args.extend([
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "6",
        "--num-clips",
        "2",
        "--size",
        "96x64",
        "--quiet",
    ]);
    args.extend(extra);
    vdx_ok(&args);
    Dataset::open(out).unwrap()
}

fn assert_like_ffmpeg(ds: &Dataset, what: &str) {
    let finder = SourceFinder::default();
    let mut checked = 0;
    for i in 0..ds.len() {
        let c = quality::compare_sample(ds, i, &finder).unwrap();
        assert_eq!(c.stored.len(), c.quality.frames.len());
        let psnr = ffmpeg_metric(&c.stored, &c.reference, c.width, c.height, "psnr");
        let ssim = ffmpeg_metric(&c.stored, &c.reference, c.width, c.height, "ssim");
        for (k, f) in c.quality.frames.iter().enumerate() {
            assert!(
                (f.psnr - psnr[k]).abs() < 0.01,
                "{what} sample {i} frame {k}: vdx PSNR {} dB, ffmpeg {} dB",
                f.psnr,
                psnr[k]
            );
            assert!(
                (f.ssim - ssim[k]).abs() < 1e-4,
                "{what} sample {i} frame {k}: vdx SSIM {}, ffmpeg {}",
                f.ssim,
                ssim[k]
            );
            // Lossy encoding: neither identical nor unrelated.
            assert!(f.psnr.is_finite() && f.psnr > 15.0, "{what}: {}", f.psnr);
            checked += 1;
        }
    }
    assert!(checked >= 12, "{what}: only {checked} frames compared");
}

#[test]
fn frames_psnr_and_ssim_equal_ffmpegs_filters() {
    let d = tempfile::tempdir().unwrap();
    let src = fixture("h264_bframes.mp4");
    let ds = build(&[&src], &d.path().join("f.vdx"), &["--quality", "60"]);
    assert_like_ffmpeg(&ds, "frames q60");
    // The frames measured are the ones the provenance names.
    let c = quality::compare_sample(&ds, 1, &SourceFinder::default()).unwrap();
    let prov = ds.meta(1).unwrap().provenance;
    let want: Vec<usize> = prov["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let got: Vec<usize> = c.quality.frames.iter().map(|f| f.source_frame).collect();
    assert_eq!(got, want);
}

#[test]
fn segments_psnr_and_ssim_equal_ffmpegs_filters() {
    let d = tempfile::tempdir().unwrap();
    let src = fixture("hevc.mp4");
    let ds = build(
        &[&src],
        &d.path().join("s.vdx"),
        &["--field", "segments", "--crf", "26", "--keyint", "3"],
    );
    assert_like_ffmpeg(&ds, "segments crf26");
}

#[test]
fn higher_jpeg_quality_measures_better() {
    let d = tempfile::tempdir().unwrap();
    let src = fixture("h264_bframes.mp4");
    let pass = |q: &str| {
        let ds = build(
            &[&src],
            &d.path().join(format!("q{q}.vdx")),
            &["--quality", q],
        );
        let r = quality::quality_pass(
            &ds,
            &PassOptions::default(),
            &AtomicBool::new(false),
            &|_, _| {},
        )
        .unwrap();
        assert_eq!(r.samples.len(), 2);
        assert!(r.unmeasured.is_empty());
        r
    };
    let (lo, hi) = (pass("10"), pass("95"));
    for (a, b) in lo.samples.iter().zip(&hi.samples) {
        assert!(
            a.psnr_mean + 2.0 < b.psnr_mean,
            "{} vs {}",
            a.psnr_mean,
            b.psnr_mean
        );
        assert!(a.ssim_mean < b.ssim_mean);
    }
}

#[test]
fn flow_epe_is_the_quantization_error() {
    let d = tempfile::tempdir().unwrap();
    let src = fixture("h264_bframes.mp4");
    let ds = build(
        &[&src],
        &d.path().join("flow.vdx"),
        &[
            "--field",
            "flow",
            "--keyframe-every",
            "3",
            "--flow-scale",
            "4",
        ],
    );
    for i in 0..ds.len() {
        let c = quality::compare_sample(&ds, i, &SourceFinder::default()).unwrap();
        let q = &c.quality;
        // Keyframes at clip positions 0 and 3 are measured as pictures.
        let pos: Vec<usize> = q.frames.iter().map(|f| f.position).collect();
        assert_eq!(pos, vec![0, 3]);
        assert_eq!(q.flow_epe.len(), 5);
        let (stored, fresh) = c.flow.as_ref().unwrap();
        // Stored flow is round(fresh × 4) / 4 where it is inside the int8 range.
        let inside = fresh.iter().filter(|v| v.abs() < 30.0).count();
        assert!(inside * 100 > fresh.len() * 99);
        for (s, f) in stored.iter().zip(fresh) {
            if f.abs() < 30.0 {
                assert!((s - f).abs() <= 0.125 + 1e-6, "stored {s}, fresh {f}");
            }
        }
        let e = q.epe_mean.unwrap();
        assert!(e > 0.0 && e < 0.125 * 2f64.sqrt(), "sample {i}: EPE {e}");
    }
}

#[test]
fn cli_json_equals_the_library_and_lists_the_worst_first() {
    let d = tempfile::tempdir().unwrap();
    let noisy = fixture("h264_bframes.mp4");
    // A smooth picture JPEG keeps almost perfectly.
    let clean = d.path().join("smooth.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x6080a0:s=192x108:r=30:d=2,format=yuv420p",
        "-c:v",
        "libx264",
        clean.to_str().unwrap(),
    ]);
    let path = d.path().join("two.vdx");
    let ds = build(&[&clean, &noisy], &path, &["--quality", "70"]);
    let out = vdx_ok(&["quality", path.to_str().unwrap(), "--json", "--worst", "4"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let samples = v["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 4);
    for s in samples {
        let i = s["index"].as_u64().unwrap();
        let c = quality::compare_sample(&ds, i, &SourceFinder::default()).unwrap();
        let lib = serde_json::to_value(&c.quality).unwrap();
        assert_json_eq(s, &lib, &format!("sample {i}"));
    }
    // The noisy source's samples measure worse than the smooth one's.
    let worst: Vec<u64> = v["worst"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(worst.len(), 4);
    for &i in &worst[..2] {
        let src = samples[i as usize]["source"].as_str().unwrap();
        assert_eq!(src, noisy.to_str().unwrap(), "worst first: {worst:?}");
    }
    let psnr = |i: u64| samples[i as usize]["psnr_mean"].as_f64().unwrap();
    assert!(worst.windows(2).all(|w| psnr(w[0]) <= psnr(w[1])));
    // The one-sample listing shows the same numbers.
    let one = vdx_ok(&["quality", path.to_str().unwrap(), "--sample", "3", "--json"]);
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_json_eq(&one, &samples[3], "--sample 3");
}

/// JSON values equal, numbers to 1e-12 relative (JSON text rounds the last bit of a double).
fn assert_json_eq(a: &serde_json::Value, b: &serde_json::Value, what: &str) {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                "{what}: {x} vs {y}"
            );
        }
        (Array(x), Array(y)) => {
            assert_eq!(x.len(), y.len(), "{what}");
            for (p, q) in x.iter().zip(y) {
                assert_json_eq(p, q, what);
            }
        }
        (Object(x), Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{what}"
            );
            for (k, p) in x {
                assert_json_eq(p, &y[k], &format!("{what}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{what}"),
    }
}

#[test]
fn moved_sources_are_found_changed_and_missing_ones_named() {
    let d = tempfile::tempdir().unwrap();
    let old = d.path().join("old/walk");
    std::fs::create_dir_all(&old).unwrap();
    let src = old.join("clip.mp4");
    std::fs::copy(fixture("h264_bframes.mp4"), &src).unwrap();
    let path = d.path().join("m.vdx");
    build(&[&src], &path, &[]);
    let ds_before = std::fs::read(&path).unwrap();
    // Moved: the recorded path is gone.
    let new = d.path().join("new");
    std::fs::create_dir_all(new.join("walk")).unwrap();
    std::fs::rename(&src, new.join("walk/clip.mp4")).unwrap();
    let o = vdx(&["quality", path.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("sample 0: not measured")
            && e.contains(src.to_str().unwrap())
            && e.contains("--sources"),
        "{e}"
    );
    // Found by the tail of its path under --sources.
    let out = vdx_ok(&[
        "quality",
        path.to_str().unwrap(),
        "--sources",
        new.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["samples"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["samples"][0]["source"].as_str().unwrap(),
        new.join("walk/clip.mp4").to_str().unwrap()
    );
    // Another video at that place is refused as not the same file.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=192x108:r=30:d=2",
        "-c:v",
        "libx264",
        new.join("walk/clip.mp4").to_str().unwrap(),
    ]);
    let o = vdx(&[
        "quality",
        path.to_str().unwrap(),
        "--sources",
        new.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("not the same file"), "{e}");
    // Nothing was written to the dataset.
    assert_eq!(std::fs::read(&path).unwrap(), ds_before);
}

#[test]
fn a_cancelled_pass_says_so() {
    let d = tempfile::tempdir().unwrap();
    let ds = build(
        &[&fixture("h264_bframes.mp4")],
        &d.path().join("c.vdx"),
        &[],
    );
    let r = quality::quality_pass(
        &ds,
        &PassOptions::default(),
        &AtomicBool::new(true),
        &|_, _| {},
    );
    assert!(matches!(r, Err(vdx::quality::QualityError::Cancelled)));
}

#[test]
fn compare_fields_builds_and_measures_every_variant() {
    let src = fixture("h264_bframes.mp4");
    let keep_dir = tempfile::tempdir().unwrap();
    let kept = keep_dir.path().join("variants");
    let out = vdx_ok(&[
        "compare-fields",
        src.to_str().unwrap(),
        "--quality",
        "40,95",
        "--crf",
        "35",
        "--keyint",
        "2,6",
        "--size",
        "64",
        "--frames",
        "6",
        "--clips",
        "2",
        "--keep",
        kept.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "frames q40",
            "frames q95",
            "segments h264 crf35 key2",
            "segments h264 crf35 key6",
            "flow scale4 q95"
        ]
    );
    let f = |k: usize, key: &str| rows[k][key].as_f64().unwrap();
    for (k, row) in rows.iter().enumerate() {
        assert_eq!(row["samples"], 2);
        assert!(f(k, "bytes_per_clip") > 100.0 && f(k, "build_secs") > 0.0);
        assert!(f(k, "read_sequential_ms") > 0.0 && f(k, "random_frame_ms") > 0.0);
        assert!(f(k, "ssim") > 0.3 && f(k, "ssim") < 1.0);
    }
    // Higher JPEG quality: more bytes, better pictures.
    assert!(f(1, "bytes_per_clip") > f(0, "bytes_per_clip"));
    assert!(f(1, "psnr") > f(0, "psnr"));
    // More keyframes cost bytes (the same pictures otherwise).
    assert!(f(2, "bytes_per_clip") > f(3, "bytes_per_clip"));
    // The frames and segments variants have no flow; flow's EPE is the int8 rounding.
    assert!(rows[0]["epe"].is_null());
    let epe = f(4, "epe");
    assert!(epe > 0.0 && epe < 0.2, "{epe}");
    // Each variant is the dataset `vdx build` writes with those options: the quality pass
    // over such a build measures the same.
    let d = tempfile::tempdir().unwrap();
    let q95 = d.path().join("q95.vdx");
    vdx_ok(&[
        "build",
        src.to_str().unwrap(),
        "--out",
        q95.to_str().unwrap(),
        "--frames",
        "6",
        "--num-clips",
        "2",
        "--size",
        "64",
        "--quality",
        "95",
        "--quiet",
    ]);
    let ds = Dataset::open(&q95).unwrap();
    // The kept variant is that very file, byte for byte.
    assert!(
        std::fs::read(kept.join("frames_q95.vdx")).unwrap() == std::fs::read(&q95).unwrap(),
        "frames q95 differs from vdx build"
    );
    let seg = d.path().join("seg.vdx");
    vdx_ok(&[
        "build",
        src.to_str().unwrap(),
        "--out",
        seg.to_str().unwrap(),
        "--field",
        "segments",
        "--crf",
        "35",
        "--keyint",
        "2",
        "--frames",
        "6",
        "--num-clips",
        "2",
        "--size",
        "64",
        "--quiet",
    ]);
    assert!(
        std::fs::read(kept.join("segments_h264_crf35_key2.vdx")).unwrap()
            == std::fs::read(&seg).unwrap(),
        "segments differ from vdx build"
    );
    let r = quality::quality_pass(
        &ds,
        &PassOptions::default(),
        &AtomicBool::new(false),
        &|_, _| {},
    )
    .unwrap();
    let s = r.summary();
    assert!((s["psnr_mean"].as_f64().unwrap() - f(1, "psnr")).abs() < 1e-9);
    assert!((s["ssim_mean"].as_f64().unwrap() - f(1, "ssim")).abs() < 1e-12);
    let data: u64 = (0..ds.len()).map(|i| ds.meta(i).unwrap().data_size).sum();
    assert_eq!(data as f64 / 2.0, f(1, "bytes_per_clip"));
    // Bad input: a file that is no video is named.
    let txt = d.path().join("notes.mp4");
    std::fs::write(&txt, b"not a video").unwrap();
    let o = vdx(&[
        "compare-fields",
        txt.to_str().unwrap(),
        "--fields",
        "frames",
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("notes.mp4"), "{e}");
    let o = vdx(&["compare-fields", src.to_str().unwrap(), "--quality", "high"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("'high' in 'high' is not a number"));
}

#[test]
fn damaged_positions_are_measured_against_the_same_stand_in() {
    // The second keyframe group (frames 24..47) cannot be decoded; built with
    // --damaged repeat, the clips hold the nearest good frame there and say so.
    let d = tempfile::tempdir().unwrap();
    let src = fixture("h264_damaged_idr.mp4");
    let ds = build(
        &[&src],
        &d.path().join("dmg.vdx"),
        &["--damaged", "repeat", "--quality", "90"],
    );
    let r = quality::quality_pass(
        &ds,
        &PassOptions::default(),
        &AtomicBool::new(false),
        &|_, _| {},
    )
    .unwrap();
    assert!(r.unmeasured.is_empty(), "{:?}", r.unmeasured);
    let mut flagged = 0;
    for s in &r.samples {
        let prov = ds.meta(s.index).unwrap().provenance;
        let damaged: Vec<usize> = prov["damaged"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_u64().unwrap() as usize).collect())
            .unwrap_or_default();
        for f in &s.frames {
            assert_eq!(f.damaged, damaged.contains(&f.position));
            // A stand-in is measured against the source frame that was encoded for it.
            assert!(f.psnr.is_finite() && f.psnr > 15.0, "{f:?}");
            flagged += f.damaged as usize;
        }
        let one = quality::compare_sample(&ds, s.index, &SourceFinder::default()).unwrap();
        assert_eq!(&one.quality, s);
    }
    assert!(flagged > 0, "no clip touched the damaged group");
}
