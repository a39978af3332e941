//! The one error type of the vdx core: every variant says what failed, on which path, and
//! (where it helps) what to do about it.

use std::path::{Path, PathBuf};

/// Everything the vdx core can fail with.
#[derive(Debug, thiserror::Error)]
pub enum VdxError {
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
    /// A requested frame exists in the index but could not be decoded (e.g. its data is cut off).
    /// The message names the file and the frame once, then the cause (also `source()`).
    #[error("{path}: frame {index} could not be decoded: {cause}")]
    FrameUndecodable {
        path: PathBuf,
        index: usize,
        #[source]
        cause: DecodeCause,
    },
    /// A parameter given by the caller is invalid.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: String, reason: String },
    /// Writing an output file failed; `source` is the system's error where there is one.
    #[error("{path}: cannot write: {reason}")]
    Write {
        path: PathBuf,
        reason: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// libjpeg-turbo or the PNG encoder failed on an image (a corrupt JPEG, a size it
    /// refuses).
    #[error("{codec}: {reason}")]
    Image { codec: &'static str, reason: String },
    /// A dataset file is malformed, unfinished or fails its checks.
    #[error("{path}: not a valid dataset: {reason}")]
    Dataset { path: PathBuf, reason: String },
    /// A stored sample's data could not be decoded (a corrupt JPEG, a malformed table, a
    /// segment FFmpeg refuses); `source` is the field's error (`dataset::fields::FieldError`,
    /// boxed: this base layer does not name the dataset layer's types), whose own source is
    /// libjpeg-turbo's or FFmpeg's.
    #[error("{path}: not a valid dataset: sample {sample}: {source}")]
    Sample {
        path: PathBuf,
        sample: u64,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An annotation file that cannot be read as its format says.
    #[error("{path}, line {line}, column {column}: {reason}")]
    Annotation {
        path: PathBuf,
        line: usize,
        column: String,
        reason: String,
    },
    /// Reading from object storage or an HTTP server failed; the storage error names the
    /// URL (without secrets) and keeps the client's error as its source.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// The user cancelled the work.
    #[error("cancelled")]
    Cancelled,
}

/// Why a frame could not be decoded, without the file and frame that the error wrapping it
/// names: each layer adds what it knows once, instead of re-wrapping the message below it
/// ('PATH: frame 4 could not be decoded: PATH: decode failed: ...').
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeCause(pub String);

/// Result alias for the vdx core.
pub type Result<T, E = VdxError> = std::result::Result<T, E>;

impl VdxError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        VdxError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn decode(path: &Path, reason: impl Into<String>) -> Self {
        VdxError::Decode {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
    /// What went wrong, without the path and the frame number that the outer message
    /// already gives: wrapping an error in a frame error keeps each cause once instead of
    /// repeating 'PATH: frame N could not be decoded: PATH: decode failed: ...'.
    pub(crate) fn bare_reason(&self) -> String {
        match self {
            VdxError::FrameUndecodable { cause, .. } => cause.0.clone(),
            VdxError::Decode { reason, .. }
            | VdxError::NotVideo { reason, .. }
            | VdxError::NoPackets { reason, .. }
            | VdxError::Dataset { reason, .. }
            | VdxError::Write { reason, .. } => reason.clone(),
            VdxError::Io { source, .. } => source.to_string(),
            VdxError::Sample { sample, source, .. } => format!("sample {sample}: {source}"),
            other => other.to_string(),
        }
    }
    /// The message without its leading 'PATH: ', for lists that already name the file
    /// ('skipped PATH: frame 4 could not be decoded: ...').
    pub fn without_path(&self) -> String {
        let text = self.to_string();
        let path = match self {
            VdxError::Io { path, .. }
            | VdxError::EmptyFile { path }
            | VdxError::NotVideo { path, .. }
            | VdxError::NoVideoStream { path, .. }
            | VdxError::NoPackets { path, .. }
            | VdxError::NoAudioStream { path }
            | VdxError::Decode { path, .. }
            | VdxError::FrameOutOfRange { path, .. }
            | VdxError::FrameUndecodable { path, .. }
            | VdxError::Write { path, .. }
            | VdxError::Sample { path, .. }
            | VdxError::Dataset { path, .. } => path,
            _ => return text,
        };
        match text.strip_prefix(&format!("{}: ", path.display())) {
            Some(rest) => rest.to_string(),
            None => text,
        }
    }
    pub(crate) fn param(name: &str, reason: impl Into<String>) -> Self {
        VdxError::InvalidParameter {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
    /// A failed write of an output that is only moved into place when complete: a full disk
    /// is said plainly (nothing reached the output path).
    pub(crate) fn write_io(path: &Path, e: std::io::Error) -> Self {
        let reason = if e.raw_os_error() == Some(28) {
            "the disk is full (No space left on device); the work stopped and nothing was \
             written at the output path"
                .to_string()
        } else {
            e.to_string()
        };
        VdxError::Write {
            path: path.to_path_buf(),
            reason,
            source: Some(e),
        }
    }
    /// A write that failed for a reason of vdx's own (no system error below it).
    pub(crate) fn write(path: &Path, reason: impl std::fmt::Display) -> Self {
        VdxError::Write {
            path: path.to_path_buf(),
            reason: reason.to_string(),
            source: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_failed_write_keeps_the_system_error_as_its_source() {
        let io = std::io::Error::from_raw_os_error(28);
        let e = VdxError::write_io(Path::new("/out/a.vdx"), io);
        assert!(e
            .to_string()
            .starts_with("/out/a.vdx: cannot write: the disk is full"));
        let src = e.source().and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(src.and_then(|s| s.raw_os_error()), Some(28));
        let e = VdxError::write(Path::new("/out"), "already exists");
        assert!(e.source().is_none());
    }

    #[test]
    fn a_frame_error_names_the_file_once_and_keeps_its_cause() {
        let inner = VdxError::decode(Path::new("/v/a.avi"), "the decoder rejected a packet");
        let e = VdxError::FrameUndecodable {
            path: "/v/a.avi".into(),
            index: 4,
            cause: DecodeCause(inner.bare_reason()),
        };
        let text = e.to_string();
        assert_eq!(
            text,
            "/v/a.avi: frame 4 could not be decoded: the decoder rejected a packet"
        );
        assert_eq!(text.matches("a.avi").count(), 1);
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("the decoder rejected a packet")
        );
        assert_eq!(
            e.without_path(),
            "frame 4 could not be decoded: the decoder rejected a packet"
        );
    }
}
