//! The right panel's Clips tab: sampler settings and the sampled clips as filmstrips.

#[allow(unused_imports)]
use super::*;

impl VdxApp {
    pub(super) fn clip_view(&mut self, ui: &mut egui::Ui) {
        ui.heading("Clips");
        let mut changed = false;
        egui::Grid::new("sampler").num_columns(2).show(ui, |ui| {
            let l = ui.label("sampler");
            let kind = format!("{:?}", self.sampler.kind).to_lowercase();
            egui::ComboBox::from_id_salt("kind")
                .selected_text(kind)
                .show_ui(ui, |ui| {
                    for k in [
                        SamplerKind::Uniform,
                        SamplerKind::Regular,
                        SamplerKind::Random,
                        SamplerKind::Keyframes,
                    ] {
                        let name = format!("{k:?}").to_lowercase();
                        changed |= ui
                            .selectable_value(&mut self.sampler.kind, k, name)
                            .changed();
                    }
                })
                .response
                .labelled_by(l.id);
            ui.end_row();
            let mut num = |ui: &mut egui::Ui, label: &str, w: egui::DragValue<'_>| {
                let l = ui.label(label);
                changed |= ui.add(w).labelled_by(l.id).changed();
                ui.end_row();
            };
            num(
                ui,
                "frames (T)",
                egui::DragValue::new(&mut self.sampler.frames_per_clip).range(1..=64),
            );
            num(
                ui,
                "clips (K)",
                egui::DragValue::new(&mut self.sampler.num_clips).range(1..=8),
            );
            num(
                ui,
                "stride",
                egui::DragValue::new(&mut self.sampler.stride).range(1.0..=32.0),
            );
            num(
                ui,
                "step",
                egui::DragValue::new(&mut self.sampler.step).range(0.0..=10000.0),
            );
            num(ui, "seed", egui::DragValue::new(&mut self.sampler.seed));
            num(
                ui,
                "size",
                egui::DragValue::new(&mut self.clip_size).range(32..=224),
            );
            let l = ui.label("clip start");
            egui::ComboBox::from_id_salt("snap")
                .selected_text(match self.sampler.snap {
                    Snap::None => "exact".to_string(),
                    Snap::Keyframe => "nearest keyframe".to_string(),
                    Snap::Cheapest => format!("cheapest within ±{}", self.sampler.within),
                })
                .show_ui(ui, |ui| {
                    for (v, name) in [
                        (Snap::None, "exact"),
                        (Snap::Keyframe, "nearest keyframe"),
                        (Snap::Cheapest, "cheapest within ±k"),
                    ] {
                        changed |= ui
                            .selectable_value(&mut self.sampler.snap, v, name)
                            .changed();
                    }
                })
                .response
                .labelled_by(l.id);
            ui.end_row();
            // Keyframes clips start on keyframes already; `within` belongs to cheapest only.
            if self.sampler.kind == SamplerKind::Keyframes && self.sampler.snap != Snap::None {
                self.sampler.snap = Snap::None;
                changed = true;
            }
            if self.sampler.snap == Snap::Cheapest {
                if self.sampler.within == 0 {
                    self.sampler.within = 8;
                    changed = true;
                }
                let l = ui.label("within ±k");
                changed |= ui
                    .add(egui::DragValue::new(&mut self.sampler.within).range(1..=1000))
                    .labelled_by(l.id)
                    .changed();
                ui.end_row();
            } else if self.sampler.within != 0 {
                self.sampler.within = 0;
                changed = true;
            }
            let l = ui.label("tail");
            egui::ComboBox::from_id_salt("tail")
                .selected_text(self.sampler.tail.to_string())
                .show_ui(ui, |ui| {
                    for t in [
                        TailPolicy::RepeatLast,
                        TailPolicy::Wrap,
                        TailPolicy::Drop,
                        TailPolicy::Error,
                    ] {
                        changed |= ui
                            .selectable_value(&mut self.sampler.tail, t, t.to_string())
                            .changed();
                    }
                })
                .response
                .labelled_by(l.id);
            ui.end_row();
        });
        let sampler = self.sampler;
        let size = self.clip_size;
        let Some(tab) = self.tabs.get_mut(self.active) else {
            return;
        };
        if tab.index.is_none() {
            return;
        }
        if let (Some(r), Some(b)) = (tab.band_range(), tab.bands.clone()) {
            let labels = tab
                .selected_band
                .and_then(|k| b.bands.get(k))
                .map(|band| band.labels.join(", "))
                .unwrap_or_default();
            ui.horizontal(|ui| {
                ui.label(format!("inside segment {labels} [{}..{}]", r.start, r.end));
                if ui.button("whole video").clicked() {
                    tab.select_band(None);
                }
            });
        }
        if (changed || tab.clips.is_empty()) && !tab.clips_pending {
            tab.clips_pending = true;
            tab.worker
                .request(Request::Clips(sampler, size, tab.band_range()));
        }
        if tab.clips_pending {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("decoding clips…");
            });
        }
        // What the clips cost to decode, against exact starts.
        if let Some(plan) = tab.clip_plan(sampler).filter(|p| !p.clips.is_empty()) {
            let now: usize = plan.clips.iter().map(|(_, c)| c).sum();
            match &plan.exact {
                None => {
                    ui.label(format!("decodes {now} frames for these clips"));
                }
                Some(exact) => {
                    let was: usize = exact.iter().map(|(_, c)| c).sum();
                    ui.label(format!(
                        "decodes {now} frames for these clips (exact starts: {was})"
                    ));
                }
            }
        }
        ui.separator();
        let mut seek_to = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (c, tex) in &tab.clips {
                ui.label(format!(
                    "clip {} · frames {}–{}{}",
                    c.clip_index,
                    c.frame_indices.first().unwrap_or(&0),
                    c.frame_indices.last().unwrap_or(&0),
                    if c.padded > 0 {
                        format!(" · {} padded", c.padded)
                    } else {
                        String::new()
                    }
                ));
                egui::ScrollArea::horizontal()
                    .id_salt(("strip", c.clip_index))
                    .show(ui, |ui| {
                        ui.horizontal(|ui| {
                            for (t, i) in tex.iter().zip(&c.frame_indices) {
                                ui.vertical(|ui| {
                                    let r = ui.add(
                                        egui::Image::new((t.id(), Vec2::splat(64.0)))
                                            .sense(Sense::click()),
                                    );
                                    if r.clicked() {
                                        seek_to = Some(*i);
                                    }
                                    ui.small(i.to_string());
                                });
                            }
                        });
                    });
            }
        });
        if let Some(i) = seek_to {
            tab.playing = false;
            tab.seek(i);
        }
    }
}
