//! The augmentation layer's errors: a recipe or clip the engine refuses, or a recipe file
//! that cannot be read.

use std::path::{Path, PathBuf};

pub use crate::error_parts::ParamError;

/// Everything the augmentation engine can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AugmentError {
    /// A recipe, an op's parameter or a clip the engine refuses; the parameter or op named.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// A recipe file that cannot be read.
    #[error("{path}: cannot read file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of the augmentation layer.
pub type Result<T, E = AugmentError> = std::result::Result<T, E>;

impl AugmentError {
    pub(crate) fn param(name: &str, reason: impl Into<String>) -> Self {
        AugmentError::Param(ParamError::new(name, reason))
    }
    pub(crate) fn read(path: &Path, source: std::io::Error) -> Self {
        AugmentError::Read {
            path: path.to_path_buf(),
            source,
        }
    }
    /// The invalid parameter this error is about.
    pub fn param_error(&self) -> Option<&ParamError> {
        match self {
            AugmentError::Param(p) => Some(p),
            AugmentError::Read { .. } => None,
        }
    }
    /// What sort of failure this is (see [`crate::error_parts::ErrorKind`]).
    pub fn kind(&self) -> crate::error_parts::ErrorKind {
        use crate::error_parts::ErrorKind;
        match self {
            AugmentError::Param(_) => ErrorKind::InvalidParameter,
            AugmentError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            AugmentError::Read { .. } => ErrorKind::Other,
        }
    }
}
