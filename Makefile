# vdx developer tasks. The cargo target folder lives outside the clone (reused between CI runs
# on the same machine) unless CARGO_TARGET_DIR is set.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/vdx-target

.PHONY: setup run test lint bench corpus sample

setup:
	bash scripts/setup.sh

run: setup
	cargo run --release -- probe assets/sample.mp4
	cargo run --release -- index assets/sample.mp4

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
