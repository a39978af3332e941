//! The dataset browser: fields and classes, the sample list, a decoded sample (frames, or flow
//! keyframes and flow colour images), and `verify` as a cancellable job with progress.

use super::analysis::filmstrip;
use super::jobs::Job;
use crate::dataset::checks::AnnotationChecks;
use crate::dataset::{Dataset, Decoders, SampleMeta};
use egui::{Color32, Vec2};
use std::path::PathBuf;
use std::sync::Arc;

mod catalog;
pub mod health;
mod sample;
mod thumbs;
mod verify;

use catalog::{annotation_line, class_balance, filter_controls};
pub use catalog::{class_counts, CatalogEntry};
use sample::{decode_sample, frame_list_text};
use thumbs::*;

/// Labels, split, source text and the health panel's generation: the grid is filtered again when
/// one changes.
type FilterKey = (std::collections::BTreeSet<i64>, Option<i64>, String, u64);

/// A decoded sample ready to show: its metadata and image rows (label, frames).
pub struct SampleView {
    pub meta: SampleMeta,
    pub rows: Vec<(String, Vec<egui::ColorImage>)>,
}

/// A labelled row of images on the GPU.
pub type TextureRow = (String, Vec<egui::TextureHandle>);

/// One open dataset.
pub struct DatasetTab {
    pub path: PathBuf,
    open_job: Option<Job<Arc<Dataset>>>,
    pub ds: Option<Arc<Dataset>>,
    pub error: Option<String>,
    pub selected: Option<u64>,
    sample_job: Option<Job<SampleView>>,
    pub sample: Option<(SampleMeta, Vec<TextureRow>)>,
    catalog_job: Option<Job<(Vec<CatalogEntry>, Option<AnnotationChecks>)>>,
    /// Per sample: labels, split and source file name (for filters), built in the background.
    pub catalog: Option<Arc<Vec<CatalogEntry>>>,
    /// An annotation dataset's checks (short segments, overlaps, leakage, duplicate rows),
    /// made with the catalog.
    pub checks: Option<AnnotationChecks>,
    /// Keep samples with any of these labels (-1: unlabelled); empty keeps all.
    pub filter_labels: std::collections::BTreeSet<i64>,
    /// Keep samples of this stored split (an index into the info's `splits`).
    pub filter_split: Option<i64>,
    pub filter_source: String,
    filter_key: Option<FilterKey>,
    /// Sample indices passing the filters.
    pub visible: Vec<u64>,
    thumbs: ThumbGrid,
    /// `vdx verify` as a background job, and its verdict.
    pub verify: verify::VerifyPanel,
    /// Source against stored, and the quality pass.
    pub quality: super::quality_view::QualityPanel,
    /// The sample area shows source against stored instead of the stored frames.
    pub compare: bool,
    /// The health pass, its report, and the grid's flag filter and score order.
    pub health: health::HealthPanel,
}

impl DatasetTab {
    pub fn open(path: PathBuf, ctx: &egui::Context) -> Self {
        let p = path.clone();
        DatasetTab {
            path,
            open_job: Some(Job::spawn(ctx, move || {
                Dataset::open(&p).map(Arc::new).map_err(|e| e.to_string())
            })),
            ds: None,
            error: None,
            selected: None,
            sample_job: None,
            sample: None,
            catalog_job: None,
            checks: None,
            catalog: None,
            filter_labels: Default::default(),
            filter_split: None,
            filter_source: String::new(),
            filter_key: None,
            visible: Vec::new(),
            thumbs: ThumbGrid::default(),
            verify: Default::default(),
            quality: Default::default(),
            compare: false,
            health: Default::default(),
        }
    }

    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    }

    /// Start decoding sample `i`.
    pub fn select(&mut self, i: u64, ctx: &egui::Context) {
        let Some(ds) = self.ds.clone() else { return };
        self.selected = Some(i);
        self.sample_job = Some(Job::spawn(ctx, move || decode_sample(&ds, i)));
    }

    /// Start verifying (structure, checksums, full decode) in the background.
    pub fn start_verify(&mut self, ctx: &egui::Context) {
        let n = self.ds.as_ref().map_or(0, |d| d.len());
        self.verify.start(self.path.clone(), n, ctx);
    }

    pub fn verifying(&self) -> bool {
        self.verify.running()
    }

    /// Whether a verify, a quality pass or a health pass runs.
    pub fn busy(&self) -> bool {
        self.verifying() || self.quality.passing() || self.health.passing()
    }

    /// For the jobs panel: what is running, the fraction done and when it started.
    pub fn status(&self) -> Option<(String, f32, std::time::Instant)> {
        if self.health.passing() {
            let (d, n) = self.health.progress.counts();
            return Some((
                format!("health pass {}: {d}/{n} samples", self.name()),
                d as f32 / n as f32,
                self.health.progress.started()?,
            ));
        }
        if self.quality.passing() && !self.verifying() {
            let (d, n) = self.quality.pass_progress.counts();
            return Some((
                format!("quality pass {}: {d}/{n} samples", self.name()),
                d as f32 / n as f32,
                self.quality.pass_progress.started()?,
            ));
        }
        let started = self
            .verify
            .progress
            .started()
            .filter(|_| self.verifying())?;
        let (d, n) = self.verify.progress.counts();
        Some((
            format!("verify {}: {d}/{n} samples", self.name()),
            d as f32 / n as f32,
            started,
        ))
    }

    /// Cancel what runs (verify, quality pass, health pass).
    pub fn cancel_verify(&self) {
        self.verify.progress.request_cancel();
        self.quality.pass_progress.request_cancel();
        self.health.progress.request_cancel();
    }

    /// Take finished background results; returns an error to report, if any.
    pub fn poll(&mut self, ctx: &egui::Context) -> Option<String> {
        let mut err = None;
        if let Some(r) = self.open_job.as_ref().and_then(|j| j.poll()) {
            self.open_job = None;
            match r {
                Ok(ds) => {
                    let d2 = ds.clone();
                    self.catalog_job = Some(Job::spawn(ctx, move || {
                        // On object storage, every sample's provenance side by side first.
                        let _ = d2.prefetch_meta(&(0..d2.len()).collect::<Vec<u64>>());
                        let metas: Vec<Option<SampleMeta>> =
                            (0..d2.len()).map(|i| d2.meta(i).ok()).collect();
                        let catalog = metas
                            .iter()
                            .map(|m| match m {
                                Some(m) => CatalogEntry {
                                    labels: match m.provenance["labels"].as_array() {
                                        Some(l) => l.iter().filter_map(|x| x.as_i64()).collect(),
                                        None => vec![m.label],
                                    },
                                    split: m.provenance["split"].as_i64().unwrap_or(-1),
                                    source: m.provenance["source"]
                                        .as_str()
                                        .and_then(|s| std::path::Path::new(s).file_name())
                                        .map(|s| s.to_string_lossy().to_string())
                                        .unwrap_or_default(),
                                },
                                None => CatalogEntry {
                                    labels: vec![i64::MIN],
                                    split: -1,
                                    source: String::from("(damaged)"),
                                },
                            })
                            .collect();
                        let good: Vec<SampleMeta> = metas.into_iter().flatten().collect();
                        let rows = crate::dataset::checks::rows(&d2, &good);
                        let checks =
                            (!rows.is_empty()).then(|| crate::dataset::checks::check(&rows));
                        Ok((catalog, checks))
                    }));
                    self.thumbs.start(ds.clone(), ctx);
                    self.health.load(&ds, ctx);
                    self.ds = Some(ds);
                    self.select(0, ctx);
                }
                Err(e) => {
                    self.error = Some(e.clone());
                    err = Some(e);
                }
            }
        }
        if let Some(r) = self.sample_job.as_ref().and_then(|j| j.poll()) {
            self.sample_job = None;
            match r {
                Ok(v) => {
                    let rows = v
                        .rows
                        .into_iter()
                        .enumerate()
                        .map(|(k, (label, imgs))| {
                            let tex = imgs
                                .into_iter()
                                .enumerate()
                                .map(|(t, img)| {
                                    ctx.load_texture(
                                        format!("ds{k}-{t}"),
                                        img,
                                        egui::TextureOptions::LINEAR,
                                    )
                                })
                                .collect();
                            (label, tex)
                        })
                        .collect();
                    self.sample = Some((v.meta, rows));
                }
                Err(e) => err = Some(e),
            }
        }
        if let Some(r) = self.catalog_job.as_ref().and_then(|j| j.poll()) {
            self.catalog_job = None;
            match r {
                Ok((c, checks)) => {
                    self.catalog = Some(Arc::new(c));
                    self.checks = checks;
                }
                Err(e) => err = Some(e),
            }
        }
        self.thumbs.poll(ctx);
        self.quality.poll(ctx);
        self.health.poll();
        self.verify.poll();
        err
    }

    /// The dataset's facts, for the left panel.
    pub fn info_ui(&self, ui: &mut egui::Ui) {
        ui.heading("Dataset");
        if let Some(e) = &self.error {
            ui.colored_label(Color32::from_rgb(230, 120, 90), e);
            return;
        }
        let Some(ds) = &self.ds else {
            ui.spinner();
            return;
        };
        egui::Grid::new("ds_info")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                let mut row = |k: &str, v: String| {
                    ui.label(k);
                    ui.label(v);
                    ui.end_row();
                };
                row("file", self.name());
                row("samples", ds.len().to_string());
                row(
                    "format",
                    format!(
                        ".beton v{}, {} MiB pages",
                        ds.header.version,
                        ds.header.page_size >> 20
                    ),
                );
                let vf = ds.video_field();
                row(
                    "video field",
                    format!("{} (type {})", vf.name, vf.field_type.id()),
                );
                row("classes", ds.classes().len().to_string());
                if let Some(m) = ds.manifest() {
                    row(
                        "shards",
                        format!("{} (manifest '{}')", m.shards.len(), m.name),
                    );
                }
            });
        if let Some(m) = ds.manifest() {
            ui.separator();
            ui.strong("shards");
            egui::Grid::new("ds_shards").striped(true).show(ui, |ui| {
                for (k, s) in m.shards.iter().enumerate() {
                    ui.weak(format!("{k}"));
                    ui.label(&s.file);
                    ui.label(format!("{} samples", s.samples));
                    ui.end_row();
                }
            });
        }
        ui.separator();
        ui.strong("field parameters");
        egui::Grid::new("field_params")
            .striped(true)
            .show(ui, |ui| match &ds.video_field().arguments {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        // Nested parameters (Farneback's) one per row: the panel stays narrow.
                        let rows: Vec<(String, &serde_json::Value)> = match v {
                            serde_json::Value::Object(inner) => inner
                                .iter()
                                .map(|(k2, v2)| (format!("{k} {k2}"), v2))
                                .collect(),
                            v => vec![(k.clone(), v)],
                        };
                        for (k, v) in rows {
                            ui.weak(k.replace('_', " "));
                            ui.label(super::json_text(v));
                            ui.end_row();
                        }
                    }
                }
                v => {
                    ui.label(super::json_text(v));
                    ui.end_row();
                }
            });
        if let Some(c) = &self.checks {
            ui.separator();
            ui.strong("Checks");
            let lines = c.summary();
            let counts = [
                0,
                c.short_segments.count,
                c.overlaps.count,
                c.leakage.count,
                c.duplicate_rows.count,
            ];
            for (line, n) in lines.iter().zip(counts) {
                // "N things; first: ..." — the count in colour, the first case on hover.
                let (head, first) = line.split_once("; first: ").unwrap_or((line, ""));
                let color = if n > 0 {
                    Color32::from_rgb(230, 160, 90)
                } else {
                    Color32::from_gray(170)
                };
                let r = ui.colored_label(color, head);
                if !first.is_empty() {
                    r.on_hover_text(format!("first: {first}"));
                }
            }
        }
        ui.separator();
        for (k, c) in ds.classes().iter().enumerate() {
            ui.label(format!("{k:>3}  {c}"));
        }
    }

    /// The sample list, the decoded sample and verify, for the central panel.
    pub fn main_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let Some(ds) = self.ds.clone() else {
            super::error_or_spinner(ui, self.error.as_deref());
            return;
        };
        self.verify.ui(ui, &self.path, ds.len());
        if let Some(i) = self.quality.pass_ui(ui, &ds) {
            self.compare = true;
            self.select(i, &ctx);
        }
        self.health.controls_ui(ui, &ds);
        ui.separator();
        self.refilter();
        let clicked = egui::Panel::left("samples")
            .resizable(true)
            .default_size(420.0)
            .show(ui, |ui| self.sample_list(ui, &ds))
            .inner;
        if let Some(i) = clicked {
            self.select(i, &ctx);
        }
        if self.sample_job.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("decoding sample…");
            });
        }
        self.sample_view(ui, &ds);
    }

    /// The samples the filters (labels, split, source text, health) let through, computed
    /// again when one of them changed.
    fn refilter(&mut self) {
        let key = (
            self.filter_labels.clone(),
            self.filter_split,
            self.filter_source.clone(),
            self.health.generation,
        );
        if self.catalog.is_some() && self.filter_key.as_ref() != Some(&key) {
            let cat = self.catalog.clone().expect("checked");
            let needle = self.filter_source.to_lowercase();
            self.visible = cat
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    (self.filter_labels.is_empty()
                        || e.labels.iter().any(|l| self.filter_labels.contains(l)))
                        && self.filter_split.is_none_or(|s| s == e.split)
                        && (needle.is_empty() || e.source.to_lowercase().contains(&needle))
                })
                .map(|(i, _)| i as u64)
                .collect();
            self.health.apply(&mut self.visible);
            self.filter_key = Some(key);
        }
    }

    /// The left panel: filters, the count, the class balance, the duplicate groups and the
    /// sample grid; the sample clicked, if any.
    fn sample_list(&mut self, ui: &mut egui::Ui, ds: &Dataset) -> Option<u64> {
        let classes = ds.classes();
        let splits = ds.splits();
        filter_controls(
            ui,
            &mut self.filter_labels,
            &mut self.filter_split,
            &mut self.filter_source,
            classes,
            &splits,
        );
        if self.catalog.is_none() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("reading sample list…");
            });
            return None;
        }
        ui.strong(format!("{} of {} samples", self.visible.len(), ds.len()));
        if !splits.is_empty() && !classes.is_empty() {
            let cat = self.catalog.clone().expect("checked above");
            egui::CollapsingHeader::new("class balance per split")
                .default_open(true)
                .show(ui, |ui| class_balance(ui, &cat, &splits, classes));
        }
        let thumbs = &mut self.thumbs;
        let dup = self
            .health
            .duplicates_ui(ui, &mut |i| thumbs.get(i).map(|t| t.id()));
        let grid = sample_grid(
            ui,
            &self.visible,
            &mut self.thumbs,
            self.selected,
            &self.health,
        );
        // A click in the grid wins over one in the duplicate groups (as drawn, later).
        grid.or(dup)
    }

    /// The selected sample: what it is and where it came from, then its frames (with the
    /// health marks) or, by choice, the source against the stored frames.
    fn sample_view(&mut self, ui: &mut egui::Ui, ds: &Arc<Dataset>) {
        let ctx = ui.ctx().clone();
        if let Some((m, rows)) = &self.sample {
            let label = match (m.label, m.class.as_deref()) {
                (l, _) if l < 0 => "no label".to_string(),
                (l, Some(c)) => format!("label {l} ({c})"),
                (l, None) => format!("label {l}"),
            };
            match ds.manifest().and_then(|man| man.shards.get(m.shard)) {
                Some(sh) => ui.label(format!(
                    "sample {} · {label} · {} · shard {} ({})",
                    m.index, m.record, m.shard, sh.file
                )),
                None => ui.label(format!("sample {} · {label} · {}", m.index, m.record)),
            };
            ui.weak(format!(
                "source {} · frames {} · checksum {:08x}",
                m.provenance["source"].as_str().unwrap_or("?"),
                frame_list_text(&m.provenance["frames"]),
                m.checksum
            ));
            annotation_line(ui, ds, m);
            self.health.summary_ui(ui, m.index);
            if let (crate::dataset::writer::VideoRecord::Frames { num_frames, .. }, Ok((_, data))) =
                (m.record, ds.raw_data(m.index))
            {
                if let Ok(r) = crate::dataset::fields::frame_ranges(data, num_frames as usize) {
                    let sizes: Vec<String> = r
                        .iter()
                        .map(|(a, b)| format!("{:.1}", (b - a) as f64 / 1e3))
                        .collect();
                    ui.weak(format!("JPEG sizes (kB): {}", sizes.join(" ")));
                }
            }
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.compare, false, "Stored");
                ui.selectable_value(&mut self.compare, true, "Source vs stored");
            });
            if self.compare {
                if let Some(i) = self.selected {
                    self.quality.request(ds, i, &ctx);
                }
                egui::ScrollArea::vertical().show(ui, |ui| self.quality.compare_ui(ui));
            } else {
                let marks = self.health.marks(m.index);
                let body = |ui: &mut egui::Ui| {
                    for (k, (label, tex)) in rows.iter().enumerate() {
                        ui.label(label);
                        match &marks {
                            Some((marks, cuts)) if k == 0 && marks.len() == tex.len() => {
                                health::marked_filmstrip(ui, tex, 96.0, marks, cuts)
                            }
                            _ => filmstrip(ui, tex, 96.0),
                        }
                    }
                };
                // With a health report the clip's strip wraps (every mark in view).
                if marks.is_some() {
                    egui::ScrollArea::vertical().show(ui, body);
                } else {
                    egui::ScrollArea::both().show(ui, body);
                }
            }
        }
    }
}

/// A virtualised grid of the visible samples: only visible rows are laid out, and only their
/// thumbnails are decoded (in the background, newest first); the sample clicked, if any.
fn sample_grid(
    ui: &mut egui::Ui,
    visible: &[u64],
    thumbs: &mut ThumbGrid,
    selected: Option<u64>,
    health: &health::HealthPanel,
) -> Option<u64> {
    let mut clicked = None;
    let cell = 84.0;
    let cols = ((ui.available_width() / (cell + 6.0)).floor() as usize).max(1);
    let rows = visible.len().div_ceil(cols);
    egui::ScrollArea::vertical().show_rows(ui, cell + 20.0, rows, |ui, range| {
        for r in range {
            ui.horizontal(|ui| {
                for &i in visible.iter().skip(r * cols).take(cols) {
                    ui.vertical(|ui| {
                        ui.set_width(cell);
                        let resp = match thumbs.get(i) {
                            Some(t) => ui.add(
                                egui::Image::new((t.id(), Vec2::splat(cell)))
                                    .sense(egui::Sense::click()),
                            ),
                            None => {
                                let (rect, resp) =
                                    ui.allocate_exact_size(Vec2::splat(cell), egui::Sense::click());
                                ui.painter().rect_filled(rect, 3.0, Color32::from_gray(40));
                                resp
                            }
                        };
                        health.badge(ui, resp.rect, i);
                        if selected == Some(i) {
                            ui.painter().rect_stroke(
                                resp.rect,
                                2.0,
                                egui::Stroke::new(2.0, Color32::from_rgb(255, 220, 80)),
                                egui::StrokeKind::Outside,
                            );
                        }
                        if resp.clicked() {
                            clicked = Some(i);
                        }
                        let label = ui.add(
                            egui::Button::new(egui::RichText::new(format!("#{i}")).small())
                                .frame(false),
                        );
                        if label.clicked() {
                            clicked = Some(i);
                        }
                    });
                }
            });
        }
    });
    clicked
}
