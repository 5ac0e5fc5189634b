"""Custom tools, the definitions and the mock kind: validation on save (name, clashes, JSON
Schema, templates), versions, roles, and a mock tool called by an agent through the real
run loop against the scripted OpenAI-compatible server, with the call in the trace."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.scripted_openai import text, tool_call
from workbench import agents, runs
from workbench.db import session_scope
from workbench.errors import AccessDenied, ConflictError, ValidationError
from workbench.models import Event, RunStep
from workbench.system import workspace
from workbench.tenancy import groups
from workbench.tools.custom import service
from workbench.tools.custom.definitions import EXAMPLE_SCHEMA

WEATHER = {"name": "get_weather", "kind": "mock", "description": "The weather in a city.",
           "parameters": json.dumps(EXAMPLE_SCHEMA), "template": "Sunny in {{city}} for {{days}} day(s)."}


def _steps(run_id):
    with session_scope() as s:
        return s.scalars(select(RunStep).where(RunStep.run_id == run_id).order_by(RunStep.seq)).all()


def test_a_mock_tool_is_offered_to_the_model_and_its_call_is_traced(scripted):
    tool = service.create_tool(scripted.person_id, scripted.group_id, **WEATHER)
    agent = scripted.make_agent(name="Weather", tools=["get_weather", "get_context"])
    scripted.server.script(tool_call("get_weather", {"city": "Oslo", "days": 2}), text("It is sunny."))
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id,
                                      initial_message="Weather in Oslo?")
    result = handle.wait(10)
    assert result.status == "complete" and result.reply == "It is sunny."
    sent = scripted.server.chat_requests[0].body["tools"]
    assert [t["function"]["name"] for t in sent] == ["get_weather", "get_context"]
    assert sent[0]["function"]["parameters"] == EXAMPLE_SCHEMA
    assert sent[0]["function"]["description"] == "The weather in a city."
    step = _steps(result.run_id)[1]
    assert (step.kind, step.name, step.status) == ("tool_call", "get_weather", "ok")
    assert step.request["arguments"] == {"city": "Oslo", "days": 2}
    assert (step.request["tool_id"], step.request["tool_version"]) == (tool.id, 1)
    assert step.request["implementation"] == "mock"
    assert step.response == {"result": "Sunny in Oslo for 2 day(s)."} and step.duration_ms >= 0
    second = scripted.server.chat_requests[1].body["messages"]
    assert second[-1]["role"] == "tool" and second[-1]["content"] == "Sunny in Oslo for 2 day(s)."
    assert second[-1]["tool_call_id"] == second[-2]["tool_calls"][0]["id"]


def test_arguments_that_do_not_fit_the_schema_go_back_to_the_model_and_the_run_goes_on(scripted):
    service.create_tool(scripted.person_id, scripted.group_id, **WEATHER)
    agent = scripted.make_agent(name="Weather", tools=["get_weather"])
    scripted.server.script(tool_call("get_weather", {"days": "many"}),
                           tool_call("get_weather", {"city": "Oslo"}), text("Sunny."))
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id, initial_message="?")
    result = handle.wait(10)
    assert result.status == "complete"
    bad, good = _steps(result.run_id)[1], _steps(result.run_id)[3]
    assert bad.status == "error" and bad.error["type"] == "ToolArgumentsInvalid"
    assert "'city' is a required property" in bad.response["result"]
    assert "'many' is not of type 'integer'" in bad.response["result"]
    told = scripted.server.chat_requests[1].body["messages"][-1]["content"]
    assert told.startswith("Error: The arguments do not match the parameters of get_weather")
    assert good.status == "ok" and good.response["result"] == "Sunny in Oslo for  day(s)."


def test_every_save_is_a_version_and_history_reads(scripted):
    tool = service.create_tool(scripted.person_id, scripted.group_id, **WEATHER)
    same = service.update_tool(scripted.person_id, tool.id, template=WEATHER["template"])
    assert same.version == 1  # nothing changed: no new version
    changed = service.update_tool(scripted.person_id, tool.id, note="shorter", template="Rain in {{city}}.")
    assert changed.version == 2
    versions = service.list_versions(scripted.person_id, tool.id)
    assert [(v.version, v.note) for v in versions] == [(2, "shorter"), (1, None)]
    assert versions[1].config.impl["template"] == WEATHER["template"]
    for save in (lambda note: service.update_tool(scripted.person_id, tool.id, note=note, template="Hail."),
                 lambda note: agents.update_agent(scripted.person_id, scripted.agent_id, note=note,
                                                  system_prompt="Shorter.")):
        with pytest.raises(ValidationError) as err:  # a version's note, tools and agents alike
            save("x" * 501)
        assert err.value.field_errors == {"note": "At most 500 characters."}
    assert len(service.list_versions(scripted.person_id, tool.id)) == 2  # nothing saved
    try_it = service.try_tool(scripted.person_id, tool.id, "get_weather", '{"city": "Bergen"}')
    assert (try_it.result, try_it.error) == ("Rain in Bergen.", None)
    bad = service.try_tool(scripted.person_id, tool.id, "get_weather", '{"city": 3}')
    assert bad.result is None and "3 is not of type 'string'" in bad.error
    with pytest.raises(ValidationError) as err:
        service.try_tool(scripted.person_id, tool.id, "get_weather", '{"city": ')
    assert "Not valid JSON" in err.value.field_errors["arguments"]


@pytest.mark.parametrize("change, field, message", [
    ({"name": "search_knowledge"}, "name", "already taken by a built-in tool"),
    ({"name": "call_human"}, "name", "already taken by a built-in tool"),
    ({"name": "get weather"}, "name", "starts with a letter"),
    ({"name": "9lives"}, "name", "starts with a letter"),
    ({"parameters": '{"type": "object", "properties": {"city": {"type": "strin"}}}'}, "parameters",
     "not a valid JSON Schema"),
    ({"parameters": '{"type": "object", "required": "city"}'}, "parameters", "not a valid JSON Schema"),
    ({"parameters": '{"type": "string"}'}, "parameters", "must be an object schema"),
    ({"parameters": "{not json"}, "parameters", "Not valid JSON"),
    ({"template": "Hi {{town}}"}, "template", "unknown: {{town}}"),
    ({"kind": "shell"}, "kind", "Choose one of"),
    ({"description": ""}, "description", "the model reads this"),
])
def test_bad_definitions_are_refused_field_by_field(scripted, change, field, message):
    with pytest.raises(ValidationError) as err:
        service.create_tool(scripted.person_id, scripted.group_id, **{**WEATHER, **change})
    assert message in err.value.field_errors[field]
    assert service.list_tools(scripted.person_id, scripted.group_id) == []


def test_names_are_unique_in_the_group_and_agents_hold_on_to_their_tools(scripted):
    tool = service.create_tool(scripted.person_id, scripted.group_id, **WEATHER)
    with pytest.raises(ValidationError, match="already taken by the tool 'get_weather'"):
        service.create_tool(scripted.person_id, scripted.group_id, **WEATHER)
    other = workspace.create_group(scripted.person_id, "Other team")
    service.create_tool(scripted.person_id, other.id, **WEATHER)  # another group: fine
    with pytest.raises(ValidationError, match="Unknown tools: get_forecast"):
        scripted.make_agent(tools=["get_forecast"])
    agent = scripted.make_agent(name="Weather", tools=["get_weather"])
    with pytest.raises(ConflictError, match="Weather use get_weather"):
        service.update_tool(scripted.person_id, tool.id, name="get_forecast")
    with pytest.raises(ConflictError):
        service.delete_tool(scripted.person_id, tool.id)
    agents.update_agent(scripted.person_id, agent.id, tools=[])
    service.update_tool(scripted.person_id, tool.id, name="get_forecast")
    service.delete_tool(scripted.person_id, tool.id)
    assert service.picker_entries(scripted.person_id, scripted.group_id) == []


def test_viewers_read_editors_write(scripted):
    tool = service.create_tool(scripted.person_id, scripted.group_id, **WEATHER)
    viewer = groups.add_member(scripted.person_id, scripted.group_id, email="vi@example.com", role="viewer")
    assert [t.name for t in service.list_tools(viewer.id, scripted.group_id)] == ["get_weather"]
    assert service.list_versions(viewer.id, tool.id)[0].version == 1
    for attempt in (lambda: service.create_tool(viewer.id, scripted.group_id, **{**WEATHER, "name": "x"}),
                    lambda: service.update_tool(viewer.id, tool.id, template="no"),
                    lambda: service.try_tool(viewer.id, tool.id, "get_weather", "{}"),
                    lambda: service.delete_tool(viewer.id, tool.id)):
        with pytest.raises(AccessDenied):
            attempt()
    with session_scope() as s:
        kinds = [e.type for e in s.scalars(select(Event).where(Event.group_id == scripted.group_id))]
    assert "tool_created" in kinds and kinds.count("access_denied") == 4
    assert service.get_tool(viewer.id, tool.id).version == 1
