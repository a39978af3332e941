//! The right panel's Flow tab: optical flow as colour, its histogram and int8 quantization.

use super::analysis;
use super::command::Commands;
use super::tab::VideoTab;
use egui::{Color32, Pos2, Stroke, Vec2};
use std::path::PathBuf;

/// The Flow tab's state: the flow job and its result, and the view's settings.
pub struct FlowPanel {
    job: Option<analysis::Job<analysis::FlowResult>>,
    /// The flow shown, with its colour texture.
    pub result: Option<(analysis::FlowResult, egui::TextureHandle)>,
    /// The video and frame the flow is for.
    for_frame: Option<(PathBuf, usize)>,
    fixed: bool,
    fixed_max: f32,
    arrows: bool,
    quant: bool,
    quant_tex: Option<egui::TextureHandle>,
    wheel: Option<egui::TextureHandle>,
}

impl Default for FlowPanel {
    fn default() -> Self {
        FlowPanel {
            job: None,
            result: None,
            for_frame: None,
            fixed: false,
            fixed_max: 8.0,
            arrows: true,
            quant: false,
            quant_tex: None,
            wheel: None,
        }
    }
}

impl FlowPanel {
    /// The tab: its settings, the flow from the active video's current frame to the next
    /// (computed in the background whenever the frame changes and the video is paused), and
    /// the result.
    pub(super) fn show(&mut self, ui: &mut egui::Ui, tab: Option<&VideoTab>, cmds: &mut Commands) {
        let ctx = ui.ctx().clone();
        self.poll(&ctx, cmds);
        ui.horizontal(|ui| self.settings(ui));
        let Some(tab) = tab else {
            return;
        };
        let (Some(index), Some(probe)) = (tab.index.clone(), tab.probe.as_ref()) else {
            return;
        };
        let want = (tab.path.clone(), tab.current);
        if !tab.playing && self.job.is_none() && self.for_frame.as_ref() != Some(&want) {
            let size = probe
                .best_video()
                .map(|v| (v.width.unwrap_or(320), v.height.unwrap_or(240)))
                .unwrap_or((320, 240));
            let fixed = self.fixed.then_some(self.fixed_max);
            let (path, i) = want.clone();
            self.job = Some(analysis::Job::spawn(&ctx, move || {
                analysis::compute_flow(path, index, size, i, 4.0, fixed)
            }));
            self.for_frame = Some(want);
        }
        if self.job.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("computing Farneback flow…");
            });
        }
        self.result_view(ui);
    }

    /// A finished flow job: its colour images onto the GPU, or its error into the window's.
    fn poll(&mut self, ctx: &egui::Context, cmds: &mut Commands) {
        let Some(r) = self.job.as_ref().and_then(|j| j.poll()) else {
            return;
        };
        self.job = None;
        match r {
            Ok(f) => {
                let tex = ctx.load_texture(
                    "flow",
                    egui::ColorImage::from_rgb([f.width, f.height], &f.rgb),
                    egui::TextureOptions::LINEAR,
                );
                self.quant_tex = Some(ctx.load_texture(
                    "flow_quant",
                    egui::ColorImage::from_rgb([f.width, f.height], &f.quant_rgb),
                    egui::TextureOptions::LINEAR,
                ));
                self.result = Some((f, tex));
            }
            Err(e) => cmds.error(e),
        }
    }

    /// Arrows, int8 clipping, and a fixed colour scale (a new scale computes the flow again).
    fn settings(&mut self, ui: &mut egui::Ui) {
        ui.checkbox(&mut self.arrows, "arrows");
        ui.checkbox(&mut self.quant, "int8 clipping / zeros");
        ui.checkbox(&mut self.fixed, "fixed scale");
        if self.fixed {
            let l = ui.label("saturates at (px)");
            if ui
                .add(egui::DragValue::new(&mut self.fixed_max).range(0.5..=64.0))
                .labelled_by(l.id)
                .changed()
            {
                self.for_frame = None;
            }
        }
    }

    /// The flow shown: the colour (or int8) image with its arrows, the colour wheel with the
    /// scale and int8 figures, and the magnitude histogram.
    fn result_view(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        let wheel = self
            .wheel
            .get_or_insert_with(|| {
                ctx.load_texture("wheel", analysis::wheel_image(64), Default::default())
            })
            .clone();
        let Some((f, tex)) = &self.result else {
            return;
        };
        ui.label(format!(
            "Farneback flow, frame {} to {} (320 px)",
            f.frame,
            f.frame + 1
        ));
        let w = ui.available_width();
        let s = w / f.width as f32;
        let shown = match (&self.quant_tex, self.quant) {
            (Some(q), true) => q.id(),
            _ => tex.id(),
        };
        let r = ui.add(egui::Image::new((shown, Vec2::new(w, f.height as f32 * s))));
        if self.arrows {
            arrows(&ui.painter_at(r.rect), r.rect.min, s, &f.arrows);
        }
        if self.quant {
            ui.weak("red: int8 at this scale would clip · dark: it would round to zero");
        }
        ui.horizontal(|ui| {
            ui.add(egui::Image::new((wheel.id(), Vec2::splat(56.0))));
            ui.vertical(|ui| {
                ui.label("hue = direction, saturation = magnitude");
                ui.label(format!(
                    "max {:.2} px · saturates at {:.2} px",
                    f.max_mag,
                    if self.fixed {
                        self.fixed_max
                    } else {
                        f.max_mag
                    }
                ));
                ui.label(format!(
                    "int8 at scale {}: {:.2}% clipped (>|31.9| px), {:.1}% round to 0",
                    f.scale,
                    100.0 * f.clipped,
                    100.0 * f.zeroed
                ));
            });
        });
        analysis::flow_histogram(ui, f);
    }
}

/// Arrows at true length (scaled with the image), capped so dense motion stays readable.
fn arrows(p: &egui::Painter, origin: Pos2, s: f32, arrows: &[[f32; 4]]) {
    for a in arrows {
        let o = origin + Vec2::new(a[0], a[1]) * s;
        let mut d = Vec2::new(a[2], a[3]) * s;
        if d.length() > 14.0 * s {
            d = d.normalized() * 14.0 * s;
        }
        if d.length() > 0.5 {
            p.arrow(o, d, Stroke::new(1.0, Color32::from_black_alpha(200)));
        }
    }
}
