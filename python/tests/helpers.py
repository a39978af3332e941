"""What every test file of the Python suite shares: where the project and the `vdx` binary
are, and running the ffmpeg CLI (fixture videos) and vdx's own CLI (the reference the package
is held to). pytest puts this folder on sys.path, so tests `from helpers import ...`."""
import os
import subprocess

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
