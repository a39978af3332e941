//! Memory safety under valgrind's memcheck: the `vdx frames` command decodes frames of small
//! files whose sizes once made swscale write past vdx's RGB buffers (widths that are not a
//! multiple of 16, the 360x640 portrait size, MPEG-TS at 360 wide, 4:2:2/4:4:4 chroma,
//! 10-bit) and of AVIs with packed B-frames, and memcheck must report no invalid read or
//! write. valgrind comes from Debian (scripts/setup.sh installs it); `make memcheck` runs the
//! same check over the whole corpus.

mod common;

use common::*;
use std::process::Command;

#[test]
fn decoding_odd_sizes_and_real_world_files_is_clean_under_memcheck() {
    let files = [
        "h264_w200.mp4",
        "h264_w296.mp4",
        "h264_360x640.mp4",
        "h264_360w.ts",
        "h264_422.mp4",
        "h264_444.mp4",
        "hevc_10bit.mkv",
        "xvid_packed.avi",
        "editlist_cut.mp4",
    ];
    let out = tempfile::tempdir().unwrap();
    for name in files {
        let f = fixture(name);
        let o = Command::new("valgrind")
            .args([
                "--tool=memcheck",
                "--error-exitcode=99",
                "--leak-check=no",
                "--track-origins=no",
                "--quiet",
            ])
            .arg(env!("CARGO_BIN_EXE_vdx"))
            .arg("frames")
            .arg(&f)
            .args(["--at", "0,7,3", "--format", "jpg", "--out"])
            .arg(out.path())
            .output()
            .expect("valgrind must be installed (scripts/setup.sh installs it)");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success(),
            "{name}: memcheck found errors (exit {:?}):\n{err}",
            o.status.code()
        );
        assert!(
            !err.contains("Invalid write") && !err.contains("Invalid read"),
            "{name}: {err}"
        );
    }
    let written = std::fs::read_dir(out.path()).unwrap().count();
    assert!(written >= 3, "the frames were written ({written} files)");
}
