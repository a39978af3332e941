//! Recipe JSON -> parse and validate; valid recipes are applied to a small clip.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(r) = vdx::augment::Recipe::from_json(s) {
        let clip = vdx::augment::Clip::new(4, 12, 16, vec![128; 4 * 12 * 16 * 3]).unwrap();
        // Bounded work: skip recipes that would scale to huge frames.
        let big = r.ops.iter().any(|o| match o {
            vdx::augment::Op::ShortSideScale { size } => *size > 256,
            vdx::augment::Op::RandomResizedCrop { width, height, .. }
            | vdx::augment::Op::SpatialCrop { width, height, .. } => *width > 256 || *height > 256,
            vdx::augment::Op::TemporalCrop { frames, .. } => *frames > 256,
            vdx::augment::Op::TemporalSubsample { frames: Some(n), .. } => *n > 256,
            _ => false,
        });
        if !big {
            let _ = vdx::augment::apply(&r, &clip, 0, 0);
        }
        let _ = vdx::augment::Recipe::from_json(&r.to_json()).expect("a valid recipe round-trips");
    }
});
