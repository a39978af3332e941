//! Scrubbing benchmark: the real explorer (driven headless by egui_kittest) scrubs a video to
//! random positions; reports UI frame times while the decoder works, and how long until the
//! exact frame is on screen. Usage:
//!     cargo bench --bench gui_scrub -- [VIDEO] [SEEKS]
//! (default: the corpus's long-GOP 1080p file, 40 seeks).

mod common;
use common::pct;

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let file = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "target/corpus/a_1080p30_h264_gop250_aac.mp4".into());
    let seeks: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    let mut h = common::harness(1400.0, 860.0);
    let ctx = h.ctx.clone();
    h.state_mut().state.open(file.clone().into(), &ctx);
    let t0 = Instant::now();
    while h
        .state()
        .state
        .active_tab()
        .is_none_or(|t| t.index.is_none())
    {
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    let n = h
        .state()
        .state
        .active_tab()
        .unwrap()
        .index
        .as_ref()
        .unwrap()
        .len();
    eprintln!(
        "indexed {n} frames in {:.0} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    // Let the preview cache fill (as a user would after opening).
    std::thread::sleep(Duration::from_secs(3));
    let mut step_ms = Vec::new();
    let mut exact_ms = Vec::new();
    let mut preview_ms = Vec::new();
    let mut state = 0x9E3779B97F4A7C15u64;
    for _ in 0..seeks {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let target = (state % n as u64) as usize;
        h.state_mut().state.tabs[0].current = target;
        let t = Instant::now();
        let mut previewed = false;
        loop {
            let s = Instant::now();
            h.step();
            step_ms.push(s.elapsed().as_secs_f64() * 1e3);
            let tab = &h.state().state.tabs[0];
            if !previewed && tab.shown.is_some_and(|(i, _)| i.abs_diff(target) < n / 10) {
                previewed = true;
                preview_ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
            if tab.shown == Some((target, true)) {
                exact_ms.push(t.elapsed().as_secs_f64() * 1e3);
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // UI frame time while a dataset build of the same file runs in the background.
    let dir = std::env::temp_dir().join(format!("vdx-scrub-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    {
        let b = &mut h.state_mut().build;
        b.inputs = vec![file.clone().into(); 4];
        b.out = Some(dir.join("bench.vdx"));
        b.opts.sampler.num_clips = 4;
    }
    h.state_mut().build.start(&ctx);
    let mut busy_ms = Vec::new();
    while h.state().build.running() {
        let s = Instant::now();
        h.step();
        busy_ms.push(s.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(16));
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{{\"file\": {file:?}, \"seeks\": {seeks}, \"exact_frame_ms_p50\": {:.0}, \"exact_frame_ms_p95\": {:.0}, \"first_preview_ms_p50\": {:.1}, \"first_preview_ms_p95\": {:.1}, \"ui_frame_ms_p50_scrubbing\": {:.2}, \"ui_frame_ms_p99_scrubbing\": {:.2}, \"ui_frame_ms_p99_during_build\": {:.2}, \"frames_during_build\": {}}}",
        pct(exact_ms.clone(), 0.5),
        pct(exact_ms, 0.95),
        pct(preview_ms.clone(), 0.5),
        pct(preview_ms, 0.95),
        pct(step_ms.clone(), 0.5),
        pct(step_ms, 0.99),
        pct(busy_ms.clone(), 0.99),
        busy_ms.len()
    );
}
