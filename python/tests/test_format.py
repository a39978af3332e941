"""FORMAT.md is a specification another implementation can follow: its dtypes and tables are
what vdx writes, every key it documents occurs in real files (and every key in real files is
documented), and scripts/read_dataset.py, written from it with numpy, Pillow and PyAV and no
vdx code, reads every field and every segments codec to vdx's exact pixels."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import vdx
from helpers import ROOT, VDX_BIN, cli, ffmpeg  # noqa: F401

FORMAT_MD = os.path.join(ROOT, "FORMAT.md")


def _load_reader():
    spec = importlib.util.spec_from_file_location("read_dataset",
                                                  os.path.join(ROOT, "scripts", "read_dataset.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rd = _load_reader()


def spec_text():
    with open(FORMAT_MD, encoding="utf-8") as f:
        return f.read()


def spec_dtypes():
    """Run the normative block of FORMAT.md and return its namespace."""
    text = spec_text()
    block = text.split("## Dtypes (normative)", 1)[1]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    ns = {}
    exec(compile(code, "FORMAT.md", "exec"), ns)
    return ns




@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("fmt_videos")
    for cls, src in (("a", "testsrc2=s=160x120:r=25:d=2"),
                     ("b", "mandelbrot=s=160x120:r=25,trim=duration=2")):
        (d / cls).mkdir()
        ffmpeg("-f", "lavfi", "-i", src, "-c:v", "libx264", "-g", "25", "-bf", "2", "-threads", "1",
               "-pix_fmt", "yuv420p", str(d / cls / f"{cls}.mp4"))
    return d


CASES = [("frames", []), ("flow", []),
         ("segments-h264", ["--codec", "h264"]), ("segments-hevc", ["--codec", "hevc"]),
         ("segments-vp9", ["--codec", "vp9"]), ("segments-av1", ["--codec", "av1"])]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory, videos):
    d = tmp_path_factory.mktemp("fmt_ds")
    out = {}
    for name, extra in CASES:
        field = name.split("-")[0]
        path = str(d / f"{name}.vdx")
        cli("build", str(videos), "--out", path, "--field", field, "--frames", "10",
            "--size", "64x64", "--num-clips", "2", "--keyint", "4", "--quiet", *extra)
        out[name] = path
    return out


def test_the_spec_dtypes_are_the_readers_and_the_field_table_is_what_they_give():
    ns = spec_dtypes()
    assert ns["HEADER"] == rd.HEADER and ns["HEADER"].itemsize == 24
    assert ns["DESCRIPTOR"] == rd.DESCRIPTOR and ns["DESCRIPTOR"].itemsize == 1041
    assert ns["ALLOCATION"] == rd.ALLOCATION and ns["ALLOCATION"].itemsize == 24
    assert ns["PACKET"] == rd.PACKET and ns["PACKET"].itemsize == 32
    assert ns["RECORDS"] == rd.RECORDS
    # The field table: record sizes, offsets, padding spans and row sizes per video field.
    text = spec_text()
    table = text.split("## Fields of a vdx dataset", 1)[1].split("Row sizes:", 1)
    rows = [l for l in table[0].splitlines() if l.startswith("| 0 |") or l.startswith("| 1 |")
            or l.startswith("| 2 |") or l.startswith("| 3 |")]
    assert len(rows) == 4
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
    sizes = re.findall(r"(\w+) (\d+)", table[1].split(".")[0])
    row_size = {k: int(v) for k, v in sizes}
    for j, (field, tid) in enumerate((("frames", 10), ("segments", 11), ("flow", 12))):
        row = ns["row_dtype"]([tid, 1, 5, 1])
        assert row_size[field] == row.itemsize, field
        for k in range(4):
            member = ns["RECORDS"][[tid, 1, 5, 1][k]]
            size = cells[k][4].split(" / ")
            off = cells[k][5].split(" / ")
            assert int(size[j if len(size) > 1 else 0]) == member.itemsize, (field, k)
            assert int(off[j if len(off) > 1 else 0]) == row.fields[f"f{k}"][1], (field, k)
        pad = cells[0][6].split(" / ")[j]
        a, b = (int(x) for x in pad.split(".."))
        assert (a, b) == (ns["RECORDS"][tid].itemsize, row.fields["f1"][1]), field
    assert "**0xE3069283**" in text
    assert rd.crc32c(b"123456789") == 0xE3069283


def test_padding_is_zero_and_checksums_hash_the_row_as_it_lies(datasets):
    for name, path in datasets.items():
        ds = rd.Dataset(path)
        rec = ds.row.fields["f0"][0].itemsize
        label_at = ds.row.fields["f1"][1]
        raw = ds.meta.view(np.uint8).reshape(len(ds), ds.row.itemsize)
        assert label_at > rec, name
        assert not raw[:, rec:label_at].any(), f"{name}: padding bytes are not zero"
        for i in range(len(ds)):
            ds.sample(i)  # raises on a checksum mismatch
        # The allocation table is sorted by pointer and the last page is partial.
        ptrs = ds.allocs["ptr"].astype(np.int64)
        assert np.all(np.diff(ptrs) > 0), name
        last = ds.allocs[-1]
        assert int(last["ptr"]) + int(last["size"]) == ds.header["alloc_table_ptr"], name


def documented_keys(section_title):
    """The keys in the first column of the table under a '<title>' line of FORMAT.md."""
    text = spec_text()
    part = text.split(section_title, 1)[1]
    keys = set()
    for line in part.splitlines()[1:]:
        if line.startswith("| key") or line.startswith("|---"):
            continue
        if not line.startswith("|"):
            if keys:
                break
            continue
        keys.update(re.findall(r"`(\w+)`", line.split("|")[1]))
    return keys


def test_every_argument_and_provenance_key_is_documented_and_occurs(datasets, videos, tmp_path):
    seen = {"frames": set(), "segments": set(), "flow": set()}
    prov_seen = set()
    for name, path in datasets.items():
        ds = rd.Dataset(path)
        field = name.split("-")[0]
        args = ds.field["arguments"]
        assert args["version"] == 1, name
        seen[field] |= set(args)
        if field == "flow":
            assert set(args["farneback"]) == {"pyr_scale", "levels", "winsize", "iterations",
                                              "poly_n", "poly_sigma"}
        if field == "segments":
            assert args["bitstream"] == ("annexb" if args["codec"] in ("h264", "hevc") else "raw")
        by_name = {f["name"]: f["arguments"] for f in ds.fields}
        assert set(by_name["label"]) == {"version", "info"}
        assert set(by_name["label"]["info"]) == {"ptr", "size", "crc32c"}
        assert by_name["provenance"] == {"version": 1, "encoding": "utf-8", "nul_terminated": True}
        assert set(by_name["checksum"]) == {"version", "algorithm", "covers"}
        assert set(ds.info) == {"vdx_version", "classes", "videos", "skipped", "build_options"}
        for i in range(len(ds)):
            prov_seen |= set(ds.sample(i)["provenance"])
    # A dataset built from an annotation file writes the annotation keys too.
    ann = tmp_path / "rows.jsonl"
    ann.write_text(json.dumps({"video": "a/a.mp4", "start": 0.2, "end": 1.5, "labels": ["x", "y"],
                               "split": "train", "id": "r1", "note": "kept"}) + "\n")
    annotated = tmp_path / "ann.vdx"
    cli("build", "--annotations", str(ann), "--videos", str(videos), "--out", str(annotated),
        "--frames", "4", "--size", "32", "--quiet")
    ads = rd.Dataset(str(annotated))
    assert set(ads.info) == {"vdx_version", "classes", "videos", "skipped", "build_options",
                             "splits", "annotations"}
    for i in range(len(ads)):
        prov_seen |= set(ads.sample(i)["provenance"])
    text = spec_text()
    for field in seen:
        documented = documented_keys(f"\n{field} (type 1")
        # resize/height/width are documented once under frames and referred to.
        if field != "frames":
            documented |= {"height", "width", "resize"}
        assert seen[field] == documented, field
    prov_doc = documented_keys("### Provenance keys")
    # `damaged` is written only where frames were filled in (tests/python test_vdx cover it).
    assert prov_seen == prov_doc - {"damaged"}, (prov_seen, prov_doc)
    assert "`nul_terminated`" in text


def test_provenance_is_ffcv_json_with_a_nul(datasets):
    ds = rd.Dataset(datasets["frames"])
    for i in range(len(ds)):
        s = ds.sample(i)
        raw = ds.raw[s["provenance_ptr"]:s["provenance_ptr"] + s["provenance_size"]].tobytes()
        assert raw.endswith(b"\0") and raw.count(b"\0") == 1
        # FFCV 1.0.2's JSONField.unpack: decode, cut at the first NUL, json.loads.
        txt = raw.decode("utf-8")
        assert json.loads(txt[:txt.index("\x00")]) == vdx.Dataset(datasets["frames"])[i].provenance


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_the_reader_decodes_to_vdx_pixels(datasets, name):
    path = datasets[name]
    ours = rd.Dataset(path)
    theirs = vdx.Dataset(path)
    assert len(ours) == len(theirs) == 4
    for i in range(len(ours)):
        d = ours.decode(i)
        s = theirs[i]
        assert ours.sample(i)["label"] == s.label
        if name == "flow":
            np.testing.assert_array_equal(d["keyframes"], s.keyframes)
            np.testing.assert_array_equal(d["positions"], s.keyframe_positions)
            np.testing.assert_array_equal(d["flow_q"], s.flow)
            assert d["scale"] == np.float32(s.scale)
        else:
            assert d.shape == s.clip.shape == (10, 64, 64, 3)
            assert np.array_equal(d, s.clip), f"{name} sample {i}: pixels differ from vdx"


@pytest.mark.parametrize("codec", ["h264", "hevc", "vp9", "av1"])
def test_segment_frames_decode_from_their_nearest_keyframe_with_pyav(datasets, codec):
    path = datasets[f"segments-{codec}"]
    ours = rd.Dataset(path)
    theirs = vdx.Dataset(path)
    for i in range(len(ours)):
        s = ours.sample(i)
        rec = s["record"]
        assert rec["num_packets"] == rec["num_frames"] == 10
        table = np.frombuffer(s["data"][:rec["num_packets"] * 32], rd.PACKET)
        assert sorted(table["pts"][table["flags"] & 1 == 1]) == [0, 4, 8], codec
        assert sorted(table["pts"]) == list(range(10))
        clip = theirs[i].clip
        for k in range(10):
            f = ours.decode_segment_frame(i, k)
            assert np.array_equal(f, clip[k]), f"{codec} sample {i} frame {k}"


def test_the_cli_summary_matches_vdx_inspect(datasets, tmp_path):
    for name in ("frames", "flow", "segments-vp9"):
        out = subprocess.run(["python3", os.path.join(ROOT, "scripts", "read_dataset.py"),
                              datasets[name]], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        theirs = json.loads(out.stdout)
        ours = json.loads(cli("inspect", datasets[name], "--json"))
        assert ours["row_offsets"] == theirs["row_offsets"]
        for a, b in zip(ours["samples"], theirs["samples"], strict=True):
            for k in ("label", "data_ptr", "data_size", "provenance_ptr", "provenance_size",
                      "checksum", "provenance"):
                assert a[k] == b[k], (name, k)
    npz = tmp_path / "s.npz"
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "read_dataset.py"),
                    datasets["frames"], "--decode", "1", "--out", str(npz)], check=True)
    assert np.array_equal(np.load(npz)["clip"], vdx.Dataset(datasets["frames"])[1].clip)


def test_the_reader_catches_what_vdx_catches(datasets, tmp_path):
    src = datasets["frames"]
    good = open(src, "rb").read()
    ds = rd.Dataset(src)
    s = ds.sample(2)
    hits = 0
    for at in (s["data_ptr"] + 100, s["provenance_ptr"] + 3,
               ds.meta_offset + 2 * ds.row.itemsize + 33, ds.meta_offset + 2 * ds.row.itemsize + 29):
        bad = bytearray(good)
        bad[at] ^= 0x10
        p = tmp_path / "bad.vdx"
        p.write_bytes(bytes(bad))
        with pytest.raises(rd.FormatError):
            d = rd.Dataset(str(p))
            for i in range(len(d)):
                d.sample(i)
        r = subprocess.run([VDX_BIN, "verify", str(p)], capture_output=True, text=True)
        assert r.returncode != 0, f"vdx verify missed a flip at {at}"
        hits += 1
    assert hits == 4
    p = tmp_path / "cut.vdx"
    p.write_bytes(good[:len(good) - 10])
    with pytest.raises(rd.FormatError):
        rd.Dataset(str(p))
    unfinished = bytearray(good)
    unfinished[16:24] = bytes(8)
    p.write_bytes(bytes(unfinished))
    with pytest.raises(rd.FormatError, match="unfinished"):
        rd.Dataset(str(p))


def test_dataset_verify_names_the_rule_a_valid_checksum_hides(datasets, tmp_path):
    """A label outside -1..classes-1 with the sample's checksum recomputed: only the rule can
    catch it, and Dataset.verify (the same code as `vdx verify`) names rule, sample, field."""
    src = datasets["frames"]
    raw = bytearray(open(src, "rb").read())
    ds = rd.Dataset(src)
    i = 1
    row_at = ds.meta_offset + i * ds.row.itemsize
    label_at = row_at + ds.row.fields[f"f{ds.kl}"][1]
    raw[label_at:label_at + 8] = len(ds.info["classes"]).to_bytes(8, "little", signed=True)
    s = ds.sample(i)
    sum_off = ds.row.fields[f"f{ds.kc}"][1]
    crc = rd.crc32c(raw[s["provenance_ptr"]:s["provenance_ptr"] + s["provenance_size"]],
                    rd.crc32c(s["data"], rd.crc32c(bytes(raw[row_at:row_at + sum_off]))))
    raw[row_at + sum_off:row_at + sum_off + 8] = crc.to_bytes(8, "little", signed=True)
    p = tmp_path / "label.vdx"
    p.write_bytes(bytes(raw))
    assert rd.Dataset(str(p)).sample(i)["checksum"] == crc  # the checksum is valid again
    rep = vdx.Dataset(str(p)).verify()
    assert any("label in -1..classes-1" in line and f"sample {i}" in line and "field label" in line
               for line in rep["problems"]), rep["problems"]
    assert not any("checksum" in line for line in rep["problems"]), rep["problems"]
    assert any(v["rule"] == "label in -1..classes-1" and v["sample"] == i
               for v in rep["violations"]), rep["violations"]
