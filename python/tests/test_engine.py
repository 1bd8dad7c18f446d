"""`ward.Engine` and `ward.Decision`: loading, errors, deciding, explaining."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import ward
from conftest import AT, CORPUS, EXAMPLES, OPS, OPS_ESTATE, REPO, reboot_args, ward_eval


def test_decide_allow_deny_and_approval(ops: ward.Engine) -> None:
    allowed = ops.decide("reboot", reboot_args(), {"agent": "bot"}, AT)
    assert allowed.decision == "allow" and allowed.allowed
    assert [f.rule for f in allowed.fired] == ["dev_reboots"]
    assert allowed.fired[0].message == "web-1 may be rebooted"
    assert allowed.fired[0].location.endswith("ops.ward:52:1")
    assert allowed.approvers == [] and allowed.errors == []

    denied = ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT)
    assert denied.decision == "deny" and not denied.allowed
    assert "no_prod" in [f.rule for f in denied.fired]

    approval = ops.decide("reboot", reboot_args(count=12, duration="3h"), {"agent": "bot"}, AT)
    assert approval.decision == "require_approval" and not approval.allowed
    assert approval.approvers == ["oncall", "sre-leads"]
    effects = {f.rule: f.effect for f in approval.fired}
    assert effects == {"many_hosts": "require_approval", "long_reboots": "require_approval", "dev_reboots": "allow"}


def test_fired_entries_carry_their_approvers(ops: ward.Engine) -> None:
    d = ops.decide("reboot", reboot_args(count=12, duration="3h"), {"agent": "bot"}, AT)
    by_rule = {f.rule: f for f in d.fired}
    # Each require_approval rule lists its own approvers once the runtime reports them;
    # an allow rule never has any.
    assert by_rule["dev_reboots"].approvers == []
    for name in ("many_hosts", "long_reboots"):
        assert set(by_rule[name].approvers) <= set(d.approvers)


def test_python_types_for_every_field_type(ops: ward.Engine) -> None:
    at = datetime(2026, 11, 28, 11, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    d = ops.decide(
        "reboot",
        reboot_args(duration=timedelta(minutes=30), until=at + timedelta(hours=1), tags={"a", "b"}),
        {"agent": "bot", "ticket": None},
        at,
    )
    assert d.decision == "allow", d.errors
    as_text = ops.decide("reboot", reboot_args(tags=("a", "b")), {"agent": "bot"}, "2026-11-28T10:00:00Z")
    assert as_text.to_dict() == d.to_dict()


def test_at_defaults_to_now() -> None:
    engine = ward.Engine.from_source(
        "action ping {}\nrule late { on ping when now > 2020-01-01T00:00:00Z allow }"
    )
    assert engine.decide("ping").allowed
    assert engine.decide("ping", at="2019-06-01T00:00:00Z").decision == "deny"


def test_a_datetime_is_rounded_down_to_the_second() -> None:
    engine = ward.Engine.from_source(
        "action ping {}\nrule after { on ping when now >= 2026-01-01T00:00:00Z allow }"
    )
    before = datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone.utc)
    assert engine.decide("ping", at=before).decision == "deny"
    assert engine.decide("ping", at=before + timedelta(microseconds=1)).allowed


def test_to_dict_and_to_json_are_what_ward_eval_prints(ops: ward.Engine, ward_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    engine = ward.Engine.load(OPS.relative_to(REPO), entities=OPS_ESTATE)
    request = {"action": "reboot", "at": AT, "args": reboot_args(count=20), "context": {"agent": "bot"}}
    d = engine.decide(request["action"], request["args"], request["context"], request["at"])
    (want,) = ward_eval(ward_bin, OPS.relative_to(REPO), OPS_ESTATE, [request])
    assert d.to_dict() == want
    assert json.loads(d.to_json()) == want


def test_explain_is_what_ward_eval_explain_prints(ward_bin: Path, tmp_path: Path) -> None:
    policy = Path("examples/guardrails")
    request_file = EXAMPLES / "requests" / "reboot-db-outside-window.json"
    request = json.loads(request_file.read_text())
    out = subprocess.run(
        [str(ward_bin), "eval", str(policy), "--entities", "examples/estate.json", "--request", str(request_file), "--explain"],
        capture_output=True, text=True, cwd=REPO, check=True,
    )
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        engine = ward.Engine.load(policy, entities="examples/estate.json")
    finally:
        os.chdir(cwd)
    d = engine.decide(request["action"], request["args"], request["context"], request["at"])
    assert d.explain() == out.stdout
    trace = d.explanation()
    assert trace["action"] == "reboot_host" and trace["rules"]
    assert any(r["fired"] for r in trace["rules"])


def test_explain_traces_the_estate_the_decision_was_made_with(ops: ward.Engine) -> None:
    d = ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT)
    ops.load_entities({"entities": {"Host": {"db-1": {"tier": "dev", "tags": []}}, "Agent": {"bot": {"name": "b"}}}})
    assert ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT).allowed
    assert "fired, decides         no_prod" in d.explain()


def test_a_rejected_request_explains_itself(ops: ward.Engine) -> None:
    d = ops.decide("shutdown", {}, {"agent": "bot"}, AT)
    assert d.decision == "deny"
    assert "the request did not validate" in d.explain()


def test_a_decision_has_no_truth_value(ops: ward.Engine) -> None:
    d = ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT)
    with pytest.raises(TypeError, match="decision.allowed"):
        bool(d)
    with pytest.raises(TypeError):
        if d:  # noqa: SIM108 - the point is that this raises
            pass


def test_decisions_compare_by_value(ops: ward.Engine) -> None:
    a = ops.decide("reboot", reboot_args(), {"agent": "bot"}, AT)
    b = ops.decide("reboot", reboot_args(), {"agent": "bot"}, AT)
    c = ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT)
    assert a == b and a != c
    assert a.fired[0] == b.fired[0]
    assert "allow" in repr(a) and "dev_reboots" in repr(a)


def test_engine_introspection(ops: ward.Engine) -> None:
    assert ops.kind == "jit"
    assert ops.actions == ["reboot", "ping"]
    assert ops.fields("reboot")["tags"] == "Set<String>"
    assert ops.fields("reboot")["host"] == "Host"
    with pytest.raises(KeyError):
        ops.fields("shutdown")
    interp = ward.Engine.load(OPS, entities=OPS_ESTATE, engine="interp")
    assert interp.kind == "interp"
    with pytest.raises(ValueError, match="unknown engine `cranelift`"):
        ward.Engine.load(OPS, engine="cranelift")


def test_both_engines_decide_alike(ops: ward.Engine) -> None:
    interp = ward.Engine.load(OPS, entities=OPS_ESTATE, engine="interp")
    for args in (reboot_args(), reboot_args(host="db-1"), reboot_args(count=11), reboot_args(count=True)):
        assert ops.decide("reboot", args, {"agent": "bot"}, AT) == interp.decide("reboot", args, {"agent": "bot"}, AT)


def test_precompute_changes_no_decision() -> None:
    requests = [line for line in (EXAMPLES / "requests.jsonl").read_text().splitlines() if line.strip()]
    fresh = ward.Engine.load(EXAMPLES / "guardrails", entities=EXAMPLES / "estate.json")
    ahead = ward.Engine.load(EXAMPLES / "guardrails", entities=EXAMPLES / "estate.json")
    done = ahead.precompute()
    assert set(done) == {"memos", "computed", "known", "failed", "stopped", "seconds"}
    assert done["memos"] > 0 and done["computed"] > 0 and not done["stopped"], done
    for line in requests:
        assert ahead.decide_json(line).to_dict() == fresh.decide_json(line).to_dict(), line
    again = ahead.precompute()
    assert again["computed"] == 0 and again["failed"] == done["failed"], again
    interp = ward.Engine.load(EXAMPLES / "guardrails", entities=EXAMPLES / "estate.json", engine="interp")
    assert interp.precompute()["memos"] == 0


# --- policy errors ---------------------------------------------------------------------------


def ward_check_stderr(ward_bin: Path, path: Path) -> str:
    out = subprocess.run([str(ward_bin), "check", str(path)], capture_output=True, text=True, cwd=REPO, env={**os.environ, "NO_COLOR": "1"})
    assert out.returncode == 1
    return out.stderr


@pytest.mark.parametrize("case", ["tests/corpus/check/fail/three_syntax_errors.ward", "tests/corpus/check/fail/duplicate_rule_two_files"])
def test_policy_error_shows_what_ward_check_shows(case: str, ward_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The message is plain text (no terminal drawing): each diagnostic's headline, its
    `--> file:line:col`, the source line and the help, then `ward check`'s summary line; the
    same diagnostics, places and summary as `ward check` prints."""
    monkeypatch.chdir(REPO)
    with pytest.raises(ward.PolicyError) as caught:
        ward.Engine.load(case)
    text = str(caught.value)
    check = ward_check_stderr(ward_bin, Path(case))
    diagnostics = caught.value.diagnostics
    assert diagnostics
    for d in diagnostics:
        assert {"code", "file", "line", "column", "message", "help"} <= set(d)
        assert d["code"].startswith("E") and d["line"] >= 1 and d["column"] >= 1
        headline = f"{d['severity']}[{d['code']}]: {d['message']}"
        assert headline in text and headline in check
        where = f"{d['file']}:{d['line']}:{d['column']}"
        assert f"--> {where}" in text and where in check
        if d["help"]:
            assert f"= help: {d['help']}" in text and d["help"] in check
    assert text.splitlines()[-1] == check.rstrip("\n").splitlines()[-1]
    assert "\x1b[" not in text, "no colour"
    assert isinstance(caught.value, ward.WardError)


def test_three_syntax_errors_are_three_diagnostics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    with pytest.raises(ward.PolicyError) as caught:
        ward.Engine.load("tests/corpus/check/fail/three_syntax_errors.ward")
    errors = [d for d in caught.value.diagnostics if d["severity"] == "error"]
    assert len(errors) == 3


def test_policy_error_from_source() -> None:
    with pytest.raises(ward.PolicyError) as caught:
        ward.Engine.from_source("action a { x: Int }\nrule r { on a when x > \"s\" deny }", filename="mine.ward")
    (d,) = caught.value.diagnostics
    assert d["file"] == "mine.ward" and d["line"] == 2 and d["code"] == "E0134"
    assert d["help"] and "compare" in d["help"]
    assert "error: `mine.ward` has 1 error" in str(caught.value)


def test_unreadable_policies(tmp_path: Path) -> None:
    with pytest.raises(ward.PolicyError, match="cannot read"):
        ward.Engine.load(tmp_path / "nope.ward")
    with pytest.raises(ward.PolicyError, match="no `.ward` files"):
        ward.Engine.load(tmp_path)
    with pytest.raises(TypeError):
        ward.Engine.load(42)  # type: ignore[arg-type]


def test_entries_left_out_of_a_policy_directory_are_warnings(tmp_path: Path) -> None:
    (tmp_path / "ops.ward").write_text(OPS.read_text())
    os.mkfifo(tmp_path / "pipe.ward")
    engine = ward.Engine.load(tmp_path, entities=OPS_ESTATE)
    assert "reboot" in engine.actions
    skipped = [w for w in engine.warnings if "pipe.ward" in w["file"]]
    assert skipped and skipped[0]["severity"] == "warning" and skipped[0]["message"]


def test_warnings_are_kept(tmp_path: Path) -> None:
    warn = sorted((REPO / "tests" / "corpus" / "check" / "warn").glob("*.ward"))
    assert warn
    engine = ward.Engine.load(warn[0])
    assert engine.warnings and engine.warnings[0]["severity"] == "warning"


# --- entities --------------------------------------------------------------------------------


def test_entities_error_lists_every_problem(ops: ward.Engine) -> None:
    bad = {"entities": {"Host": {"web-2": {"tier": "staging", "tags": "web"}, "db-2": {"tags": []}}}}
    with pytest.raises(ward.EntitiesError) as caught:
        ops.load_entities(bad)
    paths = [p["path"] for p in caught.value.problems]
    assert "entities.Host.web-2.tier" in paths
    assert "entities.Host.web-2.tags" in paths
    assert "entities.Host.db-2.tier" in paths
    for p in caught.value.problems:
        assert p["message"] in str(caught.value)
    # The old estate stays.
    assert ops.decide("reboot", reboot_args(), {"agent": "bot"}, AT).allowed


def test_entities_from_a_file_with_problems(tmp_path: Path) -> None:
    estate = tmp_path / "estate.json"
    estate.write_text('{"entities": {"Host": {"a": {"tier": "dev", "tags": [], "tier": "prod"}}}}')
    with pytest.raises(ward.EntitiesError) as caught:
        ward.Engine.load(OPS, entities=estate)
    assert "duplicate key `tier`" in str(caught.value)
    assert str(estate) in str(caught.value)
    estate.write_bytes(b'{"entities": {"Agent": {"\xff": {"name": "x"}}}}')
    with pytest.raises(ward.EntitiesError, match="not valid UTF-8"):
        ward.Engine.load(OPS, entities=estate)
    with pytest.raises(ward.EntitiesError, match="cannot read"):
        ward.Engine.load(OPS, entities=tmp_path / "missing.json")
    estate.write_text('{"entities": ')
    with pytest.raises(ward.EntitiesError):
        ward.Engine.load(OPS, entities=estate)


def test_entities_dict_with_keys_that_are_not_strings() -> None:
    with pytest.raises(ward.EntitiesError) as caught:
        ward.Engine.load(OPS, entities={"entities": {"Host": {1: {"tier": "dev", "tags": []}}}})
    assert "the key 1 is not a string" in str(caught.value)
    assert caught.value.problems


def test_load_entities_swaps(ops: ward.Engine) -> None:
    assert ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT).decision == "deny"
    ops.load_entities({"entities": {"Host": {"db-1": {"tier": "dev", "tags": []}}, "Agent": {"bot": {"name": "b"}}}})
    assert ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT).allowed
    # web-1 is gone from the new estate: an unknown entity is a deny, not an allow.
    gone = ops.decide("reboot", reboot_args(host="web-1"), {"agent": "bot"}, AT)
    assert gone.decision == "deny" and "web-1" in gone.errors[0].message
    ops.load_entities(OPS_ESTATE)
    assert ops.decide("reboot", reboot_args(host="web-1"), {"agent": "bot"}, AT).allowed


def test_the_example_set_loads_from_a_directory() -> None:
    engine = ward.Engine.load(EXAMPLES / "guardrails", entities=EXAMPLES / "estate.json")
    assert "reboot_host" in engine.actions
    assert CORPUS.is_dir()


def test_the_callers_id_is_echoed_as_request_id(ops: ward.Engine) -> None:
    d = ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT, id="ticket-7/step-1")
    assert d.request_id == "ticket-7/step-1"
    assert d.to_dict()["request_id"] == "ticket-7/step-1"
    bad = ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT, id=7)
    assert bad.decision == "deny" and bad.request_id is None
    assert ops.decide("reboot", reboot_args(host="db-1"), {"agent": "bot"}, AT).request_id is None
