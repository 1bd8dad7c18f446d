"""What ships: the abi3 wheel, `import ward`, the type stubs and `py.typed`, and stubs that
name every public attribute of the native classes."""

from __future__ import annotations

import ast
import os
import zipfile
from pathlib import Path

import pytest

import ward
from ward import _ward

PACKAGE = Path(ward.__file__).resolve().parent
SOURCE = Path(__file__).resolve().parents[1] / "ward"


def test_import_ward_gives_the_whole_api() -> None:
    for name in ward.__all__:
        assert hasattr(ward, name), name
    assert ward.Engine is _ward.Engine and ward.Decision is _ward.Decision
    assert issubclass(ward.ApprovalRequired, ward.Denied)
    for exc in (ward.PolicyError, ward.EntitiesError, ward.Denied, ward.ServiceError):
        assert issubclass(exc, ward.WardError)


def test_stubs_and_py_typed_ship() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_ward.pyi").is_file()
    native = [p for p in PACKAGE.iterdir() if p.name.startswith("_ward.") and p.suffix in (".so", ".pyd")]
    assert native, f"no native module in {PACKAGE}"
    assert ".abi3." in native[0].name or native[0].suffix == ".pyd"


def test_the_installed_package_is_tested() -> None:
    if os.environ.get("WARD_TEST_INSTALLED") != "1":
        pytest.skip("not run by scripts/test.d/30-python.sh (which installs the wheel first)")
    assert PACKAGE != SOURCE.resolve(), "the tests import the source tree, not the installed wheel"
    wheel = Path(os.environ["WARD_WHEEL"])
    assert "-cp39-abi3-" in wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("ward/__init__.py", "ward/_ward.pyi", "ward/py.typed", "ward/_guard.py", "ward/_client.py"):
        assert shipped in names, shipped


def stub_members() -> dict:  # type: ignore[type-arg]
    tree = ast.parse((SOURCE / "_ward.pyi").read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return out


@pytest.mark.parametrize("cls", ["Engine", "Decision", "Fired", "ErrorDetail"])
def test_the_stubs_name_every_public_member(cls: str) -> None:
    stubbed = stub_members()[cls]
    actual = {n for n in dir(getattr(_ward, cls)) if not n.startswith("_")}
    assert actual - stubbed == set(), f"{cls}: not in the stubs"
    assert {n for n in stubbed if not n.startswith("_")} - actual == set(), f"{cls}: stubbed but missing"
