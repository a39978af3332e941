//! Video file bytes (seed with real files) -> probe, index, decode a few frames.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("vdx-fuzz-v-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join("f.mp4");
    if std::fs::write(&p, data).is_err() {
        return;
    }
    let _ = vdx::probe(&p, &Default::default());
    if let Ok(ix) = vdx::build_index(&p, &Default::default()) {
        let n = ix.len();
        if n > 0 && n < 100_000 {
            let opts = vdx::decode::DecodeOptions {
                resize: Some(vdx::decode::Resize {
                    width: 32,
                    height: 32,
                    mode: vdx::decode::ResizeMode::Squash,
                }),
                threads: 1,
                ..Default::default()
            };
            if let Ok(mut d) = vdx::decode::VideoDecoder::with_index(&p, std::sync::Arc::new(ix), opts) {
                let _ = d.frames_partial(&[0, n / 2, n - 1]);
            }
        }
    }
});
