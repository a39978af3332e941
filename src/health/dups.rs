//! Near-duplicate clips: every pair of 64-bit hashes within a Hamming distance, found with
//! multi-index hashing (Norouzi et al.) instead of comparing all pairs.
//!
//! The hash is cut into four 16-bit chunks. Two hashes within distance `d` agree to within
//! `d / 4` bits on at least one chunk (pigeonhole), so each hash only meets the hashes whose
//! chunk lies within that radius of its own in one of four tables: the search is exact (it
//! finds every pair a full comparison would) and touches a small fraction of the pairs.

/// Every pair `(i, j)`, `i < j`, of `hashes` within Hamming distance `max_distance`, with
/// the distance, sorted.
pub fn near_pairs(hashes: &[u64], max_distance: u32) -> Vec<(u32, u32, u32)> {
    const CHUNKS: u32 = 4;
    let radius = max_distance / CHUNKS;
    let n = hashes.len();
    let chunk = |h: u64, c: u32| ((h >> (16 * c)) & 0xFFFF) as u16;
    // Per chunk: item ids sorted by chunk value, and where each value's run starts.
    let tables: Vec<(Vec<u32>, Vec<u32>)> = (0..CHUNKS)
        .map(|c| {
            let mut starts = vec![0u32; (1 << 16) + 1];
            for &h in hashes {
                starts[chunk(h, c) as usize + 1] += 1;
            }
            for v in 0..1 << 16 {
                starts[v + 1] += starts[v];
            }
            let mut fill = starts.clone();
            let mut ids = vec![0u32; n];
            for (i, &h) in hashes.iter().enumerate() {
                let v = chunk(h, c) as usize;
                ids[fill[v] as usize] = i as u32;
                fill[v] += 1;
            }
            (ids, starts)
        })
        .collect();
    // All 16-bit masks of at most `radius` bits.
    let masks: Vec<u16> = (0..=u16::MAX)
        .filter(|m| m.count_ones() <= radius)
        .collect();
    // Items are independent: split them over rayon's threads, each collecting its pairs.
    use rayon::prelude::*;
    let mut out: Vec<(u32, u32, u32)> = (0..n)
        .into_par_iter()
        .fold(Vec::new, |mut acc, i| {
            let h = hashes[i];
            for c in 0..CHUNKS {
                let (ids, starts) = &tables[c as usize];
                let mine = chunk(h, c);
                for &m in &masks {
                    let v = (mine ^ m) as usize;
                    for &j in &ids[starts[v] as usize..starts[v + 1] as usize] {
                        if j as usize <= i {
                            continue;
                        }
                        let other = hashes[j as usize];
                        // Report a pair from the first chunk that finds it, once.
                        let first =
                            (0..c).all(|e| (chunk(h, e) ^ chunk(other, e)).count_ones() > radius);
                        if !first {
                            continue;
                        }
                        let d = (h ^ other).count_ones();
                        if d <= max_distance {
                            acc.push((i as u32, j, d));
                        }
                    }
                }
            }
            acc
        })
        .reduce(Vec::new, |mut a, mut b| {
            a.append(&mut b);
            a
        });
    out.sort_unstable();
    out
}

/// Groups of items joined by `pairs` (connected components), each sorted, in order of their
/// first item; items in no pair are in no group.
pub fn groups(n: usize, pairs: &[(u32, u32, u32)]) -> Vec<Vec<u64>> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for &(a, b, _) in pairs {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }
    let mut by_root: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
    let mut in_pair = vec![false; n];
    for &(a, b, _) in pairs {
        in_pair[a as usize] = true;
        in_pair[b as usize] = true;
    }
    for i in 0..n as u32 {
        if in_pair[i as usize] {
            let r = find(&mut parent, i);
            by_root.entry(r).or_default().push(i as u64);
        }
    }
    by_root.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn brute(hashes: &[u64], d: u32) -> Vec<(u32, u32, u32)> {
        let mut v = Vec::new();
        for i in 0..hashes.len() {
            for j in i + 1..hashes.len() {
                let x = (hashes[i] ^ hashes[j]).count_ones();
                if x <= d {
                    v.push((i as u32, j as u32, x));
                }
            }
        }
        v
    }

    #[test]
    fn finds_exactly_the_pairs_a_full_comparison_finds() {
        let mut rng = Rng::new(7);
        // Clusters: a few centres with copies at 0..14 flipped bits, and random hashes.
        let mut hashes = Vec::new();
        for _ in 0..40 {
            let centre = rng.next_u64();
            hashes.push(centre);
            for _ in 0..rng.range_inclusive(0, 6) {
                let mut h = centre;
                for _ in 0..rng.range_inclusive(0, 14) {
                    h ^= 1 << rng.range_inclusive(0, 63);
                }
                hashes.push(h);
            }
        }
        for _ in 0..300 {
            hashes.push(rng.next_u64());
        }
        for d in [0, 3, 4, 8, 10, 13] {
            assert_eq!(near_pairs(&hashes, d), brute(&hashes, d), "distance {d}");
        }
        assert!(!brute(&hashes, 10).is_empty());
    }

    #[test]
    fn groups_are_connected_components() {
        let g = groups(6, &[(0, 2, 1), (2, 5, 3), (3, 4, 0)]);
        assert_eq!(g, vec![vec![0, 2, 5], vec![3, 4]]);
    }
}
