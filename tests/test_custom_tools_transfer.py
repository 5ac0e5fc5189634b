"""Export and import of agents with their custom tools: one JSON document, read back into
another group (services and CLI); a clashing name or a bad schema is a clear error and
changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.tenancy_world import snapshot
from workbench import agents
from workbench.agents.transfer import export_agents, import_agents
from workbench.cli.commands import main
from workbench.errors import AccessDenied, ValidationError
from workbench.providers import service as providers
from workbench.system import workspace
from workbench.tenancy import groups
from workbench.tools.custom import service

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.fixture()
def exported(scripted):
    service.create_tool(scripted.person_id, scripted.group_id, name="get_weather", kind="mock",
                        description="Weather.", parameters=SCHEMA, template="Sunny in {{city}}")
    service.create_tool(scripted.person_id, scripted.group_id, name="orders", kind="http", description="Orders.",
                        url="https://api.example.com/orders/{{city}}", parameters=SCHEMA,
                        headers={"Authorization": "ORDERS_TOKEN"})
    service.create_tool(scripted.person_id, scripted.group_id, name="unused", kind="mock", description="Unused.",
                        template="x")
    scripted.make_agent(name="Forecaster", tools=["get_weather", "orders", "get_context"], temperature=0.2)
    return scripted


def _other_group(scripted):
    group = workspace.create_group(scripted.person_id, "Importers")
    providers.add_provider(scripted.person_id, group.id, name="Scripted", preset="openai",
                           base_url=scripted.server.base_url, api_key_name="")
    return group.id


def test_an_agent_and_its_tools_travel_to_another_group(exported):
    agent = next(a for a in agents.list_agents(exported.person_id, exported.group_id) if a.name == "Forecaster")
    doc = json.loads(export_agents(exported.person_id, exported.group_id, [agent.id]))
    assert [a["name"] for a in doc["agents"]] == ["Forecaster"]
    assert sorted(t["name"] for t in doc["tools"]) == ["get_weather", "orders"]  # not the unused one
    assert doc["agents"][0]["provider"] == "Scripted" and "provider_id" not in doc["agents"][0]
    orders = next(t for t in doc["tools"] if t["name"] == "orders")
    assert orders["impl"]["headers"] == {"Authorization": "ORDERS_TOKEN"}  # the name, never a value
    target = _other_group(exported)
    report = import_agents(exported.person_id, target, json.dumps(doc))
    assert (report.agents, sorted(report.tools), report.notes) == (["Forecaster"], ["get_weather", "orders"], [])
    copy = agents.list_agents(exported.person_id, target)[0]
    assert copy.config.tools == ["get_weather", "orders", "get_context"] and copy.config.temperature == 0.2
    tools = {t.name: t for t in service.list_tools(exported.person_id, target)}
    assert tools["get_weather"].config.impl["template"] == "Sunny in {{city}}"
    assert tools["orders"].config.parameters == SCHEMA


@pytest.mark.parametrize("same_group, spoil, message", [
    (True, lambda doc: None, "already taken by the tool 'get_weather'"),
    (False, lambda doc: doc["tools"][0].update(parameters={"type": "object", "properties": {"city": {"type": 5}}}),
     "not a valid JSON Schema"),
    (False, lambda doc: doc["tools"][0].update(name="call_human"), "already taken by a built-in tool"),
    (False, lambda doc: doc["agents"][-1].update(tools=["nowhere"]), "Unknown tools: nowhere"),
])
def test_a_refused_import_changes_nothing(exported, same_group, spoil, message):
    doc = json.loads(export_agents(exported.person_id, exported.group_id))
    spoil(doc)
    target = exported.group_id if same_group else _other_group(exported)
    before = snapshot()
    with pytest.raises(ValidationError) as err:
        import_agents(exported.person_id, target, json.dumps(doc))
    assert message in str(err.value)
    assert snapshot() == before


def test_files_that_are_not_exports_are_refused(exported):
    target = _other_group(exported)
    for content, message in (("nope", "Not a JSON file"), ('{"format": "x"}', "Not an agents export"),
                             ('{"format": "agent-workbench/agents", "version": 9}', "version 9 is not supported"),
                             ('{"format": "agent-workbench/agents", "version": 1, "tools": [3]}', "tools\\[0\\]")):
        with pytest.raises(ValidationError, match=message):
            import_agents(exported.person_id, target, content)
    viewer = groups.add_member(exported.person_id, target, email="v@example.com", role="viewer")
    with pytest.raises(AccessDenied):
        import_agents(viewer.id, target, export_agents(exported.person_id, exported.group_id))


def test_cli_exports_lists_and_imports(exported, tmp_path, capsys):
    path = tmp_path / "agents.json"
    assert main(["--group", str(exported.group_id), "export-agents", str(path)]) == 0
    assert "ORDERS_TOKEN" in path.read_text()
    assert main(["--group", str(exported.group_id), "tools"]) == 0
    assert "get_weather\tmock\tv1" in capsys.readouterr().out
    target = _other_group(exported)
    assert main(["--group", str(target), "import-agents", str(path)]) == 0
    assert "imported 3 agents" in capsys.readouterr().out
    assert main(["--group", str(target), "import-agents", str(path)]) == 2  # again: every name clashes
    assert "already taken by the tool" in capsys.readouterr().err
    assert main(["--group", str(target), "import-agents", str(tmp_path / "missing.json")]) == 2
