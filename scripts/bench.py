#!/usr/bin/env python3
"""Side-by-side benchmark of vdx against the ffmpeg CLI and the Python peers, in one run.

    python3 scripts/bench.py CORPUS_DIR [--vdx target/release/vdx] [--reps 5]

Peers are measured only where installed (scripts/bench.sh makes a virtualenv with PyAV and
decord). All figures are medians; ratios are peer time / vdx time (>1: vdx is faster).
"""
import argparse, json, os, statistics, subprocess, sys, time

def median_time(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

def uniform_indices(n, t=16):
    return [round(j * (n - 1) / (t - 1)) for j in range(t)]

def pyav_probe(path):
    import av
    with av.open(path) as c:
        s = c.streams.video[0]
        _ = (s.codec_context.name, s.width, s.height, s.average_rate, s.frames, s.duration,
             s.time_base, c.duration, c.bit_rate, dict(c.metadata), s.format.name if s.format else None)
        return s.frames

def pyav_frames(path, wanted, size=224):
    """Exact frames by pts: one seek per keyframe group, decode forward (PyAV's best pattern)."""
    import av
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"; s.codec_context.thread_count = 2
        # pts of frame i in presentation order (demux only)
        pts = sorted(p.pts for p in c.demux(s) if p.pts is not None)
        targets = sorted(set(pts[i] for i in wanted))
        out = {}
        c.seek(0, stream=s)
        pending = set(targets)
        while pending:
            t = min(pending)
            c.seek(t, stream=s, backward=True, any_frame=False)
            for f in c.decode(s):
                if f.pts in pending:
                    out[f.pts] = f.reformat(width=size, height=size, format="rgb24").to_ndarray()
                    pending.discard(f.pts)
                if f.pts is not None and f.pts >= t and t not in pending and (not pending or f.pts > min(pending) + 10**9):
                    break
                if f.pts is not None and pending and f.pts > max(pending):
                    break
            if t in pending:  # not found (should not happen)
                pending.discard(t)
        return out

def decord_frames(path, wanted, size=224):
    import decord
    vr = decord.VideoReader(path, width=size, height=size, num_threads=2)
    return vr.get_batch(wanted).asnumpy()

def ref_build_one(path, t=16, size=224, quality=95):
    """The reference design's frames field: OpenCV VideoCapture, one CAP_PROP_POS_FRAMES seek
    per frame, short side + centre crop, PyTurboJPEG. Returns how many frames it got."""
    import cv2, numpy as np
    from turbojpeg import TurboJPEG
    jpeg = TurboJPEG()
    cap = cv2.VideoCapture(path)
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    got = []
    for idx in np.linspace(0, max(n - 1, 0), t).round().astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(idx))
        ok, frame = cap.read()
        if not ok:
            continue
        h, w = frame.shape[:2]
        s = size / min(h, w)
        frame = cv2.resize(frame, (max(size, round(w * s)), max(size, round(h * s))), interpolation=cv2.INTER_AREA)
        h, w = frame.shape[:2]
        y, x = (h - size) // 2, (w - size) // 2
        got.append(jpeg.encode(np.ascontiguousarray(frame[y:y + size, x:x + size]), quality=quality))
    cap.release()
    return len(got)


def bench_build(a, rows):
    """Frames field (16 uniform frames, 224x224, q95) over the corpus: vdx build on 2 threads
    against the reference design on a 2-process pool, both over the same files."""
    import glob, multiprocessing, tempfile
    try:
        import cv2, turbojpeg  # noqa
    except ImportError:
        return
    files = sorted(glob.glob(os.path.join(a.corpus, "*.mp4")) + glob.glob(os.path.join(a.corpus, "*.webm")))
    big = [f for f in files if "1080p" in f]
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x.vdx")
        def vdx_build(fs):
            subprocess.run([a.vdx, "build", *fs, "--out", out, "--threads", "2", "--quiet"], check=True,
                           stdout=subprocess.DEVNULL)
        with multiprocessing.Pool(2) as pool:
            counts = pool.map(ref_build_one, files)
            t_ref = median_time(lambda: pool.map(ref_build_one, files), a.reps)
        t_vdx = median_time(lambda: vdx_build(files), a.reps)
        short = [os.path.basename(f) for f, c in zip(files, counts) if c < 16]
        rows.append((f"build frames field, corpus ({len(files)} videos), 2 workers; reference got <16 frames on: {', '.join(short) or 'none'}",
                     "OpenCV seek-per-frame + PyTurboJPEG", t_ref, t_vdx))
        if big:
            t_ref1 = median_time(lambda: ref_build_one(big[0]), max(1, a.reps // 2))
            t_vdx1 = median_time(lambda: vdx_build(big), a.reps)
            rows.append(("build frames field, 1080p GOP-250 file alone", "OpenCV seek-per-frame + PyTurboJPEG",
                         t_ref1, t_vdx1))
        # Reading: vdx's reader against raw libjpeg-turbo on the same JPEGs (8 clips per video).
        subprocess.run([a.vdx, "build", *files, "--out", out, "--threads", "2", "--quiet", "--num-clips", "8"],
                       check=True, stdout=subprocess.DEVNULL)
        r = json.loads(subprocess.check_output([a.vdx, "bench", out, "--what", "read", "--reps", str(a.reps)]))
        for t in (1, 2):
            raw, ours = r[f"read_raw_jpeg_clips_per_sec_{t}t"], r[f"read_vdx_clips_per_sec_{t}t"]
            rows.append((f"read frames-field clips (16x224x224), {t} thread(s): clips/s raw {raw:.0f}, vdx {ours:.0f}",
                         "libjpeg-turbo raw decode", 1 / raw, 1 / ours))
        rows.append(("read a frames-field clip (vdx reader, 1 thread) vs decoding it from the source video",
                     "vdx decode from source", 1 / r["read_from_source_video_clips_per_sec"],
                     1 / r["read_vdx_clips_per_sec_1t"]))


def bench_export(a, rows):
    """Export throughput per format on 1 and 2 threads (whole command), against the reader's
    own decode rate for the same frames-field clips (the bound for a u8 .npy export)."""
    import glob, shutil, tempfile
    files = sorted(glob.glob(os.path.join(a.corpus, "*.mp4")) + glob.glob(os.path.join(a.corpus, "*.webm")))
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as d:
        ds = os.path.join(d, "x.vdx")
        subprocess.run([a.vdx, "build", *files, "--out", ds, "--threads", "2", "--quiet", "--num-clips", "32"],
                       check=True, stdout=subprocess.DEVNULL)
        r = json.loads(subprocess.check_output([a.vdx, "bench", ds, "--what", "read", "--reps", str(a.reps)]))
        n = r["read_samples"]
        os.sync()
        for fmt, extra in (("npy", []), ("npy", ["--float"]), ("folders", []), ("wds", []), ("mp4", []), ("audio", [])):
            for t in (1, 2):
                out = os.path.join(d, "out")
                ts = []
                for _ in range(a.reps if fmt in ("npy", "folders") else max(1, a.reps // 2)):
                    t0 = time.perf_counter()
                    subprocess.run([a.vdx, "export", ds, "--format", fmt, *extra, "--out", out, "--quiet"], check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RAYON_NUM_THREADS": str(t)})
                    ts.append(time.perf_counter() - t0)
                    shutil.rmtree(out)
                    os.sync()  # the next run starts on an idle disk
                tv = statistics.median(ts)
                name = fmt + (" f32" if extra else " u8" if fmt == "npy" else "")
                if fmt == "npy":
                    # The reader's rate two ways: in-process and warm (vdx bench), and as a whole
                    # command that decodes every sample (vdx verify: start-up, cold mapping).
                    read = r[f"read_vdx_clips_per_sec_{t}t"]
                    tver = median_time(lambda: subprocess.run([a.vdx, "verify", ds, "--quiet"], check=True,
                                                              stdout=subprocess.DEVNULL,
                                                              env={**os.environ, "RAYON_NUM_THREADS": str(t)}), a.reps)
                    rows.append((f"export {name}, {n} clips, {t} thread(s): {n / tv:.0f} clips/s = {100 * (n / tv) / read:.0f}% of the warm reader's {read:.0f}",
                                 "vdx verify (decodes every clip)", tver, tv))
                else:
                    rows.append((f"export {name}, {n} clips, {t} thread(s): {n / tv:.0f} clips/s", "-", float("nan"), tv))


def bench_realworld(a):
    """16 spread frames @224 (open + index + decode, as a loader does per video) on files other
    tools wrote: packed-B Xvid/DivX AVIs and MP4/MOV edit lists. CORPUS is a folder of them
    (scripts/realworld.sh's files/ plus target/rwbench from `make bench-realworld`)."""
    files = sorted(os.path.join(a.corpus, f) for f in os.listdir(a.corpus)
                   if f.endswith((".avi", ".mp4", ".mov")) and ("packed" in f or "elst" in f
                                                                or "editlist" in f))
    rows = []
    for f in files:
        v = json.loads(subprocess.check_output([a.vdx, "bench", f, "--reps", str(a.reps),
                                                "--threads", "2", "--what", "uniform,index"]))
        n = v["index_frames"]
        u = uniform_indices(n)
        name = os.path.basename(f)
        for peer, fn in (("PyAV", pyav_frames), ("decord", decord_frames)):
            try:
                t = median_time(lambda: fn(f, u), a.reps)
                rows.append((f"16 spread frames @224, {name} ({n} frames)", peer, t, v["uniform16_secs"]))
            except Exception as e:  # a peer that cannot read the file is reported, not timed
                rows.append((f"16 spread frames @224, {name} ({n} frames)", f"{peer} FAILED: {type(e).__name__}", float("nan"), v["uniform16_secs"]))
    print("| measurement | reference | reference (s) | vdx (s) | speed-up |")
    print("|---|---|---|---|---|")
    for what, ref, tr, tv in rows:
        print(f"| {what} | {ref} | {tr:.4f} | {tv:.4f} | {tr / tv:.2f}x |")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--vdx", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "vdx"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", choices=["all", "build", "export", "realworld"], default="all")
    a = ap.parse_args()
    if a.only == "realworld":
        return bench_realworld(a)
    big = os.path.join(a.corpus, "a_1080p30_h264_gop250_aac.mp4")
    out = {}
    if a.only in ("build", "export"):
        rows = []
        (bench_build if a.only == "build" else bench_export)(a, rows)
        print("| measurement | reference | reference (s) | vdx (s) | speed-up |")
        print("|---|---|---|---|---|")
        for what, ref, tr, tv in rows:
            print(f"| {what} | {ref} | {tr:.4f} | {tv:.4f} | {tr / tv:.2f}x |")
        return
    n = int(subprocess.check_output(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                                     "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", big]).decode().strip().rstrip(","))
    # random clips of 16 consecutive frames: the same starts for every tool
    import random
    rng = random.Random(7)
    starts = [rng.randint(0, n - 16) for _ in range(8)]
    v = json.loads(subprocess.check_output([a.vdx, "bench", big, "--reps", str(a.reps), "--threads", "2",
                                            "--clip-starts", ",".join(map(str, starts))]))
    out["vdx"] = v
    assert n == v["index_frames"]
    rows = []
    # probe
    try:
        import av  # noqa
        t = median_time(lambda: pyav_probe(big), a.reps * 4)
        rows.append(("probe (open + metadata), 1080p long GOP", "PyAV", t, v["probe_secs"]))
    except ImportError:
        pass
    # index vs ffprobe -show_packets
    t = median_time(lambda: subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets", big],
                                           stdout=subprocess.DEVNULL, check=True), a.reps)
    rows.append((f"index ({n} packets; per 1000: vdx {1000*v['index_secs']/n*1000:.1f} ms)", "ffprobe -show_packets", t, v["index_secs"]))
    # uniform 16 @ 224
    u = uniform_indices(n)
    peers = {}
    try:
        import av  # noqa
        peers["PyAV"] = median_time(lambda: pyav_frames(big, u), max(1, a.reps // 2))
    except ImportError:
        pass
    try:
        import decord  # noqa
        peers["decord"] = median_time(lambda: decord_frames(big, u), max(1, a.reps // 2))
    except ImportError:
        pass
    for name, t in peers.items():
        rows.append(("16 uniform frames @224, 1080p GOP 250", name, t, v["uniform16_secs"]))
    for name, fn in (("PyAV", pyav_frames), ("decord", decord_frames)):
        if name not in peers:
            continue
        per = [median_time(lambda s=s: fn(big, list(range(s, s + 16))), 1) for s in starts]
        rows.append(("random clip of 16 frames @224 (per clip)", name, statistics.median(per), v["random_clip_secs"]))
    # decode all frames to RGB
    t = median_time(lambda: subprocess.run(["ffmpeg", "-v", "error", "-threads", "2", "-i", big, "-map", "0:v:0",
                                            "-pix_fmt", "rgb24", "-f", "null", "-"], check=True), max(1, a.reps // 2))
    rows.append((f"decode all {v['decode_all_frames']} frames to RGB24, 2 threads", "ffmpeg CLI", t, v["decode_all_secs"]))
    bench_build(a, rows)
    bench_export(a, rows)
    print("| measurement | reference | reference (s) | vdx (s) | speed-up |")
    print("|---|---|---|---|---|")
    for what, ref, tr, tv in rows:
        print(f"| {what} | {ref} | {tr:.4f} | {tv:.4f} | {tr / tv:.2f}x |")
    json.dump({"rows": rows, "vdx": v}, open(os.path.join(os.environ.get("BENCH_OUT", "."), "bench.json"), "w"), indent=1)

if __name__ == "__main__":
    main()
