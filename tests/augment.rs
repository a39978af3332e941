//! Augmentations: property tests over random shapes and parameters, determinism across
//! thread counts, recipe JSON round trips and rejections, and the bundled recipes.

use proptest::prelude::*;
use vdx::augment::{self, Clip, CropPos, Op, Recipe, TemporalMode, ToFloat, RECIPE_VERSION};
use vdx::sample::TailPolicy;

/// A clip whose every pixel encodes (t, y, x), so crops and flips can be checked exactly.
fn coded_clip(t: usize, h: usize, w: usize) -> Clip {
    let mut data = Vec::with_capacity(t * h * w * 3);
    for f in 0..t {
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&[f as u8, y as u8, x as u8]);
            }
        }
    }
    Clip::new(t, h, w, data).unwrap()
}

/// A clip whose frames are all the same picture (random content).
fn same_frames(t: usize, h: usize, w: usize, seed: u64) -> Clip {
    let mut s = seed | 1;
    let frame: Vec<u8> = (0..h * w * 3)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect();
    Clip::new(t, h, w, frame.repeat(t)).unwrap()
}

fn recipe(ops: Vec<Op>, seed: u64) -> Recipe {
    Recipe {
        version: RECIPE_VERSION,
        name: String::new(),
        seed,
        tail: TailPolicy::RepeatLast,
        ops,
        to_float: ToFloat::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn spatial_crop_boxes_lie_inside_and_every_frame_is_cropped_alike(
        t in 1usize..6, h in 1usize..40, w in 1usize..40, seed in any::<u64>(),
        fh in 0.0f64..=1.0, fw in 0.0f64..=1.0,
    ) {
        let ch = ((h as f64 * fh).round() as usize).clamp(1, h);
        let cw = ((w as f64 * fw).round() as usize).clamp(1, w);
        let r = recipe(vec![Op::SpatialCrop { width: cw, height: ch, position: CropPos::Random }], seed);
        let c = coded_clip(t, h, w);
        let (out, draws) = augment::apply(&r, &c, 0, 0).unwrap();
        prop_assert_eq!((out.t, out.h, out.w), (t, ch, cw));
        let x = draws[0].values["x"].as_u64().unwrap() as usize;
        let y = draws[0].values["y"].as_u64().unwrap() as usize;
        prop_assert!(x + cw <= w && y + ch <= h);
        for f in 0..t {
            let fr = out.frame(f);
            // Top-left pixel of every frame is (f, y, x): the same box for all frames.
            prop_assert_eq!(&fr[..3], &[f as u8, y as u8, x as u8][..]);
            let last = (ch * cw - 1) * 3;
            prop_assert_eq!(&fr[last..last + 3], &[f as u8, (y + ch - 1) as u8, (x + cw - 1) as u8][..]);
        }
    }

    #[test]
    fn random_ops_treat_every_frame_alike_and_give_the_asked_shape(
        t in 2usize..6, h in 8usize..48, w in 8usize..48, seed in any::<u64>(),
        out_side in 4usize..32, b in 0.0f64..0.8, hue in 0.0f64..0.5,
    ) {
        let ops = vec![
            Op::RandomResizedCrop { width: out_side, height: out_side + 1, scale: [0.08, 1.0], ratio: [0.75, 4.0 / 3.0] },
            Op::HorizontalFlip { p: 0.5 },
            Op::ColorJitter { brightness: b, contrast: b, saturation: b, hue },
            Op::Grayscale { p: 0.5 },
        ];
        let r = recipe(ops, seed);
        let c = same_frames(t, h, w, seed);
        let (out, draws) = augment::apply(&r, &c, 3, 1).unwrap();
        prop_assert_eq!((out.t, out.h, out.w), (t, out_side + 1, out_side));
        for f in 1..t {
            prop_assert!(out.frame(f) == out.frame(0), "frame {} differs from frame 0", f);
        }
        let rrc = &draws[0].values;
        let (x, y) = (rrc["x"].as_u64().unwrap() as usize, rrc["y"].as_u64().unwrap() as usize);
        let (cw, ch) = (rrc["width"].as_u64().unwrap() as usize, rrc["height"].as_u64().unwrap() as usize);
        prop_assert!(cw >= 1 && ch >= 1 && x + cw <= w && y + ch <= h);
    }

    #[test]
    fn flipping_twice_is_the_identity(t in 1usize..4, h in 1usize..20, w in 1usize..20) {
        let r = recipe(vec![Op::HorizontalFlip { p: 1.0 }, Op::HorizontalFlip { p: 1.0 }], 1);
        let c = coded_clip(t, h, w);
        let (once, _) = augment::apply(&recipe(vec![Op::HorizontalFlip { p: 1.0 }], 1), &c, 0, 0).unwrap();
        // One flip mirrors x.
        prop_assert_eq!(once.frame(0)[2], (w - 1) as u8);
        let (twice, _) = augment::apply(&r, &c, 0, 0).unwrap();
        prop_assert!(twice == c);
    }

    #[test]
    fn temporal_crop_and_subsample_shapes_and_tail_policy(
        t in 1usize..40, crop in 1usize..40, stride in 1usize..5, n in 1usize..20, seed in any::<u64>(),
    ) {
        let c = coded_clip(t, 2, 2);
        let r = recipe(vec![Op::TemporalCrop { frames: crop, mode: TemporalMode::Random }], seed);
        let (out, draws) = augment::apply(&r, &c, 0, 0).unwrap();
        prop_assert_eq!(out.t, crop);
        let start = draws[0].values["start"].as_u64().unwrap() as usize;
        for k in 0..crop {
            // repeat_last: frames past the end repeat the last one.
            let want = (start + k).min(t - 1);
            prop_assert_eq!(out.frame(k)[0] as usize, want);
        }
        let mut wrap = r.clone();
        wrap.tail = TailPolicy::Wrap;
        let (o2, _) = augment::apply(&wrap, &c, 0, 0).unwrap();
        if t < crop {
            for k in 0..crop {
                prop_assert_eq!(o2.frame(k)[0] as usize, k % t);
            }
        }
        let mut strict = r.clone();
        strict.tail = TailPolicy::Error;
        prop_assert_eq!(augment::apply(&strict, &c, 0, 0).is_ok(), t >= crop);
        let s = recipe(vec![Op::TemporalSubsample { stride: Some(stride), frames: None }], 0);
        prop_assert_eq!(augment::apply(&s, &c, 0, 0).unwrap().0.t, t.div_ceil(stride));
        let u = recipe(vec![Op::TemporalSubsample { stride: None, frames: Some(n) }], 0);
        let (ou, _) = augment::apply(&u, &c, 0, 0).unwrap();
        prop_assert_eq!(ou.t, n);
        prop_assert_eq!(ou.frame(0)[0], 0);
        if n > 1 {
            prop_assert_eq!(ou.frame(n - 1)[0] as usize, t - 1);
        }
    }
}

#[test]
fn every_start_of_the_inclusive_range_is_reachable() {
    // 10 frames, crop 7: starts 0..=3, both ends included.
    let c = coded_clip(10, 1, 1);
    let r = recipe(
        vec![Op::TemporalCrop {
            frames: 7,
            mode: TemporalMode::Random,
        }],
        42,
    );
    let mut seen = [0usize; 4];
    for sample in 0..400 {
        let (_, d) = augment::apply(&r, &c, sample, 0).unwrap();
        seen[d[0].values["start"].as_u64().unwrap() as usize] += 1;
    }
    assert!(seen.iter().all(|&n| n > 50), "starts seen {seen:?}");
    // Spatial positions likewise: a 3-wide crop of 5 columns reaches x = 0, 1, 2.
    let c = coded_clip(1, 1, 5);
    let r = recipe(
        vec![Op::SpatialCrop {
            width: 3,
            height: 1,
            position: CropPos::Random,
        }],
        7,
    );
    let mut xs = [false; 3];
    for sample in 0..100 {
        let (_, d) = augment::apply(&r, &c, sample, 0).unwrap();
        xs[d[0].values["x"].as_u64().unwrap() as usize] = true;
    }
    assert_eq!(xs, [true; 3]);
}

#[test]
fn same_seed_same_result_on_any_thread_count_and_order() {
    let r = Recipe::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/recipes/train_224.json"
    )))
    .unwrap();
    let clips: Vec<Clip> = (0..6).map(|k| same_frames(20, 240, 300, k + 1)).collect();
    let samples: Vec<u64> = (100..106).collect();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| augment::apply_batch_f32(&r, &clips, &samples, 3).unwrap())
    };
    let (a, shape, da) = run(1);
    let (b, _, db) = run(2);
    assert_eq!(shape, [16, 224, 224, 3]);
    assert!(a == b, "thread count changed the output");
    assert_eq!(da, db);
    // One clip alone, out of batch order, gives its batch result.
    let (one, d) = augment::apply(&r, &clips[4], 104, 3).unwrap();
    let mut f = vec![0f32; one.data.len()];
    augment::to_float_into(&r, &one, &mut f).unwrap();
    let per = f.len();
    assert!(f == a[4 * per..5 * per]);
    assert_eq!(d, da[4]);
    // A different epoch gives different draws.
    let (_, d2) = augment::apply(&r, &clips[4], 104, 4).unwrap();
    assert_ne!(d, d2);
}

#[test]
fn recipes_round_trip_through_json_and_bad_ones_are_named() {
    for name in ["train_224.json", "light.json", "eval_224.json"] {
        let p = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/recipes"))
            .join(name);
        let r = Recipe::load(&p).unwrap();
        let back = Recipe::from_json(&r.to_json()).unwrap();
        assert_eq!(r, back, "{name}");
        // Each bundled recipe runs on a 320x240 clip.
        let (out, _) = augment::apply(&r, &same_frames(20, 240, 320, 9), 0, 0).unwrap();
        assert_eq!((out.t, out.h, out.w), (16, 224, 224), "{name}");
    }
    let bad = |json: &str, want: &[&str]| {
        let e = Recipe::from_json(json).unwrap_err().to_string();
        for w in want {
            assert!(e.contains(w), "error '{e}' should mention '{w}'");
        }
    };
    bad(
        r#"{"version": 1, "ops": [{"op": "horizontal_flip", "p": 1.5}]}"#,
        &["horizontal_flip", "'p'", "1.5"],
    );
    bad(
        r#"{"version": 1, "ops": [{"op": "color_jitter", "brightness": 0.1, "contrast": 0.1, "saturation": 0.1, "hue": 0.7}]}"#,
        &["color_jitter", "hue"],
    );
    bad(
        r#"{"version": 1, "ops": [{"op": "random_resized_crop", "width": 224, "height": 224, "scale": [0.5, 0.2], "ratio": [0.75, 1.33]}]}"#,
        &["random_resized_crop", "scale"],
    );
    bad(
        r#"{"version": 1, "ops": [{"op": "sharpen", "amount": 2}]}"#,
        &["sharpen"],
    );
    bad(
        r#"{"version": 1, "ops": [{"op": "horizontal_flip", "p": 0.5, "prob": 1}]}"#,
        &["prob"],
    );
    bad(r#"{"version": 7, "ops": []}"#, &["version", "7"]);
    bad(
        r#"{"version": 1, "ops": [{"op": "temporal_subsample", "stride": 2, "frames": 4}]}"#,
        &["temporal_subsample", "exactly one"],
    );
    // A crop bigger than the frames is refused at apply time, naming the op.
    let r = recipe(
        vec![Op::SpatialCrop {
            width: 500,
            height: 10,
            position: CropPos::Center,
        }],
        0,
    );
    let e = augment::apply(&r, &coded_clip(2, 20, 20), 0, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("spatial_crop") && e.contains("500x10"), "{e}");
}

#[test]
fn cli_writes_a_contact_sheet_and_a_tensor_with_draws() {
    let d = tempfile::tempdir().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample.mp4");
    let recipe = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/recipes/light.json");
    let out = d.path().join("sheet");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args([
            "augment", sample, "--recipe", recipe, "--size", "320x240", "--draws", "3", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = image::open(out.join("contact_sheet.png")).unwrap();
    assert_eq!(img.height(), 3 * (224 + 2));
    assert_eq!(img.width(), 16 * (224 + 2));
    let draws: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("draws.json")).unwrap()).unwrap();
    assert_eq!(draws["draws"].as_array().unwrap().len(), 3);
    let npy = d.path().join("t.npy");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args([
            "augment", sample, "--recipe", recipe, "--size", "320x240", "--draws", "2", "--seed",
            "5", "--out",
        ])
        .arg(&npy)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import numpy as np,sys; a=np.load(sys.argv[1]); assert a.shape==(2,1,16,224,224,3) and a.dtype==np.float32 and 0<=a.min() and a.max()<=1, (a.shape,a.min(),a.max()); print('ok')",
        ])
        .arg(&npy)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
}
