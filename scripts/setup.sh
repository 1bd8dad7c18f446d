#!/usr/bin/env bash
# Installs what the whole test suite needs beyond cargo, and nothing twice (idempotent):
#   - Debian packages listed in scripts/apt-packages.txt (PostgreSQL, Chromium, Neovim, ...),
#   - a Python virtual environment with scripts/requirements-test.txt (maturin, pytest, ...),
#     at $WARD_VENV (default: target/venv, never committed).
# Run as root or with sudo available. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------------------------
missing=()
while read -r pkg _; do
  [[ -z $pkg || $pkg == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done < scripts/apt-packages.txt
# npm, for the grammar test's tool (scripts/test.d/40-grammar.sh): a Node.js from another source
# usually bundles it, and Debian's `npm` package would replace that Node.js, so Debian's is
# installed only when no `npm` command exists at all.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { say "need root to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  say "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python virtual environment ---------------------------------------------------------------
venv=${WARD_VENV:-target/venv}
stamp="$venv/.requirements.sha256"
want=$(sha256sum scripts/requirements-test.txt | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  say "preparing the Python environment in $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  if grep -qv '^\s*\(#\|$\)' scripts/requirements-test.txt; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
  fi
  echo "$want" > "$stamp"
fi
say "ready (Python environment: $venv)"
