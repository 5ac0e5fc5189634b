"""The MCP client against real MCP servers (tests/mcp_servers/calc.py, written with the
SDK), over stdio and over streamable HTTP on 127.0.0.1. No mocks of the SDK."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from workbench.tools.custom.mcp_client import (ALLOWED_COMMANDS_SETTING, McpError, McpServer, McpTimeout,
                                               call_tool, check_command_allowed, list_tools)

CALC = Path(__file__).parent / "mcp_servers" / "calc.py"
PYTHON = sys.executable
ALLOWED = [PYTHON]
TIMEOUT = 20.0  # generous: a Python MCP server takes a second or two to start here


def stdio_calc(*extra: str, env: dict[str, str] | None = None) -> McpServer:
    command = " ".join([PYTHON, str(CALC), *extra])
    return McpServer("stdio", command=command, env=env or {})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def http_url():
    """calc.py over streamable HTTP on a free loopback port, for this module's tests."""
    port = free_port()
    process = subprocess.Popen([PYTHON, str(CALC), "--http", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the HTTP MCP test server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def processes_with(tag: str) -> list[int]:
    """Live processes whose command line contains `tag` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except (OSError, IndexError):
            continue
        if tag.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


# --- the allow-list ---------------------------------------------------------------------

def test_allow_list_rules():
    assert check_command_allowed("npx -y server 'a b'", ["npx"]) == ["npx", "-y", "server", "a b"]
    normalized = check_command_allowed("/usr/bin/../bin/uvx x", ["/usr/bin/uvx"])
    assert normalized[0] == "/usr/bin/../bin/uvx"
    with pytest.raises(McpError, match=ALLOWED_COMMANDS_SETTING):
        check_command_allowed("npx server", [])
    # A bare name on the list never allows a path that merely ends in it.
    with pytest.raises(McpError, match="not on the MCP allow-list"):
        check_command_allowed("/tmp/npx server", ["npx"])
    with pytest.raises(McpError, match="not on the MCP allow-list"):
        check_command_allowed("npx server", ["/usr/bin/npx"])
    with pytest.raises(McpError, match="empty"):
        check_command_allowed("   ", ["npx"])
    with pytest.raises(McpError, match="cannot be read"):
        check_command_allowed("npx 'unclosed", ["npx"])


def test_a_command_off_the_allow_list_is_refused_before_it_starts(tmp_path):
    marker = tmp_path / "started"
    server = McpServer("stdio", command=f"touch {marker}")
    with pytest.raises(McpError, match=ALLOWED_COMMANDS_SETTING):
        list_tools(server, allowed_commands=["/usr/bin/other"], timeout=TIMEOUT)
    with pytest.raises(McpError, match="empty"):
        list_tools(server, allowed_commands=[], timeout=TIMEOUT)
    assert not marker.exists()


# --- stdio ------------------------------------------------------------------------------

def test_stdio_lists_tools_with_schemas():
    tools = {tool.name: tool for tool in list_tools(stdio_calc(), allowed_commands=ALLOWED,
                                                    timeout=TIMEOUT)}
    assert {"add", "echo_env", "slow", "fail"} <= set(tools)
    assert tools["add"].description == "Add two integers."
    schema = tools["add"].input_schema
    assert schema["type"] == "object"
    assert schema["properties"]["a"]["type"] == "integer"
    assert set(schema["required"]) == {"a", "b"}


def test_stdio_calls_a_tool():
    assert call_tool(stdio_calc(), "add", {"a": 2, "b": 3}, allowed_commands=ALLOWED,
                     timeout=TIMEOUT) == "5"


def test_stdio_passes_only_the_named_environment_variables(monkeypatch):
    monkeypatch.setenv("WB_TEST_MCP_SOURCE", "value-from-our-environment")
    monkeypatch.setenv("WB_TEST_MCP_SHORT", "on")
    monkeypatch.setenv("WB_TEST_MCP_NOT_PASSED", "private")
    server = stdio_calc(env={"CALC_SETTING": "WB_TEST_MCP_SOURCE",
                             "CALC_FLAG": "WB_TEST_MCP_SHORT"})
    answer = call_tool(server, "echo_env", {"names": ["CALC_SETTING", "CALC_FLAG",
                                                      "WB_TEST_MCP_NOT_PASSED"]},
                       allowed_commands=ALLOWED, timeout=TIMEOUT)
    # CALC_SETTING arrived: the server echoed exactly its value, which the client redacts
    # as a secret; a value too short to be a secret comes back as it is; the rest of our
    # environment never reaches the server.
    assert answer.splitlines() == ["CALC_SETTING=***", "CALC_FLAG=on",
                                   "WB_TEST_MCP_NOT_PASSED=<unset>"]


def test_a_missing_environment_variable_is_named_before_the_server_starts(monkeypatch):
    monkeypatch.delenv("WB_TEST_MCP_ABSENT", raising=False)
    server = stdio_calc(env={"CALC_SETTING": "WB_TEST_MCP_ABSENT"})
    with pytest.raises(McpError, match="WB_TEST_MCP_ABSENT.*not set"):
        list_tools(server, allowed_commands=ALLOWED, timeout=TIMEOUT)


def test_an_error_result_raises_with_the_servers_text():
    with pytest.raises(McpError, match="the fail tool failed on purpose") as caught:
        call_tool(stdio_calc(), "fail", {}, allowed_commands=ALLOWED, timeout=TIMEOUT)
    assert not isinstance(caught.value, McpTimeout)


def test_a_slow_tool_times_out_promptly_and_its_server_is_stopped():
    tag = f"mcp-test-{uuid.uuid4().hex}"
    started = time.monotonic()
    with pytest.raises(McpTimeout, match="did not answer within 3 s"):
        call_tool(stdio_calc("--tag", tag), "slow", {"seconds": 60}, allowed_commands=ALLOWED,
                  timeout=3)
    assert time.monotonic() - started < 3 + 1.5
    # The SDK closes stdin, then SIGTERMs after 2 s and SIGKILLs 2 s later: gone well within 10 s.
    deadline = time.monotonic() + 10
    while processes_with(tag) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(tag) == []


def test_a_server_that_crashes_mid_call_is_a_clear_error_with_its_last_output():
    with pytest.raises(McpError, match="closed the connection.*crashing on purpose"):
        call_tool(stdio_calc(), "crash", {}, allowed_commands=ALLOWED, timeout=TIMEOUT)


def test_a_server_that_dies_at_start_shows_its_stderr():
    command = f"{PYTHON} -c 'import sys; sys.exit(\"no config file\")'"
    with pytest.raises(McpError, match="no config file"):
        list_tools(McpServer("stdio", command=command), allowed_commands=ALLOWED, timeout=TIMEOUT)


def test_a_command_that_does_not_exist():
    missing = "/nonexistent/mcp-server"
    with pytest.raises(McpError, match="no such command"):
        list_tools(McpServer("stdio", command=f"{missing} --flag"), allowed_commands=[missing],
                   timeout=TIMEOUT)


# --- streamable HTTP --------------------------------------------------------------------

def test_http_lists_and_calls_tools(http_url):
    tools = {tool.name: tool for tool in list_tools(McpServer("http", url=http_url),
                                                    allowed_commands=[], timeout=TIMEOUT)}
    assert tools["add"].input_schema["properties"]["b"]["type"] == "integer"
    assert call_tool(McpServer("http", url=http_url), "add", {"a": 40, "b": 2},
                     allowed_commands=[], timeout=TIMEOUT) == "42"


def test_http_secret_header_reaches_the_server_and_never_a_message(http_url, monkeypatch,
                                                                   caplog):
    caplog.set_level(logging.DEBUG)
    secret = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("WB_TEST_MCP_TOKEN", secret)
    server = McpServer("http", url=http_url, headers={"X-Api-Key": "WB_TEST_MCP_TOKEN"})
    digest = call_tool(server, "header_digest", {"name": "x-api-key"}, allowed_commands=[],
                       timeout=TIMEOUT)
    assert digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in caplog.text  # not logged, even at DEBUG
    # Even a server that echoes the header in its error does not get it into our message.
    with pytest.raises(McpError, match=r"the header was \*\*\*") as caught:
        call_tool(server, "leak_header", {"name": "x-api-key"}, allowed_commands=[],
                  timeout=TIMEOUT)
    assert secret not in str(caught.value)

    monkeypatch.delenv("WB_TEST_MCP_TOKEN")
    with pytest.raises(McpError, match="WB_TEST_MCP_TOKEN .*header X-Api-Key.* not set"):
        list_tools(server, allowed_commands=[], timeout=TIMEOUT)


def test_http_server_that_is_down():
    url = f"http://127.0.0.1:{free_port()}/mcp"
    started = time.monotonic()
    with pytest.raises(McpError, match="Could not connect"):
        list_tools(McpServer("http", url=url), allowed_commands=[], timeout=TIMEOUT)
    assert time.monotonic() - started < 5


def test_bad_definitions_are_clear_errors():
    with pytest.raises(McpError, match="not an http"):
        list_tools(McpServer("http", url="file:///etc/passwd"), allowed_commands=[], timeout=1)
    with pytest.raises(McpError, match="Unknown MCP transport"):
        list_tools(McpServer("sse", url="http://127.0.0.1:1/"), allowed_commands=[], timeout=1)


# --- callers' threads -------------------------------------------------------------------

def test_works_from_a_thread_with_a_running_event_loop_and_from_a_plain_thread(http_url):
    server = McpServer("http", url=http_url)

    async def inside_a_loop():  # like Streamlit's script thread
        return call_tool(server, "add", {"a": 1, "b": 1}, allowed_commands=[], timeout=TIMEOUT)

    assert asyncio.run(inside_a_loop()) == "2"

    answers = []
    worker = threading.Thread(target=lambda: answers.append(call_tool(
        server, "add", {"a": 2, "b": 2}, allowed_commands=[], timeout=TIMEOUT)))
    worker.start()
    worker.join(TIMEOUT)
    assert answers == ["4"]
