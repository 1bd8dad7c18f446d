#!/usr/bin/env bash
# `ward diff` throughput and memory, with the release binary:
#   scripts/bench-diff.sh [N]        (default N = 1000000)
#
# Replays N requests against examples/guardrails and a copy of it with one rule changed
# (`disable_needs_reason` accepts shorter reasons, so some requests are newly allowed), with
# examples/estate.json. The requests are examples/requests.jsonl over and over, their times
# spread over November 2026; every other one is written as a `ward serve` decision-log line
# (`"kind": "decision"` with the request in `"request"`), so both input forms are timed. A run
# over N/10 requests comes first: the peak memory of the two runs shows that it does not grow
# with the input. Prints, per run, the wall time and requests per second, the CPU time (all
# threads: the input is decided by one worker per core) and the peak resident memory (GNU time,
# Debian package `time`). On a machine shared with other work, wall time varies; CPU time
# much less.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-1000000}
[[ $n =~ ^[0-9]+$ && $n -ge 10 ]] || { echo "usage: scripts/bench-diff.sh [N >= 10]" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench-diff: needs GNU time (apt-get install time)" >&2; exit 1; }

cargo build --release --locked --quiet --bin ward
ward=$PWD/target/release/ward

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r examples/guardrails "$work/new"
sed -i 's/when len(reason) < min_reason_length/when len(reason) < 8/' "$work/new/identity.ward"
grep -q 'when len(reason) < 8' "$work/new/identity.ward" ||
  { echo "bench-diff: the rule this benchmark changes is no longer in examples/" >&2; exit 1; }

# N request lines, cycling through the examples with their times spread over the month.
generate() {
  awk -v n="$1" '
    { lines[NR - 1] = $0 }
    END {
      for (i = 0; i < n; i++) {
        line = lines[i % NR]
        at = sprintf("2026-11-%02dT%02d:%02d:00Z", 1 + int(i / 37) % 30, (i * 13) % 24, (i * 7) % 60)
        sub(/"at": "[^"]*"/, "\"at\": \"" at "\"", line)
        if (i % 2) {
          printf "{\"seq\": %d, \"kind\": \"decision\", \"id\": \"d-%d\", \"request\": %s, \"decision\": {\"decision\": \"allow\"}}\n", i, i, line
        } else {
          print line
        }
      }
    }' examples/requests.jsonl > "$2"
}

run() {
  local count=$1 file=$work/requests-$1.jsonl
  generate "$count" "$file"
  local bytes
  bytes=$(stat -c %s "$file")
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
    "$ward" diff examples/guardrails "$work/new" --entities examples/estate.json \
    --requests "$file" --format json > "$work/report.json"
  local secs user sys kib
  read -r secs user sys kib < "$work/time"
  local changed
  changed=$(grep -m1 '"changed"' "$work/report.json" | tr -dc 0-9)
  awk -v n="$count" -v s="$secs" -v u="$user" -v y="$sys" -v k="$kib" -v b="$bytes" -v c="$changed" 'BEGIN {
    printf "%9d requests (%4.0f MiB): %6.2f s wall, %8.0f requests/s; CPU %5.2f s (%4.2f us a request); peak memory %5.1f MiB; %d changed\n",
      n, b / 1048576, s, (s > 0 ? n / s : 0), u + y, (u + y) * 1e6 / n, k / 1024, c
  }'
  rm -f "$file"
}

echo "ward diff, release build, $(nproc) cores:"
run $((n / 10))
run "$n"
