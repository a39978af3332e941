//! The centre panel: the frame player with its transport controls.

use super::command::{Command, Commands};
use super::tab::VideoTab;
use super::widgets::*;

/// The player of the active video (a hint to open one where there is none).
pub(super) fn show(ui: &mut egui::Ui, tab: Option<&mut VideoTab>, cmds: &mut Commands) {
    let ctx = ui.ctx().clone();
    let Some(tab) = tab else {
        ui.centered_and_justified(|ui| {
            ui.heading("Open a video (File > Open) or drop files on the window");
        });
        return;
    };
    let Some(index) = tab.index.clone() else {
        error_or_spinner(ui, tab.error.as_deref());
        return;
    };
    // Controls.
    ui.horizontal(|ui| {
        let buttons = [
            (
                if tab.playing { "Pause" } else { "Play" },
                "Space",
                Command::TogglePlay,
            ),
            ("|< key", "Previous keyframe ( [ )", Command::PrevKeyframe),
            ("< 1", "Previous frame (Left)", Command::Step(-1)),
            ("1 >", "Next frame (Right)", Command::Step(1)),
            ("key >|", "Next keyframe ( ] )", Command::NextKeyframe),
        ];
        for (label, hover, cmd) in buttons {
            if ui.button(label).on_hover_text(hover).clicked() {
                cmds.push(cmd);
            }
        }
        let f = &index.frames[tab.current];
        ui.separator();
        ui.monospace(format!(
            "frame {} / {}   pts {}   {:.3} s   {}{}",
            tab.current,
            index.len(),
            f.pts,
            index.time_secs(tab.current),
            f.frame_type.as_char(),
            if f.keyframe { " (key)" } else { "" }
        ));
    });
    // The picture: the exact frame, or the nearest cached preview while it decodes.
    let exact = tab.shown == Some((tab.current, true));
    if !exact {
        let thumbs = tab.worker.thumbs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = thumbs.nearest(tab.current) {
            // Show the nearest cached frame at once (unless it is already on screen).
            if tab.shown != Some((t.index, false)) {
                let img =
                    egui::ColorImage::from_rgb([t.width as usize, t.height as usize], &t.data);
                set_texture(&ctx, &mut tab.texture, "frame", img);
                tab.shown = Some((t.index, false));
            }
        }
    }
    if let Some(tex) = &tab.texture {
        let avail = ui.available_size();
        let sz = tex.size_vec2();
        let scale = (avail.x / sz.x).min(avail.y / sz.y).max(0.01);
        ui.centered_and_justified(|ui| {
            ui.add(egui::Image::new((tex.id(), sz * scale)));
        });
        if !exact {
            ui.weak("preview (decoding the exact frame…)");
        }
    }
}
