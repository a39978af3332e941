#!/usr/bin/env python3
"""FFCV reading vdx datasets, side by side in one run (medians of alternated runs):

    python scripts/bench_ffcv.py CORPUS_DIR --vdx target/release/vdx [--reps 5]

- FFCV's Loader with vdx.ffcv.FramesDecoder on a frames dataset (16x224x224, batch 32,
  2 workers) against vdx.Loader on the same file (uint8 clips, 2 threads);
- against what FFCV users do for video today: the same frames stored one JPEG per sample in
  FFCV's own RGBImageField (written by FFCV's DatasetWriter) and grouped into clips in Python.
Run it from the test virtualenv (scripts/pytest.sh installs FFCV, numba and PyTorch there).
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np

import vdx
import vdx.ffcv as vf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--vdx", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--passes", type=int, default=8)
    ap.add_argument("--os-cache", action="store_true",
                    help="FFCV's os_cache=True (memory-mapped, as vdx reads) instead of its "
                         "default process cache")
    ap.add_argument("--json")
    a = ap.parse_args()
    from ffcv.fields import IntField, RGBImageField
    from ffcv.fields.decoders import IntDecoder, SimpleRGBImageDecoder
    from ffcv.loader import Loader, OrderOption
    from ffcv.writer import DatasetWriter

    vf.register()
    files = sorted(os.path.join(a.corpus, f) for f in os.listdir(a.corpus)
                   if f.endswith((".mp4", ".webm")) and not f.startswith("a_"))
    tmp = tempfile.mkdtemp(prefix="vdx-bench-ffcv-")
    path = os.path.join(tmp, "frames.vdx")
    subprocess.run([a.vdx, "build", *files, "--out", path, "--frames", "16", "--size", "224",
                    "--num-clips", "16", "--keep-going", "--quiet"], check=True)
    ds = vdx.Dataset(path)
    n = len(ds)
    # Each epoch reads every sample `passes` times (FFCV's and vdx's Loader both take an
    # index list), so FFCV's per-epoch set-up (it allocates its batch slots anew every
    # epoch) does not swamp a short epoch.
    indices = np.tile(np.arange(n), a.passes)
    total = len(indices)

    # FFCV's own image field: one JPEG per frame, written by FFCV (quality 95, like vdx).
    class Frames:
        def __len__(self):
            return n * 16

        def __getitem__(self, k):
            return ds[k // 16].clip[k % 16], k // 16

    img_path = os.path.join(tmp, "images.beton")
    DatasetWriter(img_path, {"image": RGBImageField(write_mode="jpg", jpeg_quality=95),
                             "clip": IntField()}, num_workers=2).from_indexed_dataset(Frames())

    # Each loader is made once and timed over whole epochs, as a training loop uses it (an
    # FFCV Loader also compiles its pipeline when it is made).
    ld_vdx = Loader(path, batch_size=32, num_workers=2, order=OrderOption.RANDOM,
                    drop_last=False, indices=indices, os_cache=a.os_cache,
                    pipelines={"frames": [vf.FramesDecoder()], "label": [IntDecoder()],
                               "provenance": None, "checksum": None})
    vdx_ld = vdx.Loader(ds, batch_size=32, num_threads=2, prefetch=2, indices=indices)
    ld_img = Loader(img_path, batch_size=32 * 16, num_workers=2, order=OrderOption.SEQUENTIAL,
                    drop_last=False, indices=np.tile(np.arange(n * 16), a.passes),
                    os_cache=a.os_cache,
                    pipelines={"image": [SimpleRGBImageDecoder()], "clip": [IntDecoder()]})

    def ffcv_vdx():
        k = 0
        for clips, _ in ld_vdx:
            k += len(clips)
        assert k == total

    def vdx_loader():
        k = 0
        for clips, _, _ in vdx_ld:
            k += len(clips)
        assert k == total

    def ffcv_images():
        k = 0
        for images, clip in ld_img:
            clips = images.reshape(-1, 16, *images.shape[1:])  # grouped into clips
            k += len(clips)
        assert k == total

    runs = {"ffcv_vdx": [], "vdx_loader": [], "ffcv_rgbimage": []}
    for fn in (ffcv_vdx, vdx_loader, ffcv_images):
        fn()  # warm-up epoch
    for _ in range(a.reps):
        for name, fn in (("ffcv_vdx", ffcv_vdx), ("vdx_loader", vdx_loader),
                         ("ffcv_rgbimage", ffcv_images)):
            t = time.perf_counter()
            fn()
            runs[name].append(total / (time.perf_counter() - t))
    res = {k: statistics.median(v) for k, v in runs.items()}
    res["samples"] = n
    res["clips_per_epoch"] = total
    res["os_cache"] = a.os_cache
    res["ffcv_vdx_over_vdx_loader"] = res["ffcv_vdx"] / res["vdx_loader"]
    res["ffcv_vdx_over_ffcv_rgbimage"] = res["ffcv_vdx"] / res["ffcv_rgbimage"]
    print(json.dumps(res), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
