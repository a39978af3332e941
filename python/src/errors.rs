//! vdx's errors as the exception classes of `vdx.errors` (python/vdx/errors.py): chosen by the
//! error's kind (`vdx::error::ErrorKind`), never by its message, which is kept as it is.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use vdx::VdxError;

/// A vdx error as the Python exception of `vdx.errors` that fits its kind.
pub(crate) fn to_py(e: impl Into<VdxError>) -> PyErr {
    let e: VdxError = e.into();
    use vdx::error::ErrorKind;
    let class = match e.kind() {
        ErrorKind::NotFound => "VdxFileNotFoundError",
        ErrorKind::InvalidParameter => "VdxValueError",
        ErrorKind::OutOfRange => "VdxIndexError",
        // A JPEG that does not decode is damaged data, not a bad argument.
        ErrorKind::Data => "VdxDatasetError",
        ErrorKind::Decode => "VdxDecodeError",
        ErrorKind::Storage => "VdxStorageError",
        ErrorKind::Cancelled | ErrorKind::Other => "VdxError",
    };
    raise(class, e.to_string())
}

/// An exception of class `class` from `vdx.errors` with `msg`.
pub(crate) fn raise(class: &str, msg: String) -> PyErr {
    Python::attach(|py| {
        match py
            .import("vdx.errors")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.call1((msg.clone(),)))
        {
            Ok(obj) => PyErr::from_value(obj),
            Err(_) => PyRuntimeError::new_err(msg),
        }
    })
}

pub(crate) fn value_error(what: &str, why: impl Into<String>) -> PyErr {
    to_py(VdxError::InvalidParameter(vdx::error::ParamError::new(
        what,
        why.into(),
    )))
}
