.PHONY: build-dev build-prod test lint bench

build-dev:  ## optimized, quick-to-link build into the active virtualenv
	maturin develop --profile dev-fast

build-prod:  ## the release wheel (fat LTO, abi3)
	maturin build --release

test:  ## the README's test command (without the install step)
	cargo test --manifest-path rust/Cargo.toml && python -m pytest tests -q

lint:
	cargo clippy --manifest-path rust/Cargo.toml --all-targets -- -D warnings
	cargo clippy --manifest-path rust/Cargo.toml --features python -- -D warnings
	python -m mypy.stubtest qmsum_fast._core

bench:
	python benches/bench_analyze.py
	python benches/bench_rouge.py
	python benches/bench_baselines.py
