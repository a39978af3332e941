//! The loader's batch engine in the core (`vdx::dataset::loader`), which `vdx.Loader` binds:
//! a batch equals its samples decoded (and augmented) one by one, buffers come back from the
//! pool, and bad requests are refused with the reason.

mod common;

use common::*;
use vdx::augment::{self, Recipe};
use vdx::dataset::loader::{epoch_order, load_batch, BatchData, BufferPool};
use vdx::dataset::{Dataset, Decoders};

/// Two videos, 3 clips each, 4 frames at `size`: six samples.
fn dataset(size: &str) -> (tempfile::TempDir, Dataset) {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("ds.vdx");
    vdx_ok(&[
        "build",
        fixture("h264_bframes.mp4").to_str().unwrap(),
        fixture("vfr.mp4").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "4",
        "--size",
        size,
        "--num-clips",
        "3",
    ]);
    let ds = Dataset::open(&out).unwrap();
    assert_eq!(ds.len(), 6);
    (d, ds)
}

#[test]
fn a_batch_is_its_samples_decoded_one_by_one_in_the_order_asked() {
    let (_d, ds) = dataset("40x32");
    let (u8s, f32s) = (BufferPool::default(), BufferPool::default());
    let order = [4u64, 0, 5, 2];
    let b = load_batch(&ds, &order, None, 0, &u8s, &f32s).unwrap();
    assert_eq!(b.shape, [4, 4, 32, 40, 3]);
    let BatchData::U8(data) = &b.data else {
        panic!("a batch without a recipe is u8")
    };
    let per = 4 * 32 * 40 * 3;
    let mut dec = Decoders::default();
    for (k, &i) in order.iter().enumerate() {
        let c = ds.decode_clip(i, &mut dec).unwrap();
        assert!(
            c.data == data[k * per..(k + 1) * per],
            "sample {i} at slot {k}"
        );
        assert_eq!(b.labels[k], ds.meta(i).unwrap().label);
    }
    // The buffer handed back is the one the next batch is written into.
    let at = data.as_ptr();
    let BatchData::U8(v) = b.data else {
        unreachable!()
    };
    u8s.give_back(v);
    let again = load_batch(&ds, &[1, 3], None, 0, &u8s, &f32s).unwrap();
    let BatchData::U8(v) = &again.data else {
        panic!("u8")
    };
    assert_eq!(v.as_ptr(), at);
    assert_eq!(u8s.stats().reused, 1);
    assert_eq!(u8s.stats().allocated, 1);
}

#[test]
fn a_batch_with_a_recipe_is_each_samples_draw_as_floats() {
    let (_d, ds) = dataset("48x40");
    let recipe = Recipe::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/recipes/light.json"
    )))
    .unwrap();
    let (u8s, f32s) = (BufferPool::default(), BufferPool::default());
    let order = [3u64, 1, 0];
    let b = load_batch(&ds, &order, Some(&recipe), 7, &u8s, &f32s).unwrap();
    let BatchData::F32(data) = &b.data else {
        panic!("a batch with a recipe is f32")
    };
    let [_, t, h, w, _] = b.shape;
    let per = t * h * w * 3;
    let mut dec = Decoders::default();
    for (k, &i) in order.iter().enumerate() {
        let c = ds.decode_clip(i, &mut dec).unwrap();
        let clip = augment::Clip::new(c.num_frames, c.height, c.width, c.data).unwrap();
        let (a, _) = augment::apply(&recipe, &clip, i, 7).unwrap();
        let mut want = vec![0f32; per];
        augment::to_float_into(&recipe, &a, &mut want).unwrap();
        assert!(
            want == data[k * per..(k + 1) * per],
            "sample {i} at slot {k}"
        );
    }
    assert_eq!(f32s.stats().allocated, 1);
    assert_eq!(u8s.stats().allocated, 0);
}

#[test]
fn bad_requests_are_refused_with_the_reason() {
    let (_d, ds) = dataset("40x32");
    let (u8s, f32s) = (BufferPool::default(), BufferPool::default());
    let e = load_batch(&ds, &[], None, 0, &u8s, &f32s).unwrap_err();
    assert_eq!(e.to_string(), "invalid parameter samples: at least one");
    let e = load_batch(&ds, &[0, 6], None, 0, &u8s, &f32s).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid parameter samples: sample 6 is out of range: the dataset has 6 samples"
    );
    assert_eq!(e.kind(), vdx::error::ErrorKind::InvalidParameter);
}

#[test]
fn every_epoch_visits_every_sample_once_in_its_own_order() {
    let orders: Vec<Vec<u64>> = (0..3).map(|e| epoch_order(6, 11, e)).collect();
    for o in &orders {
        let mut s = o.clone();
        s.sort_unstable();
        assert_eq!(s, (0..6).collect::<Vec<u64>>());
    }
    assert!(orders[0] != orders[1] || orders[1] != orders[2]);
}
