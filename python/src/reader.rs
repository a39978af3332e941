//! Single videos: `probe`, `index` and `VideoReader` (frame-exact decoding and clip sampling).

use crate::{f32_array, serialize_to_py, to_py, u8_array, value_error};
use numpy::ndarray::{Array1, Array2};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use vdx::decode::{DecodeOptions, Resize, ResizeMode, RgbFrame, VideoDecoder};
use vdx::sample::{SamplerConfig, SamplerKind, TailPolicy, Units};
use vdx::{VdxError, VideoIndex};

/// Container and stream facts (the CLI's `vdx probe --json`, ffprobe's names).
#[pyfunction]
#[pyo3(signature = (path, *, probesize=None, analyzeduration=None))]
pub(crate) fn probe<'py>(
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
pub(crate) fn index<'py>(
    py: Python<'py>,
    path: PathBuf,
    check_decode: bool,
) -> PyResult<Bound<'py, PyDict>> {
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
pub(crate) struct VideoReader {
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
            return Err(VdxError::InvalidParameter(vdx::error::ParamError::new(
                "frames",
                format!(
                    "the picture size changes from {w}x{h} to {}x{} at frame {}: pass size= to get \
                     one size",
                    f.width, f.height, f.index
                ),
            )));
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
                return Err(to_py(VdxError::from(
                    vdx::video::VideoError::FrameOutOfRange {
                        path: self.path.clone(),
                        index: i.max(0) as usize,
                        count: n as usize,
                    },
                )));
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
