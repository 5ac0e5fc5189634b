"""Traces: the steps a run records (through the real client and the scripted server), the
run list with its filters, sorting and paging, exports that round-trip, isolation between
groups, no secrets in a trace, and the Traces page."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.scripted_openai import call, error, text, tool_call, tool_calls, usage
from workbench import agents, runs
from workbench.db import session_scope
from workbench.errors import AccessDenied, RunNotFound, ValidationError
from workbench.models import Run
from workbench.observe import event_log, trace_export, traces
from workbench.observe.traces import RunFilters
from workbench.providers import service as providers
from workbench.system import workspace
from workbench.tenancy import people

ROOT = Path(__file__).resolve().parent.parent


def _run(sc, message="Hello", thread_id=None, agent_id=None):
    if thread_id is None:
        thread, _ = runs.create_thread(sc.group_id, agent_id or sc.agent_id, sc.person_id)
        thread_id = thread.id
    result = runs.continue_thread(thread_id, message, sc.person_id).wait(15)
    assert result.status in runs.TERMINAL, result
    return result


def _retried_tool_run(sc):
    sc.server.script(
        error(500),
        tool_calls(call("get_context", {"about": "group"}),
                   call("create_task", {"title": "Call the supplier", "priority": "high"}),
                   usage=usage(40, 12)),
        text("I created the task.", usage=usage(80, 7)))
    return _run(sc, "Make a task to call the supplier")


def test_retried_model_call_and_two_tools_give_ordered_steps(scripted):
    result = _retried_tool_run(scripted)
    assert result.status == "complete"
    trace = traces.get_run_trace(scripted.person_id, result.run_id)

    assert [s.kind for s in trace.steps] == ["model_call", "tool_call", "tool_call", "model_call"]
    assert [s.name for s in trace.steps] == ["gpt-4o-mini", "get_context", "create_task", "gpt-4o-mini"]
    assert all(s.status == "ok" for s in trace.steps)
    first, last = trace.steps[0], trace.steps[-1]
    assert first.retries == 1 and last.retries == 0
    assert first.failed_attempts[0]["status_code"] == 500
    assert first.failed_attempts[0]["error_type"] == "ProviderUnavailable"
    assert (first.input_tokens, first.output_tokens) == (40, 12)
    assert first.cost_usd is not None and first.cost_usd > 0
    assert [c["name"] for c in first.response["tool_calls"]] == ["get_context", "create_task"]
    assert trace.steps[2].request["arguments"] == {"title": "Call the supplier", "priority": "high"}
    assert json.loads(trace.steps[2].response["result"])["status"] == "open"

    # timing adds up: ordered by start, inside the run, steps never longer than the run
    starts = [s.started_at for s in trace.steps]
    assert starts == sorted(starts)
    assert all(s.duration_ms is not None and s.duration_ms >= 0 for s in trace.steps)
    assert trace.steps_duration_ms <= trace.run.duration_ms
    assert all(s.started_at >= trace.run.started_at for s in trace.steps)
    assert all(s.started_at <= trace.run.ended_at for s in trace.steps)

    run = trace.run
    assert (run.step_count, run.input_tokens, run.output_tokens) == (4, 120, 19)
    assert run.tools == ["create_task", "get_context"]
    assert run.cost_usd == pytest.approx(sum(s.cost_usd for s in trace.steps if s.kind == "model_call"))
    assert [m.role for m in trace.messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert trace.messages[0].content == "Make a task to call the supplier"
    assert trace.messages[-1].content == "I created the task."

    # the exact context sent: what the server received, tool results included the 2nd time
    assert len(trace.contexts) == 2
    sent = [r.body for r in scripted.server.chat_requests]
    assert trace.contexts[0][1]["messages"] == sent[1]["messages"]  # sent[0] got the 500
    assert trace.contexts[1][1]["messages"] == sent[2]["messages"]
    assert [t["function"]["name"] for t in trace.contexts[0][1]["tools"]] == \
        [t["function"]["name"] for t in sent[1]["tools"]]
    assert trace.agent_config["system_prompt"] == "You are a test agent."
    assert {"run_started", "tool_called", "run_completed"} <= {e.type for e in trace.events}


def test_a_model_call_that_fails_every_try_closes_its_step_with_the_error(scripted):
    scripted.server.script(error(500), error(502), error(503))
    result = _run(scripted)
    assert result.status == "failed"
    trace = traces.get_run_trace(scripted.person_id, result.run_id)
    (step,) = trace.steps
    assert step.status == "error" and step.duration_ms is not None
    assert step.error["type"] == "ProviderUnavailable"
    assert step.retries == 2 and [a["status_code"] for a in step.failed_attempts] == [500, 502]
    assert trace.run.error_type == "ProviderUnavailable"
    assert trace.run.error_chain[0]["type"] == "ProviderUnavailable"
    assert "server error" in trace.run.error_message


def test_a_running_run_shows_its_steps_as_they_happen(scripted):
    scripted.server.script(text("word " * 30, chunk_size=5, delay=0.04))
    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id)
    handle = runs.continue_thread(thread.id, "Talk slowly", scripted.person_id)
    seen = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not handle.done.is_set():
        trace = traces.get_run_trace(scripted.person_id, handle.run_id)
        if trace.messages[-1].role == "assistant" and trace.messages[-1].content:
            seen = trace
            break
        time.sleep(0.02)
    handle.wait(15)
    assert seen is not None, "the streamed reply never showed up while running"
    assert seen.is_live and seen.steps[0].status == "running" and seen.steps[0].duration_ms is None
    assert seen.messages[-1].status == "streaming"
    assert seen.run.step_count == 1  # counted from the steps while the run has no totals
    done = traces.get_run_trace(scripted.person_id, handle.run_id)
    assert not done.is_live and done.messages[-1].content == ("word " * 30)


def _seed_runs(sc):
    """Four runs: two by the test agent (one with tools, one failed), one by another agent
    in another thread, one more in the first thread."""
    sc.server.script(tool_call("get_context", {"about": "agent"}), text("ok"))
    a = _run(sc, "first")
    sc.server.script(error(401))
    b = _run(sc, "second")
    other = sc.make_agent(name="Other", tools=[])
    sc.server.script(text("another reply"))
    c = _run(sc, "third", agent_id=other.id)
    sc.server.script(text("more"))
    d = _run(sc, "fourth", thread_id=a.thread_id)
    return a, b, c, d, other


def test_list_runs_filters_sorts_and_pages(scripted):
    a, b, c, d, other = _seed_runs(scripted)
    pid, gid = scripted.person_id, scripted.group_id

    def ids(f=None, **kw):
        return [r.id for r in traces.list_runs(pid, gid, f, **kw).rows]

    assert ids() == [d.run_id, c.run_id, b.run_id, a.run_id]  # newest first
    assert ids(RunFilters(agent_ids=(other.id,))) == [c.run_id]
    assert set(ids(RunFilters(thread_id=a.thread_id))) == {a.run_id, d.run_id}
    assert ids(RunFilters(statuses=("failed",))) == [b.run_id]
    assert ids(RunFilters(has_error=True)) == [b.run_id]
    assert b.run_id not in ids(RunFilters(has_error=False))
    assert ids(RunFilters(tool="get_context")) == [a.run_id]
    assert ids(RunFilters(tool="get%context")) == []  # LIKE wildcards are escaped
    assert ids(RunFilters(person_id=pid)) == ids()
    assert ids(RunFilters(person_id=pid + 999)) == []
    with session_scope() as s:
        started = s.get(Run, c.run_id).started_at
        durations = {r.id: r.duration_ms for r in s.query(Run).filter(Run.group_id == gid)}
    assert ids(RunFilters(since=started)) == [d.run_id, c.run_id]
    assert ids(RunFilters(until=started)) == [b.run_id, a.run_id]
    slowest = max(durations, key=durations.get)
    assert ids(RunFilters(min_duration_ms=durations[slowest])) == [slowest]
    assert ids(sort="duration_ms") == sorted(durations, key=lambda i: (-durations[i], -i))
    assert ids(sort="step_count")[0] == a.run_id  # 3 steps
    assert ids(sort="cost_usd", descending=False)[0] == b.run_id  # failed: no cost

    page1 = traces.list_runs(pid, gid, limit=3)
    page2 = traces.list_runs(pid, gid, limit=3, offset=3)
    assert page1.total == 4 and page1.has_next and not page2.has_next
    assert [r.id for r in page1.rows + page2.rows] == ids()
    row = page1.rows[1]
    assert (row.agent_name, row.thread_title, row.agent_version) == ("Other", "third", 1)
    with pytest.raises(ValidationError):
        traces.list_runs(pid, gid, sort="nonsense")
    with pytest.raises(ValidationError):
        traces.list_runs(pid, gid, RunFilters(statuses=("bogus",)))
    with pytest.raises(ValidationError):
        traces.list_runs(pid, gid, RunFilters(since=started, until=started - timedelta(seconds=1)))


def test_run_export_round_trips_and_lists_export(scripted):
    result = _retried_tool_run(scripted)
    pid, gid = scripted.person_id, scripted.group_id
    trace = traces.get_run_trace(pid, result.run_id)
    exported = trace_export.export_run_json(pid, result.run_id)
    assert trace_export.load_run_export(exported) == trace
    assert trace_export.load_run_export(json.loads(exported)) == trace
    for bad in ("not json", "{}", json.dumps({**json.loads(exported), "version": 99}),
                json.dumps({k: v for k, v in json.loads(exported).items() if k != "steps"})):
        with pytest.raises(ValidationError):
            trace_export.load_run_export(bad)

    scripted.server.script(error(401))
    failed = _run(scripted, "again")
    rows = list(csv.DictReader(io.StringIO(trace_export.export_runs_csv(pid, gid))))
    assert [int(r["id"]) for r in rows] == [failed.run_id, result.run_id]
    assert rows[1]["tools"] == "create_task,get_context" and rows[0]["error_type"] == "ProviderAuthError"
    only_failed = json.loads(trace_export.export_runs_json(pid, gid, RunFilters(has_error=True)))
    assert only_failed["count"] == 1 and only_failed["runs"][0]["id"] == failed.run_id
    assert only_failed["runs"][0]["error_chain"][0]["type"] == "ProviderAuthError"


def _other_group_with_a_run(sc):
    """A second person with their own group, provider, agent and one run."""
    with session_scope() as s:
        other = people.get_or_create_person(s, name="Olga", email="olga@example.com").id
    gid = workspace.create_group(other, "Olga's team").id
    prov = providers.add_provider(other, gid, name="Scripted", base_url=sc.server.base_url,
                                  kind="openai_compatible")
    agent = agents.create_agent(other, gid, name="Hers", provider_id=prov.id, model="gpt-4o-mini")
    thread, _ = runs.create_thread(gid, agent.id, other)
    sc.server.script(text("secret plans of another group"))
    run = runs.continue_thread(thread.id, "hello", other).wait(15)
    return other, gid, run


def test_other_groups_runs_never_appear_and_outsiders_are_refused(scripted):
    mine = _run(scripted)
    other, other_gid, theirs = _other_group_with_a_run(scripted)
    pid, gid = scripted.person_id, scripted.group_id
    assert [r.id for r in traces.list_runs(pid, gid).rows] == [mine.run_id]
    assert [r.id for r in traces.list_runs(other, other_gid).rows] == [theirs.run_id]
    assert "secret plans" not in trace_export.export_runs_json(pid, gid)
    for call_ in (lambda: traces.get_run_trace(pid, theirs.run_id),
                  lambda: trace_export.export_run_json(pid, theirs.run_id),
                  lambda: traces.list_runs(pid, other_gid),
                  lambda: trace_export.export_runs_csv(pid, other_gid),
                  lambda: traces.run_filter_options(pid, other_gid),
                  lambda: traces.get_run_trace(other, mine.run_id)):
        with pytest.raises(AccessDenied):
            call_()
    with pytest.raises(RunNotFound):
        traces.get_run_trace(pid, 999_999)


def test_no_api_key_in_a_trace_or_the_events(scripted, monkeypatch):
    key = "sk-scripted-" + "S3cr3tKeyValue" * 2
    monkeypatch.setenv("SCRIPTED_TEST_KEY", key)
    scripted.server.api_key = key
    prov = providers.add_provider(scripted.person_id, scripted.group_id, name="Keyed",
                                  base_url=scripted.server.base_url, kind="openai_compatible",
                                  api_key_name="SCRIPTED_TEST_KEY")
    agent = scripted.make_agent(name="Keyed agent", provider_id=prov.id, tools=["get_context"])
    scripted.server.script(error(500), tool_call("get_context", {"about": "group"}), text("done"))
    result = _run(scripted, "use the key", agent_id=agent.id)
    assert result.status == "complete"
    assert scripted.server.chat_requests[-1].authorization == f"Bearer {key}"  # it was really used

    trace_text = trace_export.export_run_json(scripted.person_id, result.run_id)
    events_text = (event_log.export_events_json(scripted.person_id, scripted.group_id)
                   + event_log.export_events_csv(scripted.person_id, scripted.group_id))
    runs_text = trace_export.export_runs_json(scripted.person_id, scripted.group_id)
    for blob in (trace_text, events_text, runs_text):
        assert key not in blob and "S3cr3tKeyValue" not in blob and "Bearer" not in blob
    assert "SCRIPTED_TEST_KEY" in events_text  # the key's name is fine to show


def test_runs_of_an_api_key_are_named_and_filtered_by_caller(scripted):
    """A key acts through a person of its own: its runs carry the key's name, the filter
    options list keys apart from people, and `caller` picks the app's runs or one key's,
    on the service, in the exports and on the page."""
    from workbench.serve import keys
    from workbench.tenancy.people import APP

    pid, gid = scripted.person_id, scripted.group_id
    site = keys.create_key(pid, gid, "website").info
    scripted.server.script(text("from the app"), text("from the website"))
    mine = _run(scripted, "in the app")
    _, handle = runs.create_thread(gid, scripted.agent_id, site.person_id, initial_message="via the API")
    theirs = handle.wait(15)

    def rows(caller):
        return traces.list_runs(pid, gid, RunFilters(caller=caller)).rows

    assert [r.id for r in rows(None)] == [theirs.run_id, mine.run_id]
    assert [r.id for r in rows(APP)] == [mine.run_id]
    [by_key] = rows(site.id)
    assert (by_key.id, by_key.api_key_name, by_key.caller_name) == (theirs.run_id, "website", "🔑 website")
    assert rows(APP)[0].api_key_name is None and rows(APP)[0].caller_name == "Local user"
    assert traces.get_run_trace(pid, theirs.run_id).run.api_key_name == "website"
    opts = traces.run_filter_options(pid, gid)
    assert opts.api_keys == [(site.id, "website")] and site.person_id not in dict(opts.people)
    listed = list(csv.DictReader(io.StringIO(trace_export.export_runs_csv(pid, gid, RunFilters(caller=site.id)))))
    assert [(int(r["id"]), r["api_key_name"]) for r in listed] == [(theirs.run_id, "website")]
    # an export written before runs carried the key's name still reads back
    old = json.loads(trace_export.export_run_json(pid, mine.run_id))
    del old["run"]["api_key_name"]
    assert trace_export.load_run_export(old).run.api_key_name is None
    keys.revoke_key(pid, site.id)
    assert traces.run_filter_options(pid, gid).api_keys == [(site.id, "website (revoked)")]

    at = _page(scripted).run()
    assert not at.exception
    assert list(at.dataframe(key="tr_table").value["person"]) == ["🔑 website", "Local user"]
    at.selectbox(key="tr_caller").set_value(APP).run()
    assert list(at.dataframe(key="tr_table").value["run"]) == [mine.run_id]
    at.selectbox(key="tr_caller").set_value(site.id).run()
    assert list(at.dataframe(key="tr_table").value["run"]) == [theirs.run_id]
    at.selectbox(key="tr_picker").set_value(theirs.run_id).run()
    assert not at.exception and any("by 🔑 website" in c.value for c in at.caption)


# --- the page -------------------------------------------------------------------------------

def _page(sc) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / "traces.py"), default_timeout=30)
    at.session_state["person_id"] = sc.person_id
    at.session_state["group_id"] = sc.group_id
    return at


def test_traces_page_lists_filters_and_opens_a_run(scripted):
    a, b, c, d, other = _seed_runs(scripted)
    at = _page(scripted).run()
    assert not at.exception
    table = at.dataframe(key="tr_table").value
    assert list(table["run"]) == [d.run_id, c.run_id, b.run_id, a.run_id]
    assert {"duration_s", "steps", "tokens", "cost_usd"} <= set(table.columns)

    at.multiselect(key="tr_status").set_value(["failed"]).run()
    assert list(at.dataframe(key="tr_table").value["run"]) == [b.run_id]
    at.multiselect(key="tr_status").set_value([]).run()
    at.selectbox(key="tr_tool").set_value("get_context").run()
    assert list(at.dataframe(key="tr_table").value["run"]) == [a.run_id]
    at.selectbox(key="tr_tool").set_value(None).run()
    at.multiselect(key="tr_agent").set_value([other.id]).run()
    assert list(at.dataframe(key="tr_table").value["run"]) == [c.run_id]
    at.multiselect(key="tr_agent").set_value([]).run()
    at.selectbox(key="tr_errors").set_value("with errors").run()
    assert list(at.dataframe(key="tr_table").value["run"]) == [b.run_id]
    at.selectbox(key="tr_errors").set_value("any").run()

    at.selectbox(key="tr_picker").set_value(a.run_id).run()
    assert not at.exception
    assert at.session_state["sel_run_id"] == a.run_id
    assert any(f"Run #{a.run_id}" in h.value for h in at.subheader)
    step_titles = [e.label for e in at.expander]
    assert any("get_context" in t for t in step_titles) and len(step_titles) == 3
    assert len(at.get("plotly_chart")) == 1


def test_traces_page_opens_the_run_the_chat_asked_for_and_shows_errors(scripted):
    a, b, *_ = _seed_runs(scripted)
    at = _page(scripted)
    at.session_state["sel_run_id"] = b.run_id
    at.run()
    assert not at.exception
    assert any(f"Run #{b.run_id}" in h.value for h in at.subheader)
    errors = " ".join(e.value for e in at.error)
    assert "ProviderAuthError" in errors and "rejected the API key" in errors
    at.button(key=f"tr_chat_{b.run_id}").click().run()
    assert at.session_state["sel_thread_id"] == b.thread_id


def test_traces_page_refuses_a_run_of_another_group(scripted):
    _other, _gid, theirs = _other_group_with_a_run(scripted)
    at = _page(scripted)
    at.session_state["sel_run_id"] = theirs.run_id
    at.run()
    assert not at.exception
    assert "not a member" in " ".join(e.value for e in at.error)
    assert "sel_run_id" not in at.session_state


def _replaced_step_view():
    from datetime import datetime

    import streamlit as st

    from ui.trace_view import _model_step
    from workbench.observe.traces import StepView

    _model_step(StepView(id=1, seq=3, kind="model_call", name="m", status="ok", started_at=datetime(2026, 1, 1),
                         duration_ms=10.0, ttft_ms=10.0, input_tokens=1, output_tokens=1, retries=0,
                         request={}, response=st.session_state["response"], error=None, message_id=None))


@pytest.mark.parametrize("replaced, why", [
    ({"answer": "The garage has 40 spaces.", "unsupported": ["40"]}, "the model's answer named `40`"),
    ({"answer": "Yes, there is a garage for staff.", "unsupported": [], "repeats_question": True},
     "the model's answer only repeated the question"),
])
def test_a_replaced_answer_shows_why_and_what_the_model_said(replaced, why):
    at = AppTest.from_function(_replaced_step_view, default_timeout=30)
    at.session_state["response"] = {"content": "I do not know; the knowledge base does not say.",
                                    "passage_check": "yes", "replaced": replaced}
    at.run()
    assert not at.exception
    [warning] = at.warning
    assert why in warning.value
    assert replaced["answer"] in [t.value for t in at.text]
