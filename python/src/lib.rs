//! `vdx._vdx`: vdx's core (probe, packet index, frame-exact decoding, clip samplers, datasets,
//! the augmentation engine) for Python. The pure-Python package `vdx` (python/vdx) wraps these
//! in the documented classes; this file only converts types and releases the GIL.
//!
//! Arrays are built in Rust-owned buffers and handed to numpy without a copy
//! (`IntoPyArray`). Every decode, verify and batch runs with the GIL released (`py.detach`).
//! Errors become the exception classes of `vdx.errors`, each deriving from `vdx.VdxError`
//! and, where one fits, the matching built-in (`FileNotFoundError`, `ValueError`,
//! `IndexError`), keeping vdx's message.

mod ffcv_abi;

use numpy::ndarray::{Array1, Array2, ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use vdx::augment::{self, Recipe};
use vdx::dataset::{Dataset, Decoders, SampleData};
use vdx::decode::{DecodeOptions, Resize, ResizeMode, RgbFrame, VideoDecoder};
use vdx::sample::{SamplerConfig, SamplerKind, TailPolicy, Units};
use vdx::{VdxError, VideoIndex};

/// A vdx error as the Python exception of `vdx.errors` that fits it.
fn to_py(e: VdxError) -> PyErr {
    let class = match &e {
        VdxError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            "VdxFileNotFoundError"
        }
        VdxError::InvalidParameter { .. } => "VdxValueError",
        VdxError::FrameOutOfRange { .. } => "VdxIndexError",
        VdxError::Dataset { .. } => "VdxDatasetError",
        VdxError::Decode { .. } | VdxError::FrameUndecodable { .. } => "VdxDecodeError",
        _ => "VdxError",
    };
    raise(class, e.to_string())
}

/// An exception of class `class` from `vdx.errors` with `msg`.
fn raise(class: &str, msg: String) -> PyErr {
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

fn value_error(what: &str, why: impl Into<String>) -> PyErr {
    to_py(VdxError::InvalidParameter {
        name: what.into(),
        reason: why.into(),
    })
}

/// A rayon pool for this process. A pool made before a fork is unusable in the child (its
/// threads are not there), so the pool is keyed by the process id and made anew after a fork.
fn pool(threads: usize) -> Arc<rayon::ThreadPool> {
    static POOL: Mutex<Option<(u32, usize, Arc<rayon::ThreadPool>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut g = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((p, n, pool)) = g.as_ref() {
        if *p == pid && *n == threads {
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
    *g = Some((pid, threads, p.clone()));
    p
}

/// JSON text to a Python object (through the json module: one conversion, exact types).
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

/// Container and stream facts (the CLI's `vdx probe --json`, ffprobe's names).
#[pyfunction]
#[pyo3(signature = (path, *, probesize=None, analyzeduration=None))]
fn probe<'py>(
    py: Python<'py>,
    path: PathBuf,
    probesize: Option<u64>,
    analyzeduration: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut budget = vdx::ProbeBudget::default();
    if let Some(p) = probesize {
        budget.probesize_bytes = p;
    }
    if let Some(s) = analyzeduration {
        if !(s.is_finite() && s >= 0.0) {
            return Err(value_error("analyzeduration", "seconds, >= 0"));
        }
        budget.analyze_duration_us = (s * 1e6) as u64;
    }
    let info = py.detach(|| vdx::probe(&path, &budget)).map_err(to_py)?;
    serialize_to_py(py, &info)
}

/// The packet index as a dict of numpy arrays (pts, dts, pos, size, keyframe), the picture
/// types as one string, decode statuses where checked, and the summary and warnings.
#[pyfunction]
#[pyo3(signature = (path, *, check_decode=false))]
fn index<'py>(py: Python<'py>, path: PathBuf, check_decode: bool) -> PyResult<Bound<'py, PyDict>> {
    let opts = vdx::IndexOptions {
        check_decode,
        ..Default::default()
    };
    let idx = py
        .detach(|| vdx::build_index(&path, &opts))
        .map_err(to_py)?;
    index_dict(py, &idx)
}

fn index_dict<'py>(py: Python<'py>, idx: &VideoIndex) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let f = &idx.frames;
    d.set_item("path", idx.path.to_string_lossy().to_string())?;
    d.set_item("codec", &idx.codec_name)?;
    d.set_item(
        "time_base",
        (idx.time_base.num as i64, idx.time_base.den as i64),
    )?;
    d.set_item(
        "pts",
        Array1::from_iter(f.iter().map(|e| e.pts)).into_pyarray(py),
    )?;
    // A missing decode timestamp is the smallest int64.
    d.set_item(
        "dts",
        Array1::from_iter(f.iter().map(|e| e.dts.unwrap_or(i64::MIN))).into_pyarray(py),
    )?;
    d.set_item(
        "pos",
        Array1::from_iter(f.iter().map(|e| e.pos)).into_pyarray(py),
    )?;
    d.set_item(
        "size",
        Array1::from_iter(f.iter().map(|e| e.size_bytes)).into_pyarray(py),
    )?;
    d.set_item(
        "keyframe",
        Array1::from_iter(f.iter().map(|e| e.keyframe)).into_pyarray(py),
    )?;
    d.set_item(
        "decode_index",
        Array1::from_iter(f.iter().map(|e| e.decode_index)).into_pyarray(py),
    )?;
    d.set_item(
        "pts_seconds",
        Array1::from_iter((0..f.len()).map(|i| idx.time_secs(i))).into_pyarray(py),
    )?;
    d.set_item(
        "picture_types",
        f.iter().map(|e| e.frame_type.as_char()).collect::<String>(),
    )?;
    let status: Vec<String> = f
        .iter()
        .map(|e| {
            serde_json::to_value(e.decode_status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .collect();
    d.set_item("decode_status", status)?;
    d.set_item(
        "keyframe_indices",
        Array1::from_iter(idx.keyframes.iter().map(|&k| k as i64)).into_pyarray(py),
    )?;
    d.set_item("frame_count", f.len())?;
    d.set_item("warnings", idx.warnings.clone())?;
    d.set_item("summary", serialize_to_py(py, &idx.summary())?)?;
    Ok(d)
}

fn parse_size(size: Option<&Bound<'_, PyAny>>) -> PyResult<Option<(u32, u32)>> {
    let Some(s) = size else { return Ok(None) };
    if s.is_none() {
        return Ok(None);
    }
    if let Ok(n) = s.extract::<u32>() {
        return Ok(Some((n, n)));
    }
    if let Ok((w, h)) = s.extract::<(u32, u32)>() {
        return Ok(Some((w, h)));
    }
    Err(value_error(
        "size",
        "an int N (NxN) or a (width, height) pair",
    ))
}

/// Frame-exact decoding of one video file.
#[pyclass(module = "vdx._vdx")]
struct VideoReader {
    dec: Mutex<VideoDecoder>,
    index: Arc<VideoIndex>,
    path: PathBuf,
    opts: DecodeOptions,
}

/// Frames as one u8 (N, H, W, 3) buffer plus their indices and times.
type Frames = (Vec<u8>, [usize; 4], Vec<i64>, Vec<f64>, Vec<f64>);

fn pack_frames(index: &VideoIndex, frames: Vec<RgbFrame>) -> Result<Frames, VdxError> {
    let (h, w) = frames
        .first()
        .map(|f| (f.height as usize, f.width as usize))
        .unwrap_or((0, 0));
    let n = frames.len();
    let mut data = Vec::with_capacity(n * h * w * 3);
    let mut idx = Vec::with_capacity(n);
    let mut pts = Vec::with_capacity(n);
    let mut dur = Vec::with_capacity(n);
    for f in frames {
        if f.height as usize != h || f.width as usize != w {
            return Err(VdxError::InvalidParameter {
                name: "frames".into(),
                reason: format!(
                    "the picture size changes from {w}x{h} to {}x{} at frame {}: pass size= to get \
                     one size",
                    f.width, f.height, f.index
                ),
            });
        }
        data.extend_from_slice(&f.data);
        idx.push(f.index as i64);
        let t = index.time_secs(f.index);
        pts.push(t);
        let next = if f.index + 1 < index.len() {
            index.time_secs(f.index + 1)
        } else {
            // The last frame lasts its packet's duration, else one mean frame interval.
            let own = index.pts_to_secs(index.frames[f.index].duration);
            let mean = index.summary().mean_fps;
            t + if own > 0.0 {
                own
            } else if mean > 0.0 {
                mean.recip()
            } else {
                0.0
            }
        };
        dur.push((next - t).max(0.0));
    }
    Ok((data, [n, h, w, 3], idx, pts, dur))
}

fn frames_tuple<'py>(py: Python<'py>, f: Frames) -> PyResult<Bound<'py, PyAny>> {
    let (data, shape, idx, pts, dur) = f;
    let t = (
        u8_array(py, &shape, data)?,
        Array1::from_vec(idx).into_pyarray(py),
        Array1::from_vec(pts).into_pyarray(py),
        Array1::from_vec(dur).into_pyarray(py),
    );
    Ok(t.into_pyobject(py)?.into_any())
}

#[pymethods]
impl VideoReader {
    #[new]
    #[pyo3(signature = (path, *, size=None, resize="crop", rotate=true, threads=0, accept_concealed=false))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        size: Option<&Bound<'_, PyAny>>,
        resize: &str,
        rotate: bool,
        threads: usize,
        accept_concealed: bool,
    ) -> PyResult<Self> {
        let mode: ResizeMode = resize.parse().map_err(to_py)?;
        let resize = parse_size(size)?.map(|(width, height)| Resize {
            width,
            height,
            mode,
        });
        let opts = DecodeOptions {
            resize,
            apply_rotation: rotate,
            threads,
            accept_concealed,
            ..Default::default()
        };
        let dec = py
            .detach(|| VideoDecoder::open(&path, opts))
            .map_err(to_py)?;
        Ok(VideoReader {
            index: dec.index().clone(),
            dec: Mutex::new(dec),
            path,
            opts,
        })
    }

    fn __len__(&self) -> usize {
        self.index.len()
    }

    /// (data u8 (N,H,W,3), indices, pts_seconds, duration_seconds) for frames `indices`.
    fn frames_at<'py>(&self, py: Python<'py>, indices: Vec<i64>) -> PyResult<Bound<'py, PyAny>> {
        let n = self.index.len() as i64;
        let mut want = Vec::with_capacity(indices.len());
        for i in indices {
            let j = if i < 0 { i + n } else { i };
            if !(0..n).contains(&j) {
                return Err(to_py(VdxError::FrameOutOfRange {
                    path: self.path.clone(),
                    index: i.max(0) as usize,
                    count: n as usize,
                }));
            }
            want.push(j as usize);
        }
        let index = self.index.clone();
        let packed = py
            .detach(|| {
                let mut d = self.dec.lock().unwrap_or_else(|e| e.into_inner());
                let frames = d.frames(&want)?;
                pack_frames(&index, frames)
            })
            .map_err(to_py)?;
        frames_tuple(py, packed)
    }

    /// The frame shown at each time (seconds): its index.
    fn indices_at_times(&self, seconds: Vec<f64>) -> PyResult<Vec<i64>> {
        seconds
            .iter()
            .map(|&t| {
                if !t.is_finite() {
                    return Err(value_error("seconds", "finite numbers"));
                }
                self.index
                    .frame_at_time(t)
                    .map(|i| i as i64)
                    .ok_or_else(|| value_error("seconds", "the video has no frames"))
            })
            .collect()
    }

    /// Sample clips and decode them: (data, indices (K,T), pts_seconds (K,T), padded (K,),
    /// damaged positions per clip, decode cost per clip (K,)).
    #[pyo3(signature = (*, sampler="uniform", num_clips=1, frames=16, stride=1.0, step=0.0, seed=0, tail="repeat_last", by_time=false, dtype="u8", damaged="error", snap="none", within=0))]
    #[allow(clippy::too_many_arguments)]
    fn clips<'py>(
        &self,
        py: Python<'py>,
        sampler: &str,
        num_clips: usize,
        frames: usize,
        stride: f64,
        step: f64,
        seed: u64,
        tail: &str,
        by_time: bool,
        dtype: &str,
        damaged: &str,
        snap: &str,
        within: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind: SamplerKind = sampler.parse().map_err(to_py)?;
        let snap: vdx::sample::Snap = snap.parse().map_err(to_py)?;
        let policy: vdx::sample::DamagedPolicy = damaged.parse().map_err(to_py)?;
        let tail: TailPolicy = tail.parse().map_err(to_py)?;
        if !matches!(dtype, "u8" | "uint8" | "f32" | "float32") {
            return Err(value_error("dtype", format!("'{dtype}' is not u8 or f32")));
        }
        let cfg = SamplerConfig {
            kind,
            frames_per_clip: frames,
            stride,
            num_clips,
            step,
            units: if by_time {
                Units::Seconds
            } else {
                Units::Frames
            },
            seed,
            tail,
            snap,
            within,
        };
        let index = self.index.clone();
        let (clips, decoded) = py
            .detach(|| {
                let clips = vdx::sample::sample_clips(&index, &cfg)?;
                let mut d = self.dec.lock().unwrap_or_else(|e| e.into_inner());
                let decoded = vdx::sample::decode_clips_with(&mut d, &clips, policy)?;
                Ok::<_, VdxError>((clips, decoded))
            })
            .map_err(to_py)?;
        let k = clips.len();
        let t = clips.first().map_or(0, |c| c.frame_indices.len());
        let mut data = Vec::new();
        let mut hw = (0, 0);
        let mut damaged_at = Vec::with_capacity(k);
        for (frames, bad) in decoded {
            damaged_at.push(bad);
            let (d, shape, ..) = pack_frames(&index, frames).map_err(to_py)?;
            hw = (shape[1], shape[2]);
            data.extend_from_slice(&d);
        }
        let indices = Array2::from_shape_fn((k, t), |(a, b)| clips[a].frame_indices[b] as i64);
        let pts = Array2::from_shape_fn((k, t), |(a, b)| clips[a].times_secs[b]);
        let padded = Array1::from_iter(clips.iter().map(|c| c.padded as i64));
        let cost = Array1::from_iter(
            clips
                .iter()
                .map(|c| vdx::sample::clip_decode_cost(&index, &c.frame_indices) as i64),
        );
        let data_obj = if dtype.starts_with('f') {
            let f: Vec<f32> =
                py.detach(|| data.iter().map(|&v| v as f32 * (1.0 / 255.0)).collect());
            f32_array(py, &[k, 1, t, hw.0, hw.1, 3], f)?.into_any()
        } else {
            u8_array(py, &[k, t, hw.0, hw.1, 3], data)?.into_any()
        };
        let out = (
            data_obj,
            indices.into_pyarray(py),
            pts.into_pyarray(py),
            padded.into_pyarray(py),
            damaged_at,
            cost.into_pyarray(py),
        );
        Ok(out.into_pyobject(py)?.into_any())
    }

    /// The best audio stream as mono float32 at `rate`.
    #[pyo3(signature = (rate=16000))]
    fn audio<'py>(&self, py: Python<'py>, rate: u32) -> PyResult<Bound<'py, PyAny>> {
        let a = py
            .detach(|| vdx::audio::decode_mono(&self.path, rate))
            .map_err(to_py)?;
        Ok(Array1::from_vec(a.samples).into_pyarray(py).into_any())
    }

    /// The index as `vdx.index` gives it.
    fn index<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        index_dict(py, &self.index)
    }

    #[getter]
    fn path(&self) -> String {
        self.path.to_string_lossy().to_string()
    }

    /// Output size (width, height) of decoded frames.
    #[getter]
    fn frame_size(&self) -> (u32, u32) {
        self.dec
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .output_size()
    }

    fn __repr__(&self) -> String {
        format!(
            "VideoReader('{}', frames={}, resize={:?})",
            self.path.display(),
            self.index.len(),
            self.opts.resize
        )
    }
}

/// A vdx dataset (`.vdx`), memory-mapped.
#[pyclass(module = "vdx._vdx")]
struct DatasetHandle {
    ds: Arc<Dataset>,
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
                let mut dec = self.dec.lock().unwrap_or_else(|e| e.into_inner());
                self.ds.decode(j as u64, &mut dec)
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
            for i in 0..n {
                let m = self.ds.meta(i)?;
                labels.push(match m.provenance["labels"].as_array() {
                    Some(l) => l.iter().filter_map(|x| x.as_i64()).collect(),
                    None if m.label >= 0 => vec![m.label],
                    None => Vec::new(),
                });
                splits.push(m.provenance["split"].as_i64().unwrap_or(-1));
            }
            Ok((labels, splits))
        })
        .map_err(to_py)
    }
    /// The dataset files: the file itself, or every shard of a manifest in order.
    #[getter]
    fn shards(&self) -> Vec<String> {
        self.ds
            .files()
            .iter()
            .map(|f| f.path().to_string_lossy().to_string())
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
        use std::sync::atomic::{AtomicBool, Ordering};
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
        while !handle.is_finished() {
            py.detach(|| std::thread::sleep(std::time::Duration::from_millis(50)));
            if let Err(e) = py.check_signals() {
                cancel.store(true, Ordering::SeqCst);
                let _ = py.detach(|| handle.join());
                return Err(e);
            }
        }
        let r = handle
            .join()
            .map_err(|_| PyRuntimeError::new_err("the quality pass panicked"))?
            .map_err(to_py)?;
        let mut v = serde_json::to_value(&r)
            .map_err(|e| PyRuntimeError::new_err(format!("report: {e}")))?;
        v["summary"] = r.summary();
        v["worst"] = serde_json::json!(r.worst(worst).iter().map(|q| q.index).collect::<Vec<_>>());
        json_to_py(py, &v)
    }
}

/// An augmentation recipe, the explorer's and `vdx augment`'s engine.
#[pyclass(module = "vdx._vdx")]
struct RecipeHandle {
    recipe: Recipe,
}

fn clip_from_array(a: &PyReadonlyArrayDyn<'_, u8>) -> PyResult<augment::Clip> {
    let s = a.shape();
    if s.len() != 4 || s[3] != 3 {
        return Err(value_error(
            "clip",
            format!("a uint8 array (T, H, W, 3), not shape {s:?}"),
        ));
    }
    let data = a.as_array().iter().copied().collect();
    augment::Clip::new(s[0], s[1], s[2], data).map_err(to_py)
}

#[pymethods]
impl RecipeHandle {
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        Ok(RecipeHandle {
            recipe: Recipe::load(&path).map_err(to_py)?,
        })
    }
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(RecipeHandle {
            recipe: Recipe::from_json(text).map_err(to_py)?,
        })
    }
    fn to_json(&self) -> String {
        self.recipe.to_json()
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.recipe.seed
    }
    /// Apply to a u8 (T,H,W,3) clip for (sample, epoch): (f32 (1,T',H',W',3), draws).
    #[pyo3(signature = (clip, *, sample, epoch=0))]
    fn apply<'py>(
        &self,
        py: Python<'py>,
        clip: PyReadonlyArrayDyn<'py, u8>,
        sample: u64,
        epoch: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = clip_from_array(&clip)?;
        let (out, shape, draws) = py
            .detach(|| {
                let (a, draws) = augment::apply(&self.recipe, &c, sample, epoch)?;
                let mut f = vec![0f32; a.data.len()];
                augment::to_float_into(&self.recipe, &a, &mut f)?;
                Ok::<_, VdxError>((f, [1, a.t, a.h, a.w, 3], draws))
            })
            .map_err(to_py)?;
        let arr = f32_array(py, &shape, out)?;
        let t = (arr, serialize_to_py(py, &draws)?);
        Ok(t.into_pyobject(py)?.into_any())
    }
}

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
struct BatchPool {
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
struct BatchBuffer {
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
    VdxError::InvalidParameter {
        name: "batch".into(),
        reason: format!(
            "samples differ in shape (sample {i}: {got:?}, the batch: {want:?}): give a recipe that crops to one size"
        ),
    }
}

/// A batch loader's core: decode (and augment) the given samples on vdx's pool with the GIL
/// released, each straight into its slot of one batch buffer (from `pool` where given, so
/// buffers numpy has let go of are reused). Returns (clips, labels).
#[pyfunction]
#[pyo3(signature = (dataset, samples, *, recipe=None, epoch=0, num_threads=0, pool=None))]
fn load_batch<'py>(
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

/// `vdx build` in-process: `request` is a JSON object of [`vdx::dataset::BuildRequest`]'s
/// fields (the package turns keywords into it; unknown names are refused). Runs on a thread
/// with the GIL released; Ctrl-C cancels it (nothing is left at the output). Returns the
/// report as a dict.
#[pyfunction]
fn build_request<'py>(py: Python<'py>, request: &str) -> PyResult<Bound<'py, PyDict>> {
    use std::sync::atomic::{AtomicBool, Ordering};
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
    // Wait with the GIL released, looking at Python's signals between waits.
    while !handle.is_finished() {
        py.detach(|| std::thread::sleep(std::time::Duration::from_millis(50)));
        if let Err(e) = py.check_signals() {
            cancel.store(true, Ordering::SeqCst);
            let _ = py.detach(|| handle.join());
            return Err(e);
        }
    }
    let (r, left_out, notes) = handle
        .join()
        .map_err(|_| PyRuntimeError::new_err("the build thread panicked"))?;
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
    }
    Ok(d)
}

/// Write `DIR/NAME.vdxm` for the shards in `dir`; returns (path, manifest dict).
#[pyfunction]
#[pyo3(signature = (dir, name=None))]
fn write_manifest<'py>(
    py: Python<'py>,
    dir: PathBuf,
    name: Option<String>,
) -> PyResult<(String, Bound<'py, PyAny>)> {
    let (path, m) = py
        .detach(|| vdx::dataset::write_manifest(&dir, name.as_deref()))
        .map_err(to_py)?;
    Ok((path.to_string_lossy().to_string(), serialize_to_py(py, &m)?))
}

/// The order of `n` samples for (seed, epoch): a Fisher-Yates shuffle driven by SplitMix64
/// keyed by both, the same on every machine and in every process.
#[pyfunction]
fn epoch_order<'py>(py: Python<'py>, n: usize, seed: u64, epoch: u64) -> Bound<'py, PyAny> {
    let mut state = seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut v: Vec<i64> = (0..n as i64).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    Array1::from_vec(v).into_pyarray(py).into_any()
}

#[pymodule]
fn _vdx(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(probe, m)?)?;
    m.add_function(wrap_pyfunction!(index, m)?)?;
    m.add_function(wrap_pyfunction!(load_batch, m)?)?;
    m.add_function(wrap_pyfunction!(epoch_order, m)?)?;
    m.add_function(wrap_pyfunction!(build_request, m)?)?;
    m.add_function(wrap_pyfunction!(write_manifest, m)?)?;
    m.add_class::<VideoReader>()?;
    m.add_class::<DatasetHandle>()?;
    m.add_class::<RecipeHandle>()?;
    m.add_class::<BatchPool>()?;
    m.add_class::<BatchBuffer>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
