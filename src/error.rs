//! The error type of the vdx core, gathering the layers': every variant says what failed, on
//! which path, and (where it helps) what to do about it. The video, augmentation and dataset
//! layers have their own enums (`video::VideoError`, `augment::AugmentError`,
//! `dataset::DatasetError`), carried whole; `kind()` tells front ends what sort of failure any
//! of them is without reading messages. The export, quality and health layers have theirs
//! too (`ExportError`, `QualityError`, `HealthError`). This module sits above all of them and
//! below the front ends (`scripts/check_layers.py`); the pieces every layer shares are in
//! `error_parts`.

use std::path::{Path, PathBuf};

pub(crate) use crate::error_parts::write_reason;
pub use crate::error_parts::{DecodeCause, ErrorKind, FileError, ParamError};

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
    /// Probing, indexing, decoding, sampling or encoding a video failed.
    #[error(transparent)]
    Video(#[from] crate::video::VideoError),
    /// The augmentation engine refused a recipe or clip, or could not read a recipe file.
    #[error(transparent)]
    Augment(#[from] crate::augment::AugmentError),
    /// A parameter given by the caller is invalid.
    #[error(transparent)]
    InvalidParameter(#[from] ParamError),
    /// Writing an output file failed; `source` is the system's error where there is one.
    #[error("{path}: cannot write: {reason}")]
    Write {
        path: PathBuf,
        reason: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// libjpeg-turbo or the PNG encoder failed on an image (a corrupt JPEG, a size it
    /// refuses); the library's error is the source.
    #[error(transparent)]
    Image(#[from] crate::jpeg::ImageError),
    /// Building, reading, verifying or annotating a dataset failed.
    #[error(transparent)]
    Dataset(#[from] crate::dataset::error::DatasetError),
    /// An export failed.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// Comparing stored samples with their sources, or the fields, failed.
    #[error(transparent)]
    Quality(#[from] crate::quality::QualityError),
    /// The health pass, or reading its report, failed.
    #[error(transparent)]
    Health(#[from] crate::health::HealthError),
    /// Reading from object storage or an HTTP server failed; the storage error names the
    /// URL (without secrets) and keeps the client's error as its source.
    #[error(transparent)]
    Storage(crate::storage::StorageError),
    /// The user cancelled the work.
    #[error("cancelled")]
    Cancelled,
}

impl From<FileError> for VdxError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Read { path, source } => VdxError::Io { path, source },
            FileError::Write {
                path,
                reason,
                source,
            } => VdxError::Write {
                path,
                reason,
                source,
            },
        }
    }
}

impl From<crate::storage::StorageError> for VdxError {
    /// A failure of the local side of a transfer is a file error like any other.
    fn from(e: crate::storage::StorageError) -> Self {
        match e {
            crate::storage::StorageError::Local(f) => f.into(),
            e => VdxError::Storage(e),
        }
    }
}

/// Result alias for the vdx core.
pub type Result<T, E = VdxError> = std::result::Result<T, E>;

impl VdxError {
    /// What sort of failure this is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            VdxError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            VdxError::Video(v) => v.kind(),
            VdxError::Augment(a) => a.kind(),
            VdxError::Dataset(d) => d.kind(),
            VdxError::Export(e) => e.kind(),
            VdxError::Quality(e) => e.kind(),
            VdxError::Health(e) => e.kind(),
            VdxError::InvalidParameter(_) => ErrorKind::InvalidParameter,
            // A JPEG that does not decode is damaged data, not a bad argument.
            VdxError::Image(crate::jpeg::ImageError::Param(_)) => ErrorKind::InvalidParameter,
            VdxError::Image(_) => ErrorKind::Data,
            VdxError::Storage(e) => e.kind(),
            VdxError::Cancelled => ErrorKind::Cancelled,
            _ => ErrorKind::Other,
        }
    }
    /// The user cancelled the work (in this layer or the video layer).
    pub fn is_cancelled(&self) -> bool {
        self.kind() == ErrorKind::Cancelled
    }
    /// Writing an output failed (in this layer or the video layer's encoder or muxer).
    pub fn is_write(&self) -> bool {
        match self {
            VdxError::Write { .. } => true,
            VdxError::Video(e) => e.is_write(),
            VdxError::Dataset(e) => e.is_write(),
            VdxError::Export(e) => e.is_write(),
            VdxError::Quality(e) => e.is_write(),
            VdxError::Health(e) => e.is_write(),
            _ => false,
        }
    }
    /// The invalid parameter this error is about, from whichever layer refused it.
    pub fn param_error(&self) -> Option<&ParamError> {
        match self {
            VdxError::InvalidParameter(p) => Some(p),
            VdxError::Video(crate::video::VideoError::Param(p)) => Some(p),
            VdxError::Augment(crate::augment::AugmentError::Param(p)) => Some(p),
            VdxError::Image(crate::jpeg::ImageError::Param(p)) => Some(p),
            VdxError::Dataset(d) => d.param_error(),
            VdxError::Export(e) => e.param_error(),
            VdxError::Quality(e) => e.param_error(),
            VdxError::Health(e) => e.param_error(),
            _ => None,
        }
    }
    /// The message without its leading 'PATH: ', for lists that already name the file
    /// ('skipped PATH: frame 4 could not be decoded: ...').
    pub fn without_path(&self) -> String {
        let text = self.to_string();
        let path = match self {
            VdxError::Video(v) => match v.path() {
                Some(p) => p,
                None => return text,
            },
            VdxError::Dataset(d) => match d.path() {
                Some(p) => p,
                None => return text,
            },
            VdxError::Export(e) => return e.without_path(),
            VdxError::Quality(e) => return e.without_path(),
            VdxError::Health(e) => return e.without_path(),
            VdxError::Io { path, .. } | VdxError::Write { path, .. } => path,
            _ => return text,
        };
        match text.strip_prefix(&format!("{}: ", path.display())) {
            Some(rest) => rest.to_string(),
            None => text,
        }
    }
    pub(crate) fn param(name: &str, reason: impl Into<String>) -> Self {
        VdxError::InvalidParameter(ParamError::new(name, reason))
    }
    /// A failed write of an output that is only moved into place when complete: a full disk
    /// is said plainly (nothing reached the output path).
    pub(crate) fn write_io(path: &Path, e: std::io::Error) -> Self {
        VdxError::Write {
            path: path.to_path_buf(),
            reason: write_reason(&e),
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
        use crate::video::VideoError;
        let inner = VideoError::decode(Path::new("/v/a.avi"), "the decoder rejected a packet");
        let e = VideoError::FrameUndecodable {
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
        let e = VdxError::from(e);
        assert_eq!(
            e.without_path(),
            "frame 4 could not be decoded: the decoder rejected a packet"
        );
        assert_eq!(e.kind(), crate::error::ErrorKind::Decode);
    }
}
