#!/usr/bin/env bash
# The TextMate grammar (grammar/ward.tmLanguage.json) against the annotated samples in
# grammar/tests/, with vscode-tmgrammar-test. The tool is installed from the npm registry with
# `npm ci` from grammar/test-tools/package-lock.json (pinned versions) into
# target/grammar-test-tools (never committed); it is reinstalled only when the lock changes.
set -euo pipefail
cd "$(dirname "$0")/../.."

tools=target/grammar-test-tools
if ! command -v npm >/dev/null; then
  if [[ ${WARD_TEST_EXTERNAL:-} == require ]]; then
    echo "grammar: npm is missing: install Node.js and npm (Debian: apt-get install npm)" >&2
    exit 1
  fi
  echo "grammar: skipped (npm is not installed)" >&2
  exit 0
fi
want=$(sha256sum grammar/test-tools/package-lock.json | cut -d' ' -f1)
if [[ ! -x $tools/node_modules/.bin/vscode-tmgrammar-test || $(cat "$tools/.lock.sha256" 2>/dev/null) != "$want" ]]; then
  mkdir -p "$tools"
  cp grammar/test-tools/package.json grammar/test-tools/package-lock.json "$tools/"
  (cd "$tools" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$tools/.lock.sha256"
fi
"$tools/node_modules/.bin/vscode-tmgrammar-test" --grammar grammar/ward.tmLanguage.json 'grammar/tests/*.ward'
