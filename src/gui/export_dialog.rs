//! The export dialog: format, subset and options for the open dataset; the export runs as a
//! background job with progress and Cancel.

use super::jobs::{Job, Progress};
use crate::export::{ExportOptions, ExportReport, Format, Subset};
use egui::Color32;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// The dialog's state.
pub struct ExportDialog {
    pub open: bool,
    pub dataset: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub format: Format,
    pub range: (u64, u64),
    pub use_range: bool,
    pub random: usize,
    pub split: f64,
    pub use_split: bool,
    pub float: bool,
    /// npy: apply the augmentation preview's recipe.
    pub apply_recipe: bool,
    pub png: bool,
    pub shard_size: usize,
    pub seed: u64,
    /// Leave out (and list) samples that cannot be exported instead of stopping.
    pub keep_going: bool,
    job: Option<Job<ExportReport>>,
    progress: Progress,
    pub result: Option<Result<ExportReport, String>>,
}

impl Default for ExportDialog {
    fn default() -> Self {
        ExportDialog {
            open: false,
            dataset: None,
            out: None,
            format: Format::Npy,
            range: (0, 0),
            use_range: false,
            random: 0,
            split: 0.8,
            use_split: false,
            float: false,
            apply_recipe: false,
            png: false,
            shard_size: 256,
            seed: 0,
            keep_going: true,
            job: None,
            progress: Progress::default(),
            result: None,
        }
    }
}

impl ExportDialog {
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// For the jobs panel: what is running, the fraction done and when it started.
    pub fn status(&self) -> Option<(String, f32, std::time::Instant)> {
        let started = self.progress.started().filter(|_| self.running())?;
        let (done, total) = self.progress.counts();
        Some((
            format!("export: {done}/{total} samples"),
            self.progress.fraction(),
            started,
        ))
    }

    pub fn cancel(&self) {
        self.progress.request_cancel();
    }

    /// The export options the dialog describes.
    pub fn options(&self, recipe: Option<crate::augment::Recipe>) -> ExportOptions {
        ExportOptions {
            format: self.format,
            subset: Subset {
                range: self.use_range.then_some(self.range),
                random: (self.random > 0).then_some((self.random, self.seed)),
                split: self.use_split.then_some((self.split, self.seed)),
                ..Default::default()
            },
            image_ext: if self.png { "png" } else { "jpg" }.into(),
            float: self.float,
            recipe,
            shard_size: self.shard_size.max(1),
            keep_going: self.keep_going,
            ..Default::default()
        }
    }

    /// Start exporting.
    pub fn start(&mut self, ctx: &egui::Context, recipe: Option<crate::augment::Recipe>) {
        let (Some(ds), Some(out)) = (self.dataset.clone(), self.out.clone()) else {
            self.result = Some(Err("choose a dataset and an output folder".into()));
            return;
        };
        let opts = self.options(recipe);
        self.result = None;
        self.progress.begin();
        let (done, total, cancel, c) = (
            self.progress.done.clone(),
            self.progress.total.clone(),
            self.progress.cancel.clone(),
            ctx.clone(),
        );
        self.job = Some(Job::spawn_long(ctx, move || {
            crate::export::export(&ds, &opts, &out, &cancel, &|d, n| {
                done.store(d, Ordering::Relaxed);
                total.store(n, Ordering::Relaxed);
                c.request_repaint();
            })
            .map_err(|e| e.to_string())
        }));
    }

    /// Show the dialog. `recipe` is the preview's recipe, applied to npy exports when asked.
    pub fn show(&mut self, ctx: &egui::Context, recipe: &crate::augment::Recipe) {
        if let Some(r) = self.job.as_ref().and_then(|j| j.poll()) {
            self.job = None;
            self.result = Some(r);
        }
        let mut open = self.open;
        egui::Window::new("Export dataset")
            .open(&mut open)
            .default_width(440.0)
            .show(ctx, |ui| self.body(ui, recipe));
        self.open = open;
    }

    /// The dialog: dataset, format, selection, the format's options, output, then Export (or
    /// the running export's progress) and the result.
    fn body(&mut self, ui: &mut egui::Ui, recipe: &crate::augment::Recipe) {
        let ctx = ui.ctx().clone();
        ui.label(
            self.dataset
                .as_ref()
                .map_or("(open a dataset first)".into(), |p| p.display().to_string()),
        );
        ui.horizontal(|ui| {
            for (f, name) in [
                (Format::Folders, "frame folders"),
                (Format::Npy, "npy"),
                (Format::Mp4, "mp4"),
                (Format::Wds, "WebDataset"),
                (Format::Audio, "audio"),
            ] {
                ui.selectable_value(&mut self.format, f, name);
            }
        });
        self.selection(ui);
        match self.format {
            Format::Folders => {
                ui.checkbox(&mut self.png, "PNG instead of JPEG");
            }
            Format::Npy => {
                ui.checkbox(&mut self.float, "float32 in [0, 1]");
                ui.checkbox(
                    &mut self.apply_recipe,
                    format!("apply the preview's recipe ({})", recipe.name),
                );
            }
            _ => {}
        }
        if !matches!(self.format, Format::Npy) {
            ui.checkbox(
                &mut self.keep_going,
                "leave out samples that fail (listed) instead of stopping",
            );
        }
        if matches!(self.format, Format::Npy | Format::Wds) {
            let l = ui.label("samples per shard");
            ui.add(egui::DragValue::new(&mut self.shard_size).range(1..=100_000))
                .labelled_by(l.id);
        }
        ui.horizontal(|ui| {
            if ui.button("Output folder…").clicked() {
                if let Some(p) = rfd::FileDialog::new().save_file() {
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
                        .desired_width(260.0)
                        .text(format!("{done}/{total} samples")),
                );
                if ui.button("Cancel").clicked() {
                    self.progress.request_cancel();
                }
            });
        } else {
            let ready = self.dataset.is_some() && self.out.is_some();
            if ui.add_enabled(ready, egui::Button::new("Export")).clicked() {
                let r = (self.apply_recipe && self.format == Format::Npy).then(|| recipe.clone());
                self.start(&ctx, r);
            }
        }
        self.result_ui(ui);
    }

    /// Which samples: a range, a random subset with its seed, a train/val split.
    fn selection(&mut self, ui: &mut egui::Ui) {
        ui.checkbox(&mut self.use_range, "only samples in a range");
        if self.use_range {
            ui.horizontal(|ui| {
                let l = ui.label("from");
                ui.add(egui::DragValue::new(&mut self.range.0))
                    .labelled_by(l.id);
                let l = ui.label("to (excl.)");
                ui.add(egui::DragValue::new(&mut self.range.1))
                    .labelled_by(l.id);
            });
        }
        ui.horizontal(|ui| {
            let l = ui.label("random N (0 = all)");
            ui.add(egui::DragValue::new(&mut self.random))
                .labelled_by(l.id);
            let l = ui.label("seed");
            ui.add(egui::DragValue::new(&mut self.seed))
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.use_split, "train/val split, train share");
            ui.add_enabled(
                self.use_split,
                egui::Slider::new(&mut self.split, 0.0..=1.0),
            );
        });
    }

    /// What the last export wrote (and left out), or why it failed.
    fn result_ui(&self, ui: &mut egui::Ui) {
        match &self.result {
            Some(Ok(r)) => {
                ui.colored_label(
                    Color32::from_rgb(106, 190, 120),
                    format!(
                        "wrote {}: {} samples, {} files, {:.1} MB",
                        r.output.display(),
                        r.samples,
                        r.files,
                        r.bytes as f64 / 1e6
                    ),
                );
                for (i, why) in r.skipped.iter().take(5) {
                    ui.weak(format!("skipped sample {i}: {why}"));
                }
            }
            Some(Err(e)) => {
                ui.colored_label(Color32::from_rgb(230, 120, 90), e);
            }
            None => {}
        }
    }
}
