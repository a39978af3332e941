#!/usr/bin/env bash
# Runs scripts/bench_python.py: a virtualenv (~/.cache/vdx-bench-py-venv, or $VDX_BENCH_PY_VENV)
# with the peers from PyPI (PyAV, decord, video-reader-rs) and the vdx package built --release
# into it with maturin. Usage: bash scripts/bench_python.sh CORPUS_DIR [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdx-target}"
venv="${VDX_BENCH_PY_VENV:-$HOME/.cache/vdx-bench-py-venv}"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -c "import av, decord, video_reader, maturin, numpy" 2>/dev/null \
  || "$venv/bin/pip" install -q "maturin>=1.5,<2" numpy "av==16.1.0" "decord==0.6.0" "video-reader-rs==0.4.5"
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop -q --release -m python/Cargo.toml
# video-reader-rs 0.4.5's wheel vendors libwebp with a RUNPATH of its build machine, so its own
# libsharpyuv is not found beside it; point the loader at the wheel's library folder.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
export LD_LIBRARY_PATH="$site/video_reader_rs.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
"$venv/bin/python" scripts/bench_python.py "$@" --vdx "$CARGO_TARGET_DIR/release/vdx"
