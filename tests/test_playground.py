"""The playground services against the scripted OpenAI-compatible server, through the real
openai client: comparisons stream their columns concurrently, record tokens and cost per
column, reopen from their record; one column stops alone; a traced model call reopens with
its exact request; threads replay turn by turn; versions diff and restore; bad input is
refused with a plain message."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.scripted_openai import text, tool_call, usage
from workbench import agents, runs, threads
from workbench.agents import versions
from workbench.db import session_scope
from workbench.errors import AgentNotFound, ValidationError
from workbench.models import Connection, Event, Run, Thread
from workbench.playground import (Variant, compare_replay, get_comparison, list_comparisons, mark_best,
                                  open_step, parse_variant, replay_thread, rerun_comparison, rerun_step,
                                  run_variant, save_column_as_version, start_comparison, stop_column)
from workbench.providers import service as providers
from workbench.system import workspace


def _events(group_id):
    with session_scope() as s:
        return [e.type for e in s.scalars(select(Event).where(Event.group_id == group_id))]


def three_models(scripted, delay=0.05):
    """Three variants of one agent on three models, each scripted its own slow reply."""
    models = ["gpt-4o-mini", "gpt-4o", "o3-mini"]
    for n, model in enumerate(models):
        scripted.server.script_for(model, text(f"Answer from {model}. " * 6, delay=delay,
                                               usage=usage(20 + n, 10 + n)))
    return [Variant(scripted.agent_id, None, {"model": m}) if m != "gpt-4o-mini" else Variant(scripted.agent_id)
            for m in models]


def test_three_columns_stream_concurrently_and_reopen(scripted):
    variants = three_models(scripted)
    live = start_comparison(scripted.person_id, scripted.group_id, variants, "Which plan fits me?")
    assert sorted(live.handles) == [0, 1, 2]
    live.wait(30)
    calls = scripted.server.answered_chat_requests()
    assert len(calls) == 3
    # every call arrived before any call had finished: the three streamed at the same time
    assert max(c.received_at for c in calls) < min(c.finished_at for c in calls)

    view = get_comparison(scripted.person_id, live.id)
    assert [c.result.status for c in view.columns] == ["complete"] * 3
    for n, (column, model) in enumerate(zip(view.columns, ["gpt-4o-mini", "gpt-4o", "o3-mini"])):
        r = column.result
        assert r.reply == f"Answer from {model}. " * 6
        assert (r.input_tokens, r.output_tokens) == (20 + n, 10 + n)
        assert r.cost_usd > 0 and r.ttft_ms is not None and r.duration_ms > 0
        with session_scope() as s:
            run = s.get(Run, r.run_id)
            assert run.thread_id == r.thread_id and s.get(Thread, r.thread_id).kind == "playground"
            assert (run.overrides or {}).get("model", "gpt-4o-mini") == model
    # each column asked its own model
    assert sorted(c.body["model"] for c in calls) == ["gpt-4o", "gpt-4o-mini", "o3-mini"]
    # the hidden threads stay off the Chat list; the comparison is listed and reopens
    assert threads.list_threads(scripted.person_id, scripted.group_id) == []
    assert list_comparisons(scripted.person_id, scripted.group_id)[0][0] == live.id
    again = get_comparison(scripted.person_id, live.id)
    assert [c.result.reply for c in again.columns] == [c.result.reply for c in view.columns]
    assert again.conversation == [{"role": "user", "content": "Which plan fits me?"}]
    assert "comparison_created" in _events(scripted.group_id)


def test_four_columns_run_at_once_in_the_run_pool(scripted):
    models = ["m1", "m2", "m3", "m4"]
    for m in models:
        scripted.server.script_for(m, text("Reply " * 8, delay=0.03))
    live = start_comparison(scripted.person_id, scripted.group_id,
                            [Variant(scripted.agent_id, None, {"model": m}) for m in models], "Go")
    live.wait(20)
    calls = scripted.server.answered_chat_requests()
    assert max(c.received_at for c in calls) < min(c.finished_at for c in calls)


def test_stopping_one_column_leaves_the_others_running(scripted):
    scripted.server.script_for("slow-model", text("word " * 300, delay=0.02))
    scripted.server.script_for("gpt-4o", text("Quick answer", delay=0.01))
    scripted.server.script_for("o3-mini", text("Another answer", delay=0.01))
    variants = [Variant(scripted.agent_id, None, {"model": m}) for m in ("slow-model", "gpt-4o", "o3-mini")]
    live = start_comparison(scripted.person_id, scripted.group_id, variants, "Tell me")
    got = ""
    for update in live.handles[0].updates():
        if update.kind == "text":
            got += update.text
            if len(got) > 20:
                assert stop_column(scripted.person_id, live.id, 0)
                break
    live.wait(20)
    view = get_comparison(scripted.person_id, live.id)
    assert [c.result.status for c in view.columns] == ["cancelled", "complete", "complete"]
    assert 20 <= len(view.columns[0].result.reply) < len("word " * 300)
    assert [c.result.reply for c in view.columns[1:]] == ["Quick answer", "Another answer"]


def test_a_broken_provider_fails_in_its_own_column(scripted, monkeypatch):
    monkeypatch.delenv("WB_TEST_MISSING_KEY", raising=False)
    down = providers.add_provider(scripted.person_id, scripted.group_id, name="Down",
                                  base_url="http://127.0.0.1:9/v1", kind="openai_compatible")
    keyless = providers.add_provider(scripted.person_id, scripted.group_id, name="Keyless",
                                     base_url=scripted.server.base_url, kind="openai_compatible",
                                     api_key_name="WB_TEST_MISSING_KEY")
    scripted.server.script(text("I still answer"))
    variants = [Variant(scripted.agent_id, None, {"provider_id": down.id}),
                Variant(scripted.agent_id),
                Variant(scripted.agent_id, None, {"provider_id": keyless.id})]
    live = start_comparison(scripted.person_id, scripted.group_id, variants, "Hello")
    live.wait(30)
    cols = get_comparison(scripted.person_id, live.id).columns
    assert [c.result.status for c in cols] == ["failed", "complete", "failed"]
    assert cols[1].result.reply == "I still answer"
    assert "Down" in cols[0].result.error and "Traceback" not in cols[0].result.error
    assert "WB_TEST_MISSING_KEY" in cols[2].result.error


def test_bad_input_is_refused(scripted, openai_server):
    v = Variant(scripted.agent_id)
    with pytest.raises(ValidationError, match="at most 4"):
        start_comparison(scripted.person_id, scripted.group_id, [v] * 5, "Hi")
    with pytest.raises(ValidationError, match="at least 2"):
        start_comparison(scripted.person_id, scripted.group_id, [v], "Hi")
    with pytest.raises(ValidationError, match="Write a message first"):
        start_comparison(scripted.person_id, scripted.group_id, [v, v], "   ")
    with pytest.raises(AgentNotFound, match="no version 9"):
        start_comparison(scripted.person_id, scripted.group_id, [v, Variant(scripted.agent_id, 9)], "Hi")
    with pytest.raises(ValidationError, match="cannot be edited"):
        start_comparison(scripted.person_id, scripted.group_id, [v, Variant(scripted.agent_id, None,
                                                                            {"name": "x"})], "Hi")
    # another group's agent, at a real version of it
    other = workspace.create_group(scripted.person_id, "Other team").id
    theirs_provider = providers.add_provider(scripted.person_id, other, name="P",
                                             base_url=openai_server.base_url, kind="openai_compatible")
    theirs = agents.create_agent(scripted.person_id, other, name="Theirs", provider_id=theirs_provider.id,
                                 model="gpt-4o-mini")
    with pytest.raises(AgentNotFound, match="does not exist in this group"):
        start_comparison(scripted.person_id, scripted.group_id, [v, Variant(theirs.id, 1)], "Hi")
    with pytest.raises(ValidationError):
        parse_variant("abc@1")
    assert parse_variant("12@3") == Variant(12, 3)
    assert list_comparisons(scripted.person_id, scripted.group_id) == []
    assert scripted.server.chat_requests == []


def test_best_column_saves_as_a_new_version_and_rerun(scripted):
    live = start_comparison(scripted.person_id, scripted.group_id,
                            [Variant(scripted.agent_id),
                             Variant(scripted.agent_id, 1, {"system_prompt": "Be terse.", "temperature": 0.1})],
                            "Hi")
    live.wait(20)
    with pytest.raises(ValidationError, match="Mark the best column"):
        save_column_as_version(scripted.person_id, live.id)
    assert mark_best(scripted.person_id, live.id, 1).best_column == 1
    saved = save_column_as_version(scripted.person_id, live.id)
    assert saved.version == 2
    assert (saved.config.system_prompt, saved.config.temperature) == ("Be terse.", 0.1)
    assert versions.list_versions(scripted.person_id, scripted.agent_id)[0].note == \
        f"From comparison #{live.id}"
    again = rerun_comparison(scripted.person_id, live.id)
    again.wait(20)
    view = get_comparison(scripted.person_id, again.id)
    assert again.id != live.id and [c.version for c in view.columns] == [1, 1]
    assert [c.result.status for c in view.columns] == ["complete", "complete"]


def test_multi_turn_conversation_is_sent_in_order(scripted):
    turns = [{"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Hi Ada!"},
             {"role": "user", "content": "What is my name?"}]
    result = run_variant(scripted.person_id, scripted.group_id, Variant(scripted.agent_id), turns, timeout=20)
    assert result.status == "complete" and result.run_id
    sent = scripted.server.last_request.body["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("system", "You are a test agent."), ("user", "My name is Ada."), ("assistant", "Hi Ada!"),
        ("user", "What is my name?")]


def _traced_step(scripted):
    """A chat run that called a tool: its second model call has a tool result in it."""
    scripted.server.script(tool_call("get_context", {"about": "group"}), text("The group is fine."))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="How is my group?")
    result = handle.wait(20)
    from workbench.observe.traces import get_run_trace

    trace = get_run_trace(scripted.person_id, result.run_id)
    return thread, [s for s in trace.steps if s.kind == "model_call"][-1]


def test_open_in_playground_reproduces_the_exact_request(scripted):
    thread, step = _traced_step(scripted)
    original = scripted.server.chat_requests[-1].body
    draft = open_step(scripted.person_id, step.id)
    assert draft.system_prompt == "You are a test agent." and draft.settings["model"] == "gpt-4o-mini"
    assert draft.original["content"] == "The group is fine."

    scripted.server.script(text("Same again"))
    live = rerun_step(scripted.person_id, step.id)
    live.wait(20)
    again = scripted.server.chat_requests[-1].body
    for key in ("model", "messages", "tools", "temperature", "max_tokens"):
        assert again.get(key) == original.get(key), key
    assert get_comparison(scripted.person_id, live.id).columns[0].result.reply == "Same again"

    # edit the tool result and the temperature: the request differs only there
    messages = [dict(m) for m in draft.messages]
    assert messages[-1]["role"] == "tool"
    messages[-1]["content"] = "The group is on fire."
    scripted.server.script(text("Edited"))
    rerun_step(scripted.person_id, step.id, messages, {"temperature": 0.0}).wait(20)
    edited = scripted.server.chat_requests[-1].body
    assert edited["temperature"] == 0.0 and original["temperature"] != 0.0
    assert edited["messages"][:-1] == original["messages"][:-1]
    assert edited["messages"][-1] == {**original["messages"][-1], "content": "The group is on fire."}
    assert {k: v for k, v in edited.items() if k not in ("temperature", "messages")} == \
        {k: v for k, v in original.items() if k not in ("temperature", "messages")}


def test_replay_sends_user_turns_in_order_into_a_linked_thread(scripted):
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="First question")
    handle.wait(20)
    from workbench.runs.lifecycle import continue_thread

    continue_thread(thread.id, "Second question", scripted.person_id).wait(20)
    scripted.server.script(text("New first", usage=usage(40, 4)), text("New second", usage=usage(50, 5)))
    replay_id = replay_thread(scripted.person_id, thread.id,
                              Variant(scripted.agent_id, 1, {"model": "gpt-4o"}))
    sent = scripted.server.chat_requests[-2:]
    assert [r.body["messages"][-1]["content"] for r in sent] == ["First question", "Second question"]
    assert all(r.body["model"] == "gpt-4o" for r in sent)
    view = compare_replay(scripted.person_id, replay_id)
    assert view.original_thread_id == thread.id and not view.running
    assert [t.user for t in view.turns] == ["First question", "Second question"]
    assert [t.replay.reply for t in view.turns] == ["New first", "New second"]
    assert [(t.replay.input_tokens, t.replay.output_tokens) for t in view.turns] == [(40, 4), (50, 5)]
    assert all(t.original.status == "complete" and t.replay.cost_usd > 0 for t in view.turns)
    with session_scope() as s:
        link = s.scalar(select(Connection).where(Connection.type == "replay_of"))
        assert (link.source_id, link.target_id) == (replay_id, thread.id)
        assert s.get(Thread, replay_id).title.startswith("Replay of ")
    assert "thread_replayed" in _events(scripted.group_id)
    assert replay_id in [t.id for t in threads.list_threads(scripted.person_id, scripted.group_id)]


def test_version_history_diff_and_restore(scripted):
    agents.update_agent(scripted.person_id, scripted.agent_id, note="Shorter answers",
                        system_prompt="You are a test agent.\nAnswer in one line.", temperature=0.2)
    history = versions.list_versions(scripted.person_id, scripted.agent_id)
    assert [(v.version, v.note) for v in history] == [(2, "Shorter answers"), (1, None)]
    assert history[0].author
    diff = versions.diff_versions(scripted.person_id, scripted.agent_id, 1, 2)
    assert "+Answer in one line." in diff.prompt_diff
    assert diff.changes == [{"setting": "temperature", "old": 0.7, "new": 0.2}]
    restored = versions.restore_version(scripted.person_id, scripted.agent_id, 1)
    assert restored.version == 3
    back = versions.diff_versions(scripted.person_id, scripted.agent_id, 1, 3)
    assert back.identical
    assert versions.list_versions(scripted.person_id, scripted.agent_id)[0].note == "Restored version 1"
    assert "version_restored" in _events(scripted.group_id)


def test_a_column_runs_its_tools_as_in_a_chat(scripted):
    scripted.server.script_for("tool-model", tool_call("create_task", {"title": "Follow up"}),
                               text("I made a task."))
    scripted.server.script_for("plain-model", text("No tools needed."))
    live = start_comparison(scripted.person_id, scripted.group_id,
                            [Variant(scripted.agent_id, None, {"model": "tool-model"}),
                             Variant(scripted.agent_id, None, {"model": "plain-model", "tools": []})],
                            "Please follow up")
    live.wait(20)
    view = get_comparison(scripted.person_id, live.id)
    assert [c.result.reply for c in view.columns] == ["I made a task.", "No tools needed."]
    from workbench.observe.traces import get_run_trace
    from workbench.tools import tasks

    steps = get_run_trace(scripted.person_id, view.columns[0].result.run_id).steps
    assert [s.kind for s in steps] == ["model_call", "tool_call", "model_call"]
    assert [t.name for t in tasks.list_tasks(scripted.person_id, scripted.group_id)] == ["Follow up"]
    plain = [c for c in scripted.server.chat_requests if c.body["model"] == "plain-model"][0].body
    assert "tools" not in plain or not plain["tools"]  # the edit removed the tools


def test_a_group_over_budget_gets_refused_columns_with_the_reason(scripted):
    from workbench.costs import limits

    run_variant(scripted.person_id, scripted.group_id, Variant(scripted.agent_id), "Spend a little", timeout=20)
    limits.set_limits(scripted.person_id, scripted.group_id, monthly_budget_usd=0.000001, rpm_limit=None,
                      tpm_limit=None)
    requests_before = len(scripted.server.chat_requests)
    live = start_comparison(scripted.person_id, scripted.group_id,
                            [Variant(scripted.agent_id), Variant(scripted.agent_id, None, {"temperature": 0.2})],
                            "Over budget?")
    assert live.handles == {}
    view = get_comparison(scripted.person_id, live.id)
    assert [c.result.status for c in view.columns] == ["refused", "refused"]
    assert all("budget" in c.result.error for c in view.columns)
    assert len(scripted.server.chat_requests) == requests_before
