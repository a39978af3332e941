//! Decode-cost-aware clip starts: what a clip costs to decode, and moving clips to cheaper starts.

use super::*;

/// How many frames a decoder decodes to produce `frames` (sorted or not) in one pass: from
/// the keyframe before the first target in decode order, continuing through the following
/// targets, and seeking to a target's keyframe instead where that keyframe lies beyond what
/// has been decoded.
pub fn clip_decode_cost(index: &VideoIndex, frames: &[usize]) -> usize {
    let mut sorted: Vec<usize> = frames
        .iter()
        .copied()
        .filter(|&f| f < index.len())
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut cost = 0usize;
    let mut cur: Option<u32> = None;
    for f in sorted {
        let end = index.frames[f].decode_index;
        let start = index
            .keyframe_before(f)
            .map_or(0, |k| index.frames[k].decode_index);
        match cur {
            Some(c) if c >= start => {
                if end > c {
                    cost += (end - c) as usize;
                    cur = Some(end);
                }
            }
            _ => {
                cost += (end.saturating_sub(start)) as usize + 1;
                cur = Some(end);
            }
        }
    }
    cost
}

/// Move one clip (all its positions together) per `cfg.snap`.
pub(super) fn snap_clip(index: &VideoIndex, cfg: &SamplerConfig, clip: &mut [Pos]) {
    let n = index.len();
    if n == 0 || clip.is_empty() {
        return;
    }
    let frame_of = |p: Pos| -> Option<usize> {
        match p {
            Pos::Frame(i) if i >= 0 && (i as usize) < n => Some(i as usize),
            Pos::Frame(_) => None,
            Pos::Time(x) => index.frame_at_time(x),
        }
    };
    let Some(s0) = frame_of(clip[0]) else { return };
    // The clip moved to start at frame `s`, or None where it no longer fits the video.
    let moved = |s: usize| -> Option<Vec<Pos>> {
        match clip[0] {
            Pos::Frame(_) => {
                let d = s as i64 - s0 as i64;
                let v: Vec<Pos> = clip
                    .iter()
                    .map(|p| match *p {
                        Pos::Frame(i) => Pos::Frame(i + d),
                        t => t,
                    })
                    .collect();
                let last_ok =
                    matches!(v.last(), Some(Pos::Frame(i)) if *i >= 0 && (*i as usize) < n);
                // A clip that already ran past the end may still move earlier.
                (last_ok || d < 0).then_some(v)
            }
            Pos::Time(t0) => {
                let d = index.time_secs(s) - index.time_secs(s0);
                let end = index.time_secs(0) + index.duration_secs();
                let v: Vec<Pos> = clip
                    .iter()
                    .map(|p| match *p {
                        Pos::Time(x) => Pos::Time(x + d),
                        f => f,
                    })
                    .collect();
                let last_ok = matches!(v.last(), Some(Pos::Time(x)) if *x < end - 1e-9);
                let _ = t0;
                (last_ok || d < 0.0).then_some(v)
            }
        }
    };
    let frames = |v: &[Pos]| -> Vec<usize> { v.iter().filter_map(|&p| frame_of(p)).collect() };
    let best = match cfg.snap {
        Snap::None => return,
        Snap::Keyframe => {
            // Nearest keyframe where the clip fits; the earlier on a tie.
            let mut ks: Vec<usize> = index.keyframes.clone();
            ks.sort_by_key(|&k| (k.abs_diff(s0), k));
            ks.into_iter().find_map(&moved)
        }
        Snap::Cheapest => {
            let w = cfg.within;
            let mut cands: Vec<usize> = (s0.saturating_sub(w)..=(s0 + w).min(n - 1)).collect();
            cands.sort_by_key(|&s| (s.abs_diff(s0), s));
            let mut best: Option<(usize, Vec<Pos>)> = None;
            for s in cands {
                if let Some(v) = moved(s) {
                    let c = clip_decode_cost(index, &frames(&v));
                    if best.as_ref().is_none_or(|(bc, _)| c < *bc) {
                        best = Some((c, v));
                    }
                }
            }
            best.map(|(_, v)| v)
        }
    };
    if let Some(v) = best {
        clip.copy_from_slice(&v);
    }
}
