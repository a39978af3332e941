//! The right panel's Flow tab: optical flow as colour, its histogram and int8 quantization.

#[allow(unused_imports)]
use super::*;

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

impl VdxApp {
    pub(super) fn flow_view(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if let Some(j) = &self.flow.job {
            if let Some(r) = j.poll() {
                self.flow.job = None;
                match r {
                    Ok(f) => {
                        let tex = ctx.load_texture(
                            "flow",
                            egui::ColorImage::from_rgb([f.width, f.height], &f.rgb),
                            egui::TextureOptions::LINEAR,
                        );
                        self.flow.quant_tex = Some(ctx.load_texture(
                            "flow_quant",
                            egui::ColorImage::from_rgb([f.width, f.height], &f.quant_rgb),
                            egui::TextureOptions::LINEAR,
                        ));
                        self.flow.result = Some((f, tex));
                    }
                    Err(e) => self.errors.push(e),
                }
            }
        }
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.flow.arrows, "arrows");
            ui.checkbox(&mut self.flow.quant, "int8 clipping / zeros");
            ui.checkbox(&mut self.flow.fixed, "fixed scale");
            if self.flow.fixed {
                let l = ui.label("saturates at (px)");
                if ui
                    .add(egui::DragValue::new(&mut self.flow.fixed_max).range(0.5..=64.0))
                    .labelled_by(l.id)
                    .changed()
                {
                    self.flow.for_frame = None;
                }
            }
        });
        let Some(tab) = self.tabs.get(self.active) else {
            return;
        };
        let (Some(index), Some(probe)) = (tab.index.clone(), tab.probe.as_ref()) else {
            return;
        };
        let want = (tab.path.clone(), tab.current);
        if !tab.playing && self.flow.job.is_none() && self.flow.for_frame.as_ref() != Some(&want) {
            let size = probe
                .best_video()
                .map(|v| (v.width.unwrap_or(320), v.height.unwrap_or(240)))
                .unwrap_or((320, 240));
            let fixed = self.flow.fixed.then_some(self.flow.fixed_max);
            let (path, i) = want.clone();
            self.flow.job = Some(analysis::Job::spawn(&ctx, move || {
                analysis::compute_flow(path, index, size, i, 4.0, fixed)
            }));
            self.flow.for_frame = Some(want);
        }
        if self.flow.job.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("computing Farneback flow…");
            });
        }
        let wheel = self
            .flow
            .wheel
            .get_or_insert_with(|| {
                ctx.load_texture("wheel", analysis::wheel_image(64), Default::default())
            })
            .clone();
        if let Some((f, tex)) = &self.flow.result {
            ui.label(format!(
                "Farneback flow, frame {} to {} (320 px)",
                f.frame,
                f.frame + 1
            ));
            let w = ui.available_width();
            let s = w / f.width as f32;
            let shown = match (&self.flow.quant_tex, self.flow.quant) {
                (Some(q), true) => q.id(),
                _ => tex.id(),
            };
            let r = ui.add(egui::Image::new((shown, Vec2::new(w, f.height as f32 * s))));
            if self.flow.arrows {
                // Arrows at true length (scaled with the image), capped so dense motion
                // stays readable.
                let p = ui.painter_at(r.rect);
                for a in &f.arrows {
                    let o = r.rect.min + Vec2::new(a[0], a[1]) * s;
                    let mut d = Vec2::new(a[2], a[3]) * s;
                    if d.length() > 14.0 * s {
                        d = d.normalized() * 14.0 * s;
                    }
                    if d.length() > 0.5 {
                        p.arrow(o, d, Stroke::new(1.0, Color32::from_black_alpha(200)));
                    }
                }
            }
            if self.flow.quant {
                ui.weak("red: int8 at this scale would clip · dark: it would round to zero");
            }
            ui.horizontal(|ui| {
                ui.add(egui::Image::new((wheel.id(), Vec2::splat(56.0))));
                ui.vertical(|ui| {
                    ui.label("hue = direction, saturation = magnitude");
                    ui.label(format!(
                        "max {:.2} px · saturates at {:.2} px",
                        f.max_mag,
                        if self.flow.fixed {
                            self.flow.fixed_max
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
}
