//! Memory soak and concurrency: the real explorer, driven headless by egui_kittest.
//!
//!     cargo bench --bench soak -- [VIDEO] [SECONDS]
//!
//! 1. Soak (default 600 s on the corpus's long-GOP 1080p file): alternately plays 5 s and
//!    makes 10 random seeks (each waits for the exact frame), printing resident memory every
//!    10 s. After the warm-up (the first minute: preview cache, decoder pools, textures) the
//!    curve must stay flat; the summary gives the warm-up RSS, the highest RSS after it and
//!    the least-squares slope over the rest of the run.
//! 2. Concurrency: two dataset builds, an export and playback at once; UI frame time (p50,
//!    p99, max) while they run; then every job is cancelled and the process's thread count
//!    and resident memory are compared with before the jobs started.
//!
//! Output: `t_secs,rss_mb` lines, then one JSON summary line.

mod common;
use common::pct;

use egui_kittest::Harness;
use std::time::{Duration, Instant};
use vdx::gui::VdxApp;

fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let file = args
        .first()
        .cloned()
        .unwrap_or_else(|| "target/corpus/a_1080p30_h264_gop250_aac.mp4".into());
    let secs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(600.0);
    let mut h = common::harness(1280.0, 800.0);
    let ctx = h.ctx.clone();
    h.state_mut().state.open(file.clone().into(), &ctx);
    while h
        .state()
        .state
        .active_tab()
        .is_none_or(|t| t.index.is_none())
    {
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    let n = h.state().state.tabs[0]
        .index
        .as_ref()
        .map_or(0, |i| i.len());
    let step = |h: &mut Harness<'_, VdxApp>, times: &mut Vec<f64>| {
        let s = Instant::now();
        h.step();
        times.push(s.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(16));
    };

    // 1. Soak.
    let start = Instant::now();
    let mut curve: Vec<(f64, f64)> = vec![(0.0, rss_mb())];
    println!("t_secs,rss_mb\n0,{:.1}", curve[0].1);
    let mut next_sample = 10.0;
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let (mut seeks, mut exact, mut played_frames) = (0usize, 0usize, 0usize);
    let mut soak_steps = Vec::new();
    while start.elapsed().as_secs_f64() < secs {
        // Play 5 s.
        h.state_mut().state.tabs[0].playing = true;
        let t = Instant::now();
        let first = h.state().state.tabs[0].current;
        while t.elapsed() < Duration::from_secs(5) {
            step(&mut h, &mut soak_steps);
            if !h.state().state.tabs[0].playing {
                h.state_mut().state.tabs[0].current = 0;
                h.state_mut().state.tabs[0].playing = true;
            }
        }
        played_frames += h.state().state.tabs[0].current.abs_diff(first);
        h.state_mut().state.tabs[0].playing = false;
        // 10 seeks, each until the exact frame shows (or 3 s).
        for _ in 0..10 {
            let target = rng.below(n);
            h.state_mut().state.tabs[0].current = target;
            seeks += 1;
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(3) {
                step(&mut h, &mut soak_steps);
                if h.state().state.tabs[0].shown == Some((target, true)) {
                    exact += 1;
                    break;
                }
            }
        }
        let el = start.elapsed().as_secs_f64();
        if el >= next_sample {
            let r = rss_mb();
            curve.push((el, r));
            println!("{el:.0},{r:.1}");
            next_sample += 10.0;
        }
    }
    let warm = 60.0_f64.min(secs / 4.0);
    let after: Vec<(f64, f64)> = curve.iter().copied().filter(|&(t, _)| t >= warm).collect();
    let warm_rss = after.first().map_or(f64::NAN, |p| p.1);
    let max_after = after.iter().map(|p| p.1).fold(f64::NAN, f64::max);
    let slope_per_min = {
        let k = after.len() as f64;
        let (mt, mr) = (
            after.iter().map(|p| p.0).sum::<f64>() / k,
            after.iter().map(|p| p.1).sum::<f64>() / k,
        );
        let cov: f64 = after.iter().map(|p| (p.0 - mt) * (p.1 - mr)).sum();
        let var: f64 = after.iter().map(|p| (p.0 - mt).powi(2)).sum();
        60.0 * cov / var
    };

    // 2. Concurrency: two builds, an export and playback at once.
    let dir = std::env::temp_dir().join(format!("vdx-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The export needs a dataset: a small one, built first (not measured).
    let small = dir.join("small.vdx");
    {
        let b = &mut h.state_mut().build;
        b.inputs = vec![file.clone().into(); 4];
        b.out = Some(small.clone());
        b.opts.sampler.num_clips = 16;
    }
    h.state_mut().build.start(&ctx);
    while h.state().build.running() {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(2));
    h.step();
    let (threads_before, rss_before) = (threads(), rss_mb());
    let mut second = vdx::gui::build_dialog::BuildDialog::default();
    second.inputs = vec![file.clone().into(); 6];
    second.out = Some(dir.join("b2.vdx"));
    second.opts.sampler.num_clips = 8;
    {
        let b = &mut h.state_mut().build;
        b.inputs = vec![file.clone().into(); 6];
        b.out = Some(dir.join("b1.vdx"));
    }
    h.state_mut().build.start(&ctx);
    second.start(&ctx);
    {
        let e = &mut h.state_mut().export;
        e.dataset = Some(small.clone());
        e.out = Some(dir.join("export"));
        e.format = vdx::export::Format::Mp4;
    }
    h.state_mut().export.start(&ctx, None);
    h.state_mut().state.tabs[0].current = 0;
    h.state_mut().state.tabs[0].playing = true;
    let mut busy = Vec::new();
    let t = Instant::now();
    let mut peak_threads = 0;
    let mut all_running_frames = 0;
    while t.elapsed() < Duration::from_secs(15) {
        step(&mut h, &mut busy);
        peak_threads = peak_threads.max(threads());
        if h.state().build.running() && second.running() && h.state().export.running() {
            all_running_frames += 1;
        }
    }
    h.state().build.cancel();
    second.cancel();
    h.state().export.cancel();
    h.state_mut().state.tabs[0].playing = false;
    let t = Instant::now();
    while (h.state().build.running() || second.running() || h.state().export.running())
        && t.elapsed() < Duration::from_secs(30)
    {
        h.step();
        second.poll();
        std::thread::sleep(Duration::from_millis(10));
    }
    let cancel_secs = t.elapsed().as_secs_f64();
    let outcome = |r: Option<bool>| match r {
        Some(true) => "finished",
        Some(false) => "cancelled or failed",
        None => "running",
    };
    let outcomes = format!(
        "build 1 {}, build 2 {}, export {}",
        outcome(h.state().build.result.as_ref().map(|r| r.is_ok())),
        outcome(second.result.as_ref().map(|r| r.is_ok())),
        outcome(h.state().export.result.as_ref().map(|r| r.is_ok())),
    );
    let export_done = h.state().export.result.as_ref().is_some_and(|r| r.is_ok());
    for _ in 0..100 {
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    let (threads_after, rss_after) = (threads(), rss_mb());
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n != "small.vdx" && !(export_done && n == "export"))
        .filter(|n| {
            // A finished build's file is legitimate; anything else is a leftover.
            let finished = |r: &Option<Result<_, String>>| r.as_ref().is_some_and(|r| r.is_ok());
            let legit = (n == "b1.vdx" && finished(&h.state().build.result))
                || (n == "b2.vdx" && finished(&second.result));
            !legit
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{{\"file\": {file:?}, \"soak_secs\": {secs}, \"seeks\": {seeks}, \"exact_shown\": {exact}, \"frames_played\": {played_frames}, \"rss_mb_start\": {:.1}, \"rss_mb_after_warmup\": {warm_rss:.1}, \"rss_mb_max_after_warmup\": {max_after:.1}, \"rss_mb_end\": {:.1}, \"rss_slope_mb_per_min\": {slope_per_min:.3}, \"ui_frame_ms_p99_soak\": {:.2}, \"jobs_ui_frame_ms_p50\": {:.2}, \"jobs_ui_frame_ms_p99\": {:.2}, \"jobs_ui_frame_ms_max\": {:.2}, \"frames_with_all_jobs_running\": {all_running_frames}, \"threads_before_jobs\": {threads_before}, \"threads_peak\": {peak_threads}, \"threads_after_cancel\": {threads_after}, \"rss_mb_before_jobs\": {rss_before:.1}, \"rss_mb_after_cancel\": {rss_after:.1}, \"cancel_secs\": {cancel_secs:.2}, \"left_in_output_dir\": {leftovers:?}, \"jobs\": {outcomes:?}}}",
        curve[0].1,
        curve.last().map_or(f64::NAN, |p| p.1),
        pct(soak_steps, 0.99),
        pct(busy.clone(), 0.5),
        pct(busy.clone(), 0.99),
        busy.iter().copied().fold(0.0, f64::max),
    );
}
