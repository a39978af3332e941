//! The segments field (type 11): a clip re-encoded as a codec bitstream with a forced
//! keyframe interval, stored with everything a decoder needs and no container.
//!
//! Data layout (offsets relative to the sample's data):
//! - packet table, `num_packets` rows of the packed dtype
//!   `[('pts','<i8'),('dts','<i8'),('offset','<u8'),('size','<u4'),('flags','<u4')]`
//!   (32 bytes, decode order; `flags` bit 0 = keyframe; pts counts frames in the record's
//!   time base);
//! - `extradata_size` bytes of codec extradata (H.264/H.265 parameter sets in Annex B);
//! - the packets' bytes, each at its `offset`.
//!
//! Frame k (presentation order) is decoded by feeding the packets from the last keyframe whose
//! pts is at or before k's pts, in decode order.

use crate::dataset::fields::ClipTensor;
use crate::dataset::format::{le_u32, le_u64};
use crate::dataset::writer::VideoRecord;
use crate::error::{Result, VdxError};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use serde::{Deserialize, Serialize};

pub const PACKET_ROW: usize = 32;

/// SVT-AV1's smallest picture side.
pub const AV1_MIN_SIDE: u32 = 64;

/// libx265's smallest safe picture side. Below it x265 writes past its buffers: valgrind's
/// memcheck shows invalid writes in `Lookahead::cuTree` at widths of 48 and under (16, 32,
/// 40, 48 wide, whatever the height; the `ffmpeg` CLI with libx265 does the same, so the bug
/// is the library's), and the heap corruption aborts builds ('free(): invalid next size').
/// Widths 50-62 showed no invalid write in our runs, but one coding tree unit (64) is the
/// size x265 is built around, so vdx refuses anything smaller on either side.
pub const HEVC_MIN_SIDE: u32 = 64;

/// The one name FORMAT.md gives a codec: `h265` is accepted on input as an alias of `hevc`,
/// and files always say `hevc`.
pub fn canonical_codec(name: &str) -> String {
    match name {
        "h265" => "hevc".to_string(),
        other => other.to_string(),
    }
}

/// Encoder settings of a segments field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentParams {
    /// h264, hevc, vp9 or av1.
    pub codec: String,
    pub crf: u32,
    /// A keyframe every this many frames, exactly (scene-cut keyframes off).
    pub keyint: u32,
    /// Output frame rate; None: the source rate divided by the clip's stride.
    pub fps: Option<f64>,
    /// Cap on the segment's duration in seconds.
    pub max_duration_secs: Option<f64>,
}

impl Default for SegmentParams {
    fn default() -> Self {
        SegmentParams {
            codec: "h264".into(),
            crf: 23,
            keyint: 30,
            fps: None,
            max_duration_secs: None,
        }
    }
}

fn encoder_name(codec: &str) -> Result<&'static str> {
    Ok(match codec {
        "h264" => "libx264",
        "hevc" | "h265" => "libx265",
        "vp9" => "libvpx-vp9",
        "av1" => "libsvtav1",
        other => {
            return Err(VdxError::param(
                "codec",
                format!("'{other}' is not one of h264, hevc, vp9, av1"),
            ))
        }
    })
}

/// Check that the system FFmpeg can encode `codec`.
pub fn check_encoder(codec: &str) -> Result<()> {
    crate::video::media::init();
    let name = encoder_name(codec)?;
    if ffmpeg::encoder::find_by_name(name).is_none() {
        return Err(VdxError::param(
            "codec",
            format!("this FFmpeg build has no {name} encoder for {codec}"),
        ));
    }
    Ok(())
}

/// Check a segment size against what the codec can encode: even sides (4:2:0), for HEVC
/// libx265's smallest safe picture, and for AV1 SVT-AV1's smallest picture (it refuses
/// smaller ones with a bare "Invalid argument").
pub fn check_size(codec: &str, width: u32, height: u32) -> Result<()> {
    if width % 2 != 0 || height % 2 != 0 {
        return Err(VdxError::param(
            "size",
            format!("{width}x{height}: segments need even width and height (4:2:0)"),
        ));
    }
    if matches!(codec, "hevc" | "h265") && (width < HEVC_MIN_SIDE || height < HEVC_MIN_SIDE) {
        return Err(VdxError::param(
            "size",
            format!(
                "{width}x{height}: HEVC segments (libx265) need at least \
                 {HEVC_MIN_SIDE}x{HEVC_MIN_SIDE} pixels (smaller pictures corrupt libx265's memory)"
            ),
        ));
    }
    if codec == "av1" && (width < AV1_MIN_SIDE || height < AV1_MIN_SIDE) {
        return Err(VdxError::param(
            "size",
            format!(
                "{width}x{height}: AV1 segments (SVT-AV1) need at least \
                 {AV1_MIN_SIDE}x{AV1_MIN_SIDE} pixels"
            ),
        ));
    }
    Ok(())
}

struct EncodedPacket {
    pts: i64,
    dts: i64,
    key: bool,
    data: Vec<u8>,
}

/// Encode RGB frames (all `width`×`height`) as a segment: (record, data).
pub fn encode(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    fps: f64,
    p: &SegmentParams,
) -> Result<(VideoRecord, Vec<u8>)> {
    // On a fresh thread: encoding on a pooled worker thread that had just decoded gave
    // H.264 and H.265 segments whose bytes differed from run to run (about one build in
    // three with two threads; VP9 not), with the very same input pictures and settings. The
    // cause is state the worker thread carries, not pinned down: valgrind reports no
    // uninitialised reads, and the x87 and SSE control words are the defaults. On a thread
    // of its own, every run gives the same bytes (tests/dataset_roundtrip.rs). A thread
    // costs tens of microseconds; an encode, milliseconds.
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("vdx-encode".into())
            .spawn_scoped(s, || encode_here(frames, width, height, fps, p))
            .map_err(|e| {
                VdxError::param("segments", format!("cannot start the encoder thread: {e}"))
            })?
            .join()
            .unwrap_or_else(|_| Err(VdxError::param("segments", "the encoder thread panicked")))
    })
}

fn encode_here(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    fps: f64,
    p: &SegmentParams,
) -> Result<(VideoRecord, Vec<u8>)> {
    crate::video::media::init();
    let name = encoder_name(&p.codec)?;
    let enc_err =
        |what: &str, e: ffmpeg::Error| VdxError::param("segments", format!("{name}: {what}: {e}"));
    let codec = ffmpeg::encoder::find_by_name(name).ok_or_else(|| {
        VdxError::param("codec", format!("this FFmpeg build has no {name} encoder"))
    })?;
    check_size(&p.codec, width, height)?;
    let fps = sane_frame_rate(fps);
    let tb = fps.invert();
    let mut ctx = ffmpeg::codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| enc_err("cannot set up", e))?;
    ctx.set_width(width);
    ctx.set_height(height);
    ctx.set_format(ffmpeg::format::Pixel::YUV420P);
    ctx.set_time_base(tb);
    ctx.set_frame_rate(Some(fps));
    ctx.set_gop(p.keyint);
    // Closed GOPs for every codec: a keyframe is a random-access point that a decoder can
    // start from with nothing before it (SVT-AV1 otherwise writes forward keyframes, intra
    // frames that later frames may skip over, and only pts 0 is a real keyframe).
    ctx.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER | ffmpeg::codec::Flags::CLOSED_GOP);
    // SAFETY: plain settings on a codec context not yet opened.
    unsafe {
        let c = ctx.as_mut_ptr();
        (*c).keyint_min = p.keyint as i32;
        (*c).thread_count = 1;
    }
    let mut opts = ffmpeg::Dictionary::new();
    let k = p.keyint;
    match name {
        "libx264" => {
            opts.set("crf", &p.crf.to_string());
            opts.set("preset", "veryfast");
            opts.set("forced-idr", "1");
            opts.set(
                "x264-params",
                &format!("keyint={k}:min-keyint={k}:scenecut=0:open-gop=0"),
            );
        }
        "libx265" => {
            opts.set("crf", &p.crf.to_string());
            opts.set("preset", "veryfast");
            opts.set("forced-idr", "1");
            opts.set(
                "x265-params",
                &format!("keyint={k}:min-keyint={k}:scenecut=0:open-gop=0:log-level=error"),
            );
        }
        "libvpx-vp9" => {
            opts.set("crf", &p.crf.to_string());
            opts.set("b", "0");
            opts.set("deadline", "realtime");
            opts.set("cpu-used", "8");
        }
        _ => {
            opts.set("crf", &p.crf.to_string());
            opts.set("preset", "12");
            // irefresh-type=2: keyframes are IDR-like key frames, not forward keyframes.
            opts.set("svtav1-params", &format!("keyint={k}:irefresh-type=2"));
        }
    }
    let mut enc = ctx
        .open_with(opts)
        .map_err(|e| enc_err("cannot open the encoder", e))?;
    let extradata = {
        // SAFETY: reads the opened encoder's extradata buffer.
        unsafe {
            let c = enc.as_ptr();
            if (*c).extradata.is_null() || (*c).extradata_size <= 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts((*c).extradata, (*c).extradata_size as usize).to_vec()
            }
        }
    };
    let mut sws = ffmpeg::software::scaling::Context::get(
        ffmpeg::format::Pixel::RGB24,
        width,
        height,
        ffmpeg::format::Pixel::YUV420P,
        width,
        height,
        ffmpeg::software::scaling::Flags::BICUBIC,
    )
    .map_err(|e| enc_err("no RGB to YUV conversion", e))?;
    let mut rgb = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::RGB24, width, height);
    // Rows are copied in below `width * 3` bytes at a time; the rest of each stride stays as
    // allocated, and swscale's SIMD input reads it (valgrind: uninitialised values from 2-pixel
    // widths on). Zero once so every byte it reads is defined.
    rgb.data_mut(0).fill(0);
    let mut yuv = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::YUV420P, width, height);
    let mut packets = Vec::new();
    let drain = |enc: &mut ffmpeg::encoder::Video, packets: &mut Vec<EncodedPacket>| {
        let mut pkt = ffmpeg::Packet::empty();
        while enc.receive_packet(&mut pkt).is_ok() {
            packets.push(EncodedPacket {
                pts: pkt.pts().unwrap_or(0),
                dts: pkt.dts().unwrap_or(0),
                key: pkt.is_key(),
                data: pkt.data().unwrap_or_default().to_vec(),
            });
        }
    };
    let row = width as usize * 3;
    for (k, f) in frames.iter().enumerate() {
        let stride = rgb.stride(0);
        let dst = rgb.data_mut(0);
        for y in 0..height as usize {
            dst[y * stride..y * stride + row].copy_from_slice(&f[y * row..(y + 1) * row]);
        }
        sws.run(&rgb, &mut yuv)
            .map_err(|e| enc_err("conversion failed", e))?;
        yuv.set_pts(Some(k as i64));
        // SAFETY: frame type is a plain field; force exact keyframe positions.
        unsafe {
            (*yuv.as_mut_ptr()).pict_type = if k % p.keyint.max(1) as usize == 0 {
                ffi::AVPictureType::AV_PICTURE_TYPE_I
            } else {
                ffi::AVPictureType::AV_PICTURE_TYPE_NONE
            };
        }
        enc.send_frame(&yuv)
            .map_err(|e| enc_err("encoding failed", e))?;
        drain(&mut enc, &mut packets);
    }
    enc.send_eof().map_err(|e| enc_err("flush failed", e))?;
    drain(&mut enc, &mut packets);
    if packets.is_empty() {
        return Err(VdxError::param(
            "segments",
            format!("{name} produced no packets"),
        ));
    }
    let table = packets.len() * PACKET_ROW;
    let mut out = Vec::with_capacity(
        table + extradata.len() + packets.iter().map(|p| p.data.len()).sum::<usize>(),
    );
    let mut at = (table + extradata.len()) as u64;
    for pk in &packets {
        out.extend_from_slice(&pk.pts.to_le_bytes());
        out.extend_from_slice(&pk.dts.to_le_bytes());
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&(pk.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(pk.key as u32).to_le_bytes());
        at += pk.data.len() as u64;
    }
    out.extend_from_slice(&extradata);
    for pk in &packets {
        out.extend_from_slice(&pk.data);
    }
    let rec = VideoRecord::Segments {
        num_frames: frames.len() as u32,
        num_packets: packets.len() as u32,
        height,
        width,
        extradata_size: extradata.len() as u32,
        time_base_num: tb.numerator() as u32,
        time_base_den: tb.denominator() as u32,
    };
    Ok((rec, out))
}

/// A packet-table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PacketRow {
    pub pts: i64,
    pub dts: i64,
    pub offset: u64,
    pub size: u32,
    pub key: bool,
}

/// The packet table and extradata of a segment, checked against the data size.
pub fn parse<'a>(
    data: &'a [u8],
    rec: &VideoRecord,
) -> std::result::Result<(Vec<PacketRow>, &'a [u8]), String> {
    let VideoRecord::Segments {
        num_packets,
        extradata_size,
        num_frames,
        ..
    } = *rec
    else {
        return Err("not a segments record".into());
    };
    let np = num_packets as usize;
    let table = np.checked_mul(PACKET_ROW).ok_or("packet count overflows")?;
    let head = table
        .checked_add(extradata_size as usize)
        .filter(|&h| h <= data.len())
        .ok_or("the packet table and extradata do not fit the data")?;
    if np == 0 || np > 4 * num_frames as usize + 16 {
        return Err(format!("{np} packets for {num_frames} frames"));
    }
    let mut rows = Vec::with_capacity(np);
    for k in 0..np {
        let o = k * PACKET_ROW;
        let r = PacketRow {
            pts: le_u64(data, o) as i64,
            dts: le_u64(data, o + 8) as i64,
            offset: le_u64(data, o + 16),
            size: le_u32(data, o + 24),
            key: le_u32(data, o + 28) & 1 == 1,
        };
        let end = r.offset.checked_add(r.size as u64);
        if (r.offset as usize) < head || end.is_none_or(|e| e > data.len() as u64) {
            return Err(format!("packet {k} points outside the data"));
        }
        rows.push(r);
    }
    if !rows[0].key {
        return Err("the first packet is not a keyframe".into());
    }
    Ok((rows, &data[table..head]))
}

fn codec_id(args: &serde_json::Value) -> std::result::Result<ffmpeg::codec::Id, String> {
    Ok(match args["codec"].as_str().unwrap_or("h264") {
        "h264" => ffmpeg::codec::Id::H264,
        "hevc" | "h265" => ffmpeg::codec::Id::HEVC,
        "vp9" => ffmpeg::codec::Id::VP9,
        "av1" => ffmpeg::codec::Id::AV1,
        other => return Err(format!("unknown segment codec '{other}'")),
    })
}

/// Decode every frame of a segment, in presentation order.
pub fn decode_all(
    data: &[u8],
    rec: &VideoRecord,
    args: &serde_json::Value,
) -> std::result::Result<ClipTensor, String> {
    let (rows, _) = parse(data, rec)?;
    let mut pts: Vec<i64> = rows.iter().map(|r| r.pts).collect();
    pts.sort_unstable();
    decode_frames(data, rec, args, &rows, &pts)
}

/// Decode frame `k` alone (presentation order), starting at the keyframe before it.
pub fn decode_frame(
    data: &[u8],
    rec: &VideoRecord,
    args: &serde_json::Value,
    k: usize,
) -> std::result::Result<ClipTensor, String> {
    let (rows, target, starts) = keyframe_starts(data, rec, k)?;
    // An encoder may flag recovery-point pictures (open GOP) as keyframes; if the target does
    // not come out of the latest one, start one keyframe earlier. Files vdx writes have closed
    // GOPs (see `decode_frame_from_nearest_keyframe`); this serves files from elsewhere.
    let mut last_err = "no keyframe before the frame".to_string();
    for start in starts {
        match decode_frames(data, rec, args, &rows[start..], &[target]) {
            Ok(c) => return Ok(c),
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

/// Decode frame `k` from the nearest keyframe at or before it and nothing earlier: what
/// FORMAT.md promises of every segment vdx writes (closed GOPs, real keyframes for every
/// codec). No fallback, so a test can hold the encoder to it.
pub fn decode_frame_from_nearest_keyframe(
    data: &[u8],
    rec: &VideoRecord,
    args: &serde_json::Value,
    k: usize,
) -> std::result::Result<ClipTensor, String> {
    let (rows, target, starts) = keyframe_starts(data, rec, k)?;
    let start = *starts.first().ok_or("no keyframe before the frame")?;
    decode_frames(data, rec, args, &rows[start..], &[target])
}

/// The packet table, frame `k`'s pts and the decode-order positions of the keyframes whose
/// pts is at or before it, latest first.
fn keyframe_starts(
    data: &[u8],
    rec: &VideoRecord,
    k: usize,
) -> std::result::Result<(Vec<PacketRow>, i64, Vec<usize>), String> {
    let (rows, _) = parse(data, rec)?;
    let mut pts: Vec<i64> = rows.iter().map(|r| r.pts).collect();
    pts.sort_unstable();
    let target = *pts
        .get(k)
        .ok_or(format!("frame {k} is past the segment's end"))?;
    let starts: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.key && r.pts <= target)
        .map(|(i, _)| i)
        .rev()
        .collect();
    Ok((rows, target, starts))
}

fn decode_frames(
    data: &[u8],
    rec: &VideoRecord,
    args: &serde_json::Value,
    rows: &[PacketRow],
    wanted_pts: &[i64],
) -> std::result::Result<ClipTensor, String> {
    crate::video::media::init();
    let VideoRecord::Segments {
        height,
        width,
        extradata_size,
        num_packets,
        ..
    } = *rec
    else {
        return Err("not a segments record".into());
    };
    let (w, h) = (width as usize, height as usize);
    let extra_at = num_packets as usize * PACKET_ROW;
    let extradata = &data[extra_at..extra_at + extradata_size as usize];
    let id = codec_id(args)?;
    let codec = ffmpeg::decoder::find(id).ok_or(format!("no decoder for {id:?}"))?;
    let mut ctx = ffmpeg::codec::context::Context::new_with_codec(codec);
    // SAFETY: extradata is copied into an av_malloc'd, padded buffer the context owns.
    unsafe {
        let c = ctx.as_mut_ptr();
        if !extradata.is_empty() {
            let pad = ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
            let buf = ffi::av_mallocz(extradata.len() + pad) as *mut u8;
            if buf.is_null() {
                return Err("out of memory".into());
            }
            std::ptr::copy_nonoverlapping(extradata.as_ptr(), buf, extradata.len());
            (*c).extradata = buf;
            (*c).extradata_size = extradata.len() as i32;
        }
        (*c).width = width as i32;
        (*c).height = height as i32;
        (*c).thread_count = 1;
    }
    let mut dec = ctx
        .decoder()
        .video()
        .map_err(|e| format!("cannot open the {id:?} decoder: {e}"))?;
    let mut frame = ffmpeg::frame::Video::empty();
    let mut got: Vec<(i64, Vec<u8>)> = Vec::with_capacity(wanted_pts.len());
    let mut sws: Option<ffmpeg::software::scaling::Context> = None;
    let mut receive = |dec: &mut ffmpeg::decoder::Video,
                       got: &mut Vec<(i64, Vec<u8>)>|
     -> std::result::Result<(), String> {
        while dec.receive_frame(&mut frame).is_ok() {
            let p = frame.pts().unwrap_or(i64::MIN);
            if std::env::var_os("VDX_TRACE_SEG").is_some() {
                eprintln!("segment decoder: frame pts {p}");
            }
            if wanted_pts.binary_search(&p).is_err() {
                continue;
            }
            if frame.width() as usize != w || frame.height() as usize != h {
                return Err(format!(
                    "decoded picture is {}x{}, the record says {w}x{h}",
                    frame.width(),
                    frame.height()
                ));
            }
            if sws.is_none() {
                sws = Some(
                    ffmpeg::software::scaling::Context::get(
                        frame.format(),
                        width,
                        height,
                        ffmpeg::format::Pixel::RGB24,
                        width,
                        height,
                        ffmpeg::software::scaling::Flags::BICUBIC,
                    )
                    .map_err(|e| format!("no conversion to RGB: {e}"))?,
                );
            }
            let mut rgb = ffmpeg::frame::Video::empty();
            sws.as_mut()
                .expect("set above")
                .run(&frame, &mut rgb)
                .map_err(|e| format!("conversion failed: {e}"))?;
            let stride = rgb.stride(0);
            let src = rgb.data(0);
            let mut out = Vec::with_capacity(w * h * 3);
            for y in 0..h {
                out.extend_from_slice(&src[y * stride..y * stride + w * 3]);
            }
            got.push((p, out));
        }
        Ok(())
    };
    let last = *wanted_pts.last().unwrap_or(&i64::MIN);
    for r in rows {
        let bytes = &data[r.offset as usize..r.offset as usize + r.size as usize];
        let mut pkt = ffmpeg::Packet::copy(bytes);
        pkt.set_pts(Some(r.pts));
        pkt.set_dts(Some(r.dts));
        if r.key {
            pkt.set_flags(ffmpeg::codec::packet::Flags::KEY);
        }
        dec.send_packet(&pkt)
            .map_err(|e| format!("the decoder rejected a packet: {e}"))?;
        receive(&mut dec, &mut got)?;
        if got.len() == wanted_pts.len() && got.iter().any(|(p, _)| *p == last) {
            break;
        }
    }
    let _ = dec.send_eof();
    receive(&mut dec, &mut got)?;
    got.sort_by_key(|(p, _)| *p);
    got.dedup_by_key(|(p, _)| *p);
    if got.len() != wanted_pts.len() {
        return Err(format!(
            "decoded {} of {} frames",
            got.len(),
            wanted_pts.len()
        ));
    }
    let mut data_out = Vec::with_capacity(got.len() * w * h * 3);
    for (_, f) in &got {
        data_out.extend_from_slice(f);
    }
    Ok(ClipTensor {
        num_frames: got.len(),
        height: h,
        width: w,
        data: data_out,
    })
}

/// The frame rate a segment is written at, as a fraction muxers accept: whole rates exactly
/// (25/1), NTSC rates as N*1000/1001, anything else (the mean rate of a VFR source, 2.3012
/// fps) to a thousandth of a frame per second. A float turned into a fraction as is gives
/// time bases like 838653605/1926627027, which the MP4 muxer refuses on export.
pub(crate) fn sane_frame_rate(fps: f64) -> ffmpeg::Rational {
    let fps = if fps.is_finite() {
        fps.clamp(0.1, 1000.0)
    } else {
        30.0
    };
    let whole = fps.round();
    if (fps - whole).abs() <= 1e-4 * fps {
        return ffmpeg::Rational::new(whole as i32, 1);
    }
    let ntsc = (fps * 1.001).round();
    if (fps - ntsc / 1.001).abs() <= 1e-4 * fps {
        return ffmpeg::Rational::new((ntsc * 1000.0) as i32, 1001);
    }
    ffmpeg::Rational::new((fps * 1000.0).round() as i32, 1000).reduce()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_become_fractions_muxers_accept() {
        let r = |f: f64| {
            let q = sane_frame_rate(f);
            (q.numerator(), q.denominator())
        };
        assert_eq!(r(25.0), (25, 1));
        assert_eq!(r(29.97002997), (30000, 1001));
        assert_eq!(r(23.976023976), (24000, 1001));
        assert_eq!(r(2.30127), (2301, 1000));
        assert_eq!(r(12.5), (25, 2));
        assert_eq!(r(f64::NAN), (30, 1));
    }
}
