//! Hostile dataset bytes: thousands of seeded mutations of real datasets (all three fields)
//! go through open, metadata, decode and verify. Each must give a result or an error, never
//! a panic (a panic fails the test and prints the seed to replay).

mod common;

use common::*;
use std::sync::atomic::AtomicBool;
use vdx::dataset::{self, Dataset, Decoders, FieldKind};

fn build(field: FieldKind, out: &std::path::Path) {
    let mut o = dataset::BuildOptions {
        field,
        width: 32,
        height: 24,
        ..Default::default()
    };
    o.sampler.frames_per_clip = 6;
    o.sampler.num_clips = 2;
    o.segment.keyint = 3;
    o.flow_keyframe_interval = 3;
    let (inp, classes) = dataset::collect_inputs(&[fixture("h264_bframes.mp4")]).unwrap();
    dataset::build(
        &inp,
        &classes,
        &o,
        out,
        dataset::RunOptions::default(),
        &AtomicBool::new(false),
        &|_| {},
    )
    .unwrap();
}

/// Reads everything a user would from a (possibly damaged) dataset; returns whether it opened,
/// so the caller can count how many mutants got past `open` and were really exercised.
fn exercise(path: &std::path::Path) -> bool {
    let Ok(ds) = Dataset::open(path) else {
        return false;
    };
    let mut dec = Decoders::default();
    for i in 0..ds.len().min(8) {
        let _ = ds.meta(i);
        let _ = ds.verify_sample_checksum(i);
        let _ = ds.decode(i, &mut dec);
    }
    let _ = dataset::verify::verify(path, true, &AtomicBool::new(false), &|_, _| {});
    true
}

#[test]
fn mutated_datasets_never_panic() {
    let d = tempfile::tempdir().unwrap();
    for field in [FieldKind::Frames, FieldKind::Segments, FieldKind::Flow] {
        let good_path = d.path().join(format!("{field:?}.vdx"));
        build(field, &good_path);
        let good = std::fs::read(&good_path).unwrap();
        let ds = Dataset::open(&good_path).unwrap();
        let (_, meta_off, data_start) = ds.layout();
        // Interesting regions: header, descriptors, metadata table, data, allocation table.
        let regions = [
            (0usize, 24usize),
            (24, meta_off as usize),
            (meta_off as usize, data_start as usize),
            (data_start as usize, good.len()),
        ];
        drop(ds);
        let bad = d.path().join("bad.vdx");
        let (mut opened, mut refused) = (0, 0);
        let mut state = 0x2545F4914F6CDD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..300 {
            let mut data = good.clone();
            let (a, b) = regions[round % regions.len()];
            if b <= a {
                continue;
            }
            // 1 to 8 byte changes: random bytes, or extreme values for size fields.
            for _ in 0..1 + next() % 8 {
                let at = a + (next() as usize) % (b - a);
                data[at] = match next() % 4 {
                    0 => 0xFF,
                    1 => 0x00,
                    2 => 0x7F,
                    _ => next() as u8,
                };
            }
            if round % 7 == 0 {
                data.truncate((next() as usize) % data.len());
            }
            std::fs::write(&bad, &data).unwrap();
            let r = std::panic::catch_unwind(|| exercise(&bad));
            match r {
                Ok(true) => opened += 1,
                Ok(false) => refused += 1,
                Err(_) => panic!("{field:?} round {round}: a mutated dataset made vdx panic"),
            }
        }
        // Both paths must really be taken: mutants that open are read sample by sample and
        // verified; mutants that do not are refused by `open`. A change that made every
        // mutant fail to open (or none) would leave half of this test checking nothing.
        assert!(
            opened >= 50 && refused >= 20,
            "{field:?}: {opened} mutants opened and {refused} were refused; expected both paths"
        );
    }
}

/// A damaged JPEG inside a sample is the dataset's fault, reported with the file, the sample
/// and the frame, and with libjpeg-turbo's own error at the end of the `source()` chain.
#[test]
fn a_damaged_jpeg_names_sample_and_frame_down_to_libjpeg() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ds.vdx");
    build(FieldKind::Frames, &path);
    let mut bytes = std::fs::read(&path).unwrap();
    let (num_frames, at) = {
        let ds = Dataset::open(&path).unwrap();
        let (m, data) = ds.raw_data(0).unwrap();
        let head = &data[..64];
        let at = bytes.windows(64).position(|w| w == head).unwrap();
        (m.record.num_frames() as usize, at)
    };
    // Frame 0's JPEG starts right after the offset table; its SOI marker is FF D8.
    let jpeg0 = at + (num_frames + 1) * 8;
    assert_eq!(&bytes[jpeg0..jpeg0 + 2], &[0xFF, 0xD8]);
    bytes[jpeg0..jpeg0 + 2].copy_from_slice(&[0, 0]);
    std::fs::write(&path, &bytes).unwrap();

    let ds = Dataset::open(&path).unwrap();
    let Err(err) = ds.decode(0, &mut Decoders::default()) else {
        panic!("a sample with a damaged JPEG decoded");
    };
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: not a valid dataset: sample 0: frame 0: libjpeg-turbo: ",
            path.display()
        )),
        "{text}"
    );
    assert!(
        matches!(err, vdx::dataset::DatasetError::Sample { sample: 0, .. }),
        "{err:?}"
    );
    match vdx::dataset::fields::FieldError::of(&err) {
        Some(vdx::dataset::fields::FieldError::Jpeg { at, .. }) => assert_eq!(at, "frame 0: "),
        other => panic!("not a JPEG error of the field: {other:?}"),
    }
    let field = std::error::Error::source(&err).expect("the field's error");
    let jpeg = field.source().expect("libjpeg-turbo's error");
    assert!(
        jpeg.downcast_ref::<turbojpeg::Error>().is_some(),
        "{jpeg:?}"
    );
    // The other samples still decode.
    assert!(ds.decode(1, &mut Decoders::default()).is_ok());
}
