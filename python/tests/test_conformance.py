"""The repository's conformance corpus decided through Python equals `ward eval`.

For every policy set in ``tests/corpus/eval``, each ``test`` block's requests (as the compiler
lowers them) are decided by ``Engine.decide`` on both engines, with the estate loaded from a
dict (inline ``entities``) or a file (``entities from``), and compared with the decision
``ward eval`` prints for the same request and estate, and with the block's ``expect``. The
JSON cases of ``tests/corpus/eval/messages`` are compared with their exact decision.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

import ward
from ward import _ward
from conftest import CORPUS, REPO, ward_eval

POLICIES = sorted(p for p in CORPUS.glob("*.ward") if p.is_file())
MESSAGE_CASES = sorted((CORPUS / "messages").glob("*.json"))


def test_the_corpus_is_there() -> None:
    assert len(POLICIES) >= 20
    assert len(MESSAGE_CASES) >= 10


def decide(engine: ward.Engine, request: Dict[str, Any]) -> ward.Decision:
    return engine.decide(
        request["action"], request.get("args"), request.get("context"), request["at"], id=request.get("id")
    )


def expectation_problems(case: Dict[str, Any], got: Dict[str, Any]) -> List[str]:
    """What `ward test` would report for this case (empty when it holds)."""
    problems = []
    if got["decision"] != case["expect"]:
        problems.append(f"expected {case['expect']}, got {got['decision']}")
    if case["approvers"] is not None and sorted(set(case["approvers"])) != sorted(set(got["approvers"])):
        problems.append(f"expected approvers {case['approvers']}, got {got['approvers']}")
    if case["by"] is not None:
        by = sorted({f["rule"] for f in got["fired"] if f["effect"] == got["decision"]})
        if by != sorted(set(case["by"])):
            problems.append(f"expected the decision by {case['by']}, got it by {by}")
    return problems


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.stem)
def test_test_blocks_decide_as_ward_eval(policy: Path, ward_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    shown = policy.relative_to(REPO)
    tests = json.loads(_ward._compiled_tests(str(shown)))
    assert tests, f"{shown} has no test blocks"
    engines = [ward.Engine.load(shown, engine=kind) for kind in ("jit", "interp")]
    failures: List[str] = []
    n_cases = 0
    for test in tests:
        entities = test["entities"]
        if entities == "None":
            estate: Any = {"entities": {}}
            estate_file = tmp_path / "empty.json"
            estate_file.write_text(json.dumps(estate))
        elif "Inline" in entities:
            estate = entities["Inline"]
            estate_file = tmp_path / "inline.json"
            estate_file.write_text(json.dumps(estate))
        else:
            estate_file = Path(entities["File"]["resolved"])
            estate = estate_file
        for engine in engines:
            engine.load_entities(estate)
        requests = [case["request"] for case in test["cases"]]
        expected = ward_eval(ward_bin, shown, estate_file, requests)
        assert len(expected) == len(requests)
        for case, want in zip(test["cases"], expected):
            n_cases += 1
            where = f"{test['name']} at {case['location']['file']}:{case['location']['line']}"
            for engine in engines:
                got = decide(engine, case["request"]).to_dict()
                if got != want:
                    failures.append(f"{where} ({engine.kind}): python {got} != ward eval {want}")
                text = engine.decide_json(json.dumps(case["request"])).to_dict()
                if text != want:
                    failures.append(f"{where} ({engine.kind}, JSON text): {text} != {want}")
            for problem in expectation_problems(case, want):
                failures.append(f"{where}: {problem}")
    assert n_cases > 0
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", MESSAGE_CASES, ids=lambda p: p.stem)
def test_message_cases_are_exact(case: Path, ward_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = json.loads(case.read_text())
    monkeypatch.chdir(CORPUS)
    engine = ward.Engine.load(doc["policy"], entities=doc["entities"])
    got = decide(engine, doc["request"])
    assert got.to_dict() == doc["decision"]
    assert got.decision == doc["decision"]["decision"]
    assert got.allowed == (doc["decision"]["decision"] == "allow")
    assert [f.to_dict()["rule"] for f in got.fired] == [f["rule"] for f in doc["decision"]["fired"]]
    estate = tmp_path / "entities.json"
    estate.write_text(json.dumps(doc["entities"]))
    (want,) = ward_eval(ward_bin, Path(doc["policy"]), estate, [doc["request"]], cwd=CORPUS)
    # `ward eval --requests` numbers the lines it rejects; an embedding has no lines.
    want.pop("line", None)
    assert got.to_dict() == want
