//! `DatasetHandle`: a memory-mapped vdx dataset (samples, annotations, verify, quality).

use crate::{f32_array, join_interruptible, json_to_py, raise, serialize_to_py, to_py, u8_array};
use numpy::ndarray::{Array1, ArrayD, IxDyn};
use numpy::IntoPyArray;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use vdx::dataset::{Dataset, Decoders, SampleData};

/// A vdx dataset (`.vdx`), memory-mapped.
#[pyclass(module = "vdx._vdx")]
pub(crate) struct DatasetHandle {
    pub(crate) ds: Arc<Dataset>,
    dec: Mutex<Decoders>,
}

fn sample_dict<'py>(
    py: Python<'py>,
    ds: &Dataset,
    i: u64,
    data: SampleData,
) -> PyResult<Bound<'py, PyDict>> {
    let m = ds.meta(i).map_err(to_py)?;
    let d = PyDict::new(py);
    d.set_item("index", i)?;
    d.set_item("label", m.label)?;
    d.set_item("class_name", m.class.clone())?;
    d.set_item("shard", m.shard)?;
    d.set_item("provenance", json_to_py(py, &m.provenance)?)?;
    match data {
        SampleData::Clip(c) => {
            d.set_item(
                "clip",
                u8_array(py, &[c.num_frames, c.height, c.width, 3], c.data)?,
            )?;
        }
        SampleData::Flow(f) => {
            let nk = f.keyframe_positions.len();
            d.set_item(
                "keyframes",
                u8_array(py, &[nk, f.height, f.width, 3], f.keyframes)?,
            )?;
            d.set_item(
                "keyframe_positions",
                Array1::from_vec(f.keyframe_positions).into_pyarray(py),
            )?;
            let t1 = f.num_frames.saturating_sub(1);
            let q = ArrayD::from_shape_vec(IxDyn(&[t1, f.height, f.width, 2]), f.flow_q)
                .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
            d.set_item("flow", q.into_pyarray(py))?;
            d.set_item("scale", f.scale)?;
        }
    }
    Ok(d)
}

#[pymethods]
impl DatasetHandle {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let ds = py.detach(|| Dataset::open(&path)).map_err(to_py)?;
        Ok(DatasetHandle {
            ds: Arc::new(ds),
            dec: Mutex::new(Decoders::default()),
        })
    }
    fn __len__(&self) -> usize {
        self.ds.len() as usize
    }
    /// A hint that these samples will all be read (the Loader's epoch): on object storage, a
    /// small file's samples then come in a few large requests.
    fn will_read(&self, samples: Vec<u64>) {
        self.ds.will_read(&samples);
    }
    #[getter]
    fn classes(&self) -> Vec<String> {
        self.ds.classes().to_vec()
    }
    #[getter]
    fn field(&self) -> String {
        serde_json::to_value(self.ds.video_field().field_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
    #[getter]
    fn field_arguments<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.ds.video_field().arguments)
    }
    #[getter]
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, self.ds.info())
    }
    #[getter]
    fn path(&self) -> String {
        self.ds.path().to_string_lossy().to_string()
    }
    /// Sample `i` decoded, as a dict.
    fn get<'py>(&self, py: Python<'py>, i: i64) -> PyResult<Bound<'py, PyDict>> {
        let n = self.ds.len() as i64;
        let j = if i < 0 { i + n } else { i };
        if !(0..n).contains(&j) {
            return Err(raise(
                "VdxIndexError",
                format!(
                    "{}: sample {i} is out of range (the dataset has {n} samples)",
                    self.ds.path().display()
                ),
            ));
        }
        let data = py
            .detach(|| {
                // try_lock: another thread decoding (or, in a forked DataLoader worker, a
                // parent thread that held the lock at the fork and never will release it
                // here) gets fresh decoders instead of a wait.
                match self.dec.try_lock() {
                    Ok(mut dec) => self.ds.decode(j as u64, &mut dec),
                    Err(std::sync::TryLockError::Poisoned(e)) => {
                        self.ds.decode(j as u64, &mut e.into_inner())
                    }
                    Err(std::sync::TryLockError::WouldBlock) => {
                        self.ds.decode(j as u64, &mut Decoders::default())
                    }
                }
            })
            .map_err(to_py)?;
        sample_dict(py, &self.ds, j as u64, data)
    }
    /// Every sample's labels (class indices; an annotation dataset's `labels`, else its one
    /// label, none for -1) and split (an index into the info's `splits`; -1: none), read
    /// from the metadata and provenance without decoding.
    fn annotations(&self, py: Python<'_>) -> PyResult<(Vec<Vec<i64>>, Vec<i64>)> {
        py.detach(|| {
            let n = self.ds.len();
            let mut labels = Vec::with_capacity(n as usize);
            let mut splits = Vec::with_capacity(n as usize);
            // On object storage, every sample's provenance side by side first (a failure is
            // the sample's own read's to report).
            let _ = self.ds.prefetch_meta(&(0..n).collect::<Vec<u64>>());
            for i in 0..n {
                let m = self.ds.meta(i)?;
                labels.push(match m.provenance["labels"].as_array() {
                    Some(l) => l.iter().filter_map(|x| x.as_i64()).collect(),
                    None if m.label >= 0 => vec![m.label],
                    None => Vec::new(),
                });
                splits.push(m.provenance["split"].as_i64().unwrap_or(-1));
            }
            Ok::<_, vdx::VdxError>((labels, splits))
        })
        .map_err(to_py)
    }
    /// The dataset files: the file itself, or every shard of a manifest in order.
    #[getter]
    fn shards(&self) -> Vec<String> {
        self.ds
            .file_paths()
            .iter()
            .map(|p| p.to_string_lossy().to_string())
            .collect()
    }
    /// Check structure, allocations and checksums (and decode every sample).
    #[pyo3(signature = (decode=true))]
    fn verify<'py>(&self, py: Python<'py>, decode: bool) -> PyResult<Bound<'py, PyAny>> {
        let path = self.ds.path().to_path_buf();
        let r = py
            .detach(|| vdx::dataset::verify::verify(&path, decode, &Default::default(), &|_, _| {}))
            .map_err(to_py)?;
        serialize_to_py(py, &r)
    }

    /// Sample `i` against the source frames it was made from: `quality` (the numbers of
    /// `vdx quality --sample i --json`), `stored` and `source` uint8 (K, H, W, 3) (K frames;
    /// flow: its keyframes), and for flow `flow_stored` / `flow_fresh` float32 (T-1, H, W, 2).
    #[pyo3(signature = (i, sources=None))]
    fn compare<'py>(
        &self,
        py: Python<'py>,
        i: u64,
        sources: Option<PathBuf>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let ds = self.ds.clone();
        let c = py
            .detach(|| {
                vdx::quality::compare_sample(&ds, i, &vdx::quality::SourceFinder::new(sources))
            })
            .map_err(to_py)?;
        let (h, w, k) = (c.height, c.width, c.stored.len());
        let d = PyDict::new(py);
        d.set_item("quality", serialize_to_py(py, &c.quality)?)?;
        d.set_item("stored", u8_array(py, &[k, h, w, 3], c.stored.concat())?)?;
        d.set_item("source", u8_array(py, &[k, h, w, 3], c.reference.concat())?)?;
        if let Some((stored, fresh)) = c.flow {
            let pairs = stored.len() / (h * w * 2).max(1);
            d.set_item("flow_stored", f32_array(py, &[pairs, h, w, 2], stored)?)?;
            d.set_item("flow_fresh", f32_array(py, &[pairs, h, w, 2], fresh)?)?;
        }
        Ok(d)
    }

    /// Every sample against its source (`vdx quality --json`): runs on vdx's threads with
    /// the GIL released; Ctrl-C (KeyboardInterrupt) cancels it.
    #[pyo3(signature = (sources=None, threads=0, worst=10))]
    fn quality<'py>(
        &self,
        py: Python<'py>,
        sources: Option<PathBuf>,
        threads: usize,
        worst: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        use std::sync::atomic::AtomicBool;
        let ds = self.ds.clone();
        let cancel = Arc::new(AtomicBool::new(false));
        let c2 = cancel.clone();
        let opts = vdx::quality::PassOptions {
            sources,
            threads,
            decode_only: false,
        };
        let handle = std::thread::Builder::new()
            .name("vdx-quality".into())
            .spawn(move || vdx::quality::quality_pass(&ds, &opts, &c2, &|_, _| {}))
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the quality pass: {e}")))?;
        let r = join_interruptible(py, handle, &cancel, "the quality pass")?.map_err(to_py)?;
        let mut v = serde_json::to_value(&r)
            .map_err(|e| PyRuntimeError::new_err(format!("report: {e}")))?;
        v["summary"] = r.summary();
        v["worst"] = serde_json::json!(r.worst(worst).iter().map(|q| q.index).collect::<Vec<_>>());
        json_to_py(py, &v)
    }
    /// The health report (`vdx health --json`): the saved one when it matches the dataset
    /// and `cached`, else a new pass (saved beside the dataset when `save`). `thresholds`:
    /// JSON of thresholds over the defaults. GIL released; Ctrl-C cancels.
    #[pyo3(signature = (threads=0, thresholds=None, save=true, cached=true))]
    fn health<'py>(
        &self,
        py: Python<'py>,
        threads: usize,
        thresholds: Option<String>,
        save: bool,
        cached: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        use std::sync::atomic::AtomicBool;
        let th: vdx::health::Thresholds = match thresholds {
            Some(t) => serde_json::from_str(&t).map_err(|e| {
                to_py(vdx::VdxError::InvalidParameter(
                    vdx::error::ParamError::new("thresholds", e.to_string()),
                ))
            })?,
            None => Default::default(),
        };
        if cached {
            let found = py
                .detach(|| vdx::health::sidecar::load(&self.ds))
                .map_err(to_py)?;
            if let Some(r) = found.filter(|r| r.thresholds == th) {
                return serialize_to_py(py, &r);
            }
        }
        let ds = self.ds.clone();
        let cancel = Arc::new(AtomicBool::new(false));
        let c2 = cancel.clone();
        let opts = vdx::health::HealthOptions {
            threads,
            thresholds: th,
        };
        let handle = std::thread::Builder::new()
            .name("vdx-health".into())
            .spawn(move || vdx::health::health_pass(&ds, &opts, &c2, &|_, _| {}))
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the health pass: {e}")))?;
        let r = join_interruptible(py, handle, &cancel, "the health pass")?.map_err(to_py)?;
        // A report that cannot be saved (a read-only bucket, a full disk) is still returned,
        // with a warning: the pass is not lost.
        if save {
            if let Err(e) = py.detach(|| vdx::health::sidecar::save(&r)) {
                let msg = std::ffi::CString::new(format!(
                    "the health report was not saved beside the dataset: {e}"
                ))
                .unwrap_or_default();
                pyo3::PyErr::warn(
                    py,
                    &py.get_type::<pyo3::exceptions::PyUserWarning>(),
                    &msg,
                    1,
                )?;
            }
        }
        serialize_to_py(py, &r)
    }
}
