#!/usr/bin/env bash
# Two vdx binaries side by side (before and after a change) on the files of
# `make bench-realworld` (target/rwbench: packed-B Xvid/DivX AVIs, edit-list MP4/MOV cuts):
# 16 spread frames @224 (open + index + decode, what a loader does per video) and the index
# alone, through `vdx bench`, the two binaries alternated file by file for ROUNDS rounds
# (default 5). Prints medians and after/before time ratios (< 1: the after binary is faster).
# Usage: bash scripts/bench_realworld_ab.sh BEFORE_VDX AFTER_VDX [DIR]
set -euo pipefail
old=$1 new=$2 d=${3:-target/rwbench}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
files=$(ls "$d" | grep -E '\.(avi|mp4|mov)$' | grep -E 'packed|elst|editlist')
[[ -n $files ]] || { echo "no packed-B or edit-list files in $d (run make bench-realworld once)" >&2; exit 1; }
for r in $(seq 1 "${ROUNDS:-5}"); do
  for f in $files; do
    for which in before after; do
      bin=$old; [[ $which == after ]] && bin=$new
      j=$("$bin" bench "$d/$f" --reps 3 --threads 2 --what uniform,index)
      echo "{\"which\":\"$which\",\"file\":\"$f\",\"r\":$j}" >> "$out"
    done
  done
done
python3 - "$out" <<'PY'
import collections, json, statistics, sys
d = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    x = json.loads(line)
    for k in ("uniform16_secs", "index_secs"):
        d[(x["file"], k)][x["which"]].append(x["r"][k])
ratios = []
for (f, k), v in sorted(d.items()):
    b, a = statistics.median(v["before"]), statistics.median(v["after"])
    ratios.append(a / b)
    print(f"{f:36s} {k:15s} before {b * 1e3:8.2f} ms  after {a * 1e3:8.2f} ms  after/before {a / b:5.2f}")
print(f"median after/before over {len(ratios)} measures: {statistics.median(ratios):.2f}")
PY
