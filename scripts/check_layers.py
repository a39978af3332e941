#!/usr/bin/env python3
"""Checks that no module of vdx imports a layer above its own (and so that the layers have no
import loop between them), and that no layer below the GUI spells a command-line flag: the
core names options (`quality`, "the tail option"); src/cli/ turns them into `--quality`,
`--tail`. FFmpeg appears in src/video/ only; no source file is longer than 700 lines. Run by `make lint`
and by tests/layers.rs.

Layers, lowest first; a file may use its own layer and the ones below:
  0 base     error_parts (the error pieces every layer shares), memory, storage (object
             storage reads), rng, npy, jpeg, flowviz: leaf utilities
  1 video    src/video/ (media, probe, index, decode, sample, audio; video::VideoError)
  2 augment  src/augment/ (augment::AugmentError)
  3 dataset  src/dataset/ (dataset::DatasetError)
  4 export, quality, health (ExportError, QualityError, HealthError)
  4.5 error  src/error.rs: VdxError, which gathers the layers' errors below it
  5 gui      src/gui/ (the window)
  6 cli      src/cli/ (flags live only here; `vdx` with no command opens the GUI), fuzzing
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "src"
MAX_LINES = 700
RANK = {
    "error_parts": 0, "error": 4.5, "memory": 0, "storage": 0, "rng": 0, "npy": 0, "jpeg": 0, "flowviz": 0,
    "video": 1, "audio": 1, "decode": 1, "index": 1, "media": 1, "probe": 1, "sample": 1,
    "build_index": 1, "Result": 4.5, "VdxError": 4.5, "ProbeBudget": 1,
    "augment": 2, "dataset": 3, "export": 4, "quality": 4, "health": 4, "gui": 5,
    "cli": 6, "bench": 6, "fuzzing": 6,
}


def layer_of(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).parts
    name = rel[0].removesuffix(".rs")
    if name.startswith("cli"):
        return "cli"
    return name


def main() -> int:
    bad = []
    checked = 0
    for f in sorted(ROOT.rglob("*.rs")):
        if f.name in ("lib.rs", "main.rs"):
            continue
        src = layer_of(f)
        if src not in RANK:
            bad.append(f"{f}: module '{src}' has no layer in scripts/check_layers.py")
            continue
        text = f.read_text()
        uses = re.findall(r"crate::([A-Za-z_]+)", text)
        for group in re.findall(r"crate::\{([^}]*)\}", text):
            uses += re.findall(r"(?:^|,)\s*([A-Za-z_]+)", group)
        for used in uses:
            checked += 1
            if used not in RANK:
                bad.append(f"{f}: crate::{used} has no layer in scripts/check_layers.py")
            elif RANK[used] > RANK[src]:
                bad.append(
                    f"{f}: layer '{src}' ({RANK[src]}) uses crate::{used} "
                    f"from a layer above it ({RANK[used]})"
                )
        # FFmpeg (ffmpeg-next, its raw `ffi`) is the video layer's business alone.
        if not f.is_relative_to(ROOT / "video"):
            for no, line in enumerate(text.splitlines(), 1):
                code = line.strip()
                if not code.startswith("//") and re.search(r"\bffmpeg(_next)?\b\s*(::|as\b|;)", code):
                    bad.append(f"{f}:{no}: FFmpeg used outside src/video/: {code[:80]}")
        # The core names options (`quality`, "the tail option"); only the CLI spells flags.
        if RANK[src] < RANK["gui"]:
            for no, line in enumerate(text.splitlines(), 1):
                code = line.strip()
                if not code.startswith("//") and re.search(r"--[a-z]{2,}", code):
                    bad.append(f"{f}:{no}: a command-line flag in layer '{src}': {code[:80]}")
    # A file a newcomer can read: none longer than MAX_LINES (the Rust sources of the core,
    # the GUI, the CLI and the Python extension).
    sized = 0
    for f in sorted(list(ROOT.rglob("*.rs")) + list((ROOT.parent / "python" / "src").rglob("*.rs"))):
        sized += 1
        n = len(f.read_text().splitlines())
        if n > MAX_LINES:
            bad.append(f"{f}: {n} lines (at most {MAX_LINES}: split it by what its parts do)")
    if checked == 0 or sized == 0:
        bad.append("no crate:: paths found: the script looked in the wrong place")
    for b in bad:
        print(b)
    print(f"layers: {checked} crate paths checked, {len(bad)} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
