"""The vdx Python package against FFmpeg's own decode and vdx's own command line: the frames a
training loop reads are the frames the explorer shows."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import vdx
from helpers import ROOT, VDX_BIN, cli, ffmpeg  # noqa: F401





@pytest.fixture(scope="session")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    noise = "testsrc2=s=192x108:r=30:d=3,noise=alls=20:allf=t,format=yuv420p"
    out = {}
    out["h264"] = str(d / "h264_bframes.mp4")
    ffmpeg("-f", "lavfi", "-i", noise, "-f", "lavfi", "-i", "sine=f=440:d=3:r=16000",
           "-c:v", "libx264", "-preset", "fast", "-g", "24", "-keyint_min", "24", "-sc_threshold", "0",
           "-bf", "3", "-threads", "1",
           "-c:a", "aac", "-shortest", out["h264"])
    # Xvid with packed B-frames: AVI carries no presentation timestamps.
    out["xvid"] = str(d / "xvid_packed.avi")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=3,noise=alls=12:allf=t",
           "-c:v", "libxvid", "-bf", "1", "-g", "30", "-q:v", "4", "-threads", "1", out["xvid"])
    out["text"] = str(d / "notes.mp4")
    with open(out["text"], "w") as f:
        f.write("not a video")
    return out


@pytest.fixture(scope="session")
def dataset(tmp_path_factory, videos):
    d = tmp_path_factory.mktemp("ds")
    root = d / "videos"
    for cls, name in (("a", "h264"), ("b", "xvid")):
        (root / cls).mkdir(parents=True)
        shutil.copy(videos[name], root / cls / os.path.basename(videos[name]))
    out = str(d / "ds.vdx")
    cli("build", str(root), "--out", out, "--frames", "8", "--size", "64", "--num-clips", "3",
        "--quiet")
    return out


def ffmpeg_frames_by_pos(path):
    """FFmpeg's sequential decode: {packet byte position: RGB24 frame}."""
    info = json.loads(subprocess.check_output(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height:frame=pkt_pos", "-of", "json", path]))
    w, h = info["streams"][0]["width"], info["streams"][0]["height"]
    raw = subprocess.check_output(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0",
                                   "-fps_mode", "passthrough", "-pix_fmt", "rgb24", "-f",
                                   "rawvideo", "-"])
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    pos = [int(f["pkt_pos"]) for f in info["frames"]]
    assert len(pos) == len(frames)
    return dict(zip(pos, frames))


@pytest.mark.parametrize("name", ["h264", "xvid"])
def test_every_frame_is_ffmpegs_picture_of_the_same_packet(videos, name):
    path = videos[name]
    theirs = ffmpeg_frames_by_pos(path)
    r = vdx.VideoReader(path)
    idx = vdx.index(path)
    assert len(r) == len(idx) == len(theirs)
    order = np.random.default_rng(1).permutation(len(r))
    batch = r.get_frames_at(order)
    assert batch.data.shape[0] == len(r) and batch.data.dtype == np.uint8
    assert list(batch.indices) == list(order)
    for k, i in enumerate(order):
        assert np.array_equal(batch.data[k], theirs[int(idx.pos[i])]), f"frame {i}"
    # One at a time, negative indices and slices.
    assert np.array_equal(r[-1], theirs[int(idx.pos[-1])])
    s = r[2:20:6]
    assert list(s.indices) == [2, 8, 14]
    assert np.all(np.diff(s.pts_seconds) > 0) and np.all(s.duration_seconds > 0)


def test_index_probe_and_times(videos):
    idx = vdx.index(videos["h264"])
    assert idx.frame_count == 90 and idx.codec == "h264"
    assert list(idx.keyframe_indices) == [0, 24, 48, 72]
    assert set(idx.picture_types) <= set("IPB?") and "B" in idx.picture_types
    assert idx.pts.dtype == np.int64 and np.all(np.diff(idx.pts) > 0)
    p = vdx.probe(videos["h264"])
    assert any(s["codec_type"] == "video" for s in p["streams"])
    r = vdx.VideoReader(videos["h264"])
    b = r.get_frames_played_at([0.0, 1.0, 1.01])
    assert list(b.indices) == [0, 30, 30]
    assert r.keyframe_indices.tolist() == [0, 24, 48, 72]
    a = r.audio(16000)
    assert a.dtype == np.float32 and abs(len(a) - 48000) < 2000


def test_clips_follow_the_sampler(videos):
    r = vdx.VideoReader(videos["h264"], size=64)
    c = r.clips("uniform", num_clips=3, frames=4)
    assert c.data.shape == (3, 4, 64, 64, 3) and c.data.dtype == np.uint8
    assert c.indices[0, 0] == 0 and c.indices[-1, -1] == 89
    g = r.clips("regular", frames=4, stride=2, step=10)
    assert np.all(np.diff(g.indices, axis=1) == 2) and g.indices[1, 0] == 10
    frames = r.get_frames_at(g.indices[1])
    assert np.array_equal(g.data[1], frames.data)
    f = r.clips("random", num_clips=2, frames=4, seed=3, dtype="f32")
    assert f.data.shape == (2, 1, 4, 64, 64, 3) and f.data.dtype == np.float32
    again = r.clips("random", num_clips=2, frames=4, seed=3)
    assert np.array_equal(f.indices, again.indices)
    assert np.allclose(f.data[:, 0], again.data / 255.0)


def test_errors_are_python_exceptions_with_vdx_messages(videos, tmp_path):
    missing = str(tmp_path / "missing.mp4")
    with pytest.raises(FileNotFoundError) as e:
        vdx.VideoReader(missing)
    assert isinstance(e.value, vdx.VdxError) and "missing.mp4" in str(e.value)
    with pytest.raises(vdx.VdxError) as e:
        vdx.VideoReader(videos["text"])
    assert "notes.mp4" in str(e.value)
    with pytest.raises(ValueError):
        vdx.VideoReader(videos["h264"], size=64, resize="sideways")
    r = vdx.VideoReader(videos["h264"])
    with pytest.raises(IndexError) as e:
        r.get_frames_at([90])
    assert "out of range" in str(e.value)
    with pytest.raises(ValueError):
        r.clips("sideways")
    with pytest.raises(vdx.VdxDatasetError):
        vdx.Dataset(videos["h264"])


def test_dataset_samples_equal_the_cli_export(dataset, tmp_path):
    ds = vdx.Dataset(dataset)
    assert len(ds) == 6 and ds.classes == ["a", "b"] and ds.field == "frames"
    out = tmp_path / "npy"
    cli("export", dataset, "--format", "npy", "--out", str(out), "--quiet")
    shard = np.load(next(out.rglob("shard_*.npy")))
    meta = json.loads(next(out.rglob("shard_*.json")).read_text())
    # Beside the clips: the first label of each sample.
    assert np.load(next(out.rglob("labels_*.npy"))).tolist() == [m["label"] for m in meta]
    assert shard.shape[0] == len(ds)
    for k in range(len(ds)):
        s = ds[k]
        assert s.clip.shape == (8, 64, 64, 3)
        assert np.array_equal(s.clip, shard[k])
        assert s.provenance["source"].endswith((".mp4", ".avi"))
    assert [ds[i].label for i in range(len(ds))] == [m["label"] for m in meta]
    assert [m["sample"] for m in meta] == list(range(len(ds)))
    assert np.array_equal(ds[-1].clip, ds[len(ds) - 1].clip)
    with pytest.raises(IndexError):
        ds[len(ds)]
    rep = ds.verify()
    assert rep["problems"] == [] and rep["decoded"] == len(ds)


def test_recipe_apply_equals_vdx_augment(dataset, tmp_path):
    recipe_path = os.path.join(ROOT, "assets", "recipes", "light.json")
    rec = vdx.Recipe.load(recipe_path)
    ds = vdx.Dataset(dataset)
    out = tmp_path / "aug.npy"
    cli("augment", dataset, "--sample", "2", "--recipe", recipe_path, "--draws", "3",
        "--out", str(out))
    theirs = np.load(out)
    clip = ds[2].clip
    for epoch in range(3):
        ours, draws = rec.apply(clip, sample=2, epoch=epoch)
        assert ours.dtype == np.float32
        assert np.array_equal(ours, theirs[epoch]), f"epoch {epoch}"
    with pytest.raises(ValueError):
        vdx.Recipe.from_json('{"version": 1, "ops": [{"op": "sharpen"}]}')


def test_loader_order_batches_and_epochs(dataset):
    ds = vdx.Dataset(dataset)
    ld = vdx.Loader(ds, batch_size=4, shuffle=True, seed=5)
    assert len(ld) == 2
    o0 = ld.order()
    assert sorted(o0.tolist()) == list(range(6))
    assert np.array_equal(o0, vdx.Loader(ds, batch_size=2, seed=5).order())
    ld.set_epoch(1)
    assert not np.array_equal(o0, ld.order())
    seen = []
    for clips, labels, ids in ld:
        assert clips.dtype == np.uint8 and clips.shape[1:] == (8, 64, 64, 3)
        for k, i in enumerate(ids):
            assert np.array_equal(clips[k], ds[int(i)].clip)
            assert labels[k] == ds[int(i)].label
        seen += ids.tolist()
    assert sorted(seen) == list(range(6))
    assert len(vdx.Loader(ds, batch_size=4, drop_last=True)) == 1
    rec = vdx.Recipe.load(os.path.join(ROOT, "assets", "recipes", "light.json"))
    lr = vdx.Loader(ds, batch_size=3, recipe=rec, shuffle=False)
    clips, labels, ids = next(iter(lr))
    want, _ = rec.apply(ds[1].clip, sample=1, epoch=0)
    assert clips.dtype == np.float32 and np.array_equal(clips[1], want[0])


def test_decoding_releases_the_gil(videos):
    r = vdx.VideoReader(videos["xvid"])
    n = len(r)
    ticks = [0]
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks[0] += 1

    t = threading.Thread(target=count)
    t.start()
    t0 = time.perf_counter()
    for _ in range(3):
        r.get_frames_at(list(range(n)))
    elapsed = time.perf_counter() - t0
    done.set()
    t.join()
    # With the GIL held for the whole decode the counter would barely move.
    assert ticks[0] > 1000, (ticks[0], elapsed)


# Run in a fresh interpreter: a forked child inherits every thread of its parent, and by
# this point the test process also runs Ray's, Daft's and PyTorch's (test_scale, test_ffcv),
# whose fork safety is not vdx's to test. Here the parent has vdx's own work in flight when
# it forks: a Loader's prefetch and a thread reading samples. A child that hangs prints where
# (faulthandler) before it is killed.
_FORK_SCRIPT = r"""
import faulthandler, multiprocessing, sys, threading
import vdx

def child(path, q):
    faulthandler.dump_traceback_later(40, exit=True)
    ld = vdx.Loader(path, batch_size=3, shuffle=False)
    clips, labels, ids = next(iter(ld))
    q.put((clips.shape, vdx.Dataset(path)[0].clip.shape))

def busy(ds, stop):
    while not stop.is_set():
        for i in range(len(ds)):
            ds[i]

if __name__ == "__main__":
    path = sys.argv[1]
    ds = vdx.Dataset(path)
    stop = threading.Event()
    busy_thread = threading.Thread(target=busy, args=(ds, stop), daemon=True)
    busy_thread.start()
    it = iter(vdx.Loader(ds, batch_size=3))
    next(it)
    for method in ("fork", "fork", "fork", "spawn"):
        ctx = multiprocessing.get_context(method)
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(path, q))
        p.start()
        p.join(60)
        if p.exitcode is None:
            p.kill()
        if p.exitcode != 0:
            stop.set()
        assert p.exitcode == 0, f"{method}: child exit {p.exitcode}"
        print(method, q.get(timeout=5), flush=True)
    stop.set()
    busy_thread.join()
"""


def test_loader_works_in_forked_and_spawned_workers(dataset, tmp_path):
    script = tmp_path / "fork_workers.py"
    script.write_text(_FORK_SCRIPT)
    r = subprocess.run([sys.executable, str(script), dataset], capture_output=True, text=True,
                       timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.split("\n")
    want = "((3, 8, 64, 64, 3), (8, 64, 64, 3))"
    assert lines[:4] == [f"fork {want}"] * 3 + [f"spawn {want}"], r.stdout + r.stderr


def test_ranks_share_an_epoch_like_distributed_sampler(dataset):
    ds = vdx.Dataset(dataset)
    n = len(ds)
    for world in (1, 2, 3, 4):
        for pad in (True, False):
            shares = [vdx.Loader(ds, batch_size=2, seed=9, rank=r, world_size=world, pad=pad)
                      for r in range(world)]
            for ld in shares:
                ld.set_epoch(3)
            orders = [ld.order() for ld in shares]
            glob = shares[0].global_order()
            assert len({len(o) for o in orders}) == 1, "equal shares"
            total = -(-n // world) * world if pad else n // world * world
            padded = np.concatenate([glob, glob])[:total]
            for r, o in enumerate(orders):
                assert o.tolist() == padded[r:total:world].tolist()
            flat = np.concatenate(orders)
            if pad:
                assert set(flat.tolist()) == set(range(n))
            else:
                assert len(set(flat.tolist())) == len(flat), "disjoint"
    with pytest.raises(ValueError):
        vdx.Loader(ds, batch_size=2, rank=2, world_size=2)


def test_prefetching_gives_the_same_batches(dataset):
    ds = vdx.Dataset(dataset)
    a = [(c.copy(), l.copy(), i.copy()) for c, l, i in vdx.Loader(ds, batch_size=2, prefetch=0)]
    b = list(vdx.Loader(ds, batch_size=2, prefetch=3))
    assert len(a) == len(b) == 3
    for (c1, l1, i1), (c2, l2, i2) in zip(a, b):
        assert np.array_equal(c1, c2) and np.array_equal(l1, l2) and np.array_equal(i1, i2)


def test_damaged_frames_raise_or_are_filled_and_listed(videos, tmp_path):
    # The second IDR's slice type flipped from I to SP: FFmpeg cannot decode that group.
    data = bytearray(open(videos["h264"], "rb").read())
    idrs = [i for i in range(4, len(data) - 1) if data[i] == 0x65 and data[i + 1] == 0x88
            and 100 < int.from_bytes(data[i - 4:i], "big") <= len(data) - i]
    data[idrs[1] + 1] = 0x89
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(bytes(data))
    r = vdx.VideoReader(bad)
    with pytest.raises(vdx.VdxDecodeError) as e:
        r.clips("regular", frames=30, step=30)
    assert "damaged.mp4" in str(e.value)
    c = r.clips("regular", frames=30, step=30, damaged="repeat")
    assert len(c.damaged) == len(c) and sum(len(d) for d in c.damaged) >= 10
    for k, positions in enumerate(c.damaged):
        for p in positions:
            with pytest.raises(vdx.VdxError):
                r.get_frames_at([int(c.indices[k, p])])
    idx = vdx.index(bad, check_decode=True)
    assert idx.decode_status.count("undecodable") >= 10


def test_repeated_reads_reuse_freed_memory(videos):
    """Reading a small video again and again takes its memory back from the allocator, not
    from the system: vdx keeps freed heap in the process (vdx::memory), so the pages a read
    touches are not faulted in afresh on every call. Before, every call of this loop faulted in
    every page it touched (about 2 x its frames' bytes); now a call faults in less than a tenth
    of one copy of its frames."""
    import resource

    path = videos["xvid"]

    def read():
        return vdx.VideoReader(path, threads=1).get_frames_at(list(range(len(vdx.index(path)))))

    frames_bytes = read().data.nbytes
    for _ in range(3):  # warm up: the heap grows to what one call needs
        read()
    calls = 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        read()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    per_call = faults * resource.getpagesize() / calls
    assert per_call < frames_bytes / 10, (
        f"{faults} page faults in {calls} calls: {per_call / 1e6:.1f} MB a call faulted in, "
        f"for {frames_bytes / 1e6:.1f} MB of frames")
