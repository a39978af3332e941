//! Crash consistency: `vdx build` and `vdx export` killed with SIGKILL at random moments never
//! leave a file or folder at the output that looks complete unless the run had finished, never
//! touch the source videos, and a re-run succeeds. `VDX_KILL_RUNS` sets the number of kills
//! per command (default 6 in CI; the long mode uses 50+).

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn digest(p: &Path) -> u32 {
    crc32c::crc32c(&std::fs::read(p).unwrap())
}

fn runs() -> usize {
    std::env::var("VDX_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
}

/// Start `args`, kill it after `delay` (if still running); true if it finished by itself.
fn run_and_kill(args: &[&str], delay: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.success();
        }
        if t0.elapsed() >= delay {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn killed_builds_and_exports_leave_nothing_that_looks_complete() {
    let d = tempfile::tempdir().unwrap();
    let inputs: Vec<std::path::PathBuf> = [
        "h264_bframes.mp4",
        "h264_longgop.mp4",
        "hevc.mp4",
        "vp9.webm",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect();
    let before: Vec<u32> = inputs.iter().map(|p| digest(p)).collect();
    let mut state = 0xDEADBEEFu64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut finished = 0;
    let mut killed = 0;
    for k in 0..runs() {
        let out = d.path().join(format!("b{k}.vdx"));
        let mut args: Vec<&str> = vec!["build"];
        args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
        args.extend([
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--num-clips",
            "3",
            "--field",
        ]);
        args.push(if k % 2 == 0 { "frames" } else { "segments" });
        let delay = Duration::from_millis(20 + next() % 400);
        let done = run_and_kill(&args, delay);
        if done {
            finished += 1;
            let r =
                vdx::dataset::verify::verify(&out, true, &Default::default(), &|_, _| {}).unwrap();
            assert!(r.ok(), "a finished build does not verify: {:?}", r.problems);
        } else if out.exists() {
            // Killed after the final rename (the build had finished writing): complete.
            finished += 1;
            let r =
                vdx::dataset::verify::verify(&out, true, &Default::default(), &|_, _| {}).unwrap();
            assert!(
                r.ok(),
                "run {k}: killed after its rename, the file does not verify"
            );
        } else {
            killed += 1;
            // A re-run succeeds (and clears the stale work folder).
            let o = Command::new(env!("CARGO_BIN_EXE_vdx"))
                .args(&args)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert!(
                vdx::dataset::verify::verify(&out, true, &Default::default(), &|_, _| {})
                    .unwrap()
                    .ok()
            );
        }
        let leftovers: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.contains("vdx-partial"))
            .collect();
        assert!(leftovers.is_empty() || !done, "{leftovers:?}");
    }
    // Exports of a finished dataset, killed likewise.
    let ds = d.path().join("b0.vdx");
    for k in 0..runs() {
        let out = d.path().join(format!("e{k}"));
        let fmt = ["npy", "folders", "mp4", "wds"][k % 4];
        let args = [
            "export",
            ds.to_str().unwrap(),
            "--format",
            fmt,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        let delay = Duration::from_millis(5 + next() % 150);
        if run_and_kill(&args, delay) {
            finished += 1;
            assert!(out.is_dir());
        } else if out.exists() {
            // Killed after the final rename: the export had completed.
            finished += 1;
        } else {
            killed += 1;
            let partial = d.path().join(format!(".e{k}.vdx-partial"));
            let _ = partial; // a stale work folder is allowed; the re-run removes it
            let o = Command::new(env!("CARGO_BIN_EXE_vdx"))
                .args(args)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }
    let after: Vec<u32> = inputs.iter().map(|p| digest(p)).collect();
    assert_eq!(before, after, "a source video changed");
    eprintln!("kill runs: {killed} killed, {finished} finished on their own");
    assert!(
        killed >= 2,
        "only {killed} of the runs were killed before they finished: the test checked no crash"
    );
}

/// A full disk (a 3 MB tmpfs) gives a clear error and leaves nothing at the output. Needs
/// permission to mount a tmpfs (root, as in CI); where the machine refuses, the test fails
/// rather than pass without checking anything.
#[test]
fn a_full_disk_is_reported_and_leaves_nothing() {
    let mnt = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3M", "tmpfs"])
        .arg(mnt.path())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "cannot mount a 3 MB tmpfs at {} (this test needs root); run the suite as root",
        mnt.path().display()
    );
    let out = mnt.path().join("x.vdx");
    let o = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args([
            "build",
            fixture("h264_longgop.mp4").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--num-clips", "200", "--size", "224", "--quiet"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let leftovers: Vec<_> = std::fs::read_dir(mnt.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let _ = Command::new("umount").arg(mnt.path()).status();
    assert!(!o.status.success(), "a build into a full disk succeeded");
    assert!(err.contains("disk is full"), "{err}");
    assert!(!out.exists());
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}
