//! Dataset bytes -> open, metadata, checksum, decode: must never panic or read out of bounds.
//! The body lives in `vdx::fuzzing` so that the stable test suite replays it too.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vdx::fuzzing::dataset_reader(data));
