"""`ward mcp-guard` between the official MCP Python SDK (the client) and a FastMCP-style tool
server (`tool_server.py`), on the bundled guardrails (`examples/`) with `examples/tools.toml`.

Each test starts the guard as a real client would (the SDK's `stdio_client`), makes calls, and
checks the answers and what the tool server recorded it received. Run by
`scripts/test.d/60-mcp.sh`; needs the `ward` binary (`WARD_BIN`, default `target/debug/ward`)
and the packages of `scripts/requirements-test.txt`.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError
import mcp_types as types

ROOT = Path(__file__).resolve().parents[3]
WARD = os.environ.get("WARD_BIN", str(ROOT / "target" / "debug" / "ward"))
EXAMPLES = ROOT / "examples"
TOOL_SERVER = Path(__file__).with_name("tool_server.py")


def guard_params(tmp_path, *extra, server_args=(), env=None):
    args = [
        "mcp-guard", str(EXAMPLES / "guardrails"),
        "--entities", str(EXAMPLES / "estate.json"),
        "--map", str(EXAMPLES / "tools.toml"),
        "--agent", "warden",
        "--state", str(tmp_path / "state"),
        *extra,
        "--", sys.executable, str(TOOL_SERVER), *server_args,
    ]
    return StdioServerParameters(
        command=WARD, args=args,
        env={"TOOLS_LOG": str(tmp_path / "received.jsonl"), **(env or {})},
    )


def received(tmp_path):
    path = tmp_path / "received.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def log_lines(tmp_path):
    lines = []
    for f in sorted((tmp_path / "state" / "log").glob("*.jsonl")):
        lines += [json.loads(l) for l in f.read_bytes().rstrip(b"\0").decode().splitlines() if l]
    return [l for l in lines if l["kind"] == "decision"]


async def list_roots(context):
    return types.ListRootsResult(roots=[types.Root(uri="file:///srv/northwind")])


def session(streams, **kw):
    return ClientSession(*streams, list_roots_callback=list_roots, **kw)


def run(coro):
    anyio.run(coro)


def test_allowed_denied_approval_needed_and_unmapped_calls(tmp_path):
    progress, logs = [], []

    async def logging_callback(params):
        logs.append(params.data)

    async def main():
        with anyio.fail_after(60):
            async with stdio_client(guard_params(tmp_path)) as streams:
                async with session(streams, logging_callback=logging_callback) as s:
                    init = await s.initialize()
                    assert init.server_info.name == "northwind-security-tools"
                    tools = await s.list_tools()
                    assert {t.name for t in tools.tools} == {
                        "disable_account", "reboot_host", "rotate_secret", "wipe_host"}

                    # allowed: routine rotation; progress, logging and roots/list pass through
                    async def on_progress(p, total, message):
                        progress.append((p, total, message))
                    r = await s.call_tool("rotate_secret", {"secret_name": "ci-deploy-token"},
                                          progress_callback=on_progress)
                    assert not r.is_error, r
                    assert r.content[0].text == "rotated ci-deploy-token"

                    # denied: the agent on its own account
                    r = await s.call_tool("disable_account", {
                        "account": "warden", "reason": "suspected token theft on this agent"})
                    assert r.is_error
                    text = r.content[0].text
                    assert "ward denied the call to `disable_account`" in text, text
                    assert "agent warden may not change its own account; a human must do it" in text
                    meta = r.meta["ward/decision"]
                    assert meta["decision"] == "deny"
                    assert any(f["rule"] == "agent_acts_on_itself" for f in meta["fired"])

                    # approval needed, no approval service: denied, saying so
                    r = await s.call_tool("rotate_secret", {"secret_name": "payments-db-password"})
                    assert r.is_error
                    text = r.content[0].text
                    assert "needs approval" in text and "approval service" in text, text
                    assert "pablo-ruiz" in text, text

                    # unmapped: no action is this tool
                    r = await s.call_tool("wipe_host", {"host": "web-portal-1"})
                    assert r.is_error
                    assert "tool `wipe_host` is not mapped to an action" in r.content[0].text

                    # invalid arguments: an account the estate does not hold
                    r = await s.call_tool("disable_account", {
                        "account": "nobody", "reason": "impossible travel between two countries"})
                    assert r.is_error
                    assert "no `Identity` with id `nobody`" in r.content[0].text

                    # an argument no field takes: denied, never dropped
                    r = await s.call_tool("rotate_secret", {
                        "secret_name": "ci-deploy-token", "force": True})
                    assert r.is_error
                    assert "argument `force` of tool `rotate_secret` fills no field" in r.content[0].text

                    # the mapped ticket reaches the tool as it was sent
                    r = await s.call_tool("disable_account", {
                        "account": "chloe-wu", "reason": "impossible travel between two countries",
                        "ticket": "INC-20431"})
                    assert r.is_error  # the CFO's organisation needs finance-security
                    assert "finance-security" in r.content[0].text

    run(main)
    got = received(tmp_path)
    assert got == [{"tool": "rotate_secret", "arguments": {
        "secret_name": "ci-deploy-token", "roots": ["file:///srv/northwind"]}}], got
    assert progress == [(0.5, 1.0, "rotating")]
    assert logs == ["rotating ci-deploy-token"]
    decisions = [(l["decision"]["decision"], l["mcp"]["outcome"], l["mcp"]["tool"]) for l in log_lines(tmp_path)]
    assert decisions == [
        ("allow", "forwarded", "rotate_secret"),
        ("deny", "answered", "disable_account"),
        ("require_approval", "answered", "rotate_secret"),
        ("deny", "answered", "wipe_host"),
        ("deny", "answered", "disable_account"),
        ("deny", "answered", "rotate_secret"),
        ("require_approval", "answered", "disable_account"),
    ], decisions
    line = log_lines(tmp_path)[-1]
    assert line["principal"] == "warden"
    assert line["request"]["context"] == {"agent": "warden", "ticket": "INC-20431"}
    assert line["request"]["args"] == {
        "target": "chloe-wu", "reason": "impossible travel between two countries"}
    verify = subprocess.run([WARD, "log", "verify", str(tmp_path / "state")],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr + verify.stdout


def test_a_cancelled_call_frees_its_id_and_the_session_goes_on(tmp_path):
    async def main():
        with anyio.fail_after(60):
            async with stdio_client(guard_params(tmp_path)) as streams:
                async with session(streams) as s:
                    await s.initialize()
                    with pytest.raises(MCPError):
                        # The SDK gives up after the timeout and sends notifications/cancelled.
                        await s.call_tool("rotate_secret", {"secret_name": "sandbox-api-key"},
                                          read_timeout_seconds=1.0)
                    r = await s.call_tool("rotate_secret", {"secret_name": "ci-deploy-token"})
                    assert not r.is_error, r
                    assert (await s.send_ping()) is not None

    run(main)
    tools = [(c["tool"], c["arguments"]["secret_name"]) for c in received(tmp_path)]
    assert ("rotate_secret", "sandbox-api-key") in tools
    assert ("rotate_secret", "ci-deploy-token") in tools
    # The server cancelled the slow rotation: it never finished.
    assert ("rotate_secret finished", "sandbox-api-key") not in tools


def test_a_server_that_dies_is_an_error_not_a_hang(tmp_path):
    async def main():
        with anyio.fail_after(30):
            async with stdio_client(guard_params(tmp_path, server_args=["--crash"])) as streams:
                async with session(streams) as s:
                    with pytest.raises(MCPError) as err:
                        await s.initialize()
                    return err.value

    err = anyio.run(main)
    # The guard answered the waiting `initialize` itself, saying why.
    assert "the tool server exited (status 3)" in str(err), str(err)


def test_the_guard_refuses_to_start_on_a_bad_mapping(tmp_path):
    bad = tmp_path / "tools.toml"
    bad.write_text('[tool.reboot]\naction = "reboot_hots"\n')
    p = subprocess.run(
        [WARD, "mcp-guard", str(EXAMPLES / "guardrails"), "--entities", str(EXAMPLES / "estate.json"),
         "--map", str(bad), "--state", str(tmp_path / "state"), "--", sys.executable, str(TOOL_SERVER)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 2, p
    assert "the policy set declares no action `reboot_hots` (did you mean `reboot_host`?)" in p.stderr


def test_mcp_schema_from_the_live_server_checks_beside_a_schema(tmp_path):
    out = tmp_path / "policy"
    p = subprocess.run([WARD, "mcp-schema", "--out", str(out), "--", sys.executable, str(TOOL_SERVER)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    ward = (out / "tools.ward").read_text()
    assert "action rotate_secret {" in ward and "secret_name: String" in ward
    assert "action disable_account {" in ward
    toml = (out / "tools.toml").read_text()
    assert '[tool.reboot_host.defaults]\nduration = "30m"' in toml, toml
    (out / "schema.ward").write_text("default deny\ncontext { agent: String }\n")
    check = subprocess.run([WARD, "check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # The generated mapping is accepted by the guard on the generated actions (`cat` stands in
    # for a server: the client, /dev/null, says nothing and ends at once).
    (tmp_path / "empty.json").write_text("{}")
    p = subprocess.run(
        [WARD, "mcp-guard", str(out), "--entities", str(tmp_path / "empty.json"), "--map",
         str(out / "tools.toml"), "--state", str(tmp_path / "state"), "--", "cat"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 0, p.stderr


# --- approvals through a real `ward serve` ----------------------------------------------------


def new_token(tmp_path, name, *flags):
    """`ward token new`: the token (first line) and its `[[token]]` entry appended to tokens.toml."""
    p = subprocess.run([WARD, "token", "new", name, *flags], capture_output=True, text=True,
                       timeout=60, check=True)
    token, _, entry = p.stdout.partition("\n")
    with open(tmp_path / "tokens.toml", "a", encoding="utf-8") as f:
        f.write(entry)
    return token.strip()


class Serve:
    """`ward serve` on the bundled guardrails, on a free loopback port, with tokens."""

    def __init__(self, tmp_path):
        self.proc = subprocess.Popen(
            [WARD, "serve", str(EXAMPLES / "guardrails"), "--entities", str(EXAMPLES / "estate.json"),
             "--tokens", str(tmp_path / "tokens.toml"), "--listen", "127.0.0.1:0",
             "--state", str(tmp_path / "serve-state"), "--no-watch"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url, self.lines = None, []
        deadline = time.monotonic() + 60
        while self.url is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            if "listening on http://" in line:
                self.url = line.split("listening on ", 1)[1].split()[0]
        if self.url is None:
            self.stop()
            raise AssertionError("ward serve did not start:\n" + "".join(self.lines))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def test_approval_needed_then_approved_through_ward_serve(tmp_path):
    bot = new_token(tmp_path, "remediation-bot", "--role", "agent")
    fay = new_token(tmp_path, "fay", "--role", "approver", "--group", "finance-security")
    (tmp_path / "fay.token").write_text(fay + "\n")
    serve = Serve(tmp_path)
    cfo_call = {"account": "chloe-wu", "reason": "impossible travel between two countries",
                "ticket": "INC-20431"}

    def approvals(*args):
        p = subprocess.run([WARD, "approvals", *args, "--server", serve.url, "--token",
                            "@" + str(tmp_path / "fay.token")],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr + p.stdout
        return p.stdout

    async def main():
        with anyio.fail_after(90):
            params = guard_params(tmp_path, "--server", serve.url, env={"WARD_TOKEN": bot})
            async with stdio_client(params) as streams:
                async with session(streams) as s:
                    await s.initialize()
                    # needs finance-security: the service keeps a pending approval, the tool waits
                    r = await s.call_tool("disable_account", cfo_call)
                    assert r.is_error
                    text = r.content[0].text
                    assert "approval `apr_" in text and "is pending" in text, text
                    assert "finance-security" in text, text
                    approval = text.split("approval `", 1)[1].split("`", 1)[0]

                    # asked again while pending: still not made
                    r = await s.call_tool("disable_account", cfo_call)
                    assert r.is_error and "the call was not made" in r.content[0].text, r
                    assert received(tmp_path) == []

                    # the approver sees it and approves it from a terminal
                    assert approval in approvals("list")
                    approvals("approve", approval, "--comment", "INC-20431 checked")

                    # the same call again: the service's fresh decision is allow, so it goes on
                    r = await s.call_tool("disable_account", cfo_call)
                    assert not r.is_error, r
                    assert r.content[0].text == "disabled chloe-wu"

                    # the approval was used: the same call once more waits for a new one
                    r = await s.call_tool("disable_account", cfo_call)
                    assert r.is_error, r

                    # another request (another reason) is not covered by that approval
                    other = {**cfo_call, "reason": "credential stuffing from a botnet"}
                    r = await s.call_tool("disable_account", other)
                    assert r.is_error and "approval `apr_" in r.content[0].text, r

    try:
        run(main)
    finally:
        serve.stop()
    assert received(tmp_path) == [{"tool": "disable_account", "arguments": {
        "account": "chloe-wu", "reason": "impossible travel between two countries",
        "ticket": "INC-20431"}}]
    # The guard's own decision stays `require_approval`; the line of the forwarded call names
    # the approval it was resumed with and the service's `allow`.
    lines = log_lines(tmp_path)
    outcomes = [(l["decision"]["decision"], l["mcp"]["outcome"]) for l in lines]
    assert outcomes == [("require_approval", "answered")] * 2 + [("require_approval", "forwarded")] \
        + [("require_approval", "answered")] * 2, outcomes
    forwarded = lines[2]
    assert forwarded["approval"].startswith("apr_"), forwarded
    assert forwarded["service"]["decision"] == "allow", forwarded
    for state in ("state", "serve-state"):
        verify = subprocess.run([WARD, "log", "verify", str(tmp_path / state)],
                                capture_output=True, text=True)
        assert verify.returncode == 0, verify.stderr + verify.stdout
