"""MCP tools through the MCP client (mcp_client.py): the server a tool version describes,
its tool list (on save and refresh), and one call. An HTTP server's URL passes the same
SSRF guard as HTTP tools before each connection (checked, not pinned: the SDK opens its own
connections, so a DNS answer changing between the check and the connection is the known
gap); a stdio command must be on WORKBENCH_MCP_ALLOWED_COMMANDS, checked again each time."""

from __future__ import annotations

from typing import Any

from ...settings import get_settings
from . import ToolCallFailed, ToolTimedOut
from .mcp_client import McpError, McpServer, McpTimeout, McpTool, call_tool, list_tools
from .net_guard import check_url


def server_for(impl: dict[str, Any]) -> McpServer:
    if impl["transport"] == "stdio":
        return McpServer(transport="stdio", command=impl["command"], env=dict(impl.get("env") or {}))
    return McpServer(transport="http", url=impl["url"], headers=dict(impl.get("headers") or {}))


def _guard(impl: dict[str, Any]) -> None:
    if impl["transport"] == "http":
        check_url(impl["url"], get_settings().tool_allowed_hosts)


def server_tools(impl: dict[str, Any]) -> list[McpTool]:
    """The tools the server offers now (raises ToolCallFailed with the client's reason).
    Read on save, not in a run: it may take the workbench's longest tool timeout, however
    short the tool's own (a server's first start can be slow)."""
    _guard(impl)
    try:
        return list_tools(server_for(impl), allowed_commands=get_settings().mcp_allowed_commands,
                          timeout=get_settings().tool_timeout_s)
    except McpError as err:
        raise ToolCallFailed(f"The MCP server could not list its tools: {err}") from None


def call_server_tool(impl: dict[str, Any], tool: str, arguments: dict[str, Any]) -> str:
    _guard(impl)
    try:
        return call_tool(server_for(impl), tool, arguments, allowed_commands=get_settings().mcp_allowed_commands,
                         timeout=float(impl["timeout_s"]))
    except McpTimeout as err:
        raise ToolTimedOut(str(err)) from None
    except McpError as err:
        raise ToolCallFailed(str(err)) from None
