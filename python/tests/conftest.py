"""Shared fixtures: where the repository is, and the `ward` binary the conformance tests
compare with.

A test that needs a part it cannot find fails when ``WARD_TEST_EXTERNAL=require`` is set
(``scripts/test.sh`` sets it) and is skipped, saying why, otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus" / "eval"
EXAMPLES = REPO / "examples"


def missing(what: str, how: str) -> None:
    """Fail under ``WARD_TEST_EXTERNAL=require``, else skip; either way say how to get it."""
    message = f"{what} is not available: {how}"
    if os.environ.get("WARD_TEST_EXTERNAL") == "require":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def ward_bin() -> Path:
    """The `ward` CLI: ``$WARD_BIN``, else ``target/debug/ward``, else ``ward`` on PATH."""
    candidates = [os.environ.get("WARD_BIN"), str(REPO / "target" / "debug" / "ward"), shutil.which("ward")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return Path(c)
    missing("the `ward` binary", "build it with `cargo build --bin ward` or set WARD_BIN")
    raise AssertionError("unreachable")


def ward_eval(ward_bin: Path, policy: Path, entities: Path, requests: List[Dict[str, Any]], *extra: str, cwd: Path = REPO) -> List[Dict[str, Any]]:
    """Decide `requests` with `ward eval --requests` and return its decisions."""
    lines = "".join(json.dumps(r) + "\n" for r in requests)
    out = subprocess.run(
        [str(ward_bin), "eval", str(policy), "--entities", str(entities), "--requests", "-", *extra],
        input=lines,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


DATA = Path(__file__).resolve().parent / "data"
OPS = DATA / "ops.ward"
OPS_ESTATE = DATA / "ops-estate.json"
AT = "2026-11-28T10:00:00Z"


def reboot_args(**overrides: Any) -> Dict[str, Any]:
    """Arguments of `reboot` in ops.ward that are allowed; override one to break it."""
    args: Dict[str, Any] = {
        "host": "web-1",
        "count": 1,
        "force": False,
        "duration": "30m",
        "until": "2026-11-28T11:00:00Z",
        "tags": ["routine"],
        "note": "kernel update",
    }
    args.update(overrides)
    return args


@pytest.fixture()
def ops() -> "Any":
    import ward

    return ward.Engine.load(OPS, entities=OPS_ESTATE)
