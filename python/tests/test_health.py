"""Dataset health from Python: `Dataset.health()` gives `vdx health`'s report and reuses the
saved one; `Loader(exclude=...)` leaves flagged samples out; and scene cuts agree with
PySceneDetect's ContentDetector (from PyPI) run on the very same stored frames, within one
frame, on the real-world corpus (scripts/realworld.sh) and on a fixture with a known cut."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import vdx
from helpers import ROOT, cli, ffmpeg


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    d = tmp_path_factory.mktemp("health")
    v = d / "videos"
    for cls in ("a", "b"):
        (v / cls).mkdir(parents=True)
    ffmpeg("-f", "lavfi", "-i", "color=black:s=160x120:r=25", "-frames:v", "40",
           "-pix_fmt", "yuv420p", "-c:v", "libx264", str(v / "a" / "black.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sierpinski=s=160x120:r=25:seed=4", "-f", "lavfi", "-i",
           "mandelbrot=s=160x120:r=25", "-filter_complex",
           "[0]trim=end_frame=20[x];[1]trim=end_frame=20,setpts=PTS-STARTPTS[y];"
           "[x][y]concat=n=2:v=1", "-pix_fmt", "yuv420p", "-c:v", "libx264",
           str(v / "b" / "cut.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25,noise=alls=20:allf=t:all_seed=7", "-frames:v",
           "40", "-pix_fmt", "yuv420p", "-c:v", "libx264", str(v / "b" / "fine.mp4"))
    out = str(d / "ds.vdx")
    cli("build", str(v), "--out", out, "--frames", "40", "--num-clips", "1", "--size", "64",
        "--quiet")
    return out


def test_health_matches_the_cli_and_reuses_the_saved_report(faulty):
    ds = vdx.Dataset(faulty)
    names = [os.path.basename(ds[i].provenance["source"]) for i in range(len(ds))]
    rep = ds.health()
    side = faulty + ".health.json"
    assert os.path.isfile(side)
    flags = {n: s["flags"] for n, s in zip(names, rep["samples"])}
    assert flags == {"black.mp4": ["black", "frozen", "static"], "cut.mp4": ["cut"],
                     "fine.mp4": []}, flags
    by = dict(zip(names, rep["samples"]))
    assert by["cut.mp4"]["cuts"] == [20]
    assert by["black.mp4"]["black_frames"] == list(range(40))
    cli_rep = json.loads(cli("health", faulty, "--json", "--no-save"))
    assert [s["flags"] for s in cli_rep["samples"]] == [s["flags"] for s in rep["samples"]]
    assert cli_rep["identity"] == rep["identity"]
    # The saved report is read back, not measured again.
    mtime = os.stat(side).st_mtime_ns
    again = ds.health()
    assert again["identity"] == rep["identity"] and os.stat(side).st_mtime_ns == mtime
    assert [s["flags"] for s in again["samples"]] == [s["flags"] for s in rep["samples"]]
    # Other thresholds mean another pass: at 250 nothing is a cut.
    hi = ds.health(thresholds={"cut_threshold": 250.0}, save=False)
    assert all(not s["cuts"] for s in hi["samples"])
    with pytest.raises(vdx.VdxValueError, match="thresholds"):
        ds.health(thresholds={"sparkle": 1.0})


def test_loader_excludes_flagged_samples(faulty):
    ds = vdx.Dataset(faulty)
    names = [os.path.basename(ds[i].provenance["source"]) for i in range(len(ds))]
    ld = vdx.Loader(ds, batch_size=4, shuffle=False, exclude=["black", "cut"])
    kept = [int(i) for _, _, ids in ld for i in ids]
    assert [names[i] for i in kept] == ["fine.mp4"]
    assert sorted(names[i] for i in ld.excluded) == ["black.mp4", "cut.mp4"]
    with pytest.raises(vdx.VdxValueError, match="not a health flag"):
        vdx.Loader(ds, batch_size=4, exclude=["sparkly"])


def test_a_stale_report_is_refused(faulty, tmp_path):
    other = str(tmp_path / "other.vdx")
    shutil.copy(faulty + ".health.json", other + ".health.json")
    cli("build", os.path.join(os.path.dirname(faulty), "videos", "b"), "--out", other,
        "--frames", "8", "--size", "32", "--quiet")
    with pytest.raises(vdx.VdxDatasetError, match="stale"):
        vdx.Dataset(other).health()
    # Not read from the stale file: a new pass replaces it.
    rep = vdx.Dataset(other).health(cached=False)
    assert len(rep["samples"]) == len(vdx.Dataset(other))
    assert vdx.Dataset(other).health()["identity"] == rep["identity"]


def test_a_report_that_cannot_be_saved_is_returned_with_a_warning(faulty, tmp_path):
    copy = str(tmp_path / "copy.vdx")
    shutil.copy(faulty, copy)
    # A folder where the report would go: the save fails, the pass is not lost.
    os.mkdir(copy + ".health.json")
    with pytest.warns(UserWarning, match="not saved beside the dataset"):
        rep = vdx.Dataset(copy).health(cached=False)
    assert rep["samples"] == vdx.Dataset(faulty).health()["samples"]


def _scenedetect_cuts(clip, threshold=27.0):
    from scenedetect import FrameTimecode
    from scenedetect.detectors import ContentDetector
    det = ContentDetector(threshold=threshold, min_scene_len=0)
    cuts = []
    for t, rgb in enumerate(clip):
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        cuts += [c.frame_num for c in det.process_frame(FrameTimecode(t, fps=25.0), bgr)]
    return cuts


def test_cuts_agree_with_pyscenedetect_on_the_same_frames(faulty, tmp_path):
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "realworld.sh")], check=True,
                   capture_output=True)
    files = os.path.join(os.environ.get("VDX_REALWORLD",
                                        os.path.expanduser("~/.cache/vdx-realworld")), "files")
    videos = tmp_path / "videos"
    videos.mkdir()
    for f in sorted(os.listdir(files)):
        os.symlink(os.path.join(files, f), videos / f)
    out = str(tmp_path / "rw.vdx")
    # Some corpus files are cut short or damaged on purpose: left out, reported.
    cli("build", str(videos), "--out", out, "--frames", "24", "--num-clips", "2", "--size",
        "96", "--keep-going", "--quiet")
    checked = total_cuts = 0
    disagree = []
    for path in (out, faulty):
        ds = vdx.Dataset(path)
        rep = ds.health(save=False, cached=False)
        assert len(rep["samples"]) == len(ds)
        for s in rep["samples"]:
            clip = ds[s["index"]].clip
            theirs = _scenedetect_cuts(clip)
            ours = s["cuts"]
            near = (all(any(abs(a - b) <= 1 for b in ours) for a in theirs)
                    and all(any(abs(a - b) <= 1 for b in theirs) for a in ours))
            if not near:
                disagree.append((path, s["index"], ours, theirs))
            checked += 1
            total_cuts += len(theirs)
    assert not disagree, disagree
    # Not vacuous: many clips, and cuts among them (the fixture's at least).
    assert checked >= 40 and total_cuts >= 1, (checked, total_cuts)
