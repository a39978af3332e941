# vdx developer tasks. The cargo target folder lives outside the clone (reused between CI runs
# on the same machine) unless CARGO_TARGET_DIR is set.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/vdx-target

.PHONY: setup run test lint docs test-full-disk bench bench-remote bench-annotations bench-small bench-realworld bench-python bench-scale bench-ffcv bench-quality corpus corpus-test memcheck sample screenshots

setup:
	bash scripts/setup.sh

# The explorer window on the bundled sample (without a display: its facts on the terminal).
run: setup
	cargo run --release

screenshots: setup
	cargo build --release
	bash scripts/screenshots.sh

test: setup
	cargo test --no-fail-fast
	bash scripts/pytest.sh

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --manifest-path python/Cargo.toml --all-targets -- -D warnings
	python3 scripts/check_layers.py
	python3 scripts/check_links.py

# Every relative link and #anchor in README.md, FORMAT.md and docs/*.md resolves.
docs:
	python3 scripts/check_links.py

# Planning a 650,000-row Kinetics-700-sized annotation build (vdx build --dry-run).
bench-annotations: setup
	cargo build --release
	bash scripts/bench_annotations.sh

corpus:
	test -d target/corpus || bash ../shared/corpus/make_corpus.sh target/corpus

# The tests that need the generated corpus (ignored in `make test`): index and exact decode
# held to ffprobe and to the sequential decode on every corpus file.
corpus-test: setup corpus
	VDX_CORPUS=$(CURDIR)/target/corpus cargo test --test index --test decode_exact -- --ignored

# A cache folder (VDX_CACHE_DIR) on a disk that fills up gives an error, not SIGBUS (ignored in
# `make test`: it mounts a 1 MiB tmpfs, which needs root).
test-full-disk: setup
	cargo test --test remote -- --ignored a_full_cache_folder_is_an_error_not_a_crash

# valgrind's memcheck over `vdx frames` on every corpus file (make test runs it on a handful
# of small odd-size and real-world files).
memcheck: setup corpus
	cargo build
	bash scripts/realworld.sh
	bash scripts/memcheck.sh target/corpus $${VDX_REALWORLD:-$$HOME/.cache/vdx-realworld}/files

bench: corpus
	cargo build --release
	bash scripts/bench.sh target/corpus

# 16 spread frames on packed-B Xvid/DivX AVIs and edit-list cuts, vdx against PyAV and decord.
bench-realworld: setup
	cargo build --release
	bash scripts/bench_realworld.sh

# Small and awkward files (tiny MP4, 480p MPEG-TS segment, packed-B AVI, intra refresh): vdx
# against PyAV, decord and video-reader-rs through the Python package.
bench-small: setup
	cargo build --release
	bash scripts/bench_small.sh --json target/bench_small.json

# The Python package against PyAV, decord and video-reader-rs, numpy, and its own Rust side.
bench-python: setup corpus
	cargo build --release
	bash scripts/bench_python.sh target/corpus --json target/bench_python.json

# Sharded builds on Ray against one build; a 1,000-shard manifest opened and listed.
bench-scale: setup corpus
	cargo build --release
	bash scripts/bench_in_test_venv.sh scripts/bench_scale.py target/corpus --json target/bench_scale.json

# vdx on a local SeaweedFS S3 server against the same files on disk: 16 spread frames from the
# 1080p long-GOP MP4, and a Loader epoch at batch 32.
bench-remote: setup corpus
	cargo build --release
	bash scripts/bench_in_test_venv.sh scripts/bench_remote.py target/corpus --json target/bench_remote.json

# FFCV's Loader on a vdx frames dataset against vdx.Loader and FFCV's own RGBImageField.
bench-ffcv: setup corpus
	cargo build --release
	bash scripts/bench_in_test_venv.sh scripts/bench_ffcv.py target/corpus --json target/bench_ffcv.json

# The quality pass, the explorer while it runs, snapped clip starts, compare-fields.
bench-quality: setup corpus
	cargo build --release
	bash scripts/bench_quality.sh target/corpus

sample:
	bash scripts/make_sample.sh assets/sample.mp4
