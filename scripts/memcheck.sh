#!/usr/bin/env bash
# valgrind memcheck over `vdx frames` (three frames each: first, middle, last) on every video
# under the given folders (default: target/corpus), plus the fuzz regression inputs. Files vdx
# refuses are fine (a clear error is the right answer); any invalid read or write is not.
#   bash scripts/memcheck.sh [DIR...]
set -u -o pipefail
cd "$(dirname "$0")/.."
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/vdx-target}/debug/vdx"
[[ -x "$BIN" ]] || { echo "build first: cargo build" >&2; exit 2; }
dirs=("$@"); ((${#dirs[@]})) || dirs=(target/corpus)
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
bad=0; n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  count=$("$BIN" index "$f" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["frame_count"])' 2>/dev/null || echo 1)
  at="0,$((count / 2)),$((count > 0 ? count - 1 : 0))"
  log="$out/vg.log"
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=no --quiet --log-file="$log" \
    "$BIN" frames "$f" --at "$at" --format jpg --out "$out/frames" >/dev/null 2>&1
  rc=$?
  if [[ $rc == 99 ]] || grep -q "Invalid \(read\|write\)" "$log"; then
    echo "MEMCHECK ERROR: $f"; sed -n 1,40p "$log"; bad=$((bad + 1))
  else
    echo "ok (exit $rc): $f"
  fi
done < <(find "${dirs[@]}" fuzz/regressions -type f ! -name '*.tsv' ! -name '*.err' ! -path '*/.cache/*' -print0 2>/dev/null)
echo "memcheck: $n files, $bad with errors"
((n > 0)) || { echo "no files found" >&2; exit 2; }
((bad == 0))
