#!/usr/bin/env bash
# The MCP guard with real MCP parts (mcp/tests/python): the official MCP Python SDK as the
# client, a tool server built on the same SDK, `ward mcp-guard` between them (and `ward serve`
# for approvals), from the virtual environment scripts/setup.sh prepares ($WARD_VENV, default
# target/venv).
#
# Without the environment this fails under WARD_TEST_EXTERNAL=require (scripts/test.sh sets
# it) and is skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=${WARD_VENV:-$root/target/venv}

if [[ ! -x $venv/bin/python || ! -x $venv/bin/pytest ]] || ! "$venv/bin/python" -c 'import mcp' 2>/dev/null; then
  msg="no Python test environment with the MCP SDK at $venv (pytest, mcp): run scripts/setup.sh"
  if [[ ${WARD_TEST_EXTERNAL:-} == require ]]; then
    echo "mcp: $msg" >&2
    exit 1
  fi
  echo "mcp: skipped: $msg" >&2
  exit 0
fi

cargo build --locked --bin ward
WARD_BIN=$root/target/debug/ward "$venv/bin/pytest" -q -p no:cacheprovider mcp/tests/python
