//! The video layer's errors: what failed, on which file, with the system's or FFmpeg's error
//! kept as the `#[source]` where there is one. The layers above wrap these whole
//! (`VdxError::Video`), so a caller can still tell a missing file from a frame out of range.

use std::path::{Path, PathBuf};

pub use crate::error_parts::{DecodeCause, ParamError};
use crate::storage::StorageError;

/// Everything the video layer (probe, index, decode, sample, encode, audio) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The file does not exist or cannot be read.
    #[error("{path}: cannot read file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A zero-byte file.
    #[error("{path}: file is empty (0 bytes); nothing to read")]
    EmptyFile { path: PathBuf },
    /// FFmpeg could not recognise or open the container.
    #[error("{path}: not a readable video file: {reason}")]
    NotVideo { path: PathBuf, reason: String },
    /// The container opened but holds no video stream.
    #[error("{path}: no video stream in this file (streams: {streams})")]
    NoVideoStream { path: PathBuf, streams: String },
    /// The container has a video stream with no decodable packets.
    #[error("{path}: the video stream has no packets that can be read ({reason})")]
    NoPackets { path: PathBuf, reason: String },
    /// The container has no audio stream.
    #[error("{path}: no audio stream in this file")]
    NoAudioStream { path: PathBuf },
    /// A decoder could not be opened or failed.
    #[error("{path}: decode failed: {reason}")]
    Decode { path: PathBuf, reason: String },
    /// A requested frame index does not exist.
    #[error("{path}: frame {index} is out of range (the video has {count} frames)")]
    FrameOutOfRange {
        path: PathBuf,
        index: usize,
        count: usize,
    },
    /// A requested frame exists in the index but could not be decoded (e.g. its data is cut
    /// off). The message names the file and the frame once, then the cause (also `source()`).
    #[error("{path}: frame {index} could not be decoded: {cause}")]
    FrameUndecodable {
        path: PathBuf,
        index: usize,
        #[source]
        cause: DecodeCause,
    },
    /// Writing an encoded file or decoded audio failed; `source` is the system's error where
    /// there is one.
    #[error("{path}: cannot write: {reason}")]
    Write {
        path: PathBuf,
        reason: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// A parameter given by the caller is invalid (a sampler setting, a codec, a size).
    #[error(transparent)]
    Param(#[from] ParamError),
    /// Reading the video from object storage or an HTTP server failed (boxed: the client's
    /// error is large, and every video result carries this type).
    #[error(transparent)]
    Storage(Box<StorageError>),
    /// The user cancelled the work.
    #[error("cancelled")]
    Cancelled,
}

impl From<StorageError> for VideoError {
    fn from(e: StorageError) -> Self {
        VideoError::Storage(Box::new(e))
    }
}

/// Result alias of the video layer.
pub type Result<T, E = VideoError> = std::result::Result<T, E>;

impl VideoError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        VideoError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn decode(path: &Path, reason: impl Into<String>) -> Self {
        VideoError::Decode {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
    pub(crate) fn param(name: &str, reason: impl Into<String>) -> Self {
        VideoError::Param(ParamError::new(name, reason))
    }
    /// A failed write of an output moved into place only when complete (the system's error
    /// kept as the source).
    pub(crate) fn write_io(path: &Path, e: std::io::Error) -> Self {
        VideoError::Write {
            path: path.to_path_buf(),
            reason: crate::error_parts::write_reason(&e),
            source: Some(e),
        }
    }
    /// A write that failed for a reason of the encoder's or muxer's own.
    pub(crate) fn write(path: &Path, reason: impl std::fmt::Display) -> Self {
        VideoError::Write {
            path: path.to_path_buf(),
            reason: reason.to_string(),
            source: None,
        }
    }
    /// The invalid parameter this error is about.
    pub fn param_error(&self) -> Option<&ParamError> {
        match self {
            VideoError::Param(p) => Some(p),
            _ => None,
        }
    }
    /// Writing an encoded file or decoded audio failed.
    pub fn is_write(&self) -> bool {
        matches!(self, VideoError::Write { .. })
    }
    /// The file this error is about, where it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            VideoError::Io { path, .. }
            | VideoError::EmptyFile { path }
            | VideoError::NotVideo { path, .. }
            | VideoError::NoVideoStream { path, .. }
            | VideoError::NoPackets { path, .. }
            | VideoError::NoAudioStream { path }
            | VideoError::Decode { path, .. }
            | VideoError::FrameOutOfRange { path, .. }
            | VideoError::FrameUndecodable { path, .. }
            | VideoError::Write { path, .. } => Some(path),
            VideoError::Param(_) | VideoError::Storage(_) | VideoError::Cancelled => None,
        }
    }
    /// What sort of failure this is (see [`crate::error_parts::ErrorKind`]).
    pub fn kind(&self) -> crate::error_parts::ErrorKind {
        use crate::error_parts::ErrorKind;
        match self {
            VideoError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            VideoError::Param(_) => ErrorKind::InvalidParameter,
            VideoError::FrameOutOfRange { .. } => ErrorKind::OutOfRange,
            VideoError::Decode { .. } | VideoError::FrameUndecodable { .. } => ErrorKind::Decode,
            VideoError::Storage(e) => e.kind(),
            VideoError::Cancelled => ErrorKind::Cancelled,
            _ => ErrorKind::Other,
        }
    }
    /// What went wrong, without the path and the frame number that the outer message
    /// already gives: wrapping an error in a frame error keeps each cause once instead of
    /// repeating 'PATH: frame N could not be decoded: PATH: decode failed: ...'.
    pub(crate) fn bare_reason(&self) -> String {
        match self {
            VideoError::FrameUndecodable { cause, .. } => cause.0.clone(),
            VideoError::Decode { reason, .. }
            | VideoError::NotVideo { reason, .. }
            | VideoError::NoPackets { reason, .. }
            | VideoError::Write { reason, .. } => reason.clone(),
            VideoError::Io { source, .. } => source.to_string(),
            other => other.to_string(),
        }
    }
}
