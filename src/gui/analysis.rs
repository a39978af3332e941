//! The flow view's and the augmentation preview's computations (both run on background
//! threads from the current video position) and the widgets they draw with.

pub use super::jobs::Job;

use crate::augment::{self, Recipe};
use crate::dataset::fields::{self, FarnebackParams};
use crate::video::decode::{DecodeOptions, Resize, VideoDecoder};
use crate::video::index::VideoIndex;
use egui::{Color32, Vec2};
use std::path::PathBuf;
use std::sync::Arc;

/// The bundled recipes (also in `assets/recipes/`).
pub fn presets() -> Vec<(&'static str, Recipe)> {
    [
        (
            "train_224",
            include_str!("../../assets/recipes/train_224.json"),
        ),
        ("light", include_str!("../../assets/recipes/light.json")),
        (
            "eval_224",
            include_str!("../../assets/recipes/eval_224.json"),
        ),
    ]
    .into_iter()
    .filter_map(|(n, j)| Recipe::from_json(j).ok().map(|r| (n, r)))
    .collect()
}

/// Flow between two frames, ready to show.
pub struct FlowResult {
    pub frame: usize,
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
    pub max_mag: f32,
    /// Magnitude histogram: (bin start px, count).
    pub hist: Vec<(f64, f64)>,
    pub bin_px: f64,
    /// Share of components that int8 at the scale would clip, and that would round to 0.
    pub clipped: f64,
    pub zeroed: f64,
    pub scale: f32,
    /// The flow colour image with pixels int8 would clip in red and pixels it would round
    /// to zero darkened.
    pub quant_rgb: Vec<u8>,
    /// Arrows on a 16-pixel grid: (x, y, dx, dy) in image pixels.
    pub arrows: Vec<[f32; 4]>,
}

/// A decoder of `path` giving frames at 320 px on the long side, and that size.
fn decoder_320(
    path: &std::path::Path,
    index: &Arc<VideoIndex>,
    size: (u32, u32),
) -> Result<(VideoDecoder, Resize), String> {
    let r = super::worker::fit_to(size.0, size.1, 320);
    let d = VideoDecoder::with_index(
        path,
        index.clone(),
        DecodeOptions {
            resize: Some(r),
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    Ok((d, r))
}

/// Farneback flow from frame `i` to `i + 1` at 320 px on the long side.
pub fn compute_flow(
    path: PathBuf,
    index: Arc<VideoIndex>,
    size: (u32, u32),
    i: usize,
    scale: f32,
    fixed_max: Option<f32>,
) -> Result<FlowResult, String> {
    let (mut d, r) = decoder_320(&path, &index, size)?;
    let j = (i + 1).min(index.len().saturating_sub(1));
    let f = d.frames(&[i, j]).map_err(|e| e.to_string())?;
    let flow = fields::farneback_flow(
        &[&f[0].data, &f[1].data],
        r.width,
        r.height,
        &FarnebackParams::default(),
    )
    .map_err(|e| e.to_string())?;
    let mags: Vec<f32> = flow
        .chunks_exact(2)
        .map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt())
        .collect();
    let max_mag = mags.iter().copied().fold(0.0f32, f32::max);
    let rgb = crate::flowviz::flow_to_rgb(&flow, fixed_max.or(Some(max_mag.max(1e-3))));
    let bins = 32usize;
    let top = (max_mag as f64).max(1.0);
    let bin_px = top / bins as f64;
    let mut counts = vec![0f64; bins];
    for m in &mags {
        counts[((*m as f64 / bin_px) as usize).min(bins - 1)] += 1.0;
    }
    let n = flow.len().max(1) as f64;
    let clipped = flow.iter().filter(|v| (*v * scale).abs() > 127.5).count() as f64 / n;
    let zeroed = flow
        .iter()
        .filter(|v| **v != 0.0 && (*v * scale).abs() < 0.5)
        .count() as f64
        / n;
    let (w, h) = (r.width as usize, r.height as usize);
    let mut quant_rgb = rgb.clone();
    for (k, p) in flow.chunks_exact(2).enumerate() {
        let big = p.iter().any(|v| (v * scale).abs() > 127.5);
        let tiny = p.iter().all(|v| (v * scale).abs() < 0.5) && (p[0] != 0.0 || p[1] != 0.0);
        let px = &mut quant_rgb[k * 3..k * 3 + 3];
        if big {
            px.copy_from_slice(&[230, 40, 40]);
        } else if tiny {
            for c in px.iter_mut() {
                *c /= 3;
            }
        }
    }
    let mut arrows = Vec::new();
    for y in (8..h).step_by(16) {
        for x in (8..w).step_by(16) {
            let k = (y * w + x) * 2;
            arrows.push([x as f32, y as f32, flow[k], flow[k + 1]]);
        }
    }
    Ok(FlowResult {
        quant_rgb,
        arrows,
        frame: i,
        width: r.width as usize,
        height: r.height as usize,
        rgb,
        max_mag,
        hist: counts
            .into_iter()
            .enumerate()
            .map(|(k, c)| (k as f64 * bin_px, c))
            .collect(),
        bin_px,
        clipped,
        zeroed,
        scale,
    })
}

/// K augmented draws of the clip starting at frame `start`.
pub struct AugResult {
    pub start: usize,
    pub rows: Vec<augment::Clip>,
    pub draws: Vec<Vec<augment::Draw>>,
}

/// Decode `frames` frames from `start` at 320 px (long side) and apply `recipe` K times
/// (epochs 0..K of sample 0: exactly what `vdx augment` and training compute for that seed).
pub fn compute_augment(
    path: PathBuf,
    index: Arc<VideoIndex>,
    size: (u32, u32),
    start: usize,
    frames: usize,
    recipe: Recipe,
    draws: usize,
) -> Result<AugResult, String> {
    let (mut d, r) = decoder_320(&path, &index, size)?;
    let n = index.len();
    let idx: Vec<usize> = (start..(start + frames).min(n)).collect();
    let fr = d.frames(&idx).map_err(|e| e.to_string())?;
    let data: Vec<u8> = fr.iter().flat_map(|f| f.data.iter().copied()).collect();
    let clip = augment::Clip::new(idx.len(), r.height as usize, r.width as usize, data)
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut all = Vec::new();
    for e in 0..draws as u64 {
        let (c, d) = augment::apply(&recipe, &clip, 0, e).map_err(|e| e.to_string())?;
        rows.push(c);
        all.push(d);
    }
    Ok(AugResult {
        start,
        rows,
        draws: all,
    })
}

/// The flow colour wheel as a small image, for the legend.
pub fn wheel_image(side: usize) -> egui::ColorImage {
    let mut rgb = Vec::with_capacity(side * side * 3);
    let c = (side as f32 - 1.0) / 2.0;
    for y in 0..side {
        for x in 0..side {
            let (u, v) = ((x as f32 - c) / c, (y as f32 - c) / c);
            if u * u + v * v > 1.0 {
                rgb.extend_from_slice(&[27, 27, 27]);
            } else {
                rgb.extend_from_slice(&crate::flowviz::flow_color(u, v));
            }
        }
    }
    egui::ColorImage::from_rgb([side, side], &rgb)
}

/// Draw a recipe's parameters as editable widgets; returns whether anything changed.
pub fn recipe_editor(ui: &mut egui::Ui, r: &mut Recipe) -> bool {
    use augment::Op;
    let mut changed = false;
    fn drag_f(ui: &mut egui::Ui, label: &str, v: &mut f64, lo: f64, hi: f64) -> bool {
        let l = ui.label(label);
        ui.add(egui::DragValue::new(v).range(lo..=hi).speed(0.01))
            .labelled_by(l.id)
            .changed()
    }
    for (k, op) in r.ops.iter_mut().enumerate() {
        ui.push_id(k, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.strong(op.name());
                match op {
                    Op::HorizontalFlip { p } | Op::Grayscale { p } => {
                        changed |= drag_f(ui, "p", p, 0.0, 1.0)
                    }
                    Op::ColorJitter {
                        brightness,
                        contrast,
                        saturation,
                        hue,
                    } => {
                        changed |= drag_f(ui, "brightness", brightness, 0.0, 2.0);
                        changed |= drag_f(ui, "contrast", contrast, 0.0, 2.0);
                        changed |= drag_f(ui, "saturation", saturation, 0.0, 2.0);
                        changed |= drag_f(ui, "hue", hue, 0.0, 0.5);
                    }
                    Op::RandomResizedCrop { scale, ratio, .. } => {
                        changed |= drag_f(ui, "scale min", &mut scale[0], 0.01, 1.0);
                        changed |= drag_f(ui, "scale max", &mut scale[1], 0.01, 1.0);
                        changed |= drag_f(ui, "ratio min", &mut ratio[0], 0.1, 10.0);
                        changed |= drag_f(ui, "ratio max", &mut ratio[1], 0.1, 10.0);
                    }
                    Op::TemporalCrop { frames, .. } => {
                        let l = ui.label("frames");
                        changed |= ui
                            .add(egui::DragValue::new(frames).range(1..=64))
                            .labelled_by(l.id)
                            .changed();
                    }
                    other => {
                        // Parameters without a slider, read-only: "size 256".
                        let text = match serde_json::to_value(other) {
                            Ok(serde_json::Value::Object(mut m)) => {
                                m.remove("op");
                                super::json_text(&serde_json::Value::Object(m))
                            }
                            _ => String::new(),
                        };
                        ui.weak(text);
                    }
                }
            });
        });
    }
    changed
}

/// Show a histogram of flow magnitudes.
pub fn flow_histogram(ui: &mut egui::Ui, f: &FlowResult) {
    let bars: Vec<egui_plot::Bar> = f
        .hist
        .iter()
        .map(|(x, c)| {
            egui_plot::Bar::new(x + f.bin_px / 2.0, *c)
                .width(f.bin_px * 0.9)
                .fill(Color32::from_rgb(86, 156, 214))
        })
        .collect();
    egui_plot::Plot::new("flow_hist")
        .height(110.0)
        .allow_zoom(false)
        .allow_drag(false)
        .x_axis_label("flow magnitude (px)")
        .show(ui, |p| {
            p.bar_chart(egui_plot::BarChart::new("pixels", bars))
        });
}

pub const FILMSTRIP_SIDE: f32 = 72.0;

/// A row of frames.
pub fn filmstrip(ui: &mut egui::Ui, tex: &[egui::TextureHandle], side: f32) {
    ui.horizontal(|ui| {
        for t in tex {
            let sz = t.size_vec2();
            let s = side / sz.y.max(1.0);
            ui.add(egui::Image::new((t.id(), Vec2::new(sz.x * s, side))));
        }
    });
}
