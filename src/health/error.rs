//! The health layer's errors: measuring a dataset's samples and reading or writing the
//! report beside it.

use std::path::Path;

use crate::error_parts::{ErrorKind, FileError, ParamError};

/// Everything the health pass can fail with: its own reads and writes, and the errors of the layers
/// below it, kept whole so their `#[source]` chains reach the system, FFmpeg or
/// libjpeg-turbo.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// A file of its own could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// A source video could not be read or decoded.
    #[error(transparent)]
    Video(#[from] crate::video::VideoError),
    /// The dataset could not be read or written.
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
    /// A parameter given by the caller is invalid.
    #[error(transparent)]
    InvalidParameter(#[from] ParamError),
    /// The user cancelled the work.
    #[error("cancelled")]
    Cancelled,
}

/// Result alias of this layer.
pub type Result<T, E = HealthError> = std::result::Result<T, E>;

impl HealthError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        FileError::read(path, source).into()
    }
    pub(crate) fn param(name: &str, reason: impl Into<String>) -> Self {
        HealthError::InvalidParameter(ParamError::new(name, reason))
    }
    /// What sort of failure this is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            HealthError::File(f) => f.kind(),
            HealthError::Video(e) => e.kind(),
            HealthError::Dataset(e) => e.kind(),
            HealthError::InvalidParameter(_) => ErrorKind::InvalidParameter,
            HealthError::Cancelled => ErrorKind::Cancelled,
        }
    }
    /// The user cancelled the work (here or in a layer below).
    pub fn is_cancelled(&self) -> bool {
        self.kind() == ErrorKind::Cancelled
    }
    /// Writing an output failed (here or in a layer below).
    pub fn is_write(&self) -> bool {
        match self {
            HealthError::File(f) => f.is_write(),
            HealthError::Video(e) => e.is_write(),
            HealthError::Dataset(e) => e.is_write(),
            _ => false,
        }
    }
    /// The invalid parameter this error is about, from whichever layer refused it.
    pub fn param_error(&self) -> Option<&ParamError> {
        match self {
            HealthError::InvalidParameter(p) => Some(p),
            HealthError::Video(e) => e.param_error(),
            HealthError::Dataset(e) => e.param_error(),
            _ => None,
        }
    }
    /// The file this error is about, where it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            HealthError::File(f) => Some(f.path()),
            HealthError::Video(e) => e.path(),
            HealthError::Dataset(e) => e.path(),
            _ => None,
        }
    }
    /// The message without its leading 'PATH: ', for lists that already name the file.
    pub fn without_path(&self) -> String {
        crate::error_parts::without_path(self.to_string(), self.path())
    }
}
