"""The Tools page under AppTest: create a mock tool through the form, refused fields shown
next to their field, try a tool by hand, the version history, an HTTP tool's form, a viewer's
read-only page; and the Agents page offering the group's tools beside the built-ins."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from workbench.tenancy import groups
from workbench.tools.custom import service
from workbench.tools.custom.definitions import EXAMPLE_SCHEMA

PAGES = Path(__file__).resolve().parent.parent / "views"


def open_page(name: str, person_id: int, group_id: int) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=30)
    at.session_state["person_id"] = person_id
    at.session_state["group_id"] = group_id
    return at.run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_create_a_mock_tool_through_the_form(wb):
    at = ok(open_page("tools.py", wb.person_id, wb.group_id))
    assert "No tools yet" in " ".join(i.value for i in at.info)
    at.text_input(key="tl_new_0_name").set_value("get weather")
    at.text_area(key="tl_new_0_parameters").set_value('{"type": "object", "properties": {"city": {"type": 1}}}')
    at.text_area(key="tl_new_0_template").set_value("Sunny in {{town}}")
    ok(at.button(key="tl_new_0_save").click().run())
    assert "Not saved: fix the fields marked below." in [e.value for e in at.error]
    shown = captions(at)
    for message in ("starts with a letter", "not a valid JSON Schema", "the model reads this"):
        assert message in shown
    assert service.list_tools(wb.person_id, wb.group_id) == []
    at.text_input(key="tl_new_0_name").set_value("get_weather")
    at.text_area(key="tl_new_0_description").set_value("The weather in a city.")
    at.text_area(key="tl_new_0_parameters").set_value(json.dumps(EXAMPLE_SCHEMA))
    at.text_area(key="tl_new_0_template").set_value("Sunny in {{city}}")
    ok(at.button(key="tl_new_0_save").click().run())
    assert [s.value for s in at.success] == ["Created get_weather. Give it to an agent on the Agents page."]
    tool = service.list_tools(wb.person_id, wb.group_id)[0]
    assert tool.config.impl == {"template": "Sunny in {{city}}"} and tool.config.parameters == EXAMPLE_SCHEMA
    # try it: the arguments start from the schema's example values
    key = f"try_{tool.id}_v1"
    assert json.loads(at.text_area(key=f"{key}_get_weather_args").value) == {"city": "Oslo", "days": 1}
    at.text_area(key=f"{key}_get_weather_args").set_value('{"city": "Oslo"}')
    ok(at.button(key=f"{key}_go").click().run())
    assert "Sunny in Oslo" in [c.value for c in at.code]
    at.text_area(key=f"{key}_get_weather_args").set_value('{"city": 5}')
    ok(at.button(key=f"{key}_go").click().run())
    assert "5 is not of type 'string'" in " ".join(e.value for e in at.error)
    # a second version, then the history lists both
    at.text_area(key=f"tl_{tool.id}_v1_template").set_value("Rain in {{city}}")
    at.text_input(key=f"tl_{tool.id}_v1_note").set_value("rainy now")
    ok(at.button(key=f"tl_{tool.id}_v1_save").click().run())
    assert [v.version for v in service.list_versions(wb.person_id, tool.id)] == [2, 1]
    assert any("rainy now" in e.label for e in at.expander)


def test_an_http_tool_form_and_its_errors(wb):
    at = ok(open_page("tools.py", wb.person_id, wb.group_id))
    at.radio(key="tl_new_0_kind").set_value("http").run()
    at.text_input(key="tl_new_0_name").set_value("orders")
    at.text_area(key="tl_new_0_description").set_value("Looks up an order.")
    at.text_input(key="tl_new_0_url").set_value("http://{{host}}/orders")
    at.text_area(key="tl_new_0_headers").set_value("Authorization=sk-live-123 abc")
    ok(at.button(key="tl_new_0_save").click().run())
    shown = captions(at)
    assert "The host must be written out" in shown and "NAME of an environment variable" in shown
    at.text_input(key="tl_new_0_url").set_value("https://api.example.com/orders")
    at.text_area(key="tl_new_0_headers").set_value("Authorization=ORDERS_TOKEN")
    ok(at.button(key="tl_new_0_save").click().run())
    tool = service.list_tools(wb.person_id, wb.group_id)[0]
    assert tool.config.impl["headers"] == {"Authorization": "ORDERS_TOKEN"} and tool.config.impl["method"] == "GET"


def test_a_viewer_reads_but_cannot_change_or_try(wb):
    tool = service.create_tool(wb.person_id, wb.group_id, name="lookup", kind="mock", description="Looks up.",
                               template="42")
    viewer = groups.add_member(wb.person_id, wb.group_id, email="viewer@example.com", role="viewer")
    at = ok(open_page("tools.py", viewer.id, wb.group_id))
    infos = " ".join(i.value for i in at.info)
    assert "you can read tools but not change" in infos and "editors and owners can" in infos
    assert at.text_input(key=f"tl_{tool.id}_v1_name").disabled
    assert not [b for b in at.button if b.key and b.key.endswith("_save")]


def test_the_agents_page_offers_the_groups_tools(wb):
    service.create_tool(wb.person_id, wb.group_id, name="lookup", kind="mock", description="Looks up a fact.",
                        template="42")
    at = ok(open_page("agents.py", wb.person_id, wb.group_id))
    boxes = [c for c in at.checkbox if c.key and c.key.endswith("_tool_lookup")]
    assert len(boxes) == 1 and "Looks up a fact." in captions(at)
    boxes[0].check()
    ok(at.button(key="agent_save").click().run())
    from workbench import agents

    assert "lookup" in agents.list_agents(wb.person_id, wb.group_id)[0].config.tools


def test_an_mcp_tool_is_listed_chosen_and_tried_on_the_page(wb, monkeypatch):
    import sys

    from workbench import settings

    monkeypatch.setenv("WORKBENCH_MCP_ALLOWED_COMMANDS", sys.executable)
    settings.reset_settings()
    command = f"{sys.executable} {Path(__file__).parent / 'mcp_servers' / 'calc.py'}"
    at = ok(open_page("tools.py", wb.person_id, wb.group_id))
    at.radio(key="tl_new_0_kind").set_value("mcp").run()
    at.text_input(key="tl_new_0_name").set_value("calc")
    at.text_input(key="tl_new_0_command").set_value(command)
    at.number_input(key="tl_new_0_timeout_s").set_value(20.0)
    ok(at.button(key="tl_new_0_discover").click().run())
    assert {"add", "slow", "echo_env"} <= set(at.multiselect(key="tl_new_0_tools").options)
    at.multiselect(key="tl_new_0_tools").set_value(["add", "slow"])
    ok(at.button(key="tl_new_0_save").click().run())
    tool = service.list_tools(wb.person_id, wb.group_id)[0]
    assert tool.config.exposed_names() == ["add", "slow"]
    key = f"try_{tool.id}_v1"
    at.selectbox(key=f"{key}_fn").set_value("add").run()
    at.text_area(key=f"{key}_add_args").set_value('{"a": 20, "b": 22}')
    ok(at.button(key=f"{key}_go").click().run())
    assert "42" in [c.value for c in at.code]
    assert any(e.label == "Schema of add" for e in at.expander)


def test_the_settings_page_shows_the_tool_allow_lists(wb, monkeypatch):
    from workbench import settings

    monkeypatch.setenv("WORKBENCH_TOOL_ALLOWED_HOSTS", "intranet.example, 10.1.2.3")
    settings.reset_settings()
    at = ok(open_page("settings.py", wb.person_id, wb.group_id))
    table = next(df.value for df in at.dataframe if "Setting" in df.value.columns)
    values = dict(zip(table["Setting"], table["Value"]))
    assert values["WORKBENCH_TOOL_ALLOWED_HOSTS"] == "intranet.example, 10.1.2.3"
    assert values["WORKBENCH_MCP_ALLOWED_COMMANDS"] == "(none)"
