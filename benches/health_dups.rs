//! Near-duplicate search over many clip hashes: the multi-index search `vdx health` uses
//! against comparing every pair, on synthetic 64-bit hashes (clusters of re-encoded copies,
//! at 0-12 flipped bits from their original, among unrelated hashes).
//!     cargo bench --bench health_dups -- [N]        (default 1,000,000)
//! The all-pairs time is measured on a subset and scaled by the pair count (it grows as N²).

use std::time::Instant;
use vdx::health::dups::near_pairs;
use vdx::rng::Rng;

fn hashes(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let centre = rng.next_u64();
        v.push(centre);
        // One in ten clips has 1-3 near copies.
        if rng.range_inclusive(0, 9) == 0 {
            for _ in 0..rng.range_inclusive(1, 3) {
                let mut h = centre;
                for _ in 0..rng.range_inclusive(0, 12) {
                    h ^= 1 << rng.range_inclusive(0, 63);
                }
                v.push(h);
            }
        }
    }
    v.truncate(n);
    v
}

fn all_pairs(h: &[u64], d: u32) -> usize {
    let mut n = 0;
    for i in 0..h.len() {
        for j in i + 1..h.len() {
            n += ((h[i] ^ h[j]).count_ones() <= d) as usize;
        }
    }
    n
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let d = 10;
    let h = hashes(n, 1);
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..3 {
        let t = Instant::now();
        found = near_pairs(&h, d).len();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let sub = 40_000.min(n);
    let t = Instant::now();
    let sub_found = all_pairs(&h[..sub], d);
    let sub_time = t.elapsed().as_secs_f64();
    let scale = (n as f64 * (n as f64 - 1.0)) / (sub as f64 * (sub as f64 - 1.0));
    let brute = sub_time * scale;
    let check = near_pairs(&h[..sub], d).len();
    assert_eq!(
        check, sub_found,
        "the index finds every pair the full comparison finds"
    );
    println!(
        "{n} hashes, distance <= {d}: multi-index {:.2} s (median of 3), {found} pairs; \
         all pairs ~{:.0} s (measured {sub_time:.2} s on {sub}, scaled by N^2); {:.0}x",
        times[1],
        brute,
        brute / times[1]
    );
}
