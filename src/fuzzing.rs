//! The bodies of the fuzz targets (`fuzz/`), in the library so that the same code runs
//! under cargo-fuzz (nightly, libFuzzer) and in the stable test suite, which replays every
//! input that once failed plus seeded mutations of the seeds (`tests/fuzz_replay.rs`).
//!
//! Each function must return for any input: no panic, no out-of-bounds read, no hang, no
//! allocation sized by a value read from the input without a bound.

use std::path::PathBuf;

/// A scratch file for this process and thread (the video and dataset readers take paths).
fn scratch(name: &str) -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("vdx-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join(format!("{:?}-{name}", std::thread::current().id())))
}

/// Dataset bytes -> open, metadata, checksum, decode of the first samples.
pub fn dataset_reader(data: &[u8]) {
    let Some(p) = scratch("f.vdx") else { return };
    if std::fs::write(&p, data).is_err() {
        return;
    }
    if let Ok(ds) = crate::dataset::Dataset::open(&p) {
        let mut dec = crate::dataset::Decoders::default();
        for i in 0..ds.len().min(4) {
            let _ = ds.meta(i);
            let _ = ds.verify_sample_checksum(i);
            let _ = ds.decode(i, &mut dec);
        }
    }
    let _ = std::fs::remove_file(&p);
}

/// Recipe JSON -> parse, validate, apply to a small clip, and round-trip.
pub fn recipe_json(data: &[u8]) {
    use crate::augment::{apply, Clip, Op, Recipe};
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(r) = Recipe::from_json(s) else { return };
    // Bounded work: skip recipes that would scale to huge frames.
    let big = r.ops.iter().any(|o| match o {
        Op::ShortSideScale { size } => *size > 256,
        Op::RandomResizedCrop { width, height, .. } | Op::SpatialCrop { width, height, .. } => {
            *width > 256 || *height > 256
        }
        Op::TemporalCrop { frames, .. } => *frames > 256,
        Op::TemporalSubsample {
            frames: Some(n), ..
        } => *n > 256,
        _ => false,
    });
    if !big {
        let clip = Clip::new(4, 12, 16, vec![128; 4 * 12 * 16 * 3]).expect("valid clip");
        let _ = apply(&r, &clip, 0, 0);
    }
    Recipe::from_json(&r.to_json()).expect("a valid recipe round-trips");
}

/// Video bytes -> probe, index, and three frames decoded (first, middle, last).
pub fn video_index_decode(data: &[u8]) {
    let Some(p) = scratch("f.mp4") else { return };
    if std::fs::write(&p, data).is_err() {
        return;
    }
    let _ = crate::video::probe::probe(&p, &Default::default());
    if let Ok(ix) = crate::build_index(&p, &Default::default()) {
        let n = ix.len();
        if n > 0 && n < 100_000 {
            let opts = crate::video::decode::DecodeOptions {
                resize: Some(crate::video::decode::Resize {
                    width: 32,
                    height: 32,
                    mode: crate::video::decode::ResizeMode::Squash,
                }),
                threads: 1,
                ..Default::default()
            };
            if let Ok(mut d) =
                crate::video::decode::VideoDecoder::with_index(&p, std::sync::Arc::new(ix), opts)
            {
                let _ = d.frames_partial(&[0, n / 2, n - 1]);
            }
        }
    }
    let _ = std::fs::remove_file(&p);
}
