//! One stream's facts from its codec parameters and side data: sizes, rates, colour, rotation, tags.

use super::*;

pub(super) fn av_time(t: i64) -> Option<f64> {
    if t == ffi::AV_NOPTS_VALUE {
        None
    } else {
        Some(t as f64 / ffi::AV_TIME_BASE as f64)
    }
}

pub(super) fn dict_to_map(d: ffmpeg::DictionaryRef<'_>) -> BTreeMap<String, String> {
    d.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn stream_time(st: &ffmpeg::format::stream::Stream<'_>, ts: i64) -> Option<f64> {
    if ts == ffi::AV_NOPTS_VALUE {
        return None;
    }
    let tb = st.time_base();
    if tb.denominator() == 0 {
        return None;
    }
    Some(ts as f64 * tb.numerator() as f64 / tb.denominator() as f64)
}

pub(super) fn ratio_string(r: ffi::AVRational, sep: char) -> Option<String> {
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

pub(super) fn stream_info(st: &ffmpeg::format::stream::Stream<'_>) -> StreamInfo {
    // SAFETY: the stream and its codecpar are owned by the open input context, which outlives
    // this call; all fields read are plain data written by libavformat.
    unsafe {
        let stp = st.as_ptr();
        let par = (*stp).codecpar;
        let codec_type = media_type_name((*par).codec_type);
        let mut info = base_info(st, codec_type);
        if codec_type == "video" {
            video_geometry(&mut info, stp, par);
            video_format(&mut info, stp, par);
        } else if codec_type == "audio" {
            audio_format(&mut info, par);
        }
        info
    }
}

/// The ffprobe name of a stream's media type ("video", "audio", ..., "unknown").
fn media_type_name(t: ffi::AVMediaType) -> &'static str {
    match t {
        ffi::AVMediaType::AVMEDIA_TYPE_VIDEO => "video",
        ffi::AVMediaType::AVMEDIA_TYPE_AUDIO => "audio",
        ffi::AVMediaType::AVMEDIA_TYPE_SUBTITLE => "subtitle",
        ffi::AVMediaType::AVMEDIA_TYPE_DATA => "data",
        ffi::AVMediaType::AVMEDIA_TYPE_ATTACHMENT => "attachment",
        _ => "unknown",
    }
}

/// The codec tag as ffprobe prints it: four characters, non-printable bytes as `[n]`.
fn codec_tag_string(tag: u32) -> String {
    if tag == 0 {
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
    }
}

/// The facts every stream has: codec names and tag, time base, start, duration, rate, tags.
///
/// # Safety
/// `st` must be a stream of an open input context, with its codec parameters.
unsafe fn base_info(st: &ffmpeg::format::stream::Stream<'_>, codec_type: &str) -> StreamInfo {
    let stp = st.as_ptr();
    let par = (*stp).codecpar;
    let codec_id = (*par).codec_id;
    let desc = ffi::avcodec_descriptor_get(codec_id);
    let codec_long_name = if desc.is_null() {
        String::new()
    } else {
        cstr((*desc).long_name).unwrap_or_default()
    };
    StreamInfo {
        index: st.index(),
        codec_type: codec_type.to_string(),
        codec_name: cstr(ffi::avcodec_get_name(codec_id)).unwrap_or_default(),
        codec_long_name,
        profile: cstr(ffi::avcodec_profile_name(codec_id, (*par).profile)),
        codec_tag_string: codec_tag_string((*par).codec_tag),
        time_base: format!("{}/{}", (*stp).time_base.num, (*stp).time_base.den),
        start_pts: Some((*stp).start_time).filter(|t| *t != ffi::AV_NOPTS_VALUE),
        start_time: stream_time(st, (*stp).start_time),
        duration_ts: Some((*stp).duration).filter(|t| *t != ffi::AV_NOPTS_VALUE),
        duration: stream_time(st, (*stp).duration),
        bit_rate: Some((*par).bit_rate).filter(|b| *b > 0),
        nb_frames: Some((*stp).nb_frames).filter(|n| *n > 0),
        tags: dict_to_map(st.metadata()),
        ..Default::default()
    }
}

/// A video stream's coded size, sample and display aspect ratios, rotation and display size.
///
/// # Safety
/// `stp` must be a live stream and `par` its codec parameters.
unsafe fn video_geometry(
    info: &mut StreamInfo,
    stp: *const ffi::AVStream,
    par: *const ffi::AVCodecParameters,
) {
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
}

/// A video stream's pixel format and bit depth, colour description, field order and rates.
///
/// # Safety
/// `stp` must be a live stream and `par` its codec parameters.
unsafe fn video_format(
    info: &mut StreamInfo,
    stp: *const ffi::AVStream,
    par: *const ffi::AVCodecParameters,
) {
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
    info.color_primaries =
        cstr(ffi::av_color_primaries_name((*par).color_primaries)).filter(|s| s != "unknown");
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
}

/// An audio stream's sample format, sample rate, channel count and channel layout.
///
/// # Safety
/// `par` must be live codec parameters of an audio stream.
unsafe fn audio_format(info: &mut StreamInfo, par: *const ffi::AVCodecParameters) {
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
