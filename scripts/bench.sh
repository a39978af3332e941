#!/usr/bin/env bash
# Runs the side-by-side benchmark: makes a virtualenv with the Python peers (PyAV, decord)
# from PyPI, then scripts/bench.py. Usage: bash scripts/bench.sh CORPUS_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${VDX_BENCH_VENV:-$HOME/.cache/vdx-bench-venv}"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -c "import av, decord, numpy, cv2, turbojpeg" 2>/dev/null || "$venv/bin/pip" install -q av decord numpy opencv-python-headless "PyTurboJPEG<2"
"$venv/bin/python" "$here/bench.py" "$@"
