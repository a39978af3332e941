# vdx developer tasks. The cargo target folder lives outside the clone (reused between CI runs
# on the same machine) unless CARGO_TARGET_DIR is set.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/vdx-target

.PHONY: setup run test lint bench corpus sample screenshots

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

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

corpus:
	bash ../shared/corpus/make_corpus.sh target/corpus

bench: corpus
	cargo build --release
	bash scripts/bench.sh target/corpus

sample:
	bash scripts/make_sample.sh assets/sample.mp4
