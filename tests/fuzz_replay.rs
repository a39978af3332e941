//! The fuzz targets' bodies (`vdx::fuzzing`) on stable Rust, in every test run: each input
//! that once failed (`fuzz/regressions/`) is replayed, then a few thousand seeded mutations of
//! the seeds (datasets built from the sample video, the bundled recipes, the sample video
//! itself) go through the same code. The long campaigns run with cargo-fuzz
//! (`scripts/fuzz.sh`); this keeps what they found fixed and gives every change a short
//! fuzzing pass.

mod common;

use std::path::{Path, PathBuf};
use vdx::fuzzing;

/// vdx's one PRNG (SplitMix64) with the `below` draw the mutations use.
struct Rng(vdx::rng::Rng);
impl Rng {
    fn new(seed: u64) -> Self {
        Rng(vdx::rng::Rng::new(seed))
    }
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One libFuzzer-style mutation: flip bits, write extreme values, copy or drop a chunk,
/// truncate.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            b.push(0);
        }
        let i = rng.below(b.len());
        match rng.below(6) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => {
                let v: [u8; 4] = match rng.below(4) {
                    0 => [0xff; 4],
                    1 => [0; 4],
                    2 => [0x7f, 0xff, 0xff, 0xff],
                    _ => [0x80, 0, 0, 0],
                };
                for (k, x) in v.iter().enumerate() {
                    if let Some(y) = b.get_mut(i + k) {
                        *y = *x;
                    }
                }
            }
            2 => {
                let len = rng.below(64).min(b.len() - i);
                let chunk = b[i..i + len].to_vec();
                let at = rng.below(b.len());
                b.splice(at..at, chunk);
            }
            3 => {
                let len = rng.below(64).min(b.len() - i);
                b.drain(i..i + len);
            }
            4 => b.truncate(i),
            _ => b[i] = rng.next() as u8,
        }
    }
    b
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn regressions(target: &str) -> Vec<Vec<u8>> {
    let dir = root().join("fuzz/regressions").join(target);
    // Every target has its folder (with a README when no regression is recorded yet), so a
    // moved or misspelt folder fails here instead of replaying nothing.
    let rd = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (fuzz regressions folder)", dir.display()));
    let mut v = Vec::new();
    for e in rd.flatten() {
        if e.file_name() != "README.md" {
            v.push(std::fs::read(e.path()).unwrap());
        }
    }
    v
}

fn run_many(target: &str, seeds: &[Vec<u8>], n: usize, f: fn(&[u8])) {
    for r in regressions(target) {
        f(&r);
    }
    let mut rng = Rng::new(0x5EED ^ target.len() as u64);
    for k in 0..n {
        let seed = &seeds[k % seeds.len()];
        f(&mutate(seed, &mut rng));
    }
}

fn build(sample: &Path, out: &Path, field: &str) -> Vec<u8> {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args([
            "build",
            sample.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args([
            "--field",
            field,
            "--frames",
            "4",
            "--size",
            "32",
            "--num-clips",
            "2",
        ])
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read(out).unwrap()
}

#[test]
fn dataset_reader_replay_and_mutations() {
    let d = tempfile::tempdir().unwrap();
    let sample = root().join("assets/sample.mp4");
    let seeds: Vec<Vec<u8>> = ["frames", "segments", "flow"]
        .iter()
        .map(|f| build(&sample, &d.path().join(format!("{f}.vdx")), f))
        .collect();
    run_many("dataset_reader", &seeds, 2000, fuzzing::dataset_reader);
}

#[test]
fn recipe_json_replay_and_mutations() {
    let mut seeds = Vec::new();
    for e in std::fs::read_dir(root().join("assets/recipes")).unwrap() {
        seeds.push(std::fs::read(e.unwrap().path()).unwrap());
    }
    run_many("recipe_json", &seeds, 20_000, fuzzing::recipe_json);
}

#[test]
fn video_index_decode_replay_and_mutations() {
    // The sample's first 128 kB (header and first frames; faststart MP4) keeps each run short.
    // Beside it, the first 64 kB of an MPEG-TS, an Xvid AVI with packed B-frames (whose
    // order comes from a decode) and a stream-copied MOV cut with an edit list.
    let sample = std::fs::read(root().join("assets/sample.mp4")).unwrap();
    let mut seeds = vec![sample[..sample.len().min(128 << 10)].to_vec()];
    for name in ["h264_360w.ts", "xvid_packed.avi", "editlist_cut.mp4"] {
        let b = std::fs::read(common::fixture(name)).unwrap();
        seeds.push(b[..b.len().min(64 << 10)].to_vec());
    }
    run_many(
        "video_index_decode",
        &seeds,
        600,
        fuzzing::video_index_decode,
    );
}
