"""A tool's secret (a header or env value named by an environment variable) reaches the
endpoint or server but nowhere else: not the database (every column of every table), not
the traces or their exports, not the events or their exports, not the agents export, not
the logs; even when the endpoint echoes it back in an answer or an error."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.scripted_openai import call, text, tool_calls
from tests.tool_http_server import ToolHttpServer
from workbench import runs, settings
from workbench.agents.transfer import export_agents
from workbench.db import session_scope
from workbench.models import Base
from workbench.observe import event_log, trace_export
from workbench.tools.custom import service

SECRET = "sk-live-9f8e7d6c5b4a-SECRET-0123456789"
CALC = f"{sys.executable} {Path(__file__).parent / 'mcp_servers' / 'calc.py'}"


@pytest.fixture()
def http_server():
    server = ToolHttpServer()
    yield server
    server.stop()


def _everything_stored() -> str:
    """Every value of every row of every table, as text."""
    parts = []
    with session_scope() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def test_a_secret_never_leaves_the_call(scripted, http_server, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("WB_TEST_SECRET", SECRET)
    monkeypatch.setenv("WORKBENCH_TOOL_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WORKBENCH_MCP_ALLOWED_COMMANDS", sys.executable)
    settings.reset_settings()
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    for name, path in (("echo_api", "/echo"), ("failing_api", "/fail")):
        service.create_tool(scripted.person_id, scripted.group_id, name=name, kind="http", method="POST",
                            description="Echoes.", parameters=schema, url=http_server.url + path,
                            headers={"Authorization": "WB_TEST_SECRET"})
    mcp = service.create_tool(scripted.person_id, scripted.group_id, name="calc", kind="mcp", transport="stdio",
                              command=CALC, env={"API_TOKEN": "WB_TEST_SECRET"}, tools=["echo_env"], timeout_s=20)
    agent = scripted.make_agent(name="Leaky", tools=["echo_api", "failing_api", "echo_env"])
    scripted.server.script(tool_calls(call("echo_api", {"q": "hi"}), call("failing_api", {"q": "hi"}),
                                      call("echo_env", {"names": ["API_TOKEN"]})), text("Done."))
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id, initial_message="Go")
    result = handle.wait(40)
    assert result.status == "complete"
    # the secret did reach the endpoint and the server...
    assert {r["headers"].get("Authorization") for r in http_server.seen} == {SECRET}
    tried = service.try_tool(scripted.person_id, mcp.id, "echo_env", {"names": ["API_TOKEN"]})
    assert tried.result == "API_TOKEN=***"  # the MCP client's own redaction
    echoed = service.try_tool(scripted.person_id, service.list_tools(scripted.person_id, scripted.group_id)[1].id,
                              "echo_api", {"q": "x"})
    assert '"Authorization": "***"' in echoed.result
    # ...and nowhere else
    sent_to_model = "\n".join(str(r.body) for r in scripted.server.chat_requests)
    places = {
        "database": _everything_stored(),
        "trace export": trace_export.export_run_json(scripted.person_id, result.run_id),
        "runs export": trace_export.export_runs_json(scripted.person_id, scripted.group_id)
        + trace_export.export_runs_csv(scripted.person_id, scripted.group_id),
        "events export": event_log.export_events_json(scripted.person_id, scripted.group_id)
        + event_log.export_events_csv(scripted.person_id, scripted.group_id),
        "agents export": export_agents(scripted.person_id, scripted.group_id),
        "model requests": sent_to_model,
        "logs": caplog.text,
        "try it": str(tried) + str(echoed),
    }
    assert "WB_TEST_SECRET" in places["agents export"]  # the variable's name travels
    for place, content in places.items():
        assert SECRET not in content, f"the secret leaked into the {place}"
        assert SECRET[8:24] not in content, f"part of the secret leaked into the {place}"
