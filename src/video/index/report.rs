//! The index as text: CSV rows and the human summary `vdx index` prints.

use super::*;

/// The index as CSV: one row per frame in presentation order.
pub fn to_csv(index: &VideoIndex) -> String {
    use std::fmt::Write;
    let mut s = String::from(
        "frame,pts,pts_time,dts,duration,size,pos,key,type,decode_index,recovery_frames\n",
    );
    for (i, f) in index.frames.iter().enumerate() {
        let _ = writeln!(
            s,
            "{i},{},{:.6},{},{},{},{},{},{},{},{}",
            f.pts,
            index.pts_to_secs(f.pts),
            f.dts.map(|d| d.to_string()).unwrap_or_default(),
            f.duration,
            f.size_bytes,
            f.pos,
            u8::from(f.keyframe),
            f.frame_type.as_char(),
            f.decode_index,
            f.recovery_frames
        );
    }
    s
}

/// A readable summary of the index, for the CLI.
pub fn format_summary(index: &VideoIndex) -> String {
    use std::fmt::Write;
    let s = index.summary();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (stream #{}, {})",
        index.path.display(),
        index.stream_index,
        index.codec_name
    );
    let _ = writeln!(
        out,
        "  frames     {} ({} keyframes), {:.3} s, {:.3} fps mean{}",
        s.frame_count,
        s.keyframe_count,
        s.duration_secs,
        s.mean_fps,
        if s.is_vfr {
            ", variable frame rate"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "  GOP        min {} max {} mean {:.1} frames; {} bytes of video",
        s.min_gop, s.max_gop, s.mean_gop, s.total_bytes
    );
    let mut counts = [0usize; 4];
    for f in &index.frames {
        counts[match f.frame_type {
            FrameType::I => 0,
            FrameType::P => 1,
            FrameType::B => 2,
            FrameType::Unknown => 3,
        }] += 1;
    }
    let _ = writeln!(
        out,
        "  types      I {}  P {}  B {}  ? {}",
        counts[0], counts[1], counts[2], counts[3]
    );
    let kf: Vec<String> = index
        .keyframes
        .iter()
        .take(20)
        .map(|k| k.to_string())
        .collect();
    let _ = writeln!(
        out,
        "  keyframes  {}{}",
        kf.join(" "),
        if index.keyframes.len() > 20 {
            " ..."
        } else {
            ""
        }
    );
    for w in &index.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    out
}
