#!/usr/bin/env bash
# Planning a Kinetics-700-sized annotation build: a generated CSV of 650,000 rows (700
# classes, train/val/test, trimmed-clip names) over a folder holding 95% of the clips as
# empty files (5% missing, as YouTube takedowns leave it). `vdx build --dry-run` reads the
# file, checks every row, looks every video up, lists the missing ones and stops before any
# decoding. Reports the median wall time and the peak RSS of 5 runs.
# Usage: bash scripts/bench_annotations.sh [VDX_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
vdx="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/vdx-target}/release/vdx}"
d=target/annbench
mkdir -p "$d"
python3 - "$d" <<'PY'
import os, random, sys
d = sys.argv[1]
csv = os.path.join(d, "kinetics700_650k.csv")
videos = os.path.join(d, "videos")
if os.path.exists(csv) and os.path.isdir(videos):
    sys.exit(0)
rng = random.Random(7)
alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
classes = [f"action {k:03d}" for k in range(700)]
os.makedirs(videos, exist_ok=True)
with open(csv + ".tmp", "w") as f:
    f.write("label,youtube_id,time_start,time_end,split\n")
    for i in range(650_000):
        yid = "".join(rng.choice(alphabet) for _ in range(11))
        t0 = rng.randrange(0, 600)
        split = "train" if i % 20 < 17 else ("val" if i % 20 < 19 else "test")
        label = classes[rng.randrange(700)]
        f.write(f'"{label}",{yid},{t0},{t0 + 10},{split}\n')
        if rng.random() < 0.95:
            open(os.path.join(videos, f"{yid}_{t0:06d}_{t0 + 10:06d}.mp4"), "w").close()
os.replace(csv + ".tmp", csv)
PY
python3 - "$vdx" "$d" <<'PY'
import json, os, resource, statistics, subprocess, sys, time
vdx, d = sys.argv[1], sys.argv[2]
cmd = [vdx, "build", "--annotations", os.path.join(d, "kinetics700_650k.csv"), "--videos",
       os.path.join(d, "videos"), "--format", "kinetics", "--out", os.path.join(d, "k700.vdx"),
       "--dry-run", "--quiet"]
times, rss = [], []
for _ in range(5):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    times.append(time.perf_counter() - t)
    if p.returncode != 0:
        sys.exit(p.stderr)
    # ru_maxrss of the children so far: the largest child's peak (KiB on Linux).
    rss.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
print(p.stdout.strip())
print(json.dumps({"rows": 650000, "median_secs": round(statistics.median(times), 3),
                  "peak_rss_mb": round(max(rss), 1)}))
PY
