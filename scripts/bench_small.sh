#!/usr/bin/env bash
# Small and awkward files, the shape of UCF-101/HMDB-51 items, HLS segments and low-latency
# captures: open + 16 spread frames at 224 through the Python package against PyAV, decord
# and video-reader-rs (scripts/bench_python.sh). Files made here with the ffmpeg CLI:
# a 176x144 120-frame MP4, a 240-frame 480p MPEG-TS segment, a UCF-like packed-B Xvid AVI,
# and a 640x360 300-frame H.264 with periodic intra refresh in MP4; plus the real-world
# corpus's short files.
# Usage: bash scripts/bench_small.sh [ARGS for bench_python.py...]
set -euo pipefail
cd "$(dirname "$0")/.."
d=target/smallbench
mkdir -p "$d"
ff=(ffmpeg -v error -y -nostdin)
[[ -s $d/intra_refresh_360p.mp4 ]] || "${ff[@]}" -f lavfi -i "testsrc2=s=640x360:r=30:d=10,noise=alls=10:allf=t,format=yuv420p" \
  -c:v libx264 -preset fast -x264-params intra-refresh=1:keyint=60 -threads 2 "$d/intra_refresh_360p.mp4"
[[ -s $d/qcif_120.mp4 ]] || "${ff[@]}" -f lavfi -i "testsrc2=s=176x144:r=25:d=4.8,noise=alls=10:allf=t,format=yuv420p" \
  -c:v libx264 -threads 1 "$d/qcif_120.mp4"
[[ -s $d/hls_480p_240.ts ]] || "${ff[@]}" -f lavfi -i "testsrc2=s=854x480:r=30:d=8,noise=alls=6:allf=t,format=yuv420p" \
  -c:v libx264 -preset fast -g 60 -threads 2 "$d/hls_480p_240.ts"
[[ -s $d/ucf_like.avi ]] || "${ff[@]}" -f lavfi -i "testsrc2=s=320x240:r=25:d=7,noise=alls=10:allf=t" \
  -c:v libxvid -bf 1 -g 250 -q:v 4 -threads 1 "$d/ucf_like.avi"
# The real-world corpus's short files (26-166 frames: packed-B Xvid, edit-list H.264 from
# MainConcept and QuickTime), from scripts/realworld.sh's cache.
bash scripts/realworld.sh >/dev/null
rw="${VDX_REALWORLD:-$HOME/.cache/vdx-realworld}/files"
for f in xvid_packed_force.avi xvid_packed_inertie.avi h264_mainconcept_elst.mp4 quicktime_h264_elst.mov; do
  [[ -s $rw/$f ]] || { echo "missing $rw/$f (scripts/realworld.sh)" >&2; exit 1; }
  ln -sf "$(realpath "$rw/$f")" "$d/$f"
done
bash scripts/bench_python.sh "$d" --only frames "$@"
