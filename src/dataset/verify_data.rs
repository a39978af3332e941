//! The rules of FORMAT.md about a sample's video data, as `vdx verify` checks them: the
//! frames field's offset table; the segments field's packet table (keyframes, flags, dts,
//! pts, packets back to back, extradata and packets per codec); the flow field's keyframe
//! positions, JPEG offsets, zero padding and size. Offsets are relative to the data start.

use crate::dataset::format::{le_i64, le_u32, le_u64};
use crate::dataset::writer::VideoRecord;

pub const FRAME_TABLE: &str = "frame offset table fits the data";
pub const FRAME_START: &str = "off[0] = 8·(T+1)";
pub const FRAME_END: &str = "off[T] = size";
pub const FRAME_INCREASING: &str = "frame offsets increase";
pub const PACKETS_EQ_FRAMES: &str = "num_packets equals num_frames";
pub const TIME_BASE: &str = "time base is positive";
pub const PACKET_FIT: &str = "packet table and extradata fit the data";
pub const FLAGS: &str = "flags: only bit 0";
pub const FIRST_KEY: &str = "first packet is a keyframe";
pub const KEYINT: &str = "keyframes at multiples of keyint";
pub const DTS: &str = "dts strictly increasing";
pub const PTS: &str = "pts are 0..T-1, each once";
pub const PACKETS_BACK_TO_BACK: &str = "packets back to back after the table and extradata";
pub const EXTRADATA: &str = "extradata as the codec's table says";
pub const PACKET_CODEC: &str = "packets as the codec's table says";
pub const FLOW_TABLES: &str = "flow keyframe tables fit the data";
pub const FLOW_KEYFRAMES: &str = "keyframes at 0, K, 2K, … < T";
pub const FLOW_PAD_POSITIONS: &str = "zero padding after the keyframe positions";
pub const FLOW_OFFSETS: &str = "JPEG offsets start after the tables and increase";
pub const FLOW_PAD_JPEGS: &str = "zero padding after the JPEGs";
pub const FLOW_SIZE: &str = "size = align8(off[nk]) + (T-1)·H·W·2";

const PACKET_ROW: usize = 32;

/// The video field's arguments that records and data are held to.
#[derive(Debug, Clone, Default)]
pub struct VideoArgs {
    pub frames: Option<u64>,
    pub height: Option<u64>,
    pub width: Option<u64>,
    pub scale: Option<f64>,
    pub keyint: Option<u64>,
    pub keyframe_interval: Option<u64>,
    pub codec: Option<String>,
}

/// The frames field's offset table.
pub fn frames_data(d: &[u8], t: u32, push: &mut dyn FnMut(&'static str, String)) {
    let t = t as usize;
    let table = 8 * (t + 1);
    if table > d.len() {
        push(
            FRAME_TABLE,
            format!(
                "T = {t} needs a {table}-byte offset table; the data is {} bytes",
                d.len()
            ),
        );
        return;
    }
    let off: Vec<u64> = (0..=t).map(|k| le_u64(d, 8 * k)).collect();
    if off[0] != table as u64 {
        push(
            FRAME_START,
            format!("off[0] is {}; 8·(T+1) is {table}", off[0]),
        );
    }
    if off[t] != d.len() as u64 {
        push(
            FRAME_END,
            format!("off[{t}] is {}; the size is {}", off[t], d.len()),
        );
    }
    if let Some(k) = (0..t).find(|&k| off[k + 1] <= off[k]) {
        push(
            FRAME_INCREASING,
            format!(
                "off[{}] = {} is not after off[{k}] = {}",
                k + 1,
                off[k + 1],
                off[k]
            ),
        );
    }
}

/// The segments field's packet table, extradata and packets.
pub fn segments_data(
    args: &VideoArgs,
    d: &[u8],
    rec: &VideoRecord,
    push: &mut dyn FnMut(&'static str, String),
) {
    let VideoRecord::Segments {
        num_frames,
        num_packets,
        extradata_size,
        ..
    } = *rec
    else {
        return;
    };
    let (t, np) = (num_frames as u64, num_packets as usize);
    if np as u64 != t {
        push(
            PACKETS_EQ_FRAMES,
            format!("num_packets is {np}, num_frames is {t}"),
        );
    }
    let head = np * PACKET_ROW + extradata_size as usize;
    if head > d.len() {
        push(
            PACKET_FIT,
            format!(
                "{np} packet rows and {extradata_size} bytes of extradata need {head} bytes; \
                 the data is {}",
                d.len()
            ),
        );
        return;
    }
    let rows: Vec<PacketRow> = (0..np)
        .map(|k| {
            let o = k * PACKET_ROW;
            let r = &d[o..o + PACKET_ROW];
            (
                le_i64(r, 0),
                le_i64(r, 8),
                le_u64(r, 16),
                le_u32(r, 24),
                le_u32(r, 28),
            )
        })
        .collect();
    packet_rows(&rows, head as u64, d.len() as u64, args.keyint, push);
    packet_times(&rows, t, push);
    codec_bytes(args, &d[np * PACKET_ROW..head], &rows, d, push);
}

/// A segments sample's packet rows: (pts, dts, offset, size, flags).
type PacketRow = (i64, i64, u64, u32, u32);

/// The packet rows' flags (key where the keyframe interval says), rising decode times, and
/// packets back to back from `head` to the end of the data (`len` bytes).
fn packet_rows(
    rows: &[PacketRow],
    head: u64,
    len: u64,
    keyint: Option<u64>,
    push: &mut dyn FnMut(&'static str, String),
) {
    let mut expect = head;
    let mut chained = true;
    for (k, &(pts, dts, offset, size, flags)) in rows.iter().enumerate() {
        if flags & !1 != 0 {
            push(
                FLAGS,
                format!("packet {k} (pts {pts}) has flags 0x{flags:x}"),
            );
        }
        let key = flags & 1 == 1;
        if k == 0 && !key {
            push(
                FIRST_KEY,
                format!("packet 0 (pts {pts}) is not flagged key"),
            );
        }
        if let Some(ki) = keyint {
            let want = pts.rem_euclid(ki.min(i64::MAX as u64) as i64) == 0;
            if key && !want {
                push(
                    KEYINT,
                    format!("packet {k} (pts {pts}) is flagged key but keyint is {ki}"),
                );
            } else if !key && want {
                push(
                    KEYINT,
                    format!(
                        "packet {k} (pts {pts}) is not flagged key but {pts} is a multiple \
                         of keyint {ki}"
                    ),
                );
            }
        }
        if k > 0 && dts <= rows[k - 1].1 {
            push(
                DTS,
                format!(
                    "packet {k} has dts {dts} after packet {}'s dts {}",
                    k - 1,
                    rows[k - 1].1
                ),
            );
        }
        if chained && offset != expect {
            push(
                PACKETS_BACK_TO_BACK,
                format!("packet {k} is at offset {offset}; it must start at {expect}"),
            );
            chained = false;
        }
        expect = offset.saturating_add(size as u64);
    }
    if chained && expect != len {
        push(
            PACKETS_BACK_TO_BACK,
            format!("the last packet ends at {expect}; the data is {len} bytes"),
        );
    }
}

/// The packets' presentation times are exactly 0..T-1, each once.
fn packet_times(rows: &[PacketRow], t: u64, push: &mut dyn FnMut(&'static str, String)) {
    let mut pts: Vec<i64> = rows.iter().map(|r| r.0).collect();
    pts.sort_unstable();
    if pts.iter().enumerate().any(|(k, &p)| p != k as i64) || pts.len() as u64 != t {
        // The first few of 0..T-1 that no packet has (bounded whatever T says).
        let mut missing = Vec::new();
        let mut next = 0i64;
        for &q in pts.iter().filter(|&&q| q >= 0).chain([t as i64].iter()) {
            while next < q.min(t as i64) && missing.len() < 8 {
                missing.push(next);
                next += 1;
            }
            next = next.max(q.saturating_add(1));
            if missing.len() >= 8 || next >= t as i64 {
                break;
            }
        }
        let extra: Vec<i64> = pts
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .chain(pts.iter().copied().filter(|&p| p < 0 || p >= t as i64))
            .take(8)
            .collect();
        push(
            PTS,
            format!("T is {t}; pts missing {missing:?}, repeated or out of range {extra:?}"),
        );
    }
}

/// The extradata and each packet start as the codec's bitstream does (Annex B start codes,
/// AV1's configuration record and temporal delimiter, no VP9 extradata).
fn codec_bytes(
    args: &VideoArgs,
    ex: &[u8],
    rows: &[PacketRow],
    d: &[u8],
    push: &mut dyn FnMut(&'static str, String),
) {
    let start_code = |b: &[u8]| b.starts_with(&[0, 0, 1]) || b.starts_with(&[0, 0, 0, 1]);
    let codec = args.codec.as_deref().unwrap_or("");
    let ex_ok = match codec {
        "h264" | "hevc" => start_code(ex),
        "vp9" => ex.is_empty(),
        "av1" => ex.first() == Some(&0x0a),
        _ => true,
    };
    if !ex_ok {
        push(
            EXTRADATA,
            format!(
                "{codec} extradata of {} bytes starts {:02x?}",
                ex.len(),
                &ex[..ex.len().min(6)]
            ),
        );
    }
    for (k, &(pts, _, offset, size, _)) in rows.iter().enumerate() {
        let Some(pk) = offset
            .checked_add(size as u64)
            .and_then(|e| d.get(offset as usize..e as usize))
        else {
            continue;
        };
        let ok = match codec {
            "h264" | "hevc" => start_code(pk),
            "av1" => pk.starts_with(&[0x12, 0x00]),
            _ => true,
        };
        if !ok {
            push(
                PACKET_CODEC,
                format!(
                    "{codec} packet {k} (pts {pts}) starts {:02x?}",
                    &pk[..pk.len().min(6)]
                ),
            );
            break;
        }
    }
}

/// The flow field's keyframe positions, JPEG offsets, padding and size.
pub fn flow_data(
    args: &VideoArgs,
    d: &[u8],
    rec: &VideoRecord,
    push: &mut dyn FnMut(&'static str, String),
) {
    let VideoRecord::Flow {
        num_frames,
        num_keyframes,
        height,
        width,
        ..
    } = *rec
    else {
        return;
    };
    let (t, nk) = (num_frames as u64, num_keyframes as usize);
    if let Some(k) = args.keyframe_interval {
        let want = t.div_ceil(k);
        if nk as u64 != want {
            push(
                FLOW_KEYFRAMES,
                format!("num_keyframes is {nk}; T = {t} with keyframe_interval {k} gives {want}"),
            );
        }
    }
    let pos_end = 4 * nk;
    let pos_bytes = pos_end.div_ceil(8) * 8;
    let tables = pos_bytes + 8 * (nk + 1);
    if tables > d.len() {
        push(
            FLOW_TABLES,
            format!(
                "{nk} keyframe positions and offsets need {tables} bytes; the data is {}",
                d.len()
            ),
        );
        return;
    }
    for j in 0..nk {
        let pos = le_u32(d, 4 * j) as u64;
        let want = args.keyframe_interval.map(|k| (j as u64).saturating_mul(k));
        if want.is_some_and(|w| w != pos) || pos >= t {
            push(
                FLOW_KEYFRAMES,
                format!(
                    "keyframe {j} is at position {pos}; it must be {} (< T = {t})",
                    want.map_or("increasing".to_string(), |w| w.to_string())
                ),
            );
            break;
        }
    }
    if let Some(z) = d[pos_end..pos_bytes].iter().position(|&c| c != 0) {
        push(
            FLOW_PAD_POSITIONS,
            format!("byte {} is 0x{:02x}", pos_end + z, d[pos_end + z]),
        );
    }
    let offs: Vec<u64> = (0..=nk).map(|j| le_u64(d, pos_bytes + 8 * j)).collect();
    if offs[0] != tables as u64 {
        push(
            FLOW_OFFSETS,
            format!("off[0] is {}; the tables end at {tables}", offs[0]),
        );
    }
    if let Some(j) = (0..nk).find(|&j| offs[j + 1] <= offs[j]) {
        push(
            FLOW_OFFSETS,
            format!(
                "off[{}] = {} is not after off[{j}] = {}",
                j + 1,
                offs[j + 1],
                offs[j]
            ),
        );
    }
    let jpeg_end = offs[nk];
    let flow_at = jpeg_end.div_ceil(8).saturating_mul(8);
    if let Some(pad) = d.get(jpeg_end as usize..(flow_at as usize).min(d.len())) {
        if let Some(z) = pad.iter().position(|&c| c != 0) {
            push(
                FLOW_PAD_JPEGS,
                format!("byte {} is 0x{:02x}", jpeg_end as usize + z, pad[z]),
            );
        }
    }
    let flow = t
        .saturating_sub(1)
        .saturating_mul(height as u64)
        .saturating_mul(width as u64)
        .saturating_mul(2);
    if flow_at.checked_add(flow) != Some(d.len() as u64) {
        push(
            FLOW_SIZE,
            format!(
                "size is {}; align8(off[{nk}] = {jpeg_end}) + {}·{height}·{width}·2 = {}",
                d.len(),
                t.saturating_sub(1),
                flow_at.saturating_add(flow)
            ),
        );
    }
}
