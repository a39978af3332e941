"""FFCV's own Loader reads vdx datasets through vdx.ffcv: frames, segments and flow give exactly
vdx's decode with the same labels, in sequential and random order, for batch sizes 1 and 4,
with ToTensor after the decoder; a recipe step gives Recipe.apply's output byte for byte; a
damaged sample is a clear error, not a hang."""
import hashlib
import os
import shutil
import subprocess

import numpy as np
import pytest

import vdx
from helpers import ROOT, VDX_BIN, cli, ffmpeg  # noqa: F401

import torch  # noqa: E402  (FFCV needs it; both installed by scripts/pytest.sh)
from ffcv.fields.decoders import IntDecoder  # noqa: E402
from ffcv.loader import Loader, OrderOption  # noqa: E402
from ffcv.pipeline.pipeline_spec import PipelineSpec  # noqa: E402
from ffcv.transforms import ToTensor  # noqa: E402

import vdx.ffcv as vf  # noqa: E402


vf.register()



@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    d = tmp_path_factory.mktemp("ffcv")
    for cls, src in (("a", "testsrc2=s=160x120:r=25:d=2"),
                     ("b", "mandelbrot=s=160x120:r=25,trim=duration=2")):
        (d / "v" / cls).mkdir(parents=True)
        ffmpeg("-f", "lavfi", "-i", src, "-c:v", "libx264", "-pix_fmt", "yuv420p",
               "-threads", "1", str(d / "v" / cls / f"{cls}.mp4"))
    out = {}
    for field in ("frames", "segments", "flow"):
        out[field] = str(d / f"{field}.vdx")
        r = vdx.build(str(d / "v"), out[field], field=field, frames=6, size="64",
                      num_clips=3, keyint=3, threads=1)
        assert r["samples"] == 6
    return out


def digest(a):
    return hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()


def loader(path, field, bs, order, extra=None):
    dec = {"frames": vf.FramesDecoder, "segments": vf.SegmentsDecoder,
           "flow": vf.FlowKeyframesDecoder}[field]
    pipelines = {field: [dec(), ToTensor()], "label": [IntDecoder(), ToTensor()],
                 "provenance": None, "checksum": None}
    pipelines.update(extra or {})
    return Loader(path, batch_size=bs, num_workers=2, order=order, pipelines=pipelines,
                  drop_last=False)


@pytest.mark.parametrize("field", ["frames", "segments", "flow"])
@pytest.mark.parametrize("bs", [1, 4])
@pytest.mark.parametrize("order", [OrderOption.SEQUENTIAL, OrderOption.RANDOM])
def test_ffcv_loader_yields_vdx_decode(datasets, field, bs, order):
    path = datasets[field]
    ds = vdx.Dataset(path)
    want = {}
    for i in range(len(ds)):
        s = ds[i]
        clip = s.keyframes if field == "flow" else s.clip
        want[digest(clip)] = (i, s.label)
    seen = []
    ld = loader(path, field, bs, order)
    for batch in ld:
        clips, labels = batch[0], batch[1]
        assert isinstance(clips, torch.Tensor) and clips.dtype == torch.uint8
        assert clips.shape[0] <= bs
        for k in range(clips.shape[0]):
            key = digest(clips[k].numpy())
            assert key in want, f"{field}: a clip FFCV gave is not any of vdx's samples"
            i, label = want[key]
            assert int(labels[k].reshape(-1)[0]) == label
            seen.append(i)
    if order == OrderOption.SEQUENTIAL:
        assert seen == list(range(len(ds)))
    else:
        assert sorted(seen) == list(range(len(ds)))


def test_flow_field_gives_keyframes_and_flow(datasets):
    path = datasets["flow"]
    ds = vdx.Dataset(path)
    ld = loader(path, "flow", 4, OrderOption.SEQUENTIAL,
                {"flow_q": PipelineSpec("flow", decoder=vf.FlowDecoder())})
    i = 0
    for batch in ld:
        kf, _, flow = batch[0], batch[1], batch[2]
        for k in range(len(kf)):
            s = ds[i]
            assert np.array_equal(kf[k].numpy(), s.keyframes)
            assert flow.dtype == np.int8 and np.array_equal(flow[k], s.flow)
            i += 1
    assert i == len(ds)


def test_recipe_step_equals_recipe_apply(datasets):
    path = datasets["frames"]
    ds = vdx.Dataset(path)
    rec = vdx.Recipe.load(os.path.join(ROOT, "assets", "recipes", "light.json"))
    aug = vf.RecipeAugment(rec)
    for epoch in (0, 1):
        aug.set_epoch(epoch)
        ld = Loader(path, batch_size=4, num_workers=2, order=OrderOption.SEQUENTIAL,
                    drop_last=False,
                    pipelines={"frames": [vf.FramesDecoder(), aug, ToTensor()],
                               "label": [IntDecoder()], "provenance": None, "checksum": None})
        i = 0
        for clips, _ in ld:
            for k in range(clips.shape[0]):
                want, _ = rec.apply(ds[i].clip, sample=i, epoch=epoch)
                got = clips[k].numpy()
                assert got.dtype == np.float32 and np.array_equal(got, want[0]), (epoch, i)
                i += 1
        assert i == len(ds)


def test_a_damaged_sample_is_a_clear_error(datasets, tmp_path):
    src = datasets["frames"]
    raw = bytearray(open(src, "rb").read())
    import json
    meta = json.loads(subprocess.check_output([VDX_BIN, "inspect", src, "--json"]))
    ptr = meta["samples"][5]["data_ptr"]
    first = int.from_bytes(raw[ptr:ptr + 8], "little")
    raw[ptr + first:ptr + first + 2] = b"\0\0"
    bad = tmp_path / "damaged.vdx"
    bad.write_bytes(bytes(raw))
    ld = loader(str(bad), "frames", 2, OrderOption.SEQUENTIAL)
    with pytest.raises(vdx.VdxDatasetError) as e:
        for _ in ld:
            pass
    msg = str(e.value)
    assert "damaged.vdx" in msg and "sample 5" in msg and "JPEG" in msg.upper(), msg


def test_field_arguments_round_trip_and_writing_is_refused(datasets):
    from ffcv.reader import Reader
    r = Reader(datasets["segments"])
    h = r.handlers["segments"]
    assert isinstance(h, vf.SegmentsField) and h.arguments["codec"] == "h264"
    back = vf.SegmentsField.from_binary(h.to_binary())
    assert back.arguments == h.arguments
    assert r.metadata["f0"]["num_frames"].tolist() == [6] * 6
    with pytest.raises(NotImplementedError, match="checksum"):
        h.encode(None, None, None)


def test_a_split_with_every_label_through_ffcv_equals_vdx_loader(datasets, tmp_path):
    """An annotation dataset through FFCV: ``split_indices`` gives FFCV's Loader the split's
    samples and ``MultiHotLabels`` every label, equal to vdx.Dataset's split, its multi-hot
    rows and its decode."""
    videos = os.path.dirname(datasets["frames"])
    ann = tmp_path / "rows.jsonl"
    rows = [
        {"video": "v/a/a.mp4", "start": 0.0, "end": 1.0, "labels": ["run", "jump"],
         "split": "train"},
        {"video": "v/a/a.mp4", "start": 1.0, "end": 2.0, "label": "sit", "split": "val"},
        {"video": "v/b/b.mp4", "start": 0.2, "end": 1.6, "labels": ["sit", "run"],
         "split": "train"},
        {"video": "v/b/b.mp4", "start": 1.0, "end": 1.8, "label": "jump", "split": "train"},
    ]
    ann.write_text("".join(__import__("json").dumps(r) + "\n" for r in rows))
    path = str(tmp_path / "ann.vdx")
    vdx.build(None, path, annotations=str(ann), videos=videos, frames=4, size=48, threads=1)
    ds = vdx.Dataset(path)
    idx = vf.split_indices(path, "train")
    assert list(idx) == ds.split("train").indices and len(idx) == 3
    hot = ds.multi_hot()
    assert hot.sum(axis=1).tolist() == [2, 1, 2, 1]
    ld = Loader(path, batch_size=2, num_workers=1, order=OrderOption.SEQUENTIAL,
                indices=idx, drop_last=False,
                pipelines={"frames": [vf.FramesDecoder()],
                           "label": [IntDecoder(), vf.MultiHotLabels(path)],
                           "provenance": None, "checksum": None})
    seen = []
    for clips, labels in ld:
        labels = np.asarray(labels)
        for k in range(len(clips)):
            i = int(idx[len(seen)])
            assert labels[k].dtype == np.uint8
            assert np.array_equal(labels[k], hot[i]), (i, labels[k], hot[i])
            assert np.array_equal(np.asarray(clips[k]), ds[i].clip), i
            seen.append(i)
    assert seen == list(idx)
    with pytest.raises(vdx.VdxValueError, match="test"):
        vf.split_indices(path, "test")


def test_ffcv_reads_a_dataset_on_object_storage_through_the_cache_folder(datasets, tmp_path,
                                                                         monkeypatch):
    """FFCV's reader maps a local file: `vdx.ffcv.local_file(url)` fills the object's entry in
    VDX_CACHE_DIR and returns it; FFCV's Loader over it gives the local file's batches."""
    from helpers import seaweed
    local = datasets["frames"]
    with seaweed("ffcvkey", "ffcv-secret-not-shown") as (put, _):
        url = put(local, "ffcv/frames.vdx")
        monkeypatch.delenv("VDX_CACHE_DIR", raising=False)
        with pytest.raises(vdx.VdxDatasetError, match="VDX_CACHE_DIR") as e:
            vf.local_file(url)
        assert url in str(e.value) and "ffcv-secret" not in str(e.value)
        assert vf.local_file(local) == local
        cache = tmp_path / "cache"
        monkeypatch.setenv("VDX_CACHE_DIR", str(cache))
        copy = vf.local_file(url)
        assert copy.startswith(str(cache)) and copy.endswith(".data")
        with open(copy, "rb") as a, open(local, "rb") as b:
            assert a.read() == b.read()
        assert vf.local_file(url) == copy

        def batches(path):
            return [(c.numpy().copy(), y.numpy().copy())
                    for c, y in loader(path, "frames", 4, OrderOption.SEQUENTIAL)]

        got, want = batches(copy), batches(local)
        assert len(got) == len(want) == 2
        for (c1, y1), (c2, y2) in zip(got, want):
            assert np.array_equal(c1, c2) and np.array_equal(y1, y2)
