//! Bounded memory: a build's peak resident memory does not grow with the number of videos
//! (clips are streamed to a spool file, not collected), and stays under a stated bound.

use std::path::Path;
use std::process::Command;

/// Peak RSS (MB) of `vdx args...`, measured by the kernel (getrusage of the child).
fn peak_rss_mb(args: &[&str]) -> f64 {
    let o = Command::new("python3")
        .arg("-c")
        .arg(
            "import resource,subprocess,sys\n\
             r=subprocess.run(sys.argv[1:],capture_output=True)\n\
             sys.stderr.write(r.stderr.decode())\n\
             assert r.returncode==0, r.returncode\n\
             print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
        )
        .arg(env!("CARGO_BIN_EXE_vdx"))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse::<f64>()
        .unwrap()
        / 1024.0
}

fn make_videos(dir: &Path, n: usize) {
    // Four distinct small videos (320x240, 3 s), copied under n names.
    let mut sources = Vec::new();
    for (k, src) in ["testsrc", "testsrc2", "smptebars", "rgbtestsrc"]
        .iter()
        .enumerate()
    {
        let p = dir.join(format!("src{k}.mp4"));
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("{src}=s=320x240:d=3:r=25"))
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success());
        sources.push(p);
    }
    let videos = dir.join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    for i in 0..n {
        std::fs::copy(&sources[i % 4], videos.join(format!("v{i:04}.mp4"))).unwrap();
    }
}

#[test]
fn build_peak_memory_does_not_grow_with_the_number_of_videos() {
    let d = tempfile::tempdir().unwrap();
    make_videos(d.path(), 200);
    let all = d.path().join("videos");
    let few = d.path().join("few");
    std::fs::create_dir_all(&few).unwrap();
    for i in 0..10 {
        let name = format!("v{i:04}.mp4");
        std::fs::copy(all.join(&name), few.join(&name)).unwrap();
    }
    let build = |input: &Path, out: &str| {
        let out = d.path().join(out);
        let mb = peak_rss_mb(&[
            "build",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--threads",
            "2",
            "--num-clips",
            "2",
            "--quiet",
        ]);
        std::fs::remove_file(out).unwrap();
        mb
    };
    let peak_10 = build(&few, "few.vdx");
    let peak_200 = build(&all, "all.vdx");
    eprintln!("peak RSS: 10 videos {peak_10:.1} MB, 200 videos {peak_200:.1} MB");
    // The stated bound (docs/reliability.md): 200 MB for frames-field builds of videos up to 1080p on two
    // worker threads; and 20x the videos may cost at most a few MB more (the per-video
    // sample table: ~1 KB a video).
    assert!(peak_200 < 200.0, "peak {peak_200:.1} MB");
    assert!(
        peak_200 < peak_10 + 16.0,
        "10 videos: {peak_10:.1} MB, 200 videos: {peak_200:.1} MB"
    );
}
