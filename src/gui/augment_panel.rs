//! The right panel's Augment tab: the recipe editor and its draws.

use super::analysis;
use super::command::Commands;
use super::tab::VideoTab;

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

impl AugmentPanel {
    /// The tab: presets, seed and draws, the recipe editor, then the draws of a clip from the
    /// active video's current frame (computed again whenever the recipe or frame changes).
    pub(super) fn show(&mut self, ui: &mut egui::Ui, tab: Option<&VideoTab>, cmds: &mut Commands) {
        let ctx = ui.ctx().clone();
        self.poll(&ctx, cmds);
        ui.horizontal(|ui| {
            ui.label("preset");
            for (name, r) in analysis::presets() {
                if ui
                    .selectable_label(self.recipe.name == r.name, name)
                    .clicked()
                {
                    self.recipe = r;
                    self.dirty = true;
                }
            }
        });
        ui.horizontal(|ui| self.recipe_row(ui, cmds));
        self.dirty |= analysis::recipe_editor(ui, &mut self.recipe);
        let Some(tab) = tab else {
            return;
        };
        let (Some(index), Some(probe)) = (tab.index.clone(), tab.probe.as_ref()) else {
            return;
        };
        if ui.button("Preview from the current frame").clicked() {
            self.dirty = true;
        }
        if self.dirty && self.job.is_none() {
            self.dirty = false;
            if let Err(e) = self.recipe.validate() {
                cmds.error(e.to_string());
            } else {
                let size = probe
                    .best_video()
                    .map(|v| (v.width.unwrap_or(320), v.height.unwrap_or(240)))
                    .unwrap_or((320, 240));
                let (path, start, recipe, k) = (
                    tab.path.clone(),
                    tab.current,
                    self.recipe.clone(),
                    self.draws,
                );
                self.job = Some(analysis::Job::spawn(&ctx, move || {
                    analysis::compute_augment(path, index, size, start, 32, recipe, k)
                }));
            }
        }
        if self.job.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("augmenting…");
            });
        }
        self.draws_view(ui);
    }

    /// A finished draws job: every draw's frames onto the GPU, or its error into the
    /// window's.
    fn poll(&mut self, ctx: &egui::Context, cmds: &mut Commands) {
        let Some(r) = self.job.as_ref().and_then(|j| j.poll()) else {
            return;
        };
        self.job = None;
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
                self.result = Some((a, tex));
            }
            Err(e) => cmds.error(e),
        }
    }

    /// Seed, number of draws, and the recipe to the clipboard, to a file or from one.
    fn recipe_row(&mut self, ui: &mut egui::Ui, cmds: &mut Commands) {
        let l = ui.label("seed");
        self.dirty |= ui
            .add(egui::DragValue::new(&mut self.recipe.seed))
            .labelled_by(l.id)
            .changed();
        let l = ui.label("draws");
        self.dirty |= ui
            .add(egui::DragValue::new(&mut self.draws).range(1..=6))
            .labelled_by(l.id)
            .changed();
        if ui.button("Copy JSON").clicked() {
            ui.ctx().copy_text(self.recipe.to_json());
        }
        if ui.button("Save…").clicked() {
            if let Some(p) = rfd::FileDialog::new()
                .add_filter("recipe", &["json"])
                .save_file()
            {
                if let Err(e) = crate::npy::write_atomic(&p, self.recipe.to_json().as_bytes()) {
                    cmds.error(e.to_string());
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
                        self.recipe = r;
                        self.dirty = true;
                    }
                    Err(e) => cmds.error(e.to_string()),
                }
            }
        }
    }

    /// The draws side by side at one frame of the clip, with play/pause and a frame slider;
    /// each draw's parameters on hover.
    fn draws_view(&mut self, ui: &mut egui::Ui) {
        let Some((a, tex)) = &self.result else {
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
                .button(if self.playing { "Pause" } else { "Play" })
                .clicked()
            {
                self.playing = !self.playing;
            }
            let l = ui.label("frame");
            ui.add(egui::Slider::new(&mut self.t, 0..=t_max))
                .labelled_by(l.id);
        });
        if self.playing {
            let t = ui.input(|i| i.time);
            self.t = ((t * 10.0) as usize) % (t_max + 1);
            ui.ctx().request_repaint();
        }
        ui.weak(format!(
            "clip from frame {}, sample 0, epochs 0..{} (same engine and seed as training)",
            a.start,
            a.rows.len()
        ));
        let shown_t = self.t;
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for (k, row) in tex.iter().enumerate() {
                    if let Some(t) = row.get(shown_t.min(row.len().saturating_sub(1))) {
                        ui.vertical(|ui| {
                            let sz = t.size_vec2();
                            let s = 160.0 / sz.x.max(1.0);
                            ui.add(egui::Image::new((t.id(), sz * s)));
                            let summary: Vec<String> = a.draws[k]
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
