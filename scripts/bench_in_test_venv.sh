#!/usr/bin/env bash
# Runs a benchmark script in the test virtualenv (it has Ray, Daft and FFCV; `make test`
# makes it) with the vdx package built --release. The next `make test` builds it back in the
# test profile. Usage: bash scripts/bench_in_test_venv.sh SCRIPT.py CORPUS_DIR [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdx-target}"
venv="${VDX_PY_VENV:-$HOME/.cache/vdx-py-venv}"
[[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import ray, daft, ffcv" 2>/dev/null \
  || { echo "bench: run 'make test' first (it makes $venv)" >&2; exit 1; }
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop -q --release -m python/Cargo.toml
script="$1"
shift
"$venv/bin/python" "$script" "$@" --vdx "$CARGO_TARGET_DIR/release/vdx"
