"""The package's exceptions survive pickling (multiprocessing and task queues send them
between processes) with their message and attributes."""

from __future__ import annotations

import pickle

import pytest

import ward

from conftest import AT, reboot_args


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


def test_a_decision_pickles_as_its_json(ops: ward.Engine) -> None:
    d = ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT, id="r-1")
    assert d.fired, "the case needs a rule that fired"
    back = pickle.loads(pickle.dumps(d))
    assert type(back) is ward.Decision
    assert back == d and back.to_dict() == d.to_dict()
    assert (back.decision, back.request_id) == (d.decision, "r-1")
    assert [f.message for f in back.fired] == [f.message for f in d.fired]
    # What stayed behind is said, not guessed: the estate and the request are not in it.
    with pytest.raises(ValueError, match="unpickled"):
        back.explain()


def test_a_refusal_with_a_native_decision_pickles(ops: ward.Engine) -> None:
    d = ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT)
    refusal = roundtrip(ward.Denied(d, "reboot"))
    assert refusal.decision == d and str(refusal) == str(ward.Denied(d, "reboot"))


def test_a_decision_from_other_json_is_refused() -> None:
    with pytest.raises(ValueError, match="not a ward decision"):
        ward.Decision._from_json('{"decision": "maybe"}')
