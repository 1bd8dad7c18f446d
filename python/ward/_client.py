"""``ward.Client``: decisions and approvals from ``ward serve`` over HTTP.

Standard library only (``http.client``). The rule throughout: nothing but a well-formed
``200`` answer whose ``decision`` is ``"allow"`` reads as an allow.

- A request the client cannot encode (a key that is not a string, NaN, a naive ``datetime``,
  ...) is not sent: ``decide`` returns a local ``deny`` with the problems (``id`` is ``None``).
- ``400`` with a ``deny`` document (a request the service could not validate) is returned as
  that ``deny``.
- Everything else raises :class:`ward.ServiceError`: the connection is refused or times out,
  another status (``401``, ``403``, ``404``, ``409``, ``5xx``), a body that is not JSON (or
  repeats a key, or holds ``NaN``), or a document without a valid ``decision``.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.parse
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ward._errors import ApprovalTimeout, ServiceError
from ward._ward import ErrorDetail, Fired
from ward._ward import _render_explanation
from ward._ward import to_json as _to_json

_KINDS = ("allow", "deny", "require_approval")
_FINAL = ("approved", "rejected", "expired", "used")
#: Responses larger than this are refused rather than read into memory.
MAX_BODY = 64 * 1024 * 1024


class RemoteDecision:
    """A decision made by ``ward serve``; the same attributes as :class:`ward.Decision` plus
    the service's own: ``id``, ``request_id``, ``policy``, ``estate``, ``at``, ``approval``
    (a dict with ``id``, ``status``, ``expires`` for a ``require_approval``) and
    ``explanation`` (with ``explain=True``)."""

    __slots__ = (
        "decision",
        "fired",
        "approvers",
        "errors",
        "id",
        "request_id",
        "policy",
        "estate",
        "at",
        "approval",
        "explanation",
        "_doc",
        "_status",
    )

    def __init__(self, doc: Dict[str, Any], status: int) -> None:
        kind = doc.get("decision")
        if kind not in _KINDS:
            raise ServiceError(
                "the service's answer has no valid `decision` "
                f"(expected one of allow, deny, require_approval, found {kind!r})",
                status,
                json.dumps(doc),
            )
        self.decision: str = kind
        self.fired: List[Fired] = [_fired(f, status, doc) for f in _list(doc, "fired", status)]
        self.approvers: List[str] = _strings(doc, "approvers", status)
        self.errors: List[ErrorDetail] = [
            _error(e, status, doc) for e in _list(doc, "errors", status)
        ]
        self.id: Optional[str] = _optional_str(doc, "id", status)
        self.request_id: Optional[str] = _optional_str(doc, "request_id", status)
        self.policy: Optional[str] = _optional_str(doc, "policy", status)
        self.estate: Optional[str] = _optional_str(doc, "estate", status)
        self.at: Optional[str] = _optional_str(doc, "at", status)
        approval = doc.get("approval")
        self.approval: Optional[Dict[str, Any]] = approval if isinstance(approval, dict) else None
        explanation = doc.get("explanation")
        self.explanation: Optional[Dict[str, Any]] = (
            explanation if isinstance(explanation, dict) else None
        )
        self._doc = doc
        self._status = status

    @classmethod
    def rejected(cls, message: str) -> "RemoteDecision":
        """A ``deny`` made here, for a request that was not sent."""
        doc = {
            "decision": "deny",
            "fired": [],
            "approvers": [],
            "errors": [{"rule": None, "message": message}],
        }
        return cls(doc, 0)

    @property
    def allowed(self) -> bool:
        """True only for ``allow`` in a ``200`` answer."""
        return self.decision == "allow" and self._status == 200

    def to_dict(self) -> Dict[str, Any]:
        """The document as the service sent it."""
        return json.loads(json.dumps(self._doc))

    def to_json(self) -> str:
        return json.dumps(self._doc, ensure_ascii=False, separators=(",", ":"))

    def explain(self) -> str:
        """The readable trace, as ``Decision.explain()`` gives it; only for a decision asked
        with ``explain=True`` (the service sends the trace then)."""
        if self.explanation is None:
            raise ValueError("the service sent no explanation: decide with `explain=True`")
        return _render_explanation(json.dumps(self._doc), json.dumps(self.explanation))

    def __bool__(self) -> bool:
        raise TypeError(
            "a decision has no truth value: test `decision.allowed` (or compare "
            "`decision.decision`)"
        )

    def __repr__(self) -> str:
        rules = [f.rule for f in self.fired]
        return f"<ward.RemoteDecision {self.decision} fired={rules!r} id={self.id!r}>"


class Approval:
    """An approval held by ``ward serve``: ``id``, ``status`` (``pending``, ``approved``,
    ``rejected``, ``expired``, ``used``), ``created``, ``expires``, ``requested_by``,
    ``digest``, ``policy``, ``request``, ``needs`` and ``history``, as the service sent them."""

    __slots__ = ("_doc",)

    def __init__(self, doc: Dict[str, Any], status: int) -> None:
        for key in ("id", "status"):
            if not isinstance(doc.get(key), str):
                raise ServiceError(
                    f"the service's approval has no valid `{key}`", status, json.dumps(doc)
                )
        self._doc = doc

    def __getattr__(self, name: str) -> Any:
        doc = object.__getattribute__(self, "_doc")
        if name in doc:
            return doc[name]
        if name in ("created", "expires", "requested_by", "digest", "policy", "request"):
            return None
        if name in ("needs", "history"):
            return []
        raise AttributeError(name)

    @property
    def approved(self) -> bool:
        """True only when every approver the request needs has approved."""
        return self._doc["status"] == "approved"

    @property
    def final(self) -> bool:
        """True once the approval cannot change any more."""
        return self._doc["status"] in _FINAL

    def to_dict(self) -> Dict[str, Any]:
        return json.loads(json.dumps(self._doc))

    def __repr__(self) -> str:
        return f"<ward.Approval {self._doc['id']} {self._doc['status']}>"


class Client:
    """A client for ``ward serve`` at ``url``.

    ``token`` is sent as ``Authorization: Bearer TOKEN``; ``timeout`` (seconds) bounds each
    HTTP exchange. One connection per call, so a client can be shared between threads.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8181",
        *,
        token: Optional[str] = None,
        timeout: float = 10.0,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"`url` must be an http:// or https:// URL, not {url!r}")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self._token = token
        self.timeout = timeout

    # --- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        action: str,
        args: Optional[Dict[str, Any]] = None,
        context: Optional[Dict[str, Any]] = None,
        at: Any = None,
        *,
        approval: Optional[str] = None,
        id: Optional[str] = None,
        explain: bool = False,
    ) -> RemoteDecision:
        """Ask the service to decide. ``at`` (an aware ``datetime`` or RFC 3339 string) is
        optional: the service decides at its own clock and accepts an ``at`` only within its
        allowed skew. ``approval`` resumes an approved request; ``id`` is echoed back as
        ``request_id``. See the module documentation for what raises and what denies."""
        request: Dict[str, Any] = {
            "action": action,
            "args": {} if args is None else args,
            "context": {} if context is None else context,
        }
        if at is not None:
            request["at"] = at
        return self.decide_request(request, approval=approval, id=id, explain=explain)

    def decide_request(
        self,
        request: Dict[str, Any],
        *,
        approval: Optional[str] = None,
        id: Optional[str] = None,
        explain: bool = False,
    ) -> RemoteDecision:
        """Like :meth:`decide` for a whole request document (``action``, ``args``,
        ``context``, optional ``at``)."""
        if not isinstance(request, dict):
            return RemoteDecision.rejected(
                f"the request cannot be sent: expected a dict, found a `{type(request).__name__}`"
            )
        body = dict(request)
        if approval is not None:
            body["approval"] = approval
        if id is not None:
            body["id"] = id
        try:
            text = _to_json(body)
        except ValueError as e:
            return RemoteDecision.rejected(f"the request cannot be sent: {e}")
        path = "/v1/decide" + ("?explain=true" if explain else "")
        status, doc, raw = self._exchange("POST", path, text)
        return _decision(status, doc, raw)

    def decide_batch(self, requests: Iterable[Dict[str, Any]]) -> List[RemoteDecision]:
        """Decide several requests in one exchange; the decisions come in the same order."""
        items = list(requests)
        encoded: List[Optional[str]] = []
        local: Dict[int, RemoteDecision] = {}
        for i, request in enumerate(items):
            try:
                encoded.append(_to_json(request))
            except ValueError as e:
                local[i] = RemoteDecision.rejected(f"the request cannot be sent: {e}")
                encoded.append(None)
        sent = [text for text in encoded if text is not None]
        decisions: List[RemoteDecision] = []
        if sent:
            body = '{"requests":[' + ",".join(sent) + "]}"
            status, doc, raw = self._exchange("POST", "/v1/decide/batch", body)
            if status != 200:
                raise _status_error(status, doc, raw)
            answers = doc.get("decisions") if isinstance(doc, dict) else None
            if not isinstance(answers, list) or len(answers) != len(sent):
                raise ServiceError(
                    f"the service answered {len(answers) if isinstance(answers, list) else 'no'}"
                    f" decisions for {len(sent)} requests",
                    status,
                    raw,
                )
            decisions = [_decision(200, d, raw) for d in answers]
        out: List[RemoteDecision] = []
        remote = iter(decisions)
        for i in range(len(items)):
            out.append(local[i] if i in local else next(remote))
        return out

    def resume(self, request: Dict[str, Any], approval_id: str) -> RemoteDecision:
        """Send ``request`` again with an approval. The service decides afresh: a ``deny``
        stays a deny; a ``require_approval`` that the approval covers becomes ``allow`` (once:
        the approval is then used); anything else is the fresh decision with an error."""
        if not isinstance(request, dict) or "action" not in request:
            raise TypeError("`request` must be a request dict with `action`, `args`, `context`")
        return self.decide_request(request, approval=approval_id)

    # --- approvals --------------------------------------------------------------------------

    def approval(self, id: str) -> Approval:
        """The approval ``id`` (``GET /v1/approvals/ID``)."""
        status, doc, raw = self._exchange("GET", "/v1/approvals/" + _segment(id), None)
        return _approval(status, doc, raw)

    def approvals(self, status: Optional[str] = "pending") -> List[Approval]:
        """Approvals this client's principal may see, by status (``None``: all)."""
        path = "/v1/approvals"
        if status is not None:
            path += "?" + urllib.parse.urlencode({"status": status})
        code, doc, raw = self._exchange("GET", path, None)
        if code != 200:
            raise _status_error(code, doc, raw)
        items = doc.get("approvals") if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise ServiceError("the service's answer is not a list of approvals", code, raw)
        return [_approval(200, item, raw) for item in items]

    def approve(self, id: str, comment: str = "") -> Approval:
        """Approve ``id`` as this client's principal (an approver it names)."""
        return self._act(id, "approve", comment)

    def reject(self, id: str, comment: str = "") -> Approval:
        """Reject ``id`` as this client's principal."""
        return self._act(id, "reject", comment)

    def wait_for_approval(self, id: str, timeout: float, interval: float = 1.0) -> Approval:
        """Poll the approval until it is no longer ``pending`` and return it (check
        ``approval.approved``: it may be rejected or expired). Raises
        :class:`ward.ApprovalTimeout` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.approval(id)
            if current.status != "pending":
                return current
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApprovalTimeout(
                    f"approval `{id}` is still pending after {timeout:g}s", current
                )
            time.sleep(min(interval, left))

    def approval_handler(
        self, timeout: float, interval: float = 1.0
    ) -> Callable[[Any, Dict[str, Any]], Any]:
        """An ``on_approval`` for :func:`ward.guard`: waits for the approval the service
        created, then resumes the request and returns the fresh decision (the guarded call
        runs only if it allows). A timeout raises :class:`ward.ApprovalTimeout`."""

        def handler(decision: Any, request: Dict[str, Any]) -> Any:
            approval = getattr(decision, "approval", None)
            approval_id = approval.get("id") if isinstance(approval, dict) else None
            if not isinstance(approval_id, str):
                return False
            settled = self.wait_for_approval(approval_id, timeout, interval)
            if not settled.approved:
                return False
            return self.resume(request, approval_id)

        return handler

    # --- health -----------------------------------------------------------------------------

    def status(self) -> Dict[str, Any]:
        """``GET /v1/status``: versions, load times, last reload error, counts."""
        code, doc, raw = self._exchange("GET", "/v1/status", None)
        if code != 200 or not isinstance(doc, dict):
            raise _status_error(code, doc, raw)
        return doc

    def ready(self) -> bool:
        """True when the service has a policy and an estate loaded (``GET /ready``)."""
        try:
            code, _, _ = self._exchange("GET", "/ready", None, want_json=False)
        except ServiceError:
            return False
        return code == 200

    # --- HTTP -------------------------------------------------------------------------------

    def _act(self, id: str, verb: str, comment: str) -> Approval:
        body = json.dumps({"comment": comment})
        status, doc, raw = self._exchange(
            "POST", f"/v1/approvals/{_segment(id)}/{verb}", body
        )
        return _approval(status, doc, raw)

    def _exchange(
        self, method: str, path: str, body: Optional[str], want_json: bool = True
    ) -> Tuple[int, Any, str]:
        """One HTTP exchange: ``(status, parsed JSON or None, body text)``."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = factory(self._host, self._port, timeout=self.timeout)
        where = f"{method} {self.url}{path}"
        try:
            conn.request(
                method,
                self._base + path,
                body=None if body is None else body.encode("utf-8"),
                headers=headers,
            )
            response = conn.getresponse()
            data = response.read(MAX_BODY + 1)
            status = response.status
        except socket.timeout as e:
            raise ServiceError(f"{where}: no answer within {self.timeout:g}s ({e})") from e
        except (OSError, http.client.HTTPException) as e:
            raise ServiceError(f"{where}: cannot reach the service: {e}") from e
        finally:
            conn.close()
        if len(data) > MAX_BODY:
            raise ServiceError(f"{where}: the answer is larger than {MAX_BODY} bytes", status)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ServiceError(f"{where}: the answer is not UTF-8 ({e})", status) from e
        if not want_json:
            return status, None, text
        try:
            doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        except (ValueError, _Malformed) as e:
            raise ServiceError(
                f"{where}: the answer (status {status}) is not valid JSON: {e}", status, text
            ) from e
        return status, doc, text


class _Malformed(ValueError):
    pass


def _no_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Malformed(f"duplicate key `{key}`")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _Malformed(f"`{name}` is not JSON")


def _segment(id: str) -> str:
    if not isinstance(id, str) or not id:
        raise TypeError("an approval id is a non-empty str")
    return urllib.parse.quote(id, safe="")


def _decision(status: int, doc: Any, raw: str) -> RemoteDecision:
    if status == 200 and isinstance(doc, dict):
        return RemoteDecision(doc, 200)
    if status == 400 and isinstance(doc, dict) and doc.get("decision") == "deny":
        return RemoteDecision(doc, 400)
    raise _status_error(status, doc, raw)


def _approval(status: int, doc: Any, raw: str) -> Approval:
    if status == 200 and isinstance(doc, dict):
        return Approval(doc, status)
    raise _status_error(status, doc, raw)


def _status_error(status: int, doc: Any, raw: str) -> ServiceError:
    reason = {
        400: "the request is malformed",
        401: "the token is missing or unknown",
        403: "the token's role does not allow this",
        404: "not found",
        409: "the approval is final",
        413: "the request is too large",
        501: "the service does not implement this",
        503: "the service is unavailable",
    }.get(status, "unexpected answer")
    detail = ""
    if isinstance(doc, dict):
        error = doc.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            detail = f": {error['message']}"
        elif isinstance(error, str):
            detail = f": {error}"
        elif isinstance(doc.get("errors"), list):
            texts = [e.get("message") for e in doc["errors"] if isinstance(e, dict)]
            detail = ": " + "; ".join(t for t in texts if isinstance(t, str))
    return ServiceError(f"status {status}: {reason}{detail}", status, raw)


def _list(doc: Dict[str, Any], key: str, status: int) -> List[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ServiceError(f"the service's decision has a malformed `{key}`", status, json.dumps(doc))
    return value


def _strings(doc: Dict[str, Any], key: str, status: int) -> List[str]:
    value = _list(doc, key, status)
    if not all(isinstance(v, str) for v in value):
        raise ServiceError(f"the service's decision has a malformed `{key}`", status, json.dumps(doc))
    return list(value)


def _optional_str(doc: Dict[str, Any], key: str, status: int) -> Optional[str]:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise ServiceError(f"the service's decision has a malformed `{key}`", status, json.dumps(doc))
    return value


def _fired(item: Any, status: int, doc: Dict[str, Any]) -> Fired:
    ok = (
        isinstance(item, dict)
        and isinstance(item.get("rule"), str)
        and item.get("effect") in _KINDS
        and (item.get("message") is None or isinstance(item.get("message"), str))
        and isinstance(item.get("location", ""), str)
        and isinstance(item.get("approvers", []), list)
        and all(isinstance(a, str) for a in item.get("approvers", []))
    )
    if not ok:
        raise ServiceError("the service's decision has a malformed `fired` entry", status, json.dumps(doc))
    return Fired(
        item["rule"],
        item["effect"],
        item.get("message"),
        item.get("location", ""),
        list(item.get("approvers", [])),
    )


def _error(item: Any, status: int, doc: Dict[str, Any]) -> ErrorDetail:
    ok = (
        isinstance(item, dict)
        and isinstance(item.get("message"), str)
        and (item.get("rule") is None or isinstance(item.get("rule"), str))
    )
    if not ok:
        raise ServiceError("the service's decision has a malformed `errors` entry", status, json.dumps(doc))
    return ErrorDetail(item.get("rule"), item["message"])
