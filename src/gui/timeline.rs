//! The bottom panel: the frame-type and size timeline (GOPs), with sampled clips drawn on it.

use super::command::{Command, Commands};
use super::tab::{ClipPlan, TimelineView, VideoTab};
use super::widgets::{frame_color, legend, DAMAGED};
use crate::video::index::{FrameType, VideoIndex};
use crate::video::sample::SamplerConfig;
use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};

/// The timeline of the active video: the header with its legend, the annotated segments,
/// then the frame bars with the sampled clips under them; zoom, pan and click-to-seek.
pub(super) fn show(
    ui: &mut egui::Ui,
    tab: &mut VideoTab,
    sampler: SamplerConfig,
    cmds: &mut Commands,
) {
    let Some(index) = tab.index.clone() else {
        return;
    };
    let n = index.len();
    if n == 0 {
        return;
    }
    ui.horizontal(|ui| header(ui, tab));
    if let Some(bands) = tab.bands.clone() {
        segment_bands(ui, tab, &bands, n, cmds);
    }
    let (rect, resp) = ui.allocate_exact_size(
        Vec2::new(ui.available_width(), ui.available_height().max(60.0)),
        Sense::click_and_drag(),
    );
    if resp.hovered() {
        zoom_and_pan(ui, &mut tab.timeline, rect, n);
    }
    let v = &mut tab.timeline;
    v.span = v.span.clamp(1.0, n as f64);
    v.start = v.start.clamp(0.0, (n as f64 - v.span).max(0.0));
    let axis = Axis {
        rect,
        start: v.start,
        span: v.span,
        px: rect.width() as f64 / v.span,
    };
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(24));
    let range = tab.band_range();
    if let Some(plan) = ClipPlan::cached(&mut tab.clip_plan, tab.index.as_deref(), sampler, range) {
        clip_marks(&painter, &axis, &index, plan);
    }
    frame_bars(&painter, &axis, &index, tab.damaged.as_deref());
    // Playhead.
    let xp = axis.x(tab.current as f64 + 0.5);
    painter.line_segment(
        [Pos2::new(xp, rect.top()), Pos2::new(xp, rect.bottom())],
        Stroke::new(2.0, Color32::WHITE),
    );
    // Click or drag to seek.
    if resp.clicked() || resp.dragged() {
        if let Some(p) = resp.interact_pointer_pos() {
            let i = axis.start + ((p.x - rect.left()) / rect.width()) as f64 * axis.span;
            cmds.push(Command::Seek {
                frame: i.max(0.0) as usize,
                pause: true,
            });
        }
    }
    resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, "timeline"));
    resp.on_hover_text("Click or drag to seek");
}

/// The frames shown across a rectangle: the first (fractional), how many, and pixels per
/// frame.
struct Axis {
    rect: Rect,
    start: f64,
    span: f64,
    px: f64,
}

impl Axis {
    /// The x of frame position `i`.
    fn x(&self, i: f64) -> f32 {
        self.rect.left() + ((i - self.start) * self.px) as f32
    }
}

/// The header row: the frame-type legend, the damaged frames' count (taken from the
/// worker's thumbnails into the tab), how to use the timeline and the annotation file's name.
fn header(ui: &mut egui::Ui, tab: &mut VideoTab) {
    ui.strong("Timeline");
    legend(ui, frame_color(FrameType::I), "I");
    legend(ui, frame_color(FrameType::P), "P");
    legend(ui, frame_color(FrameType::B), "B");
    let damaged = tab
        .worker
        .thumbs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .damaged
        .clone();
    if let Some(d) = damaged.as_ref().filter(|d| !d.is_empty()) {
        legend(ui, DAMAGED, &format!("damaged ({})", d.len()))
            .on_hover_text("frames the decoder could not decode or had to conceal");
    }
    tab.damaged = damaged;
    ui.weak("height = packet size · scroll to zoom · shift+scroll to pan · click to seek");
    if let Some(b) = &tab.bands {
        ui.separator();
        let name = b.file.file_name().unwrap_or_default().to_string_lossy();
        ui.label(format!("{} segments from {name} ({})", b.bands.len(), b.format))
            .on_hover_text("click a band to seek to its start and sample the clips inside it · ',' and '.' step between segment boundaries");
    }
}

/// Scroll zooms around the pointer; shift+scroll (or a sideways scroll) pans.
fn zoom_and_pan(ui: &egui::Ui, v: &mut TimelineView, rect: Rect, n: usize) {
    let (scroll, shift, pointer) = ui.input(|i| {
        (
            i.smooth_scroll_delta,
            i.modifiers.shift,
            i.pointer.hover_pos(),
        )
    });
    let dy = if scroll.y != 0.0 { scroll.y } else { scroll.x };
    if dy == 0.0 {
        return;
    }
    if shift || scroll.x != 0.0 {
        v.start -= dy as f64 / rect.width() as f64 * v.span;
    } else if let Some(p) = pointer {
        let at = v.start + ((p.x - rect.left()) / rect.width()) as f64 * v.span;
        let f = (1.0 - dy as f64 * 0.002).clamp(0.5, 2.0);
        v.span = (v.span * f).clamp(10.0, n as f64);
        v.start = at - ((p.x - rect.left()) / rect.width()) as f64 * v.span;
    }
}

/// The sampled clips under the bars; before each, the frames decoded but not shown (from
/// the keyframe the decode starts at), darker. With snapped starts, where the exact starts
/// were: grey outlines.
fn clip_marks(painter: &egui::Painter, axis: &Axis, index: &VideoIndex, plan: &ClipPlan) {
    let rect = axis.rect;
    for (c, _) in plan.exact.iter().flatten() {
        let (a, b) = (
            *c.frame_indices.first().unwrap_or(&0),
            *c.frame_indices.last().unwrap_or(&0),
        );
        painter.rect_stroke(
            Rect::from_min_max(
                Pos2::new(axis.x(a as f64), rect.top() + 1.0),
                Pos2::new(axis.x(b as f64 + 1.0), rect.bottom() - 1.0),
            ),
            0.0,
            Stroke::new(1.0, Color32::from_gray(120)),
            egui::StrokeKind::Inside,
        );
    }
    for &(ref c, cost) in &plan.clips {
        let start = c.frame_indices.iter().min().copied().unwrap_or(0);
        if let Some(k) = index.keyframe_before(start).filter(|&k| k < start) {
            painter.rect_filled(
                Rect::from_min_max(
                    Pos2::new(axis.x(k as f64), rect.bottom() - 16.0),
                    Pos2::new(axis.x(start as f64), rect.bottom() - 12.0),
                ),
                0.0,
                Color32::from_rgb(200, 90, 60),
            );
        }
        let (a, b) = (
            *c.frame_indices.first().unwrap_or(&0),
            *c.frame_indices.last().unwrap_or(&0),
        );
        let r = Rect::from_min_max(
            Pos2::new(axis.x(a as f64), rect.top()),
            Pos2::new(
                axis.x(b as f64 + 1.0).max(axis.x(a as f64) + 2.0),
                rect.bottom(),
            ),
        );
        painter.rect_filled(r, 0.0, Color32::from_rgba_unmultiplied(255, 220, 80, 22));
        painter.text(
            Pos2::new(r.left() + 2.0, rect.bottom() - 2.0),
            egui::Align2::LEFT_BOTTOM,
            format!("clip {} · decode {} fr", c.clip_index, cost),
            egui::FontId::proportional(10.0),
            Color32::from_rgb(255, 220, 80),
        );
    }
}

/// One bar per visible frame (or per group of frames when zoomed out): height the square
/// root of the packet size, colour the frame type, a red line at keyframes and a mark under
/// damaged frames.
fn frame_bars(painter: &egui::Painter, axis: &Axis, index: &VideoIndex, damaged: Option<&[usize]>) {
    let (rect, px) = (axis.rect, axis.px);
    let n = index.len();
    let first = axis.start.floor() as usize;
    let last = ((axis.start + axis.span).ceil() as usize).min(n);
    let max_size = index.frames[first..last]
        .iter()
        .map(|f| f.size_bytes)
        .max()
        .unwrap_or(1)
        .max(1) as f32;
    let bar_h = rect.height() - 14.0;
    let step = ((1.0 / px).ceil() as usize).max(1);
    for i in (first..last).step_by(step) {
        let f = &index.frames[i];
        let h = (f.size_bytes as f32 / max_size).sqrt() * bar_h;
        let x0 = axis.x(i as f64);
        let x1 = (axis.x((i + step) as f64) - if px > 3.0 { 1.0 } else { 0.0 }).max(x0 + 1.0);
        let r = Rect::from_min_max(
            Pos2::new(x0, rect.top() + 2.0 + bar_h - h),
            Pos2::new(x1, rect.top() + 2.0 + bar_h),
        );
        painter.rect_filled(r, 0.0, frame_color(f.frame_type));
        if let Some(d) = damaged {
            // A damaged frame in this bar's span: a full-height red mark under it.
            let a = d.partition_point(|&k| k < i);
            if d.get(a).is_some_and(|&k| k < i + step) {
                painter.rect_filled(
                    Rect::from_min_max(
                        Pos2::new(x0, rect.top() + 2.0 + bar_h + 1.0),
                        Pos2::new(x1, rect.bottom()),
                    ),
                    0.0,
                    DAMAGED,
                );
            }
        }
        if f.keyframe {
            painter.line_segment(
                [Pos2::new(x0, rect.top()), Pos2::new(x0, rect.bottom())],
                Stroke::new(1.0, Color32::from_rgb(255, 90, 90)),
            );
        }
    }
}

/// A class's band colour: a fixed palette, so one class keeps its colour in every video.
fn class_color(class: Option<usize>) -> Color32 {
    const PALETTE: [Color32; 10] = [
        Color32::from_rgb(78, 121, 167),
        Color32::from_rgb(242, 142, 43),
        Color32::from_rgb(225, 87, 89),
        Color32::from_rgb(118, 183, 178),
        Color32::from_rgb(89, 161, 79),
        Color32::from_rgb(237, 201, 72),
        Color32::from_rgb(176, 122, 161),
        Color32::from_rgb(255, 157, 167),
        Color32::from_rgb(156, 117, 95),
        Color32::from_rgb(186, 176, 172),
    ];
    class.map_or(Color32::from_gray(120), |c| PALETTE[c % PALETTE.len()])
}

/// The annotated segments above the frame bars: one lane per overlap level, coloured by the
/// first label's class, labelled where there is room; hover names the row, click seeks to
/// the segment's first frame. Same zoom and pan as the bars.
fn segment_bands(
    ui: &mut egui::Ui,
    tab: &mut VideoTab,
    bands: &crate::dataset::annotations::VideoBands,
    n: usize,
    cmds: &mut Commands,
) {
    const LANE_H: f32 = 18.0;
    let lanes = bands.lanes.clamp(1, 8);
    let (strip, _) = ui.allocate_exact_size(
        Vec2::new(ui.available_width(), lanes as f32 * LANE_H + 2.0),
        Sense::hover(),
    );
    let v = &tab.timeline;
    let span = v.span.clamp(1.0, n as f64);
    let px = strip.width() as f64 / span;
    let x_of = |i: f64| strip.left() + ((i - v.start) * px) as f32;
    let painter = ui.painter_at(strip);
    painter.rect_filled(strip, 2.0, Color32::from_gray(18));
    let mut seek = None;
    for (k, b) in bands.bands.iter().enumerate() {
        if b.lane >= lanes {
            continue;
        }
        let (x0, x1) = (
            x_of(b.frames.start as f64).max(strip.left()),
            x_of(b.frames.end as f64).min(strip.right()),
        );
        if x1 <= strip.left() || x0 >= strip.right() {
            continue;
        }
        let top = strip.top() + 1.0 + b.lane as f32 * LANE_H;
        let r = Rect::from_min_max(
            Pos2::new(x0, top + 1.0),
            Pos2::new(x1.max(x0 + 2.0), top + LANE_H - 1.0),
        );
        let inside = tab.selected_band == Some(k)
            || (tab.selected_band.is_none()
                && tab.current >= b.frames.start
                && tab.current < b.frames.end);
        let c = class_color(b.class);
        painter.rect_filled(r, 3.0, c.gamma_multiply(if inside { 0.95 } else { 0.6 }));
        if inside {
            painter.rect_stroke(
                r,
                3.0,
                Stroke::new(1.5, Color32::WHITE),
                egui::StrokeKind::Inside,
            );
        }
        let mut text = b
            .labels
            .first()
            .cloned()
            .unwrap_or_else(|| "(no label)".into());
        if b.labels.len() > 1 {
            text += &format!(" +{}", b.labels.len() - 1);
        }
        if r.width() > 30.0 {
            painter.text(
                Pos2::new(r.left() + 4.0, r.center().y),
                egui::Align2::LEFT_CENTER,
                &text,
                egui::FontId::proportional(11.0),
                Color32::BLACK,
            );
        }
        let resp = ui.interact(r, ui.scope_id().with(("segment", k)), Sense::click());
        let (t0, t1) = tab.index.as_ref().map_or((0.0, 0.0), |ix| {
            (
                ix.time_secs(b.frames.start),
                ix.time_secs(b.frames.end.saturating_sub(1)),
            )
        });
        let name = format!(
            "segment {} [{}..{}] frames",
            b.labels.join(", "),
            b.frames.start,
            b.frames.end
        );
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &name));
        let hover = format!(
            "{}\nframes {}..{} ({:.2}-{:.2} s){}\nline {} · {}",
            b.labels.join(", "),
            b.frames.start,
            b.frames.end,
            t0,
            t1,
            b.split
                .as_ref()
                .map(|s| format!(" · split {s}"))
                .unwrap_or_default(),
            b.line,
            b.row_id
        );
        if resp.on_hover_text(hover).clicked() {
            seek = Some((k, b.frames.start));
        }
    }
    if bands.lanes > lanes {
        painter.text(
            Pos2::new(strip.right() - 4.0, strip.bottom() - 2.0),
            egui::Align2::RIGHT_BOTTOM,
            format!("+{} more lanes", bands.lanes - lanes),
            egui::FontId::proportional(10.0),
            Color32::from_gray(200),
        );
    }
    if let Some((k, f)) = seek {
        // The clip panel samples inside the clicked segment from now on.
        cmds.push(Command::SelectSegment(Some(k)));
        cmds.push(Command::Seek {
            frame: f,
            pause: true,
        });
    }
}
