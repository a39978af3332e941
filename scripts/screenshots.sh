#!/usr/bin/env bash
# Renders the real vdx window under Xvfb (software OpenGL) and writes the pictures in README.md and docs/explorer.md.
# Usage: bash scripts/screenshots.sh [VDX_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
vdx="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/vdx-target}/release/vdx}"
export LIBGL_ALWAYS_SOFTWARE=1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# A fresh settings folder: the pictures show the default 1280x800 window and layout, not
# whatever this machine's vdx remembered.
export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config"
shot() {  # shot OUT.png ARGS...
  local out="$1"; shift
  rm -f "$out"
  VDX_SCREENSHOT="$out" timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" "$vdx" "$@"
  [[ -s "$out" ]] || { echo "no screenshot written to $out" >&2; exit 1; }
  echo "wrote $out"
}
shot screenshots/explorer.png assets/sample.mp4
# File > Open URL… over the sample (a video or dataset on object storage or an HTTP server).
VDX_OPEN_URL="s3://datasets/kinetics/train/abseiling/0347ZoDXyP0.mp4" \
  shot screenshots/open_url.png assets/sample.mp4
VDX_PANEL=flow shot screenshots/flow.png assets/sample.mp4
VDX_PANEL=augment shot screenshots/augment.png assets/sample.mp4
"$vdx" build assets/sample.mp4 --out "$tmp/sample_flow.vdx" --field flow --clips all --frames 16 --step 40 --quiet
shot screenshots/dataset.png "$tmp/sample_flow.vdx"
VDX_DEMO_BUILD="$tmp/demo.vdx" shot screenshots/build.png assets/sample.mp4
# A sharded build opened through its manifest: the shard list, and each sample's shard.
mkdir -p "$tmp/videos" "$tmp/shards"
for k in 0 1 2; do cp assets/sample.mp4 "$tmp/videos/take$k.mp4"; done
for k in 0 1 2; do
  "$vdx" build "$tmp/videos" --out "$tmp/shards/walks" --shard "$k/3" --num-clips 4 --frames 8 \
    --size 128 --quiet
done
"$vdx" manifest "$tmp/shards" >/dev/null
shot screenshots/manifest.png "$tmp/shards/walks.vdxm"
# Source against stored: a JPEG q60 dataset in the comparison view (wipe at the middle), after
# the quality pass has listed the worst samples.
"$vdx" build assets/sample.mp4 --out "$tmp/q60.vdx" --num-clips 6 --frames 12 --size 256 \
  --quality 60 --quiet
VDX_DATASET_VIEW=compare shot screenshots/compare.png "$tmp/q60.vdx"
# A flow sample against fresh Farneback flow: the EPE map, its histogram and EPE per pair.
"$vdx" build assets/sample.mp4 --out "$tmp/flow8.vdx" --field flow --num-clips 4 --frames 8 \
  --size 192 --quiet
VDX_DATASET_VIEW=compare shot screenshots/compare_flow.png "$tmp/flow8.vdx"
# The three fields compared on the sample video (the Compare fields window).
VDX_DEMO_FIELDS=1 shot screenshots/fields.png assets/sample.mp4
# A video whose second keyframe group is damaged (its IDR's slice type flipped, as a broken
# transfer leaves it): the timeline marks the frames that cannot be decoded. The flow panel is
# shown because the clip filmstrips of such a file fail (by design: --damaged error).
ffmpeg -v error -y -f lavfi -i "testsrc2=s=640x360:r=30:d=4" -c:v libx264 -g 30 -keyint_min 30 \
  -sc_threshold 0 -bf 2 "$tmp/src.mp4"
python3 - "$tmp/src.mp4" "$tmp/damaged_transfer.mp4" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
idr = [i for i in range(4, len(d) - 1) if d[i] == 0x65 and d[i + 1] == 0x88
       and 100 < int.from_bytes(d[i - 4:i], "big") <= len(d) - i]
d[idr[1] + 1] = 0x89
open(sys.argv[2], "wb").write(bytes(d))
PY
VDX_PANEL=flow VDX_SHOT_AFTER_SCAN=1 shot screenshots/damaged.png "$tmp/damaged_transfer.mp4"
# An H.264 MP4 whose SPS crops 6 pixels on the left (not a multiple of 32: FFmpeg's decoder
# keeps them) and 10 on the right, and whose header still says 352x256: the metadata panel
# warns that frames decode at 342x256.
ffmpeg -v error -y -f lavfi -i "mandelbrot=s=352x256:r=25,trim=duration=2" -c:v libx264 \
  -pix_fmt yuv420p "$tmp/crop_src.mp4"
ffmpeg -v error -y -i "$tmp/crop_src.mp4" -c copy -bsf:v h264_metadata=crop_left=6:crop_right=10 \
  "$tmp/partial_crop.mp4"
shot screenshots/crop_warning.png "$tmp/partial_crop.mp4"
# An annotation file over the sample video: its segments as bands on the timeline (overlapping
# rows in lanes, colour per class), and the dataset built from it in the browser, with the
# split filter and the class balance per split.
mkdir -p "$tmp/ann"
cp assets/sample.mp4 "$tmp/ann/walk.mp4"
cat > "$tmp/ann/actions.jsonl" <<'JSONL'
{"video": "walk.mp4", "start": 0.0, "end": 1.6, "label": "stand", "split": "train", "id": "a1"}
{"video": "walk.mp4", "start": 1.2, "end": 3.4, "labels": ["walk", "wave"], "split": "train", "id": "a2"}
{"video": "walk.mp4", "start": 2.8, "end": 4.2, "label": "turn", "split": "val", "id": "a3"}
{"video": "walk.mp4", "start": 3.6, "end": 5.9, "label": "walk", "split": "val", "id": "a4"}
{"video": "walk.mp4", "start": 4.0, "end": 5.0, "label": "wave", "split": "train", "id": "a5"}
JSONL
shot screenshots/annotations.png "$tmp/ann/walk.mp4" --annotations "$tmp/ann/actions.jsonl"
"$vdx" build --annotations "$tmp/ann/actions.jsonl" --videos "$tmp/ann" --out "$tmp/ann.vdx" \
  --frames 8 --num-clips 2 --size 128 --quiet
shot screenshots/annotated_dataset.png "$tmp/ann.vdx"
# Dataset health: fixtures with known faults (black, a hard cut, a frozen run, letterbox bars, a
# nearly still test pattern and its re-encoded copy), the health pass run and saved, the
# browser with the flags on the grid and the cut sample's strip marked.
mkdir -p "$tmp/health/a" "$tmp/health/b"
hv() { local out="$1"; shift; ffmpeg -v error -y "$@" -frames:v 48 -pix_fmt yuv420p "$out"; }
hv "$tmp/health/a/black.mp4" -f lavfi -i "color=black:s=320x240:r=25"
hv "$tmp/health/a/cut.mp4" -f lavfi -i "sierpinski=s=320x240:r=25:seed=4" -f lavfi -i "mandelbrot=s=320x240:r=25" \
  -filter_complex "[0]trim=end_frame=12[x];[1]trim=end_frame=36,setpts=PTS-STARTPTS[y];[x][y]concat=n=2:v=1"
hv "$tmp/health/b/frozen.mp4" -f lavfi -i "testsrc2=s=320x240:r=25" \
  -filter_complex "[0]noise=alls=20:allf=t:all_seed=7,split[x][y];[x][y]freezeframes=first=8:last=30:replace=8"
hv "$tmp/health/b/letterbox.mp4" -f lavfi -i "pal100bars=s=320x180:r=25" -vf "noise=alls=20:allf=t:all_seed=7,pad=320:240:0:30:black"
hv "$tmp/health/b/scene.mp4" -f lavfi -i "testsrc=s=320x240:r=25"
hv "$tmp/health/a/scene_copy.mp4" -i "$tmp/health/b/scene.mp4" -vf scale=160:120 -crf 35
"$vdx" build "$tmp/health" --out "$tmp/health.vdx" --frames 16 --num-clips 2 --size 128 --quiet
"$vdx" health "$tmp/health.vdx" --quiet >/dev/null
VDX_DATASET_VIEW=health shot screenshots/health.png "$tmp/health.vdx"
