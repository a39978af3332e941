//! The right panel's Clips tab: sampler settings and the sampled clips as filmstrips.

use super::command::{Command, Commands};
use super::tab::VideoTab;
use super::worker::Request;
use crate::video::sample::{SamplerConfig, SamplerKind, Snap, TailPolicy};
use egui::{Sense, Vec2};

/// The Clips tab's state: the sampler the clips (and the timeline's clip marks) come from,
/// and the size they are decoded at.
pub struct ClipPanel {
    pub sampler: SamplerConfig,
    /// Longest side of the decoded clip frames.
    pub size: u32,
}

impl ClipPanel {
    /// The tab: settings, then the active video's clips (sampled again when a setting
    /// changed or none are there yet).
    pub(super) fn show(
        &mut self,
        ui: &mut egui::Ui,
        tab: Option<&mut VideoTab>,
        cmds: &mut Commands,
    ) {
        ui.heading("Clips");
        let changed = egui::Grid::new("sampler")
            .num_columns(2)
            .show(ui, |ui| self.settings(ui))
            .inner;
        let Some(tab) = tab.filter(|t| t.index.is_some()) else {
            return;
        };
        segment_line(ui, tab, cmds);
        if (changed || tab.clips.is_empty()) && !tab.clips_pending {
            tab.clips_pending = true;
            tab.worker
                .request(Request::Clips(self.sampler, self.size, tab.band_range()));
        }
        if tab.clips_pending {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("decoding clips…");
            });
        }
        cost_line(ui, tab, self.sampler);
        ui.separator();
        filmstrips(ui, tab, cmds);
    }

    /// The sampler's settings as a grid; true when one changed.
    fn settings(&mut self, ui: &mut egui::Ui) -> bool {
        let s = &mut self.sampler;
        let mut changed = combo(ui, "sampler", "kind", &mut s.kind, &SAMPLERS);
        let mut num = |ui: &mut egui::Ui, label: &str, w: egui::DragValue<'_>| {
            let l = ui.label(label);
            changed |= ui.add(w).labelled_by(l.id).changed();
            ui.end_row();
        };
        num(
            ui,
            "frames (T)",
            egui::DragValue::new(&mut s.frames_per_clip).range(1..=64),
        );
        num(
            ui,
            "clips (K)",
            egui::DragValue::new(&mut s.num_clips).range(1..=8),
        );
        num(
            ui,
            "stride",
            egui::DragValue::new(&mut s.stride).range(1.0..=32.0),
        );
        num(
            ui,
            "step",
            egui::DragValue::new(&mut s.step).range(0.0..=10000.0),
        );
        num(ui, "seed", egui::DragValue::new(&mut s.seed));
        num(
            ui,
            "size",
            egui::DragValue::new(&mut self.size).range(32..=224),
        );
        changed |= snap_settings(ui, &mut self.sampler);
        let tails = [
            TailPolicy::RepeatLast,
            TailPolicy::Wrap,
            TailPolicy::Drop,
            TailPolicy::Error,
        ]
        .map(|t| (t, t.to_string()));
        changed |= combo(ui, "tail", "tail", &mut self.sampler.tail, &tails);
        changed
    }
}

/// The sampler kinds with their names in the list.
const SAMPLERS: [(SamplerKind, &str); 4] = [
    (SamplerKind::Uniform, "uniform"),
    (SamplerKind::Regular, "regular"),
    (SamplerKind::Random, "random"),
    (SamplerKind::Keyframes, "keyframes"),
];

/// A labelled drop-down row of the settings grid over `choices` (value, name); true when
/// the value changed.
fn combo<T: PartialEq + Copy, S: AsRef<str>>(
    ui: &mut egui::Ui,
    label: &str,
    id: &str,
    value: &mut T,
    choices: &[(T, S)],
) -> bool {
    let mut changed = false;
    let l = ui.label(label);
    let shown = choices
        .iter()
        .find(|(v, _)| v == value)
        .map(|(_, n)| n.as_ref().to_string())
        .unwrap_or_default();
    egui::ComboBox::from_id_salt(id)
        .selected_text(shown)
        .show_ui(ui, |ui| {
            for (v, name) in choices {
                changed |= ui.selectable_value(value, *v, name.as_ref()).changed();
            }
        })
        .response
        .labelled_by(l.id);
    ui.end_row();
    changed
}

/// Where clips start (exact, nearest keyframe, cheapest within ±k) and the k of the last;
/// true when a setting changed. Keyframes clips start on keyframes already, and `within`
/// belongs to cheapest only.
fn snap_settings(ui: &mut egui::Ui, s: &mut SamplerConfig) -> bool {
    let cheapest = format!("cheapest within ±{}", s.within);
    let l = ui.label("clip start");
    let mut changed = false;
    egui::ComboBox::from_id_salt("snap")
        .selected_text(match s.snap {
            Snap::None => "exact",
            Snap::Keyframe => "nearest keyframe",
            Snap::Cheapest => cheapest.as_str(),
        })
        .show_ui(ui, |ui| {
            for (v, name) in [
                (Snap::None, "exact"),
                (Snap::Keyframe, "nearest keyframe"),
                (Snap::Cheapest, "cheapest within ±k"),
            ] {
                changed |= ui.selectable_value(&mut s.snap, v, name).changed();
            }
        })
        .response
        .labelled_by(l.id);
    ui.end_row();
    if s.kind == SamplerKind::Keyframes && s.snap != Snap::None {
        s.snap = Snap::None;
        changed = true;
    }
    if s.snap == Snap::Cheapest {
        if s.within == 0 {
            s.within = 8;
            changed = true;
        }
        let l = ui.label("within ±k");
        changed |= ui
            .add(egui::DragValue::new(&mut s.within).range(1..=1000))
            .labelled_by(l.id)
            .changed();
        ui.end_row();
    } else if s.within != 0 {
        s.within = 0;
        changed = true;
    }
    changed
}

/// With an annotated segment selected: which one the clips come from, and a way back to the
/// whole video.
fn segment_line(ui: &mut egui::Ui, tab: &VideoTab, cmds: &mut Commands) {
    let (Some(r), Some(b)) = (tab.band_range(), tab.bands.clone()) else {
        return;
    };
    let labels = tab
        .selected_band
        .and_then(|k| b.bands.get(k))
        .map(|band| band.labels.join(", "))
        .unwrap_or_default();
    ui.horizontal(|ui| {
        ui.label(format!("inside segment {labels} [{}..{}]", r.start, r.end));
        if ui.button("whole video").clicked() {
            cmds.push(Command::SelectSegment(None));
        }
    });
}

/// What the clips cost to decode, against exact starts.
fn cost_line(ui: &mut egui::Ui, tab: &mut VideoTab, sampler: SamplerConfig) {
    let Some(plan) = tab.clip_plan(sampler).filter(|p| !p.clips.is_empty()) else {
        return;
    };
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

/// The decoded clips, one filmstrip each; a click on a frame seeks the player there.
fn filmstrips(ui: &mut egui::Ui, tab: &VideoTab, cmds: &mut Commands) {
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
        cmds.push(Command::Seek {
            frame: i,
            pause: true,
        });
    }
}
