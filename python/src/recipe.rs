//! `RecipeHandle`: an augmentation recipe applied to numpy clips.

use crate::{f32_array, serialize_to_py, to_py, value_error};
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use std::path::PathBuf;
use vdx::augment::{self, Recipe};
use vdx::VdxError;

/// An augmentation recipe, the explorer's and `vdx augment`'s engine.
#[pyclass(module = "vdx._vdx")]
pub(crate) struct RecipeHandle {
    pub(crate) recipe: Recipe,
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
