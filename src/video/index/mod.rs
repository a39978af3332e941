//! The packet index: a demux-only scan of one video stream that records every packet's pts,
//! dts, duration, size, byte position and keyframe flag, in presentation order.
//!
//! Frame *i* everywhere in vdx means the *i*-th entry of [`VideoIndex::frames`]: the *i*-th
//! frame in presentation order. The index is exact even when the header lies; what the header
//! claims (frame count, duration, frame rate) is kept beside what was counted, and any
//! disagreement becomes a warning.

pub(crate) mod decode_order;
pub(crate) mod h264;
mod order;
mod packets;
mod report;
mod scan;
pub(crate) mod vop_order;

pub use report::{format_summary, to_csv};
pub(crate) use scan::FrameParser;
pub use scan::{build_index, build_index_cancellable, mpeg4_orders};

/// Where each start code's payload begins (the byte after `00 00 01`), scanning left to right
/// without overlap as the MPEG decoders do. A SIMD search: byte by byte this scan was 40% of
/// indexing an MPEG-4 Part 2 AVI.
pub(crate) fn start_codes(d: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memmem::find_iter(d, &[0u8, 0, 1]).map(|i| i + 3)
}

use crate::video::media::{ProbeBudget, Ratio};
use ffmpeg_next as ffmpeg;
use serde::Serialize;
use std::path::PathBuf;

/// A frame's picture type, from the codec's bitstream parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum FrameType {
    I,
    P,
    B,
    /// The parser could not tell (or the codec has no parser).
    #[serde(rename = "?")]
    Unknown,
}

impl FrameType {
    /// The type of a decoded picture.
    pub(crate) fn from_av(t: ffmpeg::picture::Type) -> Self {
        use ffmpeg::picture::Type;
        match t {
            Type::I | Type::SI => FrameType::I,
            Type::P | Type::SP | Type::S => FrameType::P,
            Type::B | Type::BI => FrameType::B,
            _ => FrameType::Unknown,
        }
    }

    pub fn as_char(self) -> char {
        match self {
            FrameType::I => 'I',
            FrameType::P => 'P',
            FrameType::B => 'B',
            FrameType::Unknown => '?',
        }
    }
}

/// What a full decode found for one frame (see [`IndexOptions::check_decode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeStatus {
    /// Not checked: the index was built without a decode.
    #[default]
    Unchecked,
    /// The decoder put out the picture without complaint.
    Ok,
    /// The decoder put out a picture but flagged it damaged (errors concealed).
    Concealed,
    /// The decoder put out no picture for this frame (damaged or missing references).
    Undecodable,
}

/// One frame (one video packet) of the index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrameEntry {
    /// Presentation timestamp in the stream's time base.
    pub pts: i64,
    /// Decode timestamp in the stream's time base, when the container has one.
    pub dts: Option<i64>,
    /// Packet duration in the stream's time base (0: unknown).
    pub duration: i64,
    pub size_bytes: u32,
    /// Byte position of the packet in the file (-1: unknown).
    pub pos: i64,
    pub keyframe: bool,
    /// For a keyframe: how many packets after it, in decode order, lies the first picture a
    /// decode starting here gives clean. 0 for a true random-access point (an IDR picture,
    /// an intra picture the container flags); more for an H.264 picture that the container
    /// flags as a sync sample only because a recovery-point SEI introduces it (periodic
    /// intra refresh in MP4); `u32::MAX` where the stream ends first. Frames that such a
    /// start does not give clean decode from an earlier keyframe (see
    /// [`VideoIndex::keyframe_before`]).
    pub recovery_frames: u32,
    pub frame_type: FrameType,
    /// Position of this packet in decode (file) order.
    pub decode_index: u32,
    /// What a decode of the whole stream found for this frame.
    pub decode_status: DecodeStatus,
    /// Whether a decoder may skip this packet when it is a non-reference picture no target
    /// needs. Not where a packed MPEG-4 stream's call keeps a B-VOP for the next packet, nor
    /// where the order came from a decode and nothing more is known.
    #[serde(skip)]
    pub skip_safe: bool,
}

/// What the container header claims, kept beside what the scan counted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HeaderClaims {
    pub nb_frames: Option<i64>,
    pub duration_secs: Option<f64>,
    pub avg_frame_rate: Option<f64>,
    pub r_frame_rate: Option<f64>,
}

/// The packet index of one video stream.
#[derive(Debug, Clone, Serialize)]
pub struct VideoIndex {
    pub path: PathBuf,
    pub stream_index: usize,
    pub codec_name: String,
    pub time_base: Ratio,
    /// Frames in presentation order.
    pub frames: Vec<FrameEntry>,
    /// Indices into `frames` of the keyframes, ascending.
    pub keyframes: Vec<usize>,
    pub header: HeaderClaims,
    /// True when the data ended before the container's index said it would.
    pub truncated: bool,
    /// Packets that were dropped (e.g. discarded by an edit list), not counted as frames.
    pub discarded_packets: usize,
    /// The container stores no presentation order (AVI, raw streams) and the codec reorders
    /// pictures: the order of `frames` was learnt from a decode of the whole stream, and a
    /// packet that puts out no picture (a not-coded VOP) is not a frame. See
    /// [`crate::video::index::decode_order`].
    pub order_from_decode: bool,
    /// Packets that hold no picture of their own (counted only where the order came from a
    /// decode).
    pub pictureless_packets: usize,
    pub warnings: Vec<String>,
}

/// Options of the scan.
#[derive(Debug, Clone, Copy)]
pub struct IndexOptions {
    /// Run the bitstream parser on every packet to learn I/P/B frame types (cheap; no decode).
    pub frame_types: bool,
    /// Decode the whole stream once, as FFmpeg's sequential decode does, and record each
    /// frame's [`DecodeStatus`]: which frames are damaged or cannot be decoded at all. Costs
    /// a decode (at reduced resolution where the codec allows).
    pub check_decode: bool,
    pub budget: ProbeBudget,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            frame_types: true,
            check_decode: false,
            budget: ProbeBudget::default(),
        }
    }
}

/// Summary numbers derived from the index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexSummary {
    pub frame_count: usize,
    pub keyframe_count: usize,
    pub duration_secs: f64,
    pub mean_fps: f64,
    pub min_gop: usize,
    pub max_gop: usize,
    pub mean_gop: f64,
    pub is_vfr: bool,
    pub total_bytes: u64,
}

impl VideoIndex {
    pub fn len(&self) -> usize {
        self.frames.len()
    }
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Presentation time of frame `i` in seconds (as ffprobe's `pts_time`).
    pub fn time_secs(&self, i: usize) -> f64 {
        self.pts_to_secs(self.frames[i].pts)
    }

    pub fn pts_to_secs(&self, pts: i64) -> f64 {
        pts as f64 * self.time_base.num as f64 / self.time_base.den.max(1) as f64
    }

    /// The frame shown at time `t_secs`: the last frame whose pts time is <= t (frame 0 for
    /// times before the first frame). None for an empty index.
    pub fn frame_at_time(&self, t_secs: f64) -> Option<usize> {
        if self.frames.is_empty() {
            return None;
        }
        let n = self
            .frames
            .partition_point(|f| self.pts_to_secs(f.pts) <= t_secs + 1e-9);
        Some(n.saturating_sub(1))
    }

    /// The frame whose pts equals `pts`, if any.
    pub fn frame_of_pts(&self, pts: i64) -> Option<usize> {
        let i = self.frames.partition_point(|f| f.pts < pts);
        (i < self.frames.len() && self.frames[i].pts == pts).then_some(i)
    }

    /// The keyframe to start decoding from to reach frame `i`: the last keyframe at or before
    /// `i` in presentation order. For a leading B-frame of an open GOP (shown before its GOP's
    /// keyframe) this is the previous GOP's keyframe, whose decode covers the references.
    ///
    /// Where timestamps are out of order (a packet whose pts puts it after a keyframe that is
    /// decoded later than it), earlier keyframes are taken until one is decoded no later than
    /// the target.
    pub fn keyframe_before(&self, i: usize) -> Option<usize> {
        let mut k = self.keyframes.partition_point(|&k| k <= i);
        let dec = self.frames.get(i)?.decode_index;
        // A recovery point serves its first clean picture, and the pictures decoded after
        // that picture has been put out: FFmpeg's H.264 decoder marks a picture recovered
        // when it is decoded after a recovered picture was output, and that output waits
        // for the reorder delay (at most 16 pictures). Pictures in between are dropped.
        let unusable = |key: usize| -> bool {
            let f = &self.frames[key];
            if f.decode_index > dec {
                return true;
            }
            if f.recovery_frames == 0 {
                return false;
            }
            let clean = u64::from(f.decode_index) + u64::from(f.recovery_frames);
            let dec = u64::from(dec);
            !(dec == clean || dec > clean + MAX_REORDER_DEPTH as u64)
        };
        while k > 0 && unusable(self.keyframes[k - 1]) {
            k -= 1;
        }
        if k == 0 {
            None
        } else {
            Some(self.keyframes[k - 1])
        }
    }

    /// The index of frames `range` alone (an annotated segment), for sampling inside it:
    /// the same entries, keyframes among them renumbered from the range's start.
    pub fn subrange(&self, range: std::ops::Range<usize>) -> VideoIndex {
        let range = range.start.min(self.frames.len())..range.end.min(self.frames.len());
        VideoIndex {
            frames: self.frames[range.clone()].to_vec(),
            keyframes: self
                .keyframes
                .iter()
                .filter(|&&k| range.contains(&k))
                .map(|&k| k - range.start)
                .collect(),
            warnings: Vec::new(),
            ..self.clone_header()
        }
    }

    fn clone_header(&self) -> VideoIndex {
        VideoIndex {
            path: self.path.clone(),
            stream_index: self.stream_index,
            codec_name: self.codec_name.clone(),
            time_base: self.time_base,
            frames: Vec::new(),
            keyframes: Vec::new(),
            header: self.header.clone(),
            truncated: self.truncated,
            discarded_packets: self.discarded_packets,
            order_from_decode: self.order_from_decode,
            pictureless_packets: self.pictureless_packets,
            warnings: Vec::new(),
        }
    }

    /// The frames of [start, end) seconds from the first frame: those shown at or after
    /// `start` and before `end`, by their timestamps. Err: why the segment holds no frame or
    /// lies past the end (more than one frame past the last frame's end).
    pub fn frames_between_secs(
        &self,
        start: f64,
        end: f64,
    ) -> std::result::Result<std::ops::Range<usize>, String> {
        const EPS: f64 = 1e-6;
        if !(start.is_finite() && end.is_finite()) || end <= start {
            return Err(format!("the segment [{start}, {end}) s is empty"));
        }
        let dur = self.duration_secs();
        let frame = if self.frames.is_empty() {
            0.0
        } else {
            dur / self.frames.len() as f64
        };
        if start >= dur - EPS || end > dur + frame + EPS {
            return Err(format!(
                "the segment [{start:.3}, {end:.3}) s lies past the video's end ({dur:.3} s)"
            ));
        }
        // Frames are in presentation order, so their times ascend.
        let t0 = self.frames.first().map_or(0.0, |f| self.pts_to_secs(f.pts));
        let rel = |f: &FrameEntry| self.pts_to_secs(f.pts) - t0;
        let a = self.frames.partition_point(|f| rel(f) < start - EPS);
        let b = self.frames.partition_point(|f| rel(f) < end - EPS);
        if b <= a {
            return Err(format!(
                "the segment [{start:.3}, {end:.3}) s holds no frame (frames are {:.3} s apart)",
                frame
            ));
        }
        Ok(a..b)
    }

    /// How many frames must be decoded to show frame `i` after a seek (its decode cost).
    pub fn decode_cost(&self, i: usize) -> usize {
        match self.keyframe_before(i) {
            Some(k) => {
                let start = self.frames[k].decode_index;
                let end = self.frames[i].decode_index;
                end.saturating_sub(start) as usize + 1
            }
            None => self.frames[i].decode_index as usize + 1,
        }
    }

    /// GOP lengths in frames (presentation order), from each keyframe to the next.
    pub fn gop_lengths(&self) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.keyframes.len());
        for (j, &k) in self.keyframes.iter().enumerate() {
            let next = self
                .keyframes
                .get(j + 1)
                .copied()
                .unwrap_or(self.frames.len());
            v.push(next - k);
        }
        v
    }

    /// Duration covered by the frames, in seconds: last pts + last duration - first pts.
    pub fn duration_secs(&self) -> f64 {
        match (self.frames.first(), self.frames.last()) {
            (Some(a), Some(b)) => {
                let last_dur = if b.duration > 0 {
                    b.duration
                } else {
                    self.typical_frame_duration()
                };
                self.pts_to_secs(b.pts + last_dur - a.pts)
            }
            _ => 0.0,
        }
    }

    fn typical_frame_duration(&self) -> i64 {
        let mut d: Vec<i64> = self
            .frames
            .windows(2)
            .map(|w| w[1].pts - w[0].pts)
            .filter(|d| *d > 0)
            .collect();
        if d.is_empty() {
            return 0;
        }
        d.sort_unstable();
        d[d.len() / 2]
    }

    /// True when frame intervals vary by more than 1% (beyond timestamp rounding).
    pub fn is_vfr(&self) -> bool {
        let d: Vec<i64> = self
            .frames
            .windows(2)
            .map(|w| w[1].pts - w[0].pts)
            .collect();
        let (Some(&min), Some(&max)) = (d.iter().min(), d.iter().max()) else {
            return false;
        };
        // One tick of slack covers time bases that cannot represent the rate exactly.
        max - min > 1 && (max - min) as f64 > 0.01 * max as f64
    }

    pub fn summary(&self) -> IndexSummary {
        let gops = self.gop_lengths();
        let dur = self.duration_secs();
        IndexSummary {
            frame_count: self.frames.len(),
            keyframe_count: self.keyframes.len(),
            duration_secs: dur,
            mean_fps: if dur > 0.0 {
                self.frames.len() as f64 / dur
            } else {
                0.0
            },
            min_gop: gops.iter().copied().min().unwrap_or(0),
            max_gop: gops.iter().copied().max().unwrap_or(0),
            mean_gop: if gops.is_empty() {
                0.0
            } else {
                gops.iter().sum::<usize>() as f64 / gops.len() as f64
            },
            is_vfr: self.is_vfr(),
            total_bytes: self.frames.iter().map(|f| f.size_bytes as u64).sum(),
        }
    }
}

/// Deepest picture reordering a codec does (H.264 and H.265 allow 16): a frame whose pts puts
/// it further than this from its decode position is not reordered but spliced.
pub(crate) const MAX_REORDER_DEPTH: usize = 16;
