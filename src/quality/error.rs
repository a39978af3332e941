//! The quality layer's errors: comparing stored samples with their sources and comparing
//! the three fields.

use std::path::Path;

use crate::error_parts::{ErrorKind, FileError, ParamError};

/// Everything the quality measures can fail with: its own reads and writes, and the errors of the layers
/// below it, kept whole so their `#[source]` chains reach the system, FFmpeg or
/// libjpeg-turbo.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// A file of its own could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A source video could not be read or decoded.
    #[error(transparent)]
    Video(#[from] crate::video::VideoError),
    /// The dataset could not be read or written.
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
    /// libjpeg-turbo or the PNG encoder failed on an image.
    #[error(transparent)]
    Image(#[from] crate::jpeg::ImageError),
    /// A parameter given by the caller is invalid.
    #[error(transparent)]
    InvalidParameter(#[from] ParamError),
    /// The user cancelled the work.
    #[error("cancelled")]
    Cancelled,
}

/// Result alias of this layer.
pub type Result<T, E = QualityError> = std::result::Result<T, E>;

impl QualityError {
    pub(crate) fn param(name: &str, reason: impl Into<String>) -> Self {
        QualityError::InvalidParameter(ParamError::new(name, reason))
    }
    /// A failed write of an output moved into place only when complete.
    pub(crate) fn write_io(path: &Path, e: std::io::Error) -> Self {
        FileError::write_io(path, e).into()
    }
    /// A decode failure of a source video (`VideoError::Decode`).
    pub(crate) fn decode(path: &Path, reason: impl Into<String>) -> Self {
        QualityError::Video(crate::video::VideoError::decode(path, reason))
    }
    /// What sort of failure this is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            QualityError::File(f) => f.kind(),
            QualityError::Video(e) => e.kind(),
            QualityError::Dataset(e) => e.kind(),
            QualityError::Image(e) => e.kind(),
            QualityError::InvalidParameter(_) => ErrorKind::InvalidParameter,
            QualityError::Cancelled => ErrorKind::Cancelled,
        }
    }
    /// The user cancelled the work (here or in a layer below).
    pub fn is_cancelled(&self) -> bool {
        self.kind() == ErrorKind::Cancelled
    }
    /// Writing an output failed (here or in a layer below).
    pub fn is_write(&self) -> bool {
        match self {
            QualityError::File(f) => f.is_write(),
            QualityError::Video(e) => e.is_write(),
            QualityError::Dataset(e) => e.is_write(),
            _ => false,
        }
    }
    /// The invalid parameter this error is about, from whichever layer refused it.
    pub fn param_error(&self) -> Option<&ParamError> {
        match self {
            QualityError::InvalidParameter(p) => Some(p),
            QualityError::Video(e) => e.param_error(),
            QualityError::Dataset(e) => e.param_error(),
            _ => None,
        }
    }
    /// The file this error is about, where it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            QualityError::File(f) => Some(f.path()),
            QualityError::Video(e) => e.path(),
            QualityError::Dataset(e) => e.path(),
            _ => None,
        }
    }
    /// The message without its leading 'PATH: ', for lists that already name the file.
    pub fn without_path(&self) -> String {
        crate::error_parts::without_path(self.to_string(), self.path())
    }
}
