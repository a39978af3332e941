//! The right panel's Augment tab: the recipe editor and its draws.

#[allow(unused_imports)]
use super::*;

/// The Augment tab's state: the recipe being tuned, the draws job and its result.
pub struct AugmentPanel {
    pub recipe: crate::augment::Recipe,
    draws: usize,
    job: Option<analysis::Job<analysis::AugResult>>,
    /// The draws shown, with their textures (draw × frame).
    pub result: Option<(analysis::AugResult, Vec<Vec<egui::TextureHandle>>)>,
    /// The recipe or the frame changed since the draws were asked for.
    dirty: bool,
    /// The frame of the draws on screen, and whether they play.
    t: usize,
    playing: bool,
}

impl AugmentPanel {
    /// With the remembered recipe, else the first bundled one.
    pub fn new(recipe: Option<crate::augment::Recipe>) -> Self {
        AugmentPanel {
            recipe: recipe.unwrap_or_else(|| {
                analysis::presets()
                    .into_iter()
                    .next()
                    .map(|(_, r)| r)
                    .expect("bundled recipes parse")
            }),
            draws: 3,
            job: None,
            result: None,
            dirty: true,
            t: 0,
            playing: false,
        }
    }
}

impl VdxApp {
    pub(super) fn augment_view(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if let Some(j) = &self.augment.job {
            if let Some(r) = j.poll() {
                self.augment.job = None;
                match r {
                    Ok(a) => {
                        let tex = a
                            .rows
                            .iter()
                            .enumerate()
                            .map(|(k, c)| {
                                (0..c.t)
                                    .map(|t| {
                                        ctx.load_texture(
                                            format!("aug{k}-{t}"),
                                            egui::ColorImage::from_rgb([c.w, c.h], c.frame(t)),
                                            egui::TextureOptions::LINEAR,
                                        )
                                    })
                                    .collect()
                            })
                            .collect();
                        self.augment.result = Some((a, tex));
                    }
                    Err(e) => self.errors.push(e),
                }
            }
        }
        ui.horizontal(|ui| {
            ui.label("preset");
            for (name, r) in analysis::presets() {
                if ui
                    .selectable_label(self.augment.recipe.name == r.name, name)
                    .clicked()
                {
                    self.augment.recipe = r;
                    self.augment.dirty = true;
                }
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label("seed");
            self.augment.dirty |= ui
                .add(egui::DragValue::new(&mut self.augment.recipe.seed))
                .labelled_by(l.id)
                .changed();
            let l = ui.label("draws");
            self.augment.dirty |= ui
                .add(egui::DragValue::new(&mut self.augment.draws).range(1..=6))
                .labelled_by(l.id)
                .changed();
            if ui.button("Copy JSON").clicked() {
                ctx.copy_text(self.augment.recipe.to_json());
            }
            if ui.button("Save…").clicked() {
                if let Some(p) = rfd::FileDialog::new()
                    .add_filter("recipe", &["json"])
                    .save_file()
                {
                    if let Err(e) =
                        crate::npy::write_atomic(&p, self.augment.recipe.to_json().as_bytes())
                    {
                        self.errors.push(e.to_string());
                    }
                }
            }
            if ui.button("Load…").clicked() {
                if let Some(p) = rfd::FileDialog::new()
                    .add_filter("recipe", &["json"])
                    .pick_file()
                {
                    match crate::augment::Recipe::load(&p) {
                        Ok(r) => {
                            self.augment.recipe = r;
                            self.augment.dirty = true;
                        }
                        Err(e) => self.errors.push(e.to_string()),
                    }
                }
            }
        });
        self.augment.dirty |= analysis::recipe_editor(ui, &mut self.augment.recipe);
        let Some(tab) = self.tabs.get(self.active) else {
            return;
        };
        let (Some(index), Some(probe)) = (tab.index.clone(), tab.probe.as_ref()) else {
            return;
        };
        if ui.button("Preview from the current frame").clicked() {
            self.augment.dirty = true;
        }
        if self.augment.dirty && self.augment.job.is_none() {
            self.augment.dirty = false;
            if let Err(e) = self.augment.recipe.validate() {
                self.errors.push(e.to_string());
            } else {
                let size = probe
                    .best_video()
                    .map(|v| (v.width.unwrap_or(320), v.height.unwrap_or(240)))
                    .unwrap_or((320, 240));
                let (path, start, recipe, k) = (
                    tab.path.clone(),
                    tab.current,
                    self.augment.recipe.clone(),
                    self.augment.draws,
                );
                self.augment.job = Some(analysis::Job::spawn(&ctx, move || {
                    analysis::compute_augment(path, index, size, start, 32, recipe, k)
                }));
            }
        }
        if self.augment.job.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("augmenting…");
            });
        }
        let Some((a, tex)) = &self.augment.result else {
            return;
        };
        let t_max = tex
            .iter()
            .map(|r| r.len())
            .max()
            .unwrap_or(1)
            .saturating_sub(1);
        ui.horizontal(|ui| {
            if ui
                .button(if self.augment.playing {
                    "Pause"
                } else {
                    "Play"
                })
                .clicked()
            {
                self.augment.playing = !self.augment.playing;
            }
            let l = ui.label("frame");
            ui.add(egui::Slider::new(&mut self.augment.t, 0..=t_max))
                .labelled_by(l.id);
        });
        if self.augment.playing {
            let t = ctx.input(|i| i.time);
            self.augment.t = ((t * 10.0) as usize) % (t_max + 1);
            ctx.request_repaint();
        }
        ui.weak(format!(
            "clip from frame {}, sample 0, epochs 0..{} (same engine and seed as training)",
            a.start,
            a.rows.len()
        ));
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for (k, row) in tex.iter().enumerate() {
                    if let Some(t) = row.get(self.augment.t.min(row.len().saturating_sub(1))) {
                        ui.vertical(|ui| {
                            let sz = t.size_vec2();
                            let s = 160.0 / sz.x.max(1.0);
                            ui.add(egui::Image::new((t.id(), sz * s)));
                            let d = &a.draws[k];
                            let summary: Vec<String> = d
                                .iter()
                                .map(|d| format!("{} {}", d.name, d.values))
                                .collect();
                            ui.small(format!("draw {k}"))
                                .on_hover_text(summary.join("\n"));
                        });
                    }
                }
            });
        });
    }
}
