//! Helpers shared by the GUI benchmarks.
#![allow(dead_code)]

use egui_kittest::Harness;
use vdx::gui::VdxApp;

/// The `p` quantile (0..1) of `v`, nearest rank.
pub fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let k = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(k).copied().unwrap_or(f64::NAN)
}

/// The real explorer, headless, at `w`×`h`, stepping 1/60 s per frame.
pub fn harness(w: f32, h: f32) -> Harness<'static, VdxApp> {
    Harness::builder()
        .with_size(egui::Vec2::new(w, h))
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(
            |ui, app: &mut VdxApp| app.show(ui),
            VdxApp::new(vec![], &egui::Context::default()),
        )
}
