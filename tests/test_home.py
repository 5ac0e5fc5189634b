"""The Home page: the group at a glance and the getting-started checklist."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.scripted_openai import text
from workbench import knowledge, runs

PAGE = str(Path(__file__).resolve().parent.parent / "views" / "home.py")


def _home(person_id, group_id):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["person_id"] = person_id
    at.session_state["group_id"] = group_id
    return at.run()


def test_home_on_a_fresh_workspace_points_to_the_first_steps(wb):
    at = _home(wb.person_id, wb.group_id)
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Agents"] == "1" and metrics["Threads"] == "0" and metrics["Documents"] == "0"
    steps = " ".join(m.value for m in at.markdown)
    assert "⬜ **Connect a real model**" in steps and "small offline demo" in steps


def test_home_counts_what_the_group_has(scripted):
    scripted.server.script(text("Hi"))
    _, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                      initial_message="Hello there")
    handle.wait(10)
    knowledge.add_snippet(scripted.person_id, scripted.group_id, "Policy", "Returns within 30 days.")
    at = _home(scripted.person_id, scripted.group_id)
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Threads"] == "1" and metrics["Documents"] == "1"
    steps = " ".join(m.value for m in at.markdown)
    assert "✅ **Connect a real model**" in steps and "✅ **Give agents knowledge**" in steps
