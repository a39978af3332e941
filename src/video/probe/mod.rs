//! Probe on a budget: container and per-stream facts from the header and a bounded read.
//!
//! This is what the metadata panel shows at once. Frame counts, durations and frame rates here
//! are what the *header* claims; the packet index ([`crate::video::index`]) counts the real ones and
//! reports any disagreement as a warning. JSON keys follow ffprobe's names where ffprobe has one.

use crate::video::error::Result;
use crate::video::media::{self, cstr, ProbeBudget};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

mod report;
mod stream;

pub use report::format_table;
pub(crate) use stream::rotate_cw_from_ccw;
use stream::*;

/// Everything `probe` learns about a file.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeInfo {
    pub format: FormatInfo,
    pub streams: Vec<StreamInfo>,
    /// The budget the probe ran under.
    pub probe_budget: ProbeBudget,
    /// How the facts beyond the header were learnt: `"header"` (container header plus the
    /// first video packet through the bitstream parser) or `"analysis"` (FFmpeg's stream
    /// analysis, which decodes a few frames).
    pub probe_method: &'static str,
}

/// Container facts (ffprobe's `format` section).
#[derive(Debug, Clone, Serialize)]
pub struct FormatInfo {
    pub filename: String,
    pub nb_streams: usize,
    pub format_name: String,
    pub format_long_name: String,
    /// Start time in seconds, if the container says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<f64>,
    /// Duration in seconds as the container header claims it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// File size in bytes.
    pub size: u64,
    /// Overall bit rate in bit/s, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<i64>,
    pub probe_score: i32,
    pub tags: BTreeMap<String, String>,
}

/// One stream's facts (ffprobe's `streams[]`). Fields that do not apply to the stream's type
/// are absent from the JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamInfo {
    pub index: usize,
    /// "video", "audio", "subtitle", "data", "attachment" or "unknown".
    pub codec_type: String,
    pub codec_name: String,
    pub codec_long_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub codec_tag_string: String,
    // ---- video ----
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Size of the coded picture (macroblock-aligned for H.264), from the bitstream parser.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coded_width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coded_height: Option<u32>,
    /// vdx: the size decoded frames have, where it differs from `width`×`height` (an H.264
    /// crop that FFmpeg's decoder applies only in part: it keeps a left crop that is not a
    /// multiple of 32 luma pixels, so frames come out wider than the header says).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_height: Option<u32>,
    /// vdx: where the header and the content disagree, what a user should know.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_aspect_ratio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_aspect_ratio: Option<String>,
    /// vdx: the size a player shows (sample aspect ratio and rotation applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pix_fmt: Option<String>,
    /// Bits per colour component of the pixel format (8, 10, 12...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_depth: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits_per_raw_sample: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_space: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_transfer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_primaries: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_order: Option<String>,
    /// Rotation from the display matrix as ffprobe reports it (degrees, counter-clockwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<f64>,
    /// vdx: clockwise rotation in degrees (0, 90, 180, 270) that makes the picture upright.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate_cw: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r_frame_rate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_frame_rate: Option<String>,
    // ---- audio ----
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_fmt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_layout: Option<String>,
    // ---- all ----
    pub time_base: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_pts: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ts: Option<i64>,
    /// Duration in seconds as the stream header claims it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<i64>,
    /// Frame count as the header claims it (0 or absent: unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nb_frames: Option<i64>,
    pub tags: BTreeMap<String, String>,
}

impl ProbeInfo {
    /// The first video stream (FFmpeg's "best" stream choice when several exist).
    pub fn best_video(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.codec_type == "video")
    }
}

/// Probe `path` under `budget`: container facts and each stream's facts.
///
/// Reads the header plus at most `budget.probesize_bytes` bytes; never decodes the whole file.
pub fn probe(path: &Path, budget: &ProbeBudget) -> Result<ProbeInfo> {
    probe_with(path, budget, ProbeMode::Fast)
}

/// How [`probe_with`] learns what the container header does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeMode {
    /// Header plus the first video packet through the codec's bitstream parser (no decoding)
    /// when that answers every question; FFmpeg's stream analysis otherwise.
    Fast,
    /// Always FFmpeg's stream analysis (`avformat_find_stream_info`, which decodes a few
    /// frames), as ffprobe does.
    Full,
}

/// [`probe`] with an explicit mode. Both modes give the same facts (a test holds them equal
/// on every fixture); `Fast` skips the decoding where the header is complete.
pub fn probe_with(path: &Path, budget: &ProbeBudget, mode: ProbeMode) -> Result<ProbeInfo> {
    if mode == ProbeMode::Fast {
        let mut ictx = media::open_header(path, budget)?;
        if let Some(info) = probe_from_header(&mut ictx, path, budget)? {
            return Ok(info);
        }
    }
    let mut ictx = media::open_input(path, budget)?;
    let mut info = collect(&ictx, path, budget)?;
    // The coded size is not in the container header; one packet through the bitstream parser
    // gives it cheaply (no decode).
    if let Some(vi) = info.streams.iter().position(|s| s.codec_type == "video") {
        let st_index = info.streams[vi].index;
        if let Some(pk) = first_packet_facts(&mut ictx, st_index, false) {
            info.streams[vi].coded_width = Some(pk.coded.0);
            info.streams[vi].coded_height = Some(pk.coded.1);
        }
    }
    Ok(info)
}

fn collect(
    ictx: &ffmpeg::format::context::Input,
    path: &Path,
    budget: &ProbeBudget,
) -> Result<ProbeInfo> {
    let size = crate::video::media::file_size(path)?;
    let fmt = ictx.format();
    let format = FormatInfo {
        filename: path.display().to_string(),
        nb_streams: ictx.nb_streams() as usize,
        format_name: fmt.name().to_string(),
        format_long_name: fmt.description().to_string(),
        // SAFETY: reads a plain field of the open format context, which `ictx` owns.
        start_time: av_time(unsafe { (*ictx.as_ptr()).start_time }),
        duration: av_time(ictx.duration()),
        size,
        bit_rate: Some(ictx.bit_rate()).filter(|b| *b > 0),
        probe_score: ictx.probe_score(),
        tags: dict_to_map(ictx.metadata()),
    };
    let streams: Vec<StreamInfo> = ictx.streams().map(|s| stream_info(&s)).collect();
    Ok(ProbeInfo {
        format,
        streams,
        probe_budget: *budget,
        probe_method: "analysis",
    })
}

/// The fast path: facts from the container header, completed by the video bitstream parser
/// and by opening (not running) the audio decoders. `None` where anything is missing, so the
/// caller falls back to FFmpeg's stream analysis.
fn probe_from_header(
    ictx: &mut ffmpeg::format::context::Input,
    path: &Path,
    budget: &ProbeBudget,
) -> Result<Option<ProbeInfo>> {
    let name = ictx.format().name().to_string();
    // Only containers whose header states sizes, rates and start times for every stream.
    // Matroska does not: stream start times (and Opus's output rate) come from the first
    // packets, so it takes the full analysis.
    if !name.starts_with("mov,") {
        return Ok(None);
    }
    let Some(vi) = header_video_stream(ictx) else {
        return Ok(None);
    };
    let Some(pk) = first_packet_facts(ictx, vi, true) else {
        return Ok(None);
    };
    // H.264/H.265 keep colour and aspect facts in the sequence headers, which only a
    // decoder reads. Other codecs take the full analysis.
    if pk.pix_fmt < 0 || !pk.headers_parsed {
        return Ok(None);
    }
    complete_video_parameters(ictx, vi, &pk);
    let mut info = collect(ictx, path, budget)?;
    // The overall bit rate and start time are set by the stream analysis; a header-only open
    // leaves them at their "unknown" values, so compute them the way libavformat does.
    estimate_format_timing(&mut info);
    note_coded_size(&mut info, vi, &pk);
    info.probe_method = "header";
    Ok(Some(info))
}

/// The one video stream, where the header states what every stream needs (codec, video size
/// and rate, audio rate, channels and sample format); `None` sends the probe to the analysis.
fn header_video_stream(ictx: &ffmpeg::format::context::Input) -> Option<usize> {
    let mut video = None;
    // SAFETY: reads and completes codec parameters of streams owned by the open context.
    unsafe {
        for st in ictx.streams() {
            let par = (*st.as_ptr()).codecpar;
            if (*par).codec_id == ffi::AVCodecID::AV_CODEC_ID_NONE {
                return None;
            }
            match (*par).codec_type {
                ffi::AVMediaType::AVMEDIA_TYPE_VIDEO => {
                    let stp = st.as_ptr();
                    let r = (*stp).r_frame_rate;
                    if (*par).width <= 0 || (*par).height <= 0 || r.num <= 0 || r.den <= 0 {
                        return None;
                    }
                    if video.is_none() {
                        video = Some(st.index());
                    } else {
                        // Several video streams: let FFmpeg analyse them all.
                        return None;
                    }
                }
                ffi::AVMediaType::AVMEDIA_TYPE_AUDIO => {
                    if (*par).sample_rate <= 0 || (*par).ch_layout.nb_channels <= 0 {
                        return None;
                    }
                    if (*par).format < 0 && !audio_sample_format_from_decoder(par) {
                        return None;
                    }
                }
                _ => {}
            }
        }
    }
    video
}

/// Copies what the bitstream parser found into video stream `vi`'s codec parameters, where
/// the header left it unset.
fn complete_video_parameters(
    ictx: &mut ffmpeg::format::context::Input,
    vi: usize,
    pk: &PacketFacts,
) {
    // SAFETY: as above; the values written are those FFmpeg's analysis would copy from the
    // parser into the codec parameters.
    unsafe {
        let par = (*ictx.stream(vi).expect("stream exists").as_ptr()).codecpar;
        (*par).format = pk.pix_fmt;
        if (*par).profile < 0 {
            (*par).profile = pk.profile;
        }
        if (*par).level < 0 {
            (*par).level = pk.level;
        }
        if (*par).color_range == ffi::AVColorRange::AVCOL_RANGE_UNSPECIFIED {
            (*par).color_range = pk.color_range;
        }
        if (*par).color_space == ffi::AVColorSpace::AVCOL_SPC_UNSPECIFIED {
            (*par).color_space = pk.color_space;
        }
        if (*par).color_primaries == ffi::AVColorPrimaries::AVCOL_PRI_UNSPECIFIED {
            (*par).color_primaries = pk.color_primaries;
        }
        if (*par).color_trc == ffi::AVColorTransferCharacteristic::AVCOL_TRC_UNSPECIFIED {
            (*par).color_trc = pk.color_trc;
        }
        if (*par).field_order == ffi::AVFieldOrder::AV_FIELD_UNKNOWN {
            (*par).field_order = pk.field_order;
        }
        if (*par).sample_aspect_ratio.num <= 0 && pk.sar.num > 0 {
            (*par).sample_aspect_ratio = pk.sar;
        }
        if (*par).bits_per_raw_sample <= 0 {
            (*par).bits_per_raw_sample = pk.bits_per_raw_sample;
        }
    }
}

/// The overall start time and bit rate a header-only open leaves unknown, as libavformat's
/// timing estimate computes them.
fn estimate_format_timing(info: &mut ProbeInfo) {
    if info.format.start_time.is_none() {
        // As libavformat's timing estimate does: the earliest stream start.
        info.format.start_time = info
            .streams
            .iter()
            .filter_map(|s| s.start_time)
            .min_by(|a, b| a.total_cmp(b));
    }
    if info.format.bit_rate.is_none() {
        if let Some(d) = info.format.duration.filter(|d| *d > 0.0) {
            info.format.bit_rate = Some((info.format.size as f64 * 8.0 / d) as i64);
        }
    }
}

/// Video stream `vi`'s coded size, and the decoded size with a warning where it differs
/// from the header's.
fn note_coded_size(info: &mut ProbeInfo, vi: usize, pk: &PacketFacts) {
    if let Some(v) = info.streams.iter_mut().find(|s| s.index == vi) {
        v.coded_width = Some(pk.coded.0);
        v.coded_height = Some(pk.coded.1);
        if let (Some((fw, fh)), Some(w), Some(h)) = (pk.decoded_size, v.width, v.height) {
            if (fw, fh) != (w, h) {
                v.frame_width = Some(fw);
                v.frame_height = Some(fh);
                v.warnings.push(format!(
                    "the header says {w}x{h} but frames decode at {fw}x{fh}: FFmpeg's decoder \
                     does not apply all of the stream's cropping (a left crop it keeps for \
                     alignment); vdx gives the frames as decoded, {fw}x{fh}"
                ));
            }
        }
    }
}

/// Open (without feeding) the audio decoder to learn its output sample format, as FFmpeg's
/// analysis would after decoding. Returns false when that does not tell.
unsafe fn audio_sample_format_from_decoder(par: *mut ffi::AVCodecParameters) -> bool {
    // SAFETY: the caller passes live codec parameters; the context is freed before return.
    unsafe {
        let codec = ffi::avcodec_find_decoder((*par).codec_id);
        if codec.is_null() {
            return false;
        }
        let mut ctx = ffi::avcodec_alloc_context3(codec);
        if ctx.is_null() {
            return false;
        }
        let mut ok = false;
        if ffi::avcodec_parameters_to_context(ctx, par) >= 0
            && ffi::avcodec_open2(ctx, codec, std::ptr::null_mut()) >= 0
            && (*ctx).sample_fmt as i32 >= 0
        {
            (*par).format = (*ctx).sample_fmt as i32;
            if (*par).profile < 0 {
                (*par).profile = (*ctx).profile;
            }
            if (*par).profile < 0
                && (*par).codec_id == ffi::AVCodecID::AV_CODEC_ID_AAC
                && (*par).extradata_size >= 2
            {
                // AudioSpecificConfig: the profile is the audio object type minus one, as
                // the AAC decoder sets it on its first frame.
                let e = std::slice::from_raw_parts((*par).extradata, 2);
                let aot = (e[0] >> 3) as i32;
                if (1..31).contains(&aot) {
                    (*par).profile = aot - 1;
                }
            }
            if (*par).ch_layout.order == ffi::AVChannelOrder::AV_CHANNEL_ORDER_UNSPEC
                && (*ctx).ch_layout.order != ffi::AVChannelOrder::AV_CHANNEL_ORDER_UNSPEC
                && (*ctx).ch_layout.nb_channels == (*par).ch_layout.nb_channels
            {
                ffi::av_channel_layout_uninit(&mut (*par).ch_layout);
                ffi::av_channel_layout_copy(&mut (*par).ch_layout, &(*ctx).ch_layout);
            }
            ok = true;
        }
        ffi::avcodec_free_context(&mut ctx);
        ok
    }
}

/// What the bitstream parser learns from the first video packet.
struct PacketFacts {
    coded: (u32, u32),
    pix_fmt: i32,
    profile: i32,
    level: i32,
    color_range: ffi::AVColorRange,
    color_space: ffi::AVColorSpace,
    color_primaries: ffi::AVColorPrimaries,
    color_trc: ffi::AVColorTransferCharacteristic,
    field_order: ffi::AVFieldOrder,
    sar: ffi::AVRational,
    bits_per_raw_sample: i32,
    /// Whether the sequence headers were read by a decoder (H.264/H.265).
    headers_parsed: bool,
    /// The picture size the decoder set up from the sequence headers (its crop applied).
    decoded_size: Option<(u32, u32)>,
}

/// Learn what only the sequence headers say (VUI: sample aspect ratio, colour description,
/// bit depth, and the decoder's output pixel format) without decoding a picture: the decoder
/// gets the first keyframe's parameter sets and just the head of its first slice, parses the
/// headers into its context, and gives up on the missing slice data at once.
///
/// Only for H.264 and H.265 in length-prefixed form (MP4/Matroska `avcC`/`hvcC`); other
/// codecs return without touching `facts`.
fn headers_from_decoder(
    params: &ffmpeg::codec::Parameters,
    pkt: &ffmpeg::Packet,
    facts: &mut PacketFacts,
) {
    let Some(head) = slice_head_packet(params, pkt) else {
        return;
    };
    // SAFETY: a private decoder context and packet, freed before return.
    unsafe {
        let par = params.as_ptr();
        let codec = ffi::avcodec_find_decoder((*par).codec_id);
        if codec.is_null() {
            return;
        }
        let mut ctx = ffi::avcodec_alloc_context3(codec);
        if ctx.is_null() {
            return;
        }
        if ffi::avcodec_parameters_to_context(ctx, par) >= 0 {
            (*ctx).thread_count = 1;
            (*ctx).error_concealment = 0;
            (*ctx).skip_loop_filter = ffi::AVDiscard::AVDISCARD_ALL;
            if ffi::avcodec_open2(ctx, codec, std::ptr::null_mut()) >= 0 {
                let mut p = ffi::av_packet_alloc();
                if !p.is_null() && ffi::av_new_packet(p, head.len() as i32) >= 0 {
                    std::ptr::copy_nonoverlapping(head.as_ptr(), (*p).data, head.len());
                    (*p).flags = ffi::AV_PKT_FLAG_KEY;
                    ffi::avcodec_send_packet(ctx, p);
                    ffi::avcodec_send_packet(ctx, std::ptr::null());
                    let fr = ffi::av_frame_alloc();
                    if !fr.is_null() {
                        while ffi::avcodec_receive_frame(ctx, fr) >= 0 {
                            ffi::av_frame_unref(fr);
                        }
                        ffi::av_frame_free(&mut { fr });
                    }
                }
                ffi::av_packet_free(&mut p);
                let c = &*ctx;
                if c.pix_fmt as i32 >= 0 && facts.pix_fmt < 0 {
                    facts.pix_fmt = c.pix_fmt as i32;
                }
                if c.color_range != ffi::AVColorRange::AVCOL_RANGE_UNSPECIFIED {
                    facts.color_range = c.color_range;
                }
                if c.colorspace != ffi::AVColorSpace::AVCOL_SPC_UNSPECIFIED {
                    facts.color_space = c.colorspace;
                }
                if c.color_primaries != ffi::AVColorPrimaries::AVCOL_PRI_UNSPECIFIED {
                    facts.color_primaries = c.color_primaries;
                }
                if c.color_trc != ffi::AVColorTransferCharacteristic::AVCOL_TRC_UNSPECIFIED {
                    facts.color_trc = c.color_trc;
                }
                if c.sample_aspect_ratio.num > 0 {
                    facts.sar = c.sample_aspect_ratio;
                }
                if c.bits_per_raw_sample > 0 {
                    facts.bits_per_raw_sample = c.bits_per_raw_sample;
                }
                if c.profile >= 0 && facts.profile < 0 {
                    facts.profile = c.profile;
                }
                // A horizontal crop (the SPS crops the coded width): FFmpeg's decoder keeps
                // a left crop that would misalign the picture's rows, so frames may be wider
                // than the crop says. Only a decode of the first picture tells.
                if c.width > 0 && c.width as u32 != facts.coded.0 {
                    facts.decoded_size = decoded_frame_size(params, pkt);
                }
                facts.headers_parsed = true;
            }
        }
        ffi::avcodec_free_context(&mut ctx);
    }
}

/// The size of the picture FFmpeg's decoder gives for the first keyframe packet `pkt` (one
/// picture decoded on a private single-threaded decoder), as `ffmpeg` and vdx's frames have
/// it: after the decoder's own cropping.
fn decoded_frame_size(
    params: &ffmpeg::codec::Parameters,
    pkt: &ffmpeg::Packet,
) -> Option<(u32, u32)> {
    let mut dec = ffmpeg::codec::Context::from_parameters(params.clone())
        .ok()?
        .decoder()
        .video()
        .ok()?;
    dec.send_packet(pkt).ok()?;
    let _ = dec.send_eof();
    let mut frame = ffmpeg::frame::Video::empty();
    dec.receive_frame(&mut frame).ok()?;
    (frame.width() > 0 && frame.height() > 0).then(|| (frame.width(), frame.height()))
}

/// The first keyframe packet reduced to its non-picture NAL units plus the first 64 bytes of
/// its first slice (enough for any slice header's start), with the length prefixes rewritten.
fn slice_head_packet(params: &ffmpeg::codec::Parameters, pkt: &ffmpeg::Packet) -> Option<Vec<u8>> {
    // SAFETY: reads the codec id and extradata of live codec parameters.
    let (codec, extra) = unsafe {
        let par = params.as_ptr();
        let extra = if (*par).extradata.is_null() || (*par).extradata_size <= 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts((*par).extradata, (*par).extradata_size as usize)
        };
        ((*par).codec_id, extra)
    };
    let (len_size, is_vcl): (usize, fn(u8) -> bool) = match codec {
        ffi::AVCodecID::AV_CODEC_ID_H264 if extra.len() > 4 && extra[0] == 1 => {
            ((extra[4] & 3) as usize + 1, |b| matches!(b & 0x1f, 1..=5))
        }
        ffi::AVCodecID::AV_CODEC_ID_HEVC if extra.len() > 21 && extra[0] == 1 => {
            ((extra[21] & 3) as usize + 1, |b| (b >> 1) & 0x3f < 32)
        }
        _ => return None,
    };
    let data = pkt.data()?;
    let mut out = Vec::with_capacity(1024);
    let mut pos = 0usize;
    while pos + len_size <= data.len() {
        let n = data[pos..pos + len_size]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        pos += len_size;
        if n == 0 || pos + n > data.len() {
            return None;
        }
        let nal = &data[pos..pos + n];
        pos += n;
        let keep = if is_vcl(nal[0]) { n.min(64) } else { n };
        let mut len = keep;
        let mut prefix = vec![0u8; len_size];
        for b in prefix.iter_mut().rev() {
            *b = (len & 0xff) as u8;
            len >>= 8;
        }
        out.extend_from_slice(&prefix);
        out.extend_from_slice(&nal[..keep]);
        if is_vcl(nal[0]) {
            return Some(out);
        }
    }
    None
}

fn first_packet_facts(
    ictx: &mut ffmpeg::format::context::Input,
    stream_index: usize,
    with_headers: bool,
) -> Option<PacketFacts> {
    let params = ictx.stream(stream_index)?.parameters();
    let mut parser = crate::video::index::FrameParser::new(&params)?;
    // Bounded: at most 64 packets of other streams before the first video packet.
    for _ in 0..64 {
        let mut pkt = ffmpeg::Packet::empty();
        if pkt.read(ictx).is_err() {
            return None;
        }
        if pkt.stream() == stream_index {
            let data = pkt.data()?;
            parser.parse(data, pkt.pts(), pkt.dts());
            let coded = parser.coded_size()?;
            let (p, c) = parser.raw();
            // SAFETY: plain fields of the live parser and its codec context.
            let mut facts = unsafe {
                PacketFacts {
                    coded,
                    pix_fmt: (*p).format,
                    profile: (*c).profile,
                    level: (*c).level,
                    color_range: (*c).color_range,
                    color_space: (*c).colorspace,
                    color_primaries: (*c).color_primaries,
                    color_trc: (*c).color_trc,
                    field_order: (*c).field_order,
                    sar: (*c).sample_aspect_ratio,
                    bits_per_raw_sample: (*c).bits_per_raw_sample,
                    headers_parsed: false,
                    decoded_size: None,
                }
            };
            if with_headers {
                headers_from_decoder(&params, &pkt, &mut facts);
            }
            return Some(facts);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_normalises_to_clockwise_quarter_turns() {
        assert_eq!(rotate_cw_from_ccw(-90.0), 90);
        assert_eq!(rotate_cw_from_ccw(90.0), 270);
        assert_eq!(rotate_cw_from_ccw(180.0), 180);
        assert_eq!(rotate_cw_from_ccw(-180.0), 180);
        assert_eq!(rotate_cw_from_ccw(0.0), 0);
        assert_eq!(rotate_cw_from_ccw(-89.6), 90);
    }
}
