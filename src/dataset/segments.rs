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

use crate::dataset::error::{DatasetError, Result};
use crate::dataset::fields::{ClipTensor, FieldError};
use crate::dataset::format::{le_u32, le_u64};
use crate::dataset::writer::VideoRecord;
use crate::video::codec::{self, EncodeSettings, Packet};
use serde::{Deserialize, Serialize};

pub use crate::video::codec::check_encoder;

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

/// Check a segment size against what the codec can encode: even sides (4:2:0), for HEVC
/// libx265's smallest safe picture, and for AV1 SVT-AV1's smallest picture (it refuses
/// smaller ones with a bare "Invalid argument").
pub fn check_size(codec: &str, width: u32, height: u32) -> Result<()> {
    if width % 2 != 0 || height % 2 != 0 {
        return Err(DatasetError::param(
            "size",
            format!("{width}x{height}: segments need even width and height (4:2:0)"),
        ));
    }
    if matches!(codec, "hevc" | "h265") && (width < HEVC_MIN_SIDE || height < HEVC_MIN_SIDE) {
        return Err(DatasetError::param(
            "size",
            format!(
                "{width}x{height}: HEVC segments (libx265) need at least \
                 {HEVC_MIN_SIDE}x{HEVC_MIN_SIDE} pixels (smaller pictures corrupt libx265's memory)"
            ),
        ));
    }
    if codec == "av1" && (width < AV1_MIN_SIDE || height < AV1_MIN_SIDE) {
        return Err(DatasetError::param(
            "size",
            format!(
                "{width}x{height}: AV1 segments (SVT-AV1) need at least \
                 {AV1_MIN_SIDE}x{AV1_MIN_SIDE} pixels"
            ),
        ));
    }
    Ok(())
}

/// Encode RGB frames (all `width`×`height`) as a segment: (record, data).
pub fn encode(
    frames: &[&[u8]],
    width: u32,
    height: u32,
    fps: f64,
    p: &SegmentParams,
) -> Result<(VideoRecord, Vec<u8>)> {
    check_size(&p.codec, width, height)?;
    let stream = codec::encode_rgb(
        frames,
        width,
        height,
        fps,
        EncodeSettings {
            codec: &p.codec,
            crf: p.crf,
            keyint: p.keyint,
        },
    )?;
    let (packets, extradata) = (&stream.packets, &stream.extradata);
    let table = packets.len() * PACKET_ROW;
    let mut out = Vec::with_capacity(
        table + extradata.len() + packets.iter().map(|p| p.data.len()).sum::<usize>(),
    );
    let mut at = (table + extradata.len()) as u64;
    for pk in packets {
        out.extend_from_slice(&pk.pts.to_le_bytes());
        out.extend_from_slice(&pk.dts.to_le_bytes());
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&(pk.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(pk.key as u32).to_le_bytes());
        at += pk.data.len() as u64;
    }
    out.extend_from_slice(extradata);
    for pk in packets {
        out.extend_from_slice(&pk.data);
    }
    let rec = VideoRecord::Segments {
        num_frames: frames.len() as u32,
        num_packets: packets.len() as u32,
        height,
        width,
        extradata_size: extradata.len() as u32,
        time_base_num: stream.time_base.0 as u32,
        time_base_den: stream.time_base.1 as u32,
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
) -> std::result::Result<(Vec<PacketRow>, &'a [u8]), FieldError> {
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
        return Err(format!("{np} packets for {num_frames} frames").into());
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
            return Err(format!("packet {k} points outside the data").into());
        }
        rows.push(r);
    }
    if !rows[0].key {
        return Err("the first packet is not a keyframe".into());
    }
    Ok((rows, &data[table..head]))
}

/// Decode every frame of a segment, in presentation order.
pub fn decode_all(
    data: &[u8],
    rec: &VideoRecord,
    args: &serde_json::Value,
) -> std::result::Result<ClipTensor, FieldError> {
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
) -> std::result::Result<ClipTensor, FieldError> {
    let (rows, target, starts) = keyframe_starts(data, rec, k)?;
    // An encoder may flag recovery-point pictures (open GOP) as keyframes; if the target does
    // not come out of the latest one, start one keyframe earlier. Files vdx writes have closed
    // GOPs (see `decode_frame_from_nearest_keyframe`); this serves files from elsewhere.
    let mut last_err = FieldError::from("no keyframe before the frame");
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
) -> std::result::Result<ClipTensor, FieldError> {
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
) -> std::result::Result<(Vec<PacketRow>, i64, Vec<usize>), FieldError> {
    let (rows, _) = parse(data, rec)?;
    let mut pts: Vec<i64> = rows.iter().map(|r| r.pts).collect();
    pts.sort_unstable();
    let target = *pts
        .get(k)
        .ok_or_else(|| format!("frame {k} is past the segment's end"))?;
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
) -> std::result::Result<ClipTensor, FieldError> {
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
    let extra_at = num_packets as usize * PACKET_ROW;
    let extradata = &data[extra_at..extra_at + extradata_size as usize];
    let codec = args["codec"].as_str().unwrap_or("h264");
    let frames = codec::decode_rgb(
        codec,
        width,
        height,
        extradata,
        rows.iter().map(|r| packet(data, r)),
        wanted_pts,
    )?;
    Ok(ClipTensor {
        num_frames: frames.len(),
        height: height as usize,
        width: width as usize,
        data: frames.concat(),
    })
}

/// A packet-table row's bytes as a codec packet.
pub fn packet<'a>(data: &'a [u8], r: &PacketRow) -> Packet<'a> {
    Packet {
        pts: r.pts,
        dts: r.dts,
        key: r.key,
        data: &data[r.offset as usize..r.offset as usize + r.size as usize],
    }
}
