//! `vdx._vdx`: vdx's core (probe, packet index, frame-exact decoding, clip samplers, datasets,
//! the augmentation engine) for Python. The pure-Python package `vdx` (python/vdx) wraps these
//! in the documented classes; this crate only converts types and releases the GIL.
//!
//! Arrays are built in Rust-owned buffers and handed to numpy without a copy
//! (`IntoPyArray`). Every decode, verify and batch runs with the GIL released (`py.detach`).
//! Errors become the exception classes of `vdx.errors`, each deriving from `vdx.VdxError`
//! and, where one fits, the matching built-in (`FileNotFoundError`, `ValueError`,
//! `IndexError`), keeping vdx's message.

mod build;
mod dataset;
mod errors;
mod ffcv_abi;
mod loader;
mod reader;
mod recipe;

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

use build::{build_request, epoch_order, local_copy, write_manifest};
use dataset::DatasetHandle;
pub(crate) use errors::{raise, to_py, value_error};
use loader::{load_batch, BatchBuffer, BatchPool};
use reader::{index, probe, VideoReader};
use recipe::RecipeHandle;

type PoolSlot = Mutex<Option<(usize, Arc<rayon::ThreadPool>)>>;

/// This process's pool slot. After a fork the child gets a fresh slot (`after_fork_child`):
/// a pool made before the fork has no threads in the child, and the parent's slot may have
/// been locked by one of its threads at the moment of the fork, which the child would wait
/// on forever.
static POOL: std::sync::atomic::AtomicPtr<PoolSlot> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

fn pool_slot() -> &'static PoolSlot {
    use std::sync::atomic::Ordering::{AcqRel, Acquire};
    let p = POOL.load(Acquire);
    if !p.is_null() {
        // SAFETY: slots are leaked, never freed.
        return unsafe { &*p };
    }
    let fresh = Box::into_raw(Box::new(Mutex::new(None)));
    match POOL.compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire) {
        Ok(_) => unsafe { &*fresh },
        Err(won) => {
            // SAFETY: `fresh` was never shared; `won` is leaked like every slot.
            drop(unsafe { Box::from_raw(fresh) });
            unsafe { &*won }
        }
    }
}

/// Runs in a forked child before fork() returns, with only the forking thread alive: the
/// parent's slot (and its pool, whose threads are gone) are left behind, leaked, since
/// dropping a pool would wait on threads that do not exist here.
extern "C" fn after_fork_child() {
    POOL.store(std::ptr::null_mut(), std::sync::atomic::Ordering::Release);
}

/// A rayon pool of `threads` threads for this process (made on first use, and anew after a
/// fork or for another thread count).
fn pool(threads: usize) -> Arc<rayon::ThreadPool> {
    let mut g = pool_slot().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((n, pool)) = g.as_ref() {
        if *n == threads {
            return pool.clone();
        }
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("vdx-py-{i}"))
            .build()
            .expect("a thread pool"),
    );
    *g = Some((threads, p.clone()));
    p
}

/// JSON text to a Python object (through the json module: one conversion, exact types).
/// Wait for `handle` with the GIL released, looking at Python's signals between waits: on
/// Ctrl-C (KeyboardInterrupt) set `cancel`, wait for the work to stop, and raise. `what`
/// names the work if its thread panicked.
fn join_interruptible<T: Send>(
    py: Python<'_>,
    handle: std::thread::JoinHandle<T>,
    cancel: &std::sync::atomic::AtomicBool,
    what: &str,
) -> PyResult<T> {
    while !handle.is_finished() {
        py.detach(|| std::thread::sleep(std::time::Duration::from_millis(50)));
        if let Err(e) = py.check_signals() {
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = py.detach(|| handle.join());
            return Err(e);
        }
    }
    handle
        .join()
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err(format!("{what} panicked")))
}

fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(v).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

fn serialize_to_py<'py, T: serde::Serialize>(
    py: Python<'py>,
    v: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(v).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    json_to_py(py, &v)
}

fn u8_array<'py>(
    py: Python<'py>,
    shape: &[usize],
    data: Vec<u8>,
) -> PyResult<Bound<'py, PyArrayDyn<u8>>> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), data)
        .map_err(|e| PyRuntimeError::new_err(format!("array shape: {e}")))?;
    Ok(a.into_pyarray(py))
}

fn f32_array<'py>(
    py: Python<'py>,
    shape: &[usize],
    data: Vec<f32>,
) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), data)
        .map_err(|e| PyRuntimeError::new_err(format!("array shape: {e}")))?;
    Ok(a.into_pyarray(py))
}

#[pymodule]
fn _vdx(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // SAFETY: registers a handler that only stores to an atomic (async-signal-safe).
    if unsafe { libc::pthread_atfork(None, None, Some(after_fork_child)) } != 0 {
        return Err(PyRuntimeError::new_err("pthread_atfork failed"));
    }
    // Freed decode buffers stay with the process for the next read (vdx::memory).
    vdx::memory::keep_freed_memory();
    m.add_function(wrap_pyfunction!(probe, m)?)?;
    m.add_function(wrap_pyfunction!(index, m)?)?;
    m.add_function(wrap_pyfunction!(load_batch, m)?)?;
    m.add_function(wrap_pyfunction!(epoch_order, m)?)?;
    m.add_function(wrap_pyfunction!(build_request, m)?)?;
    m.add_function(wrap_pyfunction!(write_manifest, m)?)?;
    m.add_function(wrap_pyfunction!(local_copy, m)?)?;
    m.add_class::<VideoReader>()?;
    m.add_class::<DatasetHandle>()?;
    m.add_class::<RecipeHandle>()?;
    m.add_class::<BatchPool>()?;
    m.add_class::<BatchBuffer>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
