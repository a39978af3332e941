//! The left panel: probed metadata, streams and the keyframe summary.

use super::tab::VideoTab;
use egui::Color32;

/// The metadata of the active video (a hint to open one where there is none).
pub(super) fn show(ui: &mut egui::Ui, tab: Option<&VideoTab>) {
    ui.heading("Metadata");
    let Some(tab) = tab else {
        ui.label("Open a video: File > Open, or drop files here.");
        return;
    };
    if let Some(e) = &tab.error {
        ui.colored_label(Color32::from_rgb(230, 120, 90), e);
        return;
    }
    let (Some(p), Some(ix)) = (&tab.probe, &tab.index) else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("Indexing {}…", tab.name()));
        });
        return;
    };
    egui::ScrollArea::vertical().show(ui, |ui| {
        let s = ix.summary();
        egui::Grid::new("format")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                let mut row = |k: &str, v: String| {
                    ui.label(k);
                    ui.label(v);
                    ui.end_row();
                };
                row("file", tab.name());
                row("container", p.format.format_name.clone());
                row(
                    "duration",
                    p.format
                        .duration
                        .map_or("?".into(), |d| format!("{d:.3} s")),
                );
                row(
                    "bit rate",
                    p.format
                        .bit_rate
                        .map_or("?".into(), |b| format!("{:.0} kb/s", b as f64 / 1e3)),
                );
                row(
                    "frames",
                    format!("{} ({} keyframes)", s.frame_count, s.keyframe_count),
                );
                row(
                    "GOP",
                    format!("{}–{} frames, mean {:.1}", s.min_gop, s.max_gop, s.mean_gop),
                );
                row(
                    "frame rate",
                    format!(
                        "{:.3} fps mean{}",
                        s.mean_fps,
                        if s.is_vfr { ", variable" } else { "" }
                    ),
                );
                row(
                    "video bytes",
                    format!("{:.2} MB", s.total_bytes as f64 / 1e6),
                );
            });
        for w in ix
            .warnings
            .iter()
            .chain(p.streams.iter().flat_map(|s| &s.warnings))
        {
            ui.colored_label(Color32::from_rgb(230, 180, 60), format!("Warning: {w}"));
        }
        for st in &p.streams {
            ui.separator();
            stream_ui(ui, st);
        }
    });
}

/// One stream: codec and profile, then its facts (size, pixel format, colour, rates…).
fn stream_ui(ui: &mut egui::Ui, st: &crate::video::probe::StreamInfo) {
    ui.strong(format!(
        "#{} {} · {}{}",
        st.index,
        st.codec_type,
        st.codec_name,
        st.profile
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default()
    ));
    egui::Grid::new(("stream", st.index))
        .num_columns(2)
        .show(ui, |ui| {
            let mut row = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    ui.weak(k);
                    ui.label(v);
                    ui.end_row();
                }
            };
            if st.codec_type == "video" {
                row(
                    "size",
                    st.width.zip(st.height).map(|(w, h)| format!("{w}×{h}")),
                );
                row(
                    "display",
                    st.display_width
                        .zip(st.display_height)
                        .map(|(w, h)| format!("{w}×{h}")),
                );
                row("pixel format", st.pix_fmt.clone());
                row("bit depth", st.bit_depth.map(|b| b.to_string()));
                row("rotation", st.rotate_cw.map(|r| format!("{r}° clockwise")));
                row("colour", st.color_space.clone());
                row("range", st.color_range.clone());
                row("r_frame_rate", st.r_frame_rate.clone());
                row("time base", Some(st.time_base.clone()));
            } else if st.codec_type == "audio" {
                row("sample rate", st.sample_rate.map(|r| format!("{r} Hz")));
                row("channels", st.channel_layout.clone());
            }
            row("language", st.tags.get("language").cloned());
        });
}
