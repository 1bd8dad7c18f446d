#!/usr/bin/env bash
# The Python package (python/): builds the wheel with maturin in the virtual environment that
# scripts/setup.sh prepares ($WARD_VENV, default target/venv), installs it there, and runs
# pytest on python/tests against the installed package and the `ward` binary.
#
# Without the environment this fails under WARD_TEST_EXTERNAL=require (scripts/test.sh sets
# it) and is skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=${WARD_VENV:-$root/target/venv}

if [[ ! -x $venv/bin/python || ! -x $venv/bin/maturin || ! -x $venv/bin/pytest ]]; then
  msg="no Python test environment at $venv (maturin, pytest): run scripts/setup.sh"
  if [[ ${WARD_TEST_EXTERNAL:-} == require ]]; then
    echo "python: $msg" >&2
    exit 1
  fi
  echo "python: skipped: $msg" >&2
  exit 0
fi

# The CLI the conformance tests compare with (and `ward serve` for the client tests).
cargo build --locked --bin ward

dist=$root/target/python-dist
rm -rf "$dist"
"$venv/bin/maturin" build --quiet --locked --profile dev \
  --manifest-path python/Cargo.toml --interpreter "$venv/bin/python" --out "$dist"
wheels=("$dist"/ward-*-abi3-*.whl)
if [[ ${#wheels[@]} -ne 1 || ! -f ${wheels[0]} ]]; then
  echo "python: expected one abi3 wheel in $dist, found: ${wheels[*]}" >&2
  exit 1
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-index \
  --force-reinstall "${wheels[0]}"

# From the repository root, so that `import ward` finds the installed package, not python/ward.
WARD_BIN=$root/target/debug/ward WARD_WHEEL=${wheels[0]} WARD_TEST_INSTALLED=1 \
  "$venv/bin/pytest" -q -p no:cacheprovider python/tests
