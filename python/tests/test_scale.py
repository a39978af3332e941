"""Scale-out: shards built by vdx.build, by Ray Data and by Daft tie into a manifest that reads
as the single-machine build, sample for sample; a killed task and a re-run end with the same
manifest; a damaged manifest names the shard; ranks split every epoch as documented."""
import json
import os
import runpy
import shutil
import subprocess
import sys

import numpy as np
import pytest

import vdx
from helpers import ROOT, VDX_BIN, cli, ffmpeg  # noqa: F401

OPTIONS = {"frames": 4, "size": "48", "num_clips": 2, "threads": 1}



@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("scale_videos")
    srcs = ["testsrc2=s=96x64:r=25:d=1", "mandelbrot=s=96x64:r=25,trim=duration=1",
            "life=s=96x64:r=25,trim=duration=1,format=yuv420p", "testsrc=s=96x64:r=25:d=1",
            "smptebars=s=96x64:r=25:d=1", "rgbtestsrc=s=96x64:r=25:d=1"]
    for k, src in enumerate(srcs):
        cls = d / ("a" if k % 2 else "b")
        cls.mkdir(exist_ok=True)
        ffmpeg("-f", "lavfi", "-i", src, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-threads", "1",
               str(cls / f"v{k}.mp4"))
    return d


@pytest.fixture(scope="module")
def single(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "one.vdx"
    r = vdx.build(str(inputs), str(out), **OPTIONS)
    assert r["samples"] == 12 and not r["already_built"]
    return str(out)


def assert_same(a_path, b_path):
    a, b = vdx.Dataset(a_path), vdx.Dataset(b_path)
    assert len(a) == len(b) == 12
    assert a.classes == b.classes == ["a", "b"]
    for i in range(len(a)):
        x, y = a[i], b[i]
        assert np.array_equal(x.clip, y.clip), f"sample {i}"
        assert x.label == y.label and x.provenance == y.provenance, f"sample {i}"


def test_vdx_build_shards_and_write_manifest_equal_a_single_build(inputs, single, tmp_path):
    out = tmp_path / "ds"
    for k in (3, 1, 0, 2):
        r = vdx.build(str(inputs), str(out), shard=(k, 4), **OPTIONS)
        assert r["output"].endswith(f"ds-{k:05d}-of-00004.vdx") and not r["already_built"]
    again = vdx.build(str(inputs), str(out), shard=(1, 4), **OPTIONS)
    assert again["already_built"]
    path, m = vdx.write_manifest(str(tmp_path))
    assert path.endswith("ds.vdxm") and m["samples"] == 12 and len(m["shards"]) == 4
    assert_same(single, path)
    ds = vdx.Dataset(path)
    assert [os.path.basename(s) for s in ds.shards] == [f"ds-{k:05d}-of-00004.vdx" for k in range(4)]
    # 6 videos over 4 shards: 1, 2, 1, 2 videos of 2 clips each.
    assert [ds[i].shard for i in range(len(ds))] == [0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3]
    assert vdx.Dataset(path).verify()["problems"] == []
    # A damaged manifest: a shard altered after the manifest was written.
    shard2 = tmp_path / "ds-00002-of-00004.vdx"
    good = shard2.read_bytes()
    bad = bytearray(good)
    bad[-5] ^= 1
    shard2.write_bytes(bytes(bad))
    with pytest.raises(vdx.VdxDatasetError) as e:
        vdx.Dataset(path)
    assert "ds-00002-of-00004.vdx" in str(e.value)
    shard2.unlink()
    with pytest.raises(vdx.VdxDatasetError) as e:
        vdx.Dataset(path)
    assert "ds-00002-of-00004.vdx" in str(e.value) and "missing" in str(e.value)
    shard2.write_bytes(good)
    with pytest.raises(vdx.VdxValueError):
        vdx.build(str(inputs), str(out), shard=(4, 4), **OPTIONS)


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_ranks_over_a_manifest_split_every_epoch_as_documented(inputs, tmp_path, world):
    out = tmp_path / "r"
    for k in range(3):
        vdx.build(str(inputs), str(out), shard=(k, 3), **OPTIONS)
    path, _ = vdx.write_manifest(str(tmp_path))
    ds = vdx.Dataset(path)
    n = len(ds)
    for pad in (True, False):
        loaders = [vdx.Loader(ds, batch_size=2, seed=4, rank=r, world_size=world, pad=pad)
                   for r in range(world)]
        for ld in loaders:
            ld.set_epoch(7)
        glob = loaders[0].global_order()
        # The documented split: pad by repeating the start (or cut) to a multiple of the
        # world size, then every world-th sample from the rank.
        total = -(-n // world) * world if pad else n // world * world
        padded = np.concatenate([glob, glob])[:total]
        shares = []
        for r, ld in enumerate(loaders):
            got = [int(i) for _, _, ids in ld for i in ids]
            assert got == padded[r:total:world].tolist()
            shares.append(got)
        assert len({len(s) for s in shares}) == 1
        flat = [i for s in shares for i in s]
        if pad:
            assert set(flat) == set(range(n))
        else:
            assert len(set(flat)) == len(flat) == total


def _ray_init_kwargs():
    return {"num_cpus": 2, "object_store_memory": 80 * 1024 * 1024, "include_dashboard": False,
            "log_to_driver": False}


def test_ray_data_builds_shards_equal_to_a_single_build(inputs, single, tmp_path, monkeypatch):
    import ray  # installed into the test virtualenv by scripts/pytest.sh
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    mod = runpy.run_path(os.path.join(ROOT, "examples", "ray_build.py"))
    out = tmp_path / "ray" / "ds"
    out.parent.mkdir()
    try:
        manifest, results = mod["run"]([str(inputs)], str(out), 4, actors=2, options=OPTIONS,
                                       init_kwargs=_ray_init_kwargs())
        assert [r["built"] for r in results] == [True] * 4
        assert_same(single, manifest)
        text = open(manifest, "rb").read()
        # A task killed mid-way left no shard (builds are atomic) and the manifest was not
        # written: the driver re-runs, building only that shard, and the manifest is the same.
        os.unlink(out.parent / "ds-00001-of-00004.vdx")
        os.unlink(manifest)
        manifest2, results = mod["run"]([str(inputs)], str(out), 4, actors=2, options=OPTIONS)
        assert [r["built"] for r in results] == [False, True, False, False]
        assert open(manifest2, "rb").read() == text
    finally:
        ray.shutdown()


def test_daft_builds_shards_equal_to_a_single_build(inputs, single, tmp_path):
    import daft  # noqa: F401  (installed by scripts/pytest.sh)
    mod = runpy.run_path(os.path.join(ROOT, "examples", "daft_build.py"))
    out = tmp_path / "daft" / "ds"
    out.parent.mkdir()
    manifest, results = mod["run"]([str(inputs)], str(out), 4, options=OPTIONS)
    assert len(results) == 4 and all(r.startswith("built ") for r in results)
    assert_same(single, manifest)
    manifest2, results = mod["run"]([str(inputs)], str(out), 4, options=OPTIONS)
    assert len(results) == 4 and all(r.startswith("skipped ") for r in results)
    assert open(manifest, "rb").read() == open(manifest2, "rb").read()


def test_the_slurm_script_checks_its_syntax_and_builds_with_array_variables(inputs, single,
                                                                           tmp_path):
    script = os.path.join(ROOT, "examples", "slurm_build.sh")
    subprocess.run(["bash", "-n", script], check=True)
    out = tmp_path / "slurm" / "ds"
    env = {**os.environ, "VDX": VDX_BIN,
           "VDX_BUILD_OPTS": "--frames 4 --size 48 --num-clips 2"}
    # Without the array variables it refuses to run.
    r = subprocess.run(["bash", script, str(inputs), str(out)], env=env, capture_output=True,
                       text=True)
    assert r.returncode != 0 and "SLURM_ARRAY_TASK_ID" in r.stderr
    for k in range(3):
        e = {**env, "SLURM_ARRAY_TASK_ID": str(k), "SLURM_ARRAY_TASK_COUNT": "3",
             "SLURM_CPUS_PER_TASK": "1"}
        subprocess.run(["bash", script, str(inputs), str(out)], env=e, check=True,
                       capture_output=True)
    subprocess.run([VDX_BIN, "manifest", str(out.parent)], check=True, capture_output=True)
    assert_same(single, str(out.parent / "ds.vdxm"))


def test_build_options_are_checked_by_name_with_the_clis_messages(inputs, tmp_path):
    """vdx.build takes the build options by name (no command line in between): an unknown
    name is refused naming it, a bad value gets the very sentence the CLI prints, a size may be
    a number or a (width, height) pair, and nothing is written on refusal."""
    out = tmp_path / "o.vdx"
    with pytest.raises(vdx.VdxValueError, match="framez"):
        vdx.build(str(inputs), str(out), framez=4)
    with pytest.raises(vdx.VdxValueError) as e:
        vdx.build(str(inputs), str(out), field="optical")
    py_msg = str(e.value)
    assert "'optical' is not one of frames, segments, flow" in py_msg, py_msg
    o = subprocess.run([VDX_BIN, "build", str(inputs), "--out", str(out), "--field", "optical"],
                       capture_output=True, text=True)
    assert o.returncode != 0
    assert "invalid --field: 'optical' is not one of frames, segments, flow" in o.stderr, o.stderr
    with pytest.raises(vdx.VdxValueError, match="keyframe_every"):
        vdx.build(str(inputs), str(out), field="flow", keyframe_every=0)
    assert not out.exists()
    r = vdx.build(str(inputs), str(out), frames=2, size=(40, 24), threads=1)
    assert r["samples"] == 6 and r["notes"] == []
    s = vdx.Dataset(str(out))[0]
    assert s.clip.shape == (2, 24, 40, 3), s.clip.shape
