//! Decoding sampled clips: one sorted batch per video, damaged frames handled by policy, clips as f32.

use super::*;

/// [`decode_clips`] under a [`DamagedPolicy`]: each clip's frames and its damaged positions.
pub fn decode_clips_with(
    dec: &mut crate::video::decode::VideoDecoder,
    clips: &[Clip],
    policy: DamagedPolicy,
) -> Result<Vec<(Vec<crate::video::decode::RgbFrame>, Vec<usize>)>> {
    let mut all: Vec<usize> = clips
        .iter()
        .flat_map(|c| c.frame_indices.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    let results = dec.frames_partial(&all);
    let by_index: std::collections::HashMap<usize, &Result<crate::video::decode::RgbFrame>> =
        all.iter().copied().zip(results.iter()).collect();
    clips
        .iter()
        .map(|c| {
            let rs = c
                .frame_indices
                .iter()
                .map(|i| match by_index[i] {
                    Ok(f) => Ok(f.clone()),
                    Err(e) => Err(VideoError::FrameUndecodable {
                        path: dec.path().to_path_buf(),
                        index: *i,
                        cause: crate::error_parts::DecodeCause(e.bare_reason()),
                    }),
                })
                .collect();
            fill_damaged(rs, policy)
        })
        .collect()
}

/// Decode the frames of `clips` with one sorted batch (each GOP decoded once), returned per
/// clip in clip order.
pub fn decode_clips(
    dec: &mut crate::video::decode::VideoDecoder,
    clips: &[Clip],
) -> Result<Vec<Vec<crate::video::decode::RgbFrame>>> {
    let mut all: Vec<usize> = clips
        .iter()
        .flat_map(|c| c.frame_indices.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    let frames = dec.frames(&all)?;
    let by_index: std::collections::HashMap<usize, &crate::video::decode::RgbFrame> =
        all.iter().copied().zip(frames.iter()).collect();
    Ok(clips
        .iter()
        .map(|c| {
            c.frame_indices
                .iter()
                .map(|i| by_index[i].clone())
                .collect()
        })
        .collect())
}

/// A clip as `f32` values in [0, 1], laid out (1, T, H, W, 3).
pub fn clip_to_f32(frames: &[crate::video::decode::RgbFrame]) -> Vec<f32> {
    let mut out = Vec::with_capacity(frames.iter().map(|f| f.data.len()).sum());
    for f in frames {
        out.extend(f.data.iter().map(|&v| v as f32 * (1.0 / 255.0)));
    }
    out
}
