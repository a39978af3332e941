//! The `VDX_SCREENSHOT` mode that `scripts/screenshots.sh` uses: once the window shows what
//! the picture needs (a video indexed and its exact frame, a dataset's sample, a finished
//! pass), write the window as a PNG and close.

use super::{RightTab, VdxApp};

/// One frame's step of the screenshot mode.
pub(super) fn step(app: &mut VdxApp, ctx: &egui::Context) {
    let Some((path, frames)) = &mut app.screenshot else {
        return;
    };
    // VDX_DATASET_VIEW=compare: the dataset's source-vs-stored view, after the quality
    // pass has listed the worst samples.
    let compare = std::env::var("VDX_DATASET_VIEW").is_ok_and(|v| v == "compare");
    // VDX_DATASET_VIEW=health: the saved health report read, the first sample with a cut
    // (else any flag) open with its strip marked.
    let health = std::env::var("VDX_DATASET_VIEW").is_ok_and(|v| v == "health");
    let mut health_pick = None;
    if let Some(d) = app
        .state
        .active_dataset
        .and_then(|k| app.state.datasets.get_mut(k))
    {
        if let Some(r) = d.health.report.clone().filter(|_| health) {
            let pick = r
                .samples
                .iter()
                .find(|s| s.has("cut"))
                .or_else(|| r.samples.iter().find(|s| !s.flags.is_empty()))
                .map(|s| s.index);
            if let Some(p) = pick.filter(|&p| d.selected != Some(p)) {
                d.select(p, ctx);
            }
            health_pick = pick;
        }
    }
    if let Some(d) = app
        .state
        .active_dataset
        .and_then(|k| app.state.datasets.get_mut(k))
    {
        if compare && !d.compare {
            d.compare = true;
        }
        if compare && d.ds.is_some() && !d.quality.passing() && d.quality.report.is_none() {
            let ds = d.ds.clone().expect("checked");
            d.quality.start_pass(&ds, ctx);
        }
    }
    // Wait until the video is indexed, the exact frame and clips are shown.
    let dataset_ready = app
        .state
        .active_dataset
        .and_then(|k| app.state.datasets.get(k))
        .map(|d| {
            d.sample.is_some()
                && (!compare || d.quality.shown.is_some() && d.quality.report.is_some())
                && (!health
                    || health_pick.is_some()
                        && d.sample.as_ref().map(|(m, _)| m.index) == health_pick)
        });
    let panel_ready = match app.right_tab {
        RightTab::Clips => true,
        RightTab::Flow => app.flow.result.is_some(),
        RightTab::Augment => app.augment.result.is_some(),
    };
    let building = std::env::var_os("VDX_DEMO_BUILD").is_some();
    let fields_done = std::env::var_os("VDX_DEMO_FIELDS").is_none() || app.fields.result.is_some();
    // VDX_SHOT_AFTER_SCAN: also wait for the background decode (damaged frames marked).
    let scanned = std::env::var_os("VDX_SHOT_AFTER_SCAN").is_none()
        || app.state.active_tab().is_some_and(|t| t.damaged.is_some());
    let ready = building && app.build.status().is_some_and(|(_, f, _)| f >= 0.25)
        || !building && dataset_ready.unwrap_or(false)
        || !building
            && dataset_ready.is_none()
            && panel_ready
            && scanned
            && app.state.active_tab().is_some_and(|t| {
                t.shown == Some((t.current, true))
                    && (app.right_tab != RightTab::Clips || !t.clips.is_empty())
            });
    let ready = ready && fields_done;
    if ready || *frames > 0 {
        *frames += 1;
    }
    if *frames == 10 {
        let (path, c) = (path.clone(), ctx.clone());
        ctx.request_screenshot(move |img| {
            let (w, h) = (img.size[0] as u32, img.size[1] as u32);
            let rgba: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
            match image::RgbaImage::from_raw(w, h, rgba).map(|b| b.save(&path)) {
                Some(Ok(())) => eprintln!("vdx: wrote {}", path.display()),
                Some(Err(e)) => eprintln!("vdx: cannot write {}: {e}", path.display()),
                None => eprintln!("vdx: the screenshot has no pixels"),
            }
            c.send_viewport_cmd(egui::ViewportCommand::Close);
            c.request_repaint();
        });
    }
    ctx.request_repaint();
}
