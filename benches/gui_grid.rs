//! Dataset grid benchmark: the real explorer (headless, egui_kittest) opens a dataset and
//! scrolls its thumbnail grid from top to bottom; reports the time to open and list it and
//! the UI frame times while scrolling. Usage:
//!     cargo bench --bench gui_grid -- DATASET
//! (make one with 100,000 samples: see docs/performance.md, "The explorer: scrubbing and the dataset grid").

mod common;
use common::pct;

use egui_kittest::kittest::{NodeT, Queryable};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let Some(path) = args.get(1).cloned() else {
        eprintln!("usage: cargo bench --bench gui_grid -- DATASET");
        return;
    };
    let mut h = common::harness(1400.0, 860.0);
    let ctx = h.ctx.clone();
    let t0 = Instant::now();
    h.state_mut().state.open(path.clone().into(), &ctx);
    while h.state().state.datasets[0].catalog.is_none() {
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    let listed_ms = t0.elapsed().as_secs_f64() * 1e3;
    let n = h.state().state.datasets[0].visible.len();
    // Scroll down in steps of about a screen, measuring each UI frame.
    let mut frame_ms = Vec::new();
    for _ in 0..400 {
        if let Some(node) = h.query_all_by_label_contains("#").next() {
            node.scroll_down();
        }
        let s = Instant::now();
        h.step();
        frame_ms.push(s.elapsed().as_secs_f64() * 1e3);
    }
    let first_visible = h
        .query_all_by_label_contains("#")
        .filter_map(|n| {
            n.accesskit_node()
                .label()
                .and_then(|l| l.trim_start_matches('#').parse::<u64>().ok())
        })
        .min()
        .unwrap_or(0);
    eprintln!("after scrolling, the first sample on screen is #{first_visible}");
    // Filter by source name across all samples.
    let s = Instant::now();
    h.state_mut().state.datasets[0].filter_source = "clip050".into();
    h.step();
    let filter_ms = s.elapsed().as_secs_f64() * 1e3;
    let kept = h.state().state.datasets[0].visible.len();
    println!(
        "{{\"dataset\": {path:?}, \"samples\": {n}, \"open_and_list_ms\": {listed_ms:.0}, \"ui_frame_ms_p50_scrolling\": {:.2}, \"ui_frame_ms_p99_scrolling\": {:.2}, \"filter_ms\": {filter_ms:.1}, \"filter_kept\": {kept}}}",
        pct(frame_ms.clone(), 0.5),
        pct(frame_ms, 0.99)
    );
}
