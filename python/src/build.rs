//! Building datasets in-process (`build_request`, `write_manifest`) and `epoch_order`.

use crate::{join_interruptible, serialize_to_py, to_py};
use numpy::ndarray::Array1;
use numpy::IntoPyArray;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// `vdx build` in-process: `request` is a JSON object of [`vdx::dataset::BuildRequest`]'s
/// fields (the package turns keywords into it; unknown names are refused). Runs on a thread
/// with the GIL released; Ctrl-C cancels it (nothing is left at the output). Returns the
/// report as a dict.
#[pyfunction]
pub(crate) fn build_request<'py>(py: Python<'py>, request: &str) -> PyResult<Bound<'py, PyDict>> {
    use std::sync::atomic::AtomicBool;
    use vdx::dataset::{BuildHooks, BuildOutcome, BuildRequest};
    let req = BuildRequest::from_json(request).map_err(to_py)?;
    let cancel = Arc::new(AtomicBool::new(false));
    let c2 = cancel.clone();
    let handle = std::thread::Builder::new()
        .name("vdx-build".into())
        .spawn(move || {
            let left_out = Mutex::new(Vec::<(String, String)>::new());
            let notes = Mutex::new(Vec::<String>::new());
            let r = req.run(
                &c2,
                &BuildHooks {
                    progress: &|_, _| {},
                    left_out: &|p, why| {
                        if let Ok(mut l) = left_out.lock() {
                            l.push((p.display().to_string(), why.to_string()));
                        }
                    },
                    note: &|text| {
                        if let Ok(mut n) = notes.lock() {
                            n.push(text.to_string());
                        }
                    },
                },
            );
            (
                r,
                left_out.into_inner().unwrap_or_default(),
                notes.into_inner().unwrap_or_default(),
            )
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the build thread: {e}")))?;
    let (r, left_out, notes) = join_interruptible(py, handle, &cancel, "the build thread")?;
    let d = PyDict::new(py);
    d.set_item("left_out", left_out)?;
    d.set_item("notes", notes)?;
    match r.map_err(to_py)? {
        BuildOutcome::AlreadyBuilt(p) => {
            d.set_item("output", p.to_string_lossy().to_string())?;
            d.set_item("already_built", true)?;
        }
        BuildOutcome::Built(rep) => {
            d.set_item("output", rep.output.to_string_lossy().to_string())?;
            d.set_item("already_built", false)?;
            d.set_item("samples", rep.samples)?;
            d.set_item("videos", rep.videos)?;
            d.set_item("classes", rep.classes)?;
            d.set_item("bytes", rep.bytes)?;
            let skipped: Vec<(String, String)> = rep
                .skipped
                .iter()
                .map(|(p, w)| (p.display().to_string(), w.clone()))
                .collect();
            d.set_item("skipped", skipped)?;
        }
        BuildOutcome::Planned(plan) => {
            d.set_item("already_built", false)?;
            d.set_item("plan", serialize_to_py(py, &plan)?)?;
        }
    }
    Ok(d)
}

/// Write `DIR/NAME.vdxm` for the shards in `dir`; returns (path, manifest dict).
#[pyfunction]
#[pyo3(signature = (dir, name=None))]
pub(crate) fn write_manifest<'py>(
    py: Python<'py>,
    dir: PathBuf,
    name: Option<String>,
) -> PyResult<(String, Bound<'py, PyAny>)> {
    let (path, m) = py
        .detach(|| vdx::dataset::write_manifest(&dir, name.as_deref()))
        .map_err(to_py)?;
    Ok((path.to_string_lossy().to_string(), serialize_to_py(py, &m)?))
}

/// A local file holding every byte of the dataset file at `path` (FFCV's reader maps one):
/// the path itself, or for a URL the object's entry in the cache folder `VDX_CACHE_DIR`,
/// fetched whole first.
#[pyfunction]
pub(crate) fn local_copy(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let p = py
        .detach(|| vdx::dataset::reader::DatasetFile::open(&path)?.local_copy())
        .map_err(to_py)?;
    Ok(p.to_string_lossy().into_owned())
}

/// The order of `n` samples for (seed, epoch): a Fisher-Yates shuffle driven by SplitMix64
/// keyed by both, the same on every machine and in every process.
#[pyfunction]
pub(crate) fn epoch_order<'py>(
    py: Python<'py>,
    n: usize,
    seed: u64,
    epoch: u64,
) -> Bound<'py, PyAny> {
    let v: Vec<i64> = vdx::dataset::loader::epoch_order(n, seed, epoch)
        .into_iter()
        .map(|i| i as i64)
        .collect();
    Array1::from_vec(v).into_pyarray(py).into_any()
}
