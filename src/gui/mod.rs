//! The explorer GUI (eframe/egui): thin panels over the core. All decoding runs on worker
//! threads (`worker.rs`); the UI thread polls replies and never waits.
//!
//! Layout: menu bar and video tabs on top; metadata on the left; the player in the centre;
//! the clip view on the right; the frame timeline at the bottom.

pub mod analysis;
pub mod augment_panel;
pub mod build_dialog;
mod clip_panel;
pub mod dataset_view;
pub mod export_dialog;
pub mod fields_dialog;
pub mod flow_panel;
pub mod jobs;
mod menu;
mod metadata_panel;
pub mod open_url;
mod player;
pub mod quality_view;
mod screenshot;
mod tab;
mod timeline;
mod widgets;
pub mod worker;

pub use tab::VideoTab;
use tab::*;
pub(crate) use widgets::error_or_spinner;
use widgets::*;

use crate::video::index::{FrameType, VideoIndex};
use crate::video::probe::ProbeInfo;
use crate::video::sample::{Clip, SamplerConfig, Snap};
use egui::{Color32, Key, Sense, Vec2};
use std::path::PathBuf;
use std::sync::Arc;
use worker::{Reply, Request, VideoWorker};

/// Longest side of frames shown in the player.
const DISPLAY_MAX: u32 = 1280;

/// What is kept between runs.
#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(default)]
struct Persisted {
    recent: Vec<PathBuf>,
    sampler: Option<SamplerConfig>,
    clip_size: Option<u32>,
    show_clips: Option<bool>,
    show_metadata: Option<bool>,
    recipe: Option<crate::augment::Recipe>,
}

/// What the right-hand panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RightTab {
    Clips,
    Flow,
    Augment,
}

/// The application.
pub struct VdxApp {
    pub tabs: Vec<VideoTab>,
    pub active: usize,
    recent: Vec<PathBuf>,
    /// Errors shown in the window (what and which file), newest last.
    pub errors: Vec<String>,
    /// The right panel's Clips tab (its sampler also marks the clips on the timeline).
    pub clips: clip_panel::ClipPanel,
    show_clips: bool,
    show_metadata: bool,
    /// Screenshot to write, then quit (for the pictures in README.md and docs/explorer.md).
    screenshot: Option<(PathBuf, u32)>,
    pub right_tab: RightTab,
    pub datasets: Vec<dataset_view::DatasetTab>,
    pub build: build_dialog::BuildDialog,
    pub export: export_dialog::ExportDialog,
    pub fields: fields_dialog::FieldsDialog,
    /// When set, the window shows this dataset instead of the active video.
    pub active_dataset: Option<usize>,
    /// The right panel's Flow tab.
    pub flow: flow_panel::FlowPanel,
    /// The right panel's Augment tab (its recipe is also what Export applies).
    pub augment: augment_panel::AugmentPanel,
    /// File > Open URL….
    pub open_url: open_url::OpenUrlDialog,
}

impl VdxApp {
    /// A new app (no eframe needed: tests drive it through `show`).
    pub fn new(files: Vec<PathBuf>, ctx: &egui::Context) -> Self {
        Self::with_persisted(files, ctx, Persisted::default())
    }

    fn with_persisted(files: Vec<PathBuf>, ctx: &egui::Context, p: Persisted) -> Self {
        let mut app = VdxApp {
            tabs: Vec::new(),
            active: 0,
            recent: p.recent,
            errors: Vec::new(),
            clips: clip_panel::ClipPanel {
                sampler: p.sampler.unwrap_or(SamplerConfig {
                    num_clips: 4,
                    ..Default::default()
                }),
                size: p.clip_size.unwrap_or(96),
            },
            show_clips: p.show_clips.unwrap_or(true),
            show_metadata: p.show_metadata.unwrap_or(true),
            screenshot: std::env::var_os("VDX_SCREENSHOT").map(|p| (PathBuf::from(p), 0)),
            right_tab: match std::env::var("VDX_PANEL").as_deref() {
                Ok("flow") => RightTab::Flow,
                Ok("augment") => RightTab::Augment,
                _ => RightTab::Clips,
            },
            datasets: Vec::new(),
            build: build_dialog::BuildDialog::default(),
            export: export_dialog::ExportDialog::default(),
            fields: fields_dialog::FieldsDialog::default(),
            active_dataset: None,
            flow: flow_panel::FlowPanel::default(),
            augment: augment_panel::AugmentPanel::new(p.recipe),
            open_url: open_url::OpenUrlDialog::default(),
        };
        // For the picture of File > Open URL…: the dialog open with this text.
        if let Ok(u) = std::env::var("VDX_OPEN_URL") {
            app.open_url.text = Some(u);
        }
        // For the picture of a build in progress: build the opened videos (each
        // several times) into this path at start.
        let demo_build = std::env::var_os("VDX_DEMO_BUILD").map(PathBuf::from);
        if let Some(out) = &demo_build {
            app.build.inputs = files
                .iter()
                .cycle()
                .take(files.len() * 12)
                .cloned()
                .collect();
            app.build.out = Some(out.clone());
            app.build.opts.sampler.num_clips = 8;
            app.build.threads = 1;
            app.build.open = true;
        }
        for f in files {
            app.open(f, ctx);
        }
        if demo_build.is_some() {
            app.build.start(ctx);
        }
        // For the picture of the field comparison: compare the opened videos.
        if std::env::var_os("VDX_DEMO_FIELDS").is_some() {
            app.fields.inputs = app.tabs.iter().map(|t| t.path.clone()).collect();
            app.fields.open = true;
            app.fields.start(ctx);
        }
        app
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

    pub fn active_tab(&self) -> Option<&VideoTab> {
        self.tabs.get(self.active)
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

    fn poll(&mut self, ctx: &egui::Context) {
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

    /// The whole UI, one frame.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll(&ctx);
        // Files dropped on the window.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        for p in dropped {
            self.open(p, &ctx);
        }
        self.keyboard(&ctx);
        self.advance_playback(&ctx);

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        if let Some(url) = self.open_url.show(&ctx) {
            self.open(url, &ctx);
        }
        if let Some(done) = self.build.show(&ctx) {
            self.open(done, &ctx);
        }
        self.export.show(&ctx, &self.augment.recipe);
        self.fields.show(&ctx);
        if !self.errors.is_empty() {
            egui::Panel::bottom("errors").show(ui, |ui| self.error_bar(ui));
        }
        if self.jobs_running() {
            egui::Panel::bottom("jobs").show(ui, |ui| self.jobs_panel(ui));
        }
        if let Some(k) = self.active_dataset.filter(|&k| k < self.datasets.len()) {
            egui::Panel::left("dataset_info")
                .resizable(true)
                .default_size(300.0)
                .show(ui, |ui| self.datasets[k].info_ui(ui));
            egui::CentralPanel::default().show(ui, |ui| self.datasets[k].main_ui(ui));
            screenshot::step(self, &ctx);
            return;
        }
        egui::Panel::bottom("timeline")
            .resizable(true)
            .min_size(140.0)
            .default_size(170.0)
            .show(ui, |ui| {
                if let Some(tab) = self.tabs.get_mut(self.active) {
                    timeline::show(ui, tab, self.clips.sampler);
                }
            });
        if self.show_metadata {
            egui::Panel::left("metadata")
                .resizable(true)
                .default_size(300.0)
                .show(ui, |ui| {
                    metadata_panel::show(ui, self.tabs.get(self.active))
                });
        }
        if self.show_clips {
            egui::Panel::right("clips")
                .resizable(true)
                .default_size(380.0)
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.selectable_value(&mut self.right_tab, RightTab::Clips, "Clips");
                        ui.selectable_value(&mut self.right_tab, RightTab::Flow, "Flow");
                        ui.selectable_value(&mut self.right_tab, RightTab::Augment, "Augment");
                    });
                    ui.separator();
                    match self.right_tab {
                        RightTab::Clips => {
                            self.clips.show(ui, self.tabs.get_mut(self.active));
                        }
                        RightTab::Flow => {
                            let tab = self.tabs.get(self.active);
                            self.flow.show(ui, tab, &mut self.errors);
                        }
                        RightTab::Augment => {
                            let tab = self.tabs.get(self.active);
                            self.augment.show(ui, tab, &mut self.errors);
                        }
                    }
                });
        }
        egui::CentralPanel::default()
            .show(ui, |ui| player::show(ui, self.tabs.get_mut(self.active)));
        self.request_frame();
        screenshot::step(self, &ctx);
    }

    fn request_frame(&mut self) {
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

    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() || self.active_dataset.is_some() {
            return;
        }
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        let Some(index) = tab.index.clone() else {
            return;
        };
        let n = index.len();
        let (space, left, right, home, end, prev_k, next_k) = ctx.input(|i| {
            (
                i.key_pressed(Key::Space),
                i.key_pressed(Key::ArrowLeft),
                i.key_pressed(Key::ArrowRight),
                i.key_pressed(Key::Home),
                i.key_pressed(Key::End),
                i.key_pressed(Key::OpenBracket),
                i.key_pressed(Key::CloseBracket),
            )
        });
        // ',' and '.' step between annotated segment boundaries.
        let (prev_s, next_s) =
            ctx.input(|i| (i.key_pressed(Key::Comma), i.key_pressed(Key::Period)));
        if let Some(b) = tab.bands.clone() {
            let to = if prev_s {
                b.boundary_before(tab.current)
            } else if next_s {
                b.boundary_after(tab.current)
            } else {
                None
            };
            if let Some(f) = to {
                tab.playing = false;
                tab.seek(f);
            }
        }
        if space {
            toggle_play(tab, ctx);
        }
        if left {
            tab.playing = false;
            tab.seek(tab.current.saturating_sub(1));
        }
        if right {
            tab.playing = false;
            tab.seek(tab.current + 1);
        }
        if home {
            tab.seek(0);
        }
        if end {
            tab.seek(n.saturating_sub(1));
        }
        if prev_k {
            let k = index
                .keyframe_before(tab.current.saturating_sub(1))
                .unwrap_or(0);
            tab.seek(k);
        }
        if next_k {
            if let Some(&k) = index.keyframes.iter().find(|&&k| k > tab.current) {
                tab.seek(k);
            }
        }
    }

    fn advance_playback(&mut self, ctx: &egui::Context) {
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

    fn jobs_running(&self) -> bool {
        self.build.running()
            || self.export.running()
            || self.fields.running()
            || self.datasets.iter().any(|d| d.busy())
    }

    /// Every running job with its progress, ETA and a Cancel button.
    fn jobs_panel(&mut self, ui: &mut egui::Ui) {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(250));
        let row = |ui: &mut egui::Ui, (what, f, started): (String, f32, std::time::Instant)| {
            let mut cancel = false;
            ui.horizontal(|ui| {
                let el = started.elapsed().as_secs_f64();
                let eta = if f > 0.01 {
                    format!("ETA {:.0} s", el * (1.0 - f as f64) / f as f64)
                } else {
                    "ETA …".into()
                };
                ui.add(
                    egui::ProgressBar::new(f)
                        .desired_width(260.0)
                        .text(format!("{:.0}%", 100.0 * f)),
                );
                ui.label(format!("{what} · {el:.0} s elapsed · {eta}"));
                cancel = ui.button("Cancel").clicked();
            });
            cancel
        };
        ui.strong("Jobs");
        if let Some(s) = self.build.status() {
            if row(ui, s) {
                self.build.cancel();
            }
        }
        if let Some(s) = self.export.status() {
            if row(ui, s) {
                self.export.cancel();
            }
        }
        if let Some(s) = self.fields.status() {
            if row(ui, s) {
                self.fields.cancel();
            }
        }
        for d in &self.datasets {
            if let Some(s) = d.status() {
                if row(ui, s) {
                    d.cancel_verify();
                }
            }
        }
    }

    fn error_bar(&mut self, ui: &mut egui::Ui) {
        // Wrapped: a long message (a path and its causes) stays inside the window.
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(Color32::from_rgb(230, 120, 90), "Error:");
            ui.label(self.errors.last().cloned().unwrap_or_default());
            if self.errors.len() > 1 {
                ui.weak(format!("(+{} earlier)", self.errors.len() - 1));
            }
            if ui.small_button("Dismiss").clicked() {
                self.errors.clear();
            }
        });
    }

    fn persisted(&self) -> Persisted {
        Persisted {
            recent: self.recent.clone(),
            sampler: Some(self.clips.sampler),
            clip_size: Some(self.clips.size),
            show_clips: Some(self.show_clips),
            show_metadata: Some(self.show_metadata),
            recipe: Some(self.augment.recipe.clone()),
        }
    }
}

impl eframe::App for VdxApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted());
    }
}

/// Open the GUI on `files` (blocks until the window closes).
pub fn run(files: Vec<PathBuf>, annotations: Option<PathBuf>) -> crate::Result<()> {
    let opts = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("vdx — video dataset explorer")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "vdx",
        opts,
        Box::new(move |cc| {
            let p: Persisted = cc
                .storage
                .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
                .unwrap_or_default();
            let mut app = VdxApp::with_persisted(files, &cc.egui_ctx, p);
            if let Some(a) = annotations {
                app.active = 0;
                app.open_annotations(a);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| crate::VdxError::param("gui", format!("cannot open a window: {e}")))
}

/// Parameters for people: strings bare, objects as `key value` pairs joined by commas
/// ("size 256", "iterations 3, levels 3"), underscores read as spaces.
pub(crate) fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{} {}", k.replace('_', " "), json_text(v)))
            .collect::<Vec<_>>()
            .join(", "),
        v => v.to_string(),
    }
}
