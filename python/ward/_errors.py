"""The exceptions of the ``ward`` package.

Every exception derives from :class:`WardError`. A refusal (:class:`Denied`, and
:class:`ApprovalRequired`, which is a :class:`Denied`) carries the decision that caused it, so
code that only catches ``Denied`` still treats a pending approval as a refusal.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class WardError(Exception):
    """Base class of every exception this package raises."""


class PolicyError(WardError):
    """The policy set cannot be used: it does not check, cannot be read, or cannot run.

    ``str(error)`` shows the diagnostics ``ward check`` prints, as plain text (no colour, no
    terminal drawing): ``error[CODE]: message``, `` --> file:line:col``, the source line with
    the span marked, ``= help: ...``, then the summary line of ``ward check``.
    ``diagnostics`` is a list of dicts, one per diagnostic, as ``ward check --format json``
    writes them: ``code``, ``severity``, ``file``, ``line``, ``column``, ``end_line``,
    ``end_column``, ``message``, ``help`` (or ``None``) and ``labels``. It is empty when the
    problem is not in the source (a path that cannot be read).
    """

    def __init__(self, message: str, diagnostics: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics: List[Dict[str, Any]] = list(diagnostics or [])


class EntitiesError(WardError):
    """The estate (entities and relations) does not load.

    ``str(error)`` lists every problem, one per line. ``problems`` is a list of dicts with
    ``path`` (the JSON path of the offending value, e.g. ``entities.Identity.alice.manager``;
    empty for the document itself) and ``message``. ``omitted`` counts problems found beyond
    those listed. The engine keeps the estate it had.
    """

    def __init__(
        self,
        message: str,
        problems: Optional[List[Dict[str, str]]] = None,
        omitted: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.problems: List[Dict[str, str]] = list(problems or [])
        self.omitted = omitted


class Denied(WardError):
    """A guarded call was not allowed; ``decision`` says why.

    ``action`` is the action that was asked for and ``request`` the request as it was decided
    (``{"action", "args", "context"}``), when known.
    """

    def __init__(
        self,
        decision: Any,
        action: Optional[str] = None,
        request: Optional[Dict[str, Any]] = None,
        message: Optional[str] = None,
    ) -> None:
        super().__init__(message or _describe(decision, action))
        self.decision = decision
        self.action = action
        self.request = request

    def __reduce__(self) -> Any:
        # Rebuilt from what it was made of, so the message survives pickling (the default
        # would rebuild it from the message alone, as if the message were the decision). A
        # native ``ward.Decision`` pickles as its JSON.
        return (type(self), (self.decision, self.action, self.request, str(self)))

    @property
    def errors(self) -> List[Any]:
        return list(self.decision.errors)


class ApprovalRequired(Denied):
    """A guarded call needs a human's approval first.

    ``approvers`` (``decision.approvers``) says who may approve. With a decision from
    :class:`ward.Client`, ``decision.approval`` holds the approval the service created (its
    ``id``); resume ``request`` with :meth:`ward.Client.resume` once it is approved.
    """

    @property
    def approvers(self) -> List[str]:
        return list(self.decision.approvers)


class ServiceError(WardError):
    """``ward serve`` could not be asked, or its answer cannot be trusted.

    Raised for a connection that fails or times out, a status other than those the contract
    gives a decision for, a body that is not JSON (or repeats a key), and a document without
    a valid ``decision``. ``status`` is the HTTP status (``None`` when there was no response)
    and ``body`` the response text (``None`` likewise). Never read as an allow.
    """

    def __init__(self, message: str, status: Optional[int] = None, body: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class ApprovalTimeout(ServiceError, TimeoutError):
    """:meth:`ward.Client.wait_for_approval` ran out of time; ``approval`` is the last seen."""

    def __init__(self, message: str, approval: Any = None) -> None:
        super().__init__(message)
        self.approval = approval


def _describe(decision: Any, action: Optional[str]) -> str:
    """One line for a refusal: the decision and every message and error."""
    kind = getattr(decision, "decision", "deny")
    what = f"`{action}`" if action else "the action"
    words = "requires approval" if kind == "require_approval" else "was denied"
    parts = []
    for fired in getattr(decision, "fired", []):
        if fired.effect == kind:
            parts.append(f"{fired.rule}: {fired.message}" if fired.message else fired.rule)
    for error in getattr(decision, "errors", []):
        where = f" in `{error.rule}`" if error.rule else ""
        parts.append(f"error{where}: {error.message}")
    approvers = getattr(decision, "approvers", [])
    if kind == "require_approval" and approvers:
        parts.append("approvers: " + ", ".join(approvers))
    detail = "; ".join(parts)
    return f"{what} {words}" + (f" ({detail})" if detail else "")
