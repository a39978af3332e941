"""The Python package gives byte for byte what vdx's command line gives, on every codec and
container fixture, for all three dataset fields and every bundled recipe; the Loader's
batches are the recipe applied sample by sample, whatever the thread count; its buffers are
recycled; breaking out of epochs leaks neither threads nor memory; and the training
loop docs/python.md shows runs."""
import gc
import json
import os
import runpy
import shutil
import subprocess
import threading

import numpy as np
import pytest
from PIL import Image

import vdx
from helpers import ROOT, VDX_BIN, cli, ffmpeg  # noqa: F401

RECIPES = sorted(os.listdir(os.path.join(ROOT, "assets", "recipes")))




def ffprobe_frame_count(path):
    return int(subprocess.check_output(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames", "-of", "csv=p=0", path]).decode().split()[0].rstrip(","))


def png(path):
    return np.asarray(Image.open(path).convert("RGB"))


SRC = "testsrc2=s=176x144:r=25:d=2,noise=alls=10:allf=t,format=yuv420p"
CODECS = {
    "h264.mp4": ["-c:v", "libx264", "-bf", "3", "-g", "12", "-sc_threshold", "0"],
    "xvid_packed.avi": ["-c:v", "libxvid", "-bf", "1", "-g", "20", "-q:v", "4"],
    "hevc.mkv": ["-c:v", "libx265", "-x265-params", "keyint=15:log-level=error"],
    "vp9.webm": ["-c:v", "libvpx-vp9", "-g", "10", "-deadline", "realtime", "-cpu-used", "8"],
    "av1.mp4": ["-c:v", "libsvtav1", "-g", "16", "-preset", "12"],
    "h264.ts": ["-c:v", "libx264", "-bf", "2", "-g", "10"],
    "mpeg4.mov": ["-c:v", "mpeg4", "-bf", "2", "-g", "12", "-q:v", "4"],
}


@pytest.fixture(scope="module")
def codec_videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("codecs")
    out = {}
    for name, args in CODECS.items():
        path = str(d / name)
        ffmpeg("-f", "lavfi", "-i", SRC, *args, "-threads", "1", path)
        out[name] = path
    return out


@pytest.mark.parametrize("name", list(CODECS))
def test_video_reader_equals_vdx_frames(codec_videos, name, tmp_path):
    path = codec_videos[name]
    r = vdx.VideoReader(path)
    n = len(r)
    assert n == ffprobe_frame_count(path) >= 48, name
    order = np.random.default_rng(len(name)).permutation(n)[:12]
    cli("frames", path, "--at", ",".join(map(str, order)), "--out", str(tmp_path / "f"))
    theirs = {int(i): png(tmp_path / "f" / f"frame_{int(i):06d}.png") for i in order}
    batch = r.get_frames_at(order)  # random order, one batch
    assert batch.indices.tolist() == order.tolist()
    for k, i in enumerate(order):
        assert np.array_equal(batch.data[k], theirs[int(i)]), f"{name}: frame {i} in a batch"
    for i in order[:4]:  # one by one, on a reader that has seen other frames
        assert np.array_equal(r[int(i)], theirs[int(i)]), f"{name}: frame {i} alone"
    # At a size, as a loader reads: equal to the CLI at the same size.
    small = vdx.VideoReader(path, size=64)
    cli("frames", path, "--at", ",".join(map(str, order[:4])), "--size", "64",
        "--out", str(tmp_path / "s"))
    got = small.get_frames_at(order[:4])
    for k, i in enumerate(order[:4]):
        assert np.array_equal(got.data[k], png(tmp_path / "s" / f"frame_{int(i):06d}.png"))


@pytest.mark.parametrize("name", ["h264.mp4", "xvid_packed.avi", "vp9.webm"])
@pytest.mark.parametrize("sampler", ["uniform", "regular", "random"])
def test_clips_equal_vdx_clips(codec_videos, name, sampler, tmp_path):
    path = codec_videos[name]
    out = tmp_path / "c.npy"
    cli("clips", path, "--sampler", sampler, "--clips", "3", "--frames", "6", "--stride", "2",
        "--seed", "11", "--step", "9", "--size", "48", "--out", str(out))
    meta = json.loads(out.with_suffix(".json").read_text())
    c = vdx.VideoReader(path, size=48).clips(sampler, num_clips=3, frames=6, stride=2, step=9,
                                             seed=11)
    theirs = np.load(out)
    assert c.data.shape == theirs.shape
    assert np.array_equal(c.data, theirs), f"{name} {sampler}"
    assert c.indices.tolist() == [m["frame_indices"] for m in meta["clips"]]
    assert np.allclose(c.pts_seconds, [m["times_secs"] for m in meta["clips"]])
    assert c.padded.tolist() == [m["padded"] for m in meta["clips"]]


@pytest.mark.parametrize("snap", [("keyframe", 0), ("cheapest", 5)])
def test_snapped_clips_equal_vdx_clips_and_cost_less(codec_videos, snap, tmp_path):
    """snap= moves random clips as `vdx clips --snap` does, with the same decode costs, and
    the clips cost less to decode than with exact starts."""
    path = codec_videos["h264.mp4"]
    mode, within = snap
    out = tmp_path / "c.npy"
    cli("clips", path, "--sampler", "random", "--clips", "6", "--frames", "4", "--seed", "3",
        "--snap", mode, "--within", str(within), "--size", "32", "--out", str(out))
    meta = json.loads(out.with_suffix(".json").read_text())
    r = vdx.VideoReader(path, size=32)
    c = r.clips("random", num_clips=6, frames=4, seed=3, snap=mode, within=within)
    assert np.array_equal(c.data, np.load(out))
    assert c.indices.tolist() == [m["frame_indices"] for m in meta["clips"]]
    assert c.decode_cost.tolist() == meta["decode_cost"]
    exact = r.clips("random", num_clips=6, frames=4, seed=3)
    assert c.decode_cost.sum() < exact.decode_cost.sum(), (c.decode_cost, exact.decode_cost)
    if mode == "keyframe":
        keyframes = set(r.keyframe_indices.tolist())
        assert all(int(s) in keyframes for s in c.indices[:, 0])
    with pytest.raises(vdx.VdxValueError, match="within"):
        r.clips("random", snap="cheapest")


def test_audio_equals_vdx_audio(tmp_path):
    path = str(tmp_path / "a.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=25:d=2", "-f", "lavfi", "-i",
           "sine=f=330:d=2:r=44100", "-c:v", "libx264", "-c:a", "aac", "-shortest", path)
    for rate in (16000, 22050):
        out = tmp_path / f"a{rate}.npy"
        cli("audio", path, "--rate", str(rate), "--out", str(out))
        ours = vdx.VideoReader(path).audio(rate)
        assert ours.dtype == np.float32 and np.array_equal(ours, np.load(out)), rate


@pytest.fixture(scope="module")
def field_datasets(tmp_path_factory, codec_videos):
    d = tmp_path_factory.mktemp("fields")
    root = d / "videos"
    for cls, name in (("a", "h264.mp4"), ("b", "xvid_packed.avi")):
        (root / cls).mkdir(parents=True)
        shutil.copy(codec_videos[name], root / cls / name)
    out = {}
    for field in ("frames", "segments", "flow"):
        out[field] = str(d / f"{field}.vdx")
        cli("build", str(root), "--out", out[field], "--field", field, "--frames", "8",
            "--size", "64", "--num-clips", "3", "--quiet")
    return out


@pytest.mark.parametrize("field", ["frames", "segments", "flow"])
def test_dataset_samples_equal_vdx_inspect(field_datasets, field, tmp_path):
    path = field_datasets[field]
    ds = vdx.Dataset(path)
    assert len(ds) == 6 and ds.field == field
    info = json.loads(cli("inspect", path, "--json"))
    assert ds.classes == info["info"]["classes"] == ["a", "b"]
    for i in (0, 4):
        s = ds[i]
        out = tmp_path / f"s{i}"
        cli("inspect", path, "--sample", str(i), "--frames-out", str(out))
        assert s.label == info["samples"][i]["label"]
        assert s.provenance == info["samples"][i]["provenance"]
        if field == "flow":
            assert s.flow.dtype == np.int8 and s.flow.shape == (7, 64, 64, 2)
            assert s.keyframe_positions.tolist() == [0]
            for k, p in enumerate(s.keyframe_positions):
                assert np.array_equal(s.keyframes[k], png(out / f"keyframe_{p:03d}.png"))
            assert len(list(out.glob("flow_*.png"))) == 7
        else:
            assert s.clip.shape == (8, 64, 64, 3)
            for t in range(8):
                assert np.array_equal(s.clip[t], png(out / f"frame_{t:03d}.png")), (field, i, t)


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_equals_vdx_augment(field_datasets, recipe, tmp_path):
    path = field_datasets["frames"]
    rpath = os.path.join(ROOT, "assets", "recipes", recipe)
    rec = vdx.Recipe.load(rpath)
    ds = vdx.Dataset(path)
    for i in (1, 5):
        out = tmp_path / f"aug{i}.npy"
        cli("augment", path, "--sample", str(i), "--recipe", rpath, "--draws", "3",
            "--out", str(out))
        theirs = np.load(out)
        for epoch in range(3):
            ours, draws = rec.apply(ds[i].clip, sample=i, epoch=epoch)
            assert ours.dtype == np.float32 and ours.shape == theirs[epoch].shape
            assert np.array_equal(ours, theirs[epoch]), f"{recipe}: sample {i} epoch {epoch}"


@pytest.mark.parametrize("recipe", ["train_224.json", None])
def test_loader_batches_are_the_recipe_sample_by_sample_on_any_thread_count(field_datasets,
                                                                             recipe):
    ds = vdx.Dataset(field_datasets["frames"])
    rec = vdx.Recipe.load(os.path.join(ROOT, "assets", "recipes", recipe)) if recipe else None
    runs = []
    for threads in (1, 2):
        ld = vdx.Loader(ds, batch_size=4, recipe=rec, seed=3, num_threads=threads)
        ld.set_epoch(2)
        runs.append([(c.copy(), l.copy(), i.copy()) for c, l, i in ld])
    for (c1, l1, i1), (c2, l2, i2) in zip(*runs, strict=True):
        assert np.array_equal(c1, c2) and np.array_equal(l1, l2) and np.array_equal(i1, i2)
    seen = []
    for clips, labels, ids in runs[0]:
        for k, i in enumerate(ids):
            i = int(i)
            want = rec.apply(ds[i].clip, sample=i, epoch=2)[0][0] if rec else ds[i].clip
            assert np.array_equal(clips[k], want), f"sample {i}"
            assert labels[k] == ds[i].label
        seen += ids.tolist()
    assert sorted(seen) == list(range(6))
    # drop_last: every index at most once, only whole batches.
    ld = vdx.Loader(ds, batch_size=4, seed=3, drop_last=True)
    ids = [i for _, _, b in ld for i in b.tolist()]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert ids == ld.order()[:4].tolist()


def test_loader_buffers_are_recycled_and_kept_batches_stay_intact(field_datasets):
    ds = vdx.Dataset(field_datasets["frames"])
    ld = vdx.Loader(ds, batch_size=2, shuffle=False, prefetch=0)
    kept = [(c, c.copy()) for c, _, _ in ld]  # held batches must never be overwritten
    for _ in range(3):
        for c, _, _ in ld:
            pass
    for c, snapshot in kept:
        assert np.array_equal(c, snapshot)
    stats = ld.buffer_stats()
    # 3 held + at most one in flight; later epochs reuse the buffers they give back.
    assert stats["allocated"] <= 5, stats
    assert stats["reused"] >= 6, stats
    del kept, c
    gc.collect()
    before = ld.buffer_stats()["allocated"]
    for epoch in range(3):
        ld.set_epoch(epoch)
        for c, _, _ in ld:
            pass
    assert ld.buffer_stats()["allocated"] == before, "a dropped batch's buffer was not reused"


def _rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_breaking_out_of_epochs_leaks_no_threads_or_memory(field_datasets):
    ds = vdx.Dataset(field_datasets["frames"])
    rec = vdx.Recipe.load(os.path.join(ROOT, "assets", "recipes", "light.json"))
    ld = vdx.Loader(ds, batch_size=2, recipe=rec, prefetch=2)
    rss = []
    threads = []
    for epoch in range(50):
        ld.set_epoch(epoch)
        for k, (clips, labels, ids) in enumerate(ld):
            if k == 1:
                break  # the prefetched batch is abandoned
        del clips, labels, ids
        gc.collect()
        rss.append(_rss_kib())
        # vdx's own Python threads (the prefetchers): none may outlive an abandoned epoch.
        threads.append(sum(t.name.startswith("vdx") for t in threading.enumerate()))
    assert len(rss) == 50
    assert threads == [0] * 50, threads
    # Flat after warm-up: an abandoned batch that leaked would add 9.6 MB (two f32 clips)
    # every epoch, 40 steps up over epochs 10-49. The allocator may take a step or two (seen
    # once after PyTorch loaded, once at 21 MB late in the run): at most two epochs may grow
    # by more than 4 MiB, and epochs 10-49 stay within 32 MiB in all.
    steps = [b - a for a, b in zip(rss[10:], rss[11:]) if b - a > 4096]
    assert len(steps) <= 2, rss
    assert rss[-1] - rss[10] < 32768, rss


def test_a_damaged_dataset_raises_naming_the_sample(field_datasets, tmp_path):
    src = field_datasets["frames"]
    ds = vdx.Dataset(src)
    raw = bytearray(open(src, "rb").read())
    # Zero the JPEG start marker of sample 2's first frame: its checksum and decode fail.
    info = json.loads(cli("inspect", src, "--json"))
    s2 = info["samples"][2]
    ptr = s2["data_ptr"]
    first = int.from_bytes(raw[ptr:ptr + 8], "little")
    assert raw[ptr + first:ptr + first + 2] == b"\xff\xd8"
    raw[ptr + first:ptr + first + 2] = b"\0\0"
    bad = tmp_path / "damaged.vdx"
    bad.write_bytes(bytes(raw))
    ld = vdx.Loader(str(bad), batch_size=3, shuffle=False)
    with pytest.raises(vdx.VdxDatasetError) as e:
        list(ld)
    assert "sample 2" in str(e.value) and "damaged.vdx" in str(e.value), str(e.value)
    assert len(ds) == 6


def test_the_readme_training_loop_runs(field_datasets, capsys):
    mod = runpy.run_path(os.path.join(ROOT, "examples", "train_loop.py"))
    losses = mod["main"]([field_datasets["frames"],
                          os.path.join(ROOT, "assets", "recipes", "light.json"),
                          "--epochs", "2", "--batch-size", "4"])
    assert len(losses) == 4 and all(np.isfinite(losses))
    out = capsys.readouterr().out
    assert "epoch 0: 6 clips" in out and "epoch 1: 6 clips" in out
    with open(os.path.join(ROOT, "docs", "python.md"), encoding="utf-8") as f:
        readme = f.read()
    with open(os.path.join(ROOT, "examples", "train_loop.py"), encoding="utf-8") as f:
        loop = f.read()
    # docs/python.md shows the loop as it is run here.
    body = loop.split("def main(argv=None):", 1)[1].split("if __name__", 1)[0]
    assert body.strip() in readme
