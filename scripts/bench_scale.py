#!/usr/bin/env python3
"""Scale-out figures, side by side in one run (medians):

    python scripts/bench_scale.py CORPUS_DIR --vdx target/release/vdx [--reps 3]

- engine overhead: 8 shards built by Ray Data (2 actors on 2 local CPUs, one build thread
  each) against one `vdx build --threads 2` of the same inputs; ray.init reported apart;
- a manifest of 1,000 tiny shards: written, then opened with every sample listed
  (`vdx inspect --json` and vdx.Dataset + every sample's metadata), and the memory one open
  shard costs.
Run it from the test virtualenv (scripts/pytest.sh makes it; it has vdx, Ray and Daft).
"""
import argparse
import json
import os
import runpy
import shutil
import statistics
import subprocess
import tempfile
import time

import vdx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bench_engine(a, out):
    import ray
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    videos = sorted(os.path.join(a.corpus, f) for f in os.listdir(a.corpus)
                    if f.endswith((".mp4", ".mkv", ".webm")) and not f.startswith("a_"))
    tmp = tempfile.mkdtemp(prefix="vdx-bench-scale-")
    inputs = videos
    if a.copies > 1:
        # A dataset has many videos per shard: each corpus video under several names (hard
        # links when the folder allows it, else copies).
        inputs = []
        for c in range(a.copies):
            for v in videos:
                dst = os.path.join(tmp, f"c{c}_{os.path.basename(v)}")
                try:
                    os.link(v, dst)
                except OSError:
                    shutil.copy(v, dst)
                inputs.append(dst)
    opts = {"frames": 16, "size": "112", "num_clips": a.clips, "keep_going": True}
    argv_opts = ["--frames", "16", "--size", "112", "--num-clips", str(a.clips), "--keep-going"]
    t0 = time.perf_counter()
    ray.init(num_cpus=2, object_store_memory=80 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False)
    init_secs = time.perf_counter() - t0
    mod = runpy.run_path(os.path.join(ROOT, "examples", "ray_build.py"))
    single, sharded = [], []
    for rep in range(a.reps):
        one = os.path.join(tmp, f"one{rep}.vdx")
        t = time.perf_counter()
        subprocess.run([a.vdx, "build", *inputs, "--out", one, "--threads", "2", "--quiet",
                        *argv_opts], check=True)
        single.append(time.perf_counter() - t)
        d = os.path.join(tmp, f"sh{rep}")
        os.makedirs(d)
        t = time.perf_counter()
        mod["run"](inputs, os.path.join(d, "ds"), 8, actors=2,
                   options={**opts, "threads": a.shard_threads})
        sharded.append(time.perf_counter() - t)
    ray.shutdown()
    res = {"videos": len(inputs), "clips_per_video": a.clips, "shard_threads": a.shard_threads,
           "single_build_secs": statistics.median(single),
           "ray_8_shards_secs": statistics.median(sharded), "ray_init_secs": init_secs}
    res["overhead"] = res["ray_8_shards_secs"] / res["single_build_secs"] - 1
    out["engine"] = res
    print(json.dumps(res), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


def bench_manifest(a, out):
    tmp = tempfile.mkdtemp(prefix="vdx-bench-manifest-")
    vid = os.path.join(tmp, "v.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=s=64x48:r=25:d=1", "-c:v", "libx264", vid], check=True)
    one = os.path.join(tmp, "one.vdx")
    subprocess.run([a.vdx, "build", vid, "--out", one, "--frames", "2", "--size", "16",
                    "--num-clips", "2", "--quiet"], check=True)
    d = os.path.join(tmp, "m")
    os.makedirs(d)
    n = 1000
    for k in range(n):
        os.link(one, os.path.join(d, f"tiny-{k:05d}-of-{n:05d}.vdx"))
    t = time.perf_counter()
    path, _ = vdx.write_manifest(d)
    write_secs = time.perf_counter() - t
    cli = []
    for _ in range(a.reps):
        t = time.perf_counter()
        r = subprocess.run([a.vdx, "inspect", path, "--json"], capture_output=True, check=True)
        cli.append(time.perf_counter() - t)
    listed = len(json.loads(r.stdout)["samples"])
    py = []
    for _ in range(a.reps):
        t = time.perf_counter()
        ds = vdx.Dataset(path)
        assert len(ds) == 2 * n
        py.append(time.perf_counter() - t)
    before = rss_kib()
    held = [vdx.Dataset(path) for _ in range(3)]
    per_shard_kib = (rss_kib() - before) / (3 * n)
    res = {"shards": n, "samples": listed, "write_manifest_secs": write_secs,
           "inspect_json_all_samples_secs": statistics.median(cli),
           "python_open_secs": statistics.median(py), "kib_per_open_shard": per_shard_kib}
    del held
    out["manifest"] = res
    print(json.dumps(res), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--vdx", default=os.path.join(ROOT, "target", "release", "vdx"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--copies", type=int, default=1,
                    help="take each corpus video this many times (more videos per shard)")
    ap.add_argument("--shard-threads", type=int, default=1,
                    help="build threads per Ray actor (2 actors share the 2 CPUs)")
    ap.add_argument("--only", default="engine,manifest")
    ap.add_argument("--json")
    a = ap.parse_args()
    out = {}
    if "manifest" in a.only:
        bench_manifest(a, out)
    if "engine" in a.only:
        bench_engine(a, out)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
