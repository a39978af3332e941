//! The explorer while the dataset-wide quality pass runs: the real app (headless,
//! egui_kittest) opens a dataset in its source-vs-stored view, starts the pass from its button
//! and steps the UI until the pass ends; reports the UI frame times meanwhile and the pass's
//! duration. Usage:
//!     cargo bench --bench gui_quality -- DATASET
//! (`make bench-quality` builds one from the corpus.)

mod common;
use common::pct;

use egui_kittest::kittest::Queryable;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let Some(path) = args.get(1).cloned() else {
        eprintln!("usage: cargo bench --bench gui_quality -- DATASET");
        return;
    };
    let mut h = common::harness(1400.0, 860.0);
    let ctx = h.ctx.clone();
    h.state_mut().state.open(path.clone().into(), &ctx);
    while h.state().state.datasets[0].sample.is_none() {
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    h.get_by_label("Source vs stored").click();
    while h.state().state.datasets[0].quality.shown.is_none() {
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    h.step();
    h.get_by_label("Quality pass").click();
    let t0 = Instant::now();
    let mut frame_ms = Vec::new();
    // Frames at the display's pace (60 Hz) while the pass runs on the worker threads.
    while h.state().state.datasets[0].quality.report.is_none() {
        let s = Instant::now();
        h.step();
        let ms = s.elapsed().as_secs_f64() * 1e3;
        frame_ms.push(ms);
        std::thread::sleep(Duration::from_secs_f64((1.0 / 60.0 - ms / 1e3).max(0.0)));
    }
    let pass_secs = t0.elapsed().as_secs_f64();
    let r = h.state().state.datasets[0]
        .quality
        .report
        .clone()
        .unwrap()
        .unwrap();
    println!(
        "{{\"dataset\": {path:?}, \"samples\": {}, \"pass_secs\": {pass_secs:.2}, \"ui_frames\": {}, \"ui_frame_ms_p50\": {:.2}, \"ui_frame_ms_p99\": {:.2}, \"ui_frame_ms_max\": {:.2}}}",
        r.samples.len(),
        frame_ms.len(),
        pct(frame_ms.clone(), 0.5),
        pct(frame_ms.clone(), 0.99),
        pct(frame_ms, 1.0)
    );
}
