//! The probe as text: the table `vdx probe` prints.

use super::*;

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
                if let (Some(fw), Some(fh)) = (st.frame_width, st.frame_height) {
                    let _ = write!(s, " frames {fw}x{fh}");
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
        for w in &st.warnings {
            let _ = writeln!(s, "     warning: {w}");
        }
    }
    s
}

pub(super) fn opt_secs(v: Option<f64>) -> String {
    v.map(|d| format!("{d:.3} s")).unwrap_or_else(|| "?".into())
}
