//! The explorer GUI driven through egui_kittest: the real app, its real worker threads and
//! decoders, queried through the accessibility tree like a user would read the screen.

mod common;

use common::*;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use std::path::{Path, PathBuf};
use vdx::gui::VdxApp;

fn sample() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample.mp4"))
}

fn harness_with(files: &[&Path]) -> Harness<'static, VdxApp> {
    let mut h = Harness::builder()
        .with_size(egui::Vec2::new(1400.0, 860.0))
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(
            |ui, app: &mut VdxApp| app.show(ui),
            VdxApp::new(vec![], &egui::Context::default()),
        );
    let ctx = h.ctx.clone();
    for f in files {
        h.state_mut().state.open(f.to_path_buf(), &ctx);
    }
    h
}

/// Step the UI (workers run on their own threads) until `done` holds or 20 s pass.
fn wait_for(h: &mut Harness<'static, VdxApp>, what: &str, done: impl Fn(&VdxApp) -> bool) {
    let t0 = std::time::Instant::now();
    while !done(h.state()) {
        assert!(t0.elapsed().as_secs() < 20, "timed out waiting for: {what}");
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.step();
}

/// The video tab shown.
fn active<'a>(h: &'a Harness<'static, VdxApp>) -> &'a vdx::gui::VideoTab {
    h.state().state.active_tab().unwrap()
}

fn exact_frame_shown(app: &VdxApp) -> bool {
    app.state
        .active_tab()
        .is_some_and(|t| t.index.is_some() && t.shown == Some((t.current, true)))
}

#[test]
fn opening_a_video_shows_its_metadata_and_exact_first_frame() {
    let mut h = harness_with(&[&sample()]);
    wait_for(&mut h, "the index", |a| {
        a.state.active_tab().is_some_and(|t| t.index.is_some())
    });
    // The metadata panel states the counted frames and keyframes and the codec.
    h.get_by_label("180 (6 keyframes)");
    h.get_by_label_contains("h264 (High)");
    h.get_by_label("yuv420p");
    wait_for(&mut h, "frame 0", exact_frame_shown);
    h.get_by_label_contains("frame 0 / 180");
}

#[test]
fn keyboard_and_buttons_step_seek_and_jump_between_keyframes() {
    let mut h = harness_with(&[&sample()]);
    wait_for(&mut h, "frame 0", exact_frame_shown);
    h.key_press(egui::Key::ArrowRight);
    h.step();
    assert_eq!(active(&h).current, 1);
    wait_for(&mut h, "frame 1", exact_frame_shown);
    h.get_by_label_contains("frame 1 / 180");
    // ']' jumps to the next keyframe (GOP 30), '[' back to the previous one.
    h.key_press(egui::Key::CloseBracket);
    h.step();
    assert_eq!(active(&h).current, 30);
    h.key_press(egui::Key::CloseBracket);
    h.step();
    assert_eq!(active(&h).current, 60);
    h.key_press(egui::Key::OpenBracket);
    h.step();
    assert_eq!(active(&h).current, 30);
    h.key_press(egui::Key::End);
    h.step();
    assert_eq!(active(&h).current, 179);
    wait_for(&mut h, "the last frame", exact_frame_shown);
    h.key_press(egui::Key::Home);
    h.step();
    assert_eq!(active(&h).current, 0);
    // The buttons do the same.
    h.get_by_label("1 >").click();
    h.step();
    h.get_by_label("1 >").click();
    h.step();
    assert_eq!(active(&h).current, 2);
    h.get_by_label("key >|").click();
    h.step();
    assert_eq!(active(&h).current, 30);
    h.get_by_label("< 1").click();
    h.step();
    assert_eq!(active(&h).current, 29);
    wait_for(&mut h, "frame 29", exact_frame_shown);
}

/// The explorer's state driven by commands alone, without a window: what the keys, buttons
/// and clicks push is what moves the video, in one place.
#[test]
fn commands_drive_the_state_without_a_window() {
    use vdx::gui::{Command, State};
    let ctx = egui::Context::default();
    let mut st = State::default();
    st.apply(Command::Open(sample()), &ctx);
    st.apply(Command::Open(fixture("h264_bframes.mp4")), &ctx);
    // Opening a path again shows its tab instead of a second one.
    st.apply(Command::Open(sample()), &ctx);
    assert_eq!((st.tabs.len(), st.active), (2, 0));
    assert_eq!(st.recent[0], sample());
    let t0 = std::time::Instant::now();
    while st.tabs.iter().any(|t| t.index.is_none()) {
        assert!(t0.elapsed().as_secs() < 20, "timed out indexing");
        st.poll(&ctx);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let cur = |st: &State| st.active_tab().unwrap().current;
    st.apply(Command::Step(1), &ctx);
    st.apply(Command::Step(1), &ctx);
    assert_eq!(cur(&st), 2);
    st.apply(Command::Step(-5), &ctx);
    assert_eq!(cur(&st), 0, "stepping back stops at the first frame");
    st.apply(Command::NextKeyframe, &ctx);
    st.apply(Command::NextKeyframe, &ctx);
    assert_eq!(cur(&st), 60);
    st.apply(Command::PrevKeyframe, &ctx);
    assert_eq!(cur(&st), 30);
    st.apply(
        Command::Seek {
            frame: 10_000,
            pause: true,
        },
        &ctx,
    );
    assert_eq!(cur(&st), 179, "a seek past the end stops on the last frame");
    // Playing from the last frame starts again at the first; a step pauses.
    st.apply(Command::TogglePlay, &ctx);
    assert!(st.active_tab().unwrap().playing);
    assert_eq!(cur(&st), 0);
    st.apply(Command::Step(1), &ctx);
    assert!(!st.active_tab().unwrap().playing);
    // Moves go to the video shown, and each video keeps its own frame.
    st.apply(Command::ShowVideo(1), &ctx);
    st.apply(Command::Step(1), &ctx);
    assert_eq!((st.active, cur(&st)), (1, 1));
    st.apply(Command::ShowVideo(0), &ctx);
    assert_eq!(cur(&st), 1);
    // A tab that is not there is ignored; closing one keeps a valid active tab.
    st.apply(Command::ShowVideo(7), &ctx);
    st.apply(Command::CloseVideo(7), &ctx);
    assert_eq!((st.tabs.len(), st.active), (2, 0));
    st.apply(Command::ShowVideo(1), &ctx);
    st.apply(Command::CloseVideo(1), &ctx);
    assert_eq!((st.tabs.len(), st.active), (1, 0));
    // Errors are shown until dismissed.
    st.apply(Command::Error("x.mp4: broken".into()), &ctx);
    assert_eq!(st.errors, ["x.mp4: broken"]);
    st.apply(Command::DismissErrors, &ctx);
    assert!(st.errors.is_empty());
}

#[test]
fn playback_advances_at_the_videos_own_timing() {
    let mut h = harness_with(&[&sample()]);
    wait_for(&mut h, "frame 0", exact_frame_shown);
    h.key_press(egui::Key::Space);
    h.step();
    assert!(active(&h).playing);
    // The harness clock advances a fixed step per frame; about half a second of media time.
    for _ in 0..30 {
        h.step();
    }
    let cur = active(&h).current;
    assert!(
        (13..=17).contains(&cur),
        "after 0.5 s of playback the frame is {cur}"
    );
    h.key_press(egui::Key::Space);
    h.step();
    assert!(!active(&h).playing);
    // Played to the end, it stops on the last frame.
    h.key_press(egui::Key::Space);
    for _ in 0..400 {
        h.step();
    }
    let t = active(&h);
    assert!(!t.playing);
    assert_eq!(t.current, 179);
}

#[test]
fn a_broken_file_shows_an_error_in_the_window_and_other_videos_keep_working() {
    let bad = fixture("text.mp4");
    let good = fixture("h264_bframes.mp4");
    let mut h = harness_with(&[&bad, &good]);
    wait_for(&mut h, "the error", |a| a.state.tabs[0].error.is_some());
    let e = h.state().state.tabs[0].error.clone().unwrap();
    assert!(
        e.contains("text.mp4") && e.contains("not a readable video"),
        "{e}"
    );
    // Shown in the window, naming the file.
    h.get_by_label_contains("text.mp4: not a readable video");
    // The second video opened fine.
    wait_for(&mut h, "the good video", exact_frame_shown);
    assert_eq!(h.state().state.active, 1);
    assert_eq!(h.state().state.tabs[1].index.as_ref().unwrap().len(), 90);
}

#[test]
fn the_clip_view_shows_the_samplers_clips_with_frame_indices() {
    let mut h = harness_with(&[&sample()]);
    wait_for(&mut h, "clips", |a| {
        a.state.active_tab().is_some_and(|t| t.index.is_some())
    });
    let t0 = std::time::Instant::now();
    while h.query_by_label("clip 3 · frames 135–179").is_none() {
        assert!(
            t0.elapsed().as_secs() < 20,
            "clip filmstrips never appeared"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Uniform sampler, K = 4, T = 16 over 180 frames: clip 0 covers frames 0..=44.
    h.get_by_label("clip 0 · frames 0–44");
    h.get_by_label("44");
}

#[test]
fn the_flow_view_shows_farneback_flow_with_quantization_facts() {
    let mut h = harness_with(&[&sample()]);
    h.state_mut().right_tab = vdx::gui::RightTab::Flow;
    wait_for(&mut h, "flow", |a| {
        a.flow.result.is_some() || !a.state.errors.is_empty()
    });
    assert!(
        h.state().state.errors.is_empty(),
        "{:?}",
        h.state().state.errors
    );
    let f = &h.state().flow.result.as_ref().unwrap().0;
    assert_eq!(f.frame, 0);
    assert_eq!((f.width, f.height), (320, 180));
    assert!(f.max_mag > 0.0);
    h.get_by_label_contains("Farneback flow, frame 0 to 1");
    h.get_by_label_contains("int8 at scale 4");
}

#[test]
fn the_augmentation_preview_is_exactly_what_the_engine_gives_for_that_seed() {
    use vdx::augment;
    use vdx::decode::{DecodeOptions, Resize, ResizeMode, VideoDecoder};
    let mut h = harness_with(&[&sample()]);
    h.state_mut().right_tab = vdx::gui::RightTab::Augment;
    wait_for(&mut h, "augmented draws", |a| {
        a.augment.result.is_some() || !a.state.errors.is_empty()
    });
    assert!(
        h.state().state.errors.is_empty(),
        "{:?}",
        h.state().state.errors
    );
    h.get_by_label("draw 2");
    let recipe = h.state().augment.recipe.clone();
    let rows = h.state().augment.result.as_ref().unwrap().0.rows.clone();
    assert_eq!(rows.len(), 3);
    // What training computes: the same 32 source frames, the same engine and seed.
    let mut d = VideoDecoder::open(
        &sample(),
        DecodeOptions {
            resize: Some(Resize {
                width: 320,
                height: 180,
                mode: ResizeMode::Squash,
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let frames = d.frames(&(0..32).collect::<Vec<_>>()).unwrap();
    let data: Vec<u8> = frames.iter().flat_map(|f| f.data.iter().copied()).collect();
    let clip = augment::Clip::new(32, 180, 320, data).unwrap();
    for (k, row) in rows.iter().enumerate() {
        let (want, _) = augment::apply(&recipe, &clip, 0, k as u64).unwrap();
        assert!(*row == want, "draw {k} differs from the engine's output");
    }
    assert_ne!(rows[0], rows[1], "different epochs draw differently");
}

#[test]
fn a_manifest_opens_as_one_dataset_and_names_each_samples_shard() {
    let d = tempfile::tempdir().unwrap();
    let name = d.path().join("ds");
    // Two copies of the sample: one video per shard.
    let vids = d.path().join("videos");
    std::fs::create_dir_all(&vids).unwrap();
    for f in ["a.mp4", "b.mp4"] {
        std::fs::copy(sample(), vids.join(f)).unwrap();
    }
    for k in 0..2 {
        let st = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args(["build", vids.to_str().unwrap(), "--out"])
            .arg(&name)
            .args(["--shard", &format!("{k}/2")])
            .args([
                "--num-clips",
                "2",
                "--frames",
                "4",
                "--size",
                "64",
                "--quiet",
            ])
            .status()
            .unwrap();
        assert!(st.success());
    }
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["manifest", d.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut h = harness_with(&[&d.path().join("ds.vdxm")]);
    wait_for(&mut h, "the sample list", |a| {
        a.state
            .datasets
            .first()
            .is_some_and(|d| d.catalog.is_some())
    });
    h.get_by_label("4 of 4 samples");
    h.get_by_label("2 (manifest 'ds')");
    h.get_by_label("ds-00001-of-00002.vdx");
    h.get_by_label("#3").click();
    wait_for(&mut h, "sample 3", |a| {
        a.state.datasets[0]
            .sample
            .as_ref()
            .is_some_and(|(m, _)| m.index == 3 && m.shard == 1)
    });
    h.get_by_label_contains("shard 1 (ds-00001-of-00002.vdx)");
}

#[test]
fn a_dataset_opens_shows_samples_decodes_one_and_verifies_with_progress() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("ds.vdx");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args([
            "build",
            sample().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args([
            "--num-clips",
            "3",
            "--frames",
            "8",
            "--size",
            "96",
            "--quiet",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let mut h = harness_with(&[&out]);
    wait_for(&mut h, "sample 0 decoded", |a| {
        a.state.datasets.first().is_some_and(|d| d.sample.is_some())
    });
    wait_for(&mut h, "the sample list", |a| {
        a.state.datasets[0].catalog.is_some()
    });
    h.get_by_label("3 of 3 samples");
    h.get_by_label("8 frames");
    h.get_by_label_contains("JPEG sizes (kB)");
    let (m, rows) = h.state().state.datasets[0].sample.as_ref().unwrap();
    assert_eq!(m.index, 0);
    assert_eq!(rows[0].1.len(), 8);
    // Pick another sample from the list.
    // Filters: by source name and by label.
    h.state_mut().state.datasets[0].filter_source = "nothing-like-this".into();
    h.step();
    h.get_by_label("0 of 3 samples");
    h.state_mut().state.datasets[0].filter_source = "SAMPLE".into();
    h.state_mut().state.datasets[0].filter_labels = [-1].into();
    h.step();
    h.get_by_label("3 of 3 samples");
    h.state_mut().state.datasets[0].filter_labels = [0].into();
    h.step();
    h.get_by_label("0 of 3 samples");
    h.state_mut().state.datasets[0].filter_labels.clear();
    h.step();
    h.get_by_label("#2").click();
    wait_for(&mut h, "sample 2", |a| {
        a.state.datasets[0]
            .sample
            .as_ref()
            .is_some_and(|(m, _)| m.index == 2)
    });
    // Verify runs as a background job and reports.
    h.get_by_label("Verify").click();
    wait_for(&mut h, "verify", |a| {
        a.state.datasets[0].verify.result.is_some()
    });
    h.get_by_label_contains("OK: 3 samples, checksums match, 3 decoded");
    // A damaged dataset opens with a clear error in the window.
    let bad = d.path().join("bad.vdx");
    let mut bytes = std::fs::read(&out).unwrap();
    bytes[16..24].fill(0);
    std::fs::write(&bad, bytes).unwrap();
    let ctx = h.ctx.clone();
    h.state_mut().state.open(bad.clone(), &ctx);
    wait_for(&mut h, "the error", |a| {
        a.state.datasets.len() == 2 && a.state.datasets[1].error.is_some()
    });
    // Shown both in the dataset panel and in the error bar.
    assert!(
        h.query_all_by_label_contains("bad.vdx: not a valid dataset: unfinished")
            .count()
            >= 1
    );
}

#[test]
fn the_build_dialog_builds_in_the_background_and_opens_the_result() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("built.vdx");
    let mut h = harness_with(&[&sample()]);
    wait_for(&mut h, "the video", exact_frame_shown);
    {
        let b = &mut h.state_mut().build;
        b.open = true;
        b.inputs = vec![sample(), fixture("text.mp4")];
        b.out = Some(out.clone());
        b.opts.sampler.frames_per_clip = 4;
        b.opts.sampler.num_clips = 2;
        b.opts.width = 64;
        b.opts.height = 64;
        b.keep_going = true;
    }
    h.run_steps(3);
    h.get_by_label("Build").click();
    h.step();
    wait_for(&mut h, "the build", |a| a.build.result.is_some());
    let r = h
        .state()
        .build
        .result
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap()
        .clone();
    assert_eq!(r.samples, 2);
    assert_eq!(r.skipped.len(), 1, "the text file is skipped and reported");
    h.get_by_label_contains("2 samples from 1 videos");
    h.get_by_label_contains("text.mp4: not a readable video");
    // The new dataset opened in a tab and verifies.
    wait_for(&mut h, "the dataset tab", |a| {
        a.state.active_dataset.is_some() && a.state.datasets[0].sample.is_some()
    });
    assert_eq!(h.state().state.datasets[0].path, out);
    // A cancelled build leaves nothing at its output.
    let out2 = d.path().join("cancelled.vdx");
    {
        let ctx = h.ctx.clone();
        let b = &mut h.state_mut().build;
        b.inputs = vec![sample(); 6];
        b.out = Some(out2.clone());
        b.start(&ctx);
    }
    h.step();
    // While it runs, the jobs panel lists it with an ETA and a Cancel button (as does the
    // dialog); the build may also be done already.
    if h.state().build.running() {
        h.get_by_label("Jobs");
        h.get_by_label_contains("build cancelled.vdx");
        h.query_all_by_label("Cancel").next().unwrap().click();
    }
    wait_for(&mut h, "the cancelled build", |a| a.build.result.is_some());
    let e = h
        .state()
        .build
        .result
        .as_ref()
        .unwrap()
        .as_ref()
        .err()
        .cloned();
    assert!(
        e.as_deref() == Some("cancelled") || out2.exists(),
        "either cancelled or it finished first: {e:?}"
    );
    if e.is_some() {
        assert!(!out2.exists(), "a cancelled build left a file");
    }
}

#[test]
fn the_export_dialog_exports_the_open_dataset_in_the_background() {
    let d = tempfile::tempdir().unwrap();
    let ds = d.path().join("ds.vdx");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args([
            "build",
            sample().to_str().unwrap(),
            "--out",
            ds.to_str().unwrap(),
        ])
        .args([
            "--num-clips",
            "3",
            "--frames",
            "4",
            "--size",
            "64",
            "--quiet",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let mut h = harness_with(&[&ds]);
    wait_for(&mut h, "the dataset", |a| {
        a.state.datasets.first().is_some_and(|d| d.sample.is_some())
    });
    let out = d.path().join("exported");
    {
        let e = &mut h.state_mut().export;
        e.open = true;
        e.dataset = Some(ds.clone());
        e.out = Some(out.clone());
        e.format = vdx::export::Format::Npy;
        e.shard_size = 2;
    }
    h.run_steps(3);
    h.get_by_label("Export").click();
    h.step();
    wait_for(&mut h, "the export", |a| a.export.result.is_some());
    let r = h.state().export.result.clone().unwrap().unwrap();
    assert_eq!(r.samples, 3);
    // Two shards: clips, labels and JSON each.
    h.get_by_label_contains("3 samples, 6 files");
    for f in ["shard_0000", "labels_0000"] {
        assert!(out.join(format!("{f}0.npy")).exists() && out.join(format!("{f}1.npy")).exists());
    }
    // Exporting again to the same place is refused, with the reason in the window.
    h.get_by_label("Export").click();
    h.step();
    wait_for(&mut h, "the refusal", |a| {
        a.export.result.as_ref().is_some_and(|r| r.is_err())
    });
    h.get_by_label_contains("already exists");
}

#[test]
fn after_a_seek_the_nearest_cached_frame_shows_at_once_then_the_exact_one() {
    let mut h = harness_with(&[&sample()]);
    wait_for(&mut h, "frame 0", exact_frame_shown);
    wait_for(&mut h, "the preview cache", |a| {
        a.state.tabs[0].previews_cached().1
    });
    let (n, _) = h.state().state.tabs[0].previews_cached();
    assert!(n >= 18, "{n} previews cached for 180 frames");
    h.state_mut().state.tabs[0].current = 151;
    h.step();
    let (i, exact) = h.state().state.tabs[0].shown.unwrap();
    assert!(
        exact && i == 151 || !exact && i <= 151 && 151 - i < 180 / n + 1,
        "shown {i} exact {exact}"
    );
    wait_for(&mut h, "frame 151", exact_frame_shown);
}

#[test]
fn clicking_the_timeline_seeks_there() {
    let mut h = harness_with(&[&sample()]);
    wait_for(&mut h, "frame 0", exact_frame_shown);
    // All 180 frames are visible across the timeline; its centre is frame ~90.
    h.get_by_label("timeline").click();
    h.step();
    let cur = active(&h).current;
    assert!(
        (85..=95).contains(&cur),
        "clicked the middle of the timeline, got frame {cur}"
    );
    wait_for(&mut h, "the clicked frame", exact_frame_shown);
}

#[test]
fn changing_the_sampler_redraws_the_clips() {
    let mut h = harness_with(&[&sample()]);
    let t0 = std::time::Instant::now();
    while h.query_by_label("clip 3 · frames 135–179").is_none() {
        assert!(t0.elapsed().as_secs() < 20);
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.get_by_label("clips (K)").set_value_accesskit(2.0);
    h.step();
    let t0 = std::time::Instant::now();
    while h.query_by_label("clip 1 · frames 90–179").is_none() {
        assert!(
            t0.elapsed().as_secs() < 20,
            "the clips were not redrawn for K = 2"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(h.query_by_label("clip 3 · frames 135–179").is_none());
}

#[test]
fn moving_an_augmentation_slider_changes_the_preview() {
    let mut h = harness_with(&[&sample()]);
    h.state_mut().right_tab = vdx::gui::RightTab::Augment;
    wait_for(&mut h, "augmented draws", |a| a.augment.result.is_some());
    let before = h.state().augment.result.as_ref().unwrap().0.rows.clone();
    h.get_by_label("brightness").set_value_accesskit(1.8);
    h.step();
    wait_for(&mut h, "a new preview", |a| {
        a.augment
            .result
            .as_ref()
            .is_some_and(|(r, _)| r.rows != before)
    });
    assert!(matches!(
        h.state().augment.recipe.ops.iter().find(|o| o.name() == "color_jitter"),
        Some(vdx::augment::Op::ColorJitter { brightness, .. }) if (*brightness - 1.8).abs() < 1e-9
    ));
}

/// A video with a damaged GOP: once the background pass has decoded it, the timeline's legend
/// says how many frames are damaged, and they are exactly the frames vdx cannot decode.
#[test]
fn the_timeline_marks_damaged_frames() {
    let f = fixture("h264_damaged_idr.mp4");
    let mut h = harness_with(&[&f]);
    wait_for(&mut h, "the background decode", |a| {
        a.state.tabs[0].previews_cached().1 && a.state.tabs[0].damaged.is_some()
    });
    let damaged = h.state().state.tabs[0].damaged.clone().unwrap();
    assert!(damaged.len() >= 10, "{damaged:?}");
    h.get_by_label(&format!("damaged ({})", damaged.len()));
    let mut d = vdx::decode::VideoDecoder::open(&f, Default::default()).unwrap();
    for &i in &damaged {
        assert!(
            d.frame(i).is_err(),
            "frame {i} is marked damaged but decodes"
        );
    }
    // A clean video shows no such mark.
    let mut h = harness_with(&[&sample()]);
    wait_for(&mut h, "the background decode", |a| {
        a.state.tabs[0].previews_cached().1 && a.state.tabs[0].damaged.is_some()
    });
    assert_eq!(h.state().state.tabs[0].damaged.as_deref(), Some(&[][..]));
    assert!(h.query_by_label_contains("damaged (").is_none());
}

fn build_fixture_dataset(out: &Path, extra: &[&str]) {
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["build", sample().to_str().unwrap(), "--out"])
        .arg(out)
        .args([
            "--num-clips",
            "3",
            "--frames",
            "6",
            "--size",
            "96",
            "--quiet",
        ])
        .args(extra)
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn source_vs_stored_measures_like_ffmpeg_and_the_worst_list_opens_samples() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("q.vdx");
    build_fixture_dataset(&out, &["--quality", "50"]);
    let mut h = harness_with(&[&out]);
    wait_for(&mut h, "sample 0 decoded", |a| {
        a.state.datasets.first().is_some_and(|d| d.sample.is_some())
    });
    h.get_by_label("Source vs stored").click();
    wait_for(&mut h, "the comparison", |a| {
        a.state.datasets[0].quality.shown.is_some()
    });
    // Frame 2 of the clip: the numbers on screen are FFmpeg's for the same pair.
    h.state_mut().state.datasets[0].quality.frame = 2;
    h.step();
    let (psnr, ssim, pair) = {
        let sh = h.state().state.datasets[0].quality.shown.as_ref().unwrap();
        let f = sh.c.quality.frames[2];
        (
            f.psnr,
            f.ssim,
            (sh.c.stored[2].clone(), sh.c.reference[2].clone()),
        )
    };
    let fp = ffmpeg_metric(
        std::slice::from_ref(&pair.0),
        std::slice::from_ref(&pair.1),
        96,
        96,
        "psnr",
    )[0];
    let fs = ffmpeg_metric(
        std::slice::from_ref(&pair.0),
        std::slice::from_ref(&pair.1),
        96,
        96,
        "ssim",
    )[0];
    assert!((psnr - fp).abs() < 0.01, "PSNR {psnr} vs ffmpeg {fp}");
    assert!((ssim - fs).abs() < 1e-4, "SSIM {ssim} vs ffmpeg {fs}");
    h.get_by_label_contains(&format!("PSNR {psnr:.2} dB · SSIM {ssim:.4}"));
    // The explorer's numbers are the CLI's.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["quality", out.to_str().unwrap(), "--sample", "0", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cli = &v["frames"][2];
    assert!((cli["psnr"].as_f64().unwrap() - psnr).abs() < 1e-9);
    assert!((cli["ssim"].as_f64().unwrap() - ssim).abs() < 1e-12);
    // Wipe: stored left of the split, source right; moving the split moves both.
    let painted =
        |h: &Harness<'static, VdxApp>| h.state().state.datasets[0].quality.painted.clone();
    let p = painted(&h);
    assert_eq!(p.len(), 2);
    assert_eq!((p[0].0, p[0].1.max.x), ("stored", 0.5));
    assert_eq!((p[1].0, p[1].1.min.x), ("source", 0.5));
    h.state_mut().state.datasets[0].quality.wipe = 0.2;
    h.step();
    let p = painted(&h);
    assert_eq!((p[0].1.max.x, p[1].1.min.x), (0.2, 0.2));
    h.get_by_label_contains("stored left of the line (20%)");
    // Blink: one picture at a time; Switch flips it.
    h.get_by_label("Blink").click();
    h.step();
    h.get_by_label("every 0.5 s").click();
    h.step();
    let before = painted(&h)[0].0;
    h.get_by_label("Switch").click();
    h.step();
    h.step();
    let after = painted(&h);
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].0, before);
    h.get_by_label(if after[0].0 == "source" {
        "showing source"
    } else {
        "showing stored"
    });
    h.get_by_label("Difference").click();
    h.step();
    h.step();
    assert_eq!(painted(&h)[0].0, "difference");
    // The quality pass runs in the background and lists the worst samples; a click opens one.
    h.get_by_label("Quality pass").click();
    wait_for(&mut h, "the quality pass", |a| {
        a.state.datasets[0].quality.report.is_some()
    });
    h.get_by_label_contains("3 samples measured: PSNR mean");
    let worst = {
        let r = h.state().state.datasets[0]
            .quality
            .report
            .clone()
            .unwrap()
            .unwrap();
        let w = r.worst(1)[0].clone();
        assert!(r.samples.iter().all(|s| s.psnr_mean >= w.psnr_mean));
        w
    };
    h.get_by_label(&format!("#{} · {:.2} dB", worst.index, worst.psnr_mean))
        .click();
    wait_for(&mut h, "the worst sample's comparison", |a| {
        a.state.datasets[0]
            .quality
            .shown
            .as_ref()
            .is_some_and(|s| s.c.quality.index == worst.index)
    });
    assert_eq!(h.state().state.datasets[0].selected, Some(worst.index));
    assert_eq!(
        h.state().state.datasets[0]
            .quality
            .shown
            .as_ref()
            .unwrap()
            .c
            .quality,
        worst
    );
}

#[test]
fn flow_samples_compare_stored_int8_flow_with_fresh_farneback() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("flow.vdx");
    build_fixture_dataset(&out, &["--field", "flow", "--keyframe-every", "3"]);
    let mut h = harness_with(&[&out]);
    wait_for(&mut h, "sample 0 decoded", |a| {
        a.state.datasets.first().is_some_and(|d| d.sample.is_some())
    });
    h.get_by_label("Source vs stored").click();
    wait_for(&mut h, "the comparison", |a| {
        a.state.datasets[0].quality.shown.is_some()
    });
    h.step();
    let epe = h.state().state.datasets[0]
        .quality
        .shown
        .as_ref()
        .unwrap()
        .c
        .quality
        .flow_epe[0];
    h.get_by_label_contains(&format!(
        "flow 0 to 1: stored int8 against fresh Farneback, EPE {epe:.4} px;"
    ));
    assert!(epe > 0.0 && epe < 0.2, "{epe}");
    // Any pair can be looked at.
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "flow pair")
        .set_value_accesskit(3.0);
    h.step();
    h.step();
    let epe3 = h.state().state.datasets[0]
        .quality
        .shown
        .as_ref()
        .unwrap()
        .c
        .quality
        .flow_epe[3];
    h.get_by_label_contains(&format!(
        "flow 3 to 4: stored int8 against fresh Farneback, EPE {epe3:.4} px;"
    ));
}

#[test]
fn the_field_comparison_runs_in_the_background_and_equals_the_cli() {
    let mut h = harness_with(&[]);
    {
        let f = &mut h.state_mut().fields;
        f.open = true;
        f.inputs = vec![sample()];
        f.qualities = "50, 95".into();
        f.crfs = "30".into();
        f.keyints = "4".into();
        f.flow_scales = "4".into();
        f.opts.base.width = 64;
        f.opts.base.height = 64;
        f.opts.base.sampler.frames_per_clip = 6;
    }
    h.step();
    h.step();
    h.get_by_label("Compare").click();
    h.step();
    wait_for(&mut h, "the comparison", |a| a.fields.result.is_some());
    let rows = h.state().fields.result.clone().unwrap().unwrap();
    assert_eq!(rows.len(), 4);
    h.get_by_label("frames q95");
    h.get_by_label("segments h264 crf30 key4");
    h.get_by_label(&format!("{:.4}", rows[0].ssim));
    // The same variants from the command line measure the same.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["compare-fields", sample().to_str().unwrap()])
        .args([
            "--quality",
            "50,95",
            "--crf",
            "30",
            "--keyint",
            "4",
            "--flow-scale",
            "4",
        ])
        .args(["--size", "64", "--frames", "6", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cli: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (r, c) in rows.iter().zip(cli.as_array().unwrap()) {
        assert_eq!(c["name"].as_str().unwrap(), r.name);
        assert_eq!(c["bytes_per_clip"].as_f64().unwrap(), r.bytes_per_clip);
        let close = |k: &str, v: Option<f64>| match (c[k].as_f64(), v) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{}: {k} {a} vs {b}", r.name),
            (a, b) => assert_eq!(a, b, "{}: {k}", r.name),
        };
        close("psnr", r.psnr);
        close("ssim", Some(r.ssim));
        close("epe", r.epe);
    }
}

/// What a node says (a label's text may be its label or its value).
fn node_text(n: &egui_kittest::Node<'_>) -> String {
    let a = egui_kittest::kittest::NodeT::accesskit_node(n);
    a.label().or_else(|| a.value()).unwrap_or_default()
}

#[test]
fn snapping_clip_starts_to_keyframes_moves_the_clips_and_cuts_their_decode_cost() {
    let mut h = harness_with(&[&sample()]);
    let t0 = std::time::Instant::now();
    while h.query_by_label("clip 3 · frames 135–179").is_none() {
        assert!(t0.elapsed().as_secs() < 20);
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let exact: usize = {
        let n = h.get_by_label_contains("decodes ");
        let text = node_text(&n);
        text.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    h.get_by_label("clip start").click();
    h.step();
    h.step();
    h.get_by_label("nearest keyframe").click();
    h.step();
    // Keyframes every 30 frames: a start at 135 ties between 120 and 150 and takes 120.
    let t0 = std::time::Instant::now();
    while h.query_by_label("clip 3 · frames 120–164").is_none() {
        assert!(
            t0.elapsed().as_secs() < 20,
            "the clips did not move to keyframes"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    h.get_by_label("clip 1 · frames 30–74");
    let want = format!("(exact starts: {exact})");
    let n = h.get_by_label_contains(&want);
    let text = node_text(&n);
    let snapped: usize = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(snapped < exact, "{text}");
}

#[test]
fn a_moved_source_is_named_and_found_once_its_folder_is_given() {
    let d = tempfile::tempdir().unwrap();
    let old = d.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::copy(sample(), old.join("take.mp4")).unwrap();
    let out = d.path().join("m.vdx");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["build", old.join("take.mp4").to_str().unwrap(), "--out"])
        .arg(&out)
        .args([
            "--num-clips",
            "1",
            "--frames",
            "4",
            "--size",
            "64",
            "--quiet",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let new = d.path().join("new");
    std::fs::rename(&old, &new).unwrap();
    let mut h = harness_with(&[&out]);
    wait_for(&mut h, "sample 0 decoded", |a| {
        a.state.datasets.first().is_some_and(|d| d.sample.is_some())
    });
    h.get_by_label("Source vs stored").click();
    wait_for(&mut h, "the error", |a| {
        a.state.datasets[0].quality.error.is_some()
    });
    h.get_by_label_contains("take.mp4 is not there");
    h.get_by_label("sources").focus();
    h.step();
    h.get_by_label("sources").type_text(new.to_str().unwrap());
    h.step();
    h.step();
    wait_for(&mut h, "the comparison", |a| {
        a.state.datasets[0].quality.shown.is_some()
    });
    assert_eq!(
        h.state().state.datasets[0].quality.sources,
        new.to_str().unwrap()
    );
    assert_eq!(
        h.state().state.datasets[0]
            .quality
            .shown
            .as_ref()
            .unwrap()
            .c
            .quality
            .source,
        new.join("take.mp4")
    );
}

#[test]
fn annotation_segments_show_as_bands_that_seek_and_step() {
    let d = tempfile::tempdir().unwrap();
    let video = d.path().join("walk.mp4");
    std::fs::copy(sample(), &video).unwrap();
    // Three rows for this video (two overlapping, one in frames), one for another video.
    let ann = d.path().join("items.jsonl");
    std::fs::write(
        &ann,
        concat!(
            r#"{"video": "walk.mp4", "start": 1.0, "end": 2.5, "label": "wave", "split": "train"}"#,
            "\n",
            r#"{"video": "walk.mp4", "start": 2.0, "end": 4.0, "labels": ["run", "jump"]}"#,
            "\n",
            r#"{"video": "walk.mp4", "start_frame": 150, "end_frame": 170, "label": "sit"}"#,
            "\n",
            r#"{"video": "other.mp4", "start": 0, "end": 1, "label": "wave"}"#,
            "\n"
        ),
    )
    .unwrap();
    let mut h = harness_with(&[&video]);
    wait_for(&mut h, "frame 0", exact_frame_shown);
    h.state_mut().state.open_annotations(ann.clone());
    wait_for(&mut h, "the bands", |a| {
        a.state.active_tab().is_some_and(|t| t.bands.is_some())
    });
    let bands = active(&h).bands.clone().unwrap();
    // Frames by timestamp (sample.mp4: 30 fps from 0): [1.0, 2.5) s is frames 30..75.
    let got: Vec<(std::ops::Range<usize>, usize, Vec<String>)> = bands
        .bands
        .iter()
        .map(|b| (b.frames.clone(), b.lane, b.labels.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (30..75, 0, vec!["wave".to_string()]),
            (60..120, 1, vec!["run".to_string(), "jump".to_string()]),
            (150..170, 0, vec!["sit".to_string()]),
        ]
    );
    assert_eq!(bands.lanes, 2);
    h.get_by_label_contains("3 segments from items.jsonl (jsonl)");
    // All 180 frames are on the timeline at first; clicking a band seeks to its start.
    h.get_by_label("segment run, jump [60..120] frames").click();
    h.step();
    assert_eq!(active(&h).current, 60);
    wait_for(&mut h, "frame 60", exact_frame_shown);
    // The clip panel now samples inside that segment: every clip frame in 60..120.
    h.get_by_label_contains("inside segment run, jump [60..120]");
    wait_for(&mut h, "the segment's clips", |a| {
        a.state.active_tab().unwrap().shown_clip_frames().is_some()
    });
    let clips = active(&h).shown_clip_frames().unwrap();
    assert!(!clips.is_empty());
    for c in &clips {
        assert!(c.iter().all(|f| (60..120).contains(f)), "{c:?}");
    }
    // "whole video" goes back to sampling over all 180 frames.
    h.get_by_label("whole video").click();
    h.step();
    assert_eq!(active(&h).selected_band, None);
    wait_for(&mut h, "the whole video's clips", |a| {
        a.state.active_tab().unwrap().shown_clip_frames().is_some()
    });
    let clips = active(&h).shown_clip_frames().unwrap();
    assert!(clips.iter().flatten().any(|&f| f >= 120), "{clips:?}");
    // '.' and ',' step between segment boundaries (starts and last frames).
    h.key_press(egui::Key::Period);
    h.step();
    assert_eq!(active(&h).current, 74);
    h.key_press(egui::Key::Period);
    h.step();
    assert_eq!(active(&h).current, 119);
    h.key_press(egui::Key::Comma);
    h.key_press(egui::Key::Comma);
    h.step();
    assert_eq!(active(&h).current, 60);
}

#[test]
fn an_annotation_file_naming_other_videos_is_an_error_in_the_window() {
    let d = tempfile::tempdir().unwrap();
    let ann = d.path().join("items.jsonl");
    std::fs::write(&ann, r#"{"video": "other.mp4", "label": "x"}"#).unwrap();
    let mut h = harness_with(&[&sample()]);
    wait_for(&mut h, "the index", |a| {
        a.state.active_tab().is_some_and(|t| t.index.is_some())
    });
    h.state_mut().state.open_annotations(ann);
    wait_for(&mut h, "the error", |a| !a.state.errors.is_empty());
    let e = h.state().state.errors.last().unwrap().clone();
    assert!(
        e.contains("items.jsonl") && e.contains("no row names"),
        "{e}"
    );
    assert!(active(&h).bands.is_none());
}

#[test]
fn the_browser_filters_an_annotation_dataset_by_split_and_labels_and_charts_the_balance() {
    let d = tempfile::tempdir().unwrap();
    let videos = d.path().join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    std::fs::copy(sample(), videos.join("walk.mp4")).unwrap();
    let ann = d.path().join("items.jsonl");
    std::fs::write(
        &ann,
        concat!(
            r#"{"video": "walk.mp4", "start": 0.0, "end": 1.5, "label": "wave", "split": "train"}"#,
            "\n",
            r#"{"video": "walk.mp4", "start": 1.0, "end": 3.0, "labels": ["run", "jump"], "split": "train"}"#,
            "\n",
            r#"{"video": "walk.mp4", "start": 3.0, "end": 5.0, "label": "run", "split": "val"}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = d.path().join("a.vdx");
    vdx_ok(&[
        "build",
        "--annotations",
        ann.to_str().unwrap(),
        "--videos",
        videos.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "4",
        "--size",
        "48",
        "--quiet",
    ]);
    let mut h = harness_with(&[&out]);
    wait_for(&mut h, "the sample list", |a| {
        a.state
            .datasets
            .first()
            .is_some_and(|d| d.catalog.is_some())
    });
    h.get_by_label("3 of 3 samples");
    h.get_by_label("class balance per split");
    // Classes sorted: jump, run, wave; splits: train, val.
    let counts = vdx::gui::dataset_view::class_counts(
        h.state().state.datasets[0].catalog.as_ref().unwrap(),
        2,
        3,
    );
    assert_eq!(counts, vec![vec![1, 1, 1], vec![0, 1, 0]]);
    h.get_by_label("val has no sample of: jump, wave");
    // The checks, in the left panel: "walk.mp4" is in both splits, and two of its segments
    // with different labels overlap (wave [0, 1.5) s and run+jump [1, 3) s).
    h.get_by_label("3 annotation rows");
    h.get_by_label("1 videos in more than one split (leakage)");
    h.get_by_label("1 overlapping segments with different labels");
    h.get_by_label("0 duplicate rows (same video, segment and labels)");
    h.state_mut().state.datasets[0].filter_split = Some(1);
    h.step();
    h.get_by_label("1 of 3 samples");
    h.state_mut().state.datasets[0].filter_split = None;
    // Labels are multi-select: "run" matches the multi-label sample and the val one.
    h.state_mut().state.datasets[0].filter_labels = [1].into();
    h.step();
    h.get_by_label("2 of 3 samples");
    h.state_mut().state.datasets[0].filter_labels = [0, 2].into();
    h.step();
    h.get_by_label("2 of 3 samples");
    h.state_mut().state.datasets[0].filter_split = Some(0);
    h.state_mut().state.datasets[0].filter_labels = [2].into();
    h.step();
    h.get_by_label("1 of 3 samples");
}

#[test]
fn the_health_pass_flags_samples_filters_and_sorts_the_grid_and_marks_the_strip() {
    let d = tempfile::tempdir().unwrap();
    let v = d.path().join("videos");
    std::fs::create_dir_all(&v).unwrap();
    let out_of = |n: &str| v.join(n).to_str().unwrap().to_string();
    ffmpeg(&[
        "-y",
        "-f",
        "lavfi",
        "-i",
        "color=black:s=160x120:r=25",
        "-frames:v",
        "30",
        "-pix_fmt",
        "yuv420p",
        &out_of("a_black.mp4"),
    ]);
    ffmpeg(&[
        "-y",
        "-f",
        "lavfi",
        "-i",
        "sierpinski=s=160x120:r=25:seed=4",
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=s=160x120:r=25",
        "-filter_complex",
        "[0]trim=end_frame=15[x];[1]trim=end_frame=15,setpts=PTS-STARTPTS[y];[x][y]concat=n=2:v=1",
        "-pix_fmt",
        "yuv420p",
        &out_of("b_cut.mp4"),
    ]);
    ffmpeg(&[
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=160x120:r=25,noise=alls=20:allf=t:all_seed=7",
        "-frames:v",
        "30",
        "-pix_fmt",
        "yuv420p",
        &out_of("c_fine.mp4"),
    ]);
    let out = d.path().join("ds.vdx");
    vdx_ok(&[
        "build",
        v.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "30",
        "--num-clips",
        "1",
        "--size",
        "64",
        "--quiet",
    ]);
    let mut h = harness_with(&[&out]);
    wait_for(&mut h, "the sample list", |a| {
        a.state
            .datasets
            .first()
            .is_some_and(|d| d.catalog.is_some())
    });
    h.get_by_label("3 of 3 samples");
    h.get_by_label("Health pass").click();
    wait_for(&mut h, "the health report", |a| {
        a.state.datasets[0].health.report.is_some()
    });
    assert!(
        vdx::health::sidecar::path_for(&out).is_file(),
        "saved beside the dataset"
    );
    // The flag counts; clicking one keeps those samples.
    h.get_by_label("black 1").click();
    h.step();
    h.get_by_label("1 of 3 samples");
    assert_eq!(h.state().state.datasets[0].visible, vec![0]);
    h.get_by_label("black 1").click();
    h.get_by_label("cut 1").click();
    h.step();
    assert_eq!(h.state().state.datasets[0].visible, vec![1]);
    h.get_by_label("cut 1").click();
    h.step();
    h.get_by_label("3 of 3 samples");
    // Sorting by a score reorders the grid: brightness, lowest first puts the black clip first.
    h.state_mut().state.datasets[0].health.sort = Some(("brightness".into(), false));
    h.state_mut().state.datasets[0].health.generation += 1;
    h.step();
    let bright_first = h.state().state.datasets[0].visible.clone();
    h.state_mut().state.datasets[0].health.sort = Some(("brightness".into(), true));
    h.state_mut().state.datasets[0].health.generation += 1;
    h.step();
    let dark_first = h.state().state.datasets[0].visible.clone();
    assert_eq!(dark_first[0], 0);
    assert_eq!(
        bright_first.iter().rev().copied().collect::<Vec<_>>(),
        dark_first
    );
    // The cut sample: its verdict, and the strip marks the cut before frame 15.
    h.get_by_label("#1").click();
    wait_for(&mut h, "sample 1", |a| {
        a.state.datasets[0]
            .sample
            .as_ref()
            .is_some_and(|(m, _)| m.index == 1)
    });
    h.get_by_label_contains("health: cut · brightness");
    let (marks, cuts) = h.state().state.datasets[0].health.marks(1).unwrap();
    assert_eq!(cuts, vec![15]);
    assert_eq!(marks.len(), 30);
    let (marks, _) = h.state().state.datasets[0].health.marks(0).unwrap();
    assert!(marks
        .iter()
        .all(|m| m.as_ref().is_some_and(|(_, w)| w == "black")));
    // A copy with its report opens with that report read (no pass).
    let copy = d.path().join("copy.vdx");
    std::fs::copy(&out, &copy).unwrap();
    std::fs::copy(
        vdx::health::sidecar::path_for(&out),
        vdx::health::sidecar::path_for(&copy),
    )
    .unwrap();
    let ctx = h.ctx.clone();
    h.state_mut().state.open(copy, &ctx);
    wait_for(&mut h, "the saved report", |a| {
        a.state.datasets.len() == 2 && a.state.datasets[1].health.report.is_some()
    });
    assert!(!h.state().state.datasets[1].health.passing());
    // A report made with other thresholds (vdx health --threshold): a pass run again in the
    // window keeps them.
    let third = d.path().join("third.vdx");
    std::fs::copy(&out, &third).unwrap();
    vdx_ok(&[
        "health",
        third.to_str().unwrap(),
        "--quiet",
        "--threshold",
        "cut_threshold=250",
    ]);
    h.state_mut().state.open(third, &ctx);
    wait_for(&mut h, "the third report", |a| {
        a.state.datasets.len() == 3 && a.state.datasets[2].health.report.is_some()
    });
    let before = h.state().state.datasets[2].health.generation;
    h.get_by_label("Health pass again").click();
    wait_for(&mut h, "the new pass", |a| {
        a.state.datasets[2].health.generation > before
    });
    let rep = h.state().state.datasets[2].health.report.clone().unwrap();
    assert_eq!(rep.thresholds.cut_threshold, 250.0);
    assert!(rep.samples.iter().all(|s| s.cuts.is_empty()));
}

/// File > Open URL…, `url` typed, Open clicked.
fn enter_url(h: &mut Harness<'static, VdxApp>, url: &str) {
    h.get_by_label("File").click();
    h.run();
    h.get_by_label("Open URL…").click();
    h.run();
    let field = h.get_by_role(egui::accesskit::Role::TextInput);
    field.focus();
    field.type_text(url);
    h.run();
    h.get_by_label("Open").click();
}

#[test]
fn open_url_opens_a_tab_for_the_url_and_shows_why_it_cannot_be_read() {
    let mut h = harness_with(&[]);
    // Not a URL: said in the dialog, nothing opened.
    enter_url(&mut h, "videos/a.mp4");
    h.run();
    h.get_by_label_contains("is not an s3://, gs://, az:// or http(s):// URL");
    assert!(h.state().state.tabs.is_empty());
    // A URL with no server behind it: a tab for it, and the error names the URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/videos/a.mp4");
    // Retries for 2 s, not 60, before the error (the client for this origin is made now).
    std::env::set_var("VDX_STORAGE_RETRY_SECS", "2");
    // Cancel closes the dialog; opened again, its field is empty.
    h.get_by_label("Cancel").click();
    h.run();
    enter_url(&mut h, &url);
    h.step();
    assert_eq!(h.state().state.tabs.len(), 1);
    assert_eq!(h.state().state.tabs[0].path, PathBuf::from(&url));
    wait_for(&mut h, "the error", |a| a.state.tabs[0].error.is_some());
    let e = h.state().state.tabs[0].error.clone().unwrap();
    assert!(
        e.contains(&format!("{url}: reading the object's size failed")),
        "{e}"
    );
}
