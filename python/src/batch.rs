//! Batches for `vdx.Loader`: `load_batch` and the recycled buffers (`BatchPool`,
//! `BatchBuffer`) numpy arrays view without a copy.

use crate::dataset::DatasetHandle;
use crate::recipe::RecipeHandle;
use crate::{to_py, value_error};
use numpy::ndarray::{Array1, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::{Arc, Mutex};
use vdx::augment::{self, Recipe};
use vdx::dataset::{Dataset, Decoders};
use vdx::VdxError;

/// Batch buffers of one Loader, handed back when numpy lets go of a batch and reused for a
/// later one: an epoch allocates no new batch memory once the first batches are in use.
struct PoolInner<T> {
    free: Mutex<Vec<Vec<T>>>,
    allocated: std::sync::atomic::AtomicUsize,
    reused: std::sync::atomic::AtomicUsize,
}

/// Free buffers kept per element type; more are let go (a caller that held many batches).
const POOL_KEEP: usize = 8;

impl<T: Copy + Default> PoolInner<T> {
    fn new() -> Self {
        PoolInner {
            free: Mutex::new(Vec::new()),
            allocated: Default::default(),
            reused: Default::default(),
        }
    }
    /// A buffer of at least `len` elements (contents unspecified).
    fn take(&self, len: usize) -> Vec<T> {
        use std::sync::atomic::Ordering::Relaxed;
        // try_lock everywhere: a lock held by a parent thread at fork time must not hang a
        // forked DataLoader worker; a missed reuse only costs an allocation.
        let Some(mut free) = self.try_free() else {
            self.allocated.fetch_add(1, Relaxed);
            return vec![T::default(); len];
        };
        let best = free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.len() >= len)
            .min_by_key(|(_, v)| v.len())
            .map(|(k, _)| k);
        if let Some(k) = best {
            self.reused.fetch_add(1, Relaxed);
            return free.swap_remove(k);
        }
        drop(free);
        self.allocated.fetch_add(1, Relaxed);
        vec![T::default(); len]
    }
    fn give_back(&self, v: Vec<T>) {
        if let Some(mut free) = self.try_free() {
            if free.len() < POOL_KEEP {
                free.push(v);
            }
        }
    }
    fn try_free(&self) -> Option<std::sync::MutexGuard<'_, Vec<Vec<T>>>> {
        match self.free.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

/// The recycled batch buffers of one `vdx.Loader`.
#[pyclass(module = "vdx._vdx")]
pub(crate) struct BatchPool {
    u8s: Arc<PoolInner<u8>>,
    f32s: Arc<PoolInner<f32>>,
}

#[pymethods]
impl BatchPool {
    #[new]
    fn new() -> Self {
        BatchPool {
            u8s: Arc::new(PoolInner::new()),
            f32s: Arc::new(PoolInner::new()),
        }
    }
    /// Buffers allocated and batches served from a recycled buffer, so far.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        use std::sync::atomic::Ordering::Relaxed;
        let d = PyDict::new(py);
        d.set_item(
            "allocated",
            self.u8s.allocated.load(Relaxed) + self.f32s.allocated.load(Relaxed),
        )?;
        d.set_item(
            "reused",
            self.u8s.reused.load(Relaxed) + self.f32s.reused.load(Relaxed),
        )?;
        d.set_item(
            "free",
            self.u8s.try_free().map_or(0, |f| f.len())
                + self.f32s.try_free().map_or(0, |f| f.len()),
        )?;
        Ok(d)
    }
}

enum PooledVec {
    U8(Vec<u8>, Arc<PoolInner<u8>>),
    F32(Vec<f32>, Arc<PoolInner<f32>>),
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

/// One decoded (and, with a recipe, augmented) sample of a batch.
enum Item {
    U8(augment::Clip),
    F32(augment::Clip),
}

/// Decode sample `i` and apply the recipe, if any, with this thread's decoders.
fn batch_item(
    ds: &Dataset,
    recipe: Option<&Recipe>,
    i: u64,
    epoch: u64,
    dec: &mut Decoders,
    scratch: Vec<u8>,
) -> vdx::Result<Item> {
    let c = ds.decode_clip_reusing(i, dec, scratch)?;
    let clip = augment::Clip::new(c.num_frames, c.height, c.width, c.data)?;
    Ok(match recipe {
        Some(r) => Item::F32(augment::apply(r, &clip, i, epoch)?.0),
        None => Item::U8(clip),
    })
}

fn shape_error(i: u64, got: [usize; 4], want: [usize; 4]) -> VdxError {
    VdxError::InvalidParameter(vdx::error::ParamError::new("batch", format!(
            "samples differ in shape (sample {i}: {got:?}, the batch: {want:?}): give a recipe that crops to one size"
        )))
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
    use rayon::prelude::*;
    if samples.is_empty() {
        return Err(value_error("samples", "at least one"));
    }
    let threads = if num_threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        num_threads
    };
    let ds = dataset.ds.clone();
    let n = ds.len();
    if let Some(&bad) = samples.iter().find(|&&i| i >= n) {
        return Err(value_error(
            "samples",
            format!("sample {bad} is out of range: the dataset has {n} samples"),
        ));
    }
    let recipe = recipe.map(|r| r.recipe.clone());
    let p = crate::pool(threads);
    // On object storage: the batch's bytes in a few concurrent requests, without the GIL.
    py.detach(|| ds.prefetch(&samples)).map_err(to_py)?;
    let labels: Vec<i64> = samples
        .iter()
        .map(|&i| ds.meta(i).map(|m| m.label))
        .collect::<Result<_, _>>()
        .map_err(to_py)?;
    let (u8_pool, f32_pool) = match pool {
        Some(bp) => (bp.u8s.clone(), bp.f32s.clone()),
        None => (Arc::new(PoolInner::new()), Arc::new(PoolInner::new())),
    };
    let b = samples.len();
    let result = py.detach(|| {
        p.install(|| -> vdx::Result<(PooledVec, [usize; 4])> {
            // The first sample fixes the shape and so the buffer size; the rest decode in
            // parallel straight into their slots.
            let mut dec = Decoders::default();
            let first = batch_item(
                &ds,
                recipe.as_ref(),
                samples[0],
                epoch,
                &mut dec,
                Vec::new(),
            )?;
            let (t, h, w) = match &first {
                Item::U8(c) | Item::F32(c) => (c.t, c.h, c.w),
            };
            let shape = [t, h, w, 3];
            let per = t * h * w * 3;
            let write = |slot: Slot, item: Item, i: u64| -> vdx::Result<()> {
                match (slot, item) {
                    (Slot::U8(d), Item::U8(c)) => {
                        if c.data.len() != per {
                            return Err(shape_error(i, [c.t, c.h, c.w, 3], shape));
                        }
                        d.copy_from_slice(&c.data);
                    }
                    (Slot::F32(d), Item::F32(c)) => {
                        if c.data.len() != per {
                            return Err(shape_error(i, [c.t, c.h, c.w, 3], shape));
                        }
                        augment::to_float_into(
                            recipe.as_ref().expect("f32 items need a recipe"),
                            &c,
                            d,
                        )?;
                    }
                    _ => unreachable!("one item kind per batch"),
                }
                Ok(())
            };
            let run = |slots: Vec<Slot>, first: Item| -> vdx::Result<()> {
                let mut slots = slots.into_iter();
                write(slots.next().expect("at least one slot"), first, samples[0])?;
                let rest: Vec<(Slot, u64)> = slots.zip(samples[1..].iter().copied()).collect();
                rest.into_par_iter()
                    .try_for_each_init(Decoders::default, |dec, (slot, i)| {
                        let item = batch_item(&ds, recipe.as_ref(), i, epoch, dec, Vec::new())?;
                        write(slot, item, i)
                    })
            };
            if recipe.is_some() {
                let mut buf = f32_pool.take(b * per);
                run(
                    buf[..b * per].chunks_mut(per).map(Slot::F32).collect(),
                    first,
                )?;
                Ok((PooledVec::F32(buf, f32_pool.clone()), shape))
            } else {
                let mut buf = u8_pool.take(b * per);
                run(
                    buf[..b * per].chunks_mut(per).map(Slot::U8).collect(),
                    first,
                )?;
                Ok((PooledVec::U8(buf, u8_pool.clone()), shape))
            }
        })
    });
    let (buf, s) = result.map_err(to_py)?;
    let data = pooled_array(py, &[b, s[0], s[1], s[2], 3], buf)?;
    let t = (data, Array1::from_vec(labels).into_pyarray(py));
    Ok(t.into_pyobject(py)?.into_any())
}

/// A batch slot a worker writes one sample into.
enum Slot<'a> {
    U8(&'a mut [u8]),
    F32(&'a mut [f32]),
}
