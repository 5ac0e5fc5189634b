"""Searches, traces, usage aggregations and exports return the current group's rows only,
while the other group holds the same kinds of rows (and the same words)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.scripted_openai import text, tool_call
from tests.tenancy_world import World, build_world
from workbench import runs
from workbench.db import session_scope
from workbench.models import Document, Event, Run, UsageRecord

EPOCH, FAR = datetime(2000, 1, 1), datetime.now() + timedelta(days=2)


@pytest.fixture()
def world(wb, openai_server) -> World:
    return build_world(wb, openai_server)


def _ids(model, group_id: int) -> set[int]:
    with session_scope() as s:
        return set(s.scalars(select(model.id).where(model.group_id == group_id)))


def test_knowledge_search_stays_in_the_group(world):
    from workbench import knowledge

    a, b = world.groups["A"], world.groups["B"]
    hits = knowledge.search(a.viewer, a.group, "What is the secret word of this team?", k=10)
    assert hits and {h.document_id for h in hits} <= _ids(Document, a.group)
    assert all(b.marker not in h.text and b.marker not in h.title for h in hits)
    assert any(a.marker in h.text for h in hits)
    as_agent = knowledge.search_as_agent(a.group, a.agent, a.viewer, "secret word", k=10)
    assert {h.document_id for h in as_agent} <= _ids(Document, a.group)


def test_the_search_tool_of_a_run_sees_only_its_group(world):
    a, b = world.groups["A"], world.groups["B"]
    world.server.script(tool_call("search_knowledge", {"query": "secret word of this team", "limit": 10}),
                        text("Found it."))
    result = runs.continue_thread(a.thread, "What is our secret word?", a.editor).wait(15)
    assert result.status == "complete"
    from workbench import threads

    tool_msgs = [m for m in threads.get_thread_messages(a.thread, actor_id=a.editor).messages
                 if m.role == "tool" and m.name == "search_knowledge"]
    assert tool_msgs and a.marker in tool_msgs[-1].content and b.marker not in tool_msgs[-1].content


def test_traces_list_and_export_only_the_group(world):
    from workbench.observe import trace_export, traces

    a, b = world.groups["A"], world.groups["B"]
    page = traces.list_runs(a.viewer, a.group, limit=200)
    assert {r.id for r in page.rows} == _ids(Run, a.group) and page.total == len(page.rows)
    trace = traces.get_run_trace(a.viewer, a.run)
    assert trace.run.group_id == a.group and trace.messages
    one = trace_export.export_run_json(a.viewer, a.run)
    assert a.marker in one and b.marker not in one
    for export in (trace_export.export_runs_csv(a.viewer, a.group), trace_export.export_runs_json(a.viewer, a.group)):
        assert a.marker in export and b.marker not in export
    # A filter naming B's thread or agent finds nothing, rather than B's runs.
    assert traces.list_runs(a.viewer, a.group, traces.RunFilters(thread_id=b.thread)).rows == []
    assert traces.list_runs(a.viewer, a.group, traces.RunFilters(agent_ids=(b.agent,))).rows == []


def test_usage_aggregates_count_only_the_group(world):
    from workbench.costs import reports, usage_export

    a, b = world.groups["A"], world.groups["B"]
    with session_scope() as s:
        def totals(g):
            return s.execute(select(func.count(), func.sum(UsageRecord.input_tokens),
                                    func.sum(UsageRecord.cost_usd)).where(UsageRecord.group_id == g)).one()
        mine, theirs = totals(a.group), totals(b.group)
    assert mine[0] > 0 and theirs[0] > 0  # both groups have usage: the test can tell them apart
    board = reports.dashboard(a.viewer, a.group, reports.period("30d"))
    assert (board.totals.calls, board.totals.input_tokens) == (mine[0], mine[1])
    assert board.totals.cost_usd == pytest.approx(mine[2])
    assert {name for name, *_ in board.by_agent} == {f"Agent {a.marker}"}
    csv_text = "".join(usage_export.usage_csv_chunks(a.viewer, a.group, EPOCH, FAR))
    assert len(csv_text.strip().splitlines()) == 1 + mine[0] and b.marker not in csv_text
    buf = io.BytesIO()
    usage_export.write_usage_csv(a.viewer, a.group, EPOCH, FAR, buf)
    assert buf.getvalue().decode() == csv_text
    rows = reports.compare_groups(a.viewer, EPOCH, FAR)
    assert [r.group_id for r in rows] == [a.group]


def test_event_log_and_its_exports_only_the_group(world):
    from workbench.observe import event_log

    a, b = world.groups["A"], world.groups["B"]
    events = list(event_log.iter_events(a.viewer, a.group))
    assert {e.id for e in events} == _ids(Event, a.group)
    assert event_log.count_events(a.viewer, a.group) == len(events)
    for export in (event_log.export_events_csv(a.viewer, a.group),
                   event_log.export_events_json(a.viewer, a.group)):
        assert a.marker in export and b.marker not in export
    assert json.loads(event_log.export_events_json(a.viewer, a.group))["count"] == len(events)
    # Filtering by B's agent as the actor returns nothing from B.
    assert event_log.list_events(a.viewer, a.group, actor=f"agent:{b.agent}").events == []
    labels = [label for _, label in event_log.event_actors(a.viewer, a.group)]
    assert all(b.marker not in label for label in labels)


def test_the_cli_goes_through_the_same_check(world, capsys):
    from workbench.cli.commands import main
    from workbench.tenancy import people

    a, b = world.groups["A"], world.groups["B"]
    as_b = ["--email", people.get_person(b.owner).email.upper()]
    for argv in (["--group", str(a.group), "agents"], ["--group", str(a.group), "threads"],
                 ["show", str(a.thread)], ["chat", "--thread", str(a.thread), "hi"],
                 ["--group", str(b.group), "chat", "--agent", str(a.agent), "hi"]):
        assert main(as_b + argv) == 2, argv
        out, err = capsys.readouterr()
        assert a.marker not in out + err and err.startswith("error: "), argv
    assert main(as_b + ["groups"]) == 0
    out = capsys.readouterr().out
    assert out.split("\t")[0] == str(b.group) and len(out.strip().splitlines()) == 1
    assert main(as_b + ["agents"]) == 0 and b.marker in capsys.readouterr().out
