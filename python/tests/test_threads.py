"""The engine is shared between threads: decisions are correct under concurrency, estate swaps
are atomic, and deciding releases the GIL, so threads decide at the same time.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, Dict, List, Tuple

import pytest

import ward
from conftest import EXAMPLES

N_THREADS = 8


def example_requests() -> List[Dict[str, Any]]:
    lines = (EXAMPLES / "requests.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def decide(engine: ward.Engine, r: Dict[str, Any]) -> ward.Decision:
    return engine.decide(r["action"], r["args"], r["context"], r["at"])


@pytest.fixture(scope="module")
def example() -> ward.Engine:
    return ward.Engine.load(EXAMPLES / "guardrails", entities=EXAMPLES / "estate.json")


def run_threads(n: int, target: Any) -> List[Any]:
    results: List[Any] = [None] * n
    errors: List[BaseException] = []

    def body(i: int) -> None:
        try:
            results[i] = target(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a deciding thread did not finish"
    assert not errors, errors
    return results


def test_eight_threads_decide_correctly(example: ward.Engine) -> None:
    requests = example_requests()
    expected = [decide(example, r).to_dict() for r in requests]
    kinds = {e["decision"] for e in expected}
    assert kinds == {"allow", "deny", "require_approval"}
    barrier = threading.Barrier(N_THREADS)

    def work(i: int) -> int:
        barrier.wait()
        n = 0
        for round_ in range(40):
            for j in range(len(requests)):
                k = (j + i + round_) % len(requests)
                got = decide(example, requests[k]).to_dict()
                assert got == expected[k]
                n += 1
        return n

    counts = run_threads(N_THREADS, work)
    assert sum(counts) == N_THREADS * 40 * len(requests)


def test_estate_swaps_are_atomic_under_concurrent_decisions() -> None:
    """Every host is `ok` in one estate and not in the other: a decision that saw half of
    each would find two hosts that differ, and deny."""
    policy = (
        "entity Host { ok: Bool }\n"
        "action pair { a: Host, b: Host }\n"
        'rule same { on pair when a.ok == b.ok allow because "{a.ok}" }'
    )
    good = {"entities": {"Host": {f"h{i}": {"ok": True} for i in range(50)}}}
    bad = {"entities": {"Host": {f"h{i}": {"ok": False} for i in range(50)}}}
    engine = ward.Engine.from_source(policy, entities=good)
    stop = threading.Event()
    seen: List[str] = []

    def swapper() -> None:
        for k in range(200):
            engine.load_entities(bad if k % 2 == 0 else good)
        stop.set()

    def decider(i: int) -> int:
        n = 0
        while not stop.is_set() and n < 50_000:
            d = engine.decide("pair", {"a": f"h{n % 50}", "b": f"h{(n + 7) % 50}"}, at="2026-01-01T00:00:00Z")
            assert d.allowed, d.to_dict()
            seen.append(d.fired[0].message or "")
            n += 1
        return n

    swap = threading.Thread(target=swapper)
    swap.start()
    counts = run_threads(N_THREADS - 1, decider)
    swap.join(timeout=60)
    assert sum(counts) > 0
    assert set(seen) <= {"true", "false"}
    assert engine.decide("pair", {"a": "h1", "b": "h2"}, at="2026-01-01T00:00:00Z").fired[0].message == "true"


def slow_request(engine: ward.Engine, at_least: float) -> Tuple[str, float]:
    """A request that takes at least `at_least` seconds to decide (JSON text, so that all of
    the work, parsing included, runs inside the engine), and how long it took."""
    n = 20_000
    while True:
        items = [f"item-{i}" for i in range(n)]
        text = json.dumps({"action": "scan", "at": "2026-01-01T00:00:00Z", "args": {"items": items}, "context": {}})
        start = time.perf_counter()
        assert engine.decide_json(text).allowed
        took = time.perf_counter() - start
        if took >= at_least or n >= 5_000_000:
            return text, took
        n *= 4


def test_threads_decide_while_another_is_inside_a_decision(example: ward.Engine) -> None:
    """Eight threads decide at once: while one is inside a long decision, the seven others
    keep deciding.

    The GIL is handed over only when a thread releases it (the switch interval is set out of
    reach), and the fast deciders release it in every `decide` and in a short sleep. So if
    `decide` held the GIL, no other thread could run between the slow thread's two readings
    of the counters and they would be equal; they differ only because the slow decision ran
    with the GIL released, at the same time as the others.
    """
    scanner = ward.Engine.from_source(
        'action scan { items: Set<String> }\n'
        'rule all_items { on scan when all x in items: x matches "^item-[0-9]+$" allow }'
    )
    text, took = slow_request(scanner, at_least=0.2)
    requests = example_requests()
    expected = [decide(example, r).to_dict() for r in requests]
    counts = [0] * (N_THREADS - 1)
    wrong: List[str] = []
    stop = threading.Event()
    deadline = time.monotonic() + 60

    def fast(i: int) -> None:
        k = i
        while not stop.is_set() and time.monotonic() < deadline:
            r = requests[k % len(requests)]
            if decide(example, r).to_dict() != expected[k % len(requests)]:
                wrong.append(r["action"])
            counts[i] += 1
            k += 1
            time.sleep(0.0002)

    old = sys.getswitchinterval()
    threads = [threading.Thread(target=fast, args=(i,)) for i in range(N_THREADS - 1)]
    try:
        sys.setswitchinterval(1000.0)
        for t in threads:
            t.start()
        while min(counts) == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert min(counts) > 0, "the deciding threads did not start"
        before = list(counts)
        slow = scanner.decide_json(text)
        after = list(counts)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        sys.setswitchinterval(old)
    assert slow.allowed
    assert not wrong
    during = [a - b for a, b in zip(after, before)]
    assert all(d > 0 for d in during), (
        f"while one thread decided for {took:.3f}s, the others decided {during} times: "
        "deciding does not release the GIL"
    )
