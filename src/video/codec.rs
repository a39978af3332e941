//! Compressed streams without a container, for the segments field and its export: RGB frames
//! encoded with a forced keyframe interval, such a stream's packets decoded back to RGB, and
//! the packets written into MP4 as they are. The dataset and export layers call these with
//! plain Rust types; FFmpeg's structures stay here.

use crate::video::error::{Result, VideoError};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use std::path::Path;

/// One compressed packet, decode order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub pts: i64,
    pub dts: i64,
    pub key: bool,
    pub data: &'a [u8],
}

/// What an encode produced: packets in decode order, the codec's extradata (parameter sets,
/// Annex B for H.264/H.265) and the time base pts count in (num, den).
#[derive(Debug, Clone, Default)]
pub struct EncodedStream {
    pub packets: Vec<EncodedPacket>,
    pub extradata: Vec<u8>,
    pub time_base: (i32, i32),
}

#[derive(Debug, Clone)]
pub struct EncodedPacket {
    pub pts: i64,
    pub dts: i64,
    pub key: bool,
    pub data: Vec<u8>,
}

/// Encoder settings: codec (h264, hevc/h265, vp9, av1), constant rate factor, and a keyframe
/// every `keyint` frames exactly.
#[derive(Debug, Clone, Copy)]
pub struct EncodeSettings<'a> {
    pub codec: &'a str,
    pub crf: u32,
    pub keyint: u32,
}

/// The FFmpeg encoder vdx uses for a codec name.
pub fn encoder_name(codec: &str) -> Result<&'static str> {
    Ok(match codec {
        "h264" => "libx264",
        "hevc" | "h265" => "libx265",
        "vp9" => "libvpx-vp9",
        "av1" => "libsvtav1",
        other => {
            return Err(VideoError::param(
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
        return Err(VideoError::param(
            "codec",
            format!("this FFmpeg build has no {name} encoder for {codec}"),
        ));
    }
    Ok(())
}

/// Why [`decode_rgb`] failed: the stream's own fault or FFmpeg's, with FFmpeg's error as the
/// source where there is one. The caller adds the file and sample.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("unknown segment codec '{0}'")]
    UnknownCodec(String),
    #[error("this FFmpeg build has no decoder for {0}")]
    NoDecoder(String),
    #[error("out of memory")]
    OutOfMemory,
    /// An FFmpeg call failed; `what` says which step.
    #[error("{what}: {source}")]
    Ffmpeg {
        what: String,
        #[source]
        source: ffmpeg::Error,
    },
    /// The decoder's pictures contradict the record (their size, their count).
    #[error("{0}")]
    Pictures(String),
}

fn ffmpeg_step(what: impl Into<String>) -> impl FnOnce(ffmpeg::Error) -> CodecError {
    let what = what.into();
    move |source| CodecError::Ffmpeg { what, source }
}

fn codec_id(codec: &str) -> std::result::Result<ffmpeg::codec::Id, CodecError> {
    Ok(match codec {
        "h264" => ffmpeg::codec::Id::H264,
        "hevc" | "h265" => ffmpeg::codec::Id::HEVC,
        "vp9" => ffmpeg::codec::Id::VP9,
        "av1" => ffmpeg::codec::Id::AV1,
        other => return Err(CodecError::UnknownCodec(other.to_string())),
    })
}

/// The frame rate a stream is written at, as a fraction muxers accept: whole rates exactly
/// (25/1), NTSC rates as N*1000/1001, anything else (the mean rate of a VFR source, 2.3012
/// fps) to a thousandth of a frame per second. A float turned into a fraction as is gives
/// time bases like 838653605/1926627027, which the MP4 muxer refuses on export.
pub fn sane_frame_rate(fps: f64) -> (i32, i32) {
    let fps = if fps.is_finite() {
        fps.clamp(0.1, 1000.0)
    } else {
        30.0
    };
    let whole = fps.round();
    if (fps - whole).abs() <= 1e-4 * fps {
        return (whole as i32, 1);
    }
    let ntsc = (fps * 1.001).round();
    if (fps - ntsc / 1.001).abs() <= 1e-4 * fps {
        return ((ntsc * 1000.0) as i32, 1001);
    }
    let r = ffmpeg::Rational::new((fps * 1000.0).round() as i32, 1000).reduce();
    (r.numerator(), r.denominator())
}

/// Copy `extradata` into an av_malloc'd, padded buffer and hand it to `*slot` / `*size`.
///
/// # Safety
/// `slot` and `size` must be the extradata fields of a codec context or codec parameters
/// that own their extradata and hold none yet.
unsafe fn set_extradata(slot: *mut *mut u8, size: *mut i32, extradata: &[u8]) -> bool {
    if extradata.is_empty() {
        return true;
    }
    let pad = ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
    let buf = ffi::av_mallocz(extradata.len() + pad) as *mut u8;
    if buf.is_null() {
        return false;
    }
    std::ptr::copy_nonoverlapping(extradata.as_ptr(), buf, extradata.len());
    *slot = buf;
    *size = extradata.len() as i32;
    true
}

/// Encode RGB frames (each `width`×`height`×3 bytes) at `fps`.
pub fn encode_rgb(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    fps: f64,
    s: EncodeSettings,
) -> Result<EncodedStream> {
    // On a fresh thread: encoding on a pooled worker thread that had just decoded gave
    // H.264 and H.265 segments whose bytes differed from run to run (about one build in
    // three with two threads; VP9 not), with the very same input pictures and settings; on a
    // thread of its own a one-video build gave the same bytes every run. Builds of several
    // videos still differed now and then: for H.264 that was x264's AVX-512 code (see
    // `x264_asm_cap`). A thread costs tens of microseconds; an encode, milliseconds.
    std::thread::scope(|sc| {
        std::thread::Builder::new()
            .name("vdx-encode".into())
            .spawn_scoped(sc, || encode_here(frames, width, height, fps, s))
            .map_err(|e| {
                VideoError::param("segments", format!("cannot start the encoder thread: {e}"))
            })?
            .join()
            .unwrap_or_else(|_| Err(VideoError::param("segments", "the encoder thread panicked")))
    })
}

/// x264's instruction sets capped at AVX2 on a CPU with AVX-512. With its AVX-512 routines
/// (Debian's libx264 0.164), H.264 segments differed from run to run in about one build in
/// five of two corpus videos on two threads: the same pictures in (CRC-32C of every encoder's
/// RGB and YUV input logged), other packets out. Capped at AVX2, 16 builds of 16 and 8 of 8
/// gave the same bytes, and so did x264 without assembly. valgrind cannot see it: it has no
/// AVX-512, so x264 never takes those routines under it. The AVX2 set x264 then uses (AVX2,
/// FMA3, BMI1/2, LZCNT and the SSE levels) is on every CPU with AVX-512; x264 trusts the cap
/// without checking the CPU, so it is only set where the CPU has them all.
fn x264_asm_cap() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f")
            && has!("avx2")
            && has!("fma")
            && has!("bmi1")
            && has!("bmi2")
            && has!("lzcnt")
            && has!("sse4.2")
        {
            return ":asm=AVX2";
        }
    }
    ""
}

fn encode_here(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    fps: f64,
    s: EncodeSettings,
) -> Result<EncodedStream> {
    crate::video::media::init();
    let name = encoder_name(s.codec)?;
    // Debian's SVT-AV1 1.4.1 crashed once (a null read inside libSvtAv1Enc) while a build ran
    // two AV1 encoders at the same time: one SVT-AV1 encoder at a time, held until this one
    // is freed (it is dropped before the guard). SVT-AV1 threads inside itself.
    let _one_svt = (name == "libsvtav1").then(|| {
        static SVT_AV1: std::sync::Mutex<()> = std::sync::Mutex::new(());
        SVT_AV1.lock().unwrap_or_else(|p| p.into_inner())
    });
    let (mut enc, tb) = open_encoder(name, width, height, fps, s)?;
    let extradata = encoder_extradata(&enc);
    let packets = encode_frames(&mut enc, name, frames, width, height, s.keyint)?;
    if packets.is_empty() {
        return Err(VideoError::param(
            "segments",
            format!("{name} produced no packets"),
        ));
    }
    Ok(EncodedStream {
        packets,
        extradata,
        time_base: (tb.numerator(), tb.denominator()),
    })
}

/// The error of an encoder step: "{name}: {what}: {e}" about the segments field.
fn enc_err(name: &str, what: &str, e: ffmpeg::Error) -> VideoError {
    VideoError::param("segments", format!("{name}: {what}: {e}"))
}

/// Sets up and opens encoder `name` for YUV 4:2:0 at `fps`; returns it and its time base.
fn open_encoder(
    name: &str,
    width: u32,
    height: u32,
    fps: f64,
    s: EncodeSettings,
) -> Result<(ffmpeg::encoder::Video, ffmpeg::Rational)> {
    let codec = ffmpeg::encoder::find_by_name(name).ok_or_else(|| {
        VideoError::param("codec", format!("this FFmpeg build has no {name} encoder"))
    })?;
    let (fr_num, fr_den) = sane_frame_rate(fps);
    let fps = ffmpeg::Rational::new(fr_num, fr_den);
    let tb = fps.invert();
    let mut ctx = ffmpeg::codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| enc_err(name, "cannot set up", e))?;
    ctx.set_width(width);
    ctx.set_height(height);
    ctx.set_format(ffmpeg::format::Pixel::YUV420P);
    ctx.set_time_base(tb);
    ctx.set_frame_rate(Some(fps));
    ctx.set_gop(s.keyint);
    // Closed GOPs for every codec: a keyframe is a random-access point that a decoder can
    // start from with nothing before it (SVT-AV1 otherwise writes forward keyframes, intra
    // frames that later frames may skip over, and only pts 0 is a real keyframe).
    ctx.set_flags(ffmpeg::codec::Flags::GLOBAL_HEADER | ffmpeg::codec::Flags::CLOSED_GOP);
    // SAFETY: plain settings on a codec context not yet opened.
    unsafe {
        let c = ctx.as_mut_ptr();
        (*c).keyint_min = s.keyint as i32;
        (*c).thread_count = 1;
    }
    let enc = ctx
        .open_with(encoder_options(name, width, height, s))
        .map_err(|e| enc_err(name, "cannot open the encoder", e))?;
    Ok((enc, tb))
}

/// x265's coding tree unit for a `width`×`height` picture: 32 where a side is 64 or less,
/// else its default, 64. Debian's libx265 3.5 reads memory it never wrote when a side is one
/// CTU of 64: with the same 64×64 pictures (the ffmpeg CLI's alone, from the corpus' VP9
/// file), its bytes changed with glibc's MALLOC_PERTURB_ fill (5 fills, 5 outputs; x265's
/// assembly off, frame threads and pools off, no other x265 option alone changed that), and
/// a build of several videos differed from run to run. Sides of 72 or more, or a 32-pixel
/// CTU, gave the same bytes whatever the fill. (vdx refuses H.265 below 64 pixels.)
fn x265_ctu(width: u32, height: u32) -> &'static str {
    if width.min(height) <= 64 {
        ":ctu=32"
    } else {
        ""
    }
}

/// The private options of encoder `name` for `width`×`height` pictures: rate factor, speed,
/// and exact keyframe intervals.
fn encoder_options(
    name: &str,
    width: u32,
    height: u32,
    s: EncodeSettings,
) -> ffmpeg::Dictionary<'static> {
    let mut opts = ffmpeg::Dictionary::new();
    let k = s.keyint;
    match name {
        "libx264" => {
            opts.set("crf", &s.crf.to_string());
            opts.set("preset", "veryfast");
            opts.set("forced-idr", "1");
            opts.set(
                "x264-params",
                &format!(
                    "keyint={k}:min-keyint={k}:scenecut=0:open-gop=0{}",
                    x264_asm_cap()
                ),
            );
        }
        "libx265" => {
            opts.set("crf", &s.crf.to_string());
            opts.set("preset", "veryfast");
            opts.set("forced-idr", "1");
            opts.set(
                "x265-params",
                &format!(
                    "keyint={k}:min-keyint={k}:scenecut=0:open-gop=0:log-level=error{}",
                    x265_ctu(width, height)
                ),
            );
        }
        "libvpx-vp9" => {
            opts.set("crf", &s.crf.to_string());
            opts.set("b", "0");
            opts.set("deadline", "realtime");
            opts.set("cpu-used", "8");
        }
        _ => {
            opts.set("crf", &s.crf.to_string());
            opts.set("preset", "12");
            // irefresh-type=2: keyframes are IDR-like key frames, not forward keyframes.
            opts.set("svtav1-params", &format!("keyint={k}:irefresh-type=2"));
        }
    }
    opts
}

/// A copy of the opened encoder's extradata (empty where it has none).
fn encoder_extradata(enc: &ffmpeg::encoder::Video) -> Vec<u8> {
    // SAFETY: reads the opened encoder's extradata buffer.
    unsafe {
        let c = enc.as_ptr();
        if (*c).extradata.is_null() || (*c).extradata_size <= 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts((*c).extradata, (*c).extradata_size as usize).to_vec()
        }
    }
}

/// Converts each RGB frame to YUV, encodes it (keyframe every `keyint`) and flushes; the packets.
fn encode_frames(
    enc: &mut ffmpeg::encoder::Video,
    name: &str,
    frames: &[&[u8]],
    width: u32,
    height: u32,
    keyint: u32,
) -> Result<Vec<EncodedPacket>> {
    let mut sws = ffmpeg::software::scaling::Context::get(
        ffmpeg::format::Pixel::RGB24,
        width,
        height,
        ffmpeg::format::Pixel::YUV420P,
        width,
        height,
        ffmpeg::software::scaling::Flags::BICUBIC,
    )
    .map_err(|e| enc_err(name, "no RGB to YUV conversion", e))?;
    let mut rgb = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::RGB24, width, height);
    // Rows are copied in below `width * 3` bytes at a time; the rest of each stride stays as
    // allocated, and swscale's SIMD input reads it (valgrind: uninitialised values from 2-pixel
    // widths on). Zero once so every byte it reads is defined.
    rgb.data_mut(0).fill(0);
    let mut yuv = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::YUV420P, width, height);
    let mut packets = Vec::new();
    let row = width as usize * 3;
    for (k, f) in frames.iter().enumerate() {
        let stride = rgb.stride(0);
        let dst = rgb.data_mut(0);
        for y in 0..height as usize {
            dst[y * stride..y * stride + row].copy_from_slice(&f[y * row..(y + 1) * row]);
        }
        sws.run(&rgb, &mut yuv)
            .map_err(|e| enc_err(name, "conversion failed", e))?;
        yuv.set_pts(Some(k as i64));
        // SAFETY: frame type is a plain field; force exact keyframe positions.
        unsafe {
            (*yuv.as_mut_ptr()).pict_type = if k % keyint.max(1) as usize == 0 {
                ffi::AVPictureType::AV_PICTURE_TYPE_I
            } else {
                ffi::AVPictureType::AV_PICTURE_TYPE_NONE
            };
        }
        enc.send_frame(&yuv)
            .map_err(|e| enc_err(name, "encoding failed", e))?;
        drain_packets(enc, &mut packets);
    }
    enc.send_eof()
        .map_err(|e| enc_err(name, "flush failed", e))?;
    drain_packets(enc, &mut packets);
    Ok(packets)
}

/// Moves every packet the encoder has ready into `packets`.
fn drain_packets(enc: &mut ffmpeg::encoder::Video, packets: &mut Vec<EncodedPacket>) {
    let mut pkt = ffmpeg::Packet::empty();
    while enc.receive_packet(&mut pkt).is_ok() {
        packets.push(EncodedPacket {
            pts: pkt.pts().unwrap_or(0),
            dts: pkt.dts().unwrap_or(0),
            key: pkt.is_key(),
            data: pkt.data().unwrap_or_default().to_vec(),
        });
    }
}

/// Decode `packets` (decode order, starting at a keyframe) of a `codec` stream and return the
/// RGB pictures (`width`×`height`×3 bytes each) whose pts are in `wanted_pts` (sorted), in
/// pts order. Stops feeding once every wanted picture is out.
pub fn decode_rgb<'a>(
    codec: &str,
    width: u32,
    height: u32,
    extradata: &[u8],
    packets: impl IntoIterator<Item = Packet<'a>>,
    wanted_pts: &[i64],
) -> std::result::Result<Vec<Vec<u8>>, CodecError> {
    crate::video::media::init();
    let (w, h) = (width as usize, height as usize);
    let id = codec_id(codec)?;
    let dec_codec = ffmpeg::decoder::find(id).ok_or(CodecError::NoDecoder(format!("{id:?}")))?;
    let mut ctx = ffmpeg::codec::context::Context::new_with_codec(dec_codec);
    // SAFETY: the context owns its (still empty) extradata fields; plain settings before
    // the decoder is opened.
    unsafe {
        let c = ctx.as_mut_ptr();
        if !set_extradata(&mut (*c).extradata, &mut (*c).extradata_size, extradata) {
            return Err(CodecError::OutOfMemory);
        }
        (*c).width = width as i32;
        (*c).height = height as i32;
        (*c).thread_count = 1;
    }
    let mut dec = ctx
        .decoder()
        .video()
        .map_err(ffmpeg_step(format!("cannot open the {id:?} decoder")))?;
    let mut frame = ffmpeg::frame::Video::empty();
    let mut got: Vec<(i64, Vec<u8>)> = Vec::with_capacity(wanted_pts.len());
    let mut sws: Option<ffmpeg::software::scaling::Context> = None;
    let mut receive = |dec: &mut ffmpeg::decoder::Video,
                       got: &mut Vec<(i64, Vec<u8>)>|
     -> std::result::Result<(), CodecError> {
        while dec.receive_frame(&mut frame).is_ok() {
            let p = frame.pts().unwrap_or(i64::MIN);
            if std::env::var_os("VDX_TRACE_SEG").is_some() {
                eprintln!("segment decoder: frame pts {p}");
            }
            if wanted_pts.binary_search(&p).is_err() {
                continue;
            }
            if frame.width() as usize != w || frame.height() as usize != h {
                return Err(CodecError::Pictures(format!(
                    "decoded picture is {}x{}, the record says {w}x{h}",
                    frame.width(),
                    frame.height()
                )));
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
                    .map_err(ffmpeg_step("no conversion to RGB"))?,
                );
            }
            let mut rgb = ffmpeg::frame::Video::empty();
            sws.as_mut()
                .expect("set above")
                .run(&frame, &mut rgb)
                .map_err(ffmpeg_step("conversion failed"))?;
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
    for r in packets {
        let mut pkt = ffmpeg::Packet::copy(r.data);
        pkt.set_pts(Some(r.pts));
        pkt.set_dts(Some(r.dts));
        if r.key {
            pkt.set_flags(ffmpeg::codec::packet::Flags::KEY);
        }
        dec.send_packet(&pkt)
            .map_err(ffmpeg_step("the decoder rejected a packet"))?;
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
        return Err(CodecError::Pictures(format!(
            "decoded {} of {} frames",
            got.len(),
            wanted_pts.len()
        )));
    }
    Ok(got.into_iter().map(|(_, f)| f).collect())
}

/// Write a stream's packets into an MP4 file at `tmp` (no re-encoding), read it back and
/// remove it. `time_base` is (num, den) of the packets' pts/dts; each packet lasts one tick.
pub fn remux_mp4<'a>(
    codec: &str,
    width: u32,
    height: u32,
    time_base: (i32, i32),
    extradata: &[u8],
    packets: impl IntoIterator<Item = Packet<'a>>,
    tmp: &Path,
) -> Result<Vec<u8>> {
    crate::video::media::init();
    let id = codec_id(codec).unwrap_or(ffmpeg::codec::Id::H264);
    let fe = |e: ffmpeg::Error| VideoError::write(tmp, format!("MP4 muxer: {e}"));
    let tb = ffmpeg::Rational::new(time_base.0, time_base.1.max(1));
    {
        let mut octx = ffmpeg::format::output_as(tmp, "mp4").map_err(fe)?;
        {
            let mut ost = octx.add_stream(ffmpeg::encoder::find(id)).map_err(fe)?;
            ost.set_time_base(tb);
            // SAFETY: codec parameters of a stream we own, before the header is written; the
            // parameters own their (still empty) extradata fields.
            unsafe {
                let par = (*ost.as_mut_ptr()).codecpar;
                (*par).codec_type = ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
                (*par).codec_id = id.into();
                (*par).codec_tag = 0;
                (*par).width = width as i32;
                (*par).height = height as i32;
                (*par).format = ffi::AVPixelFormat::AV_PIX_FMT_YUV420P as i32;
                if !set_extradata(&mut (*par).extradata, &mut (*par).extradata_size, extradata) {
                    return Err(VideoError::write(tmp, "out of memory"));
                }
                (*ost.as_mut_ptr()).avg_frame_rate = tb.invert().into();
            }
        }
        octx.write_header().map_err(fe)?;
        let ost_tb = octx.stream(0).map(|s| s.time_base()).unwrap_or(tb);
        for r in packets {
            let mut pkt = ffmpeg::Packet::copy(r.data);
            pkt.set_pts(Some(r.pts));
            pkt.set_dts(Some(r.dts));
            pkt.set_duration(1);
            pkt.set_stream(0);
            if r.key {
                pkt.set_flags(ffmpeg::codec::packet::Flags::KEY);
            }
            pkt.rescale_ts(tb, ost_tb);
            pkt.write_interleaved(&mut octx).map_err(fe)?;
        }
        octx.write_trailer().map_err(fe)?;
    }
    let bytes = std::fs::read(tmp).map_err(|e| VideoError::io(tmp, e))?;
    let _ = std::fs::remove_file(tmp);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_become_fractions_muxers_accept() {
        assert_eq!(sane_frame_rate(25.0), (25, 1));
        assert_eq!(sane_frame_rate(29.97002997), (30000, 1001));
        assert_eq!(sane_frame_rate(23.976023976), (24000, 1001));
        assert_eq!(sane_frame_rate(2.30127), (2301, 1000));
        assert_eq!(sane_frame_rate(12.5), (25, 2));
        assert_eq!(sane_frame_rate(f64::NAN), (30, 1));
    }
}
