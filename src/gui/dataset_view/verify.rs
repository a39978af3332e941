//! The dataset browser's verify panel: `vdx verify` (structure, checksums, every sample
//! decoded) as a background job with progress and Cancel, and its verdict.

use crate::dataset::verify::VerifyReport;
use crate::gui::jobs::{Job, Progress};
use egui::Color32;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

#[derive(Default)]
pub struct VerifyPanel {
    job: Option<Job<VerifyReport>>,
    pub progress: Progress,
    /// The last verify's report, or why it could not run.
    pub result: Option<Result<VerifyReport, String>>,
}

impl VerifyPanel {
    /// Start verifying the dataset at `path` (`samples` of them) in the background.
    pub fn start(&mut self, path: PathBuf, samples: u64, ctx: &egui::Context) {
        self.result = None;
        self.progress.begin();
        self.progress
            .total
            .store(samples as usize, Ordering::Relaxed);
        let (done, cancel, c) = (
            self.progress.done.clone(),
            self.progress.cancel.clone(),
            ctx.clone(),
        );
        self.job = Some(Job::spawn(ctx, move || {
            crate::dataset::verify::verify(&path, true, &cancel, &|d, _| {
                done.store(d as usize, Ordering::Relaxed);
                c.request_repaint();
            })
            .map_err(|e| e.to_string())
        }));
    }

    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    pub fn poll(&mut self) {
        if let Some(r) = self.job.as_ref().and_then(|j| j.poll()) {
            self.job = None;
            self.result = Some(r);
        }
    }

    /// The Verify button (or progress and Cancel while it runs) and the verdict.
    pub fn ui(&mut self, ui: &mut egui::Ui, path: &std::path::Path, samples: u64) {
        ui.horizontal(|ui| {
            if self.running() {
                let (d, n) = self.progress.counts();
                ui.add(
                    egui::ProgressBar::new(d as f32 / n as f32)
                        .desired_width(240.0)
                        .text(format!("verifying {d}/{n}")),
                );
                if ui.button("Cancel").clicked() {
                    self.progress.request_cancel();
                }
            } else if ui.button("Verify").clicked() {
                self.start(path.to_path_buf(), samples, ui.ctx());
            }
            match &self.result {
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
    }
}
