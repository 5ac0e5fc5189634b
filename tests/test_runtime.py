"""The full flow through the real openai client and the scripted server: threads,
streaming, persistence, tools, step limit, cancel, retries, interrupted runs."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from tests.scripted_openai import call, error, text, tool_call, tool_calls, usage
from workbench import db, runs, threads
from workbench.db import session_scope
from workbench.errors import AccessDenied, AgentNotFound, RunInProgress, ThreadNotFound, ValidationError
from workbench.models import Event, Run, RunStep, Thing, UsageRecord
from workbench.system import bootstrap
from workbench.tools import tasks


def _events(group_id):
    with session_scope() as s:
        return [e.type for e in s.scalars(select(Event).where(Event.group_id == group_id).order_by(Event.id))]


def _run(run_id):
    with session_scope() as s:
        return s.get(Run, run_id)


def test_full_flow_streams_persists_and_records(scripted):
    # Chunks 20 ms apart: the reader keeps up, so it sees them one by one (text that piles
    # up while a reader is busy comes merged).
    scripted.server.script(text("Hello there, how can I help?", usage=usage(30, 9, cached=10), delay=0.02))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="Hi! What can you do?")
    deltas = list(handle.text_stream())
    result = handle.wait(10)
    assert len(deltas) > 1, "the reply must arrive in several deltas"
    assert "".join(deltas) == "Hello there, how can I help?" == result.reply
    assert result.status == "complete"

    page = threads.get_thread_messages(thread.id, limit=10, actor_id=scripted.person_id)
    assert [m.role for m in page.messages] == ["user", "assistant"]
    assert page.messages[1].content == "Hello there, how can I help?"
    assert page.messages[1].status == "complete"
    assert threads.get_thread(scripted.person_id, thread.id).title == "Hi! What can you do?"

    sent = scripted.server.last_request.body
    assert sent["messages"][0] == {"role": "system", "content": "You are a test agent."}
    assert sent["messages"][-1]["content"] == "Hi! What can you do?"
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}

    with session_scope() as s:
        rec = s.scalar(select(UsageRecord).where(UsageRecord.run_id == result.run_id))
        assert (rec.input_tokens, rec.output_tokens, rec.cached_input_tokens) == (30, 9, 10)
        assert rec.agent_id == scripted.agent_id and rec.thread_id == thread.id
        assert rec.person_id == scripted.person_id and rec.ttft_ms is not None
        assert rec.cost_usd > 0
    types = _events(scripted.group_id)
    for expected in ("thread_created", "message_sent", "run_started", "run_completed"):
        assert expected in types


def test_tool_loop_runs_tools_until_the_model_answers(scripted):
    scripted.server.script(
        tool_call("create_task", {"title": "Call the supplier", "priority": "high"}),
        tool_call("get_context", {"about": "group"}),
        text("Done: I created the task."))
    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id)
    result = runs.continue_thread(thread.id, "Make a task to call the supplier", scripted.person_id).wait(10)
    assert result.status == "complete" and result.reply == "Done: I created the task."
    page = threads.get_thread_messages(thread.id, actor_id=scripted.person_id)
    roles = [m.role for m in page.messages]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    task_result = json.loads(page.messages[2].content)
    with session_scope() as s:
        task = s.get(Thing, task_result["task_id"])
        assert task.type == "task" and task.name == "Call the supplier" and task.data["priority"] == "high"
        # the tool acted inside the run, though the run's first call left before its row existed
        assert task.data["run_id"] == result.run_id
        steps = s.scalars(select(RunStep).where(RunStep.run_id == result.run_id).order_by(RunStep.seq)).all()
        assert [st.kind for st in steps] == ["model_call", "tool_call", "model_call", "tool_call", "model_call"]
    # the second model call saw the tool result, tied to its call id
    second = scripted.server.chat_requests[1].body["messages"]
    assert second[-1]["role"] == "tool" and second[-2]["tool_calls"][0]["function"]["name"] == "create_task"
    assert "tool_called" in _events(scripted.group_id)


def test_a_repeated_identical_call_is_not_run_again(scripted):
    """The same tool with the same arguments (in another key order) a second time in one run:
    not run, its step "skipped", the first result handed back, and the next model call told
    to answer (tool_choice "none")."""
    agent = scripted.make_agent(name="Repeater", tools=["create_task"])
    scripted.server.script(
        tool_call("create_task", {"title": "Renew the lease", "priority": "low"}),
        tool_call("create_task", {"priority": "low", "title": "Renew the lease"}),
        text("The task is there."))
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id,
                                   initial_message="Make a task to renew the lease")
    result = handle.wait(10)
    assert result.status == "complete" and result.reply == "The task is there."
    assert [t.name for t in tasks.list_tasks(scripted.person_id, scripted.group_id)] == ["Renew the lease"]
    with session_scope() as s:
        steps = s.scalars(select(RunStep).where(RunStep.run_id == result.run_id).order_by(RunStep.seq)).all()
        assert [(st.kind, st.status) for st in steps] == [
            ("model_call", "ok"), ("tool_call", "ok"), ("model_call", "ok"), ("tool_call", "skipped"),
            ("model_call", "ok")]
        first_result = steps[1].response["result"]
    requests = [r.body for r in scripted.server.chat_requests]
    assert [r.get("tool_choice") for r in requests] == [None, None, "none"]
    repeated = requests[2]["messages"][-1]
    assert repeated["role"] == "tool" and repeated["content"].startswith("Not run again")
    assert first_result in repeated["content"]
    assert steps[4].request["tool_choice"] == "none"  # the trace shows it as sent


def test_step_limit_stops_a_looping_agent(scripted):
    agent = scripted.make_agent(name="Looper", tools=["get_context"], max_tool_steps=2)
    scripted.server.script(*[tool_call("get_context", {"about": "agent"}) for _ in range(5)])
    thread, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id,
                                           initial_message="loop")
    result = handle.wait(10)
    assert result.status == "failed"
    assert "limit of 2 tool steps" in result.error
    assert len(scripted.server.chat_requests) == 3  # 2 tool rounds + the call that hit the limit
    assert _run(result.run_id).error_type == "StepLimitReached"
    assert "agent_error" in _events(scripted.group_id)


def test_cancel_keeps_what_streamed(scripted):
    scripted.server.script(text("word " * 200, delay=0.02))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="Write a lot")
    got = ""
    for update in handle.updates():
        if update.kind == "text":
            got += update.text
            if len(got) > 20:
                assert runs.cancel_run(handle.run_id, scripted.person_id)
                break
    result = handle.wait(10)
    assert result.status == "cancelled"
    page = threads.get_thread_messages(thread.id, actor_id=scripted.person_id)
    reply = page.messages[-1]
    assert reply.status == "cancelled" and len(reply.content) >= 20 and len(reply.content) < 1000
    assert "run_cancelled" in _events(scripted.group_id)


@pytest.mark.parametrize("failure", [error(429), error(500), error(503)])
def test_retries_then_succeeds(scripted, failure):
    scripted.server.script(failure, text("Recovered answer"))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="hello")
    result = handle.wait(10)
    assert result.status == "complete" and result.reply == "Recovered answer"
    with session_scope() as s:
        step = s.scalar(select(RunStep).where(RunStep.run_id == result.run_id))
        assert step.retries == 1
        assert step.response["failed_attempts"][0]["status_code"] == failure.status


def test_provider_down_fails_with_a_plain_sentence_and_retry_works(scripted):
    scripted.server.script(error(500), error(500), error(500), text("Now it works"))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="hello")
    result = handle.wait(10)
    assert result.status == "failed" and "Traceback" not in result.error
    page = threads.get_thread_messages(thread.id, actor_id=scripted.person_id)
    assert page.messages[-1].status == "failed" and page.messages[-1].data["error"]
    assert _run(result.run_id).error_type == "ProviderUnavailable"
    again = runs.retry_last(thread.id, scripted.person_id).wait(10)
    assert again.status == "complete" and again.reply == "Now it works"
    page = threads.get_thread_messages(thread.id, actor_id=scripted.person_id)
    assert [m.role for m in page.messages] == ["user", "assistant", "assistant"]


def test_bad_input_gets_clear_errors_and_stores_nothing(scripted):
    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id)
    with pytest.raises(ValidationError, match="Write a message"):
        runs.continue_thread(thread.id, "   ", scripted.person_id)
    with pytest.raises(ValidationError, match="100,000 characters"):
        runs.continue_thread(thread.id, "x" * 100_000, scripted.person_id)
    with pytest.raises(ThreadNotFound):
        runs.continue_thread(999_999, "hi", scripted.person_id)
    with pytest.raises(AgentNotFound):
        runs.create_thread(scripted.group_id, 999_999, scripted.person_id)
    assert threads.get_thread_messages(thread.id, actor_id=scripted.person_id).messages == []
    with session_scope() as s:
        assert s.scalars(select(Run)).all() == []


def test_unknown_model_and_missing_key(scripted, monkeypatch):
    from tests.scripted_openai import model_not_found
    from workbench.providers import service as providers

    scripted.server.script(model_not_found("gpt-nope"))
    agent = scripted.make_agent(name="Wrong model", model="gpt-nope")
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id, initial_message="hi")
    result = handle.wait(10)
    assert result.status == "failed" and "gpt-nope" in result.error

    monkeypatch.delenv("MISSING_TEST_KEY", raising=False)
    keyed = providers.add_provider(scripted.person_id, scripted.group_id, name="Needs key",
                                   base_url=scripted.server.base_url, api_key_name="MISSING_TEST_KEY")
    agent = scripted.make_agent(name="Keyless", provider_id=keyed.id)
    _, handle = runs.create_thread(scripted.group_id, agent.id, scripted.person_id, initial_message="hi")
    result = handle.wait(10)
    assert result.status == "failed" and "MISSING_TEST_KEY" in result.error


def test_second_message_while_running_is_refused(scripted):
    scripted.server.script(text("slow " * 50, delay=0.02))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="first")
    with pytest.raises(RunInProgress):
        runs.continue_thread(thread.id, "second", scripted.person_id)
    handle.wait(10)


def test_interrupted_run_is_marked_on_start_up(scripted):
    scripted.server.script(text("never finished " * 100, delay=0.05))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="go")
    next(handle.text_stream())
    time.sleep(0.1)
    # Simulate a new process: the run is in the DB as running but no worker owns it.
    handle.cancel()
    handle.wait(10)
    with session_scope() as s:
        run = s.get(Run, handle.run_id)
        run.status = "running"
    bootstrap.forget()
    db.reset_engine()
    startup = bootstrap.init_app()
    assert startup.interrupted_runs == 1
    assert _run(handle.run_id).status == "interrupted"
    assert threads.get_thread(scripted.person_id, thread.id).status == "idle"


def test_outsider_cannot_read_or_post(scripted):
    from workbench.tenancy import people

    with session_scope() as s:
        stranger = people.get_or_create_person(s, name="Eve", email="eve@example.com").id
    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id)
    with pytest.raises(AccessDenied):
        threads.get_thread_messages(thread.id, actor_id=stranger)
    with pytest.raises(AccessDenied):
        runs.continue_thread(thread.id, "hi", stranger)


def test_long_thread_opens_on_latest_page(scripted):
    from workbench.models import Thread
    from workbench.threads.store import append_message

    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id)
    with session_scope() as s:
        t = s.get(Thread, thread.id)
        for i in range(120):
            append_message(s, t, role="user" if i % 2 == 0 else "assistant", content=f"m{i}")
    page = threads.get_thread_messages(thread.id, limit=50, actor_id=scripted.person_id)
    assert [m.content for m in page.messages][-1] == "m119" and len(page.messages) == 50 and page.has_older
    older = threads.get_thread_messages(thread.id, limit=50, before=page.oldest_seq, actor_id=scripted.person_id)
    assert older.messages[-1].seq == page.oldest_seq - 1
    last = threads.get_thread_messages(thread.id, limit=50, before=older.oldest_seq, actor_id=scripted.person_id)
    assert len(last.messages) == 20 and not last.has_older


def test_call_human_waits_and_a_person_answers(scripted):
    from workbench.tools import tasks

    scripted.server.script(tool_call("call_human", {"reason": "Refund over limit"}),
                           text("I have asked a colleague to help."))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="I want a big refund")
    assert handle.wait(10).status == "complete"
    assert threads.get_thread(scripted.person_id, thread.id).status == "waiting_human"
    assert len(tasks.open_escalations(scripted.person_id, scripted.group_id)) == 1
    tasks.answer_as_human(scripted.person_id, thread.id, "Hi, I'm Sam from support. Approved.")
    assert threads.get_thread(scripted.person_id, thread.id).status == "idle"
    assert tasks.open_escalations(scripted.person_id, scripted.group_id) == []
    page = threads.get_thread_messages(thread.id, actor_id=scripted.person_id)
    assert page.messages[-1].role == "human"


def test_two_tool_calls_in_one_response(scripted):
    scripted.server.script(tool_calls(call("get_context", {"about": "group"}),
                                      call("get_context", {"about": "person"})), text("ok"))
    _, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                      initial_message="who am I")
    result = handle.wait(10)
    assert result.status == "complete"
    with session_scope() as s:
        kinds = [st.kind for st in s.scalars(select(RunStep).where(RunStep.run_id == result.run_id)
                                             .order_by(RunStep.seq))]
    assert kinds == ["model_call", "tool_call", "tool_call", "model_call"]


def test_start_up_leaves_other_live_servers_runs_alone(scripted):
    """Several app servers may share one database: start-up interrupts only runs whose
    process is gone (a dead pid on this host, or a heartbeat silent for a minute)."""
    import socket
    import subprocess
    import sys
    from datetime import timedelta

    from workbench.models import utcnow
    from workbench.runs.lifecycle import recover_interrupted_runs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here = socket.gethostname()
    cases = {"other server, beating": ("other-host:4242:abcd1234", utcnow()),
             "other server, silent": ("other-host:4243:abcd1234", utcnow() - timedelta(minutes=5)),
             "dead process here": (f"{here}:{dead.pid}:feedbeef", utcnow())}
    ids = {}
    for name, (worker, beat) in cases.items():
        thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id, title=name)
        with session_scope() as s:
            run = Run(group_id=scripted.group_id, thread_id=thread.id, agent_id=scripted.agent_id,
                      person_id=scripted.person_id, status="running", worker=worker, heartbeat_at=beat)
            s.add(run)
            s.flush()
            ids[name] = run.id
    assert recover_interrupted_runs() == 2
    assert _run(ids["other server, beating"]).status == "running"
    assert _run(ids["other server, silent"]).status == "interrupted"
    assert _run(ids["dead process here"]).status == "interrupted"


def test_live_runs_keep_a_heartbeat(scripted, monkeypatch):
    from workbench.runs import workers

    monkeypatch.setattr(workers, "HEARTBEAT_S", 0.05)
    scripted.server.script(text("slow " * 40, delay=0.02))
    _, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                      initial_message="beat")
    first = _run(handle.run_id).heartbeat_at
    time.sleep(0.4)
    assert _run(handle.run_id).heartbeat_at > first
    assert _run(handle.run_id).worker == workers.WORKER_ID
    handle.wait(10)
