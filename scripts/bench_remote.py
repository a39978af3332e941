"""vdx on object storage against the same files on local disk, side by side in one run, on a
local SeaweedFS S3 server (started here, as the tests do):

  1. 16 spread frames at 224 from the corpus' 1080p long-GOP MP4 (open, index and decode),
     each run in a fresh process (no cache carried over), local and remote alternated;
  2. vdx.Loader at batch 32 over a frames dataset built from the corpus: one epoch per run
     with a fresh Dataset (nothing fetched before), local and remote alternated; then the
     same with a cache folder (VDX_CACHE_DIR) that a first epoch filled;
  3. the health pass (`Dataset.health`, not saved) over the same dataset, a fresh Dataset each
     run, local and remote alternated.

  4. a manifest of --shards shards (one tiny video each) built to the server with
     `vdx build --out s3://... --shard k/N` and `vdx manifest s3://...`: the time from
     `vdx.Dataset(url)` to the first Loader batch, in a fresh process.

Medians and the remote/local ratios are printed (and written with --json).
  python scripts/bench_remote.py CORPUS_DIR [--runs N] [--json OUT]
Run through scripts/bench_in_test_venv.sh (the test virtualenv has the package)."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python",
                                "tests"))
from helpers import VDX_BIN, seaweed  # noqa: E402

import vdx  # noqa: E402

FRAMES = """
import sys, time, vdx
t = time.perf_counter()
r = vdx.VideoReader(sys.argv[1], size=224)
n = len(r)
r.get_frames_at([i * (n - 1) // 15 for i in range(16)])
print(time.perf_counter() - t)
"""


def frames_once(path):
    out = subprocess.run([sys.executable, "-c", FRAMES, path], check=True, capture_output=True,
                         text=True, env=os.environ)
    return float(out.stdout.strip().splitlines()[-1])


def health_once(path):
    ds = vdx.Dataset(path)
    t = time.perf_counter()
    ds.health(cached=False, save=False)
    return time.perf_counter() - t


def epoch_once(path):
    ds = vdx.Dataset(path)
    t = time.perf_counter()
    n = 0
    for clips, _, _ in vdx.Loader(ds, batch_size=32, shuffle=True, seed=1):
        n += len(clips)
    return time.perf_counter() - t, n


FIRST_BATCH = """
import sys, time, vdx
t = time.perf_counter()
ds = vdx.Dataset(sys.argv[1])
next(iter(vdx.Loader(ds, batch_size=32, shuffle=True, seed=0)))
print(time.perf_counter() - t)
"""


def bench_manifest(a, put, d, results):
    """N one-video shards built to the server, the manifest written there, then the first
    batch read from it in fresh processes."""
    import shutil
    src = os.path.join(d, "tiny")
    os.makedirs(src)
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets",
                          "sample.mp4")
    for k in range(a.shards):
        shutil.copy(sample, os.path.join(src, f"v{k:05d}.mp4"))
    prefix = "s3://bench/many"
    procs = []
    t = time.perf_counter()
    for k in range(a.shards):
        procs.append(subprocess.Popen(
            [a.vdx, "build", src, "--out", f"{prefix}/tiny", "--shard", f"{k}/{a.shards}",
             "--frames", "2", "--size", "32", "--num-clips", "1", "--quiet"]))
        if len(procs) >= 4:
            assert procs.pop(0).wait() == 0
    for p in procs:
        assert p.wait() == 0
    build_s = time.perf_counter() - t
    subprocess.run([a.vdx, "manifest", prefix], check=True, capture_output=True)
    url = f"{prefix}/tiny.vdxm"
    runs = []
    for _ in range(a.runs):
        out = subprocess.run([sys.executable, "-c", FIRST_BATCH, url], check=True,
                             capture_output=True, text=True, env=os.environ)
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    results["manifest_first_batch"] = {"shards": a.shards, "build_and_upload_s": build_s,
                                       "first_batch_s": statistics.median(runs)}
    print(f"manifest of {a.shards} shards on the server: first batch in "
          f"{statistics.median(runs) * 1000:.0f} ms (median of {a.runs}; built and uploaded "
          f"in {build_s:.0f} s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json")
    ap.add_argument("--vdx", default=VDX_BIN, help="the vdx binary that builds the dataset")
    ap.add_argument("--shards", type=int, default=200,
                    help="shards of the manifest whose first batch is timed (0: skip)")
    ap.add_argument("--only", choices=["all", "manifest"], default="all",
                    help="manifest: the many-shard manifest's first batch alone")
    ap.add_argument("--skip-frames", action="store_true",
                    help="leave out the 16 spread frames of the 1080p file")
    a = ap.parse_args()
    video = os.path.join(a.corpus, "a_1080p30_h264_gop250_aac.mp4")
    results = {}
    with seaweed("benchkey", "benchsecret") as (put, _), tempfile.TemporaryDirectory() as d:
        if a.only == "manifest":
            bench_manifest(a, put, d, results)
            return
        if not a.skip_frames:
            url = put(video, "bench/a.mp4")
            loc, rem = [], []
            for _ in range(a.runs):
                loc.append(frames_once(video))
                rem.append(frames_once(url))
            results["spread16_1080p"] = {"local_s": statistics.median(loc),
                                         "remote_s": statistics.median(rem)}
        # A frames dataset of the corpus' videos: 8 clips of 16 frames at 112 per video.
        out = os.path.join(d, "ds.vdx")
        subprocess.run([a.vdx, "build", a.corpus, "--out", out, "--frames", "16", "--size",
                        "112", "--num-clips", "8", "--quiet", "--keep-going"], check=True)
        ds_url = put(out, "bench/ds.vdx")
        loc, rem, per_batch = [], [], []
        for _ in range(a.runs):
            loc.append(epoch_once(out)[0])
            t, n = epoch_once(ds_url)
            rem.append(t)
            # The same epoch with each batch fetching its own samples (no read-ahead).
            os.environ["VDX_READ_AHEAD"] = "off"
            per_batch.append(epoch_once(ds_url)[0])
            del os.environ["VDX_READ_AHEAD"]
        results["loader_b32"] = {"samples": n, "bytes": os.path.getsize(out),
                                 "local_s": statistics.median(loc),
                                 "remote_s": statistics.median(rem)}
        results["loader_b32_per_batch"] = {"local_s": statistics.median(loc),
                                           "remote_s": statistics.median(per_batch)}
        # The same with a cache folder (VDX_CACHE_DIR) filled by a first epoch: later fresh
        # Datasets (a new epoch's process, a re-run) read the bytes from local disk.
        os.environ["VDX_CACHE_DIR"] = os.path.join(d, "cache")
        epoch_once(ds_url)
        loc, rem = [], []
        for _ in range(a.runs):
            loc.append(epoch_once(out)[0])
            rem.append(epoch_once(ds_url)[0])
        del os.environ["VDX_CACHE_DIR"]
        results["loader_b32_cache_warm"] = {"local_s": statistics.median(loc),
                                            "remote_s": statistics.median(rem)}
        loc, rem = [], []
        for _ in range(a.runs):
            loc.append(health_once(out))
            rem.append(health_once(ds_url))
        results["health_pass"] = {"local_s": statistics.median(loc),
                                  "remote_s": statistics.median(rem)}
        if a.shards:
            bench_manifest(a, put, d, results)
    for k, v in results.items():
        if "local_s" not in v:
            continue
        v["remote_over_local"] = v["remote_s"] / v["local_s"]
        print(f"{k}: local {v['local_s'] * 1000:.1f} ms, remote {v['remote_s'] * 1000:.1f} ms "
              f"(remote/local {v['remote_over_local']:.2f}x, medians of {a.runs})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
