"""Type stubs of the native module ``ward._ward`` (re-exported by ``ward``)."""

import os
from datetime import datetime
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple, Union, final

_Kind = Literal["allow", "deny", "require_approval"]
_Path = Union[str, "os.PathLike[str]"]
_Entities = Union[_Path, Mapping[str, Any], None]
_At = Union[datetime, str, None]

MAX_DEPTH: int

def to_json(value: Any) -> str:
    """JSON text of ``value``, converted as ``Engine.decide`` reads its arguments; raises
    ``ValueError`` listing every problem."""

@final
class Engine:
    """A compiled policy set and its current estate. Thread-safe; deciding releases the GIL."""

    @staticmethod
    def load(
        policy_path: _Path, entities: _Entities = None, engine: Literal["jit", "interp"] = "jit"
    ) -> "Engine":
        """Compile the policy set at ``policy_path`` and load ``entities`` (a path to an
        entities JSON file or a dict). Raises ``ward.PolicyError`` or ``ward.EntitiesError``."""
    @staticmethod
    def from_source(
        source: str,
        entities: _Entities = None,
        engine: Literal["jit", "interp"] = "jit",
        filename: str = "policy.ward",
    ) -> "Engine":
        """Compile a policy set given as source text."""
    def decide(
        self,
        action: str,
        args: Optional[Mapping[str, Any]] = None,
        context: Optional[Mapping[str, Any]] = None,
        at: _At = None,
        id: Optional[str] = None,
    ) -> "Decision":
        """Decide one request; a bad request is decided ``deny`` with its errors, never raised.
        ``id`` is the caller's own id for the request, echoed as ``request_id``."""
    def decide_json(self, request: Union[str, bytes]) -> "Decision":
        """Decide a request given as JSON text; duplicate keys make it ``deny``."""
    def load_entities(self, entities: Union[_Path, Mapping[str, Any]]) -> None:
        """Swap the estate atomically; raises ``ward.EntitiesError`` and keeps the old one."""
    def precompute(self) -> Dict[str, Any]:
        """Compute every per-entity value of the compiled policy for the current estate, so
        that no decision pays for one; returns ``memos``, ``computed``, ``known``, ``failed``,
        ``stopped`` and ``seconds``. Decisions are the same before, during and after."""
    def fields(self, action: str) -> Dict[str, str]:
        """The fields of ``action`` as ``{name: type}``; ``KeyError`` for an unknown action."""
    @property
    def kind(self) -> Literal["jit", "interp"]: ...
    @property
    def actions(self) -> List[str]: ...
    @property
    def warnings(self) -> List[Dict[str, Any]]: ...

@final
class Decision:
    """The decision for one request."""

    @property
    def decision(self) -> _Kind: ...
    @property
    def request_id(self) -> Optional[str]: ...
    @property
    def allowed(self) -> bool: ...
    @property
    def fired(self) -> List["Fired"]: ...
    @property
    def approvers(self) -> List[str]: ...
    @property
    def errors(self) -> List["ErrorDetail"]: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_json(self) -> str: ...
    def explain(self) -> str:
        """The readable trace ``ward eval --explain`` prints (``ValueError`` once unpickled)."""
    def explanation(self) -> Dict[str, Any]: ...
    def __bool__(self) -> bool:
        """Raises ``TypeError``: test ``decision.allowed``."""
    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        """Pickles as its JSON; the copy is equal but cannot be explained."""
    @staticmethod
    def _from_json(text: str) -> "Decision": ...

@final
class Fired:
    """A rule that fired."""

    def __init__(
        self,
        rule: str,
        effect: str,
        message: Optional[str],
        location: str,
        approvers: List[str] = ...,
    ) -> None: ...
    @property
    def rule(self) -> str: ...
    @property
    def effect(self) -> _Kind: ...
    @property
    def message(self) -> Optional[str]: ...
    @property
    def location(self) -> str: ...
    @property
    def approvers(self) -> List[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class ErrorDetail:
    """An evaluation error of a rule, or (``rule`` ``None``) why a request was not decided."""

    def __init__(self, rule: Optional[str], message: str) -> None: ...
    @property
    def rule(self) -> Optional[str]: ...
    @property
    def message(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...

def _render_explanation(decision: str, explanation: str) -> str: ...
def _compiled_tests(policy_path: _Path) -> str: ...
