#!/usr/bin/env bash
# Fuzz campaigns with cargo-fuzz (libFuzzer, nightly Rust). Seeds come from the project's own
# files: small datasets built from assets/sample.mp4, the bundled recipes, the sample video,
# a TS, a packed-B Xvid AVI and an edit-list MOV (and the shared corpus when target/corpus exists).
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
vdx="${CARGO_TARGET_DIR:-$HOME/.cache/vdx-target}/release/vdx"
[[ -x "$vdx" ]] || cargo build --release
seeds=fuzz/corpus
mkdir -p "$seeds/dataset_reader" "$seeds/recipe_json" "$seeds/video_index_decode"
for f in frames segments flow; do
  out="$seeds/dataset_reader/$f.vdx"
  [[ -s "$out" ]] || "$vdx" build assets/sample.mp4 --out "$out" --field "$f" --frames 4 --size 32 --num-clips 2 --quiet
done
cp assets/recipes/*.json "$seeds/recipe_json/"
cp assets/sample.mp4 "$seeds/video_index_decode/"
# Containers and streams other tools write: MPEG-TS, an Xvid AVI with packed B-frames, a MOV
# cut with an edit list that starts mid-GOP (small, made with the ffmpeg CLI).
v="$seeds/video_index_decode"
src="testsrc2=s=200x120:r=25:d=2"
[[ -s "$v/seed.ts" ]] || ffmpeg -v error -y -f lavfi -i "$src" -c:v libx264 -g 12 -bf 2 -f mpegts "$v/seed.ts"
[[ -s "$v/seed_packed.avi" ]] || ffmpeg -v error -y -f lavfi -i "$src" -c:v libxvid -bf 1 -g 12 "$v/seed_packed.avi"
if [[ ! -s "$v/seed_cut.mov" ]]; then
  ffmpeg -v error -y -f lavfi -i "$src" -c:v libx264 -g 25 -bf 2 "$v/.long.mov"
  ffmpeg -v error -y -ss 0.5 -i "$v/.long.mov" -c copy "$v/seed_cut.mov" && rm -f "$v/.long.mov"
fi
if [[ -d target/corpus ]]; then
  for f in target/corpus/*.mp4 target/corpus/*.webm; do
    # Keep seeds small: the first 256 kB of each corpus file.
    head -c 262144 "$f" > "$seeds/video_index_decode/$(basename "$f").head"
  done
fi
cd fuzz
# Inputs that once failed (kept as regressions) must pass first.
for t in dataset_reader recipe_json video_index_decode; do
  if compgen -G "regressions/$t/*" >/dev/null; then
    cargo +nightly fuzz run -O "$t" regressions/$t/* 2>&1 | grep -E "ERROR|SUMMARY" && exit 1
  fi
done
for t in dataset_reader recipe_json video_index_decode; do
  echo "== $t ($secs s)"
  cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 -max_len=4194304 2>&1 \
    | grep -E "^#[0-9]+.*(DONE|pulse)|Done|ERROR|SUMMARY|panicked|crash-|Test unit written" | tail -5
done
