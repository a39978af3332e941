//! Source against stored, in the dataset view: the stored frame beside the exact source frame
//! it came from (wipe, blink, amplified difference), per-frame PSNR and SSIM over the clip,
//! for flow the stored int8 flow against fresh Farneback flow (EPE map and histogram); and
//! the dataset-wide quality pass as a background job listing the worst samples.
//!
//! The numbers are `vdx::quality`'s, the same as `vdx quality --sample I --json`.

use super::jobs::{Job, Progress};
use crate::dataset::Dataset;
use crate::quality::{self, Comparison, PassOptions, QualityReport, SourceFinder};
use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How the two pictures are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareMode {
    /// Stored on the left of a split line, source on the right.
    Wipe,
    /// One at a time, switching every half second (or by hand).
    Blink,
    /// |stored - source| × gain.
    Difference,
}

/// A comparison with its pictures on the GPU.
pub struct ShownComparison {
    pub c: Comparison,
    stored: Vec<egui::TextureHandle>,
    source: Vec<egui::TextureHandle>,
    /// (frame, gain) the difference texture is for.
    diff: Option<((usize, u32), egui::TextureHandle)>,
    /// (pair) the EPE map texture is for, with the map's largest value.
    /// The EPE view of one flow pair (made when the pair changes, not every frame).
    epe: Option<EpeView>,
}

/// One flow pair's end-point errors as shown: the heat map, its scale, and the histogram.
struct EpeView {
    pair: usize,
    map: egui::TextureHandle,
    /// Where the map and the histogram saturate (the 99th percentile), and the largest error.
    top: f32,
    max: f32,
    /// log10(1 + pixels) per bin of `top / bins` px; the last bin holds everything beyond.
    counts: Vec<f64>,
}

impl EpeView {
    const BINS: usize = 24;

    fn new(
        ctx: &egui::Context,
        pair: usize,
        w: usize,
        h: usize,
        stored: &[f32],
        fresh: &[f32],
    ) -> Self {
        let map = quality::metrics::epe_map(stored, fresh);
        let max = map.iter().copied().fold(0.0f32, f32::max);
        let top = {
            let mut v = map.clone();
            let k =
                (((v.len() as f64 - 1.0) * 0.99).round() as usize).min(v.len().saturating_sub(1));
            if !v.is_empty() {
                v.select_nth_unstable_by(k, f32::total_cmp);
            }
            v.get(k).copied().unwrap_or(0.0).max(1e-3)
        };
        let mut counts = vec![0f64; Self::BINS];
        for &e in &map {
            counts[((e / top * Self::BINS as f32) as usize).min(Self::BINS - 1)] += 1.0;
        }
        // log10(1 + pixels): the few large errors stay visible beside the many small ones.
        for c in counts.iter_mut() {
            *c = (1.0 + *c).log10();
        }
        EpeView {
            pair,
            map: texture(ctx, "q-epe".into(), w, h, &epe_image(&map, top)),
            top,
            max,
            counts,
        }
    }
}

/// The comparison view's and the quality pass's state (one per open dataset).
pub struct QualityPanel {
    /// Folder the source videos moved to ("" = their recorded paths).
    pub sources: String,
    job: Option<Job<Comparison>>,
    job_for: Option<(u64, String)>,
    pub shown: Option<ShownComparison>,
    pub error: Option<String>,
    /// The frame of the clip on screen (index into the measured frames).
    pub frame: usize,
    /// Flow: the consecutive pair whose EPE map is shown.
    pub pair: usize,
    pub mode: CompareMode,
    /// Wipe position, 0 (all source) to 1 (all stored).
    pub wipe: f32,
    pub blink_auto: bool,
    pub blink_source: bool,
    last_blink: f64,
    pub gain: u32,
    /// What the last frame painted: (which picture, its uv rectangle).
    pub painted: Vec<(&'static str, Rect)>,
    pass_job: Option<Job<QualityReport>>,
    pub pass_progress: Progress,
    pub report: Option<Result<Arc<QualityReport>, String>>,
}

impl Default for QualityPanel {
    fn default() -> Self {
        QualityPanel {
            sources: String::new(),
            job: None,
            job_for: None,
            shown: None,
            error: None,
            frame: 0,
            pair: 0,
            mode: CompareMode::Wipe,
            wipe: 0.5,
            blink_auto: true,
            blink_source: false,
            last_blink: 0.0,
            gain: 8,
            painted: Vec::new(),
            pass_job: None,
            pass_progress: Progress::default(),
            report: None,
        }
    }
}

fn finder(sources: &str) -> SourceFinder {
    let s = sources.trim();
    SourceFinder::new((!s.is_empty()).then(|| PathBuf::from(s)))
}

fn texture(
    ctx: &egui::Context,
    name: String,
    w: usize,
    h: usize,
    rgb: &[u8],
) -> egui::TextureHandle {
    ctx.load_texture(
        name,
        egui::ColorImage::from_rgb([w, h], rgb),
        egui::TextureOptions::NEAREST,
    )
}

/// An EPE map as a heat image (black to yellow, saturating at `max` px; square-root scale, so
/// the small rounding errors show beside large ones).
fn epe_image(map: &[f32], max: f32) -> Vec<u8> {
    let m = max.max(1e-6);
    map.iter()
        .flat_map(|&e| {
            let t = (e / m).clamp(0.0, 1.0).sqrt();
            [
                (255.0 * (t * 2.0).min(1.0)) as u8,
                (255.0 * (t * 2.0 - 1.0).max(0.0)) as u8,
                (60.0 * (1.0 - t)) as u8,
            ]
        })
        .collect()
}

impl QualityPanel {
    /// Measure sample `i` (again, if the sources folder changed).
    pub fn request(&mut self, ds: &Arc<Dataset>, i: u64, ctx: &egui::Context) {
        let key = (i, self.sources.clone());
        if self.job_for.as_ref() == Some(&key) {
            return;
        }
        self.job_for = Some(key);
        self.error = None;
        let (ds, f) = (ds.clone(), finder(&self.sources));
        self.job = Some(Job::spawn(ctx, move || {
            quality::compare_sample(&ds, i, &f).map_err(|e| e.to_string())
        }));
    }

    pub fn measuring(&self) -> bool {
        self.job.is_some()
    }

    /// Start the dataset-wide pass.
    pub fn start_pass(&mut self, ds: &Arc<Dataset>, ctx: &egui::Context) {
        self.pass_progress.begin();
        self.pass_progress
            .total
            .store(ds.len() as usize, Ordering::Relaxed);
        self.report = None;
        let (ds, c) = (ds.clone(), ctx.clone());
        let (done, cancel) = (
            self.pass_progress.done.clone(),
            self.pass_progress.cancel.clone(),
        );
        let opts = PassOptions {
            sources: finder(&self.sources).dir,
            threads: 0,
            decode_only: false,
        };
        self.pass_job = Some(Job::spawn_long(ctx, move || {
            let last = std::sync::Mutex::new(std::time::Instant::now());
            quality::quality_pass(&ds, &opts, &cancel, &|d, _| {
                done.store(d, Ordering::Relaxed);
                // At most ~20 repaints a second from the pass.
                let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
                if l.elapsed().as_millis() >= 50 {
                    *l = std::time::Instant::now();
                    c.request_repaint();
                }
            })
            .map_err(|e| e.to_string())
        }));
    }

    pub fn passing(&self) -> bool {
        self.pass_job.is_some()
    }

    /// Take finished work.
    pub fn poll(&mut self, ctx: &egui::Context) {
        if let Some(r) = self.job.as_ref().and_then(|j| j.poll()) {
            self.job = None;
            match r {
                Ok(c) => {
                    let (w, h) = (c.width, c.height);
                    let stored = c
                        .stored
                        .iter()
                        .enumerate()
                        .map(|(k, p)| texture(ctx, format!("q-stored-{k}"), w, h, p))
                        .collect();
                    let source = c
                        .reference
                        .iter()
                        .enumerate()
                        .map(|(k, p)| texture(ctx, format!("q-source-{k}"), w, h, p))
                        .collect();
                    self.frame = self.frame.min(c.stored.len().saturating_sub(1));
                    self.shown = Some(ShownComparison {
                        c,
                        stored,
                        source,
                        diff: None,
                        epe: None,
                    });
                }
                Err(e) => {
                    self.shown = None;
                    self.error = Some(e);
                }
            }
        }
        if let Some(r) = self.pass_job.as_ref().and_then(|j| j.poll()) {
            self.pass_job = None;
            self.report = Some(r.map(Arc::new));
        }
    }

    /// The pass's controls and result: progress with Cancel, then the worst samples.
    /// Returns a sample the user clicked.
    pub fn pass_ui(&mut self, ui: &mut egui::Ui, ds: &Arc<Dataset>) -> Option<u64> {
        let mut open = None;
        ui.horizontal(|ui| {
            if self.passing() {
                let (d, n) = self.pass_progress.counts();
                ui.add(
                    egui::ProgressBar::new(d as f32 / n as f32)
                        .desired_width(240.0)
                        .text(format!("measuring {d}/{n}")),
                );
                if ui.button("Cancel quality pass").clicked() {
                    self.pass_progress.request_cancel();
                }
            } else if ui
                .button("Quality pass")
                .on_hover_text("every sample against its source: PSNR, SSIM (flow: EPE)")
                .clicked()
            {
                self.start_pass(ds, ui.ctx());
            }
            let l = ui.label("sources");
            ui.add(
                egui::TextEdit::singleline(&mut self.sources)
                    .desired_width(220.0)
                    .hint_text("recorded paths, or the folder they moved to"),
            )
            .labelled_by(l.id);
            if ui
                .button("Folder…")
                .on_hover_text("the folder the source videos moved to")
                .clicked()
            {
                if let Some(d) = rfd::FileDialog::new().pick_folder() {
                    self.sources = d.display().to_string();
                }
            }
        });
        match &self.report {
            Some(Ok(r)) => {
                let s = r.summary();
                let head = match (s["epe_mean"].as_f64(), s["psnr_mean"].as_f64()) {
                    (Some(e), _) => format!(
                        "{} samples measured: flow EPE mean {e:.3} px; keyframes PSNR mean {}",
                        r.samples.len(),
                        s["psnr_mean"]
                            .as_f64()
                            .map_or("—".into(), quality::metrics::db_text)
                    ),
                    (None, Some(p)) => format!(
                        "{} samples measured: PSNR mean {p:.2} dB, SSIM mean {:.4}",
                        r.samples.len(),
                        s["ssim_mean"].as_f64().unwrap_or(f64::NAN)
                    ),
                    _ => format!("{} samples measured", r.samples.len()),
                };
                ui.label(head);
                if !r.unmeasured.is_empty() {
                    ui.colored_label(
                        Color32::from_rgb(230, 120, 90),
                        format!(
                            "{} not measured; first: {}",
                            r.unmeasured.len(),
                            r.unmeasured[0].reason
                        ),
                    );
                }
                ui.horizontal_wrapped(|ui| {
                    ui.weak("worst:");
                    for q in r.worst(10) {
                        let text = match q.epe_mean {
                            Some(e) => format!("#{} · EPE {e:.3}", q.index),
                            None => {
                                format!("#{} · {}", q.index, quality::metrics::db_text(q.psnr_mean))
                            }
                        };
                        if ui.button(text).clicked() {
                            open = Some(q.index);
                        }
                    }
                });
            }
            Some(Err(e)) => {
                ui.colored_label(
                    Color32::from_rgb(230, 120, 90),
                    format!("quality pass: {e}"),
                );
            }
            None => {}
        }
        open
    }

    /// The comparison of the selected sample: the view's controls, the frame's numbers, the
    /// picture, PSNR and SSIM per frame, and for flow the EPE view.
    pub fn compare_ui(&mut self, ui: &mut egui::Ui) {
        self.painted.clear();
        if self.measuring() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("decoding the source frames…");
            });
        }
        if let Some(e) = &self.error {
            ui.colored_label(Color32::from_rgb(230, 120, 90), e);
            ui.weak("Type the folder the sources moved to in 'sources' above.");
            return;
        }
        let Some(sh) = self.shown.as_ref() else {
            return;
        };
        let n = sh.c.quality.frames.len();
        if n == 0 {
            return;
        }
        self.frame = self.frame.min(n - 1);
        let fq = sh.c.quality.frames[self.frame];
        self.controls(ui, n);
        ui.label(format!(
            "position {} · source frame {} · PSNR {} · SSIM {:.4}{}",
            fq.position,
            fq.source_frame,
            quality::metrics::db_text(fq.psnr),
            fq.ssim,
            if fq.damaged {
                " · damaged (a stand-in)"
            } else {
                ""
            }
        ));
        self.picture(ui);
        let Some(sh) = self.shown.as_mut() else {
            return;
        };
        let q = &sh.c.quality;
        quality_plots(ui, q, fq.position as f64);
        ui.label(format!(
            "clip: PSNR {} (lowest frame {}), SSIM {:.4} (lowest {:.4})",
            quality::metrics::db_text(q.psnr_mean),
            quality::metrics::db_text(q.psnr_min),
            q.ssim_mean,
            q.ssim_min
        ));
        if let Some((stored, fresh)) = &sh.c.flow {
            flow_ui(
                ui,
                sh.c.width,
                sh.c.height,
                &q.flow_epe,
                stored,
                fresh,
                &mut sh.epe,
                &mut self.pair,
            );
        }
    }

    /// The mode, the frame slider and the mode's own setting (wipe position, blink, gain);
    /// blinking switches every half second.
    fn controls(&mut self, ui: &mut egui::Ui, n: usize) {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.mode, CompareMode::Wipe, "Wipe");
            ui.selectable_value(&mut self.mode, CompareMode::Blink, "Blink");
            ui.selectable_value(&mut self.mode, CompareMode::Difference, "Difference");
            ui.separator();
            let l = ui.label("frame");
            ui.add(egui::Slider::new(&mut self.frame, 0..=n - 1))
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| match self.mode {
            CompareMode::Wipe => {
                let l = ui.label("wipe");
                ui.add(egui::Slider::new(&mut self.wipe, 0.0..=1.0).show_value(false))
                    .labelled_by(l.id);
                ui.weak(format!(
                    "stored left of the line ({:.0}%), source right",
                    self.wipe * 100.0
                ));
            }
            CompareMode::Blink => {
                ui.checkbox(&mut self.blink_auto, "every 0.5 s");
                if ui.button("Switch").clicked() {
                    self.blink_source = !self.blink_source;
                }
                ui.strong(if self.blink_source {
                    "showing source"
                } else {
                    "showing stored"
                });
            }
            CompareMode::Difference => {
                let l = ui.label("gain");
                ui.add(egui::Slider::new(&mut self.gain, 1..=64).suffix("×"))
                    .labelled_by(l.id);
                ui.weak("|stored - source| × gain");
            }
        });
        if self.mode == CompareMode::Blink && self.blink_auto {
            let now = ui.input(|i| i.time);
            if now - self.last_blink >= 0.5 {
                self.last_blink = now;
                self.blink_source = !self.blink_source;
            }
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// The picture of the frame in the chosen mode, as large as fits beside the plots; what
    /// was painted where is kept in `painted` (the tests read it).
    fn picture(&mut self, ui: &mut egui::Ui) {
        let Some(sh) = self.shown.as_mut() else {
            return;
        };
        let (w, h) = (sh.c.width as f32, sh.c.height as f32);
        // Leave room below for the plots (and the flow panel).
        let room = (ui.available_height() - if sh.c.flow.is_some() { 420.0 } else { 190.0 })
            .clamp(160.0, 480.0);
        let side = (ui.available_width() * 0.55).clamp(160.0, 640.0);
        let scale = (side / w).min(room / h).max(0.1);
        let (rect, _) = ui.allocate_exact_size(Vec2::new(w * scale, h * scale), Sense::hover());
        let full = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
        let painter = ui.painter_at(rect);
        let (st, so) = (&sh.stored[self.frame], &sh.source[self.frame]);
        match self.mode {
            CompareMode::Wipe => {
                let x = rect.left() + rect.width() * self.wipe;
                let uv_s = Rect::from_min_max(Pos2::ZERO, Pos2::new(self.wipe, 1.0));
                let uv_r = Rect::from_min_max(Pos2::new(self.wipe, 0.0), Pos2::new(1.0, 1.0));
                let left = Rect::from_min_max(rect.min, Pos2::new(x, rect.bottom()));
                let right = Rect::from_min_max(Pos2::new(x, rect.top()), rect.max);
                painter.image(st.id(), left, uv_s, Color32::WHITE);
                painter.image(so.id(), right, uv_r, Color32::WHITE);
                painter.line_segment(
                    [Pos2::new(x, rect.top()), Pos2::new(x, rect.bottom())],
                    Stroke::new(1.5, Color32::from_rgb(255, 220, 80)),
                );
                self.painted.push(("stored", uv_s));
                self.painted.push(("source", uv_r));
            }
            CompareMode::Blink => {
                let (t, which) = if self.blink_source {
                    (so, "source")
                } else {
                    (st, "stored")
                };
                painter.image(t.id(), rect, full, Color32::WHITE);
                self.painted.push((which, full));
            }
            CompareMode::Difference => {
                let key = (self.frame, self.gain);
                if sh.diff.as_ref().map(|(k, _)| *k) != Some(key) {
                    let d = quality::metrics::diff_image(
                        &sh.c.stored[self.frame],
                        &sh.c.reference[self.frame],
                        self.gain,
                    );
                    let t = texture(ui.ctx(), "q-diff".into(), sh.c.width, sh.c.height, &d);
                    sh.diff = Some((key, t));
                }
                let t = &sh.diff.as_ref().expect("set above").1;
                painter.image(t.id(), rect, full, Color32::WHITE);
                self.painted.push(("difference", full));
            }
        }
    }
}

/// PSNR and SSIM per frame of the clip side by side, the shown frame marked.
fn quality_plots(ui: &mut egui::Ui, q: &quality::SampleQuality, marker: f64) {
    let psnr: Vec<[f64; 2]> = q
        .frames
        .iter()
        .filter(|f| f.psnr.is_finite())
        .map(|f| [f.position as f64, f.psnr])
        .collect();
    let ssim: Vec<[f64; 2]> = q
        .frames
        .iter()
        .map(|f| [f.position as f64, f.ssim])
        .collect();
    ui.horizontal(|ui| {
        let pw = (ui.available_width() / 2.0 - 8.0).max(160.0);
        for (name, pts, color) in [
            ("PSNR (dB)", psnr, Color32::from_rgb(86, 156, 214)),
            ("SSIM", ssim, Color32::from_rgb(106, 190, 120)),
        ] {
            ui.vertical(|ui| {
                ui.set_width(pw);
                ui.weak(format!("{name} per frame"));
                egui_plot::Plot::new(name)
                    .height(120.0)
                    .width(pw)
                    .allow_zoom(false)
                    .allow_drag(false)
                    .allow_scroll(false)
                    .x_axis_label("clip position")
                    .show(ui, |p| {
                        p.line(
                            egui_plot::Line::new(name, pts.clone())
                                .color(color)
                                .width(2.0),
                        );
                        p.points(egui_plot::Points::new(name, pts).radius(3.0).color(color));
                        p.vline(egui_plot::VLine::new("frame", marker).color(Color32::GRAY));
                    });
            });
        }
    });
}

/// Flow: stored int8 flow against fresh Farneback flow: EPE per pair, the map of the chosen
/// pair and its EPE histogram. Map and histogram saturate at the pair's 99th percentile (a
/// few clipped pixels would otherwise leave the rest black); the largest value is printed.
#[allow(clippy::too_many_arguments)]
fn flow_ui(
    ui: &mut egui::Ui,
    w: usize,
    h: usize,
    per_pair: &[f64],
    stored: &[f32],
    fresh: &[f32],
    cache: &mut Option<EpeView>,
    pair: &mut usize,
) {
    if per_pair.is_empty() {
        return;
    }
    ui.separator();
    *pair = (*pair).min(per_pair.len() - 1);
    ui.horizontal(|ui| {
        let l = ui.label("flow pair");
        ui.add(egui::Slider::new(pair, 0..=per_pair.len() - 1))
            .labelled_by(l.id);
    });
    let pair = *pair;
    let n = w * h * 2;
    if cache.as_ref().map(|c| c.pair) != Some(pair) {
        *cache = Some(EpeView::new(
            ui.ctx(),
            pair,
            w,
            h,
            &stored[pair * n..(pair + 1) * n],
            &fresh[pair * n..(pair + 1) * n],
        ));
    }
    let v = cache.as_ref().expect("set above");
    let (top, max) = (v.top, v.max);
    ui.label(format!(
        "flow {pair} to {}: stored int8 against fresh Farneback, EPE {:.4} px; map black 0 to yellow {top:.3} px, square-root scale (99th percentile; largest {max:.3} px)",
        pair + 1,
        per_pair[pair]
    ));
    ui.horizontal(|ui| {
        let s = (200.0 / h as f32).min(1.5 * 200.0 / w as f32);
        ui.add(egui::Image::new((
            v.map.id(),
            Vec2::new(w as f32 * s, h as f32 * s),
        )));
        let bins = EpeView::BINS;
        let counts = &v.counts;
        let bw = top as f64 / bins as f64;
        let bars: Vec<egui_plot::Bar> = counts
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                egui_plot::Bar::new((k as f64 + 0.5) * bw, c)
                    .width(bw * 0.9)
                    .fill(Color32::from_rgb(230, 160, 60))
            })
            .collect();
        let pts: Vec<[f64; 2]> = per_pair
            .iter()
            .enumerate()
            .map(|(k, &e)| [k as f64, e])
            .collect();
        ui.vertical(|ui| {
            egui_plot::Plot::new("epe_hist")
                .height(95.0)
                .width(260.0)
                .allow_zoom(false)
                .allow_drag(false)
                .x_axis_label("EPE (px; last bar: beyond)")
                .y_axis_label("log10 pixels")
                .show(ui, |p| {
                    p.bar_chart(egui_plot::BarChart::new("pixels", bars))
                });
            egui_plot::Plot::new("epe_pairs")
                .height(95.0)
                .width(260.0)
                .allow_zoom(false)
                .allow_drag(false)
                .x_axis_label("pair")
                .show(ui, |p| {
                    p.line(egui_plot::Line::new("EPE", pts).width(2.0));
                    p.vline(egui_plot::VLine::new("pair", pair as f64).color(Color32::GRAY));
                });
        });
    });
}
