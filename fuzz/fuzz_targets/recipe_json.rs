//! Recipe JSON -> parse and validate; valid recipes are applied to a small clip.
//! The body lives in `vdx::fuzzing` so that the stable test suite replays it too.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| vdx::fuzzing::recipe_json(data));
