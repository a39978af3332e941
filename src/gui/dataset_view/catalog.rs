//! What the browser knows of every sample without decoding it (labels, split, source),
//! the class balance per split it charts, and an annotation sample's line.

use crate::dataset::{Dataset, SampleMeta};
use egui::{Color32, Vec2};

/// What the browser's filters look at, per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    /// Every label (class indices); `[-1]` for an unlabelled sample.
    pub labels: Vec<i64>,
    /// Index into the info's `splits`; -1 without one.
    pub split: i64,
    /// The source video's file name.
    pub source: String,
}

/// Samples per (split, class): rows in `splits` order (a last row "(none)" for samples
/// without a split, if any), columns in class order.
pub fn class_counts(cat: &[CatalogEntry], n_splits: usize, n_classes: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0usize; n_classes]; n_splits + 1];
    for e in cat {
        let row = usize::try_from(e.split)
            .ok()
            .filter(|&s| s < n_splits)
            .unwrap_or(n_splits);
        for &l in &e.labels {
            if let Some(c) = usize::try_from(l).ok().filter(|&c| c < n_classes) {
                m[row][c] += 1;
            }
        }
    }
    if m[n_splits].iter().all(|&c| c == 0) {
        m.pop();
    }
    m
}

/// Samples per class, one bar colour per split, side by side (egui_plot); a split that lacks
/// a class the others have is named under the chart.
pub(super) fn class_balance(
    ui: &mut egui::Ui,
    cat: &[CatalogEntry],
    splits: &[String],
    classes: &[String],
) {
    const COLORS: [Color32; 4] = [
        Color32::from_rgb(86, 156, 214),
        Color32::from_rgb(242, 142, 43),
        Color32::from_rgb(106, 190, 120),
        Color32::from_rgb(176, 122, 161),
    ];
    let counts = class_counts(cat, splits.len(), classes.len());
    let groups = counts.len() as f64;
    let w = 0.8 / groups;
    let charts: Vec<egui_plot::BarChart> = counts
        .iter()
        .enumerate()
        .map(|(s, row)| {
            let name = splits.get(s).cloned().unwrap_or_else(|| "(none)".into());
            let bars = row
                .iter()
                .enumerate()
                .map(|(c, &n)| {
                    egui_plot::Bar::new(c as f64 - 0.4 + w * (s as f64 + 0.5), n as f64)
                        .width(w * 0.95)
                        .fill(COLORS[s % COLORS.len()])
                        .name(format!("{} · {name}", classes[c]))
                })
                .collect();
            egui_plot::BarChart::new(name, bars).color(COLORS[s % COLORS.len()])
        })
        .collect();
    // Class names are in the table below (and on hover): an axis of hundreds of names
    // cannot be read.
    egui_plot::Plot::new("class_balance")
        .height(120.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .legend(egui_plot::Legend::default())
        .show_axes([false, true])
        .y_axis_label("samples")
        .show(ui, |p| {
            for c in charts {
                p.bar_chart(c);
            }
        });
    // The exact numbers: class x split (scrolls for hundreds of classes).
    egui::ScrollArea::vertical()
        .id_salt("class_counts")
        .max_height(110.0)
        .show(ui, |ui| {
            egui::Grid::new("class_counts_grid")
                .striped(true)
                .spacing([14.0, 2.0])
                .show(ui, |ui| {
                    ui.weak("class");
                    for name in splits {
                        ui.weak(name);
                    }
                    if counts.len() > splits.len() {
                        ui.weak("(none)");
                    }
                    ui.end_row();
                    for (c, class) in classes.iter().enumerate() {
                        ui.label(class);
                        for row in &counts {
                            ui.label(row[c].to_string());
                        }
                        ui.end_row();
                    }
                });
        });
    for (s, name) in splits.iter().enumerate() {
        let missing: Vec<&str> = (0..classes.len())
            .filter(|&c| counts[s][c] == 0 && counts.iter().any(|r| r[c] > 0))
            .map(|c| classes[c].as_str())
            .collect();
        if !missing.is_empty() {
            ui.colored_label(
                Color32::from_rgb(230, 160, 90),
                format!("{name} has no sample of: {}", missing.join(", ")),
            );
        }
    }
}

/// An annotation sample's labels, split and row, and a strip showing where its clip lies in
/// its segment and in the source video (frames to scale).
pub(super) fn annotation_line(ui: &mut egui::Ui, ds: &Dataset, m: &SampleMeta) {
    let p = &m.provenance;
    let Some(labels) = p["labels"].as_array() else {
        return;
    };
    let names: Vec<String> = labels
        .iter()
        .map(|l| {
            l.as_u64()
                .and_then(|k| ds.classes().get(k as usize).cloned())
                .unwrap_or_else(|| "?".into())
        })
        .collect();
    let split = p["split"]
        .as_u64()
        .and_then(|k| ds.info()["splits"][k as usize].as_str().map(str::to_string));
    let seg = &p["segment"];
    let seg_frames = seg["frames"]
        .as_array()
        .and_then(|a| Some((a.first()?.as_u64()?, a.get(1)?.as_u64()?)));
    let seg_text = match (
        seg["start_secs"].as_f64(),
        seg["end_secs"].as_f64(),
        seg_frames,
    ) {
        (Some(a), Some(b), _) => format!(" · segment {a:.2}-{b:.2} s"),
        (_, _, Some((a, b))) => format!(" · segment frames {a}-{b}"),
        _ => " · whole video".to_string(),
    };
    ui.label(format!(
        "labels: {} · split {}{seg_text} · row {} (line {})",
        names.join(", "),
        split.as_deref().unwrap_or("none"),
        p["row_id"].as_str().unwrap_or("?"),
        p["annotation_line"]
    ));
    let total = p["source_frames"].as_u64().unwrap_or(0).max(1) as f32;
    let frames: Vec<f32> = p["frames"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_u64())
                .map(|f| f as f32)
                .collect()
        })
        .unwrap_or_default();
    let (rect, resp) = ui.allocate_exact_size(
        Vec2::new(ui.available_width().min(600.0), 14.0),
        egui::Sense::hover(),
    );
    let x = |f: f32| rect.left() + rect.width() * (f / total).clamp(0.0, 1.0);
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(40));
    if let Some((a, b)) = seg_frames {
        painter.rect_filled(
            egui::Rect::from_x_y_ranges(
                x(a as f32)..=x(b as f32).max(x(a as f32) + 2.0),
                rect.y_range(),
            ),
            2.0,
            Color32::from_rgb(78, 121, 167),
        );
    }
    for &f in &frames {
        let xf = x(f + 0.5);
        painter.line_segment(
            [
                egui::pos2(xf, rect.top() + 2.0),
                egui::pos2(xf, rect.bottom() - 2.0),
            ],
            egui::Stroke::new(1.5, Color32::from_rgb(255, 220, 80)),
        );
    }
    resp.on_hover_text(format!(
        "the source video's {} frames; blue: the annotated segment; yellow: this clip's frames",
        total as u64
    ));
}

/// The browser's filters: labels (any of), stored split, source file name.
pub(super) fn filter_controls(
    ui: &mut egui::Ui,
    filter_labels: &mut std::collections::BTreeSet<i64>,
    filter_split: &mut Option<i64>,
    filter_source: &mut String,
    classes: &[String],
    splits: &[String],
) {
    ui.horizontal(|ui| {
        let l = ui.label("labels");
        let shown = if filter_labels.is_empty() {
            "all".to_string()
        } else {
            filter_labels
                .iter()
                .map(
                    |&k| match usize::try_from(k).ok().and_then(|k| classes.get(k)) {
                        Some(c) => c.clone(),
                        None => "unlabelled".into(),
                    },
                )
                .collect::<Vec<_>>()
                .join(", ")
        };
        egui::ComboBox::from_id_salt("label_filter")
            .selected_text(shown)
            .width(200.0)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(filter_labels.is_empty(), "all")
                    .clicked()
                {
                    filter_labels.clear();
                }
                let mut toggle = |ui: &mut egui::Ui, k: i64, name: &str| {
                    let mut on = filter_labels.contains(&k);
                    if ui.checkbox(&mut on, name).changed() {
                        if on {
                            filter_labels.insert(k);
                        } else {
                            filter_labels.remove(&k);
                        }
                    }
                };
                toggle(ui, -1, "unlabelled");
                for (k, c) in classes.iter().enumerate() {
                    toggle(ui, k as i64, c);
                }
            })
            .response
            .labelled_by(l.id);
    });
    if !splits.is_empty() {
        ui.horizontal(|ui| {
            let l = ui.label("split");
            let shown = filter_split
                .and_then(|s| splits.get(s as usize).cloned())
                .unwrap_or_else(|| "all".into());
            egui::ComboBox::from_id_salt("split_filter")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    ui.selectable_value(filter_split, None, "all");
                    for (k, name) in splits.iter().enumerate() {
                        ui.selectable_value(filter_split, Some(k as i64), name);
                    }
                })
                .response
                .labelled_by(l.id);
        });
    }
    ui.horizontal(|ui| {
        let l = ui.label("source");
        ui.add(
            egui::TextEdit::singleline(filter_source)
                .desired_width(170.0)
                .hint_text("file name contains"),
        )
        .labelled_by(l.id);
    });
}
