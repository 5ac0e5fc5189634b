"""The Agents, Chat and Tasks pages, driven with Streamlit's AppTest against a real SQLite
file and the scripted OpenAI-compatible server over real HTTP. AppTest runs the page in
this process, so the run worker shares it: the page's streaming loop waits for the run."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from tests.scripted_openai import error, text, tool_call
from workbench import agents, runs, threads
from workbench.db import session_scope
from workbench.providers import builtin_model
from workbench.providers import service as provider_service
from workbench.providers.grounding_check import NOT_IN_SOURCES
from workbench.tenancy import groups, people
from workbench.tools import tasks

PAGES = Path(__file__).resolve().parent.parent / "views"


def open_page(name: str, person_id: int, group_id: int, **state) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=30)
    at.session_state["person_id"] = person_id
    at.session_state["group_id"] = group_id
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture()
def env(wb, openai_server):
    """The seeded group plus a provider on the scripted server and an agent using it."""
    provider = provider_service.add_provider(wb.person_id, wb.group_id, name="Scripted",
                                             base_url=openai_server.base_url, kind="openai_compatible")
    agent = agents.create_agent(wb.person_id, wb.group_id, name="Scripted agent", provider_id=provider.id,
                                model="gpt-4o-mini", tools=["create_task", "call_human", "get_context"])
    return SimpleNamespace(person=wb.person_id, group=wb.group_id, provider=provider, agent=agent,
                           server=openai_server)


def chat(env, **state) -> AppTest:
    return no_exception(open_page("chat.py", env.person, env.group, sel_agent=env.agent.id, **state))


def labels(elements) -> list[str]:
    return [e.label for e in elements]


def agent_list(at: AppTest) -> list[str]:
    """Names in the Agents page's list."""
    return list(at.radio(key="agent_pick").options)


def thread_list(at: AppTest) -> list[str]:
    """Titles in the Chat page's thread list."""
    picks = [r for r in at.radio if r.key == "chat_thread_pick"]
    return list(picks[0].options) if picks else []


# --- Agents -------------------------------------------------------------------------

def test_agents_page_creates_an_agent_and_shows_a_field_error(env):
    at = no_exception(open_page("agents.py", env.person, env.group))
    assert agent_list(at) == ["Demo assistant", "Scripted agent"]
    at.button(key="agent_new").click().run()
    no_exception(at)
    prefix = "ag_new_0"
    # a new agent starts on the first provider, the built-in model, at its lower temperature
    assert at.slider(key=f"{prefix}_temperature").value == 0.2
    at.selectbox(key=f"{prefix}_provider").set_value(env.provider.id).run()
    assert at.slider(key=f"{prefix}_temperature").value == 0.7  # the scripted endpoint's
    # the model picker lists the scripted endpoint's models
    model = at.selectbox(key=f"{prefix}_model_{env.provider.id}_list")
    assert "o3-mini" in model.options
    at.button(key="agent_save").click().run()  # no name
    no_exception(at)
    assert any("An agent needs a name." in c.value for c in at.caption)
    assert [a.name for a in agents.list_agents(env.person, env.group)] == ["Demo assistant", "Scripted agent"]

    at.text_input(key=f"{prefix}_name").input("Support triage")
    at.text_area(key=f"{prefix}_system_prompt").input("You sort support requests.")
    at.selectbox(key=f"{prefix}_model_{env.provider.id}_list").set_value("gpt-4o")
    at.checkbox(key=f"{prefix}_tool_create_task").check()
    at.number_input(key=f"{prefix}_max_tool_steps").set_value(3)
    at.button(key="agent_save").click().run()
    no_exception(at)
    created = next(a for a in agents.list_agents(env.person, env.group) if a.name == "Support triage")
    assert (created.config.model, created.config.tools, created.config.max_tool_steps) == ("gpt-4o", ["create_task"], 3)
    assert created.config.temperature == 0.7
    assert created.config.system_prompt == "You sort support requests."
    assert created.version == 1 and "Version 1" in " ".join(c.value for c in at.caption)
    assert not any("An agent needs a name." in c.value for c in at.caption)


def test_editing_saves_a_new_version(env):
    at = open_page("agents.py", env.person, env.group)
    assert at.subheader[0].value == "Demo assistant"  # the first agent opens
    at.radio(key="agent_pick").set_value(env.agent.id).run()
    assert at.subheader[0].value == "Scripted agent"
    prefix = f"ag_{env.agent.id}_v1"
    at.slider(key=f"{prefix}_temperature").set_value(0.2)
    at.button(key="agent_save").click().run()
    no_exception(at)
    saved = agents.get_agent(env.person, env.agent.id)
    assert (saved.version, saved.config.temperature) == (2, 0.2)
    assert "Save as version 3" in labels(at.button)


def test_a_label_moves_to_a_version_in_one_action(env):
    agents.update_agent(env.person, env.agent.id, system_prompt="Second prompt.")
    at = open_page("agents.py", env.person, env.group, sel_agent_edit=env.agent.id)
    key = f"agv_label_{env.agent.id}"
    at.text_input(key=f"{key}_name").set_value("staging")
    at.selectbox(key=f"{key}_version").set_value(1)
    at.button(key=f"{key}_go").click().run()
    no_exception(at)
    assert [(i.label, i.version) for i in agents.list_labels(env.person, env.agent.id)] == [("staging", 1)]
    table = next(d.value for d in at.dataframe if "labels" in d.value.columns)
    assert dict(zip(table["version"], table["labels"])) == {2: "", 1: "staging"}
    at.text_input(key=f"{key}_name").set_value("Not ok!")
    at.button(key=f"{key}_go").click().run()
    assert any("label" in e.value for e in at.error)  # the refusal, in a sentence


def test_duplicate_and_delete(env):
    at = open_page("agents.py", env.person, env.group, sel_agent_edit=env.agent.id)
    at.button(key="agent_dup").click().run()
    no_exception(at)
    names = [a.name for a in agents.list_agents(env.person, env.group)]
    assert "Scripted agent (copy)" in names
    copy = next(a for a in agents.list_agents(env.person, env.group) if a.name == "Scripted agent (copy)")
    assert at.session_state["sel_agent_edit"] == copy.id and copy.config.tools == env.agent.config.tools
    at.button(key="agent_delete").click().run()
    no_exception(at)
    assert "Scripted agent (copy)" not in [a.name for a in agents.list_agents(env.person, env.group)]
    assert agent_list(at) == ["Demo assistant", "Scripted agent"]


def test_viewer_sees_agents_read_only(env):
    groups.add_member(env.person, env.group, email="viewer@example.com", name="Vera", role="viewer")
    viewer = people.find_person_by_email("viewer@example.com").id
    at = no_exception(open_page("agents.py", viewer, env.group, sel_agent_edit=env.agent.id))
    assert at.text_input(key=f"ag_{env.agent.id}_v1_name").disabled
    for key in ("agent_save", "agent_new", "agent_dup", f"prov_test_{env.provider.id}"):
        assert key not in [b.key for b in at.button]


def test_providers_tab_adds_from_a_preset_and_tests_the_connection(env, monkeypatch):
    at = open_page("agents.py", env.person, env.group)
    # the built-in provider says which model file it runs (without loading it)
    assert any(f"Model file: {builtin_model.pinned().name}" in c.value for c in at.caption)
    assert any(f"runs `{builtin_model.model_id()}`" in c.value for c in at.caption)
    at.button(key=f"prov_test_{env.provider.id}").click().run()
    assert any("Connected to Scripted: 3 models" in s.value for s in at.success)
    at.selectbox(key="prov_add_preset").set_value("ollama").run()
    assert at.text_input(key="prov_add_base_url").value == "http://localhost:11434/v1"
    at.text_input(key="prov_add_api_key_name").input("sk-live-123456")  # a key, not a name
    at.button(key="prov_add_submit").click().run()
    no_exception(at)
    assert any("never the key itself" in c.value for c in at.caption)
    at.text_input(key="prov_add_api_key_name").input("")
    at.text_input(key="prov_add_base_url").input(env.server.base_url)
    at.button(key="prov_add_submit").click().run()
    no_exception(at)
    added = [p for p in provider_service.list_providers(env.person, env.group) if p.preset == "ollama"]
    assert len(added) == 1 and added[0].base_url == env.server.base_url


# --- Chat ---------------------------------------------------------------------------

def test_chat_sends_a_message_and_the_streamed_reply_is_persisted(env):
    env.server.script(text("Hello! How can I help you today?"))
    at = chat(env)
    at.chat_input[0].set_value("Hi there, agent").run()
    no_exception(at)
    thread_id = at.session_state["sel_thread"]
    page = threads.get_thread_messages(thread_id, actor_id=env.person)
    assert [(m.role, m.content, m.status) for m in page.messages] == [
        ("user", "Hi there, agent", "complete"), ("assistant", "Hello! How can I help you today?", "complete")]
    shown = [m.value for m in at.markdown]
    assert "Hi there, agent" in shown and "Hello! How can I help you today?" in shown
    assert at.subheader[0].value == "Hi there, agent"  # the title came from the first message
    assert "Hi there, agent" in thread_list(at)
    run_id = page.messages[1].run_id
    # each reply links to its trace (plain text here: AppTest runs the page without the app's navigation)
    assert f"trace: run #{run_id}" in [c.value for c in at.caption]


def test_a_tool_call_shows_as_a_step_and_the_task_reaches_the_tasks_page(env):
    env.server.script(tool_call("create_task", {"title": "Call the customer back", "priority": "high",
                                                "description": "About the refund"}),
                      text("I filed a task for the team."))
    at = chat(env)
    at.chat_input[0].set_value("Please make sure someone calls me back").run()
    no_exception(at)
    steps = [e for e in at.expander if e.label.startswith("🔧 create_task · ")]
    assert len(steps) == 1 and steps[0].label.endswith(" ms")
    assert any('"Call the customer back"' in str(j.value) for j in steps[0].json)
    assert "I filed a task for the team." in [m.value for m in at.markdown]

    board = no_exception(open_page("tasks.py", env.person, env.group))
    assert any("**Call the customer back**" in m.value and "high" in m.value for m in board.markdown)
    task = tasks.list_tasks(env.person, env.group)[0]
    board.button(key=f"task_done_{task.id}").click().run()
    assert tasks.list_tasks(env.person, env.group, status="done")[0].id == task.id
    assert not any("Call the customer back" in m.value for m in board.markdown)  # filter: open


def test_a_failed_reply_shows_the_error_and_retry_works(env):
    env.server.script(error(400, "This model's maximum context length is 8192 tokens."))
    at = chat(env)
    at.chat_input[0].set_value("Summarise everything").run()
    no_exception(at)
    assert any("maximum context length" in e.value for e in at.error)
    retry = [b for b in at.button if b.label == "Retry"]
    assert len(retry) == 1
    env.server.script(text("Here is the summary."))
    retry[0].click().run()
    no_exception(at)
    assert "Here is the summary." in [m.value for m in at.markdown]
    assert "Retry" not in labels(at.button)


def test_a_refused_message_shows_the_error_and_keeps_the_text(env):
    at = chat(env)
    huge = "x" * 100_000
    at.chat_input[0].set_value(huge).run()
    no_exception(at)
    assert any("100,000 characters" in e.value for e in at.error)
    assert any(c.value == huge for c in at.code)
    assert threads.list_threads(env.person, env.group) == []


def test_archive_and_unarchive(env):
    thread, handle = runs.create_thread(env.group, env.agent.id, env.person, initial_message="Old question")
    handle.wait(10)
    at = chat(env, sel_thread=thread.id)
    at.button(key="chat_archive").click().run()
    no_exception(at)
    assert threads.get_thread(env.person, thread.id).archived
    assert not at.chat_input and "Unarchive" in labels(at.button)
    assert "Old question" not in thread_list(at)  # the list shows live threads
    at.toggle(key="sel_archived").set_value(True).run()
    assert "Old question" in thread_list(at)
    at.button(key="chat_unarchive").click().run()
    no_exception(at)
    assert not threads.get_thread(env.person, thread.id).archived and at.chat_input


def test_rename(env):
    thread, _ = runs.create_thread(env.group, env.agent.id, env.person)
    at = chat(env, sel_thread=thread.id)
    at.text_input(key=f"chat_title_{thread.id}").input("Refund questions")
    at.button(key=f"chat_rename_{thread.id}").click().run()
    no_exception(at)
    assert threads.get_thread(env.person, thread.id).title == "Refund questions"
    assert at.subheader[0].value == "Refund questions"


def test_load_older_extends_a_long_thread(env):
    thread, _ = runs.create_thread(env.group, env.agent.id, env.person, title="Long")
    with session_scope() as s:
        row = threads.load_thread(s, env.person, thread.id)
        for n in range(1, 121):
            threads.append_message(s, row, role="user" if n % 2 else "assistant", content=f"message {n}")
    at = chat(env, sel_thread=thread.id)
    shown = [m.value for m in at.markdown if m.value.startswith("message ")]
    assert shown[0] == "message 71" and shown[-1] == "message 120" and len(shown) == 50
    at.button(key="chat_load_older").click().run()
    shown = [m.value for m in at.markdown if m.value.startswith("message ")]
    assert shown[0] == "message 21" and len(shown) == 100
    at.button(key="chat_load_older").click().run()
    shown = [m.value for m in at.markdown if m.value.startswith("message ")]
    assert shown[0] == "message 1" and len(shown) == 120
    assert not [b for b in at.button if b.key == "chat_load_older"]


def test_waiting_for_a_human_and_answering_as_the_human_agent(env):
    env.server.script(tool_call("call_human", {"reason": "The customer wants a manager"}),
                      text("I asked a colleague to join."))
    thread, handle = runs.create_thread(env.group, env.agent.id, env.person, initial_message="Get me a manager")
    assert handle.wait(10).status == "complete"
    at = chat(env, sel_thread=thread.id)
    assert any("Waiting for a human" in w.value and "wants a manager" in w.value for w in at.warning)
    at.text_area(key=f"chat_human_{thread.id}_0").input("Hello, I am the manager.")
    at.button(key=f"chat_human_send_{thread.id}").click().run()
    no_exception(at)
    assert "Hello, I am the manager." in [m.value for m in at.markdown]
    assert not any("Waiting for a human" in w.value for w in at.warning)
    assert tasks.open_escalations(env.person, env.group) == []


def test_stop_cancels_a_running_reply_and_keeps_what_streamed(env):
    env.server.script(text("word " * 400, chunk_size=5, delay=0.02))  # about 8 s if not stopped
    thread, handle = runs.create_thread(env.group, env.agent.id, env.person, initial_message="Talk a lot")
    for update in handle.updates():
        if update.kind == "text":
            break  # it is streaming
    at = chat(env, sel_thread=thread.id)  # opened while the run goes on: followed from the DB
    assert "⏳ replying" in " ".join(c.value for c in at.caption)
    assert at.chat_input[0].disabled  # one reply at a time
    at.button(key="chat_stop_follow").click().run()
    result = handle.wait(10)
    assert result.status == "cancelled" and 0 < len(result.reply) < len("word " * 400)
    at.run()
    no_exception(at)
    assert any("Stopped" in c.value for c in at.caption)
    reply = threads.get_thread_messages(thread.id, actor_id=env.person).messages[-1]
    assert reply.status == "cancelled" and reply.content == result.reply


def test_viewer_reads_threads_without_an_input(env):
    thread, handle = runs.create_thread(env.group, env.agent.id, env.person, initial_message="Visible to all")
    handle.wait(10)
    groups.add_member(env.person, env.group, email="viewer@example.com", name="Vera", role="viewer")
    viewer = people.find_person_by_email("viewer@example.com").id
    at = no_exception(open_page("chat.py", viewer, env.group, sel_thread=thread.id))
    assert "Visible to all" in [m.value for m in at.markdown]
    assert not at.chat_input and "chat_archive" not in [b.key for b in at.button]


def test_runtime_errors_before_a_run_are_shown(env):
    thread, handle = runs.create_thread(env.group, env.agent.id, env.person, initial_message="First")
    handle.wait(10)
    with session_scope() as s:
        from workbench.models import Group

        s.get(Group, env.group).monthly_budget_usd = 0.0
    at = chat(env, sel_thread=thread.id)
    at.chat_input[0].set_value("Second").run()
    no_exception(at)
    assert any("budget" in e.value and "new runs are paused" in e.value for e in at.error)
    assert any(c.value == "Second" for c in at.code)
    assert runs.active_handle(thread.id, actor_id=env.person) is None


def test_knowledge_search_results_render_as_sources(env):
    thread, _ = runs.create_thread(env.group, env.agent.id, env.person, title="Refunds")
    hits = [{"title": "refund-policy.md", "document_id": 1, "chunk_id": 7, "position": 2, "page": 3,
             "score": 0.8134, "text": "Refunds are paid within 14 days."},
            {"title": "faq.txt", "document_id": 2, "chunk_id": 9, "position": 0, "page": None,
             "score": 0.52, "text": "Ask support for anything else."}]
    with session_scope() as s:
        row = threads.load_thread(s, env.person, thread.id)
        threads.append_message(s, row, role="user", content="How fast are refunds?")
        threads.append_message(s, row, role="assistant", run_id=1, tool_calls=[
            {"id": "c1", "name": "search_knowledge", "arguments": '{"query": "refund time"}'}])
        threads.append_message(s, row, role="tool", name="search_knowledge", tool_call_id="c1", run_id=1,
                               content=json.dumps(hits), data={"arguments": {"query": "refund time"},
                                                               "duration_ms": 42.0, "error": None})
        threads.append_message(s, row, role="assistant", run_id=1, content="Within 14 days.")
    at = chat(env, sel_thread=thread.id)
    assert any("Sources" in m.value and "refund time" in m.value for m in at.markdown)
    sources = [e for e in at.expander if e.label.startswith(("1. ", "2. "))]
    assert [e.label for e in sources] == ["1. refund-policy.md · p. 3 · 0.81", "2. faq.txt · 0.52"]
    assert sources[0].markdown[0].value == "Refunds are paid within 14 days."


@pytest.mark.parametrize("question, replaced, note", [
    ("How many parking spaces are there?", {"unsupported": ["40"]}, "answer named 40, which they do not hold"),
    ("Is there a car park for customers?", {"unsupported": [], "repeats_question": True},
     "only repeated the question and said nothing they hold"),
])
def test_an_answer_the_grounding_check_replaced_says_so(env, question, replaced, note):
    thread, _ = runs.create_thread(env.group, env.agent.id, env.person, title="Parking")
    with session_scope() as s:
        row = threads.load_thread(s, env.person, thread.id)
        threads.append_message(s, row, role="user", content=question)
        threads.append_message(s, row, role="assistant", run_id=1, content=NOT_IN_SOURCES,
                               data={"model": "m", **replaced})
    at = chat(env, sel_thread=thread.id)
    assert any(note in c.value for c in at.caption)
    assert NOT_IN_SOURCES in [m.value for m in at.markdown]


def _live_view():
    import streamlit as st

    from ui.chat_stream import stream_reply

    st.session_state["final"] = stream_reply(st.session_state["handle"], st.session_state["person_id"])


def test_the_live_view_streams_text_and_shows_tool_steps_as_they_happen(env):
    env.server.script(tool_call("get_context", {"about": "group"}, content="Let me look."),
                      text("You are in My workspace."))
    thread, _ = runs.create_thread(env.group, env.agent.id, env.person)
    handle = runs.continue_thread(thread.id, "Where am I?", env.person)
    at = AppTest.from_function(_live_view, default_timeout=30)
    at.session_state["handle"], at.session_state["person_id"] = handle, env.person
    at.run()
    no_exception(at)
    assert at.session_state["final"] == {"status": "complete", "error": None}
    steps = list(at.status)  # the live step is an st.status, relabelled when the tool ends
    assert len(steps) == 1 and steps[0].label.startswith("🔧 get_context · ") and steps[0].label.endswith(" ms")
    assert [j.value for j in steps[0].json][0] in ('{"about": "group"}', {"about": "group"})
    assert [m.value for m in at.markdown if m.value.startswith(("Let me", "You are"))] == [
        "Let me look.", "You are in My workspace."]
    assert "Stop" in labels(at.button)
