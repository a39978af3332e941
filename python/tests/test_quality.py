"""Source against stored from Python: `Dataset.compare(i)` and `Dataset.quality()` give the
numbers of `vdx quality`, the source frames are the ones `vdx frames` decodes at the
dataset's size, PSNR is the formula on those arrays, moved sources are found with
`sources=`, and flow EPE is the mean end-point distance of the returned flows."""
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

import vdx
from helpers import cli, ffmpeg


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    d = tmp_path_factory.mktemp("q")
    path = str(d / "walk" / "clip.mp4")
    os.makedirs(os.path.dirname(path))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2,noise=alls=12:allf=t",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "12", path)
    return path


def build(video, out, *extra):
    cli("build", video, "--out", out, "--frames", "5", "--num-clips", "2", "--size", "64",
        "--quiet", *extra)
    return vdx.Dataset(out)


def close(a, b):
    """Equal as JSON numbers are (JSON text may round a double's last bit)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y)
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12)
    else:
        assert a == b


def test_compare_is_the_cli_and_the_formula(video, tmp_path):
    ds = build(video, str(tmp_path / "f.vdx"), "--quality", "60")
    c = ds.compare(1)
    q = c["quality"]
    close(q, json.loads(cli("quality", ds.path, "--sample", "1", "--json")))
    # Stored frames are the sample; source frames are what `vdx frames` decodes at 64.
    assert np.array_equal(c["stored"], ds[1].clip)
    frames = [f["source_frame"] for f in q["frames"]]
    assert frames == ds[1].provenance["frames"]
    cli("frames", video, "--at", ",".join(map(str, frames)), "--size", "64",
        "--out", str(tmp_path / "src"))
    for k, i in enumerate(frames):
        png = np.asarray(Image.open(tmp_path / "src" / f"frame_{i:06d}.png").convert("RGB"))
        assert np.array_equal(c["source"][k], png), f"frame {i}"
        mse = np.mean((c["stored"][k].astype(np.float64) - png.astype(np.float64)) ** 2)
        assert q["frames"][k]["psnr"] == pytest.approx(10 * np.log10(255 ** 2 / mse), abs=1e-9)
    report = ds.quality(worst=2)
    cli_report = json.loads(cli("quality", ds.path, "--json", "--worst", "2"))
    close(report["samples"], cli_report["samples"])
    assert report["worst"] == cli_report["worst"]
    assert report["unmeasured"] == []


def test_moved_sources_and_flow(video, tmp_path):
    moved = tmp_path / "old" / "walk"
    moved.mkdir(parents=True)
    src = str(moved / "clip.mp4")
    shutil.copy(video, src)
    ds = build(src, str(tmp_path / "flow.vdx"), "--field", "flow", "--keyframe-every", "2")
    shutil.move(str(tmp_path / "old"), str(tmp_path / "new"))
    with pytest.raises(vdx.VdxError, match="clip.mp4 is not there"):
        ds.compare(0)
    report = ds.quality()
    assert len(report["unmeasured"]) == 2 and report["samples"] == []
    c = ds.compare(0, sources=tmp_path / "new")
    assert c["quality"]["source"] == str(tmp_path / "new" / "walk" / "clip.mp4")
    assert [f["position"] for f in c["quality"]["frames"]] == [0, 2, 4]
    s, f = c["flow_stored"], c["flow_fresh"]
    assert s.shape == f.shape == (4, 64, 64, 2)
    epe = np.sqrt(((s - f) ** 2).sum(-1)).mean(axis=(1, 2))
    assert np.allclose(epe, c["quality"]["flow_epe"], rtol=1e-5)
    assert np.array_equal(s, ds[0].flow.astype(np.float32) / 4)
    assert len(ds.quality(sources=tmp_path / "new")["samples"]) == 2
