//! `vdx verify` checks every rule of FORMAT.md: for each rule, a real dataset (built once per
//! test binary with `vdx build`) is corrupted in exactly that rule, its sample checksums (and
//! the info's CRC) recomputed so that only the rule can catch it, and `vdx verify` (text and
//! `--json`) must fail naming the rule, the sample and the field.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

// ---------------------------------------------------------------- fixtures

struct Fixtures {
    _dir: tempfile::TempDir,
    frames: PathBuf,
    segments: PathBuf,
    flow: PathBuf,
    /// A folder with two shards and their manifest `ds.vdxm`.
    shards: PathBuf,
}

const T: u64 = 6;
const KEYINT: u64 = 3;
const FLOW_K: u64 = 2;

/// Two classes (a, b), one tiny video each; datasets of 2 clips of 6 frames per video (4
/// samples: labels 0, 0, 1, 1), 32x24.
fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let videos = dir.path().join("videos");
        for (class, d) in [("a", "1"), ("b", "1.3")] {
            std::fs::create_dir_all(videos.join(class)).unwrap();
            let src = format!("testsrc2=s=64x48:r=10:d={d},format=yuv420p");
            let out = videos.join(class).join("v.mp4");
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                &src,
                "-c:v",
                "libx264",
                "-g",
                "5",
                "-threads",
                "1",
                out.to_str().unwrap(),
            ]);
        }
        let common = [
            "--frames",
            "6",
            "--size",
            "32x24",
            "--num-clips",
            "2",
            "--threads",
            "1",
            "--quiet",
        ];
        let build = |out: &Path, extra: &[&str]| {
            let mut a = vec![
                "build",
                videos.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ];
            a.extend(common);
            a.extend(extra);
            vdx_ok(&a);
        };
        let frames = dir.path().join("frames.vdx");
        build(&frames, &["--field", "frames"]);
        let segments = dir.path().join("segments.vdx");
        build(&segments, &["--field", "segments", "--keyint", "3"]);
        let flow = dir.path().join("flow.vdx");
        build(&flow, &["--field", "flow", "--keyframe-every", "2"]);
        let shards = dir.path().join("shards");
        std::fs::create_dir_all(&shards).unwrap();
        for k in ["0/2", "1/2"] {
            build(&shards.join("ds"), &["--shard", k]);
        }
        vdx_ok(&["manifest", shards.to_str().unwrap()]);
        Fixtures {
            _dir: dir,
            frames,
            segments,
            flow,
            shards,
        }
    })
}

// ---------------------------------------------------------------- raw file editing

/// A dataset file's bytes, edited by FORMAT.md's layout (no vdx code).
#[derive(Clone)]
struct Raw {
    b: Vec<u8>,
}

const META: usize = 24 + 4 * 1041;

impl Raw {
    fn load(p: &Path) -> Self {
        Raw {
            b: std::fs::read(p).unwrap(),
        }
    }
    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.b[at..at + 8].try_into().unwrap())
    }
    fn set_u64(&mut self, at: usize, v: u64) {
        self.b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.b[at..at + 4].try_into().unwrap())
    }
    fn set_u32(&mut self, at: usize, v: u32) {
        self.b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn kind(&self) -> usize {
        (self.b[24] - 10) as usize
    }
    fn n(&self) -> u64 {
        self.u64(8)
    }
    fn at(&self) -> usize {
        self.u64(16) as usize
    }
    /// Offset of sample i's row; of a member (0 video, 1 label, 2 provenance, 3 checksum).
    fn row(&self, i: u64) -> usize {
        META + i as usize * [64, 80, 72][self.kind()]
    }
    fn member(&self, i: u64, k: usize) -> usize {
        self.row(i) + [[0, 32, 40, 56], [0, 48, 56, 72], [0, 40, 48, 64]][self.kind()][k]
    }
    /// Offset of a u32 member of the video record after ptr and size (0: num_frames, ...).
    fn rec(&self, i: u64, k: usize) -> usize {
        self.row(i) + 16 + 4 * k
    }
    fn pair(&self, at: usize) -> (u64, u64) {
        (self.u64(at), self.u64(at + 8))
    }
    fn video(&self, i: u64) -> (u64, u64) {
        self.pair(self.member(i, 0))
    }
    fn prov(&self, i: u64) -> (u64, u64) {
        self.pair(self.member(i, 2))
    }
    /// Where sample i's video data starts in the file.
    fn data(&self, i: u64) -> usize {
        self.video(i).0 as usize
    }
    fn crc(&self, i: u64) -> u32 {
        let (v, p) = (self.video(i), self.prov(i));
        let r = &self.b[self.row(i)..self.member(i, 3)];
        let c = crc32c::crc32c(r);
        let c = crc32c::crc32c_append(c, &self.b[v.0 as usize..(v.0 + v.1) as usize]);
        crc32c::crc32c_append(c, &self.b[p.0 as usize..(p.0 + p.1) as usize])
    }
    /// Recompute every sample's checksum (FORMAT.md: CRC-32C of the row before the checksum,
    /// the video data, the provenance).
    fn fix(&mut self) {
        for i in 0..self.n() {
            let c = self.crc(i) as u64;
            let at = self.member(i, 3);
            self.set_u64(at, c);
        }
    }
    fn args(&self, k: usize) -> Value {
        let a = &self.b[24 + k * 1041 + 17..24 + (k + 1) * 1041];
        let end = a.iter().position(|&c| c == 0).unwrap_or(a.len());
        serde_json::from_slice(&a[..end]).unwrap()
    }
    fn set_args(&mut self, k: usize, v: &Value) {
        let s = serde_json::to_vec(v).unwrap();
        assert!(s.len() <= 1024);
        let a = &mut self.b[24 + k * 1041 + 17..24 + (k + 1) * 1041];
        a.fill(0);
        a[..s.len()].copy_from_slice(&s);
    }
    fn edit_args(&mut self, k: usize, f: impl FnOnce(&mut Value)) {
        let mut a = self.args(k);
        f(&mut a);
        self.set_args(k, &a);
    }
    fn allocs(&self) -> Vec<[u64; 3]> {
        self.b[self.at()..]
            .chunks_exact(24)
            .map(|r| {
                let u = |k: usize| u64::from_le_bytes(r[8 * k..8 * k + 8].try_into().unwrap());
                [u(0), u(1), u(2)]
            })
            .collect()
    }
    fn set_allocs(&mut self, rows: &[[u64; 3]]) {
        let at = self.at();
        self.b.truncate(at);
        for r in rows {
            for v in r {
                self.b.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    /// Replace the bytes `start..end` of the data region with `new`, moving every pointer
    /// (rows, allocation table, dataset info, the table's own) and re-checksumming.
    fn splice(&mut self, start: usize, end: usize, new: &[u8]) {
        let (s, e) = (start as u64, end as u64);
        let delta = new.len() as i64 - (end - start) as i64;
        let map = |(p, z): (u64, u64)| -> (u64, u64) {
            if p == s && p + z == e && e > s {
                (p, new.len() as u64)
            } else if p >= e {
                ((p as i64 + delta) as u64, z)
            } else {
                (p, z)
            }
        };
        let rows: Vec<[u64; 3]> = self
            .allocs()
            .into_iter()
            .map(|[id, p, z]| {
                let (p, z) = map((p, z));
                [id, p, z]
            })
            .collect();
        let info = self.args(1)["info"].clone();
        let (ip, iz) = map((
            info["ptr"].as_u64().unwrap(),
            info["size"].as_u64().unwrap(),
        ));
        for i in 0..self.n() {
            for k in [0, 2] {
                let at = self.member(i, k);
                let (p, z) = map(self.pair(at));
                self.set_u64(at, p);
                self.set_u64(at + 8, z);
            }
        }
        let at = map((self.at() as u64, 0)).0;
        self.b.splice(start..end, new.iter().copied());
        self.set_u64(16, at);
        self.set_allocs(&rows);
        self.edit_args(1, |a| {
            a["info"]["ptr"] = json!(ip);
            a["info"]["size"] = json!(iz);
        });
        self.fix();
    }
    fn info(&self) -> Value {
        let i = &self.args(1)["info"];
        let p = i["ptr"].as_u64().unwrap() as usize;
        serde_json::from_slice(&self.b[p..p + i["size"].as_u64().unwrap() as usize]).unwrap()
    }
    /// Replace the dataset info and its CRC (`info.crc32c`).
    fn set_info(&mut self, v: &Value) {
        let i = self.args(1)["info"].clone();
        let (p, z) = (i["ptr"].as_u64().unwrap(), i["size"].as_u64().unwrap());
        let bytes = serde_json::to_vec(v).unwrap();
        self.splice(p as usize, (p + z) as usize, &bytes);
        self.edit_args(1, |a| a["info"]["crc32c"] = json!(crc32c::crc32c(&bytes)));
    }
    fn provenance(&self, i: u64) -> Value {
        let (p, z) = self.prov(i);
        serde_json::from_slice(&self.b[p as usize..(p + z - 1) as usize]).unwrap()
    }
    /// Replace sample i's provenance bytes as they are (NUL included or not).
    fn set_provenance_bytes(&mut self, i: u64, bytes: &[u8]) {
        let (p, z) = self.prov(i);
        self.splice(p as usize, (p + z) as usize, bytes);
    }
    fn edit_provenance(&mut self, i: u64, f: impl FnOnce(&mut Value)) {
        let mut v = self.provenance(i);
        f(&mut v);
        let mut bytes = serde_json::to_vec(&v).unwrap();
        bytes.push(0);
        self.set_provenance_bytes(i, &bytes);
    }
    /// A segments sample's packet row k: (offset in the file of the row).
    fn packet(&self, i: u64, k: usize) -> usize {
        self.data(i) + 32 * k
    }
    /// The packet row of sample i whose pts is `pts`.
    fn packet_with_pts(&self, i: u64, pts: i64) -> usize {
        let np = self.u32(self.rec(i, 1)) as usize;
        (0..np)
            .map(|k| self.packet(i, k))
            .find(|&at| self.u64(at) as i64 == pts)
            .unwrap()
    }
}

// ---------------------------------------------------------------- running verify

fn write(raw: &Raw) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bad.vdx");
    std::fs::write(&p, &raw.b).unwrap();
    (d, p)
}

const CHECKSUM_RULE: &str = "checksum is the CRC-32C of row, data and provenance";

/// `vdx verify` and `vdx verify --json` on `path` both fail, with a problem line naming the
/// rule, `whom` (`sample 3,`, `dataset,`, `shard 0 (`) and `part` (`field flow`). Unless the
/// rule is about the checksum, no sample fails its checksum (they were recomputed).
fn expect_at(path: &Path, rule: &str, whom: &str, part: &str) {
    let names = |line: &str| {
        line.contains(&format!("rule \"{rule}\"")) && line.contains(whom) && line.contains(part)
    };
    let p = path.to_str().unwrap();
    let o = vdx(&["verify", p]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        !o.status.success(),
        "vdx verify accepted a file breaking {rule:?}"
    );
    assert!(
        err.lines().any(names),
        "vdx verify did not name rule {rule:?}, {whom:?}, {part:?}:\n{err}"
    );
    if !rule.starts_with("checksum") {
        assert!(
            !err.contains(CHECKSUM_RULE),
            "a checksum was left stale:\n{err}"
        );
    }
    let o = vdx(&["verify", p, "--json"]);
    assert!(!o.status.success(), "vdx verify --json accepted it");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    let problems = v["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|x| names(x.as_str().unwrap())),
        "--json did not name rule {rule:?}, {whom:?}, {part:?}: {v:#}"
    );
    if let Some(vs) = v.get("violations") {
        assert!(
            vs.as_array().unwrap().iter().any(|x| x["rule"] == rule),
            "--json's violations lack {rule:?}: {v:#}"
        );
    }
}

/// Write `raw` and expect the rule for sample `i` in field `part`.
fn expect(raw: &Raw, rule: &str, sample: Option<u64>, part: &str) {
    let (_d, p) = write(raw);
    let whom = sample.map_or("dataset,".to_string(), |i| format!("sample {i},"));
    expect_at(&p, rule, &whom, part);
}

fn frames() -> Raw {
    Raw::load(&fixtures().frames)
}
fn segments() -> Raw {
    Raw::load(&fixtures().segments)
}
fn flow() -> Raw {
    Raw::load(&fixtures().flow)
}

// ---------------------------------------------------------------- the unmodified files

#[test]
fn unmodified_datasets_verify_ok_and_the_test_reader_agrees() {
    let f = fixtures();
    for p in [&f.frames, &f.segments, &f.flow] {
        let raw = Raw::load(p);
        assert_eq!(raw.n(), 4, "{}", p.display());
        for i in 0..raw.n() {
            assert_eq!(raw.crc(i) as u64, raw.u64(raw.member(i, 3)), "sample {i}");
        }
        // The editing helpers keep a file valid when they change nothing.
        let mut same = raw.clone();
        same.fix();
        let info = same.info();
        same.set_info(&info);
        let prov = same.provenance(2);
        same.edit_provenance(2, |v| *v = prov);
        assert!(
            same.b == raw.b,
            "{}: the helpers changed bytes",
            p.display()
        );
        let out = vdx_ok(&["verify", p.to_str().unwrap()]);
        assert!(out.contains("OK: 4 samples"), "{out}");
        let v: Value =
            serde_json::from_str(&vdx_ok(&["verify", p.to_str().unwrap(), "--json"])).unwrap();
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["problems"], json!([]));
        assert_eq!(v["violations"], json!([]));
        assert_eq!(v["decoded"], 4);
    }
    let m = f.shards.join("ds.vdxm");
    let out = vdx_ok(&["verify", m.to_str().unwrap()]);
    assert!(out.contains("OK: 4 samples"), "{out}");
}

// ---------------------------------------------------------------- metadata rows

#[test]
fn label_outside_classes() {
    for (label, i) in [(2i64, 1u64), (-2, 3)] {
        let mut r = frames();
        let at = r.member(i, 1);
        r.set_u64(at, label as u64);
        r.fix();
        expect(&r, "label in -1..classes-1", Some(i), "field label");
    }
    // -1 (unlabelled) is allowed.
    let mut r = frames();
    let at = r.member(0, 1);
    r.set_u64(at, u64::MAX);
    r.fix();
    let (_d, p) = write(&r);
    vdx_ok(&["verify", p.to_str().unwrap()]);
}

#[test]
fn checksum_negative() {
    let mut r = segments();
    let at = r.member(2, 3);
    r.set_u64(at, (-5i64) as u64);
    expect(
        &r,
        "checksum is a non-negative CRC-32C",
        Some(2),
        "field checksum",
    );
}

#[test]
fn checksum_mismatch() {
    let mut r = flow();
    let at = r.data(1) + 40;
    r.b[at] ^= 0x20;
    expect(&r, CHECKSUM_RULE, Some(1), "field checksum");
}

#[test]
fn row_padding_nonzero() {
    for (mut r, byte, field) in [
        (frames(), 29, "field frames"),
        (segments(), 46, "field segments"),
        (flow(), 39, "field flow"),
    ] {
        let at = r.row(3) + byte;
        r.b[at] = 0x10;
        r.fix();
        expect(&r, "padding bytes are zero", Some(3), field);
    }
}

#[test]
fn record_differs_from_field_arguments() {
    let rule = "record matches the field arguments";
    // frames: num_frames (T) and width.
    let mut r = frames();
    let at = r.rec(1, 0);
    r.set_u32(at, T as u32 - 1);
    r.fix();
    expect(&r, rule, Some(1), "field frames");
    let mut r = frames();
    let at = r.rec(2, 2);
    r.set_u32(at, 34);
    r.fix();
    expect(&r, rule, Some(2), "field frames");
    // segments: height.
    let mut r = segments();
    let at = r.rec(0, 2);
    r.set_u32(at, 26);
    r.fix();
    expect(&r, rule, Some(0), "field segments");
    // flow: scale, and the arguments' frames.
    let mut r = flow();
    let at = r.rec(3, 4);
    r.set_u32(at, 2.0f32.to_bits());
    r.fix();
    expect(&r, rule, Some(3), "field flow");
    let mut r = flow();
    r.edit_args(0, |a| a["frames"] = json!(7));
    expect(&r, rule, Some(0), "field flow");
}

// ---------------------------------------------------------------- frames data

#[test]
fn frame_offset_table() {
    let table = 8 * (T + 1);
    let mut r = frames();
    let at = r.data(1);
    r.set_u64(at, table + 1);
    r.fix();
    expect(&r, "off[0] = 8·(T+1)", Some(1), "field frames");
    let mut r = frames();
    let at = r.data(2) + 8 * T as usize;
    let size = r.video(2).1;
    r.set_u64(at, size - 1);
    r.fix();
    expect(&r, "off[T] = size", Some(2), "field frames");
    let mut r = frames();
    let at = r.data(0);
    let off1 = r.u64(at + 8);
    r.set_u64(at + 16, off1);
    r.fix();
    expect(&r, "frame offsets increase", Some(0), "field frames");
}

// ---------------------------------------------------------------- segments data

#[test]
fn segments_keyframes_at_multiples_of_keyint() {
    let rule = "keyframes at multiples of keyint";
    // A non-key packet flagged key.
    let mut r = segments();
    let at = r.packet_with_pts(1, 1) + 28;
    r.set_u32(at, 1);
    r.fix();
    expect(&r, rule, Some(1), "field segments");
    let (_d, p) = write(&r);
    let err = vdx_err(&["verify", p.to_str().unwrap()]);
    assert!(
        err.contains("(pts 1) is flagged key but keyint is 3"),
        "{err}"
    );
    // A multiple of keyint not flagged key.
    let mut r = segments();
    let at = r.packet_with_pts(2, KEYINT as i64) + 28;
    r.set_u32(at, 0);
    r.fix();
    expect(&r, rule, Some(2), "field segments");
    // The arguments' keyint changed: the flags contradict it.
    let mut r = segments();
    r.edit_args(0, |a| a["keyint"] = json!(2));
    expect(&r, rule, Some(0), "field segments");
}

#[test]
fn segments_first_packet_is_a_keyframe() {
    let mut r = segments();
    let at = r.packet(3, 0) + 28;
    r.set_u32(at, 0);
    r.fix();
    expect(&r, "first packet is a keyframe", Some(3), "field segments");
}

#[test]
fn segments_flags_only_bit_0() {
    let mut r = segments();
    let at = r.packet(0, 2) + 28;
    let f = r.u32(at);
    r.set_u32(at, f | 4);
    r.fix();
    expect(&r, "flags: only bit 0", Some(0), "field segments");
}

#[test]
fn segments_dts_strictly_increasing() {
    let mut r = segments();
    let (a, b) = (r.packet(1, 1) + 8, r.packet(1, 2) + 8);
    let (da, db) = (r.u64(a), r.u64(b));
    r.set_u64(a, db);
    r.set_u64(b, da);
    r.fix();
    expect(&r, "dts strictly increasing", Some(1), "field segments");
}

#[test]
fn segments_pts_permutation() {
    // pts 5 becomes 4: 4 twice, 5 missing (neither is a multiple of keyint 3).
    let mut r = segments();
    let at = r.packet_with_pts(2, 5);
    r.set_u64(at, 4);
    r.fix();
    expect(&r, "pts are 0..T-1, each once", Some(2), "field segments");
}

#[test]
fn segments_num_packets_equals_num_frames() {
    let mut r = segments();
    let at = r.rec(0, 0);
    r.set_u32(at, T as u32 + 1);
    r.fix();
    expect(
        &r,
        "num_packets equals num_frames",
        Some(0),
        "field segments",
    );
}

#[test]
fn segments_packets_back_to_back() {
    let rule = "packets back to back after the table and extradata";
    // Packet 1 starts a byte late (and is a byte shorter).
    let mut r = segments();
    let at = r.packet(1, 1);
    let (off, size) = (r.u64(at + 16), r.u32(at + 24));
    r.set_u64(at + 16, off + 1);
    r.set_u32(at + 24, size - 1);
    r.fix();
    expect(&r, rule, Some(1), "field segments");
    // Packet 0 does not start right after the table and extradata.
    let mut r = segments();
    let ex = r.u32(r.rec(2, 4)) as u64;
    let at = r.packet(2, 0);
    assert_eq!(r.u64(at + 16), 32 * T + ex);
    let size = r.u32(at + 24);
    r.set_u64(at + 16, 32 * T + ex + 2);
    r.set_u32(at + 24, size - 2);
    r.fix();
    expect(&r, rule, Some(2), "field segments");
}

#[test]
fn segments_extradata_and_time_base() {
    // H.264 extradata is Annex B: it starts with a start code.
    let mut r = segments();
    let ex = r.data(1) + 32 * T as usize;
    assert!(r.b[ex..ex + 4] == [0, 0, 0, 1] || r.b[ex..ex + 3] == [0, 0, 1]);
    r.b[ex + 2] = 5;
    r.b[ex + 3] = 5;
    r.fix();
    expect(
        &r,
        "extradata as the codec's table says",
        Some(1),
        "field segments",
    );
    let mut r = segments();
    let at = r.rec(3, 6);
    r.set_u32(at, 0);
    r.fix();
    expect(&r, "time base is positive", Some(3), "field segments");
}

// ---------------------------------------------------------------- flow data

#[test]
fn flow_keyframe_positions() {
    let rule = "keyframes at 0, K, 2K, … < T";
    // T = 6, K = 2: positions 0, 2, 4; the second one moved.
    let mut r = flow();
    let at = r.data(1);
    assert_eq!([r.u32(at), r.u32(at + 4), r.u32(at + 8)], [0, 2, 4]);
    r.set_u32(at + 4, 3);
    r.fix();
    expect(&r, rule, Some(1), "field flow");
    // The arguments' keyframe_interval no longer matches the file.
    let mut r = flow();
    r.edit_args(0, |a| a["keyframe_interval"] = json!(FLOW_K + 1));
    expect(&r, rule, Some(0), "field flow");
}

#[test]
fn flow_padding_after_positions_and_jpegs() {
    // 3 positions (12 bytes), then 4 bytes of padding.
    let mut r = flow();
    let at = r.data(2) + 13;
    r.b[at] = 7;
    r.fix();
    expect(
        &r,
        "zero padding after the keyframe positions",
        Some(2),
        "field flow",
    );
    // The padding after the JPEGs: a sample whose JPEGs do not end at a multiple of 8.
    let r0 = flow();
    let i = (0..r0.n())
        .find(|&i| r0.u64(r0.data(i) + 16 + 8 * 3) % 8 != 0)
        .expect("a sample with padding after its JPEGs");
    let mut r = r0.clone();
    let end = r.u64(r.data(i) + 16 + 8 * 3) as usize;
    let at = r.data(i) + end;
    r.b[at] = 1;
    r.fix();
    expect(&r, "zero padding after the JPEGs", Some(i), "field flow");
}

#[test]
fn flow_jpeg_offsets_and_size() {
    let mut r = flow();
    let at = r.data(3) + 16;
    let o = r.u64(at);
    assert_eq!(o, 16 + 8 * 4);
    r.set_u64(at, o + 1);
    r.fix();
    expect(
        &r,
        "JPEG offsets start after the tables and increase",
        Some(3),
        "field flow",
    );
    // The last JPEG offset moved by 8: align8(off[nk]) + (T-1)·H·W·2 is no longer the size.
    let mut r = flow();
    let at = r.data(0) + 16 + 8 * 3;
    let end = r.u64(at);
    r.set_u64(at, end + 8);
    r.fix();
    expect(
        &r,
        "size = align8(off[nk]) + (T-1)·H·W·2",
        Some(0),
        "field flow",
    );
}

// ---------------------------------------------------------------- the allocation table

#[test]
fn allocation_table_sorted_by_ptr() {
    let mut r = frames();
    let mut rows = r.allocs();
    rows.swap(3, 4);
    r.set_allocs(&rows);
    expect(
        &r,
        "allocation table sorted by ptr",
        Some(rows[4][0]),
        "allocation table",
    );
}

#[test]
fn allocation_not_referenced() {
    // 16 bytes inserted before the table, listed as an allocation of sample 1 that none of
    // its pointers name: back to back, inside the page, but nobody's.
    let mut r = segments();
    let at = r.at();
    r.splice(at, at, &[0u8; 16]);
    let mut rows = r.allocs();
    rows.push([1, at as u64, 16]);
    r.set_allocs(&rows);
    expect(
        &r,
        "every allocation is a pointer of its sample",
        Some(1),
        "allocation table",
    );
}

#[test]
fn allocations_overlap() {
    let mut r = flow();
    let (p, _) = r.video(2);
    let mut rows = r.allocs();
    rows.push([2, p + 8, 8]);
    r.set_allocs(&rows);
    expect(
        &r,
        "allocations do not overlap",
        Some(2),
        "allocation table",
    );
}

#[test]
fn zero_size_allocation() {
    let mut r = frames();
    let (p, _) = r.video(1);
    let mut rows = r.allocs();
    rows.push([1, p, 0]);
    r.set_allocs(&rows);
    expect(&r, "no zero-size allocation", Some(1), "allocation table");
}

#[test]
fn allocations_back_to_back() {
    // 8 bytes between sample 1's provenance and sample 2's data (not a page boundary).
    let mut r = frames();
    let (p, _) = r.video(2);
    r.splice(p as usize, p as usize, &[0u8; 8]);
    expect(
        &r,
        "allocations back to back within a page",
        Some(2),
        "allocation table",
    );
    // 8 bytes between the last allocation and the table.
    let mut r = frames();
    let at = r.at();
    r.splice(at, at, &[0u8; 8]);
    let last = r.allocs().iter().max_by_key(|a| a[1]).unwrap()[0];
    expect(
        &r,
        "allocation table directly after the last allocation",
        Some(last),
        "allocation table",
    );
}

#[test]
fn gap_and_info_first() {
    let mut r = flow();
    let at = r.row(4) + 100;
    r.b[at] = 1;
    expect(&r, "gap before the data region is zeros", None, "gap");
    // 8 bytes before the info: it is no longer first in the data region.
    let mut r = flow();
    let p = r.args(1)["info"]["ptr"].as_u64().unwrap() as usize;
    r.splice(p, p, &[0u8; 8]);
    expect(
        &r,
        "dataset info first in the data region",
        Some(0),
        "field label (dataset info)",
    );
}

// ---------------------------------------------------------------- fields and arguments

#[test]
fn renamed_fields_and_type_ids() {
    let rule = "four fields: frames|segments|flow, label, provenance, checksum";
    // The video field renamed: the file opens, verify names the rule.
    let mut r = frames();
    r.b[24 + 1 + 5] = b'z';
    expect(&r, rule, None, "field framez");
    // label renamed, provenance's type id changed: the file does not open; the error says
    // which rule.
    let mut r = segments();
    r.b[24 + 1041 + 1 + 5] = b's';
    expect(&r, rule, None, "field label");
    let mut r = flow();
    r.b[24 + 2 * 1041] = 3;
    expect(&r, rule, None, "field provenance");
    let mut r = flow();
    r.b[24 + 3 * 1041] = 0;
    expect(&r, rule, None, "field checksum");
}

#[test]
fn field_arguments_keys_and_values() {
    let rule = "field arguments";
    type Edit = fn(&mut Value);
    type Case = (fn() -> Raw, usize, &'static str, &'static str, Edit);
    let cases: [Case; 14] = [
        (frames, 0, "field frames", "'quality'", |a| {
            a.as_object_mut().unwrap().remove("quality");
        }),
        (frames, 0, "field frames", "'quality'", |a| {
            a["quality"] = json!(0)
        }),
        (frames, 0, "field frames", "'encoding'", |a| {
            a["encoding"] = json!("png")
        }),
        (frames, 0, "field frames", "'version'", |a| {
            a["version"] = json!(2)
        }),
        (frames, 0, "field frames", "'resize'", |a| {
            a["resize"] = json!("crop")
        }),
        (segments, 0, "field segments", "'codec'", |a| {
            a["codec"] = json!("h266")
        }),
        (segments, 0, "field segments", "'bitstream'", |a| {
            a["bitstream"] = json!("raw")
        }),
        (segments, 0, "field segments", "'crf'", |a| {
            a.as_object_mut().unwrap().remove("crf");
        }),
        (flow, 0, "field flow", "'quantization'", |a| {
            a["quantization"] = json!("round(flow*scale)")
        }),
        (flow, 0, "field flow", "'farneback.levels'", |a| {
            a["farneback"]["levels"] = json!(1.5)
        }),
        (flow, 1, "field label", "'crc32c'", |a| {
            a["info"].as_object_mut().unwrap().remove("crc32c");
        }),
        (flow, 2, "field provenance", "'nul_terminated'", |a| {
            a["nul_terminated"] = json!(false)
        }),
        (frames, 3, "field checksum", "'algorithm'", |a| {
            a["algorithm"] = json!("crc32")
        }),
        (segments, 2, "field provenance", "'encoding'", |a| {
            a["encoding"] = json!("latin-1")
        }),
    ];
    for (raw, k, part, key, edit) in cases {
        let mut r = raw();
        r.edit_args(k, edit);
        let (_d, p) = write(&r);
        expect_at(&p, rule, "dataset,", part);
        let err = vdx_err(&["verify", p.to_str().unwrap()]);
        assert!(err.contains(key), "{part} {key}: {err}");
    }
}

#[test]
fn descriptor_padding() {
    let mut r = frames();
    let at = 24 + 1041 + 17 + 1000;
    r.b[at] = b' ';
    expect(
        &r,
        "field arguments are a JSON object, NUL-padded",
        None,
        "field label",
    );
}

// ---------------------------------------------------------------- provenance

#[test]
fn provenance_nul_and_utf8() {
    // The NUL replaced by a space: still JSON, but not "JSON and one NUL".
    let mut r = frames();
    let (p, z) = r.prov(1);
    r.b[(p + z - 1) as usize] = b' ';
    r.fix();
    expect(
        &r,
        "provenance is JSON and one NUL",
        Some(1),
        "field provenance",
    );
    // A byte of the source path that is not UTF-8.
    let mut r = segments();
    let (p, z) = r.prov(2);
    let text = r.b[p as usize..(p + z) as usize].to_vec();
    let at = p as usize + text.windows(8).position(|w| w == b"\"source\"").unwrap() + 12;
    r.b[at] = 0xff;
    r.fix();
    expect(
        &r,
        "provenance is a UTF-8 JSON object",
        Some(2),
        "field provenance",
    );
}

#[test]
fn provenance_keys_and_lengths() {
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 7] = [
        ("provenance keys and types", |v| {
            v.as_object_mut().unwrap().remove("source");
        }),
        ("provenance keys and types", |v| {
            v["time_base"] = json!("1:30")
        }),
        ("provenance keys and types", |v| v["pts"][1] = json!("x")),
        ("provenance frames and pts have T entries", |v| {
            v["frames"].as_array_mut().unwrap().pop();
        }),
        ("provenance frames and pts have T entries", |v| {
            v["pts"].as_array_mut().unwrap().push(json!(99));
        }),
        ("padded ≤ T", |v| v["padded"] = json!(T + 1)),
        ("damaged positions < T", |v| v["damaged"] = json!([1, T])),
    ];
    for (rule, edit) in cases {
        let mut r = flow();
        r.edit_provenance(3, edit);
        expect(&r, rule, Some(3), "field provenance");
    }
}

// ---------------------------------------------------------------- dataset info

#[test]
fn dataset_info_keys_classes_and_crc() {
    let mut r = frames();
    let mut info = r.info();
    info.as_object_mut().unwrap().remove("videos");
    r.set_info(&info);
    expect(
        &r,
        "dataset info keys and types",
        Some(0),
        "field label (dataset info)",
    );
    let mut r = frames();
    let mut info = r.info();
    info["skipped"] = json!([{"path": 3}]);
    r.set_info(&info);
    expect(
        &r,
        "dataset info keys and types",
        Some(0),
        "field label (dataset info)",
    );
    let mut r = frames();
    let mut info = r.info();
    assert_eq!(info["classes"], json!(["a", "b"]));
    info["classes"] = json!(["a", "a"]);
    r.set_info(&info);
    expect(
        &r,
        "classes are unique",
        Some(0),
        "field label (dataset info)",
    );
    // The info's bytes changed, its CRC not: refused on opening, naming the rule.
    let mut r = frames();
    let p = r.args(1)["info"]["ptr"].as_u64().unwrap() as usize;
    let at = p
        + r.b[p..]
            .windows(9)
            .position(|w| w == b"\"classes\"")
            .unwrap()
        + 12;
    r.b[at] = b'c';
    expect(
        &r,
        "info.crc32c is the info's CRC-32C",
        Some(0),
        "field label (dataset info)",
    );
}

// ---------------------------------------------------------------- manifests

#[test]
fn manifest_with_swapped_shards_is_refused_naming_the_shard() {
    let src = &fixtures().shards;
    let d = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), d.path().join(e.file_name())).unwrap();
    }
    let m = d.path().join("ds.vdxm");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    v["shards"].as_array_mut().unwrap().swap(0, 1);
    std::fs::write(&m, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    expect_at(
        &m,
        "shard.index is the shard's position and shard.count the number of shards",
        "shard 0 (ds-00001-of-00002.vdx)",
        "field label (dataset info)",
    );
    // A shard's info recording another count.
    let mut v: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    v["shards"].as_array_mut().unwrap().swap(0, 1);
    std::fs::write(&m, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    vdx_ok(&["verify", m.to_str().unwrap()]);
}
