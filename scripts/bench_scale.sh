#!/usr/bin/env bash
# Runs scripts/bench_scale.py in the test virtualenv (it has Ray and Daft; scripts/pytest.sh
# makes it) with the vdx package built --release. The next `make test` builds it back in
# the test profile. Usage: bash scripts/bench_scale.sh CORPUS_DIR [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdx-target}"
venv="${VDX_PY_VENV:-$HOME/.cache/vdx-py-venv}"
[[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import ray, daft" 2>/dev/null \
  || { echo "bench_scale: run 'make test' first (it makes $venv)" >&2; exit 1; }
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop -q --release -m python/Cargo.toml
"$venv/bin/python" scripts/bench_scale.py "$@" --vdx "$CARGO_TARGET_DIR/release/vdx"
