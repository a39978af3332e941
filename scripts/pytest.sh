#!/usr/bin/env bash
# Builds the vdx Python package into a virtualenv cached outside the clone and runs its tests.
#   bash scripts/pytest.sh [PYTEST_ARGS...]
# The virtualenv (~/.cache/vdx-py-venv, or $VDX_PY_VENV) gets maturin, pytest and numpy from
# PyPI on first use, plus Pillow and PyAV for the reader that tests FORMAT.md
# (scripts/read_dataset.py decodes JPEGs with Pillow and segments with PyAV's own FFmpeg),
# Ray Data and Daft, which drive sharded builds in examples/ (about 300 MB, once), and
# PySceneDetect, whose ContentDetector vdx health's scene cuts are held to; `maturin develop` builds the extension with cargo into the shared target
# folder, so later runs only rebuild what changed. The tests also call the `vdx` binary that
# `cargo test` builds.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdx-target}"
venv="${VDX_PY_VENV:-$HOME/.cache/vdx-py-venv}"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -c "import maturin, pytest, numpy, PIL, av, ray, daft, scenedetect" 2>/dev/null \
  || "$venv/bin/pip" install -q "maturin>=1.5,<2" pytest numpy "pillow==12.1.1" "av==16.1.0" \
       "ray[data]==2.60.0" "daft==0.7.26" "scenedetect==0.7.2"
# FFCV 1.0.2 (for vdx.ffcv) is an sdist: its C extension builds against the OpenCV and
# libjpeg-turbo -dev packages that setup.sh installs (pkg-config), without build isolation
# so that it sees numpy; it needs numba and PyTorch (PyPI's PyTorch brings its CUDA wheels:
# about 4 GB on the first run, a few minutes here).
"$venv/bin/python" -c "import ffcv.loader, numba, torch, cv2" 2>/dev/null || {
  "$venv/bin/pip" install -q "numba==0.68.1" "torch==2.15.0" \
    terminaltables tqdm assertpy psutil fastargs pytorch_pfn_extras setuptools
  "$venv/bin/pip" install -q --no-build-isolation "ffcv==1.0.2"
}
[[ -x "$CARGO_TARGET_DIR/debug/vdx" ]] || cargo build
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop -q -m python/Cargo.toml
VDX_BIN="$CARGO_TARGET_DIR/debug/vdx" "$venv/bin/python" -m pytest -q python/tests "$@"
