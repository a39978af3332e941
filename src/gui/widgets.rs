//! Small drawing helpers the panels share: spinners, textures, frame-type colours, legends.

use super::*;

/// While something loads: its error if it failed, else a spinner, centred.
pub(crate) fn error_or_spinner(ui: &mut egui::Ui, error: Option<&str>) {
    ui.centered_and_justified(|ui| match error {
        Some(e) => {
            ui.colored_label(Color32::from_rgb(230, 120, 90), e);
        }
        None => {
            ui.spinner();
        }
    });
}

pub(super) fn set_texture(
    ctx: &egui::Context,
    slot: &mut Option<egui::TextureHandle>,
    name: &str,
    img: egui::ColorImage,
) {
    match slot {
        Some(t) if t.size() == img.size => t.set(img, egui::TextureOptions::LINEAR),
        _ => *slot = Some(ctx.load_texture(name, img, egui::TextureOptions::LINEAR)),
    }
}

pub(super) fn frame_color(t: FrameType) -> Color32 {
    match t {
        FrameType::I => Color32::from_rgb(235, 87, 87),
        FrameType::P => Color32::from_rgb(86, 156, 214),
        FrameType::B => Color32::from_rgb(106, 190, 120),
        _ => Color32::from_gray(140),
    }
}

pub(super) fn legend(ui: &mut egui::Ui, c: Color32, label: &str) -> egui::Response {
    let (r, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
    ui.painter().rect_filled(r, 2.0, c);
    ui.label(label)
}

/// Timeline mark of a frame the decoder could not decode or had to conceal.
pub(super) const DAMAGED: Color32 = Color32::from_rgb(255, 60, 200);
