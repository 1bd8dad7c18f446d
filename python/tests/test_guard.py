"""`ward.guard`: the tool runs only when Ward allows the call."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Dict, List

import pytest

import ward
from conftest import AT, OPS, OPS_ESTATE

CTX = {"agent": "bot"}


@pytest.fixture()
def engine() -> ward.Engine:
    return ward.Engine.load(OPS, entities=OPS_ESTATE)


def make_tool(engine: Any, calls: List[Dict[str, Any]], **options: Any) -> Any:
    options.setdefault("context", CTX)
    options.setdefault("at", AT)

    @ward.guard(engine, "reboot", **options)
    def reboot(host: str, count: int = 1, force: bool = False, duration: str = "30m",
               until: str = "2026-11-28T11:00:00Z", tags: Any = (), note: str = "") -> str:
        """Reboot a host."""
        calls.append({"host": host, "count": count})
        return f"rebooted {host}"

    return reboot


def test_allow_calls_the_function(engine: ward.Engine) -> None:
    calls: List[Dict[str, Any]] = []
    reboot = make_tool(engine, calls)
    assert reboot(host="web-1") == "rebooted web-1"
    assert reboot("web-1", 2) == "rebooted web-1"
    assert calls == [{"host": "web-1", "count": 1}, {"host": "web-1", "count": 2}]


def test_deny_raises_denied_and_does_not_call(engine: ward.Engine) -> None:
    calls: List[Dict[str, Any]] = []
    reboot = make_tool(engine, calls)
    with pytest.raises(ward.Denied) as caught:
        reboot(host="db-1")
    assert calls == []
    assert not isinstance(caught.value, ward.ApprovalRequired)
    assert caught.value.decision.decision == "deny"
    assert caught.value.action == "reboot"
    assert caught.value.request["args"]["host"] == "db-1"
    assert "`reboot` was denied" in str(caught.value)
    assert "db-1 is production" in str(caught.value)


def test_a_request_that_does_not_validate_is_denied(engine: ward.Engine) -> None:
    calls: List[Dict[str, Any]] = []
    reboot = make_tool(engine, calls)
    with pytest.raises(ward.Denied) as caught:
        reboot(host="web-1", count=2.5)
    assert calls == []
    assert "args.count" in str(caught.value)
    unknown_agent = make_tool(engine, calls, context={"agent": "mallory"})
    with pytest.raises(ward.Denied):
        unknown_agent(host="web-1")
    assert calls == []


def test_require_approval_raises_approval_required(engine: ward.Engine) -> None:
    calls: List[Dict[str, Any]] = []
    reboot = make_tool(engine, calls)
    with pytest.raises(ward.ApprovalRequired) as caught:
        reboot(host="web-1", count=20)
    assert calls == []
    assert caught.value.approvers == ["oncall"]
    assert isinstance(caught.value, ward.Denied), "code that only catches Denied still refuses"
    assert "requires approval" in str(caught.value) and "oncall" in str(caught.value)


def test_an_approval_handler_decides(engine: ward.Engine) -> None:
    calls: List[Dict[str, Any]] = []
    seen: List[Any] = []

    def approve(decision: Any, request: Dict[str, Any]) -> bool:
        seen.append((decision.decision, request["action"], request["args"]["count"]))
        return True

    reboot = make_tool(engine, calls, on_approval=approve)
    assert reboot(host="web-1", count=20) == "rebooted web-1"
    assert seen == [("require_approval", "reboot", 20)]
    # The handler is asked only for require_approval; a deny stays a deny.
    with pytest.raises(ward.Denied):
        reboot(host="db-1", count=20)
    assert len(seen) == 1 and len(calls) == 1


@pytest.mark.parametrize("answer", [False, None, "yes", 1, {"approved": True}])
def test_only_true_or_an_allow_lets_the_call_run(engine: ward.Engine, answer: Any) -> None:
    calls: List[Dict[str, Any]] = []
    reboot = make_tool(engine, calls, on_approval=lambda d, r: answer)
    with pytest.raises(ward.ApprovalRequired):
        reboot(host="web-1", count=20)
    assert calls == []


def test_a_handler_returning_a_decision(engine: ward.Engine) -> None:
    calls: List[Dict[str, Any]] = []
    allow = engine.decide("reboot", {"host": "web-1", "count": 1, "force": False, "duration": "1m",
                                     "until": AT, "tags": [], "note": ""}, CTX, AT)
    deny = engine.decide("reboot", {"host": "db-1", "count": 1, "force": False, "duration": "1m",
                                    "until": AT, "tags": [], "note": ""}, CTX, AT)
    assert allow.allowed and deny.decision == "deny"
    assert make_tool(engine, calls, on_approval=lambda d, r: allow)(host="web-1", count=20) == "rebooted web-1"
    with pytest.raises(ward.Denied) as caught:
        make_tool(engine, calls, on_approval=lambda d, r: deny)(host="web-1", count=20)
    assert caught.value.decision is deny
    assert len(calls) == 1


def test_fields_renames_and_leaves_out(engine: ward.Engine) -> None:
    calls: List[str] = []

    class Fleet:
        @ward.guard(engine, "reboot", context=CTX, at=AT,
                    fields={"self": None, "hostname": "host", "n": "count"})
        def reboot(self, hostname: str, n: int = 1, force: bool = False, duration: str = "30m",
                   until: str = AT, tags: Any = (), note: str = "") -> str:
            calls.append(hostname)
            return hostname

    fleet = Fleet()
    assert fleet.reboot("web-1") == "web-1"
    with pytest.raises(ward.ApprovalRequired):
        fleet.reboot(hostname="web-1", n=30)
    assert calls == ["web-1"]


def test_kwargs_become_fields(engine: ward.Engine) -> None:
    @ward.guard(engine, "reboot", context=CTX, at=AT)
    def reboot(**fields: Any) -> str:
        return fields["host"]

    base = {"count": 1, "force": False, "duration": "30m", "until": AT, "tags": [], "note": ""}
    assert reboot(host="web-1", **base) == "web-1"
    with pytest.raises(ward.Denied):
        reboot(host="db-1", **base)


def test_extra_positional_arguments_are_refused(engine: ward.Engine) -> None:
    @ward.guard(engine, "ping", context=CTX)
    def ping(*args: Any) -> str:
        return "pong"

    assert ping() == "pong"
    with pytest.raises(TypeError, match="pass them by keyword"):
        ping("surprise")


def test_context_and_at_may_be_callables(engine: ward.Engine) -> None:
    agents = iter(["bot", "mallory"])
    calls: List[Dict[str, Any]] = []
    reboot = make_tool(engine, calls, context=lambda: {"agent": next(agents)}, at=lambda: AT)
    assert reboot(host="web-1")
    with pytest.raises(ward.Denied):
        reboot(host="web-1")


def test_mistakes_are_caught_when_decorating(engine: ward.Engine) -> None:
    with pytest.raises(ValueError, match="did you mean `reboot`"):
        ward.guard(engine, "rebot")
    with pytest.raises(TypeError):
        ward.guard(engine, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a parameter"):
        @ward.guard(engine, "reboot", fields={"hostname": "host"})
        def reboot(host: str) -> None:
            pass


def test_the_wrapper_looks_like_the_function(engine: ward.Engine) -> None:
    reboot = make_tool(engine, [])
    assert reboot.__name__ == "reboot"
    assert reboot.__doc__ == "Reboot a host."
    assert list(inspect.signature(reboot).parameters)[:2] == ["host", "count"]
    assert reboot.__ward_action__ == "reboot"


def test_coroutine_functions_are_guarded(engine: ward.Engine) -> None:
    calls: List[str] = []

    @ward.guard(engine, "ping", context=CTX)
    async def ping() -> str:
        calls.append("ping")
        return "pong"

    async def approve_later(decision: Any, request: Dict[str, Any]) -> bool:
        await asyncio.sleep(0)
        return True

    @ward.guard(engine, "reboot", context=CTX, at=AT, on_approval=approve_later)
    async def reboot(host: str, count: int = 1, force: bool = False, duration: str = "30m",
                     until: str = AT, tags: Any = (), note: str = "") -> str:
        calls.append(host)
        return host

    assert inspect.iscoroutinefunction(ping)
    assert asyncio.run(ping()) == "pong"
    assert asyncio.run(reboot(host="web-1", count=50)) == "web-1"
    with pytest.raises(ward.Denied):
        asyncio.run(reboot(host="db-1"))
    assert calls == ["ping", "web-1"]


def test_an_async_handler_on_a_plain_function_is_refused(engine: ward.Engine) -> None:
    async def approve(decision: Any, request: Dict[str, Any]) -> bool:
        return True

    calls: List[Dict[str, Any]] = []
    reboot = make_tool(engine, calls, on_approval=approve)
    with pytest.raises(TypeError, match="must not be async"):
        reboot(host="web-1", count=20)
    assert calls == []


def test_anything_that_decides_can_guard() -> None:
    class Stub:
        """Decides like an engine (the client does the same)."""

        def __init__(self, decision: Any) -> None:
            self.decision = decision

        def decide(self, action: str, args: Any, context: Any = None, at: Any = None) -> Any:
            return self.decision

    class Claim:
        decision = "allow"
        allowed = False  # says allow but does not allow: not an allow
        fired: List[Any] = []
        errors: List[Any] = []
        approvers: List[str] = []

    @ward.guard(Stub(Claim()), "anything")
    def tool() -> str:
        return "ran"

    with pytest.raises(ward.Denied):
        tool()
