"""The scale-out examples on object storage: Ray Data, Daft and a Slurm array build shards
from videos on a real S3-compatible server (SeaweedFS) into shards on it, the manifest written
last; the result reads as the single local build, sample for sample; a re-run skips what is
uploaded; the training loop example streams the remote manifest, through vdx.Loader and through
Ray Data actors."""
import os
import runpy
import subprocess

import numpy as np
import pytest

import vdx
from helpers import ROOT, VDX_BIN, seaweed
from test_scale import OPTIONS, _ray_init_kwargs, inputs, single  # noqa: F401 (fixtures)

KEY, SECRET = "scalekey", "scale-secret-not-to-be-shown"


@pytest.fixture(scope="module")
def store():
    with seaweed(KEY, SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def remote_inputs(store, inputs):  # noqa: F811
    """The class folders of `inputs` uploaded under s3://scale/videos/."""
    put, _ = store
    names = []
    for cls in sorted(os.listdir(inputs)):
        for f in sorted(os.listdir(inputs / cls)):
            names.append(put(str(inputs / cls / f), f"scale/videos/{cls}/{f}"))
    assert len(names) == 6
    return "s3://scale/videos/"


def assert_same_as_local(local_path, remote_path, local_root, remote_root):
    a, b = vdx.Dataset(local_path), vdx.Dataset(remote_path)
    assert len(a) == len(b) == 12
    assert a.classes == b.classes == ["a", "b"]
    for i in range(len(a)):
        x, y = a[i], b[i]
        assert np.array_equal(x.clip, y.clip), f"sample {i}"
        assert x.label == y.label, f"sample {i}"
        # The same clip of the same video, named by its URL.
        want = dict(x.provenance)
        want["source"] = want["source"].replace(str(local_root).rstrip("/") + "/", remote_root)
        assert want["source"].startswith(remote_root)
        assert y.provenance == want, f"sample {i}"


def test_daft_builds_shards_on_object_storage_from_videos_there(remote_inputs, inputs, single,  # noqa: F811
                                                                 tmp_path):
    import daft  # noqa: F401  (installed by scripts/pytest.sh)
    mod = runpy.run_path(os.path.join(ROOT, "examples", "daft_build.py"))
    manifest, results = mod["run"]([remote_inputs], "s3://scale/daft/ds", 4, options=OPTIONS)
    assert manifest == "s3://scale/daft/ds.vdxm"
    assert len(results) == 4 and all(r.startswith("built ") for r in results), results
    assert_same_as_local(single, manifest, inputs, remote_inputs)
    assert vdx.Dataset(manifest).shards == [f"s3://scale/daft/ds-{k:05d}-of-00004.vdx" for k in range(4)]
    # A re-run finds every shard uploaded with the same inputs and options.
    manifest2, results = mod["run"]([remote_inputs], "s3://scale/daft/ds", 4, options=OPTIONS)
    assert manifest2 == manifest
    assert all(r.startswith("skipped ") for r in results), results
    # The training loop example streams the remote manifest.
    loop = runpy.run_path(os.path.join(ROOT, "examples", "train_loop.py"))
    loop["main"]([manifest, "--epochs", "1", "--batch-size", "4"])


def test_a_slurm_array_builds_shards_on_object_storage(remote_inputs, inputs, single, tmp_path,  # noqa: F811
                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    script = os.path.join(ROOT, "examples", "slurm_build.sh")
    env = {**os.environ, "VDX": VDX_BIN,
           "VDX_BUILD_OPTS": "--frames 4 --size 48 --num-clips 2"}
    for k in range(3):
        e = {**env, "SLURM_ARRAY_TASK_ID": str(k), "SLURM_ARRAY_TASK_COUNT": "3",
             "SLURM_CPUS_PER_TASK": "1"}
        subprocess.run(["bash", script, remote_inputs, "s3://scale/slurm/ds"], env=e,
                       check=True, capture_output=True)
    # Nothing was made in the working folder for the URL.
    assert os.listdir(tmp_path) == []
    subprocess.run([VDX_BIN, "manifest", "s3://scale/slurm"], check=True, capture_output=True)
    assert_same_as_local(single, "s3://scale/slurm/ds.vdxm", inputs, remote_inputs)


def test_ray_data_builds_shards_on_object_storage(remote_inputs, inputs, single, monkeypatch):  # noqa: F811
    import ray  # installed into the test virtualenv by scripts/pytest.sh
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    mod = runpy.run_path(os.path.join(ROOT, "examples", "ray_build.py"))
    try:
        manifest, results = mod["run"]([remote_inputs], "s3://scale/ray/ds", 2, actors=2,
                                       options=OPTIONS, init_kwargs=_ray_init_kwargs())
        assert [r["built"] for r in results] == [True, True]
        assert manifest == "s3://scale/ray/ds.vdxm"
        assert_same_as_local(single, manifest, inputs, remote_inputs)
        # The manifest on the server streamed through Ray Data actors: every sample once, each
        # bit for bit what vdx.Loader gives it in that epoch (the recipe's draws included).
        loop = runpy.run_path(os.path.join(ROOT, "examples", "train_loop.py"))
        recipe_path = os.path.join(ROOT, "assets", "recipes", "light.json")
        rec = vdx.Recipe.load(recipe_path)
        rows = loop["ray_epoch"](manifest, 1, seed=5, recipe=rec, actors=2, block=4)
        got = {}
        for b in rows.iter_batches(batch_size=5, batch_format="numpy"):
            for c, lab, i in zip(b["clip"], b["label"], b["index"]):
                got[int(i)] = (np.array(c), int(lab))
        loader = vdx.Loader(manifest, batch_size=4, recipe=rec, seed=5)
        loader.set_epoch(1)
        want = {int(i): (c.copy(), int(lab))
                for clips, labels, idx in loader for c, lab, i in zip(clips, labels, idx)}
        assert sorted(got) == sorted(want) == list(range(12))
        for i, (clip, label) in want.items():
            assert got[i][0].dtype == clip.dtype and got[i][0].shape == clip.shape
            assert np.array_equal(got[i][0], clip) and got[i][1] == label, f"sample {i}"
        # The training loop over it, Ray Data feeding the batches.
        losses = loop["main"]([manifest, recipe_path, "--ray", "--epochs", "1",
                               "--batch-size", "4"])
        assert len(losses) == 3 and np.all(np.isfinite(losses))
    finally:
        ray.shutdown()
