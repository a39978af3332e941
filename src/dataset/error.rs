//! The dataset layer's errors: a dataset file that is malformed or fails its checks, a stored
//! sample that does not decode, an annotation file that cannot be read, and the failures of
//! the layers below a build or a read goes through (video, augmentation, images, storage),
//! each kept whole so its `#[source]` chain reaches the system, FFmpeg or libjpeg-turbo.

use std::path::{Path, PathBuf};

use crate::augment::AugmentError;
use crate::error_parts::{ErrorKind, FileError, ParamError};
use crate::jpeg::ImageError;
use crate::storage::StorageError;
use crate::video::VideoError;

/// Everything the dataset layer (build, read, verify, annotations, manifests) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file does not exist or cannot be read.
    #[error("{path}: cannot read file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A zero-byte file.
    #[error("{path}: file is empty (0 bytes); nothing to read")]
    EmptyFile { path: PathBuf },
    /// Writing the dataset or a file beside it failed; `source` is the system's error where
    /// there is one.
    #[error("{path}: cannot write: {reason}")]
    Write {
        path: PathBuf,
        reason: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// A dataset file is malformed, unfinished or fails its checks.
    #[error("{path}: not a valid dataset: {reason}")]
    Malformed { path: PathBuf, reason: String },
    /// A stored sample's data could not be decoded (a corrupt JPEG, a malformed table, a
    /// segment FFmpeg refuses); `source` is the field's error (`fields::FieldError`), whose
    /// own source is libjpeg-turbo's or FFmpeg's.
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
    /// A source video could not be probed, indexed, decoded or encoded.
    #[error(transparent)]
    Video(#[from] VideoError),
    /// The augmentation engine refused a recipe or clip.
    #[error(transparent)]
    Augment(#[from] AugmentError),
    /// libjpeg-turbo or the PNG encoder failed on an image.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A parameter given by the caller is invalid.
    #[error(transparent)]
    InvalidParameter(#[from] ParamError),
    /// Object storage or an HTTP server failed (boxed: the client's error is large).
    #[error(transparent)]
    Storage(Box<StorageError>),
    /// The user cancelled the work.
    #[error("cancelled")]
    Cancelled,
}

/// Result alias of the dataset layer.
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;

impl From<FileError> for DatasetError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Read { path, source } => DatasetError::Io { path, source },
            FileError::Write {
                path,
                reason,
                source,
            } => DatasetError::Write {
                path,
                reason,
                source,
            },
        }
    }
}

impl From<StorageError> for DatasetError {
    /// A failure of the local side of a transfer is a file error like any other.
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Local(f) => f.into(),
            e => DatasetError::Storage(Box::new(e)),
        }
    }
}

impl DatasetError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DatasetError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn param(name: &str, reason: impl Into<String>) -> Self {
        DatasetError::InvalidParameter(ParamError::new(name, reason))
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
            DatasetError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            DatasetError::Video(v) => v.kind(),
            DatasetError::Augment(a) => a.kind(),
            DatasetError::Image(ImageError::Param(_)) | DatasetError::InvalidParameter(_) => {
                ErrorKind::InvalidParameter
            }
            // A JPEG that does not decode is damaged data, not a bad argument.
            DatasetError::Malformed { .. }
            | DatasetError::Image(_)
            | DatasetError::Sample { .. } => ErrorKind::Data,
            DatasetError::Storage(e) => e.kind(),
            DatasetError::Cancelled => ErrorKind::Cancelled,
            _ => ErrorKind::Other,
        }
    }
    /// The invalid parameter this error is about, from whichever layer refused it.
    pub fn param_error(&self) -> Option<&ParamError> {
        match self {
            DatasetError::InvalidParameter(p)
            | DatasetError::Video(VideoError::Param(p))
            | DatasetError::Augment(AugmentError::Param(p))
            | DatasetError::Image(ImageError::Param(p)) => Some(p),
            _ => None,
        }
    }
    /// Writing the dataset (or a video encoded into it) failed.
    pub fn is_write(&self) -> bool {
        match self {
            DatasetError::Write { .. } => true,
            DatasetError::Video(v) => v.is_write(),
            _ => false,
        }
    }
    /// The file this error is about, where it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DatasetError::Io { path, .. }
            | DatasetError::EmptyFile { path }
            | DatasetError::Write { path, .. }
            | DatasetError::Malformed { path, .. }
            | DatasetError::Sample { path, .. } => Some(path),
            DatasetError::Video(v) => v.path(),
            _ => None,
        }
    }
    /// The message without its leading 'PATH: ', for lists that already name the file
    /// ('skipped PATH: frame 4 could not be decoded: ...').
    pub fn without_path(&self) -> String {
        crate::error_parts::without_path(self.to_string(), self.path())
    }
    /// What went wrong, without the path that an outer message already gives.
    pub(crate) fn bare_reason(&self) -> String {
        match self {
            DatasetError::Video(v) => v.bare_reason(),
            DatasetError::Malformed { reason, .. } | DatasetError::Write { reason, .. } => {
                reason.clone()
            }
            DatasetError::Io { source, .. } => source.to_string(),
            DatasetError::Sample { sample, source, .. } => format!("sample {sample}: {source}"),
            other => other.to_string(),
        }
    }
}
