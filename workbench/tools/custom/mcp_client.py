"""A synchronous client for MCP (Model Context Protocol) servers, over the official async
`mcp` SDK: list a server's tools, call one.

Each operation opens its own connection (start the stdio server, or open the HTTP session),
initializes, does its one request and closes. Tool calls are rare next to model calls and a
per-operation connection leaves nothing to keep alive, reconnect or leak between runs,
pages and processes: a server that crashed last time simply starts fresh next time.

Every operation runs in a fresh event loop (`anyio.run`) on a short-lived helper thread,
so it works the same from a plain worker thread and from a thread that already runs an
event loop (Streamlit's script thread). The caller waits at most `timeout` seconds plus a
short margin; past that it gets `McpTimeout` while the SDK stops the server in the
background (close stdin; SIGTERM after 2 s; SIGKILL after 2 more).

Secrets: header and environment values are read by variable name at call time (the
environment first, then secrets.toml, like provider keys) and never appear in messages.
A stdio server inherits only the SDK's short list of safe variables (HOME, LOGNAME, PATH,
SHELL, TERM, USER) plus the ones its definition names, not our whole environment. A
value (8 characters or more) that a server echoes back in a result, an error or its
stderr is replaced by ***. The SDK itself logs message bodies at DEBUG: keep the `mcp`
loggers above DEBUG in production.

The SDK is imported on first use: it takes a second or so to import, and definitions and
the allow-list check need none of it."""

from __future__ import annotations

import json
import os
import shlex
import tempfile
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ...errors import WorkbenchError
from ...settings import get_secret

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp import types as mcp_types

T = TypeVar("T")

# The workbench setting that holds the stdio allow-list, named in refusals.
ALLOWED_COMMANDS_SETTING = "WORKBENCH_MCP_ALLOWED_COMMANDS"
# How long past the timeout the caller waits for the SDK's clean shutdown before leaving
# it to finish in the background (a server that exits on stdin EOF needs far less).
_CLEANUP_MARGIN_S = 0.5
_STDERR_TAIL_LINES = 5
_STDERR_TAIL_CHARS = 800
_MIN_REDACTED_CHARS = 8
_MAX_TOOL_PAGES = 50  # a server whose tools/list cursor never ends cannot loop us forever


class McpError(WorkbenchError):
    """An MCP server could not be started, reached or used; the message says why."""

    default_message = "The MCP server failed."


class McpTimeout(McpError):
    """An MCP operation ran out of time; the server was stopped."""

    default_message = "The MCP server did not answer in time."


@dataclass(frozen=True)
class McpServer:
    transport: str  # "stdio" or "http"
    command: str = ""  # stdio: a full command line, split with shlex (no shell)
    url: str = ""  # http: the streamable-HTTP endpoint URL
    # http: header name -> the environment variable holding its value (values never stored)
    headers: dict[str, str] = field(default_factory=dict)
    # stdio: server's variable name -> our environment variable to copy its value from
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class McpTool:
    name: str
    description: str
    input_schema: dict  # the JSON Schema the server declares


def check_command_allowed(command: str, allowed: Sequence[str]) -> list[str]:
    """Split the command line (shlex, no shell) and return argv if its executable may run.

    argv[0] must equal an entry of the allow-list exactly, after normalizing paths
    ("/usr/bin/../bin/x" equals "/usr/bin/x"). A bare name on the list ("npx") allows
    only the bare name, which the OS finds on PATH; it never allows a path ending in that
    name ("/tmp/npx"), or any file with that name anywhere could be started. An empty
    list refuses everything."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise McpError(f"The MCP server command line cannot be read: {exc}.") from None
    if not argv:
        raise McpError("The MCP server command line is empty.")
    executable = argv[0]
    if not any(_same_executable(executable, entry) for entry in allowed if entry.strip()):
        if not allowed:
            raise McpError(f"No MCP server commands may be started: the allow-list "
                           f"{ALLOWED_COMMANDS_SETTING} is empty.")
        raise McpError(f"The command {executable!r} is not on the MCP allow-list "
                       f"({ALLOWED_COMMANDS_SETTING}); an administrator can add it.")
    return argv


def _same_executable(executable: str, entry: str) -> bool:
    entry = entry.strip()
    if "/" not in executable or "/" not in entry:
        return executable == entry
    return os.path.normpath(executable) == os.path.normpath(entry)


def list_tools(server: McpServer, *, allowed_commands: Sequence[str],
               timeout: float) -> list[McpTool]:
    """The tools the server offers, with their input schemas."""

    from mcp import types as mcp_types

    async def operation(session: ClientSession) -> list[McpTool]:
        tools: list[McpTool] = []
        cursor: str | None = None
        for _ in range(_MAX_TOOL_PAGES):
            params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools.extend(McpTool(name=tool.name, description=tool.description or "",
                                 input_schema=dict(tool.input_schema or {}))
                         for tool in page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    return _run(_prepare(server, allowed_commands), operation, timeout=timeout,
                action="list its tools")


def call_tool(server: McpServer, tool: str, arguments: dict, *,
              allowed_commands: Sequence[str], timeout: float) -> str:
    """Call one tool and return its result as text for the model. An error result
    raises McpError carrying the server's text."""

    async def operation(session: ClientSession) -> mcp_types.CallToolResult:
        return await session.call_tool(tool, arguments)

    connection = _prepare(server, allowed_commands)
    result = _run(connection, operation, timeout=timeout, action=f"run the tool {tool!r}")
    # A server that echoes a secret back must not get it to the model, traces or messages.
    text = _redacted(result_text(result), connection.secrets)
    if result.is_error:
        raise McpError(f"The MCP tool {tool!r} failed: {text or 'no details given'}")
    return text


def result_text(result: mcp_types.CallToolResult) -> str:
    """Text blocks as they are, other blocks as JSON (binary data left out: the model
    cannot read base64). Structured content is added as JSON only when no text block
    carries it already (servers mirror it in a text block, as the spec asks)."""
    from mcp import types as mcp_types
    parts = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
        else:
            data = block.model_dump(mode="json", by_alias=True, exclude_none=True)
            if isinstance(data.get("data"), str):
                data["data"] = f"<{len(data['data'])} characters of base64 left out>"
            parts.append(json.dumps(data, ensure_ascii=False))
    has_text = any(isinstance(block, mcp_types.TextContent) for block in result.content)
    if result.structured_content is not None and not has_text:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


# --- running one operation --------------------------------------------------------------

@dataclass
class _Connection:
    """What one operation needs, resolved before anything starts: argv and env values for
    stdio, header values for HTTP. `secrets` are the values to keep out of messages."""

    server: McpServer
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.argv:
            return f"the MCP server {self.argv[0]!r}"
        return f"the MCP server at {self.server.url}"


def _prepare(server: McpServer, allowed_commands: Sequence[str]) -> _Connection:
    if server.transport == "stdio":
        argv = check_command_allowed(server.command, allowed_commands)
        env = {name: _secret_value(variable, f"the server variable {name}")
               for name, variable in server.env.items()}
        return _Connection(server, argv=argv, env=env, secrets=list(env.values()))
    if server.transport == "http":
        parts = urlsplit(server.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise McpError(f"The MCP server URL {server.url!r} is not an http(s) URL.")
        headers = {name: _secret_value(variable, f"the header {name}")
                   for name, variable in server.headers.items()}
        return _Connection(server, headers=headers, secrets=list(headers.values()))
    raise McpError(f"Unknown MCP transport {server.transport!r}: use 'stdio' or 'http'.")


def _secret_value(variable: str, purpose: str) -> str:
    value = get_secret(variable)
    if not value:
        raise McpError(f"The environment variable {variable} (for {purpose}) is not set.")
    return value


def _run(connection: _Connection, operation: Callable[[ClientSession], Awaitable[T]], *,
         timeout: float, action: str) -> T:
    """Run `operation` on a fresh session in a helper thread with its own event loop;
    wait at most `timeout` plus the cleanup margin."""
    if not timeout > 0:
        raise McpError(f"The MCP timeout must be a positive number of seconds, not {timeout!r}.")
    import anyio

    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def worker() -> None:
        try:
            outcome["value"] = anyio.run(_operate, connection, operation, timeout, action)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=worker, name="mcp-client", daemon=True).start()
    if not finished.wait(timeout + _CLEANUP_MARGIN_S):
        raise _timeout_error(connection, action, timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


async def _operate(connection: _Connection, operation: Callable[[ClientSession], Awaitable[T]],
                   timeout: float, action: str) -> T:
    import anyio

    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr_file:
        scope = anyio.move_on_after(timeout)
        try:
            with scope:
                return await _session_operation(connection, operation, stderr_file, timeout)
        except McpError:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes an McpError
            if scope.cancel_called:
                raise _timeout_error(connection, action, timeout) from None
            raise _describe_failure(connection, action, exc, _stderr_tail(stderr_file,
                                    connection.secrets)) from None
        raise _timeout_error(connection, action, timeout)  # the scope swallowed the cancel


async def _session_operation(connection: _Connection,
                             operation: Callable[[ClientSession], Awaitable[T]],
                             stderr_file, timeout: float) -> T:
    import httpx2  # the SDK's HTTP client library (an `mcp` dependency)
    from mcp import ClientSession, StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    if connection.argv:
        params = StdioServerParameters(command=connection.argv[0], args=connection.argv[1:],
                                       env=connection.env)
        transport = stdio_client(params, errlog=stderr_file)
        async with transport as (read_stream, write_stream):
            async with ClientSession(read_stream, write_stream) as session:
                await session.initialize()
                return await operation(session)
    # Redirects stay off: the SDK follows same-origin ones itself and refuses the rest.
    http_client = httpx2.AsyncClient(headers=connection.headers, timeout=httpx2.Timeout(timeout))
    async with http_client:
        async with streamable_http_client(connection.server.url,
                                          http_client=http_client) as (read_stream, write_stream):
            async with ClientSession(read_stream, write_stream) as session:
                await session.initialize()
                return await operation(session)


def _timeout_error(connection: _Connection, action: str, timeout: float) -> McpTimeout:
    return McpTimeout(f"{_capitalized(connection.label)} did not answer within {timeout:g} s "
                      f"(trying to {action}).")


def _describe_failure(connection: _Connection, action: str, exc: BaseException,
                      stderr_tail: str) -> McpError:
    """One plain sentence for whatever the SDK or the transport raised."""
    import httpx2
    from mcp import MCPError
    from mcp import types as mcp_types

    leaf = _first_leaf(exc)
    label = _capitalized(connection.label)
    if isinstance(leaf, FileNotFoundError) and connection.argv:
        message = f"Could not start {connection.label}: no such command."
    elif isinstance(leaf, PermissionError) and connection.argv:
        message = f"Could not start {connection.label}: permission denied."
    elif isinstance(leaf, OSError) and connection.argv:
        message = f"Could not start {connection.label}: {leaf.strerror or leaf}."
    elif isinstance(leaf, MCPError) and leaf.error.code == mcp_types.CONNECTION_CLOSED:
        message = f"{label} closed the connection while trying to {action} (it may have crashed)."
    elif isinstance(leaf, MCPError):
        message = f"{label} answered with an error while trying to {action}: {leaf.error.message}"
    elif isinstance(leaf, httpx2.ConnectError):
        message = f"Could not connect to {connection.label}: the connection was refused or failed."
    elif isinstance(leaf, httpx2.HTTPError):
        message = f"{label} could not be reached while trying to {action}: {leaf}"
    else:
        message = f"{label} failed while trying to {action}: {type(leaf).__name__}: {leaf}"
    if stderr_tail:
        message += f" Its last output: {stderr_tail}"
    return McpError(_redacted(message, connection.secrets))


def _first_leaf(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _stderr_tail(stderr_file, secrets: list[str]) -> str:
    try:
        stderr_file.flush()
        stderr_file.seek(0)
        lines = [line.rstrip() for line in stderr_file.read().splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    tail = " | ".join(lines[-_STDERR_TAIL_LINES:])[-_STDERR_TAIL_CHARS:]
    return _redacted(tail, secrets)


def _redacted(text: str, secrets: list[str]) -> str:
    """Secret values replaced by ***. Values shorter than _MIN_REDACTED_CHARS are left:
    replacing every "1" of a DEBUG=1 would garble the text, and they are no real secrets."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= _MIN_REDACTED_CHARS:
            text = text.replace(value, "***")
    return text


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
