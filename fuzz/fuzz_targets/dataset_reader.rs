//! Dataset bytes -> open, metadata, checksum, decode: must never panic or read out of bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("vdx-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join("f.vdx");
    if std::fs::write(&p, data).is_err() {
        return;
    }
    if let Ok(ds) = vdx::dataset::Dataset::open(&p) {
        let mut dec = vdx::dataset::Decoders::default();
        for i in 0..ds.len().min(4) {
            let _ = ds.meta(i);
            let _ = ds.verify_sample_checksum(i);
            let _ = ds.decode(i, &mut dec);
        }
    }
});
