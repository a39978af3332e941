"""Datasets built from annotation files, read from Python: ``vdx.build(annotations=...)``
equals the CLI's build byte for byte; ``Dataset.split``, ``labels``, ``label_lists``,
``multi_hot`` and ``Sample.labels`` give the rows' labels and splits without decoding."""
import json

import numpy as np
import pytest

import vdx
from helpers import cli, ffmpeg


@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    d = tmp_path_factory.mktemp("ann")
    videos = d / "videos"
    videos.mkdir()
    for name, src in (("a", "testsrc2=s=96x64:r=25:d=4"),
                      ("b", "mandelbrot=s=96x64:r=25,trim=duration=4")):
        ffmpeg("-f", "lavfi", "-i", src, "-c:v", "libx264", "-g", "25", "-bf", "2",
               "-threads", "1", "-pix_fmt", "yuv420p", str(videos / f"{name}.mp4"))
    ann = d / "rows.jsonl"
    rows = [
        {"video": "a.mp4", "start": 0.5, "end": 2.0, "labels": ["walk", "talk"], "split": "train", "id": "r1"},
        {"video": "a.mp4", "start": 2.0, "end": 3.5, "labels": ["run"], "split": "val", "id": "r2"},
        {"video": "b.mp4", "start_frame": 10, "end_frame": 40, "label": "talk", "split": "train", "id": "r3"},
    ]
    ann.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out_cli = d / "cli.vdx"
    cli("build", "--annotations", str(ann), "--videos", str(videos), "--out", str(out_cli),
        "--frames", "4", "--size", "32", "--quiet")
    return d, ann, videos, out_cli


def test_python_build_equals_the_cli_build(annotated):
    d, ann, videos, out_cli = annotated
    out_py = d / "py.vdx"
    rep = vdx.build(None, out_py, annotations=ann, videos=videos, frames=4, size="32")
    assert rep["samples"] == 3
    assert out_py.read_bytes() == out_cli.read_bytes()


def test_splits_labels_and_multi_hot_without_decoding(annotated):
    _, _, _, out = annotated
    ds = vdx.Dataset(out)
    assert ds.classes == ["run", "talk", "walk"]
    assert ds.splits == ["train", "val"]
    assert ds.label_lists == [[2, 1], [0], [1]]
    assert ds.labels.tolist() == [2, 0, 1]
    assert ds.split_indices.tolist() == [0, 1, 0]
    mh = ds.multi_hot()
    assert mh.dtype == np.uint8 and mh.tolist() == [[0, 1, 1], [1, 0, 0], [0, 1, 0]]
    train = ds.split("train")
    assert len(train) == 2 and train.indices == [0, 2]
    s = train[1]
    assert s.labels == [1] and s.label == 1 and s.clip.shape == (4, 32, 32, 3)
    assert s.provenance["segment"]["frames"] == [10, 40]
    assert all(10 <= f < 40 for f in s.provenance["frames"])
    assert [x.labels for x in ds.split("val")] == [[0]]
    with pytest.raises(vdx.VdxValueError):
        ds.split("test")


def test_a_malformed_row_is_an_error_naming_file_line_and_column(annotated, tmp_path):
    _, _, videos, _ = annotated
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"video": "a.mp4", "start": 1, "end": 2, "label": "x"}\n'
                   '{"video": "a.mp4", "start": "soon", "end": 2, "label": "x"}\n')
    with pytest.raises(vdx.VdxError) as e:
        vdx.build(None, tmp_path / "o.vdx", annotations=bad, videos=videos, size="32")
    msg = str(e.value)
    assert "bad.jsonl" in msg and "line 2" in msg and "start" in msg, msg
    assert not (tmp_path / "o.vdx").exists()


def test_loader_reads_a_split_with_multi_hot_labels(annotated):
    _, _, _, out = annotated
    ds = vdx.Dataset(out)
    loader = vdx.Loader(ds, batch_size=2, split="train", labels="multi_hot", shuffle=False,
                        prefetch=0)
    batches = list(loader)
    assert len(batches) == 1
    clips, labels, ids = batches[0]
    assert list(ids) == [0, 2]
    assert clips.shape == (2, 4, 32, 32, 3) and labels.dtype == np.uint8
    assert labels.tolist() == ds.multi_hot()[[0, 2]].tolist() == [[0, 1, 1], [0, 1, 0]]
    for k, i in enumerate(ids):
        assert np.array_equal(clips[k], ds[int(i)].clip)
    plain = list(vdx.Loader(ds, batch_size=3, shuffle=False, prefetch=0))[0]
    assert plain[1].tolist() == [2, 0, 1]
    with pytest.raises(vdx.VdxValueError):
        vdx.Loader(ds, batch_size=2, labels="onehot")
