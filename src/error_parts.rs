//! The error pieces every layer shares, at the base of the layers: an invalid parameter
//! ([`ParamError`]), a file that could not be read or written ([`FileError`]), why a frame did
//! not decode ([`DecodeCause`]) and what sort of failure an error is ([`ErrorKind`]). Each
//! layer's own enum (`video::VideoError`, `augment::AugmentError`, ...) is built from these,
//! and `error::VdxError` gathers the layers.

use std::path::{Path, PathBuf};

/// Why a frame could not be decoded, without the file and frame that the error wrapping it
/// names: each layer adds what it knows once, instead of re-wrapping the message below it
/// ('PATH: frame 4 could not be decoded: PATH: decode failed: ...').
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeCause(pub String);

/// A parameter given by the caller that is invalid: its name as the core and Python name it
/// (the command line turns it into its flag), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter {name}: {reason}")]
pub struct ParamError {
    pub name: String,
    pub reason: String,
}

impl ParamError {
    pub fn new(name: &str, reason: impl Into<String>) -> Self {
        ParamError {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
}

/// What sort of failure an error is, whichever layer it came from: front ends map kinds
/// (the Python package picks its exception class by kind), never message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file or object does not exist.
    NotFound,
    /// A parameter the caller gave is invalid.
    InvalidParameter,
    /// A frame index past the end of the video.
    OutOfRange,
    /// A dataset or stored image that is malformed or damaged.
    Data,
    /// A video that cannot be decoded (or one of its frames).
    Decode,
    /// Object storage or an HTTP server failed.
    Storage,
    /// The user cancelled the work.
    Cancelled,
    /// Anything else (a file that is not a video, a failed write, ...).
    Other,
}

/// Why a write failed, in words: a full disk is said plainly (outputs are only moved into
/// place when complete, so nothing reached the output path).
pub(crate) fn write_reason(e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(28) {
        "the disk is full (No space left on device); the work stopped and nothing was \
         written at the output path"
            .to_string()
    } else {
        e.to_string()
    }
}

/// A local file that could not be read or written: its path, what failed, and the system's
/// error as the source.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file does not exist or cannot be read.
    #[error("{path}: cannot read file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing failed; `source` is the system's error where there is one.
    #[error("{path}: cannot write: {reason}")]
    Write {
        path: PathBuf,
        reason: String,
        #[source]
        source: Option<std::io::Error>,
    },
}

/// `text` without its leading 'PATH: ' (the file `path` names), for lists that already name
/// the file ('skipped PATH: frame 4 could not be decoded: ...').
pub fn without_path(text: String, path: Option<&Path>) -> String {
    match path.and_then(|p| text.strip_prefix(&format!("{}: ", p.display()))) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

impl FileError {
    /// The file that could not be read or written.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Read { path, .. } | FileError::Write { path, .. } => path,
        }
    }
    /// A missing file is `NotFound`; any other read or write failure `Other`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FileError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            _ => ErrorKind::Other,
        }
    }
    /// Writing failed.
    pub fn is_write(&self) -> bool {
        matches!(self, FileError::Write { .. })
    }
    pub(crate) fn read(path: &Path, source: std::io::Error) -> Self {
        FileError::Read {
            path: path.to_path_buf(),
            source,
        }
    }
    /// A failed write of an output moved into place only when complete.
    pub(crate) fn write_io(path: &Path, e: std::io::Error) -> Self {
        FileError::Write {
            path: path.to_path_buf(),
            reason: write_reason(&e),
            source: Some(e),
        }
    }
    /// A write that failed for a reason of vdx's own (no system error below it).
    pub(crate) fn write(path: &Path, reason: impl std::fmt::Display) -> Self {
        FileError::Write {
            path: path.to_path_buf(),
            reason: reason.to_string(),
            source: None,
        }
    }
}
