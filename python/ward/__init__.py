"""Ward for Python: guardrails for agentic security automation.

- :class:`Engine` compiles a policy set and decides requests in-process, in microseconds,
  with the GIL released (``Engine.load(policy_path, entities=...)``, ``engine.decide(...)``).
- :func:`guard` wraps a tool function so that it runs only when Ward allows the call.
- :class:`Client` asks a ``ward serve`` instance instead, with approvals.

Every exception derives from :class:`WardError`; see ``python/README.md`` in the repository
for the whole API.
"""

from ward._errors import (
    ApprovalRequired,
    ApprovalTimeout,
    Denied,
    EntitiesError,
    PolicyError,
    ServiceError,
    WardError,
)
from ward._ward import Decision, Engine, ErrorDetail, Fired
from ward._guard import ApprovalHandler, guard
from ward._client import Approval, Client, RemoteDecision

__all__ = [
    "Approval",
    "ApprovalHandler",
    "ApprovalRequired",
    "ApprovalTimeout",
    "Client",
    "Decision",
    "Denied",
    "Engine",
    "EntitiesError",
    "ErrorDetail",
    "Fired",
    "PolicyError",
    "RemoteDecision",
    "ServiceError",
    "WardError",
    "guard",
]

__version__ = "0.1.0"
