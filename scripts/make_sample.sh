#!/usr/bin/env bash
# Makes assets/sample.mp4, the small sample video vdx opens by default:
# 6 s, 640x360 at 30 fps, H.264 (High, GOP 30 with B-frames), AAC mono 48 kHz.
# Picture: FFmpeg's testsrc2 (moving shapes, a frame counter) over a slowly zooming
# mandelbrot, so frames differ visibly and optical flow has real motion.
# Needs the ffmpeg CLI. Output is reproducible with the same ffmpeg build.
set -euo pipefail
out="${1:-$(dirname "$0")/../assets/sample.mp4}"
ffmpeg -hide_banner -loglevel error -nostdin -y \
  -f lavfi -i "mandelbrot=s=640x360:rate=30:start_scale=3:end_scale=0.3:end_pts=180,trim=duration=6" \
  -f lavfi -i "testsrc2=s=320x180:r=30:d=6" \
  -f lavfi -i "sine=frequency=440:beep_factor=2:sample_rate=48000:duration=6" \
  -filter_complex "[1:v]format=yuva420p,colorchannelmixer=aa=0.85[t];[0:v][t]overlay=x='160+120*sin(2*PI*t/3)':y='90+60*cos(2*PI*t/2)',format=yuv420p[v]" \
  -map "[v]" -map 2:a \
  -c:v libx264 -preset medium -crf 26 -g 30 -keyint_min 30 -sc_threshold 0 -bf 2 -threads 1 \
  -c:a aac -b:a 64k -ac 1 \
  -map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  -movflags +faststart "$out"
ls -l "$out"
