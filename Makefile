.PHONY: build-dev build-prod test lint bench

build-dev:  ## optimized, quick-to-link build into the active virtualenv
	maturin develop --profile dev-fast

build-prod:  ## the release wheel (fat LTO, abi3)
	maturin build --release

test:  ## the README's test command (without the install step)
	cargo test --manifest-path rust/Cargo.toml && python -m pytest tests -q

lint:  ## what CI checks before the tests: ruff, mypy, rustfmt, clippy, stubtest
	ruff check python tests benches scripts
	ruff format --check python tests benches scripts
	mypy
	cargo fmt --manifest-path rust/Cargo.toml --all -- --check
	cargo clippy --manifest-path rust/Cargo.toml --all-targets -- -D warnings
	cargo clippy --manifest-path rust/Cargo.toml --features python -- -D warnings
	python -m mypy.stubtest qmsum_fast._core

bench:
	python benches/bench_analyze.py
	python benches/bench_rouge.py
	python benches/bench_baselines.py
	python benches/bench_preprocess.py
	python benches/bench_metrics.py
