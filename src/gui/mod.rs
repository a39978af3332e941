//! The explorer GUI (eframe/egui): thin panels over the core. All decoding runs on worker
//! threads (`worker.rs`); the UI thread polls replies and never waits.
//!
//! Layout: menu bar and video tabs on top; metadata on the left; the player in the centre;
//! the clip view on the right; the frame timeline at the bottom.

pub mod analysis;
pub mod augment_panel;
pub mod build_dialog;
mod clip_panel;
pub mod command;
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
pub mod state;
mod tab;
mod timeline;
mod widgets;
pub mod worker;

pub use command::{Command, Commands};
pub use state::State;
pub use tab::VideoTab;
pub(crate) use widgets::error_or_spinner;

use crate::video::index::{FrameType, VideoIndex};
use crate::video::probe::ProbeInfo;
use crate::video::sample::{Clip, SamplerConfig, Snap};
use egui::{Color32, Key, Sense, Vec2};
use std::path::PathBuf;
use std::sync::Arc;
use worker::VideoWorker;

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

/// The application: the [`State`] (what is open and shown), the panels and dialogs (each
/// owning its settings and drawing itself), and the commands they pushed this frame.
pub struct VdxApp {
    pub state: State,
    /// Pushed while a frame is drawn, applied to `state` once it is drawn.
    pub commands: Commands,
    /// The right panel's Clips tab (its sampler also marks the clips on the timeline).
    pub clips: clip_panel::ClipPanel,
    show_clips: bool,
    show_metadata: bool,
    /// Screenshot to write, then quit (for the pictures in README.md and docs/explorer.md).
    screenshot: Option<(PathBuf, u32)>,
    pub right_tab: RightTab,
    pub build: build_dialog::BuildDialog,
    pub export: export_dialog::ExportDialog,
    pub fields: fields_dialog::FieldsDialog,
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
            state: State {
                recent: p.recent,
                ..State::default()
            },
            commands: Commands::default(),
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
            build: build_dialog::BuildDialog::default(),
            export: export_dialog::ExportDialog::default(),
            fields: fields_dialog::FieldsDialog::default(),
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
            app.state.open(f, ctx);
        }
        if demo_build.is_some() {
            app.build.start(ctx);
        }
        // For the picture of the field comparison: compare the opened videos.
        if std::env::var_os("VDX_DEMO_FIELDS").is_some() {
            app.fields.inputs = app.state.tabs.iter().map(|t| t.path.clone()).collect();
            app.fields.open = true;
            app.fields.start(ctx);
        }
        app
    }

    /// The whole UI, one frame: take the workers' results, draw every panel (each pushes the
    /// commands its clicks and keys ask for), then apply the commands in order.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.state.poll(&ctx);
        // Files dropped on the window.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        for p in dropped {
            self.commands.push(Command::Open(p));
        }
        self.keyboard(&ctx);
        self.state.advance_playback(&ctx);
        self.panels(ui);
        let cmds = self.commands.take();
        if !cmds.is_empty() {
            ctx.request_repaint();
        }
        for c in cmds {
            self.state.apply(c, &ctx);
        }
        if self.state.active_dataset.is_none() {
            self.state.request_frame();
        }
        screenshot::step(self, &ctx);
    }

    /// Every panel and dialog of the frame, drawn from the state.
    fn panels(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        if let Some(url) = self.open_url.show(&ctx) {
            self.commands.push(Command::Open(url));
        }
        if let Some(done) = self.build.show(&ctx) {
            self.commands.push(Command::Open(done));
        }
        self.export.show(&ctx, &self.augment.recipe);
        self.fields.show(&ctx);
        if !self.state.errors.is_empty() {
            egui::Panel::bottom("errors").show(ui, |ui| self.error_bar(ui));
        }
        if self.jobs_running() {
            egui::Panel::bottom("jobs").show(ui, |ui| self.jobs_panel(ui));
        }
        let st = &mut self.state;
        if let Some(k) = st.active_dataset.filter(|&k| k < st.datasets.len()) {
            egui::Panel::left("dataset_info")
                .resizable(true)
                .default_size(300.0)
                .show(ui, |ui| st.datasets[k].info_ui(ui));
            egui::CentralPanel::default().show(ui, |ui| st.datasets[k].main_ui(ui));
            return;
        }
        let cmds = &mut self.commands;
        egui::Panel::bottom("timeline")
            .resizable(true)
            .min_size(140.0)
            .default_size(170.0)
            .show(ui, |ui| {
                if let Some(tab) = st.tabs.get_mut(st.active) {
                    timeline::show(ui, tab, self.clips.sampler, cmds);
                }
            });
        if self.show_metadata {
            egui::Panel::left("metadata")
                .resizable(true)
                .default_size(300.0)
                .show(ui, |ui| metadata_panel::show(ui, st.tabs.get(st.active)));
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
                            self.clips.show(ui, st.tabs.get_mut(st.active), cmds);
                        }
                        RightTab::Flow => self.flow.show(ui, st.tabs.get(st.active), cmds),
                        RightTab::Augment => self.augment.show(ui, st.tabs.get(st.active), cmds),
                    }
                });
        }
        egui::CentralPanel::default()
            .show(ui, |ui| player::show(ui, st.tabs.get_mut(st.active), cmds));
    }

    /// The player's keys, as commands: Space plays or pauses, Left and Right step a frame,
    /// Home and End go to the ends, '[' and ']' to the keyframes, ',' and '.' to the annotated
    /// segment boundaries.
    fn keyboard(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() || self.state.active_dataset.is_some() {
            return;
        }
        let Some(n) = self
            .state
            .active_tab()
            .and_then(|t| t.index.as_ref())
            .map(|ix| ix.len())
        else {
            return;
        };
        let keys = [
            (Key::Comma, Command::PrevBoundary),
            (Key::Period, Command::NextBoundary),
            (Key::Space, Command::TogglePlay),
            (Key::ArrowLeft, Command::Step(-1)),
            (Key::ArrowRight, Command::Step(1)),
            (
                Key::Home,
                Command::Seek {
                    frame: 0,
                    pause: false,
                },
            ),
            (
                Key::End,
                Command::Seek {
                    frame: n.saturating_sub(1),
                    pause: false,
                },
            ),
            (Key::OpenBracket, Command::PrevKeyframe),
            (Key::CloseBracket, Command::NextKeyframe),
        ];
        for (key, cmd) in keys {
            if ctx.input(|i| i.key_pressed(key)) {
                self.commands.push(cmd);
            }
        }
    }

    fn jobs_running(&self) -> bool {
        self.build.running()
            || self.export.running()
            || self.fields.running()
            || self.state.datasets.iter().any(|d| d.busy())
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
        for d in &self.state.datasets {
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
            let errors = &self.state.errors;
            ui.label(errors.last().cloned().unwrap_or_default());
            if errors.len() > 1 {
                ui.weak(format!("(+{} earlier)", errors.len() - 1));
            }
            if ui.small_button("Dismiss").clicked() {
                self.commands.push(Command::DismissErrors);
            }
        });
    }

    fn persisted(&self) -> Persisted {
        Persisted {
            recent: self.state.recent.clone(),
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
                app.state.active = 0;
                app.state.open_annotations(a);
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
