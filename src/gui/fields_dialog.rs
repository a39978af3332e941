//! "Compare fields": the three fields built from a sample of the user's videos and measured
//! (`vdx::quality::field_compare`, the same as `vdx compare-fields`), as a background job with
//! progress and Cancel; the result as a table and a size / quality chart.

use super::jobs::{Job, Progress};
use crate::quality::field_compare::{self, parse_list, FieldCompareOptions, VariantResult};
use egui::Color32;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The window's state.
pub struct FieldsDialog {
    pub open: bool,
    pub inputs: Vec<PathBuf>,
    /// Comma-separated settings, as on the command line.
    pub qualities: String,
    pub crfs: String,
    pub keyints: String,
    pub flow_scales: String,
    pub opts: FieldCompareOptions,
    job: Option<Job<Vec<VariantResult>>>,
    pub progress: Progress,
    step: Arc<Mutex<String>>,
    pub result: Option<Result<Vec<VariantResult>, String>>,
}

impl Default for FieldsDialog {
    fn default() -> Self {
        let opts = FieldCompareOptions::default();
        let join = |v: Vec<String>| v.join(",");
        FieldsDialog {
            open: false,
            inputs: Vec::new(),
            qualities: join(opts.qualities.iter().map(|v| v.to_string()).collect()),
            crfs: join(opts.crfs.iter().map(|v| v.to_string()).collect()),
            keyints: join(opts.keyints.iter().map(|v| v.to_string()).collect()),
            flow_scales: join(opts.flow_scales.iter().map(|v| v.to_string()).collect()),
            opts,
            job: None,
            progress: Progress::default(),
            step: Arc::new(Mutex::new(String::new())),
            result: None,
        }
    }
}

impl FieldsDialog {
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// For the jobs panel.
    pub fn status(&self) -> Option<(String, f32, std::time::Instant)> {
        let started = self.progress.started().filter(|_| self.running())?;
        let step = self.step.lock().map(|s| s.clone()).unwrap_or_default();
        Some((
            format!("compare fields: {step}"),
            self.progress.fraction(),
            started,
        ))
    }

    pub fn cancel(&self) {
        self.progress.request_cancel();
    }

    /// Start with the settings in the window.
    pub fn start(&mut self, ctx: &egui::Context) {
        let mut o = self.opts.clone();
        o.inputs = self.inputs.clone();
        let parsed = (|| {
            o.qualities = parse_list("JPEG qualities", &self.qualities)?;
            o.crfs = parse_list("CRFs", &self.crfs)?;
            o.keyints = parse_list("keyframe intervals", &self.keyints)?;
            o.flow_scales = parse_list("flow scales", &self.flow_scales)?;
            Ok::<_, crate::error::VdxError>(())
        })();
        if let Err(e) = parsed {
            self.result = Some(Err(e.to_string()));
            return;
        }
        self.result = None;
        self.progress.begin();
        self.progress
            .total
            .store(field_compare::variants(&o).len() * 2, Ordering::Relaxed);
        let (done, cancel, step, c) = (
            self.progress.done.clone(),
            self.progress.cancel.clone(),
            self.step.clone(),
            ctx.clone(),
        );
        self.job = Some(Job::spawn_long(ctx, move || {
            field_compare::compare_fields(&o, &cancel, &|d, _, what| {
                done.store(d, Ordering::Relaxed);
                if let Ok(mut s) = step.lock() {
                    *s = what.to_string();
                }
                c.request_repaint();
            })
            .map_err(|e| e.to_string())
        }));
    }

    pub fn show(&mut self, ctx: &egui::Context) {
        if let Some(r) = self.job.as_ref().and_then(|j| j.poll()) {
            self.job = None;
            self.result = Some(r);
        }
        let mut open = self.open;
        egui::Window::new("Compare fields")
            .open(&mut open)
            .default_width(760.0)
            .show(ctx, |ui| self.body(ui));
        self.open = open;
    }

    fn body(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        super::build_dialog::inputs_row(ui, &mut self.inputs);
        let text = |ui: &mut egui::Ui, label: &str, v: &mut String| {
            let l = ui.add_sized([120.0, 20.0], egui::Label::new(label));
            ui.add(egui::TextEdit::singleline(v).desired_width(130.0))
                .labelled_by(l.id);
        };
        ui.horizontal(|ui| {
            text(ui, "JPEG qualities", &mut self.qualities);
            text(ui, "CRFs", &mut self.crfs);
        });
        ui.horizontal(|ui| {
            text(ui, "keyframe intervals", &mut self.keyints);
            text(ui, "flow scales", &mut self.flow_scales);
        });
        ui.horizontal(|ui| {
            let l = ui.add_sized([120.0, 20.0], egui::Label::new("videos (at most)"));
            ui.add(egui::DragValue::new(&mut self.opts.max_videos).range(1..=1000))
                .labelled_by(l.id);
            let l = ui.add_sized([120.0, 20.0], egui::Label::new("clips per video"));
            ui.add(egui::DragValue::new(&mut self.opts.base.sampler.num_clips).range(1..=64))
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            if self.running() {
                ui.add(
                    egui::ProgressBar::new(self.progress.fraction())
                        .desired_width(260.0)
                        .text(self.step.lock().map(|s| s.clone()).unwrap_or_default()),
                );
                if ui.button("Cancel").clicked() {
                    self.cancel();
                }
            } else if ui
                .add_enabled(!self.inputs.is_empty(), egui::Button::new("Compare"))
                .on_disabled_hover_text("add videos first")
                .clicked()
            {
                self.start(&ctx);
            }
        });
        match &self.result {
            Some(Ok(rows)) => results_ui(ui, rows),
            Some(Err(e)) => {
                ui.colored_label(Color32::from_rgb(230, 120, 90), e);
            }
            None => {}
        }
    }
}

fn field_color(field: &str) -> Color32 {
    match field {
        "frames" => Color32::from_rgb(86, 156, 214),
        "segments" => Color32::from_rgb(230, 160, 60),
        _ => Color32::from_rgb(106, 190, 120),
    }
}

/// The table and the size / quality chart.
pub fn results_ui(ui: &mut egui::Ui, rows: &[VariantResult]) {
    ui.separator();
    egui::Grid::new("fields_table")
        .striped(true)
        .num_columns(8)
        .show(ui, |ui| {
            for h in [
                "variant",
                "kB / clip",
                "build s",
                "read ms / clip (seq, shuffled)",
                "1 random frame ms",
                "PSNR dB",
                "SSIM",
                "EPE px",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for r in rows {
                ui.colored_label(field_color(&r.field), &r.name);
                ui.label(format!("{:.1}", r.bytes_per_clip / 1e3));
                ui.label(format!("{:.2}", r.build_secs));
                ui.label(format!(
                    "{:.2}, {:.2}",
                    r.read_sequential_ms, r.read_random_ms
                ));
                ui.label(format!("{:.2}", r.random_frame_ms));
                ui.label(r.psnr.map_or("identical".into(), |p| format!("{p:.2}")));
                ui.label(format!("{:.4}", r.ssim));
                ui.label(r.epe.map_or("-".into(), |e| format!("{e:.3}")));
                ui.end_row();
            }
        });
    ui.weak("Chart: bytes per clip against PSNR; a point's label gives its read time per clip.");
    egui_plot::Plot::new("fields_chart")
        .height(240.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .x_axis_label("kB per clip (log scale)")
        .y_axis_label("PSNR dB")
        .x_axis_formatter(|m, _| format!("{:.0}", 10f64.powf(m.value)))
        .include_x(
            rows.iter()
                .map(|r| (r.bytes_per_clip / 1e3).log10())
                .fold(0.0, f64::max)
                + 0.35,
        )
        .legend(egui_plot::Legend::default().position(egui_plot::Corner::RightBottom))
        .show(ui, |p| {
            for field in ["frames", "segments", "flow"] {
                let pts: Vec<[f64; 2]> = rows
                    .iter()
                    .filter(|r| r.field == field)
                    .filter_map(|r| r.psnr.map(|q| [(r.bytes_per_clip / 1e3).log10(), q]))
                    .collect();
                if pts.is_empty() {
                    continue;
                }
                p.points(
                    egui_plot::Points::new(field, pts)
                        .radius(5.0)
                        .color(field_color(field)),
                );
            }
            for (k, r) in rows.iter().enumerate() {
                if let Some(q) = r.psnr {
                    // Neighbouring variants often land close: alternate above and below.
                    let anchor = if k % 2 == 0 {
                        egui::Align2::LEFT_BOTTOM
                    } else {
                        egui::Align2::LEFT_TOP
                    };
                    p.text(
                        egui_plot::Text::new(
                            "",
                            egui_plot::PlotPoint::new((r.bytes_per_clip / 1e3).log10(), q),
                            format!("  {} · {:.1} ms", r.name, r.read_sequential_ms),
                        )
                        .anchor(anchor)
                        .color(Color32::from_gray(200)),
                    );
                }
            }
        });
}
