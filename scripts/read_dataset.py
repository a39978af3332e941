#!/usr/bin/env python3
"""A vdx dataset reader written from FORMAT.md alone (no vdx code).

    python3 scripts/read_dataset.py DATASET                  # JSON summary, every check run
    python3 scripts/read_dataset.py DATASET --decode N --out sample.npz

The summary (header, fields, row layout, info, and per sample: label, record, data and
provenance pointers, checksum, provenance) needs numpy only. It checks every allocation and
pointer against the allocation table and every checksum (CRC-32C, in pure Python).
Decoding needs Pillow (JPEG: frames, flow keyframes) and PyAV (segments); --decode writes
`clip` (T,H,W,3) for frames and segments, `keyframes`, `positions`, `flow_q` and `scale` for
flow.

As a module: `Dataset(path)`, `.sample(i)`, `.decode(i)`, `.decode_segment_frame(i, k)`.
"""
import io
import json
import sys

import numpy as np

# FORMAT.md, "Dtypes (normative)" (python/tests/test_format.py checks they agree).
HEADER = np.dtype([("version", "<u2"), ("num_fields", "<u2"), ("page_size", "<u4"),
                   ("num_samples", "<u8"), ("alloc_table_ptr", "<u8")])
DESCRIPTOR = np.dtype([("type_id", "<u1"), ("name", "S16"), ("arguments", "S1024")])
ALLOCATION = np.dtype([("sample_id", "<u8"), ("ptr", "<u8"), ("size", "<u8")])
RECORDS = {
    0: np.dtype("<f8"),
    1: np.dtype("<i8"),
    3: np.dtype([("ptr", "<u8"), ("size", "<u8")]),
    5: np.dtype([("ptr", "<u8"), ("size", "<u8")]),
    10: np.dtype([("ptr", "<u8"), ("size", "<u8"), ("num_frames", "<u4"),
                  ("height", "<u4"), ("width", "<u4")]),
    11: np.dtype([("ptr", "<u8"), ("size", "<u8"), ("num_frames", "<u4"),
                  ("num_packets", "<u4"), ("height", "<u4"), ("width", "<u4"),
                  ("extradata_size", "<u4"), ("time_base_num", "<u4"),
                  ("time_base_den", "<u4")]),
    12: np.dtype([("ptr", "<u8"), ("size", "<u8"), ("num_frames", "<u4"),
                  ("num_keyframes", "<u4"), ("height", "<u4"), ("width", "<u4"),
                  ("scale", "<f4")]),
}
PACKET = np.dtype([("pts", "<i8"), ("dts", "<i8"), ("offset", "<u8"), ("size", "<u4"),
                   ("flags", "<u4")])


def row_dtype(type_ids):
    return np.dtype([(f"f{k}", RECORDS[t]) for k, t in enumerate(type_ids)], align=True)


class FormatError(Exception):
    """The file breaks FORMAT.md; the message says where."""


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli, reflected, init and final XOR 0xFFFFFFFF); chainable."""
    crc ^= 0xFFFFFFFF
    for b in bytes(data):
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _check(cond, msg):
    if not cond:
        raise FormatError(msg)


def align8(x):
    return -(-x // 8) * 8


class Dataset:
    def __init__(self, path):
        self.path = path
        raw = np.fromfile(path, dtype=np.uint8)
        self.raw = raw
        _check(raw.size >= HEADER.itemsize, f"{path}: shorter than the header")
        h = raw[:HEADER.itemsize].view(HEADER)[0]
        self.header = {k: int(h[k]) for k in HEADER.names}
        nf, n = self.header["num_fields"], self.header["num_samples"]
        page, at = self.header["page_size"], self.header["alloc_table_ptr"]
        _check(self.header["version"] == 2, f"{path}: version {self.header['version']}, not 2")
        _check(at != 0, f"{path}: unfinished (alloc_table_ptr is 0)")
        _check(page & (page - 1) == 0 and 2 << 20 <= page <= 2 << 30, f"{path}: page size {page}")
        d_end = HEADER.itemsize + nf * DESCRIPTOR.itemsize
        _check(raw.size >= d_end, f"{path}: descriptors cut short")
        self.fields = []
        for d in raw[HEADER.itemsize:d_end].view(DESCRIPTOR):
            args = d["arguments"].rstrip(b"\0")
            self.fields.append({"type_id": int(d["type_id"]),
                                "name": d["name"].rstrip(b"\0").decode("ascii"),
                                "arguments": json.loads(args) if args else {}})
        self.row = row_dtype([f["type_id"] for f in self.fields])
        self.meta_offset = d_end
        meta_end = d_end + n * self.row.itemsize
        self.data_start = -(-meta_end // page) * page
        _check(self.data_start <= at <= raw.size and (raw.size - at) % ALLOCATION.itemsize == 0,
               f"{path}: allocation table at {at} does not end the file in whole rows")
        self.meta = raw[d_end:meta_end].view(self.row)
        self.allocs = raw[at:].view(ALLOCATION)
        self.owned = set()
        for a in self.allocs:
            s, p, z = int(a["sample_id"]), int(a["ptr"]), int(a["size"])
            _check(s < n, f"{path}: allocation for sample {s} of {n}")
            _check(z > 0, f"{path}: empty allocation of sample {s}")
            _check(self.data_start <= p and p + z <= at and p // page == (p + z - 1) // page,
                   f"{path}: allocation {p}+{z} of sample {s} is outside the data region or crosses a page")
            self.owned.add((s, p, z))
        ptrs = sorted((int(a["ptr"]), int(a["size"])) for a in self.allocs)
        for (p0, z0), (p1, _) in zip(ptrs, ptrs[1:]):
            _check(p0 + z0 <= p1, f"{path}: allocations at {p0} and {p1} overlap")
        names = [f["name"] for f in self.fields]
        self.kv = next(k for k, f in enumerate(self.fields) if f["type_id"] in (10, 11, 12))
        self.kl, self.kp, self.kc = (names.index("label"), names.index("provenance"),
                                     names.index("checksum"))
        self.field = self.fields[self.kv]
        info = self.fields[self.kl]["arguments"]["info"]
        _check((0, info["ptr"], info["size"]) in self.owned, f"{path}: info is not allocated")
        blob = raw[info["ptr"]:info["ptr"] + info["size"]].tobytes()
        _check(crc32c(blob) == info["crc32c"], f"{path}: dataset info checksum")
        self.info = json.loads(blob)

    def __len__(self):
        return self.header["num_samples"]

    def sample(self, i):
        """Label, record, data bytes and provenance of sample i, every check made."""
        r = self.meta[i]
        v = r[f"f{self.kv}"]
        vp, vs = int(v["ptr"]), int(v["size"])
        pp, ps = int(r[f"f{self.kp}"]["ptr"]), int(r[f"f{self.kp}"]["size"])
        _check((i, vp, vs) in self.owned, f"sample {i}: video data pointer is not allocated")
        _check((i, pp, ps) in self.owned, f"sample {i}: provenance pointer is not allocated")
        video = self.raw[vp:vp + vs].tobytes()
        prov = self.raw[pp:pp + ps].tobytes()
        # The row's bytes as they lie in the file, padding included.
        row_bytes = self.meta[i:i + 1].view(np.uint8)[:self.row.fields[f"f{self.kc}"][1]].tobytes()
        crc = crc32c(prov, crc32c(video, crc32c(row_bytes)))
        stored = int(r[f"f{self.kc}"])
        _check(crc == stored, f"sample {i}: checksum {stored} != {crc}")
        record = {name: (float(v[name]) if name == "scale" else int(v[name]))
                  for name in v.dtype.names if name not in ("ptr", "size")}
        text = prov[:-1] if prov.endswith(b"\0") else prov
        return {"index": i, "label": int(r[f"f{self.kl}"]), "data_ptr": vp, "data_size": vs,
                "provenance_ptr": pp, "provenance_size": ps, "checksum": crc,
                "record": record, "provenance": json.loads(text.decode("utf-8")),
                "data": video}

    def summary(self):
        out = {"header": self.header, "fields": self.fields,
               "row_offsets": [self.row.fields[f"f{k}"][1] for k in range(len(self.fields))],
               "row_itemsize": self.row.itemsize, "info": self.info, "samples": []}
        for i in range(len(self)):
            s = self.sample(i)
            del s["data"]
            out["samples"].append(s)
        return out

    # ---------------------------------------------------------------- decoding

    def decode(self, i):
        s = self.sample(i)
        t = self.field["type_id"]
        if t == 10:
            return _decode_frames(s["data"], s["record"])
        if t == 11:
            return self._decode_segment(s, None)
        return _decode_flow(s["data"], s["record"])

    def decode_segment_frame(self, i, k):
        """Frame k of a segments sample, decoded from its nearest keyframe alone."""
        return self._decode_segment(self.sample(i), k)[0]

    def _decode_segment(self, s, k):
        import av  # PyAV
        rec, data = s["record"], s["data"]
        table = np.frombuffer(data[:rec["num_packets"] * PACKET.itemsize], PACKET)
        e0 = rec["num_packets"] * PACKET.itemsize
        extradata = data[e0:e0 + rec["extradata_size"]]
        pts = np.sort(table["pts"])
        if k is None:
            start, wanted = 0, set(int(p) for p in pts)
        else:
            target = int(pts[k])
            keys = [j for j in range(len(table))
                    if table[j]["flags"] & 1 and table[j]["pts"] <= target]
            _check(keys, f"sample {s['index']}: no keyframe at or before frame {k}")
            start, wanted = keys[-1], {target}
        name = {"h264": "h264", "hevc": "hevc", "h265": "hevc", "vp9": "vp9",
                "av1": "libdav1d"}[self.field["arguments"]["codec"]]
        ctx = av.CodecContext.create(name, "r")
        if extradata:
            ctx.extradata = extradata
        got = {}

        def take(frames):
            for f in frames:
                if f.pts in wanted:
                    got[f.pts] = f.to_ndarray(format="rgb24")

        for row in table[start:]:
            o, z = int(row["offset"]), int(row["size"])
            pkt = av.Packet(data[o:o + z])
            pkt.pts, pkt.dts = int(row["pts"]), int(row["dts"])
            take(ctx.decode(pkt))
            if k is not None and got:
                break
        if k is None or not got:
            take(ctx.decode(None))
        _check(set(got) == wanted, f"sample {s['index']}: decoded {len(got)} of {len(wanted)} frames")
        return np.stack([got[p] for p in sorted(got)])


def _jpeg(b):
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))


def _decode_frames(data, rec):
    t = rec["num_frames"]
    off = np.frombuffer(data[:8 * (t + 1)], "<u8").astype(np.int64)
    _check(off[0] == 8 * (t + 1) and off[-1] == len(data) and np.all(np.diff(off) > 0),
           "frames: offset table does not span the data")
    out = np.stack([_jpeg(data[a:b]) for a, b in zip(off[:-1], off[1:])])
    _check(out.shape == (t, rec["height"], rec["width"], 3), f"frames: shape {out.shape}")
    return out


def _decode_flow(data, rec):
    t, nk = rec["num_frames"], rec["num_keyframes"]
    h, w = rec["height"], rec["width"]
    positions = np.frombuffer(data[:4 * nk], "<u4")
    p8 = align8(4 * nk)
    off = np.frombuffer(data[p8:p8 + 8 * (nk + 1)], "<u8").astype(np.int64)
    _check(off[0] == p8 + 8 * (nk + 1) and np.all(np.diff(off) > 0), "flow: JPEG offsets")
    flow_at = align8(int(off[-1]))
    _check(flow_at + (t - 1) * h * w * 2 == len(data), "flow: size does not add up")
    _check(not any(data[int(off[-1]):flow_at]), "flow: padding is not zero")
    keyframes = np.stack([_jpeg(data[a:b]) for a, b in zip(off[:-1], off[1:])])
    flow_q = np.frombuffer(data[flow_at:], np.int8).reshape(t - 1, h, w, 2)
    return {"positions": positions, "keyframes": keyframes, "flow_q": flow_q,
            "scale": np.float32(rec["scale"])}


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--decode", type=int, metavar="N", help="decode sample N")
    ap.add_argument("--out", help="where --decode writes its .npz")
    a = ap.parse_args()
    try:
        ds = Dataset(a.dataset)
        if a.decode is None:
            json.dump(ds.summary(), sys.stdout)
            return
        d = ds.decode(a.decode)
        np.savez(a.out, **(d if isinstance(d, dict) else {"clip": d}))
    except FormatError as e:
        sys.exit(f"read_dataset: {e}")


if __name__ == "__main__":
    main()
