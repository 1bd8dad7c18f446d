"""The package's exceptions survive pickling (multiprocessing and task queues send them
between processes) with their message and attributes."""

from __future__ import annotations

import pickle

import pytest

import ward


def roundtrip(error: BaseException) -> BaseException:
    return pickle.loads(pickle.dumps(error))


def test_policy_and_entities_errors_keep_their_details() -> None:
    p = roundtrip(ward.PolicyError("error[E0103]: unknown", [{"code": "E0103"}]))
    assert isinstance(p, ward.PolicyError)
    assert str(p) == "error[E0103]: unknown" and p.diagnostics == [{"code": "E0103"}]
    e = roundtrip(ward.EntitiesError("bad", [{"path": "entities", "message": "m"}], 3))
    assert e.problems == [{"path": "entities", "message": "m"}] and e.omitted == 3


def test_service_errors_keep_status_body_and_approval() -> None:
    s = roundtrip(ward.ServiceError("down", 503, "busy"))
    assert (str(s), s.status, s.body) == ("down", 503, "busy")
    t = roundtrip(ward.ApprovalTimeout("still pending", {"id": "apr_1"}))
    assert isinstance(t, TimeoutError) and t.approval == {"id": "apr_1"}
    assert str(t) == "still pending"


@pytest.mark.parametrize("cls", [ward.Denied, ward.ApprovalRequired])
def test_refusals_keep_their_message_and_decision(cls: type) -> None:
    decision = {"decision": "deny"}
    d = roundtrip(cls(decision, "disable_account", {"action": "disable_account"}, "no"))
    assert type(d) is cls
    assert str(d) == "no"
    assert d.decision == decision and d.action == "disable_account"
    assert d.request == {"action": "disable_account"}
