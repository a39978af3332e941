#!/usr/bin/env bash
# Small and awkward files, the shape of UCF-101/HMDB-51 items, HLS segments and low-latency
# captures: open + 16 spread frames at 224 through the Python package against PyAV, decord
# and video-reader-rs (scripts/bench_python.sh). Files made here with the ffmpeg CLI:
# a 176x144 120-frame MP4, a 240-frame 480p MPEG-TS segment, a UCF-like packed-B Xvid AVI,
# and a 640x360 300-frame H.264 with periodic intra refresh in MP4.
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
bash scripts/bench_python.sh "$d" --only frames "$@"
