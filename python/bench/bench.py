"""Decisions per second through `ward.Engine.decide` from Python, next to the Rust
`Engine::decide` on the same policy set, estate and requests, measured in one run.

By default the bundled example: `examples/guardrails`, `examples/estate.json` and the day of
agent requests in `examples/requests.jsonl` (22 requests: allows, denies and approvals, with
graph closures, windows and regular expressions). Both sides decide every request in rounds
for the same time, taking turns in slices (so that other work on the machine slows both
alike); the figure is the median cost per decision over the rounds (of 50 passes each). The Python
side passes each request as `decide` takes it (action, args dict, context dict, `at` string)
and, on a second line, as JSON text (`decide_json`).

Run it with both sides built in release mode (`python/bench/run.sh` does that):

    target/venv/bin/maturin develop --release -m python/Cargo.toml
    target/venv/bin/python python/bench/bench.py

`--baseline PATH` uses an already built Rust baseline instead of `cargo run --release`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import ward

REPO = Path(__file__).resolve().parents[2]
TARGET_NS = 2000.0


def rounds(call: Callable[[], None], per_round: int, seconds: float) -> List[float]:
    """Nanoseconds per decision of each round, for `seconds` (at least 5 rounds)."""
    out: List[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(out) < 5:
        t = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - t) / per_round)
    return out


def rust_baseline(args: argparse.Namespace, seconds: float) -> Dict[str, Any]:
    files = [str(args.policy), str(args.entities), str(args.requests), "--seconds", str(seconds)]
    if args.baseline:
        cmd = [str(args.baseline), *files]
    else:
        cmd = ["cargo", "run", "--quiet", "--release", "--locked", "-p", "ward-python", "--example", "baseline", "--", *files]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    if out.returncode != 0:
        sys.exit(f"bench: the Rust baseline failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", type=Path, default=REPO / "examples" / "guardrails")
    parser.add_argument("--entities", type=Path, default=REPO / "examples" / "estate.json")
    parser.add_argument("--requests", type=Path, default=REPO / "examples" / "requests.jsonl")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per side (default 3)")
    parser.add_argument("--slices", type=int, default=3, help="turns the sides take (default 3)")
    parser.add_argument("--baseline", type=Path, help="a built `baseline` example binary")
    args = parser.parse_args()

    engine = ward.Engine.load(args.policy, entities=args.entities)
    lines = [line for line in args.requests.read_text().splitlines() if line.strip()]
    docs = [json.loads(line) for line in lines]
    calls = [(d["action"], d.get("args"), d.get("context"), d.get("at")) for d in docs]
    kinds = sorted({engine.decide(*c).decision for c in calls})
    per_round = 50 * len(calls)
    decide = engine.decide
    decide_json = engine.decide_json

    def python_round() -> None:
        for _ in range(50):
            for action, a, c, at in calls:
                decide(action, a, c, at)

    def json_round() -> None:
        for _ in range(50):
            for text in lines:
                decide_json(text)

    python_round()  # warm up
    # The sides take turns, in slices, so that a machine busy with other work slows them alike.
    slice_ = args.seconds / args.slices
    rust_rounds: List[float] = []
    py_rounds: List[float] = []
    js_rounds: List[float] = []
    for _ in range(args.slices):
        rust_rounds.append(float(rust_baseline(args, slice_)["ns_per_decision_median"]))
        py_rounds.extend(rounds(python_round, per_round, slice_))
        js_rounds.extend(rounds(json_round, per_round, slice_))
    rs = statistics.median(rust_rounds)
    py = statistics.median(py_rounds)
    js = statistics.median(js_rounds)

    print(f"ward Python benchmark: {len(calls)} requests ({', '.join(kinds)}) from {args.requests.name}, "
          f"policy {args.policy.name}, {args.seconds:g}s per side in {args.slices} turns")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'path':<44} {'ns/decision':>12} {'decisions/s':>12} {'added':>10}")
    print(f"{'Rust Engine::decide (serde_json::Value)':<44} {rs:>12.0f} {1e9 / rs:>12,.0f} {'':>10}")
    print(f"{'Python engine.decide(action, args, ctx, at)':<44} {py:>12.0f} {1e9 / py:>12,.0f} {py - rs:>+10.0f}")
    print(f"{'Python engine.decide_json(text)':<44} {js:>12.0f} {1e9 / js:>12,.0f} {js - rs:>+10.0f}")
    verdict = "met" if py - rs < TARGET_NS else "NOT met"
    print(f"target: Python adds under {TARGET_NS:.0f} ns per decision through engine.decide: {verdict} "
          f"({py - rs:.0f} ns)")


if __name__ == "__main__":
    main()
