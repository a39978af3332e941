//! A video tab's state: the open file, its index and probe, the current frame, playback, the
//! timeline view and the clip plan.

use super::*;

/// Timeline view: which frames are visible.
pub(super) struct TimelineView {
    /// First visible frame (fractional).
    pub(super) start: f64,
    /// Number of frames across the width.
    pub(super) span: f64,
}

/// The sampler's clips on a video, with their decode costs, and where the clips would start
/// unsnapped: computed once per sampler setting (the timeline and the clip panel draw them
/// every frame, and `snap=cheapest` tries every start within k).
pub(crate) struct ClipPlan {
    pub(super) sampler: SamplerConfig,
    /// Clips are sampled inside these frames (a selected annotated segment), else the video.
    pub(super) range: Option<std::ops::Range<usize>>,
    /// (clip, frames decoded for it); empty where the sampler refuses the video.
    pub clips: Vec<(Clip, usize)>,
    /// With snapped starts: the clips at their exact starts.
    pub exact: Option<Vec<(Clip, usize)>>,
}

impl ClipPlan {
    /// `slot`'s plan, made again where the sampler changed (a field-level borrow, so a panel
    /// can hold it beside its other borrows of the tab).
    pub(super) fn cached<'a>(
        slot: &'a mut Option<ClipPlan>,
        index: Option<&VideoIndex>,
        sampler: SamplerConfig,
        range: Option<std::ops::Range<usize>>,
    ) -> Option<&'a ClipPlan> {
        let index = index?;
        if slot
            .as_ref()
            .is_none_or(|p| p.sampler != sampler || p.range != range)
        {
            *slot = Some(ClipPlan::new(index, sampler, range));
        }
        slot.as_ref()
    }

    pub(super) fn new(
        index: &VideoIndex,
        sampler: SamplerConfig,
        range: Option<std::ops::Range<usize>>,
    ) -> Self {
        let plan = |cfg: &SamplerConfig| {
            match &range {
                Some(r) => crate::video::sample::sample_clips_in(index, r.clone(), cfg),
                None => crate::video::sample::sample_clips(index, cfg),
            }
            .map(|cl| {
                cl.into_iter()
                    .map(|c| {
                        let cost = crate::video::sample::clip_decode_cost(index, &c.frame_indices);
                        (c, cost)
                    })
                    .collect()
            })
            .unwrap_or_default()
        };
        let exact = (sampler.snap != Snap::None).then(|| {
            plan(&SamplerConfig {
                snap: Snap::None,
                within: 0,
                ..sampler
            })
        });
        ClipPlan {
            sampler,
            clips: plan(&sampler),
            exact,
            range,
        }
    }
}

/// One open video.
pub struct VideoTab {
    pub path: PathBuf,
    pub(super) worker: VideoWorker,
    pub probe: Option<Box<ProbeInfo>>,
    pub index: Option<Arc<VideoIndex>>,
    pub error: Option<String>,
    /// The frame the user is on.
    pub current: usize,
    /// The frame on screen and whether it is the exact frame (else a cached preview).
    pub shown: Option<(usize, bool)>,
    pub(super) texture: Option<egui::TextureHandle>,
    pub(super) requested: Option<usize>,
    pub playing: bool,
    /// (media time, wall time) when playback started.
    pub(super) play_origin: Option<(f64, f64)>,
    pub(super) timeline: TimelineView,
    pub(super) clips: Vec<(Clip, Vec<egui::TextureHandle>)>,
    pub(super) clips_pending: bool,
    pub(super) clip_plan: Option<ClipPlan>,
    /// Frames the background decode found damaged (ascending), once it has finished.
    pub damaged: Option<Vec<usize>>,
    /// Annotated segments of this video, drawn as bands on the timeline.
    pub bands: Option<Arc<crate::dataset::annotations::VideoBands>>,
    /// An annotation file to read once the index is there, and the read in progress.
    pub(super) bands_pending: Option<PathBuf>,
    pub(super) bands_job: Option<super::jobs::Job<crate::dataset::annotations::VideoBands>>,
    /// The band whose segment the clip panel samples inside (an index into `bands`).
    pub selected_band: Option<usize>,
}

impl VideoTab {
    /// How many preview frames the background cache holds, and whether it is complete.
    pub fn previews_cached(&self) -> (usize, bool) {
        let t = self.worker.thumbs.lock().unwrap_or_else(|e| e.into_inner());
        (t.frames.len(), t.done)
    }

    pub(super) fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| self.path.display().to_string())
    }
    pub(super) fn frame_count(&self) -> usize {
        self.index.as_ref().map_or(0, |i| i.len())
    }
    /// The clip plan for `sampler` (recomputed only when the sampler changes).
    pub(super) fn clip_plan(&mut self, sampler: SamplerConfig) -> Option<&ClipPlan> {
        let range = self.band_range();
        ClipPlan::cached(&mut self.clip_plan, self.index.as_deref(), sampler, range)
    }
    /// The frame indices of the clips on the clip panel (once decoded).
    pub fn shown_clip_frames(&self) -> Option<Vec<Vec<usize>>> {
        (!self.clips_pending && !self.clips.is_empty()).then(|| {
            self.clips
                .iter()
                .map(|(c, _)| c.frame_indices.clone())
                .collect()
        })
    }
    /// The frames of the selected band, where one is selected.
    pub fn band_range(&self) -> Option<std::ops::Range<usize>> {
        let b = self.bands.as_ref()?;
        Some(b.bands.get(self.selected_band?)?.frames.clone())
    }
    /// Sample clips inside band `k` (None: the whole video); the filmstrips are made again.
    pub fn select_band(&mut self, k: Option<usize>) {
        if self.selected_band != k {
            self.selected_band = k;
            self.clips.clear();
        }
    }
    pub(super) fn seek(&mut self, i: usize) {
        let n = self.frame_count();
        if n == 0 {
            return;
        }
        self.current = i.min(n - 1);
        if self.playing {
            if let Some(ix) = &self.index {
                self.play_origin = self
                    .play_origin
                    .map(|(_, w)| (ix.time_secs(self.current), w));
            }
        }
    }
}
