//! Probe on a budget: container and per-stream facts from the header and a bounded read.
//!
//! This is what the metadata panel shows at once. Frame counts, durations and frame rates here
//! are what the *header* claims; the packet index ([`crate::index`]) counts the real ones and
//! reports any disagreement as a warning. JSON keys follow ffprobe's names where ffprobe has one.

use crate::error::{Result, VdxError};
use crate::media::{self, cstr, ProbeBudget};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Everything `probe` learns about a file.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeInfo {
    pub format: FormatInfo,
    pub streams: Vec<StreamInfo>,
    /// The budget the probe ran under.
    pub probe_budget: ProbeBudget,
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
    let mut ictx = media::open_input(path, budget)?;
    let size = std::fs::metadata(path)
        .map_err(|e| VdxError::io(path, e))?
        .len();
    let fmt = ictx.format();
    let format = FormatInfo {
        filename: path.display().to_string(),
        nb_streams: ictx.nb_streams() as usize,
        format_name: fmt.name().to_string(),
        format_long_name: fmt.description().to_string(),
        start_time: av_time(unsafe { (*ictx.as_ptr()).start_time }),
        duration: av_time(ictx.duration()),
        size,
        bit_rate: Some(ictx.bit_rate()).filter(|b| *b > 0),
        probe_score: ictx.probe_score(),
        tags: dict_to_map(ictx.metadata()),
    };
    let mut streams: Vec<StreamInfo> = ictx.streams().map(|s| stream_info(&s)).collect();

    // The coded size is not in the container header; one packet through the bitstream parser
    // gives it cheaply (no decode).
    if let Some(vi) = streams.iter().position(|s| s.codec_type == "video") {
        let st_index = streams[vi].index;
        if let Some((cw, ch)) = first_packet_coded_size(&mut ictx, st_index) {
            streams[vi].coded_width = Some(cw);
            streams[vi].coded_height = Some(ch);
        }
    }
    Ok(ProbeInfo {
        format,
        streams,
        probe_budget: *budget,
    })
}

fn first_packet_coded_size(
    ictx: &mut ffmpeg::format::context::Input,
    stream_index: usize,
) -> Option<(u32, u32)> {
    let stream = ictx.stream(stream_index)?;
    let mut parser = crate::index::FrameParser::new(&stream.parameters())?;
    // Bounded: at most 64 packets of other streams before the first video packet.
    for _ in 0..64 {
        let mut pkt = ffmpeg::Packet::empty();
        if pkt.read(ictx).is_err() {
            return None;
        }
        if pkt.stream() == stream_index {
            let data = pkt.data()?;
            parser.parse(data, pkt.pts(), pkt.dts());
            return parser.coded_size();
        }
    }
    None
}

fn av_time(t: i64) -> Option<f64> {
    if t == ffi::AV_NOPTS_VALUE {
        None
    } else {
        Some(t as f64 / ffi::AV_TIME_BASE as f64)
    }
}

fn dict_to_map(d: ffmpeg::DictionaryRef<'_>) -> BTreeMap<String, String> {
    d.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn stream_time(st: &ffmpeg::format::stream::Stream<'_>, ts: i64) -> Option<f64> {
    if ts == ffi::AV_NOPTS_VALUE {
        return None;
    }
    let tb = st.time_base();
    if tb.denominator() == 0 {
        return None;
    }
    Some(ts as f64 * tb.numerator() as f64 / tb.denominator() as f64)
}

fn ratio_string(r: ffi::AVRational, sep: char) -> Option<String> {
    if r.den == 0 || r.num == 0 {
        None
    } else {
        Some(format!("{}{}{}", r.num, sep, r.den))
    }
}

/// Clockwise degrees (0/90/180/270) that make a picture with this display matrix upright.
/// FFmpeg's `av_display_rotation_get` is counter-clockwise; players rotate by its negation.
pub(crate) fn rotate_cw_from_ccw(rotation_ccw: f64) -> u32 {
    let cw = (-rotation_ccw).rem_euclid(360.0);
    (((cw / 90.0).round() as u32) % 4) * 90
}

fn stream_info(st: &ffmpeg::format::stream::Stream<'_>) -> StreamInfo {
    // SAFETY: the stream and its codecpar are owned by the open input context, which outlives
    // this call; all fields read are plain data written by libavformat.
    unsafe {
        let stp = st.as_ptr();
        let par = (*stp).codecpar;
        let codec_id = (*par).codec_id;
        let codec_type = match (*par).codec_type {
            ffi::AVMediaType::AVMEDIA_TYPE_VIDEO => "video",
            ffi::AVMediaType::AVMEDIA_TYPE_AUDIO => "audio",
            ffi::AVMediaType::AVMEDIA_TYPE_SUBTITLE => "subtitle",
            ffi::AVMediaType::AVMEDIA_TYPE_DATA => "data",
            ffi::AVMediaType::AVMEDIA_TYPE_ATTACHMENT => "attachment",
            _ => "unknown",
        };
        let desc = ffi::avcodec_descriptor_get(codec_id);
        let codec_long_name = if desc.is_null() {
            String::new()
        } else {
            cstr((*desc).long_name).unwrap_or_default()
        };
        let tag = (*par).codec_tag;
        let codec_tag_string = if tag == 0 {
            "[0][0][0][0]".to_string()
        } else {
            tag.to_le_bytes()
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() {
                        (b as char).to_string()
                    } else {
                        format!("[{b}]")
                    }
                })
                .collect()
        };
        let mut info = StreamInfo {
            index: st.index(),
            codec_type: codec_type.to_string(),
            codec_name: cstr(ffi::avcodec_get_name(codec_id)).unwrap_or_default(),
            codec_long_name,
            profile: cstr(ffi::avcodec_profile_name(codec_id, (*par).profile)),
            codec_tag_string,
            time_base: format!("{}/{}", (*stp).time_base.num, (*stp).time_base.den),
            start_pts: Some((*stp).start_time).filter(|t| *t != ffi::AV_NOPTS_VALUE),
            start_time: stream_time(st, (*stp).start_time),
            duration_ts: Some((*stp).duration).filter(|t| *t != ffi::AV_NOPTS_VALUE),
            duration: stream_time(st, (*stp).duration),
            bit_rate: Some((*par).bit_rate).filter(|b| *b > 0),
            nb_frames: Some((*stp).nb_frames).filter(|n| *n > 0),
            tags: dict_to_map(st.metadata()),
            ..Default::default()
        };
        if codec_type == "video" {
            let (w, h) = ((*par).width.max(0) as u32, (*par).height.max(0) as u32);
            info.width = Some(w);
            info.height = Some(h);
            let sar = (*par).sample_aspect_ratio;
            info.sample_aspect_ratio = ratio_string(sar, ':');
            if w > 0 && h > 0 {
                let sar_f = if sar.num > 0 && sar.den > 0 {
                    sar.num as f64 / sar.den as f64
                } else {
                    1.0
                };
                let mut dar = ffi::AVRational { num: 0, den: 0 };
                ffi::av_reduce(
                    &mut dar.num,
                    &mut dar.den,
                    w as i64 * sar.num.max(1) as i64,
                    h as i64 * sar.den.max(1) as i64,
                    1 << 30,
                );
                info.display_aspect_ratio = ratio_string(dar, ':');
                let mut dw = (w as f64 * sar_f).round() as u32;
                let mut dh = h;
                let mut size = 0usize;
                let sd = ffi::av_stream_get_side_data(
                    stp,
                    ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
                    &mut size,
                );
                if !sd.is_null() && size >= 9 * 4 {
                    let rot = ffi::av_display_rotation_get(sd as *const i32);
                    if rot.is_finite() {
                        // ffprobe prints -0 as 0; keep the same.
                        let rot = if rot == 0.0 { 0.0 } else { rot };
                        info.rotation = Some(rot);
                        let cw = rotate_cw_from_ccw(rot);
                        info.rotate_cw = Some(cw);
                        if cw % 180 == 90 {
                            std::mem::swap(&mut dw, &mut dh);
                        }
                    }
                }
                info.display_width = Some(dw);
                info.display_height = Some(dh);
            }
            let pix = (*par).format;
            if pix >= 0 {
                // SAFETY: libavformat stores a valid AVPixelFormat in `format` for video.
                let pf: ffi::AVPixelFormat = std::mem::transmute(pix);
                info.pix_fmt = cstr(ffi::av_get_pix_fmt_name(pf));
                let d = ffi::av_pix_fmt_desc_get(pf);
                if !d.is_null() {
                    info.bit_depth = Some((*d).comp[0].depth as u32);
                }
            }
            info.bits_per_raw_sample = Some((*par).bits_per_raw_sample as u32).filter(|b| *b > 0);
            info.color_range =
                cstr(ffi::av_color_range_name((*par).color_range)).filter(|s| s != "unknown");
            info.color_space =
                cstr(ffi::av_color_space_name((*par).color_space)).filter(|s| s != "unknown");
            info.color_transfer =
                cstr(ffi::av_color_transfer_name((*par).color_trc)).filter(|s| s != "unknown");
            info.color_primaries = cstr(ffi::av_color_primaries_name((*par).color_primaries))
                .filter(|s| s != "unknown");
            info.field_order = match (*par).field_order {
                ffi::AVFieldOrder::AV_FIELD_PROGRESSIVE => Some("progressive".into()),
                ffi::AVFieldOrder::AV_FIELD_TT => Some("tt".into()),
                ffi::AVFieldOrder::AV_FIELD_BB => Some("bb".into()),
                ffi::AVFieldOrder::AV_FIELD_TB => Some("tb".into()),
                ffi::AVFieldOrder::AV_FIELD_BT => Some("bt".into()),
                _ => None,
            };
            info.r_frame_rate = ratio_string((*stp).r_frame_rate, '/');
            info.avg_frame_rate = ratio_string((*stp).avg_frame_rate, '/');
        } else if codec_type == "audio" {
            let sf = (*par).format;
            if sf >= 0 {
                // SAFETY: libavformat stores a valid AVSampleFormat in `format` for audio.
                let sfmt: ffi::AVSampleFormat = std::mem::transmute(sf);
                info.sample_fmt = cstr(ffi::av_get_sample_fmt_name(sfmt));
            }
            info.sample_rate = Some((*par).sample_rate.max(0) as u32);
            let layout = &(*par).ch_layout;
            info.channels = Some(layout.nb_channels.max(0) as u32);
            let mut buf = [0 as std::os::raw::c_char; 128];
            if ffi::av_channel_layout_describe(layout, buf.as_mut_ptr(), buf.len()) > 0 {
                info.channel_layout = cstr(buf.as_ptr());
            }
        }
        info
    }
}

/// Plain-text table of a probe, for the CLI.
pub fn format_table(p: &ProbeInfo) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let f = &p.format;
    let _ = writeln!(s, "{}", f.filename);
    let _ = writeln!(
        s,
        "  container  {} ({}), {} streams, {} bytes",
        f.format_name, f.format_long_name, f.nb_streams, f.size
    );
    let _ = writeln!(
        s,
        "  duration   {}   start {}   bit rate {}",
        opt_secs(f.duration),
        opt_secs(f.start_time),
        f.bit_rate
            .map(|b| format!("{:.0} kb/s", b as f64 / 1000.0))
            .unwrap_or_else(|| "?".into())
    );
    for (k, v) in &f.tags {
        let _ = writeln!(s, "  tag        {k}={v}");
    }
    for st in &p.streams {
        let _ = write!(
            s,
            "  #{} {:<8} {}{}",
            st.index,
            st.codec_type,
            st.codec_name,
            st.profile
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        );
        match st.codec_type.as_str() {
            "video" => {
                let _ = write!(s, ", {}x{}", st.width.unwrap_or(0), st.height.unwrap_or(0));
                if let (Some(cw), Some(ch)) = (st.coded_width, st.coded_height) {
                    let _ = write!(s, " (coded {cw}x{ch})");
                }
                if let Some(sar) = &st.sample_aspect_ratio {
                    let _ = write!(s, " SAR {sar}");
                }
                if let (Some(dw), Some(dh)) = (st.display_width, st.display_height) {
                    let _ = write!(s, " display {dw}x{dh}");
                }
                if let Some(r) = st.rotate_cw.filter(|r| *r != 0) {
                    let _ = write!(s, " rotate {r} cw");
                }
                let _ = write!(
                    s,
                    ", {} {}-bit",
                    st.pix_fmt.as_deref().unwrap_or("?"),
                    st.bit_depth.unwrap_or(0)
                );
                let colour: Vec<&str> = [
                    st.color_range.as_deref(),
                    st.color_space.as_deref(),
                    st.color_primaries.as_deref(),
                    st.color_transfer.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect();
                if !colour.is_empty() {
                    let _ = write!(s, " ({})", colour.join("/"));
                }
                let _ = write!(
                    s,
                    ", r_frame_rate {} avg {}",
                    st.r_frame_rate.as_deref().unwrap_or("?"),
                    st.avg_frame_rate.as_deref().unwrap_or("?")
                );
                let _ = write!(
                    s,
                    ", header frames {}",
                    st.nb_frames
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "?".into())
                );
            }
            "audio" => {
                let _ = write!(
                    s,
                    ", {} Hz, {} ch ({}), {}",
                    st.sample_rate.unwrap_or(0),
                    st.channels.unwrap_or(0),
                    st.channel_layout.as_deref().unwrap_or("?"),
                    st.sample_fmt.as_deref().unwrap_or("?")
                );
            }
            _ => {}
        }
        let _ = writeln!(
            s,
            ", time base {}, duration {}",
            st.time_base,
            opt_secs(st.duration)
        );
    }
    s
}

fn opt_secs(v: Option<f64>) -> String {
    v.map(|d| format!("{d:.3} s")).unwrap_or_else(|| "?".into())
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
