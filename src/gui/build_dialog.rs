//! The build dialog: inputs, field and options, output path; the build runs as a background
//! job with progress and Cancel, and the finished dataset opens in a tab.

use super::jobs::{Job, Progress};
use crate::dataset::{self, BuildOptions, BuildReport, FieldKind, RunOptions};
use crate::video::decode::ResizeMode;
use crate::video::sample::SamplerKind;
use egui::Color32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The inputs of a job over videos: their count, and buttons to add files or a folder (class
/// folders inside give labels) and to clear them. The build and Compare fields dialogs.
pub fn inputs_row(ui: &mut egui::Ui, inputs: &mut Vec<PathBuf>) {
    ui.horizontal(|ui| {
        ui.strong(format!("{} inputs", inputs.len()));
        if ui.button("Add videos…").clicked() {
            if let Some(v) = rfd::FileDialog::new()
                .add_filter("videos", &["mp4", "mkv", "webm", "mov", "avi", "m4v", "ts"])
                .pick_files()
            {
                inputs.extend(v);
            }
        }
        if ui.button("Add folder…").clicked() {
            if let Some(d) = rfd::FileDialog::new().pick_folder() {
                inputs.push(d);
            }
        }
        if ui.button("Clear").clicked() {
            inputs.clear();
        }
    });
}

/// The dialog's state.
pub struct BuildDialog {
    pub open: bool,
    pub inputs: Vec<PathBuf>,
    pub out: Option<PathBuf>,
    pub opts: BuildOptions,
    pub threads: usize,
    pub keep_going: bool,
    job: Option<Job<BuildReport>>,
    progress: Progress,
    samples: Arc<AtomicUsize>,
    pub result: Option<Result<BuildReport, String>>,
}

impl Default for BuildDialog {
    fn default() -> Self {
        BuildDialog {
            open: false,
            inputs: Vec::new(),
            out: None,
            opts: BuildOptions::default(),
            threads: 0,
            keep_going: true,
            job: None,
            progress: Progress::default(),
            samples: Arc::new(AtomicUsize::new(0)),
            result: None,
        }
    }
}

impl BuildDialog {
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// For the jobs panel: what is running, the fraction done and when it started.
    pub fn status(&self) -> Option<(String, f32, std::time::Instant)> {
        let started = self.progress.started().filter(|_| self.running())?;
        let (done, total) = self.progress.counts();
        Some((
            format!(
                "build {}: {done}/{total} videos, {} samples",
                self.out
                    .as_ref()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                self.samples.load(Ordering::Relaxed)
            ),
            self.progress.fraction(),
            started,
        ))
    }

    pub fn cancel(&self) {
        self.progress.request_cancel();
    }

    /// Start the build (inputs and output must be set).
    pub fn start(&mut self, ctx: &egui::Context) {
        let Some(out) = self.out.clone() else {
            self.result = Some(Err("choose where to write the dataset".into()));
            return;
        };
        let (inputs, opts, threads, keep_going) = (
            self.inputs.clone(),
            self.opts.clone(),
            self.threads,
            self.keep_going,
        );
        self.result = None;
        self.progress.begin();
        self.samples.store(0, Ordering::Relaxed);
        let (done, total, samples, cancel, c) = (
            self.progress.done.clone(),
            self.progress.total.clone(),
            self.samples.clone(),
            self.progress.cancel.clone(),
            ctx.clone(),
        );
        self.job = Some(Job::spawn_long(ctx, move || {
            let (inp, classes) = dataset::collect_inputs(&inputs).map_err(|e| e.to_string())?;
            total.store(inp.len(), Ordering::Relaxed);
            dataset::build(
                &inp,
                &classes,
                &opts,
                &out,
                RunOptions {
                    threads,
                    keep_going,
                },
                &cancel,
                &|p| {
                    done.store(p.videos_done, Ordering::Relaxed);
                    samples.store(p.samples, Ordering::Relaxed);
                    c.request_repaint();
                },
            )
            .map_err(|e| e.to_string())
        }));
    }

    /// Collects a finished job's result; returns the dataset it wrote.
    pub fn poll(&mut self) -> Option<PathBuf> {
        let r = self.job.as_ref().and_then(|j| j.poll())?;
        self.job = None;
        let finished = r.as_ref().ok().map(|rep| rep.output.clone());
        self.result = Some(r);
        finished
    }

    /// Show the dialog; returns a finished dataset to open.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<PathBuf> {
        let finished = self.poll();
        let mut open = self.open;
        egui::Window::new("Build dataset")
            .open(&mut open)
            .default_width(460.0)
            .show(ctx, |ui| self.body(ui));
        self.open = open;
        finished
    }

    /// The dialog: inputs, options, output, then Build (or the running build's progress)
    /// and the result.
    fn body(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        inputs_row(ui, &mut self.inputs);
        egui::ScrollArea::vertical()
            .max_height(90.0)
            .show(ui, |ui| {
                for p in &self.inputs {
                    ui.weak(p.display().to_string());
                }
            });
        ui.separator();
        egui::Grid::new("build_opts")
            .num_columns(2)
            .show(ui, |ui| self.options(ui));
        ui.checkbox(&mut self.keep_going, "skip unreadable videos (report them)");
        ui.horizontal(|ui| {
            if ui.button("Output…").clicked() {
                if let Some(p) = rfd::FileDialog::new()
                    .add_filter("vdx dataset", &["vdx"])
                    .save_file()
                {
                    self.out = Some(p);
                }
            }
            ui.label(
                self.out
                    .as_ref()
                    .map_or("(no output chosen)".into(), |p| p.display().to_string()),
            );
        });
        ui.separator();
        if self.running() {
            let (done, total) = self.progress.counts();
            ui.horizontal(|ui| {
                ui.add(
                    egui::ProgressBar::new(self.progress.fraction())
                        .desired_width(280.0)
                        .text(format!(
                            "{done}/{total} videos, {} samples",
                            self.samples.load(Ordering::Relaxed)
                        )),
                );
                if ui.button("Cancel").clicked() {
                    self.progress.request_cancel();
                }
            });
        } else {
            let ready = !self.inputs.is_empty() && self.out.is_some();
            if ui.add_enabled(ready, egui::Button::new("Build")).clicked() {
                self.start(&ctx);
            }
        }
        self.result_ui(ui);
    }

    /// The build's options as a grid: field, clips, frames, size, JPEG quality, threads,
    /// resize.
    fn options(&mut self, ui: &mut egui::Ui) {
        let l = ui.label("field");
        ui.horizontal(|ui| {
            for (k, name) in [
                (FieldKind::Frames, "frames"),
                (FieldKind::Segments, "segments"),
                (FieldKind::Flow, "flow"),
            ] {
                ui.selectable_value(&mut self.opts.field, k, name);
            }
        })
        .response
        .labelled_by(l.id);
        ui.end_row();
        let l = ui.label("clips");
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.opts.sampler.kind, SamplerKind::Uniform, "uniform");
            ui.selectable_value(&mut self.opts.sampler.kind, SamplerKind::Regular, "all");
        })
        .response
        .labelled_by(l.id);
        ui.end_row();
        let num = |ui: &mut egui::Ui, label: &str, w: egui::DragValue<'_>| {
            let l = ui.label(label);
            ui.add(w).labelled_by(l.id);
            ui.end_row();
        };
        num(
            ui,
            "frames per clip",
            egui::DragValue::new(&mut self.opts.sampler.frames_per_clip).range(1..=256),
        );
        num(
            ui,
            "clips per video (uniform)",
            egui::DragValue::new(&mut self.opts.sampler.num_clips).range(1..=1000),
        );
        num(
            ui,
            "width",
            egui::DragValue::new(&mut self.opts.width).range(16..=2048),
        );
        num(
            ui,
            "height",
            egui::DragValue::new(&mut self.opts.height).range(16..=2048),
        );
        num(
            ui,
            "JPEG quality",
            egui::DragValue::new(&mut self.opts.quality).range(1..=100),
        );
        num(
            ui,
            "threads (0 = all cores)",
            egui::DragValue::new(&mut self.threads).range(0..=64),
        );
        let l = ui.label("resize");
        egui::ComboBox::from_id_salt("resize")
            .selected_text(self.opts.resize.to_string())
            .show_ui(ui, |ui| {
                for m in [
                    ResizeMode::ShortSideCrop,
                    ResizeMode::Squash,
                    ResizeMode::Letterbox,
                ] {
                    ui.selectable_value(&mut self.opts.resize, m, m.to_string());
                }
            })
            .response
            .labelled_by(l.id);
        ui.end_row();
    }

    /// What the last build wrote (and skipped), or why it failed.
    fn result_ui(&self, ui: &mut egui::Ui) {
        match &self.result {
            Some(Ok(r)) => {
                ui.colored_label(
                    Color32::from_rgb(106, 190, 120),
                    format!(
                        "wrote {}: {} samples from {} videos ({:.1} MB){}",
                        r.output.display(),
                        r.samples,
                        r.videos,
                        r.bytes as f64 / 1e6,
                        if r.skipped.is_empty() {
                            String::new()
                        } else {
                            format!(", {} skipped", r.skipped.len())
                        }
                    ),
                );
                for (p, why) in &r.skipped {
                    ui.weak(format!("skipped {}: {why}", p.display()));
                }
            }
            Some(Err(e)) => {
                ui.colored_label(Color32::from_rgb(230, 120, 90), e);
            }
            None => {}
        }
    }
}
