//! Putting scanned packets in presentation order and checking the result: decode slots made
//! continuous across splices, frames ordered as a decoder outputs them, H.264 recovery
//! points, and the header's claims against the counted facts.

use super::*;

/// Set each recovery-point keyframe's `recovery_frames`: the distance, in decode order, to
/// the first picture a decode starting there gives clean. That is the reference picture
/// `recovery_frame_cnt` reference pictures after it (H.264 counts `frame_num`, which only
/// reference pictures advance). A recovery that the stream ends before reaching gets
/// `u32::MAX`: never a start. `frames` may be in any order.
pub(super) fn set_recovery(frames: &mut [FrameEntry], refs: &[bool], keys: &[(u32, u32)]) {
    let mut by_dec = vec![usize::MAX; refs.len()];
    for (i, f) in frames.iter().enumerate() {
        if let Some(slot) = by_dec.get_mut(f.decode_index as usize) {
            *slot = i;
        }
    }
    for &(key_dec, count) in keys {
        let Some(&key) = by_dec.get(key_dec as usize).filter(|&&k| k != usize::MAX) else {
            continue;
        };
        let mut left = count;
        let clean = refs
            .iter()
            .enumerate()
            .skip(key_dec as usize + 1)
            .filter(|(_, &r)| r)
            .find(|_| {
                left -= 1;
                left == 0
            })
            .map(|(d, _)| d as u32 - key_dec);
        frames[key].recovery_frames = clean.unwrap_or(u32::MAX);
    }
}

/// Put `frames` (in decode order, one per packet) in the order the decoder put their
/// pictures out, keeping only packets that put one out. Each frame's pts becomes the
/// presentation slot: the packets' own timestamps (AVI's decode timestamps count display
/// slots) handed out in ascending order, so times stay monotonic and gaps (a dropped chunk)
/// are kept. Keyframes are the pictures the decoder itself marked as such: an AVI index
/// also flags not-coded VOPs as keyframes, and no decode can start from those.
pub(super) fn order_frames_as_decoded(
    frames: Vec<FrameEntry>,
    slots: &[i64],
    out: &[crate::video::index::decode_order::OutputPicture],
    pts_given: &[bool],
) -> Vec<FrameEntry> {
    let mut seen = vec![false; frames.len()];
    let mut ordered = Vec::with_capacity(out.len());
    for p in out {
        let d = p.decode_index as usize;
        if d >= frames.len() || std::mem::replace(&mut seen[d], true) {
            continue;
        }
        let mut f = frames[d];
        f.keyframe = f.keyframe && p.key;
        f.decode_status = if p.corrupt {
            DecodeStatus::Concealed
        } else {
            DecodeStatus::Ok
        };
        if p.pict_type != FrameType::Unknown {
            f.frame_type = p.pict_type;
        }
        ordered.push(f);
    }
    let mut slots: Vec<i64> = ordered
        .iter()
        .map(|f| slots[f.decode_index as usize])
        .collect();
    slots.sort_unstable();
    // Slots count decode times. Where the container gives most pictures a presentation
    // timestamp too (an MPEG program stream: the parser gives one only to the frame that
    // starts a PES packet), presentation runs a constant reorder delay behind decode: the
    // k-th picture shown has the k-th decode time plus that delay. The delay is what the
    // pictures with a timestamp of their own agree on; without such agreement (AVI has no
    // presentation timestamps at all, a splice breaks the constant) the slots stand.
    let mut delays: Vec<i64> = ordered
        .iter()
        .zip(&slots)
        .filter(|(f, _)| pts_given.get(f.decode_index as usize) == Some(&true))
        .map(|(f, &t)| f.pts - t)
        .collect();
    delays.sort_unstable();
    let delay = delays.get(delays.len() / 2).copied().filter(|&d| {
        let agree = delays.iter().filter(|&&x| x == d).count();
        d != 0 && agree * 10 >= delays.len() * 9
    });
    for (f, t) in ordered.iter_mut().zip(slots) {
        f.pts = t + delay.unwrap_or(0);
    }
    ordered
}

/// Display slots of packets in decode order (their dts, else pts), made continuous: where a
/// time jumps back (a splice), what follows is shifted to go on one step after what came
/// before. Returns the slots and the number of jumps.
pub(super) fn continuous_times(frames: &[FrameEntry]) -> (Vec<i64>, usize) {
    let mut steps: Vec<i64> = frames
        .windows(2)
        .map(|w| w[1].dts.unwrap_or(w[1].pts) - w[0].dts.unwrap_or(w[0].pts))
        .filter(|&d| d > 0)
        .collect();
    steps.sort_unstable();
    let typical = steps.get(steps.len() / 2).copied().unwrap_or(1);
    let mut out: Vec<i64> = Vec::with_capacity(frames.len());
    let mut offset = 0i64;
    let mut jumps = 0usize;
    for (k, f) in frames.iter().enumerate() {
        let mut t = f.dts.unwrap_or(f.pts).saturating_add(offset);
        if let Some(&prev) = out.last() {
            if t < prev {
                let step = if frames[k - 1].duration > 0 {
                    frames[k - 1].duration
                } else {
                    typical
                };
                let shift = prev.saturating_add(step).saturating_sub(t);
                offset = offset.saturating_add(shift);
                t = t.saturating_add(shift);
                jumps += 1;
            }
        }
        out.push(t);
    }
    (out, jumps)
}

/// Compare the header's claims to the counted facts and add warnings where they disagree.
pub(super) fn check_header(index: &mut VideoIndex) {
    let s = index.summary();
    let h = index.header.clone();
    if let Some(n) = h.nb_frames {
        // An edit list's lead-in is in the header's count but holds no frames; so are the
        // not-coded placeholders of an AVI.
        let packets = s.frame_count + index.discarded_packets + index.pictureless_packets;
        if n as usize != s.frame_count && n as usize != packets && !index.truncated {
            index.warnings.push(format!(
                "header says {n} frames, the stream holds {}",
                s.frame_count
            ));
        }
    }
    if let Some(d) = h.duration_secs {
        let frame_secs = if s.mean_fps > 0.0 {
            1.0 / s.mean_fps
        } else {
            0.0
        };
        if !index.truncated && (d - s.duration_secs).abs() > frame_secs.max(0.05) * 1.5 {
            index.warnings.push(format!(
                "header says duration {d:.3} s, the frames span {:.3} s",
                s.duration_secs
            ));
        }
    }
    if let Some(fps) = h.avg_frame_rate {
        if s.mean_fps > 0.0 && (fps - s.mean_fps).abs() / s.mean_fps > 0.02 {
            index.warnings.push(format!(
                "header says {fps:.3} fps on average, the timestamps give {:.3} fps",
                s.mean_fps
            ));
        }
    }
    // A truncated file can lose a frame in the middle of a B-frame group; its gap is not VFR.
    if s.is_vfr && !index.truncated {
        let r = h
            .r_frame_rate
            .map(|r| format!(" (header frame rate {r:.3})"))
            .unwrap_or_default();
        index.warnings.push(format!(
            "variable frame rate: frame intervals vary{r}; vdx uses timestamps, not fps"
        ));
    }
}
