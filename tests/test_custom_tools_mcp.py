"""MCP tools: a group owner adds an MCP server started over stdio (tests/mcp_servers/calc.py,
a few lines with the SDK) whose command is on the allow-list; its chosen tools, with the
schemas the server gives, are called by an agent through the real run loop and traced.
Refused: a command off the allow-list, a stdio server added by a non-owner, a tool the
server does not offer, an HTTP server on a private address. A slow MCP tool times out and
the run goes on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.scripted_openai import text, tool_call
from workbench import runs, settings
from workbench.db import session_scope
from workbench.errors import AccessDenied, ValidationError
from workbench.models import RunStep
from workbench.tenancy import groups
from workbench.tools.custom import service

CALC = Path(__file__).parent / "mcp_servers" / "calc.py"
COMMAND = f"{sys.executable} {CALC}"


@pytest.fixture()
def allowed(monkeypatch):
    monkeypatch.setenv("WORKBENCH_MCP_ALLOWED_COMMANDS", sys.executable)
    settings.reset_settings()


def calc_tool(scripted, person_id=None, **values):
    fields = {"name": "calc", "kind": "mcp", "transport": "stdio", "command": COMMAND,
              "tools": ["add", "slow"], "timeout_s": 20, **values}
    return service.create_tool(person_id or scripted.person_id, scripted.group_id, **fields)


def test_an_mcp_stdio_tool_is_called_by_an_agent_and_traced(scripted, allowed):
    offered = service.discover_mcp_tools(scripted.person_id, scripted.group_id, transport="stdio",
                                         command=COMMAND, timeout_s=20)
    assert {"add", "slow", "echo_env"} <= {t.name for t in offered}
    tool = calc_tool(scripted)
    assert tool.config.exposed_names() == ["add", "slow"]
    add_schema = tool.config.impl["tools"][0]["input_schema"]
    assert add_schema["required"] == ["a", "b"] and add_schema["properties"]["a"]["type"] == "integer"
    entries = service.picker_entries(scripted.person_id, scripted.group_id)
    assert [(e.name, e.tool_name, e.kind) for e in entries] == [("add", "calc", "mcp"), ("slow", "calc", "mcp")]
    agent = scripted.make_agent(name="Calculator", tools=["add"])
    scripted.server.script(tool_call("add", {"a": 2, "b": 3}), text("2 + 3 = 5"))
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id, initial_message="2+3?")
    result = handle.wait(30)
    assert result.status == "complete" and result.reply == "2 + 3 = 5"
    assert scripted.server.chat_requests[0].body["tools"][0]["function"]["parameters"] == add_schema
    with session_scope() as s:
        step = s.scalar(select(RunStep).where(RunStep.run_id == result.run_id, RunStep.kind == "tool_call"))
        assert (step.name, step.status, step.response["result"]) == ("add", "ok", "5")
        assert step.request["implementation"] == "mcp" and step.request["arguments"] == {"a": 2, "b": 3}
    assert scripted.server.chat_requests[1].body["messages"][-1]["content"] == "5"
    again = service.refresh_mcp_tools(scripted.person_id, tool.id)
    assert again.version == 1  # the server's schemas did not change: nothing new to save
    assert service.try_tool(scripted.person_id, tool.id, "add", '{"a": 1, "b": "x"}').error.startswith(
        "The arguments do not match the parameters of add")


def test_a_slow_mcp_tool_times_out_and_the_run_goes_on(scripted, allowed):
    calc_tool(scripted, timeout_s=4)
    agent = scripted.make_agent(name="Calculator", tools=["slow"])
    scripted.server.script(tool_call("slow", {"seconds": 30}), text("It took too long."))
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id, initial_message="wait")
    result = handle.wait(30)
    assert result.status == "complete" and result.reply == "It took too long."
    with session_scope() as s:
        step = s.scalar(select(RunStep).where(RunStep.run_id == result.run_id, RunStep.kind == "tool_call"))
        assert step.status == "error" and step.error["type"] == "ToolTimedOut" and step.duration_ms < 10_000
    assert scripted.server.chat_requests[1].body["messages"][-1]["content"].startswith("Error: ")


def test_a_command_off_the_allow_list_is_refused(scripted, monkeypatch):
    with pytest.raises(ValidationError) as err:
        calc_tool(scripted)
    assert "allow-list WORKBENCH_MCP_ALLOWED_COMMANDS is empty" in err.value.field_errors["command"]
    monkeypatch.setenv("WORKBENCH_MCP_ALLOWED_COMMANDS", "/usr/bin/true")
    settings.reset_settings()
    with pytest.raises(ValidationError) as err:
        calc_tool(scripted)
    assert "is not on the MCP allow-list" in err.value.field_errors["command"]
    assert service.list_tools(scripted.person_id, scripted.group_id) == []


def test_only_an_owner_adds_a_stdio_server(scripted, allowed):
    editor = groups.add_member(scripted.person_id, scripted.group_id, email="ed@example.com", role="editor")
    with pytest.raises(AccessDenied, match="needs the owner role"):
        calc_tool(scripted, person_id=editor.id)
    with pytest.raises(AccessDenied):
        service.discover_mcp_tools(editor.id, scripted.group_id, transport="stdio", command=COMMAND)
    tool = calc_tool(scripted, tools=["add"])
    with pytest.raises(AccessDenied):
        service.update_tool(editor.id, tool.id, tools=["add", "slow"])
    with pytest.raises(AccessDenied):
        service.refresh_mcp_tools(editor.id, tool.id)
    assert service.try_tool(editor.id, tool.id, "add", {"a": 1, "b": 1}).result == "2"  # using it is fine


def test_choices_are_checked_against_what_the_server_offers(scripted, allowed):
    with pytest.raises(ValidationError) as err:
        calc_tool(scripted, tools=["multiply"])
    assert "does not offer a tool named 'multiply'" in err.value.field_errors["tools"]
    service.create_tool(scripted.person_id, scripted.group_id, name="add", kind="mock", description="Adds.",
                        template="4")
    with pytest.raises(ValidationError) as err:
        calc_tool(scripted, tools=["add"])
    assert "'add' is already taken by the tool 'add'" in err.value.field_errors["tools"]


def test_an_mcp_http_server_on_a_private_address_is_refused(scripted):
    with pytest.raises(ValidationError) as err:
        service.create_tool(scripted.person_id, scripted.group_id, name="remote", kind="mcp", transport="http",
                            server_url="http://127.0.0.1:9/mcp", tools=["add"])
    assert err.value.field_errors["server_url"].startswith("Refused to reach 127.0.0.1")
