#!/usr/bin/env bash
# Builds the package and the Rust baseline in release mode, then runs the benchmark once
# (both figures come from the same run). Needs the environment of scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${WARD_VENV:-$PWD/target/venv}
[[ -x $venv/bin/maturin ]] || { echo "bench: run scripts/setup.sh first (no maturin in $venv)" >&2; exit 1; }
rm -rf target/python-dist-release
"$venv/bin/maturin" build --quiet --release --locked --manifest-path python/Cargo.toml \
  --interpreter "$venv/bin/python" --out target/python-dist-release
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-index \
  --force-reinstall target/python-dist-release/ward-*-abi3-*.whl
cargo build --quiet --release --locked -p ward-python --example baseline
exec "$venv/bin/python" python/bench/bench.py --baseline target/release/examples/baseline "$@"
