//! `vdx.Loader`'s batches: the binding of the core's batch engine (`vdx::dataset::loader`):
//! `load_batch` and the recycled buffers (`BatchPool`, `BatchBuffer`) numpy arrays view
//! without a copy.

use crate::dataset::DatasetHandle;
use crate::recipe::RecipeHandle;
use crate::to_py;
use numpy::ndarray::{Array1, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;
use vdx::dataset::loader::{self, BatchData, BufferPool};

/// The recycled batch buffers of one `vdx.Loader`.
#[pyclass(module = "vdx._vdx")]
pub(crate) struct BatchPool {
    u8s: Arc<BufferPool<u8>>,
    f32s: Arc<BufferPool<f32>>,
}

#[pymethods]
impl BatchPool {
    #[new]
    fn new() -> Self {
        BatchPool {
            u8s: Arc::default(),
            f32s: Arc::default(),
        }
    }
    /// Buffers allocated and batches served from a recycled buffer, so far.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (a, b) = (self.u8s.stats(), self.f32s.stats());
        let d = PyDict::new(py);
        d.set_item("allocated", a.allocated + b.allocated)?;
        d.set_item("reused", a.reused + b.reused)?;
        d.set_item("free", a.free + b.free)?;
        Ok(d)
    }
}

enum PooledVec {
    U8(Vec<u8>, Arc<BufferPool<u8>>),
    F32(Vec<f32>, Arc<BufferPool<f32>>),
    Gone,
}

/// Owns one batch's buffer while numpy arrays view it (it is their base object); when the
/// last of them goes, the buffer returns to its pool.
#[pyclass(module = "vdx._vdx")]
pub(crate) struct BatchBuffer {
    buf: PooledVec,
}

impl Drop for BatchBuffer {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.buf, PooledVec::Gone) {
            PooledVec::U8(v, p) => p.give_back(v),
            PooledVec::F32(v, p) => p.give_back(v),
            PooledVec::Gone => {}
        }
    }
}

/// A numpy array of `shape` over the first elements of a pooled buffer, without a copy.
fn pooled_array<'py>(
    py: Python<'py>,
    shape: &[usize],
    buf: PooledVec,
) -> PyResult<Bound<'py, PyAny>> {
    let n: usize = shape.iter().product();
    let owner = Bound::new(py, BatchBuffer { buf })?;
    let r = owner.borrow();
    // SAFETY: the views borrow the buffer inside `owner`, which becomes the array's base
    // object; the Vec is never touched again (no reallocation) until `owner` is dropped,
    // after the last array viewing it.
    let arr = match &r.buf {
        PooledVec::U8(v, _) => {
            let view = numpy::ndarray::ArrayViewD::from_shape(IxDyn(shape), &v[..n])
                .map_err(|e| PyRuntimeError::new_err(format!("array shape: {e}")))?;
            unsafe { PyArrayDyn::<u8>::borrow_from_array(&view, owner.clone().into_any()) }
                .into_any()
        }
        PooledVec::F32(v, _) => {
            let view = numpy::ndarray::ArrayViewD::from_shape(IxDyn(shape), &v[..n])
                .map_err(|e| PyRuntimeError::new_err(format!("array shape: {e}")))?;
            unsafe { PyArrayDyn::<f32>::borrow_from_array(&view, owner.clone().into_any()) }
                .into_any()
        }
        PooledVec::Gone => return Err(PyRuntimeError::new_err("batch buffer already freed")),
    };
    Ok(arr)
}

/// A batch loader's core: decode (and augment) the given samples on vdx's pool with the GIL
/// released, each straight into its slot of one batch buffer (from `pool` where given, so
/// buffers numpy has let go of are reused). Returns (clips, labels).
#[pyfunction]
#[pyo3(signature = (dataset, samples, *, recipe=None, epoch=0, num_threads=0, pool=None))]
pub(crate) fn load_batch<'py>(
    py: Python<'py>,
    dataset: &DatasetHandle,
    samples: Vec<u64>,
    recipe: Option<&RecipeHandle>,
    epoch: u64,
    num_threads: usize,
    pool: Option<&BatchPool>,
) -> PyResult<Bound<'py, PyAny>> {
    let threads = if num_threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        num_threads
    };
    let ds = dataset.ds.clone();
    let recipe = recipe.map(|r| r.recipe.clone());
    let p = crate::pool(threads);
    let (u8s, f32s) = match pool {
        Some(bp) => (bp.u8s.clone(), bp.f32s.clone()),
        None => (Arc::default(), Arc::default()),
    };
    let batch = py
        .detach(|| {
            p.install(|| loader::load_batch(&ds, &samples, recipe.as_ref(), epoch, &u8s, &f32s))
        })
        .map_err(to_py)?;
    let buf = match batch.data {
        BatchData::U8(v) => PooledVec::U8(v, u8s),
        BatchData::F32(v) => PooledVec::F32(v, f32s),
    };
    let data = pooled_array(py, &batch.shape, buf)?;
    let t = (data, Array1::from_vec(batch.labels).into_pyarray(py));
    Ok(t.into_pyobject(py)?.into_any())
}
