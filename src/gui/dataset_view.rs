//! The dataset browser: fields and classes, the sample list, a decoded sample (frames, or flow
//! keyframes and flow colour images), and `verify` as a cancellable job with progress.

use super::analysis::{filmstrip, Job};
use crate::dataset::verify::VerifyReport;
use crate::dataset::{Dataset, Decoders, SampleData, SampleMeta};
use egui::Color32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

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
    verify_job: Option<Job<VerifyReport>>,
    verify_done: Arc<AtomicU64>,
    verify_cancel: Arc<AtomicBool>,
    pub verify: Option<Result<VerifyReport, String>>,
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
            verify_job: None,
            verify_done: Arc::new(AtomicU64::new(0)),
            verify_cancel: Arc::new(AtomicBool::new(false)),
            verify: None,
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
        let path = self.path.clone();
        self.verify = None;
        self.verify_done.store(0, Ordering::Relaxed);
        self.verify_cancel.store(false, Ordering::Relaxed);
        let (done, cancel, c) = (
            self.verify_done.clone(),
            self.verify_cancel.clone(),
            ctx.clone(),
        );
        self.verify_job = Some(Job::spawn(ctx, move || {
            crate::dataset::verify::verify(&path, true, &cancel, &|d, _| {
                done.store(d, Ordering::Relaxed);
                c.request_repaint();
            })
            .map_err(|e| e.to_string())
        }));
    }

    pub fn verifying(&self) -> bool {
        self.verify_job.is_some()
    }

    /// Take finished background results; returns an error to report, if any.
    pub fn poll(&mut self, ctx: &egui::Context) -> Option<String> {
        let mut err = None;
        if let Some(r) = self.open_job.as_ref().and_then(|j| j.poll()) {
            self.open_job = None;
            match r {
                Ok(ds) => {
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
        if let Some(r) = self.verify_job.as_ref().and_then(|j| j.poll()) {
            self.verify_job = None;
            self.verify = Some(r);
        }
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
            });
        ui.separator();
        ui.strong("field parameters");
        ui.weak(ds.video_field().arguments.to_string());
        ui.separator();
        for (k, c) in ds.classes().iter().enumerate() {
            ui.label(format!("{k:>3}  {c}"));
        }
    }

    /// The sample list, the decoded sample and verify, for the central panel.
    pub fn main_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let Some(ds) = self.ds.clone() else {
            ui.centered_and_justified(|ui| {
                if let Some(e) = &self.error {
                    ui.colored_label(Color32::from_rgb(230, 120, 90), e);
                } else {
                    ui.spinner();
                }
            });
            return;
        };
        ui.horizontal(|ui| {
            if self.verifying() {
                let n = ds.len().max(1);
                let d = self.verify_done.load(Ordering::Relaxed);
                ui.add(
                    egui::ProgressBar::new(d as f32 / n as f32)
                        .desired_width(240.0)
                        .text(format!("verifying {d}/{n}")),
                );
                if ui.button("Cancel").clicked() {
                    self.verify_cancel.store(true, Ordering::Relaxed);
                }
            } else if ui.button("Verify").clicked() {
                self.start_verify(&ctx);
            }
            match &self.verify {
                Some(Ok(r)) if r.ok() => {
                    ui.colored_label(
                        Color32::from_rgb(106, 190, 120),
                        format!(
                            "OK: {} samples, checksums match, {} decoded",
                            r.samples, r.decoded
                        ),
                    );
                }
                Some(Ok(r)) => {
                    ui.colored_label(
                        Color32::from_rgb(230, 120, 90),
                        format!(
                            "FAILED: {} problems, first: {}",
                            r.problems.len(),
                            r.problems.first().cloned().unwrap_or_default()
                        ),
                    );
                }
                Some(Err(e)) => {
                    ui.colored_label(Color32::from_rgb(230, 120, 90), e);
                }
                None => {}
            }
        });
        ui.separator();
        let classes = ds.classes();
        let mut clicked = None;
        egui::Panel::left("samples")
            .resizable(true)
            .default_size(340.0)
            .show(ui, |ui| {
                ui.strong(format!("{} samples", ds.len()));
                let h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
                egui::ScrollArea::vertical().show_rows(ui, h, ds.len() as usize, |ui, range| {
                    for i in range {
                        let i = i as u64;
                        let text = match ds.meta(i) {
                            Ok(m) => {
                                let class = usize::try_from(m.label)
                                    .ok()
                                    .and_then(|k| classes.get(k).cloned())
                                    .unwrap_or_else(|| "-".into());
                                let src = m.provenance["source"]
                                    .as_str()
                                    .and_then(|s| std::path::Path::new(s).file_name())
                                    .map(|s| s.to_string_lossy().to_string())
                                    .unwrap_or_default();
                                format!("#{i:<5} {class:<10} {src} clip {}", m.provenance["clip"])
                            }
                            Err(e) => format!("#{i} error: {e}"),
                        };
                        if ui
                            .selectable_label(self.selected == Some(i), text)
                            .clicked()
                        {
                            clicked = Some(i);
                        }
                    }
                });
            });
        if let Some(i) = clicked {
            self.select(i, &ctx);
        }
        if self.sample_job.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("decoding sample…");
            });
        }
        if let Some((m, rows)) = &self.sample {
            ui.label(format!(
                "sample {} · label {} {} · {:?}",
                m.index,
                m.label,
                m.class.as_deref().unwrap_or(""),
                m.record
            ));
            ui.weak(format!(
                "source {} · frames {} · checksum {:08x}",
                m.provenance["source"].as_str().unwrap_or("?"),
                m.provenance["frames"],
                m.checksum
            ));
            egui::ScrollArea::both().show(ui, |ui| {
                for (label, tex) in rows {
                    ui.label(label);
                    filmstrip(ui, tex, 96.0);
                }
            });
        }
    }
}

fn decode_sample(ds: &Dataset, i: u64) -> Result<SampleView, String> {
    let meta = ds.meta(i).map_err(|e| e.to_string())?;
    let mut dec = Decoders::default();
    let data = ds.decode(i, &mut dec).map_err(|e| e.to_string())?;
    let rows = match data {
        SampleData::Clip(c) => vec![(
            format!("{} frames", c.num_frames),
            (0..c.num_frames)
                .map(|t| egui::ColorImage::from_rgb([c.width, c.height], c.frame(t)))
                .collect(),
        )],
        SampleData::Flow(f) => {
            let n = f.width * f.height * 3;
            let m = f.width * f.height * 2;
            let max = f
                .flow
                .chunks_exact(2)
                .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
                .fold(0.0f32, f32::max)
                .max(1e-3);
            vec![
                (
                    format!("keyframes at {:?}", f.keyframe_positions),
                    (0..f.keyframe_positions.len())
                        .map(|k| {
                            egui::ColorImage::from_rgb(
                                [f.width, f.height],
                                &f.keyframes[k * n..(k + 1) * n],
                            )
                        })
                        .collect(),
                ),
                (
                    format!(
                        "flow (int8 / {}), colour wheel saturating at {max:.2} px",
                        f.scale
                    ),
                    (0..f.num_frames.saturating_sub(1))
                        .map(|t| {
                            let rgb =
                                crate::flowviz::flow_to_rgb(&f.flow[t * m..(t + 1) * m], Some(max));
                            egui::ColorImage::from_rgb([f.width, f.height], &rgb)
                        })
                        .collect(),
                ),
            ]
        }
    };
    Ok(SampleView { meta, rows })
}
