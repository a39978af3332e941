//! The dataset browser's health panel: runs the health pass (progress, Cancel) or reads the
//! saved report, filters and sorts the sample grid by flag and score, badges thumbnails,
//! marks the offending frames on the sample's strip and shows near-duplicate groups side by
//! side.

use crate::dataset::Dataset;
use crate::gui::jobs::{Job, Progress};
use crate::health::{self, HealthOptions, HealthReport, SampleHealth, SCORES};
use egui::{Color32, Vec2};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A flag's colour and its short name on a thumbnail.
pub fn flag_style(flag: &str) -> (Color32, &'static str) {
    match flag {
        "black" => (Color32::from_gray(150), "blk"),
        "blank" => (Color32::from_gray(200), "blank"),
        "dark" => (Color32::from_rgb(110, 110, 190), "dark"),
        "overexposed" => (Color32::from_rgb(250, 240, 160), "over"),
        "frozen" => (Color32::from_rgb(100, 180, 250), "frz"),
        "static" => (Color32::from_rgb(140, 200, 220), "still"),
        "cut" => (Color32::from_rgb(240, 90, 80), "cut"),
        "letterbox" | "pillarbox" => (Color32::from_rgb(200, 160, 100), "bars"),
        "blurry" => (Color32::from_rgb(190, 150, 220), "blur"),
        _ => (Color32::from_rgb(250, 170, 60), "dup"),
    }
}

/// A picture's mark under the strip: its colour and word.
pub type Mark = Option<(Color32, String)>;

#[derive(Default)]
pub struct HealthPanel {
    pub report: Option<Arc<HealthReport>>,
    /// Why there is no report (a stale or unreadable sidecar, a failed pass).
    pub note: Option<String>,
    load_job: Option<Job<Option<HealthReport>>>,
    /// The pass's report, and why it could not be saved where that failed.
    pass_job: Option<Job<(HealthReport, Option<String>)>>,
    pub progress: Progress,
    /// Show samples with any of these flags; empty shows all.
    pub filter: BTreeSet<String>,
    /// Order the grid by this score (and lowest first when the flag is set).
    pub sort: Option<(String, bool)>,
    /// Changes whenever what the grid shows changes (report, filter, sort).
    pub generation: u64,
}

impl HealthPanel {
    /// Read the saved report of `ds` in the background (none, or refused when stale).
    pub fn load(&mut self, ds: &Arc<Dataset>, ctx: &egui::Context) {
        let ds = ds.clone();
        self.load_job = Some(Job::spawn(ctx, move || {
            health::sidecar::load(&ds).map_err(|e| e.to_string())
        }));
    }

    pub fn passing(&self) -> bool {
        self.pass_job.is_some()
    }

    /// Run the pass over every sample (saved beside the dataset when done), with the
    /// thresholds of the report shown (set by `vdx health --threshold` or Python), else the
    /// defaults.
    pub fn start_pass(&mut self, ds: &Arc<Dataset>, ctx: &egui::Context) {
        let opts = HealthOptions {
            threads: 0,
            thresholds: self
                .report
                .as_ref()
                .map(|r| r.thresholds.clone())
                .unwrap_or_default(),
        };
        self.progress.begin();
        self.progress
            .total
            .store(ds.len() as usize, Ordering::Relaxed);
        let (ds, c) = (ds.clone(), ctx.clone());
        let (done, cancel) = (self.progress.done.clone(), self.progress.cancel.clone());
        self.pass_job = Some(Job::spawn_long(ctx, move || {
            let last = std::sync::Mutex::new(std::time::Instant::now());
            let r = health::health_pass(&ds, &opts, &cancel, &|d, _| {
                done.store(d, Ordering::Relaxed);
                let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
                if l.elapsed().as_millis() >= 50 {
                    *l = std::time::Instant::now();
                    c.request_repaint();
                }
            })
            .map_err(|e| e.to_string())?;
            // A report that cannot be saved (a read-only bucket, a full disk) is still shown.
            let unsaved = health::sidecar::save(&r)
                .err()
                .map(|e| format!("the report is shown but was not saved: {e}"));
            Ok((r, unsaved))
        }));
    }

    pub fn poll(&mut self) {
        if let Some(r) = self.load_job.as_ref().and_then(|j| j.poll()) {
            self.load_job = None;
            match r {
                Ok(Some(rep)) => self.set(rep),
                Ok(None) => {}
                Err(e) => self.note = Some(e),
            }
        }
        if let Some(r) = self.pass_job.as_ref().and_then(|j| j.poll()) {
            self.pass_job = None;
            match r {
                Ok((rep, unsaved)) => {
                    self.set(rep);
                    self.note = unsaved;
                }
                Err(e) => self.note = Some(e),
            }
        }
    }

    fn set(&mut self, rep: HealthReport) {
        self.report = Some(Arc::new(rep));
        self.note = None;
        self.generation += 1;
    }

    fn sample(&self, i: u64) -> Option<&SampleHealth> {
        self.report.as_ref()?.sample(i)
    }

    /// Keep the samples with a chosen flag, then order by the chosen score.
    pub fn apply(&self, visible: &mut Vec<u64>) {
        let Some(rep) = &self.report else { return };
        if !self.filter.is_empty() {
            visible.retain(|&i| {
                rep.sample(i)
                    .is_some_and(|s| s.flags.iter().any(|f| self.filter.contains(f)))
            });
        }
        if let Some((name, low_first)) = &self.sort {
            rep.order_by(visible, name, *low_first);
        }
    }

    /// The pass's controls and the flag counts (click one to show those samples).
    pub fn controls_ui(&mut self, ui: &mut egui::Ui, ds: &Arc<Dataset>) {
        ui.horizontal_wrapped(|ui| {
            if self.passing() {
                let (d, n) = self.progress.counts();
                ui.add(
                    egui::ProgressBar::new(d as f32 / n as f32)
                        .desired_width(240.0)
                        .text(format!("health {d}/{n}")),
                );
                if ui.button("Cancel health pass").clicked() {
                    self.progress.request_cancel();
                }
            } else if ui
                .button(if self.report.is_some() {
                    "Health pass again"
                } else {
                    "Health pass"
                })
                .on_hover_text(
                    "every stored sample: black, blank, dark, overexposed, frozen, static, \
                     scene cuts, bars, blurry, near-duplicates",
                )
                .clicked()
            {
                self.start_pass(ds, ui.ctx());
            }
            if let Some(n) = &self.note {
                ui.colored_label(Color32::from_rgb(230, 120, 90), n);
            }
            let Some(rep) = self.report.clone() else {
                return;
            };
            let mut changed = false;
            for (flag, n) in rep.flag_counts() {
                if n == 0 {
                    continue;
                }
                let (colour, _) = flag_style(flag);
                let on = self.filter.contains(flag);
                let text = egui::RichText::new(format!("{flag} {n}")).color(colour);
                if ui.selectable_label(on, text).clicked() {
                    if on {
                        self.filter.remove(flag);
                    } else {
                        self.filter.insert(flag.to_string());
                    }
                    changed = true;
                }
            }
            if rep.flag_counts().iter().all(|(_, n)| *n == 0) {
                ui.colored_label(Color32::from_rgb(106, 190, 120), "no sample flagged");
            }
            let l = ui.label("sort");
            let shown = match &self.sort {
                None => "dataset order".to_string(),
                Some((s, true)) => format!("{s}, lowest first"),
                Some((s, false)) => format!("{s}, highest first"),
            };
            egui::ComboBox::from_id_salt("health_sort")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    changed |= ui
                        .selectable_value(&mut self.sort, None, "dataset order")
                        .changed();
                    for s in SCORES {
                        for low in [false, true] {
                            let text =
                                format!("{s}, {} first", if low { "lowest" } else { "highest" });
                            changed |= ui
                                .selectable_value(&mut self.sort, Some((s.to_string(), low)), text)
                                .changed();
                        }
                    }
                })
                .response
                .labelled_by(l.id);
            if changed {
                self.generation += 1;
            }
        });
    }

    /// Badges on thumbnail `rect` of sample `i`: one coloured tag per flag kind.
    pub fn badge(&self, ui: &egui::Ui, rect: egui::Rect, i: u64) {
        let Some(s) = self.sample(i) else { return };
        let mut tags: Vec<(Color32, &str)> = Vec::new();
        for f in &s.flags {
            let t = flag_style(f);
            if !tags.iter().any(|(_, n)| *n == t.1) {
                tags.push(t);
            }
        }
        let p = ui.painter();
        let mut y = rect.top() + 2.0;
        for (colour, name) in tags.iter().take(4) {
            let galley = p.layout_no_wrap(
                name.to_string(),
                egui::FontId::proportional(10.0),
                Color32::BLACK,
            );
            let r = egui::Rect::from_min_size(
                egui::pos2(rect.left() + 2.0, y),
                galley.size() + Vec2::new(6.0, 2.0),
            );
            p.rect_filled(r, 3.0, *colour);
            p.galley(r.min + Vec2::new(3.0, 1.0), galley, Color32::BLACK);
            y += r.height() + 2.0;
        }
    }

    /// What to mark under each measured picture of sample `i` (clip positions), and where
    /// cuts fall: per picture a colour and a word, or none.
    pub fn marks(&self, i: u64) -> Option<(Vec<Mark>, Vec<usize>)> {
        let s = self.sample(i)?;
        let marks = s
            .positions
            .iter()
            .map(|p| {
                if s.black_frames.contains(p) {
                    Some((flag_style("black").0, "black".to_string()))
                } else if s.blank_frames.contains(p) {
                    Some((flag_style("blank").0, "blank".to_string()))
                } else if s.frozen_runs.iter().any(|r| (r[0]..=r[1]).contains(p)) {
                    Some((flag_style("frozen").0, "frozen".to_string()))
                } else if s.cuts.contains(p) {
                    Some((flag_style("cut").0, "new shot".to_string()))
                } else {
                    None
                }
            })
            .collect();
        let cuts = s
            .cuts
            .iter()
            .filter_map(|c| s.positions.iter().position(|p| p == c))
            .collect();
        Some((marks, cuts))
    }

    /// Sample `i`'s verdict in one line.
    pub fn summary_ui(&self, ui: &mut egui::Ui, i: u64) {
        let Some(s) = self.sample(i) else { return };
        ui.weak(format!("health: {}", s.summary(" · ")));
    }

    /// The near-duplicate groups; returns a sample the user clicked.
    pub fn duplicates_ui(
        &self,
        ui: &mut egui::Ui,
        thumb: &mut dyn FnMut(u64) -> Option<egui::TextureId>,
    ) -> Option<u64> {
        let rep = self.report.as_ref()?;
        if rep.duplicate_groups.is_empty() {
            return None;
        }
        let mut clicked = None;
        egui::CollapsingHeader::new(format!(
            "near-duplicates: {} groups",
            rep.duplicate_groups.len()
        ))
        .default_open(false)
        .show(ui, |ui| {
            for g in rep.duplicate_groups.iter().take(50) {
                ui.horizontal_wrapped(|ui| {
                    for &i in g {
                        let side = Vec2::splat(56.0);
                        let resp = match thumb(i) {
                            Some(t) => {
                                ui.add(egui::Image::new((t, side)).sense(egui::Sense::click()))
                            }
                            None => ui.allocate_exact_size(side, egui::Sense::click()).1,
                        };
                        let resp = resp.on_hover_text(format!("sample {i}"));
                        if resp.clicked() {
                            clicked = Some(i);
                        }
                    }
                });
                ui.separator();
            }
        });
        clicked
    }
}

/// A filmstrip with a mark under each flagged picture and a red line before each cut, in
/// rows as wide as the panel so that every picture (and so every mark) is in view.
pub fn marked_filmstrip(
    ui: &mut egui::Ui,
    tex: &[egui::TextureHandle],
    side: f32,
    marks: &[Mark],
    cuts: &[usize],
) {
    let Some(first) = tex.first() else { return };
    let sz = first.size_vec2();
    let w = sz.x * side / sz.y.max(1.0);
    let room = ui.clip_rect().width().min(ui.available_width());
    let per_row = ((room / (w + ui.spacing().item_spacing.x)).floor() as usize).max(1);
    for (row, chunk) in tex.chunks(per_row).enumerate() {
        ui.horizontal(|ui| {
            for (j, t) in chunk.iter().enumerate() {
                let k = row * per_row + j;
                ui.vertical(|ui| {
                    let r = ui.add(egui::Image::new((t.id(), Vec2::new(w, side))));
                    if cuts.contains(&k) {
                        let x = r.rect.left() - 2.0;
                        ui.painter().line_segment(
                            [egui::pos2(x, r.rect.top()), egui::pos2(x, r.rect.bottom())],
                            egui::Stroke::new(3.0, flag_style("cut").0),
                        );
                    }
                    let (bar, _) = ui.allocate_exact_size(Vec2::new(w, 12.0), egui::Sense::hover());
                    if let Some(Some((colour, word))) = marks.get(k) {
                        ui.painter().rect_filled(bar, 2.0, *colour);
                        ui.painter().text(
                            bar.center(),
                            egui::Align2::CENTER_CENTER,
                            word,
                            egui::FontId::proportional(9.0),
                            Color32::BLACK,
                        );
                    }
                });
            }
        });
    }
}
