"""A small MCP tool server (the official SDK's MCPServer, over stdio) with security tools, for
the tests of `ward mcp-guard`. Every call that reaches a tool is appended to the JSON-lines file
named by the environment variable `TOOLS_LOG`, so a test can tell which calls the guard let
through and with which arguments.

The tools' names and arguments are the server's own; `examples/tools.toml` maps them onto the
actions of `examples/guardrails`.
"""

import json
import os
import sys

import anyio
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("northwind-security-tools")


def record(tool: str, **arguments) -> None:
    path = os.environ.get("TOOLS_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@server.tool()
def disable_account(account: str, reason: str, ticket: str | None = None) -> str:
    """Disable a directory account (sign-in blocked, sessions kept)."""
    record("disable_account", account=account, reason=reason, ticket=ticket)
    return f"disabled {account}"


@server.tool()
async def reboot_host(host: str, ctx: Context, duration: str = "30m") -> str:
    """Restart a host; `duration` is the time until it serves again."""
    record("reboot_host", host=host, duration=duration)
    await ctx.report_progress(1, 2, "draining")
    return f"rebooted {host}"


@server.tool()
async def rotate_secret(secret_name: str, ctx: Context) -> str:
    """Rotate a secret and restart whatever uses it."""
    # Talks back while it works: progress, a log message and a request to the client.
    await ctx.report_progress(0.5, 1.0, "rotating")
    await ctx.info(f"rotating {secret_name}")
    roots = await ctx.session.list_roots()
    record("rotate_secret", secret_name=secret_name, roots=[str(r.uri) for r in roots.roots])
    if secret_name == "sandbox-api-key":
        # The slow one: long enough for a client to give up and cancel it.
        await anyio.sleep(5)
        record("rotate_secret finished", secret_name=secret_name)
    return f"rotated {secret_name}"


@server.tool()
def wipe_host(host: str) -> str:
    """Erase a host's disks. No action of the guardrails is this tool."""
    record("wipe_host", host=host)
    return f"wiped {host}"


if __name__ == "__main__":
    if "--crash" in sys.argv:
        print("not a JSON-RPC message", flush=True)
        sys.exit(3)
    server.run("stdio")
