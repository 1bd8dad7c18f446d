#!/usr/bin/env bash
# The OpenAPI document of `ward serve` against the real server, with schemathesis: generated
# requests for every operation, each response checked for status codes, content types and
# body schemas as documented, and no server error, the approvals endpoints included (an admin
# token: generated ids are unknown, 404; server/tests/openapi.rs checks the other answers).
# Bounded: 25 examples per operation, a 5-minute limit; the server is started on a free
# loopback port and stopped (SIGTERM) at the end, and its decision log must then verify.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=${WARD_VENV:-target/venv}
if [[ ! -x $venv/bin/schemathesis ]]; then
  if [[ ${WARD_TEST_EXTERNAL:-} == require ]]; then
    echo "openapi: schemathesis is missing from $venv: run scripts/setup.sh" >&2
    exit 1
  fi
  echo "openapi: skipped (schemathesis is not installed; run scripts/setup.sh)" >&2
  exit 0
fi

cargo build --locked -q --bin ward
ward=target/debug/ward
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$ward" token new openapi-check --role admin > "$work/token"
token=$(head -n 1 "$work/token")
tail -n +2 "$work/token" > "$work/tokens.toml"

"$ward" serve examples/guardrails --entities examples/estate.json --state "$work/state" \
  --tokens "$work/tokens.toml" --listen 127.0.0.1:0 --no-watch 2> "$work/stderr" &
server_pid=$!
addr=
for _ in $(seq 1 300); do
  addr=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$work/stderr" | head -n 1)
  [[ -n $addr ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
  sleep 0.1
done
[[ -n $addr ]] || { echo "openapi: ward serve did not start" >&2; cat "$work/stderr" >&2; exit 1; }

status=0
timeout 300 "$venv/bin/schemathesis" run "http://$addr/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples 25 --seed 20261201 --workers 1 --request-timeout 20 \
  -H "Authorization: Bearer $token" || status=$?

kill -TERM "$server_pid"
wait "$server_pid" || { echo "openapi: ward serve did not exit cleanly" >&2; status=1; }
server_pid=
"$ward" log verify "$work/state" || status=1
exit $status
