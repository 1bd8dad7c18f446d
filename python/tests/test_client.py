"""`ward.Client`: errors never read as allow, and the whole flow against a real `ward serve`.

The first half answers the client from a small HTTP server of this test that misbehaves on
purpose (wrong statuses, bodies that are not JSON, documents without a decision, slow
answers), because a real `ward serve` never does. The second half starts the real
`ward serve` on a free loopback port and goes through deciding, validation, time skew,
tokens and approvals.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import ward
from conftest import EXAMPLES, OPS, OPS_ESTATE, REPO, reboot_args

CTX = {"agent": "bot"}

# --- a service that misbehaves ---------------------------------------------------------------

ALLOW = {"id": "dec_1", "decision": "allow", "fired": [{"rule": "r", "effect": "allow", "message": None,
          "location": "p.ward:1:1"}], "approvers": [], "errors": [], "policy": "sha256:p",
         "estate": "sha256:e", "at": "2026-12-01T10:00:00Z"}
DENY_400 = {"id": "dec_2", "decision": "deny", "fired": [], "approvers": [],
            "errors": [{"rule": None, "message": "args: unknown field `x`"}]}


class Canned(BaseHTTPRequestHandler):
    """Answers every request with the `(status, body, delay)` set for its path."""

    answers: Dict[str, Tuple[int, bytes, float]] = {}
    seen: List[Tuple[str, str, Dict[str, str], bytes]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, dict(self.headers), body))
        status, payload, delay = self.answers.get(self.path.split("?")[0], (404, b'{"error": {"message": "no route"}}', 0.0))
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def canned() -> Iterator[Tuple[str, Dict[str, Tuple[int, bytes, float]]]]:
    Canned.answers = {}
    Canned.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Canned.answers
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def answer(status: int, doc: Any, delay: float = 0.0) -> Tuple[int, bytes, float]:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return status, body, delay


def test_an_allow_is_read_as_allow(canned: Any) -> None:
    url, answers = canned
    answers["/v1/decide"] = answer(200, ALLOW)
    d = ward.Client(url, token="t0k").decide("reboot", {"host": "web-1"}, CTX, id="mine")
    assert d.allowed and d.decision == "allow"
    assert d.id == "dec_1" and d.policy == "sha256:p" and d.fired[0].rule == "r"
    method, path, headers, body = Canned.seen[-1]
    assert (method, path) == ("POST", "/v1/decide")
    assert headers["Authorization"] == "Bearer t0k"
    assert json.loads(body) == {"action": "reboot", "args": {"host": "web-1"}, "context": CTX, "id": "mine"}


def test_a_400_deny_is_returned_as_the_deny(canned: Any) -> None:
    url, answers = canned
    answers["/v1/decide"] = answer(400, DENY_400)
    d = ward.Client(url).decide("reboot", {"x": 1})
    assert d.decision == "deny" and not d.allowed
    assert d.errors[0].message == "args: unknown field `x`"


@pytest.mark.parametrize(
    "status, body, phrase",
    [
        (200, b"<html>oops</html>", "not valid JSON"),
        (200, b"", "not valid JSON"),
        (200, b'{"decision": "deny", "decision": "allow"}', "duplicate key `decision`"),
        (200, b'{"decision": "allow", "fired": [], "approvers": [], "errors": [], "score": NaN}', "`NaN` is not JSON"),
        (200, {"fired": [], "approvers": [], "errors": []}, "no valid `decision`"),
        (200, {"decision": "ALLOW"}, "no valid `decision`"),
        (200, {"decision": True}, "no valid `decision`"),
        (200, {"decision": "allow", "fired": "all"}, "malformed `fired`"),
        (200, {"decision": "allow", "fired": [{"rule": 1}]}, "malformed `fired` entry"),
        (200, {"decision": "allow", "errors": [{"rule": None}]}, "malformed `errors` entry"),
        (200, {"decision": "allow", "approvers": [1]}, "malformed `approvers`"),
        (200, ["allow"], "status 200"),
        (400, {"decision": "allow"}, "status 400"),
        (400, {"error": {"status": 400, "code": "bad", "message": "body is not JSON"}}, "body is not JSON"),
        (401, {"error": {"status": 401, "code": "unauthenticated", "message": "missing token"}}, "token is missing"),
        (403, ALLOW, "status 403"),
        (404, {"decision": "allow"}, "not found"),
        (413, DENY_400, "too large"),
        (500, ALLOW, "status 500"),
        (503, b"busy", "not valid JSON"),
    ],
)
def test_errors_never_read_as_allow(canned: Any, status: int, body: Any, phrase: str) -> None:
    url, answers = canned
    answers["/v1/decide"] = answer(status, body)
    with pytest.raises(ward.ServiceError) as caught:
        ward.Client(url).decide("reboot", {"host": "web-1"})
    assert phrase in str(caught.value)
    assert caught.value.status == status
    assert isinstance(caught.value, ward.WardError)


def test_a_refused_connection_raises() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(ward.ServiceError, match="cannot reach the service") as caught:
        ward.Client(f"http://127.0.0.1:{port}").decide("reboot", {})
    assert caught.value.status is None


def test_a_slow_answer_times_out(canned: Any) -> None:
    url, answers = canned
    answers["/v1/decide"] = answer(200, ALLOW, delay=2.0)
    start = time.monotonic()
    with pytest.raises(ward.ServiceError, match="no answer within"):
        ward.Client(url, timeout=0.3).decide("reboot", {})
    assert time.monotonic() - start < 1.9


def test_a_request_that_cannot_be_encoded_is_denied_here(canned: Any) -> None:
    url, answers = canned
    answers["/v1/decide"] = answer(200, ALLOW)
    client = ward.Client(url)
    for args in ({1: "x"}, {"n": float("nan")}, {"t": datetime(2026, 1, 1)}, {"o": object()}):
        d = client.decide("reboot", args)
        assert d.decision == "deny" and not d.allowed and d.id is None
        assert "cannot be sent" in d.errors[0].message
    assert client.decide_request(["not", "a", "dict"]).decision == "deny"  # type: ignore[arg-type]
    assert Canned.seen == [], "nothing was sent"


def test_an_aware_datetime_is_sent_as_rfc3339(canned: Any) -> None:
    url, answers = canned
    answers["/v1/decide"] = answer(200, ALLOW)
    ward.Client(url).decide("ping", at=datetime(2026, 12, 1, 10, 0, 5, 123, tzinfo=timezone.utc))
    assert json.loads(Canned.seen[-1][3])["at"] == "2026-12-01T10:00:05Z"


def test_batch_keeps_the_order_and_denies_what_cannot_be_sent(canned: Any) -> None:
    url, answers = canned
    answers["/v1/decide/batch"] = answer(200, {"decisions": [ALLOW, {**DENY_400, "errors": []}]})
    out = ward.Client(url).decide_batch([
        {"action": "a", "args": {}, "context": {}},
        {"action": "b", "args": {"x": float("nan")}, "context": {}},
        {"action": "c", "args": {}, "context": {}},
    ])
    assert [d.decision for d in out] == ["allow", "deny", "deny"]
    assert "cannot be sent" in out[1].errors[0].message
    assert len(json.loads(Canned.seen[-1][3])["requests"]) == 2
    answers["/v1/decide/batch"] = answer(200, {"decisions": [ALLOW]})
    with pytest.raises(ward.ServiceError, match="1 decisions for 2 requests"):
        ward.Client(url).decide_batch([{"action": "a"}, {"action": "c"}])


def test_approvals_from_a_service(canned: Any) -> None:
    url, answers = canned
    pending = {"id": "apr_1", "status": "pending", "needs": [{"rule": "r", "approvers": ["carol"], "approved_by": None}]}
    answers["/v1/approvals/apr_1"] = answer(200, pending)
    client = ward.Client(url)
    a = client.approval("apr_1")
    assert a.id == "apr_1" and a.status == "pending" and not a.approved and not a.final
    assert a.needs[0]["approvers"] == ["carol"] and a.history == []
    with pytest.raises(ward.ApprovalTimeout) as caught:
        client.wait_for_approval("apr_1", timeout=0.3, interval=0.05)
    assert caught.value.approval.status == "pending"
    assert isinstance(caught.value, TimeoutError)
    answers["/v1/approvals/apr_1"] = answer(200, {**pending, "status": "rejected"})
    assert client.wait_for_approval("apr_1", timeout=5).status == "rejected"
    answers["/v1/approvals/apr_2"] = answer(200, {"status": "approved"})
    with pytest.raises(ward.ServiceError, match="no valid `id`"):
        client.approval("apr_2")
    answers["/v1/approvals/apr_3/approve"] = answer(409, {"error": {"message": "the approval is rejected"}})
    with pytest.raises(ward.ServiceError, match="409|final") as conflict:
        client.approve("apr_3", "ok")
    assert conflict.value.status == 409


def test_the_approval_handler_never_resumes_without_an_approved_approval(canned: Any) -> None:
    url, answers = canned
    client = ward.Client(url)
    handler = client.approval_handler(timeout=1, interval=0.05)
    answers["/v1/decide"] = answer(200, ALLOW)
    answers["/v1/approvals/apr_9"] = answer(200, {"id": "apr_9", "status": "rejected"})
    pending = ward.RemoteDecision({"decision": "require_approval", "approval": {"id": "apr_9", "status": "pending"}}, 200)
    assert handler(pending, {"action": "a", "args": {}, "context": {}}) is False
    no_id = ward.RemoteDecision({"decision": "require_approval"}, 200)
    assert handler(no_id, {"action": "a", "args": {}, "context": {}}) is False
    assert all(path != "/v1/decide" for _, path, _, _ in Canned.seen)


def test_a_remote_decision_has_no_truth_value() -> None:
    d = ward.RemoteDecision(dict(ALLOW), 200)
    with pytest.raises(TypeError):
        bool(d)
    assert d.to_dict() == ALLOW


def test_urls_are_checked() -> None:
    with pytest.raises(ValueError):
        ward.Client("ftp://example")
    with pytest.raises(ValueError):
        ward.Client("127.0.0.1:8181")


# --- the real `ward serve` -------------------------------------------------------------------


def serve_available(ward_bin: Path) -> bool:
    out = subprocess.run([str(ward_bin), "serve", "--help"], capture_output=True, text=True, timeout=30)
    return out.returncode == 0


class Serve:
    """`ward serve` on a free loopback port, stopped with SIGTERM."""

    def __init__(self, ward_bin: Path, state: Path, *extra: str, policy: Path = OPS, entities: Path = OPS_ESTATE) -> None:
        self.proc = subprocess.Popen(
            [str(ward_bin), "serve", str(policy), "--entities", str(entities), "--listen", "127.0.0.1:0",
             "--state", str(state), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        self.lines: List[str] = []
        self.url: Optional[str] = None
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.lines.append(line)
                if "listening on http://" in line and self.url is None:
                    self.url = line.split("listening on ", 1)[1].split()[0]
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        ready.wait(timeout=60)
        if self.url is None:
            self.stop()
            raise AssertionError("ward serve did not start:\n" + "".join(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.reader.join(timeout=10)


@pytest.fixture()
def serve(ward_bin: Path, tmp_path: Path) -> Iterator[Any]:
    if not serve_available(ward_bin):
        # Not an external part: the service is part of this repository, so a `ward` without it
        # is a broken build, never a reason to skip.
        pytest.fail(f"the `ward` binary at {ward_bin} has no `serve` command: rebuild it with `cargo build --bin ward`")
    started: List[Serve] = []

    def start(*extra: str, **kw: Any) -> Serve:
        s = Serve(ward_bin, tmp_path / f"state{len(started)}", *extra, **kw)
        started.append(s)
        return s

    try:
        yield start
    finally:
        for s in started:
            s.stop()


def test_deciding_through_ward_serve(serve: Any) -> None:
    server = serve()
    client = ward.Client(server.url)
    assert client.ready()
    allowed = client.decide("reboot", reboot_args(), CTX, id="req-1")
    assert allowed.allowed, allowed.to_dict()
    assert allowed.request_id == "req-1"
    assert allowed.id and allowed.policy and allowed.policy.startswith("sha256:")
    assert allowed.estate and allowed.estate.startswith("sha256:") and allowed.at
    denied = client.decide("reboot", reboot_args(host="db-1"), CTX)
    assert denied.decision == "deny" and not denied.allowed
    assert "db-1 is production" in [f.message for f in denied.fired]
    bad = client.decide("reboot", reboot_args(count=1.5), CTX)
    assert bad.decision == "deny" and "args.count" in bad.errors[0].message
    far = client.decide("reboot", reboot_args(), CTX, at="2020-01-01T00:00:00Z")
    assert far.decision == "deny" and any("server's clock" in e.message for e in far.errors)
    batch = client.decide_batch([
        {"action": "reboot", "args": reboot_args(), "context": CTX},
        {"action": "reboot", "args": reboot_args(host="db-1"), "context": CTX},
        {"action": "nope", "args": {}, "context": CTX},
    ])
    assert [d.decision for d in batch] == ["allow", "deny", "deny"]
    explained = client.decide("reboot", reboot_args(), CTX, explain=True)
    assert explained.explanation is not None and explained.explanation["action"] == "reboot"
    assert "fired, decides         dev_reboots (allow)" in explained.explain()
    with pytest.raises(ValueError, match="explain=True"):
        allowed.explain()


def test_ward_serve_decides_as_the_engine(serve: Any) -> None:
    server = serve("--max-skew", "36500d", policy=EXAMPLES / "guardrails", entities=EXAMPLES / "estate.json")
    client = ward.Client(server.url)
    engine = ward.Engine.load(EXAMPLES / "guardrails", entities=EXAMPLES / "estate.json")
    for line in (EXAMPLES / "requests.jsonl").read_text().splitlines():
        r = json.loads(line)
        remote = client.decide(r["action"], r["args"], r["context"], r["at"])
        local = engine.decide(r["action"], r["args"], r["context"], r["at"])
        assert remote.decision == local.decision
        assert [f.to_dict() for f in remote.fired] == [f.to_dict() for f in local.fired]
        assert remote.approvers == local.approvers
        assert [e.to_dict() for e in remote.errors] == [e.to_dict() for e in local.errors]


def test_a_stopped_service_raises(serve: Any) -> None:
    server = serve()
    client = ward.Client(server.url, timeout=5)
    assert client.decide("reboot", reboot_args(), CTX).allowed
    server.stop()
    with pytest.raises(ward.ServiceError, match="cannot reach"):
        client.decide("reboot", reboot_args(), CTX)


def make_tokens(ward_bin: Path, path: Path, specs: List[Tuple[str, str, List[str]]]) -> Dict[str, str]:
    tokens: Dict[str, str] = {}
    entries: List[str] = []
    for name, role, groups in specs:
        cmd = [str(ward_bin), "token", "new", name, "--role", role]
        for g in groups:
            cmd += ["--group", g]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30)
        first, rest = out.stdout.split("\n", 1)
        tokens[name] = first.strip()
        entries.append(rest)
    path.write_text("\n".join(entries))
    return tokens


def test_tokens_are_required_when_configured(serve: Any, ward_bin: Path, tmp_path: Path) -> None:
    tokens = make_tokens(ward_bin, tmp_path / "tokens.toml", [("remediation-bot", "agent", [])])
    server = serve("--tokens", str(tmp_path / "tokens.toml"))
    assert ward.Client(server.url, token=tokens["remediation-bot"]).decide("reboot", reboot_args(), CTX).allowed
    with pytest.raises(ward.ServiceError) as caught:
        ward.Client(server.url).decide("reboot", reboot_args(), CTX)
    assert caught.value.status == 401
    with pytest.raises(ward.ServiceError) as caught:
        ward.Client(server.url, token="not-a-token").decide("reboot", reboot_args(), CTX)
    assert caught.value.status == 401


def approvals_or_skip(approver: ward.Client, approval_id: Optional[str]) -> str:
    if approval_id is None:
        try:
            approver.approvals()
        except ward.ServiceError as e:
            if e.status == 501:
                pytest.skip("this `ward serve` does not implement approvals yet (501)")
            raise
        raise AssertionError("a require_approval decision came without an approval")
    return approval_id


def test_approve_and_resume_through_ward_serve(serve: Any, ward_bin: Path, tmp_path: Path) -> None:
    tokens = make_tokens(ward_bin, tmp_path / "tokens.toml", [
        ("remediation-bot", "agent", []),
        ("carol", "approver", ["oncall"]),
        ("dave", "approver", ["sre-leads"]),
    ])
    server = serve("--tokens", str(tmp_path / "tokens.toml"))
    agent = ward.Client(server.url, token=tokens["remediation-bot"])
    carol = ward.Client(server.url, token=tokens["carol"])
    request = {"action": "reboot", "args": reboot_args(count=20), "context": CTX}
    first = agent.decide_request(request)
    assert first.decision == "require_approval" and first.approvers == ["oncall"]
    approval_id = approvals_or_skip(carol, (first.approval or {}).get("id"))
    assert agent.approval(approval_id).status == "pending"
    # The same request again gets the same pending approval.
    assert (agent.decide_request(request).approval or {}).get("id") == approval_id
    # Not approved yet: resuming is not an allow.
    assert not agent.resume(request, approval_id).allowed
    with pytest.raises(ward.ServiceError) as forbidden:
        ward.Client(server.url, token=tokens["dave"]).approve(approval_id, "not mine")
    assert forbidden.value.status == 403
    approved = carol.approve(approval_id, "ok, CAB-123")
    assert approved.status == "approved" and approved.approved
    assert agent.wait_for_approval(approval_id, timeout=10).approved
    resumed = agent.resume(request, approval_id)
    assert resumed.allowed, resumed.to_dict()
    again = agent.resume(request, approval_id)
    assert not again.allowed and again.errors, "an approval is used once"
    other = {**request, "args": reboot_args(count=21)}
    assert not agent.resume(other, approval_id).allowed, "an approval covers its own request only"
    with pytest.raises(ward.ServiceError) as final:
        carol.reject(approval_id, "too late")
    assert final.value.status == 409


def test_a_guarded_tool_waits_for_the_approval(serve: Any, ward_bin: Path, tmp_path: Path) -> None:
    tokens = make_tokens(ward_bin, tmp_path / "tokens.toml", [
        ("remediation-bot", "agent", []), ("carol", "approver", ["oncall"]),
    ])
    server = serve("--tokens", str(tmp_path / "tokens.toml"))
    agent = ward.Client(server.url, token=tokens["remediation-bot"])
    carol = ward.Client(server.url, token=tokens["carol"])
    probe = agent.decide("reboot", reboot_args(count=30), CTX)
    approvals_or_skip(carol, (probe.approval or {}).get("id"))
    calls: List[str] = []

    @ward.guard(agent, "reboot", context=CTX, on_approval=agent.approval_handler(timeout=30, interval=0.1))
    def reboot(host: str, count: int, force: bool, duration: str, until: str, tags: Any, note: str) -> str:
        calls.append(host)
        return "done"

    done = threading.Event()

    def approver() -> None:
        # Approves whatever is pending until the guarded call is through: if the probe's
        # approval is approved before the guard asks, the guard's request gets a new pending
        # approval (only a pending one is reused), and that one must be approved too.
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            for a in carol.approvals():
                if a.status == "pending":
                    carol.approve(a.id, "go")
            time.sleep(0.1)

    helper = threading.Thread(target=approver)
    helper.start()
    try:
        assert reboot(**reboot_args(count=30)) == "done"
    finally:
        done.set()
        helper.join(timeout=60)
    assert calls == ["web-1"]
    with pytest.raises(ward.Denied):
        reboot(**reboot_args(host="db-1"))

