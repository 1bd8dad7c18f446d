#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this after fmt and clippy):
#   1. scripts/setup.sh installs what the suite needs (idempotent);
#   2. the Rust tests (cargo test), with WARD_TEST_EXTERNAL=require so that a test needing an
#      external part (PostgreSQL, Chromium, Neovim, the Python environment) fails instead of
#      skipping when that part is missing;
#   3. every scripts/test.d/*.sh in order (the Python, browser, editor and other suites).
# Exits non-zero if any step failed; every step runs even when an earlier one failed.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || { echo "test: set-up failed" >&2; exit 1; }
export WARD_TEST_EXTERNAL=require
export WARD_VENV=${WARD_VENV:-$PWD/target/venv}

failed=()
run() {
  local name=$1; shift
  printf '\n=== %s ===\n' "$name" >&2
  local start=$SECONDS
  if "$@"; then
    printf '=== %s: ok (%ss) ===\n' "$name" $((SECONDS - start)) >&2
  else
    printf '=== %s: FAILED (%ss) ===\n' "$name" $((SECONDS - start)) >&2
    failed+=("$name")
  fi
}

run "rust" cargo test --locked
for step in scripts/test.d/*.sh; do
  [[ -e $step ]] || continue
  run "$(basename "$step" .sh)" bash "$step"
done

if ((${#failed[@]})); then
  printf '\ntest: failed: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\ntest: everything passed\n' >&2
