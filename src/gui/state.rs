//! The explorer's state: the open videos and datasets, which one is shown, the recent files
//! and the errors in the window. Panels read it and push [`Command`]s; [`State::apply`] is
//! the one place that changes what is open, shown or played.

use super::command::Command;
use super::tab::{TimelineView, VideoTab};
use super::widgets::set_texture;
use super::worker::{Reply, Request, VideoWorker};
use super::{dataset_view, jobs, DISPLAY_MAX};
use std::path::PathBuf;
use std::sync::Arc;

/// What is open and shown.
#[derive(Default)]
pub struct State {
    /// The open videos, one tab each.
    pub tabs: Vec<VideoTab>,
    /// The video tab shown (when no dataset is).
    pub active: usize,
    /// The open datasets, one tab each.
    pub datasets: Vec<dataset_view::DatasetTab>,
    /// When set, the window shows this dataset instead of the active video.
    pub active_dataset: Option<usize>,
    /// Recently opened paths and URLs, newest first.
    pub recent: Vec<PathBuf>,
    /// Errors shown in the window (what and which file), newest last.
    pub errors: Vec<String>,
}

impl State {
    /// Apply one command (see [`Command`] for what each does).
    pub fn apply(&mut self, cmd: Command, ctx: &egui::Context) {
        match cmd {
            Command::Open(p) => self.open(p, ctx),
            Command::OpenAnnotations(f) => self.open_annotations(f),
            Command::ShowVideo(k) if k < self.tabs.len() => {
                self.active = k;
                self.active_dataset = None;
            }
            Command::ShowDataset(k) if k < self.datasets.len() => self.active_dataset = Some(k),
            Command::ShowVideo(_) | Command::ShowDataset(_) => {}
            Command::CloseVideo(k) if k < self.tabs.len() => {
                self.tabs.remove(k);
                self.active = self.active.min(self.tabs.len().saturating_sub(1));
            }
            Command::CloseVideo(_) => {}
            Command::Error(e) => self.errors.push(e),
            Command::DismissErrors => self.errors.clear(),
            cmd => {
                if let Some(tab) = self.tabs.get_mut(self.active) {
                    apply_to_tab(tab, cmd, ctx);
                }
            }
        }
    }

    /// The video tab shown, if any video is open.
    pub fn active_tab(&self) -> Option<&VideoTab> {
        self.tabs.get(self.active)
    }

    /// Open a video in a new tab (work starts in the background).
    pub fn open(&mut self, path: PathBuf, ctx: &egui::Context) {
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path.clone());
        self.recent.truncate(12);
        let is_dataset = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("vdx" | "beton" | "vdxm")
        );
        if is_dataset {
            let k = match self.datasets.iter().position(|d| d.path == path) {
                Some(k) => k,
                None => {
                    self.datasets
                        .push(dataset_view::DatasetTab::open(path, ctx));
                    self.datasets.len() - 1
                }
            };
            self.active_dataset = Some(k);
            return;
        }
        self.active_dataset = None;
        if let Some(k) = self.tabs.iter().position(|t| t.path == path) {
            self.active = k;
            return;
        }
        let c = ctx.clone();
        let worker = VideoWorker::spawn(
            path.clone(),
            DISPLAY_MAX,
            Arc::new(move || c.request_repaint()),
        );
        self.tabs.push(VideoTab {
            path: path.clone(),
            worker,
            probe: None,
            index: None,
            error: None,
            current: 0,
            shown: None,
            texture: None,
            requested: None,
            playing: false,
            play_origin: None,
            timeline: TimelineView {
                start: 0.0,
                span: 300.0,
            },
            clips: Vec::new(),
            clips_pending: false,
            clip_plan: None,
            damaged: None,
            bands: None,
            bands_pending: None,
            bands_job: None,
            selected_band: None,
        });
        self.active = self.tabs.len() - 1;
    }

    /// Read `file` (any annotation format vdx builds from) and draw the segments it gives
    /// the active video as bands on its timeline. Read in the background once the video's
    /// index is there; a file that cannot be read is an error in the window.
    pub fn open_annotations(&mut self, file: PathBuf) {
        if let Some(tab) = self.tabs.get_mut(self.active) {
            tab.bands = None;
            tab.select_band(None);
            tab.bands_job = None;
            tab.bands_pending = Some(file);
        }
    }

    /// Take the workers' results: indexes, frames, clips, annotation bands, errors.
    pub fn poll(&mut self, ctx: &egui::Context) {
        for d in &mut self.datasets {
            if let Some(e) = d.poll(ctx) {
                self.errors.push(e);
            }
        }
        for tab in &mut self.tabs {
            if let (Some(index), true) = (tab.index.clone(), tab.bands_pending.is_some()) {
                let file = tab.bands_pending.take().expect("checked");
                let video = tab.path.clone();
                tab.bands_job = Some(jobs::Job::spawn(ctx, move || {
                    let ann =
                        crate::dataset::annotations::read_annotations(&file, &Default::default())
                            .map_err(|e| e.to_string())?;
                    let b = crate::dataset::annotations::bands_for_video(&ann, &video, &index);
                    if b.bands.is_empty() && b.problems.is_empty() {
                        return Err(format!(
                            "{}: no row names {} ({} rows)",
                            file.display(),
                            video.display(),
                            ann.rows.len()
                        ));
                    }
                    Ok(b)
                }));
            }
            if let Some(r) = tab.bands_job.as_ref().and_then(|j| j.poll()) {
                tab.bands_job = None;
                match r {
                    Ok(b) => {
                        for p in &b.problems {
                            self.errors.push(format!("{}: {p}", b.file.display()));
                        }
                        tab.bands = Some(Arc::new(b));
                    }
                    Err(e) => self.errors.push(e),
                }
            }
        }
        for tab in &mut self.tabs {
            for r in tab.worker.poll() {
                match r {
                    Reply::Opened { probe, index } => {
                        tab.timeline.span = (index.len() as f64).clamp(1.0, 300.0);
                        tab.probe = Some(probe);
                        tab.index = Some(index);
                    }
                    Reply::Frame(f) => {
                        tab.requested = None;
                        let img = egui::ColorImage::from_rgb(
                            [f.width as usize, f.height as usize],
                            &f.data,
                        );
                        set_texture(ctx, &mut tab.texture, "frame", img);
                        tab.shown = Some((f.index, true));
                    }
                    Reply::Clips(v) => {
                        tab.clips_pending = false;
                        tab.clips = v
                            .into_iter()
                            .map(|(c, frames)| {
                                let tex = frames
                                    .iter()
                                    .map(|f| {
                                        ctx.load_texture(
                                            format!("clip{}-{}", c.clip_index, f.index),
                                            egui::ColorImage::from_rgb(
                                                [f.width as usize, f.height as usize],
                                                &f.data,
                                            ),
                                            egui::TextureOptions::LINEAR,
                                        )
                                    })
                                    .collect();
                                (c, tex)
                            })
                            .collect();
                    }
                    Reply::Error(e) => {
                        tab.requested = None;
                        tab.clips_pending = false;
                        if tab.index.is_none() {
                            tab.error = Some(e.clone());
                        }
                        self.errors.push(e);
                    }
                }
            }
        }
    }

    pub(super) fn request_frame(&mut self) {
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        if tab.index.is_none() {
            return;
        }
        let exact = tab.shown == Some((tab.current, true));
        if !exact && tab.requested != Some(tab.current) {
            tab.worker.request(Request::Frame(tab.current));
            tab.requested = Some(tab.current);
        }
    }

    pub(super) fn advance_playback(&mut self, ctx: &egui::Context) {
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        if !tab.playing {
            return;
        }
        let Some(index) = tab.index.clone() else {
            return;
        };
        let now = ctx.input(|i| i.time);
        let (t0, w0) = *tab
            .play_origin
            .get_or_insert((index.time_secs(tab.current), now));
        // The video's own timing: the frame shown at the elapsed media time (VFR respected).
        let t = t0 + (now - w0);
        match index.frame_at_time(t) {
            Some(i) if i + 1 < index.len() || t < index.duration_secs() => tab.current = i,
            _ => {
                tab.current = index.len().saturating_sub(1);
                tab.playing = false;
            }
        }
        ctx.request_repaint();
    }
}

/// A command that moves through the active video (seek, step, play, segments).
fn apply_to_tab(tab: &mut VideoTab, cmd: Command, ctx: &egui::Context) {
    let Some(index) = tab.index.clone() else {
        return;
    };
    match cmd {
        Command::Seek { frame, pause } => {
            if pause {
                tab.playing = false;
            }
            tab.seek(frame);
        }
        Command::Step(n) => {
            tab.playing = false;
            tab.seek(tab.current.saturating_add_signed(n as isize));
        }
        Command::PrevKeyframe => {
            let k = index
                .keyframe_before(tab.current.saturating_sub(1))
                .unwrap_or(0);
            tab.seek(k);
        }
        Command::NextKeyframe => {
            if let Some(&k) = index.keyframes.iter().find(|&&k| k > tab.current) {
                tab.seek(k);
            }
        }
        Command::PrevBoundary | Command::NextBoundary => {
            let Some(b) = tab.bands.clone() else {
                return;
            };
            let to = if cmd == Command::PrevBoundary {
                b.boundary_before(tab.current)
            } else {
                b.boundary_after(tab.current)
            };
            if let Some(f) = to {
                tab.playing = false;
                tab.seek(f);
            }
        }
        Command::TogglePlay => {
            tab.playing = !tab.playing;
            tab.play_origin = None;
            if tab.playing && tab.current + 1 >= tab.frame_count() {
                tab.current = 0;
            }
            ctx.request_repaint();
        }
        Command::SelectSegment(k) => tab.select_band(k),
        _ => {}
    }
}
