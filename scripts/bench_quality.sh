#!/usr/bin/env bash
# Issue "see what encoding did": the quality pass against decoding the same source frames
# alone, the explorer's UI frame times while the pass runs, snapped clip starts against exact
# ones on the long-GOP file, and `vdx compare-fields` with its defaults on the corpus.
# Usage: bash scripts/bench_quality.sh CORPUS_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-target/corpus}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/vdx-target}"
vdx="$target/release/vdx"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
videos=("$corpus"/*.mp4 "$corpus"/*.webm)
echo "== dataset: ${#videos[@]} corpus videos, 4 clips of 16 frames at 224, JPEG q90" >&2
"$vdx" build "${videos[@]}" --out "$tmp/q.vdx" --num-clips 4 --quality 90 --quiet
echo "== quality pass vs decoding the same source frames alone (2 threads, 3 reps)" >&2
"$vdx" bench "$tmp/q.vdx" --what quality --reps 3 --threads 2
echo "== the explorer's UI frame times while the pass runs" >&2
cargo bench --bench gui_quality -- "$tmp/q.vdx" 2>/dev/null | grep '^{'
echo "== snapped clip starts on the long-GOP file (24 random clips of 16 frames at 224)" >&2
"$vdx" bench "$corpus/a_1080p30_h264_gop250_aac.mp4" --what snap --reps 3 --threads 2
echo "== vdx compare-fields with its defaults on the corpus (wall time)" >&2
start=$(date +%s.%N)
"$vdx" compare-fields "${videos[@]}" --quiet
end=$(date +%s.%N)
python3 -c "print('{\"compare_fields_default_secs\": %.1f}' % ($end - $start))"
