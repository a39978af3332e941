#!/usr/bin/env python3
"""Two builds of the vdx Python package side by side (before and after a change): the vdx half
of scripts/bench_python.py (open + 16 spread frames at 224 on every corpus file, Recipe.apply
on 1 and 2 threads, a Loader epoch at batch 32 on 1 and 2 threads), each build in its own
virtualenv and process, the rounds alternated so drift hits both. Prints medians and
after/before time ratios (< 1: the after build is faster).

    python3 scripts/bench_python_ab.py CORPUS_DIR BEFORE_VENV AFTER_VENV DATASET.vdx [--rounds 5]

DATASET.vdx is a frames dataset of 16x224x224 clips (as bench_python.py builds one). Each
venv holds its build of the package (maturin develop --release).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# One round in one process of one build: {measure: seconds}.
WORKER = r"""
import json, os, sys, threading, time, statistics
sys.path.insert(0, HERE)
import numpy as np
import vdx
from bench_python import vdx_frames, spread, median_time, in_threads, RECIPE, VIDEO_EXT
corpus, ds_path, recipe_path = sys.argv[1:4]
out = {}
for f in sorted(os.listdir(corpus)):
    if not f.lower().endswith(VIDEO_EXT):
        continue
    p = os.path.join(corpus, f)
    try:
        idx = spread(len(vdx.VideoReader(p)))
        vdx_frames(p, idx)
    except vdx.VdxError:
        continue
    out["frames " + f] = median_time(lambda: vdx_frames(p, idx), 3)
rng = np.random.default_rng(0)
clip = rng.integers(0, 256, (16, 256, 340, 3), dtype=np.uint8)
rec = vdx.Recipe.from_json(json.dumps(RECIPE))
for t in (1, 2):
    out[f"recipe {t}t"] = median_time(
        lambda: in_threads(lambda i: rec.apply(clip, sample=i, epoch=0), list(range(24)), t), 3)
ds, lrec = vdx.Dataset(ds_path), vdx.Recipe.load(recipe_path)
for t in (1, 2):
    def run():
        for _ in vdx.Loader(ds, batch_size=32, recipe=lrec, num_threads=t, prefetch=2):
            pass
    out[f"loader {t}t"] = median_time(run, 2)
print(json.dumps(out))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("before_venv")
    ap.add_argument("after_venv")
    ap.add_argument("dataset")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json")
    a = ap.parse_args()
    recipe = os.path.join(os.path.dirname(HERE), "assets", "recipes", "train_224.json")
    code = WORKER.replace("HERE", repr(HERE))
    runs = {"before": [], "after": []}
    for r in range(a.rounds):
        for name, venv in (("before", a.before_venv), ("after", a.after_venv)):
            env = dict(os.environ)
            site = subprocess.check_output(
                [os.path.join(venv, "bin", "python"), "-c",
                 "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
            env["LD_LIBRARY_PATH"] = os.path.join(site, "video_reader_rs.libs")
            o = subprocess.check_output([os.path.join(venv, "bin", "python"), "-c", code,
                                         a.corpus, a.dataset, recipe], env=env, text=True)
            runs[name].append(json.loads(o.strip().splitlines()[-1]))
            print(f"round {r + 1} {name} done", file=sys.stderr, flush=True)
    keys = [k for k in runs["after"][0] if all(k in x for x in runs["before"] + runs["after"])]
    rows = []
    for k in keys:
        b = statistics.median(x[k] for x in runs["before"])
        af = statistics.median(x[k] for x in runs["after"])
        rows.append({"measure": k, "before_ms": 1e3 * b, "after_ms": 1e3 * af, "after_over_before": af / b})
        print(f"{k:55s} before {1e3 * b:9.1f} ms  after {1e3 * af:9.1f} ms  after/before {af / b:5.2f}")
    ratios = [r["after_over_before"] for r in rows]
    print(f"median after/before over {len(rows)} measures: {statistics.median(ratios):.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
