#!/usr/bin/env bash
# 16 spread frames on files other tools write (packed-B Xvid/DivX AVIs, edit-list cuts), vdx
# against PyAV and decord: the real-world corpus's files plus three larger ones made here
# (a UCF-101-like 320x240 7 s packed-B Xvid AVI, a 640x480 20 s DivX-like one with two
# B-frames, a 720p stream-copied cut starting mid-GOP). Usage: bash scripts/bench_realworld.sh
set -euo pipefail
cd "$(dirname "$0")/.."
d=target/rwbench
mkdir -p "$d"
ff=(ffmpeg -v error -y -nostdin)
[[ -s $d/ucf_like_packed.avi ]] || "${ff[@]}" -f lavfi -i "testsrc2=s=320x240:r=25:d=7,noise=alls=10:allf=t" \
  -c:v libxvid -bf 1 -g 250 -q:v 4 -threads 1 "$d/ucf_like_packed.avi"
[[ -s $d/divx_long_packed.avi ]] || "${ff[@]}" -f lavfi -i "testsrc2=s=640x480:r=25:d=20,noise=alls=10:allf=t" \
  -c:v libxvid -bf 2 -g 300 -q:v 4 -threads 1 "$d/divx_long_packed.avi"
if [[ ! -s $d/editlist_cut_720p.mp4 ]]; then
  "${ff[@]}" -f lavfi -i "testsrc2=s=1280x720:r=30:d=12,noise=alls=8:allf=t" -c:v libx264 -preset veryfast \
    -g 120 -bf 3 -threads 2 "$d/.long720.mp4"
  "${ff[@]}" -ss 3.3 -i "$d/.long720.mp4" -c copy "$d/editlist_cut_720p.mp4"
  rm -f "$d/.long720.mp4"
fi
bash scripts/realworld.sh >/dev/null
rw="${VDX_REALWORLD:-$HOME/.cache/vdx-realworld}/files"
for f in "$rw"/xvid_packed_*.avi "$rw"/*elst*.mp4 "$rw"/*elst*.mov "$rw"/h264_editlist_*.mp4; do
  ln -sf "$(realpath "$f")" "$d/$(basename "$f")"
done
bash scripts/bench.sh "$d" --only realworld "$@"
