"""Bad requests are decided `deny` with a clear error; `decide` never raises and never allows.

Each case breaks one thing in a request that is otherwise allowed (the first case shows it
is), and names a phrase the error must contain.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, Dict, Optional

import pytest

import ward
from conftest import AT, reboot_args

CTX = {"agent": "bot"}


class Twin(str):
    """A `str` subclass whose instances are all distinct dict keys, even with equal text."""

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


class BrokenZone(tzinfo):
    def utcoffset(self, dt: Optional[datetime]) -> timedelta:
        raise RuntimeError("the zone database is on fire")


class BrokenSet(set):  # type: ignore[type-arg]
    def __iter__(self) -> Any:
        raise RuntimeError("cannot look inside")


def cyclic() -> list:  # type: ignore[type-arg]
    items: list = []  # type: ignore[type-arg]
    items.append(items)
    return items


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


# (name, call, phrase in the error)
CASES: Dict[str, tuple] = {  # type: ignore[type-arg]
    "key not a string": (lambda e: e.decide("reboot", {**reboot_args(), 7: "x"}, CTX, AT), "the key 7 is not a string"),
    "context key not a string": (lambda e: e.decide("reboot", reboot_args(), {"agent": "bot", None: 1}, AT), "context: the key None is not a string"),
    "float for an Int": (lambda e: e.decide("reboot", reboot_args(count=3.0), CTX, AT), "args.count"),
    "bool for an Int": (lambda e: e.decide("reboot", reboot_args(count=True), CTX, AT), "args.count"),
    "int for a Bool": (lambda e: e.decide("reboot", reboot_args(force=1), CTX, AT), "args.force"),
    "NaN": (lambda e: e.decide("reboot", reboot_args(count=float("nan")), CTX, AT), "args.count: `nan` is not a number JSON can carry"),
    "infinity": (lambda e: e.decide("reboot", reboot_args(count=float("inf")), CTX, AT), "`inf` is not a number"),
    "integer beyond 64 bits": (lambda e: e.decide("reboot", reboot_args(count=2**70), CTX, AT), "out of range"),
    "integer beyond i64": (lambda e: e.decide("reboot", reboot_args(count=2**63), CTX, AT), "out of range"),
    "naive datetime in args": (lambda e: e.decide("reboot", reboot_args(until=datetime(2026, 11, 28, 11)), CTX, AT), "args.until: the datetime `2026-11-28 11:00:00` is naive"),
    "naive at": (lambda e: e.decide("reboot", reboot_args(), CTX, datetime(2026, 11, 28, 10)), "at: the datetime"),
    "a date is not an instant": (lambda e: e.decide("reboot", reboot_args(until=date(2026, 11, 28)), CTX, AT), "a `date` is not an instant"),
    "a time zone that fails": (lambda e: e.decide("reboot", reboot_args(), CTX, datetime(2026, 1, 1, tzinfo=BrokenZone())), "cannot read the time zone"),
    "fractional timedelta": (lambda e: e.decide("reboot", reboot_args(duration=timedelta(seconds=1.5)), CTX, AT), "fraction of a second"),
    "timedelta for an Int": (lambda e: e.decide("reboot", reboot_args(count=timedelta(hours=1)), CTX, AT), "args.count"),
    "fractional seconds in an at string": (lambda e: e.decide("reboot", reboot_args(), CTX, "2026-11-28T10:00:00.5Z"), "malformed timestamp"),
    "at without a zone": (lambda e: e.decide("reboot", reboot_args(), CTX, "2026-11-28T10:00:00"), "malformed timestamp"),
    "at of the wrong type": (lambda e: e.decide("reboot", reboot_args(), CTX, 1764324000), "at: expected an aware datetime or an RFC 3339 string, found a `int`"),
    "a cyclic list": (lambda e: e.decide("reboot", reboot_args(tags=cyclic()), CTX, AT), "nests deeper than"),
    "nesting too deep": (lambda e: e.decide("reboot", reboot_args(tags=nested(500)), CTX, AT), "nests deeper than"),
    "an object": (lambda e: e.decide("reboot", reboot_args(note=object()), CTX, AT), "a value of type `object` has no JSON form"),
    "bytes": (lambda e: e.decide("reboot", reboot_args(note=b"kernel"), CTX, AT), "a value of type `bytes` has no JSON form"),
    "a lone surrogate": (lambda e: e.decide("reboot", reboot_args(note="\ud800"), CTX, AT), "lone surrogate"),
    "a key with a lone surrogate": (lambda e: e.decide("reboot", {**reboot_args(), "\udc00": 1}, CTX, AT), "lone surrogate"),
    "a set that cannot be iterated": (lambda e: e.decide("reboot", reboot_args(tags=BrokenSet(["a"])), CTX, AT), "cannot iterate over the set"),
    "equal keys through a str subclass": (lambda e: e.decide("reboot", {**reboot_args(), Twin("note"): "other"}, CTX, AT), "duplicate key `note`"),
    "args not a dict": (lambda e: e.decide("reboot", [("host", "web-1")], CTX, AT), "args: expected a dict of fields, found a `list`"),
    "context not a dict": (lambda e: e.decide("reboot", reboot_args(), "bot", AT), "context: expected a dict of fields, found a `str`"),
    "action not a str": (lambda e: e.decide(b"reboot", reboot_args(), CTX, AT), "action: expected the action's name"),
    "unknown action": (lambda e: e.decide("rebot", reboot_args(), CTX, AT), "rebot"),
    "missing field": (lambda e: e.decide("reboot", {k: v for k, v in reboot_args().items() if k != "count"}, CTX, AT), "count"),
    "extra field": (lambda e: e.decide("reboot", reboot_args(hostname="web-1"), CTX, AT), "hostname"),
    "unknown entity": (lambda e: e.decide("reboot", reboot_args(host="web-9"), CTX, AT), "web-9"),
    "missing context": (lambda e: e.decide("reboot", reboot_args()), "agent"),
    "JSON text with a duplicate key": (lambda e: e.decide_json(json.dumps({"action": "reboot", "at": AT, "args": reboot_args(), "context": CTX})[:-1] + ', "context": {"agent": "bot"}}'), "duplicate key `context`"),
    "JSON text with a nested duplicate": (lambda e: e.decide_json('{"action": "reboot", "at": "%s", "args": {"host": "db-1", "host": "web-1"}, "context": {"agent": "bot"}}' % AT), "args: duplicate key `host`"),
    "JSON text that is not JSON": (lambda e: e.decide_json('{"action": "reboot",'), "line 1"),
    "JSON bytes that are not UTF-8": (lambda e: e.decide_json(b'{"action": "reb\xffoot"}'), "not valid UTF-8"),
    "JSON text of the wrong type": (lambda e: e.decide_json({"action": "reboot"}), "expected the request as JSON text"),
}


def test_the_request_the_cases_break_is_allowed(ops: ward.Engine) -> None:
    assert ops.decide("reboot", reboot_args(), CTX, AT).allowed
    text = json.dumps({"action": "reboot", "at": AT, "args": reboot_args(), "context": CTX})
    assert ops.decide_json(text).allowed
    assert ops.decide_json(text.encode()).allowed


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_denied_with_an_error(name: str, ops: ward.Engine) -> None:
    call, phrase = CASES[name]
    decision = call(ops)
    assert decision.decision == "deny"
    assert decision.allowed is False
    assert decision.fired == []
    assert decision.errors, "a deny for bad input carries the error"
    messages = "; ".join(e.message for e in decision.errors)
    assert phrase in messages
    assert all(e.rule is None for e in decision.errors)
    assert decision.to_dict()["decision"] == "deny"


def test_every_problem_is_listed_at_once(ops: ward.Engine) -> None:
    d = ops.decide("reboot", reboot_args(count=float("nan"), until=datetime(2026, 1, 1), note=object()), CTX, 3)
    message = d.errors[0].message
    for phrase in ("args.count", "args.until", "args.note", "at:"):
        assert phrase in message


def test_many_problems_are_capped(ops: ward.Engine) -> None:
    d = ops.decide("reboot", reboot_args(tags=[object()] * 100), CTX, AT)
    assert d.decision == "deny"
    assert "… and 80 more problems" in d.errors[0].message


def test_subclasses_of_the_plain_types_are_read_as_those_types(ops: ward.Engine) -> None:
    class Args(dict):  # type: ignore[type-arg]
        pass

    class Note(str):
        pass

    assert ops.decide("reboot", Args(reboot_args(note=Note("n"))), CTX, AT).allowed


def test_the_to_json_helper_uses_the_same_rules() -> None:
    from ward import _ward

    assert json.loads(_ward.to_json({"a": [1, True, None, "x"], "t": datetime(2026, 1, 1, tzinfo=timezone.utc)})) == {
        "a": [1, True, None, "x"],
        "t": "2026-01-01T00:00:00Z",
    }
    assert _ward.to_json(timedelta(hours=1, minutes=30)) == '"1h30m"'
    with pytest.raises(ValueError, match="not a string"):
        _ward.to_json({1: 2})
    with pytest.raises(ValueError, match="nan"):
        _ward.to_json([float("nan")])


