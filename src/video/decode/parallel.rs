//! Independent keyframe groups of one request decoded side by side by separate decoders.

use super::{RgbFrame, VideoDecoder};
use crate::video::error::{DecodeCause, Result, VideoError};
use std::collections::BTreeMap;

impl VideoDecoder {
    /// Independent keyframe groups decoded at once by separate single-threaded decoders.
    ///
    /// H.264/H.265 frame threading overlaps a picture only partly with the pictures it
    /// references, so two threads on one reference chain give ~1.3x; two chains (GOPs) on two
    /// cores give ~2x. Used when the targets span two or more keyframe groups and more than one
    /// thread is allowed; groups are dealt to workers longest decode first. Returns `None`
    /// where a single decoder is the better plan.
    pub(super) fn decode_groups_in_parallel(
        &mut self,
        wanted: &[usize],
    ) -> Option<Vec<Result<RgbFrame>>> {
        let threads = match (self.opts.group_workers, self.opts.threads) {
            (0, 0) => std::thread::available_parallelism().map_or(1, |n| n.get()),
            (0, t) => t,
            (g, _) => g,
        };
        if threads < 2 || wanted.len() < 2 {
            return None;
        }
        // Group by the keyframe a pass would start from.
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for &i in wanted {
            let k = self.index.keyframe_before(i).unwrap_or(0);
            match groups.last_mut() {
                Some((gk, v)) if *gk == k => v.push(i),
                _ => groups.push((k, vec![i])),
            }
        }
        if groups.len() < 2 {
            return None;
        }
        let workers = threads.min(groups.len());
        // Groups are handed out longest decode first from a shared queue: a worker takes the
        // next group when it is free, so a worker that starts late (its thread was busy with
        // other work, as in a build) takes fewer groups and no core waits on a fixed plan.
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by_key(|&g| {
            let last = *groups[g].1.last().expect("non-empty");
            std::cmp::Reverse(self.index.decode_cost(last))
        });
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut opts = self.opts;
        opts.threads = (threads / workers).max(1);
        opts.group_workers = 1;
        let path = self.path.clone();
        let index = self.index.clone();
        use rayon::prelude::*;
        type Part = (Vec<(Vec<usize>, Vec<Result<RgbFrame>>)>, Option<String>);
        let parts: Vec<Part> = (0..workers)
            .into_par_iter()
            .map(|_| {
                let mut dec: Option<std::result::Result<VideoDecoder, DecodeCause>> = None;
                let mut out = Vec::new();
                loop {
                    let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&g) = order.get(j) else { break };
                    let idx = groups[g].1.clone();
                    // Opened only once there is a group to decode.
                    let d = dec.get_or_insert_with(|| {
                        VideoDecoder::with_index(&path, index.clone(), opts)
                            .map_err(|e| DecodeCause(e.bare_reason()))
                    });
                    let r = match d {
                        Ok(d) => d.frames_partial_impl(&idx, true),
                        Err(why) => idx
                            .iter()
                            .map(|_| Err(VideoError::decode(&path, why.0.clone())))
                            .collect(),
                    };
                    out.push((idx, r));
                }
                let note = dec
                    .as_ref()
                    .and_then(|d| d.as_ref().ok())
                    .and_then(|d| d.conversion_note.clone());
                (out, note)
            })
            .collect();
        let mut by_index: BTreeMap<usize, Result<RgbFrame>> = BTreeMap::new();
        for (done, note) in parts {
            if self.conversion_note.is_none() {
                self.conversion_note = note;
            }
            for (idx, r) in done {
                by_index.extend(idx.into_iter().zip(r));
            }
        }
        // The main decoder's own state is untouched: its next access seeks as usual.
        Some(
            wanted
                .iter()
                .map(|i| by_index.remove(i).expect("every target assigned"))
                .collect(),
        )
    }
}
