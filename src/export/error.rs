//! The export layer's errors: writing a dataset out in the formats training code reads.

use std::path::Path;

use crate::error_parts::{ErrorKind, FileError, ParamError};

/// Everything an export can fail with: its own reads and writes, and the errors of the layers
/// below it, kept whole so their `#[source]` chains reach the system, FFmpeg or
/// libjpeg-turbo.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file of its own could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A source video could not be read or decoded.
    #[error(transparent)]
    Video(#[from] crate::video::VideoError),
    /// The dataset could not be read or written.
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
    /// The augmentation engine refused a recipe or clip.
    #[error(transparent)]
    Augment(#[from] crate::augment::AugmentError),
    /// libjpeg-turbo or the PNG encoder failed on an image.
    #[error(transparent)]
    Image(#[from] crate::jpeg::ImageError),
    /// The health report could not be read (missing, stale, malformed).
    #[error(transparent)]
    Health(#[from] crate::health::HealthError),
    /// A parameter given by the caller is invalid.
    #[error(transparent)]
    InvalidParameter(#[from] ParamError),
    /// The user cancelled the work.
    #[error("cancelled")]
    Cancelled,
}

/// Result alias of this layer.
pub type Result<T, E = ExportError> = std::result::Result<T, E>;

impl ExportError {
    pub(crate) fn param(name: &str, reason: impl Into<String>) -> Self {
        ExportError::InvalidParameter(ParamError::new(name, reason))
    }
    /// A failed write of an output moved into place only when complete.
    pub(crate) fn write_io(path: &Path, e: std::io::Error) -> Self {
        FileError::write_io(path, e).into()
    }
    /// A write that failed for a reason of vdx's own (no system error below it).
    pub(crate) fn write(path: &Path, reason: impl std::fmt::Display) -> Self {
        FileError::write(path, reason).into()
    }
    /// What sort of failure this is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ExportError::File(f) => f.kind(),
            ExportError::Video(e) => e.kind(),
            ExportError::Dataset(e) => e.kind(),
            ExportError::Augment(e) => e.kind(),
            ExportError::Image(e) => e.kind(),
            ExportError::Health(e) => e.kind(),
            ExportError::InvalidParameter(_) => ErrorKind::InvalidParameter,
            ExportError::Cancelled => ErrorKind::Cancelled,
        }
    }
    /// The user cancelled the work (here or in a layer below).
    pub fn is_cancelled(&self) -> bool {
        self.kind() == ErrorKind::Cancelled
    }
    /// Writing an output failed (here or in a layer below).
    pub fn is_write(&self) -> bool {
        match self {
            ExportError::File(f) => f.is_write(),
            ExportError::Video(e) => e.is_write(),
            ExportError::Dataset(e) => e.is_write(),
            ExportError::Health(e) => e.is_write(),
            _ => false,
        }
    }
    /// The invalid parameter this error is about, from whichever layer refused it.
    pub fn param_error(&self) -> Option<&ParamError> {
        match self {
            ExportError::InvalidParameter(p) => Some(p),
            ExportError::Video(e) => e.param_error(),
            ExportError::Dataset(e) => e.param_error(),
            ExportError::Augment(e) => e.param_error(),
            ExportError::Health(e) => e.param_error(),
            _ => None,
        }
    }
    /// The file this error is about, where it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ExportError::File(f) => Some(f.path()),
            ExportError::Video(e) => e.path(),
            ExportError::Dataset(e) => e.path(),
            ExportError::Health(e) => e.path(),
            _ => None,
        }
    }
    /// The message without its leading 'PATH: ', for lists that already name the file.
    pub fn without_path(&self) -> String {
        crate::error_parts::without_path(self.to_string(), self.path())
    }
}
