#!/usr/bin/env python3
"""The vdx Python package against the Python peers and against vdx's own Rust side, in one
process and one run (medians; ratios > 1: vdx is faster).

    python scripts/bench_python.py CORPUS_DIR --vdx target/release/vdx [--reps 5]
                                   [--only frames,recipe,loader]

- frames: open + 16 spread frames at 224x224 (as a loader item does) on every corpus file,
  vdx.VideoReader.get_frames_at against PyAV, decord and video-reader-rs; and on the long-GOP
  file the binding against `vdx bench --what uniform` (the same work in Rust), alternated.
- recipe: Recipe.apply on a 16x256x340 uint8 clip to 16x224x224 float32 (random resized crop,
  flip, colour jitter, normalize) against the same operations in plain numpy, on 1 and 2
  threads.
- loader: vdx.Loader (batch 32, train_224 recipe, float32) on a frames dataset of 16x224x224
  clips against `vdx bench --what read --recipe` (the Rust reader + the same recipe), on 1 and
  2 threads, and against a PyTorch-style loop that decodes the same clips from the source
  videos with decord and applies the same ops in numpy.
scripts/bench_python.sh makes the virtualenv (the package built --release, the peers).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

import vdx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VIDEO_EXT = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".ts", ".m2ts", ".mpg", ".flv")


def median_time(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def spread(n, t=16):
    return [round(j * (n - 1) / (t - 1)) for j in range(t)]


# ------------------------------------------------------------------ frames


def vdx_frames(path, idx):
    return vdx.VideoReader(path, size=(224, 224), resize="squash", threads=2).get_frames_at(idx).data


def pyav_frames(path, idx):
    sys.path.insert(0, HERE)
    from bench import pyav_frames as f  # one seek per keyframe group, PyAV's best pattern
    return f(path, idx)


def decord_frames(path, idx):
    import decord
    return decord.VideoReader(path, width=224, height=224, num_threads=2).get_batch(idx).asnumpy()


def vrrs_frames(path, idx):
    from video_reader import PyVideoReader
    return PyVideoReader(path, threads=2, target_width=224, target_height=224).get_batch(idx)


def bench_frames(a, out):
    files = sorted(os.path.join(a.corpus, f) for f in os.listdir(a.corpus)
                   if f.lower().endswith(VIDEO_EXT))
    peers = {"PyAV": pyav_frames, "decord": decord_frames, "video-reader-rs": vrrs_frames}
    rows = []
    for path in files:
        try:
            n = len(vdx.VideoReader(path))
            idx = spread(n)
            vdx_frames(path, idx)
        except vdx.VdxError as e:
            rows.append({"file": os.path.basename(path), "vdx_error": str(e)[:80]})
            continue
        row = {"file": os.path.basename(path), "frames": n}
        row["vdx"] = median_time(lambda: vdx_frames(path, idx), a.reps)
        for name, fn in peers.items():
            try:
                fn(path, idx)
                row[name] = median_time(lambda: fn(path, idx), a.reps)
            except Exception as e:  # a peer that cannot open a file is reported, not fatal
                row[name] = None
                row[f"{name}_error"] = f"{type(e).__name__}: {str(e)[:60]}"
        best = min((row[p] for p in peers if row.get(p)), default=None)
        row["fastest_peer_over_vdx"] = best / row["vdx"] if best else None
        rows.append(row)
        print(json.dumps(row), flush=True)
    out["frames"] = rows
    # The binding's cost: the same open + 16 uniform frames through `vdx bench` (Rust,
    # in-process timing) and through Python, alternated so drift hits both.
    big = [r for r in rows if "vdx" in r]
    longest = max(big, key=lambda r: r["vdx"])
    path = os.path.join(a.corpus, longest["file"])
    idx = spread(longest["frames"])
    rust, py = [], []
    for _ in range(a.reps):
        j = json.loads(subprocess.check_output([a.vdx, "bench", path, "--what", "uniform",
                                                "--reps", "3", "--threads", "2"]))
        rust.append(j["uniform16_secs"])
        py.append(median_time(lambda: vdx_frames(path, idx), 3))
    out["binding"] = {"file": longest["file"], "rust_secs": statistics.median(rust),
                      "python_secs": statistics.median(py),
                      "overhead": statistics.median(py) / statistics.median(rust) - 1}
    print(json.dumps(out["binding"]), flush=True)


# ------------------------------------------------------------------ recipe

RECIPE = {
    "version": 1, "name": "bench", "seed": 0, "tail": "repeat_last",
    "ops": [
        {"op": "random_resized_crop", "width": 224, "height": 224, "scale": [0.25, 1.0],
         "ratio": [0.75, 1.3333333333333333]},
        {"op": "horizontal_flip", "p": 0.5},
        {"op": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.0},
    ],
    "to_float": {"mean": [0.45, 0.45, 0.45], "std": [0.225, 0.225, 0.225]},
}


def numpy_recipe(clip, rng):
    """The same operations in plain numpy (bilinear resize by index arithmetic)."""
    t, h, w, _ = clip.shape
    area = h * w * rng.uniform(0.25, 1.0)
    ratio = np.exp(rng.uniform(np.log(0.75), np.log(4 / 3)))
    cw = int(min(w, round(np.sqrt(area * ratio))))
    ch = int(min(h, round(np.sqrt(area / ratio))))
    y0, x0 = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    crop = clip[:, y0:y0 + ch, x0:x0 + cw].astype(np.float32)
    ys = (np.arange(224) + 0.5) * ch / 224 - 0.5
    xs = (np.arange(224) + 0.5) * cw / 224 - 0.5
    y0i = np.clip(np.floor(ys).astype(int), 0, ch - 1)
    x0i = np.clip(np.floor(xs).astype(int), 0, cw - 1)
    y1i, x1i = np.minimum(y0i + 1, ch - 1), np.minimum(x0i + 1, cw - 1)
    fy = np.clip(ys - y0i, 0, 1)[None, :, None, None]
    fx = np.clip(xs - x0i, 0, 1)[None, None, :, None]
    top = crop[:, y0i][:, :, x0i] * (1 - fx) + crop[:, y0i][:, :, x1i] * fx
    bot = crop[:, y1i][:, :, x0i] * (1 - fx) + crop[:, y1i][:, :, x1i] * fx
    x = top * (1 - fy) + bot * fy
    if rng.random() < 0.5:
        x = x[:, :, ::-1]
    x = x * rng.uniform(0.6, 1.4)                                  # brightness
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    x = (x - m) * rng.uniform(0.6, 1.4) + m                        # contrast
    g = (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    x = (x - g) * rng.uniform(0.6, 1.4) + g                        # saturation
    x = np.clip(x, 0, 255) / 255.0
    return ((x - 0.45) / 0.225).astype(np.float32)


def in_threads(fn, items, threads):
    chunks = [items[k::threads] for k in range(threads)]
    ts = [threading.Thread(target=lambda c=c: [fn(i) for i in c]) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def bench_recipe(a, out):
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (16, 256, 340, 3), dtype=np.uint8)
    rec = vdx.Recipe.from_json(json.dumps(RECIPE))
    res = {}
    n = 24
    for threads in (1, 2):
        v = median_time(lambda: in_threads(lambda i: rec.apply(clip, sample=i, epoch=0),
                                           list(range(n)), threads), a.reps)
        npy = median_time(lambda: in_threads(
            lambda i: numpy_recipe(clip, np.random.default_rng(i)), list(range(n)), threads),
            a.reps)
        res[f"{threads}t"] = {"vdx_clips_per_sec": n / v, "numpy_clips_per_sec": n / npy,
                              "ratio": npy / v}
    out["recipe"] = res
    print(json.dumps(res), flush=True)


# ------------------------------------------------------------------ loader


def bench_loader(a, out):
    files = sorted(os.path.join(a.corpus, f) for f in os.listdir(a.corpus)
                   if f.lower().endswith((".mp4", ".mkv", ".webm")) and "broken" not in f
                   and "trunc" not in f)
    tmp = tempfile.mkdtemp(prefix="vdx-bench-loader-")
    ds_path = os.path.join(tmp, "ds.vdx")
    subprocess.run([a.vdx, "build", *files, "--out", ds_path, "--frames", "16",
                    "--size", "224", "--num-clips", "16", "--keep-going", "--quiet"], check=True)
    recipe = os.path.join(ROOT, "assets", "recipes", "train_224.json")
    ds = vdx.Dataset(ds_path)
    rec = vdx.Recipe.load(recipe)
    n = len(ds)
    res = {"samples": n}
    for threads in (1, 2):
        py, rust = [], []
        for _ in range(a.reps):
            def run():
                ld = vdx.Loader(ds, batch_size=32, recipe=rec, num_threads=threads, prefetch=2)
                for clips, labels, ids in ld:
                    pass
            py.append(n / median_time(run, 1))
            j = json.loads(subprocess.check_output(
                [a.vdx, "bench", ds_path, "--what", "read", "--reps", "1", "--recipe", recipe],
                env={**os.environ, "RAYON_NUM_THREADS": str(threads)}))
            rust.append(j[f"read_augment_clips_per_sec_{threads}t"])
        res[f"{threads}t"] = {"loader_clips_per_sec": statistics.median(py),
                              "rust_clips_per_sec": statistics.median(rust),
                              "ratio": statistics.median(py) / statistics.median(rust)}
        print(json.dumps(res[f"{threads}t"]), flush=True)
    # A PyTorch-style loop: decode each sample's source frames with decord, same ops in numpy.
    try:
        import decord
        metas = [ds[i].provenance for i in range(min(n, 64))]

        def loop():
            for i, p in enumerate(metas):
                vr = decord.VideoReader(p["source"], num_threads=1)
                frames = vr.get_batch(p["frames"]).asnumpy()
                h, w = frames.shape[1:3]
                s = 224 / min(h, w)
                vr2 = decord.VideoReader(p["source"], width=max(224, round(w * s)),
                                         height=max(224, round(h * s)), num_threads=1)
                numpy_recipe(vr2.get_batch(p["frames"]).asnumpy(), np.random.default_rng(i))

        t = median_time(loop, max(1, a.reps // 2))
        res["decord_numpy_clips_per_sec"] = len(metas) / t
        res["loader_over_decord_numpy_1t"] = res["1t"]["loader_clips_per_sec"] / (len(metas) / t)
    except ImportError:
        pass
    out["loader"] = res
    print(json.dumps(res), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--vdx", default=os.path.join(ROOT, "target", "release", "vdx"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default="frames,recipe,loader")
    ap.add_argument("--json", help="write the results here too")
    a = ap.parse_args()
    out = {}
    only = a.only.split(",")
    if "recipe" in only:
        bench_recipe(a, out)
    if "loader" in only:
        bench_loader(a, out)
    if "frames" in only:
        bench_frames(a, out)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
