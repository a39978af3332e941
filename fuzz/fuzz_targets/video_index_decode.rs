//! Video file bytes (seed with real files) -> probe, index, decode a few frames.
//! The body lives in `vdx::fuzzing` so that the stable test suite replays it too.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vdx::fuzzing::video_index_decode(data));
