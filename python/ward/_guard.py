"""``ward.guard``: a decorator that asks Ward before a tool function runs.

It works with any object that decides like :class:`ward.Engine` (``decide(action, args,
context=..., at=...)``), which includes :class:`ward.Client`, and with any agent framework:
the decorated function keeps its name, signature and docstring, so frameworks that read them
to describe a tool see the original.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar, Union

from ward._errors import ApprovalRequired, Denied

F = TypeVar("F", bound=Callable[..., Any])

#: Called with ``(decision, request)`` when a call needs approval; returns ``True`` or an
#: allowing decision to let the call run. Anything else keeps it refused.
ApprovalHandler = Callable[[Any, Dict[str, Any]], Any]


def guard(
    engine: Any,
    action: str,
    *,
    context: Union[None, Mapping[str, Any], Callable[[], Mapping[str, Any]]] = None,
    at: Any = None,
    fields: Optional[Mapping[str, Optional[str]]] = None,
    on_approval: Optional[ApprovalHandler] = None,
) -> Callable[[F], F]:
    """Guard a tool function with a Ward decision.

    Each call is bound to the function's signature (defaults applied); every argument becomes
    the action field of the same name, or of the name ``fields`` maps it to
    (``fields={"hostname": "host"}``; map a parameter to ``None`` to leave it out of the
    request, e.g. ``self`` or a client object). Then ``engine.decide(action, fields,
    context=context, at=at)`` decides:

    - ``allow``: the function is called and its result returned;
    - ``deny`` (including a request that does not validate): raises :class:`ward.Denied`;
    - ``require_approval``: raises :class:`ward.ApprovalRequired`, or, when ``on_approval``
      is given, calls ``on_approval(decision, request)`` and runs the function only if it
      returns ``True`` or a decision that allows (a denying decision raises ``Denied``,
      anything else ``ApprovalRequired``).

    ``context`` is a dict or a callable returning one (called at each call: the agent's
    identity, a ticket); ``at`` is ``None`` (now), an aware ``datetime``, an RFC 3339
    string, or a callable returning one of those. Coroutine functions are guarded too (the
    decision is made before the coroutine starts; an ``on_approval`` returning an awaitable
    is awaited).
    """
    if not isinstance(action, str):
        raise TypeError(f"`action` must be the action's name (a str), not {type(action).__name__}")
    known = getattr(engine, "actions", None)
    if isinstance(known, (list, tuple)) and action not in known:
        close = difflib.get_close_matches(action, known, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise ValueError(f"the policy set has no action `{action}`{hint}")
    rename: Dict[str, Optional[str]] = dict(fields or {})

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        for name in rename:
            if name not in signature.parameters and not takes_kwargs:
                raise ValueError(
                    f"`fields` renames `{name}`, which is not a parameter of `{fn.__name__}`"
                )

        def request_of(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            out: Dict[str, Any] = {}
            for name, value in bound.arguments.items():
                kind = signature.parameters[name].kind
                if kind is inspect.Parameter.VAR_POSITIONAL:
                    if value:
                        raise TypeError(
                            f"`{fn.__name__}` is guarded by Ward: extra positional arguments "
                            "have no field names; pass them by keyword"
                        )
                    continue
                items = value.items() if kind is inspect.Parameter.VAR_KEYWORD else [(name, value)]
                for key, item in items:
                    field = rename.get(key, key)
                    if field is None:
                        continue
                    if field in out:
                        raise TypeError(
                            f"`{fn.__name__}` is guarded by Ward: two arguments fill the field "
                            f"`{field}`"
                        )
                    out[field] = item
            ctx = context() if callable(context) else context
            when = at() if callable(at) else at
            return {"action": action, "args": out, "context": dict(ctx or {}), "at": when}

        def decide(request: Dict[str, Any]) -> Any:
            return engine.decide(
                action, request["args"], context=request["context"], at=request["at"]
            )

        def settle(decision: Any, request: Dict[str, Any], outcome: Any) -> None:
            """Raise unless ``outcome`` of the approval handler lets the call run."""
            if outcome is True or _allows(outcome):
                return
            if outcome is not None and getattr(outcome, "decision", None) == "deny":
                raise Denied(outcome, action, _shown(request))
            raise ApprovalRequired(
                outcome if getattr(outcome, "decision", None) == "require_approval" else decision,
                action,
                _shown(request),
            )

        def check(decision: Any, request: Dict[str, Any]) -> bool:
            """True when the call may run now; False when the approval handler must say."""
            if _allows(decision):
                return True
            if getattr(decision, "decision", None) == "require_approval":
                if on_approval is None:
                    raise ApprovalRequired(decision, action, _shown(request))
                return False
            raise Denied(decision, action, _shown(request))

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                request = request_of(args, kwargs)
                decision = decide(request)
                if not check(decision, request):
                    assert on_approval is not None
                    outcome = on_approval(decision, _shown(request))
                    if inspect.isawaitable(outcome):
                        outcome = await outcome
                    settle(decision, request, outcome)
                return await fn(*args, **kwargs)

            wrapper: Any = guarded_async
        else:

            @functools.wraps(fn)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                request = request_of(args, kwargs)
                decision = decide(request)
                if not check(decision, request):
                    assert on_approval is not None
                    outcome = on_approval(decision, _shown(request))
                    if inspect.isawaitable(outcome):
                        close = getattr(outcome, "close", None)
                        if close is not None:
                            close()
                        raise TypeError(
                            f"`{fn.__name__}` is not a coroutine function: its approval "
                            "handler must not be async"
                        )
                    settle(decision, request, outcome)
                return fn(*args, **kwargs)

            wrapper = guarded
        wrapper.__ward_action__ = action
        return wrapper  # type: ignore[no-any-return]

    return decorate


def _allows(decision: Any) -> bool:
    """An allow, and only an allow: both the kind and the flag must say so."""
    return (
        decision is not None
        and not isinstance(decision, bool)
        and getattr(decision, "decision", None) == "allow"
        and getattr(decision, "allowed", False) is True
    )


def _shown(request: Dict[str, Any]) -> Dict[str, Any]:
    """The request as a service would resume it: without an ``at`` of ``None``."""
    return {k: v for k, v in request.items() if not (k == "at" and v is None)}
