//! Thin, safe helpers over FFmpeg: one-time initialisation, opening an input with an explicit
//! probe budget, and turning FFmpeg's C enums and rationals into plain Rust values.

use super::remote_io::{self, RemoteIo};
use crate::video::error::{Result, VideoError};
use ffmpeg_next as ffmpeg;
use ffmpeg_next::ffi;
use std::ffi::CStr;
use std::path::Path;
use std::sync::Once;

static INIT: Once = Once::new();

/// Initialise FFmpeg once per process and keep its own logging quiet: vdx reports problems
/// through its own errors and warnings. Set `VDX_FFMPEG_LOG=warning` (or `info`, `debug`) to
/// see FFmpeg's messages.
pub fn init() {
    INIT.call_once(|| {
        // SVT-AV1 prints a 20-line banner at every encoder open (each AV1 segment) unless its
        // own log level says otherwise: errors only, where the user has not chosen.
        if std::env::var_os("SVT_LOG").is_none() {
            std::env::set_var("SVT_LOG", "1");
        }
        let _ = ffmpeg::init();
        let level = match std::env::var("VDX_FFMPEG_LOG").as_deref() {
            Ok("debug") => ffmpeg::util::log::Level::Debug,
            Ok("info") => ffmpeg::util::log::Level::Info,
            Ok("warning") => ffmpeg::util::log::Level::Warning,
            Ok("error") => ffmpeg::util::log::Level::Error,
            _ => ffmpeg::util::log::Level::Quiet,
        };
        ffmpeg::util::log::set_level(level);
        if std::env::var_os("VDX_FFMPEG_LOG").is_none() {
            // SAFETY: installs a plain function; FFmpeg calls it for every log line.
            unsafe { ffi::av_log_set_callback(Some(keep_error_line)) };
        }
    });
}

thread_local! {
    /// The last error FFmpeg logged on this thread (e.g. "Picture size 65535x65535 is
    /// invalid"): its return codes alone are often vague ("Device or resource busy").
    static LAST_FFMPEG_ERROR: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// Warnings FFmpeg logged on this thread since the last file was opened (e.g. "Invalid
    /// mdhd time scale 0, defaulting to 1"), a few at most.
    static FFMPEG_WARNINGS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// FFmpeg log callback: keeps the text of error-level lines, drops the rest (vdx is quiet
/// unless `VDX_FFMPEG_LOG` asks for FFmpeg's own output).
unsafe extern "C" fn keep_error_line(
    avcl: *mut std::os::raw::c_void,
    level: std::os::raw::c_int,
    fmt: *const std::os::raw::c_char,
    vl: *mut ffi::__va_list_tag,
) {
    if level > ffi::AV_LOG_WARNING || fmt.is_null() {
        return;
    }
    let mut buf = [0 as std::os::raw::c_char; 512];
    let mut prefix: std::os::raw::c_int = 0;
    // SAFETY: FFmpeg hands a valid format and va_list; the line is NUL-terminated within buf.
    let line = unsafe {
        ffi::av_log_format_line2(avcl, level, fmt, vl, buf.as_mut_ptr(), 512, &mut prefix);
        CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .trim()
            .to_string()
    };
    if line.is_empty() {
        return;
    }
    // An error that does not stop the open (FFmpeg replaced a bad value) is a warning too.
    let _ = FFMPEG_WARNINGS.try_with(|w| {
        let mut w = w.borrow_mut();
        if w.len() < 4 && !w.contains(&line) {
            w.push(line.clone());
        }
    });
    if level <= ffi::AV_LOG_ERROR {
        let _ = LAST_FFMPEG_ERROR.try_with(|e| *e.borrow_mut() = Some(line));
    }
}

/// Takes the warnings FFmpeg logged on this thread since the last file was opened.
pub(crate) fn take_ffmpeg_warnings() -> Vec<String> {
    FFMPEG_WARNINGS
        .try_with(|w| std::mem::take(&mut *w.borrow_mut()))
        .unwrap_or_default()
}

/// Takes the last error line FFmpeg logged on this thread, if any.
pub(crate) fn take_ffmpeg_error() -> Option<String> {
    LAST_FFMPEG_ERROR
        .try_with(|e| e.borrow_mut().take())
        .ok()
        .flatten()
}

/// `reason`, followed by what FFmpeg logged about it where that adds something.
fn with_ffmpeg_detail(reason: String) -> String {
    match take_ffmpeg_error() {
        Some(d) if !reason.contains(&d) => format!("{reason} ({d})"),
        _ => reason,
    }
}

/// How much of a file FFmpeg may read while guessing stream parameters.
///
/// Bounded on purpose: the metadata panel must appear at once, even for a 100 GB file or a
/// file whose streams start late; the packet index refines the facts afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProbeBudget {
    /// Bytes read to detect the container and stream parameters (FFmpeg's `probesize`).
    pub probesize_bytes: u64,
    /// Media time analysed to find stream parameters, in microseconds (`analyzeduration`).
    pub analyze_duration_us: u64,
}

impl Default for ProbeBudget {
    fn default() -> Self {
        ProbeBudget {
            probesize_bytes: 1 << 20,
            analyze_duration_us: 1_000_000,
        }
    }
}

impl ProbeBudget {
    /// FFmpeg's own defaults (5 MB, 5 s): slower but closer to what ffprobe reports.
    pub fn ffmpeg_default() -> Self {
        ProbeBudget {
            probesize_bytes: 5_000_000,
            analyze_duration_us: 5_000_000,
        }
    }
}

/// Open `path` for demuxing with the given budget. Errors name the path and the reason.
///
/// Runs FFmpeg's stream analysis (`avformat_find_stream_info`), which decodes a few frames
/// to learn what the container header does not say.
pub fn open_input(path: &Path, budget: &ProbeBudget) -> Result<Demuxer> {
    let mut ictx = open_header(path, budget)?;
    find_stream_info(&mut ictx, path)?;
    Ok(ictx)
}

/// The size of a local file or of an object behind a URL.
pub(crate) fn file_size(path: &Path) -> Result<u64> {
    if crate::storage::is_url(path) {
        Ok(crate::storage::RemoteFile::open(path)?.size())
    } else {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| VideoError::io(path, e))
    }
}

/// Open `path` and read only its container header: no stream analysis, no decoding.
///
/// For MP4/MOV and Matroska/WebM the header already holds codec, size, time base and frame
/// rate; [`find_stream_info`] fills in the rest where it does not.
pub fn open_header(path: &Path, budget: &ProbeBudget) -> Result<Demuxer> {
    init();
    let io = if crate::storage::is_url(path) {
        let file = crate::storage::RemoteFile::open(path)?;
        if file.size() == 0 {
            return Err(VideoError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
        Some(RemoteIo::new(file).ok_or_else(|| VideoError::decode(path, "out of memory"))?)
    } else {
        let meta = std::fs::metadata(path).map_err(|e| VideoError::io(path, e))?;
        if meta.is_dir() {
            return Err(VideoError::NotVideo {
                path: path.to_path_buf(),
                reason: "this is a directory, not a file".into(),
            });
        }
        if meta.len() == 0 {
            return Err(VideoError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
        None
    };
    let mut opts = ffmpeg::Dictionary::new();
    // FFmpeg rejects a probesize below 32 bytes.
    opts.set("probesize", &budget.probesize_bytes.max(32).to_string());
    opts.set("analyzeduration", &budget.analyze_duration_us.to_string());
    let cpath = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
        VideoError::param("path", format!("{} contains a NUL byte", path.display()))
    })?;
    // SAFETY: avformat_open_input allocates the context on success and frees it on failure
    // (also one allocated here for custom I/O, whose I/O context `io` keeps and frees after
    // the format context); the dictionary is handed over and taken back (FFmpeg leaves
    // unused options in it).
    unsafe {
        let mut ps: *mut ffi::AVFormatContext = std::ptr::null_mut();
        if let Some(io) = &io {
            ps = ffi::avformat_alloc_context();
            if ps.is_null() {
                return Err(VideoError::decode(path, "out of memory"));
            }
            (*ps).pb = io.as_ptr();
        }
        let mut raw = opts.disown();
        take_ffmpeg_error();
        take_ffmpeg_warnings();
        remote_io::take_io_error();
        let res = ffi::avformat_open_input(&mut ps, cpath.as_ptr(), std::ptr::null(), &mut raw);
        drop(ffmpeg::Dictionary::own(raw));
        if let Some(e) = remote_io::take_io_error() {
            if res >= 0 {
                ffi::avformat_close_input(&mut ps);
            }
            return Err(e.into());
        }
        if res < 0 {
            return Err(VideoError::NotVideo {
                path: path.to_path_buf(),
                reason: with_ffmpeg_detail(describe_open_error(&ffmpeg::Error::from(res))),
            });
        }
        Ok(Demuxer {
            input: ffmpeg::format::context::Input::wrap(ps),
            io,
        })
    }
}

/// An open demuxer: FFmpeg's input context and, for a URL, the I/O context it reads
/// through (dropped after the input, which uses it until it is closed).
pub struct Demuxer {
    input: ffmpeg::format::context::Input,
    io: Option<RemoteIo>,
}

impl Demuxer {
    /// For an MP4/MOV read from object storage: from now on, reading `stream`'s packets
    /// fetches only their first bytes (what the packet index parses), the rest reading as
    /// zeros. A no-op for a local file and for other containers.
    pub(crate) fn read_packet_heads_only(&mut self, stream: usize) -> Result<()> {
        let Some(io) = &mut self.io else {
            return Ok(());
        };
        if !self.input.format().name().starts_with("mov,") {
            return Ok(());
        }
        let mut packets = Vec::new();
        // H.264 and HEVC with length-prefixed NAL units: heads start small and grow where
        // the NAL units before a packet's first slice, or its slice header, need more.
        let mut walk: Option<(usize, bool)> = None;
        if let Some(st) = self.input.stream(stream) {
            let par = st.parameters();
            // SAFETY: reads the extradata of the open stream's parameters.
            let extra = unsafe {
                let p = par.as_ptr();
                if (*p).extradata.is_null() || (*p).extradata_size <= 0 {
                    &[][..]
                } else {
                    std::slice::from_raw_parts((*p).extradata, (*p).extradata_size as usize)
                }
            };
            walk = match par.id() {
                ffmpeg::codec::Id::H264 if extra.len() >= 7 && extra[0] == 1 => {
                    Some((usize::from(extra[4] & 3) + 1, false))
                }
                ffmpeg::codec::Id::HEVC if extra.len() >= 23 && extra[0] == 1 => {
                    Some((usize::from(extra[21] & 3) + 1, true))
                }
                _ => None,
            };
        }
        // Every stream's samples: the video's heads are fetched; the other streams' samples
        // (audio between the video's, which the demuxer skips) read as zeros, unfetched.
        for st in self.input.streams() {
            let video = st.index() == stream;
            // SAFETY: the stream belongs to the open context; entries are read, not kept.
            unsafe {
                let p = st.as_ptr() as *mut ffi::AVStream;
                for i in 0..ffi::avformat_index_get_entries_count(p) {
                    let e = ffi::avformat_index_get_entry(p, i);
                    if e.is_null() || (*e).pos < 0 {
                        continue;
                    }
                    let key = (*e).flags() & ffi::AVINDEX_KEYFRAME != 0;
                    let head = match (video, key, walk.is_some()) {
                        (false, _, _) => 0,
                        // Grown where the parameter sets and SEI before the slice need more.
                        (true, true, true) => 1024,
                        (true, true, false) => 8192,
                        (true, false, true) => 256,
                        (true, false, false) => 1024,
                    };
                    let pos = (*e).pos as u64;
                    packets.push((pos, pos + (*e).size() as u64, head));
                }
            }
        }
        if !packets.is_empty() {
            let needed = walk.map(|(n, hevc)| {
                move |head: &[u8], len: u64| {
                    crate::video::index::h264::head_needed(head, len, n, hevc)
                }
            });
            io.fetch_heads_only(
                packets,
                needed.as_ref().map(|f| f as &dyn Fn(&[u8], u64) -> u64),
            )?;
        }
        Ok(())
    }
}

impl std::ops::Deref for Demuxer {
    type Target = ffmpeg::format::context::Input;
    fn deref(&self) -> &Self::Target {
        &self.input
    }
}

impl std::ops::DerefMut for Demuxer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.input
    }
}

/// Reads the next packet (av_read_frame). The outer error is a failed read from object
/// storage, which FFmpeg would report as a truncated file or the end of the stream; the
/// inner result is the demuxer's own.
pub(crate) fn read_packet(
    pkt: &mut ffmpeg::Packet,
    ictx: &mut ffmpeg::format::context::Input,
) -> Result<std::result::Result<(), ffmpeg::Error>> {
    let r = pkt.read(ictx);
    if r.is_err() {
        if let Some(e) = remote_io::take_io_error() {
            return Err(e.into());
        }
    }
    Ok(r)
}

/// Open `path` for demuxing, running FFmpeg's stream analysis only where the container
/// header is not enough to demux and decode the video: MP4/MOV headers state codec, size,
/// extradata and timing for every stream, so they skip it (it decodes several frames:
/// ~28 ms on a 1080p H.264 file).
pub fn open_for_demux(path: &Path, budget: &ProbeBudget) -> Result<Demuxer> {
    let mut ictx = open_header(path, budget)?;
    if !header_is_enough(&ictx) {
        find_stream_info(&mut ictx, path)?;
    }
    Ok(ictx)
}

fn header_is_enough(ictx: &ffmpeg::format::context::Input) -> bool {
    if !ictx.format().name().starts_with("mov,") || ictx.nb_streams() == 0 {
        return false;
    }
    ictx.streams().all(|st| {
        // SAFETY: reads plain fields of codec parameters owned by the open context.
        unsafe {
            let par = (*st.as_ptr()).codecpar;
            (*par).codec_id != ffi::AVCodecID::AV_CODEC_ID_NONE
                && ((*par).codec_type != ffi::AVMediaType::AVMEDIA_TYPE_VIDEO
                    || ((*par).width > 0 && (*par).height > 0))
                && ((*par).codec_type != ffi::AVMediaType::AVMEDIA_TYPE_AUDIO
                    || ((*par).sample_rate > 0 && (*par).ch_layout.nb_channels > 0))
        }
    })
}

/// FFmpeg's stream analysis on a context from [`open_header`] that has not been read from.
pub fn find_stream_info(ictx: &mut ffmpeg::format::context::Input, path: &Path) -> Result<()> {
    // Not cleared here: what FFmpeg said while reading the header (e.g. an invalid picture
    // size) is often why the analysis fails.
    // SAFETY: the context is open and owned by `ictx`.
    let r = unsafe { ffi::avformat_find_stream_info(ictx.as_mut_ptr(), std::ptr::null_mut()) };
    if let Some(e) = remote_io::take_io_error() {
        return Err(e.into());
    }
    if r < 0 {
        return Err(VideoError::NotVideo {
            path: path.to_path_buf(),
            reason: with_ffmpeg_detail(describe_open_error(&ffmpeg::Error::from(r))),
        });
    }
    Ok(())
}

fn describe_open_error(e: &ffmpeg::Error) -> String {
    match e {
        ffmpeg::Error::InvalidData => {
            "FFmpeg found no known container format or the container header is corrupt \
             (Invalid data found when processing input)"
                .into()
        }
        other => format!("FFmpeg: {other}"),
    }
}

/// A C string from FFmpeg, or `None` for a null pointer.
pub(crate) fn cstr(p: *const std::os::raw::c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: FFmpeg returns NUL-terminated static or context-owned strings.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// A rational as (num, den).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ratio {
    pub num: i32,
    pub den: i32,
}

impl Ratio {
    pub fn from_av(r: ffi::AVRational) -> Self {
        Ratio {
            num: r.num,
            den: r.den,
        }
    }
    /// The value as f64, or None when the denominator is 0 (FFmpeg's "unknown").
    pub fn as_f64(&self) -> Option<f64> {
        if self.den == 0 {
            None
        } else {
            Some(self.num as f64 / self.den as f64)
        }
    }
    pub fn is_valid(&self) -> bool {
        self.den != 0 && self.num != 0
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// Names of a file's streams, for error messages ("0:audio aac, 1:subtitle mov_text").
pub(crate) fn stream_summary(ictx: &ffmpeg::format::context::Input) -> String {
    let parts: Vec<String> = ictx
        .streams()
        .map(|s| {
            let p = s.parameters();
            format!("{}:{:?} {:?}", s.index(), p.medium(), p.id()).to_lowercase()
        })
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Tell the demuxer to skip every stream but `keep`: reads of other streams then cost nothing.
pub(crate) fn discard_all_but(ictx: &mut ffmpeg::format::context::Input, keep: usize) {
    // SAFETY: setting `discard` on streams of the open context is how FFmpeg is told to skip
    // them; the context outlives the call.
    unsafe {
        let ctx = ictx.as_mut_ptr();
        for j in 0..(*ctx).nb_streams as usize {
            if j != keep {
                (**(*ctx).streams.add(j)).discard = ffi::AVDiscard::AVDISCARD_ALL;
            }
        }
    }
}

/// A stream's codec extradata (parameter sets, a VOL header), empty when it has none.
pub(crate) fn extradata<'a>(st: &'a ffmpeg::format::stream::Stream<'_>) -> &'a [u8] {
    // SAFETY: the pointer and size belong to the stream's parameters, which live as long as
    // the stream's context, which `st` borrows.
    unsafe {
        let par = (*st.as_ptr()).codecpar;
        if (*par).extradata.is_null() || (*par).extradata_size <= 0 {
            &[]
        } else {
            std::slice::from_raw_parts((*par).extradata, (*par).extradata_size as usize)
        }
    }
}

/// The decoder flagged this picture as damaged: errors concealed, or references missing.
pub(crate) fn frame_is_damaged(frame: &ffmpeg::frame::Video) -> bool {
    // SAFETY: plain field reads of a frame the decoder filled.
    unsafe {
        let f = frame.as_ptr();
        (*f).flags & ffi::AV_FRAME_FLAG_CORRUPT != 0 || (*f).decode_error_flags != 0
    }
}
