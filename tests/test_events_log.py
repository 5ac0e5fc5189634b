"""The event log: keyset pages both ways (ties on time included), filters, text search and
its bounded window, distinct types, exports, isolation between groups, and the Events page."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from workbench import events
from workbench.db import session_scope
from workbench.errors import AccessDenied, ValidationError
from workbench.models import Event
from workbench.observe import event_log
from workbench.observe.event_log import EventFilters
from workbench.system import workspace
from workbench.tenancy import people

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 3, 1, 12, 0, 0)


@pytest.fixture()
def log(wb):
    """150 events in the workbench's group (every third pair shares a timestamp, to test
    ties), 20 in another person's group, and one with no group."""
    with session_scope() as s:
        other = people.get_or_create_person(s, name="Olga", email="olga@example.com").id
    other_gid = workspace.create_group(other, "Olga's team").id
    with session_scope() as s:
        s.query(Event).delete()  # start from a known log
        for n in range(150):
            kind = ["tool_called", "run_started", "message_sent"][n % 3]
            data = {"n": n, "tool": "create_task" if n % 10 == 0 else "get_context"}
            if n == 77:
                data["note"] = 'Refund for "Müller" at 100%_off'
            actor_type, actor = ("agent", wb.agent_id) if kind == "tool_called" else ("person", wb.person_id)
            events.record(s, kind, group_id=wb.group_id, actor_id=actor, actor_type=actor_type,
                          target_type="run", target_id=n, data=data,
                          created_at=T0 + timedelta(seconds=(n // 2) * 2 if n % 3 == 0 else n))
        for n in range(20):
            events.record(s, "other_group_event", group_id=other_gid, actor_id=other,
                          data={"n": n, "tool": "create_task"}, created_at=T0 + timedelta(seconds=n))
        events.record(s, "access_denied", group_id=None, actor_id=other, data={"tool": "x"})
    return wb.person_id, wb.group_id, other, other_gid, wb.agent_id


def _expected(gid, where=lambda e: True):
    with session_scope() as s:
        rows = s.scalars(select(Event).where(Event.group_id == gid)).all()
        return [e.id for e in sorted(rows, key=lambda e: (e.created_at, e.id), reverse=True) if where(e)]


def _walk_older(pid, gid, limit, **kw):
    pages, page = [], event_log.list_events(pid, gid, limit=limit, **kw)
    while True:
        pages.append(page)
        if not page.older_cursor:
            return pages
        page = event_log.list_events(pid, gid, limit=limit, before=page.older_cursor, **kw)


def test_keyset_pages_cover_every_event_once_in_order_both_ways(log):
    pid, gid, *_ = log
    pages = _walk_older(pid, gid, 20)
    ids = [e.id for p in pages for e in p.events]
    assert ids == _expected(gid) and len(ids) == 150
    assert [len(p.events) for p in pages] == [20] * 7 + [10]
    assert not pages[0].has_newer and pages[0].newer_cursor is None
    assert all(p.has_newer for p in pages[1:]) and not pages[-1].has_older

    # walking back with `after` gives the same pages, newest first within each
    back, page = [pages[-1]], pages[-1]
    while page.newer_cursor:
        page = event_log.list_events(pid, gid, limit=20, after=page.newer_cursor)
        back.append(page)
    assert [[e.id for e in p.events] for p in reversed(back)][1:] == [[e.id for e in p.events]
                                                                       for p in pages][1:]
    assert [e.id for e in back[-1].events] == [e.id for e in pages[0].events]
    assert not back[-1].has_newer
    with pytest.raises(ValidationError):
        event_log.list_events(pid, gid, before="garbage!")


def test_filters_by_type_actor_and_time(log):
    pid, gid, *_ = log
    by_type = _walk_older(pid, gid, 7, type="tool_called")
    assert [e.id for p in by_type for e in p.events] == _expected(gid, lambda e: e.type == "tool_called")
    two = event_log.list_events(pid, gid, type=["run_started", "message_sent"], limit=500).events
    assert [e.id for e in two] == _expected(gid, lambda e: e.type in ("run_started", "message_sent"))
    agent = event_log.list_events(pid, gid, actor=f"agent:{log[4]}", limit=500).events
    assert {e.type for e in agent} == {"tool_called"} and len(agent) == 50
    assert agent[0].actor_name == "Demo assistant"
    person = event_log.list_events(pid, gid, actor=f"person:{pid}", limit=500).events
    assert len(person) == 100 and person[0].actor_name == "Local user"
    assert event_log.list_events(pid, gid, actor="system", limit=500).events == []
    since, until = T0 + timedelta(seconds=100), T0 + timedelta(seconds=120)
    window = event_log.list_events(pid, gid, since=since, until=until, limit=500).events
    assert [e.id for e in window] == _expected(gid, lambda e: since <= e.created_at < until)
    with pytest.raises(ValidationError):
        event_log.list_events(pid, gid, actor="robot:1")


def test_text_search_in_metadata(log):
    pid, gid, *_ = log
    hits = event_log.list_events(pid, gid, text="CREATE_TASK", limit=500).events
    assert [e.id for e in hits] == _expected(gid, lambda e: e.data.get("tool") == "create_task")
    for needle in ('"Müller"', "100%_off", "Refund"):
        (hit,) = event_log.list_events(pid, gid, text=needle, limit=500).events
        assert hit.data["n"] == 77
    assert event_log.list_events(pid, gid, text="100%x", limit=500).events == []  # % is literal
    both = event_log.list_events(pid, gid, type="tool_called", text="create_task", limit=500).events
    assert {e.type for e in both} == {"tool_called"}
    assert [e.id for e in both] == _expected(
        gid, lambda e: e.type == "tool_called" and e.data.get("tool") == "create_task")


def test_text_search_scans_a_bounded_window_and_continues_older(log, monkeypatch):
    pid, gid, *_ = log
    monkeypatch.setattr(event_log, "SEARCH_WINDOW", 25)
    expected = _expected(gid, lambda e: e.data.get("tool") == "create_task")
    pages = _walk_older(pid, gid, 4, text="create_task")
    assert [e.id for p in pages for e in p.events] == expected
    assert any(p.window_exhausted for p in pages)  # some pages stopped at the window
    assert all(len(p.events) <= 4 for p in pages) and len(pages) > len(expected) // 4
    # and back again towards the newest
    page, seen = pages[-1], [e.id for e in pages[-1].events]
    while page.newer_cursor:
        page = event_log.list_events(pid, gid, limit=4, text="create_task", after=page.newer_cursor)
        seen = [e.id for e in page.events] + seen
    assert seen == expected


def test_distinct_types_and_actors(log):
    pid, gid, other, other_gid, _agent = log
    assert event_log.event_types(pid, gid) == ["message_sent", "run_started", "tool_called"]
    assert event_log.event_types(other, other_gid) == ["other_group_event"]
    assert f"person:{pid}" in dict(event_log.event_actors(pid, gid))


def test_exports_hold_the_filtered_events(log):
    pid, gid, *_ = log
    rows = list(csv.DictReader(io.StringIO(event_log.export_events_csv(pid, gid, type="run_started"))))
    assert [int(r["id"]) for r in rows] == _expected(gid, lambda e: e.type == "run_started")
    assert json.loads(rows[0]["data"])["n"] == int(rows[0]["target_id"])
    data = json.loads(event_log.export_events_json(pid, gid, EventFilters(text="create_task")))
    assert data["count"] == 15 and all(e["data"]["tool"] == "create_task" for e in data["events"])
    capped = json.loads(event_log.export_events_json(pid, gid, max_rows=30))
    assert capped["count"] == 30


def test_other_groups_never_appear_and_outsiders_are_refused(log):
    pid, gid, other, other_gid, _agent = log
    everything = event_log.export_events_json(pid, gid)
    assert "other_group_event" not in everything and "access_denied" not in everything
    assert all(e.type != "other_group_event" for e in event_log.list_events(pid, gid, limit=500).events)
    for call in (lambda: event_log.list_events(pid, other_gid),
                 lambda: event_log.event_types(pid, other_gid),
                 lambda: event_log.export_events_csv(pid, other_gid),
                 lambda: event_log.list_events(other, gid)):
        with pytest.raises(AccessDenied):
            call()


def test_events_are_stored_without_secrets(wb):
    with session_scope() as s:
        events.record(s, "provider_added", group_id=wb.group_id, actor_id=wb.person_id,
                      data={"api_key": "sk-abcdefghijklmnop", "headers": {"Authorization": "Bearer abcdefghijk"},
                            "note": "key sk-abcdefghijklmnop leaked", "api_key_name": "OPENAI_API_KEY"})
    text = event_log.export_events_json(wb.person_id, wb.group_id, type="provider_added")
    assert "sk-abcdefghijklmnop" not in text and "Bearer abcdefghijk" not in text
    assert "OPENAI_API_KEY" in text


# --- the page -------------------------------------------------------------------------------

def _page(pid, gid) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / "events.py"), default_timeout=30)
    at.session_state["person_id"] = pid
    at.session_state["group_id"] = gid
    return at


def _ids(at):
    return list(at.dataframe(key="ev_table").value["id"])


def test_events_page_pages_filters_and_searches(log):
    pid, gid, *_ = log
    expected = _expected(gid)
    at = _page(pid, gid).run()
    assert not at.exception
    assert _ids(at) == expected[:50]
    assert at.button(key="ev_newer").disabled
    at.button(key="ev_older").click().run()
    assert _ids(at) == expected[50:100]
    at.button(key="ev_older").click().run()
    assert _ids(at) == expected[100:150] and at.button(key="ev_older").disabled
    at.button(key="ev_newer").click().run()
    assert _ids(at) == expected[50:100]
    assert "Page 2" in " ".join(c.value for c in at.caption)

    at.multiselect(key="ev_types").set_value(["tool_called"]).run()  # back to page 1
    assert _ids(at) == _expected(gid, lambda e: e.type == "tool_called")
    at.text_input(key="ev_text").set_value("create_task").run()
    assert _ids(at) == _expected(gid, lambda e: e.type == "tool_called" and e.data["tool"] == "create_task")
    at.text_input(key="ev_text").set_value("nothing-like-this").run()
    assert "No events match" in " ".join(i.value for i in at.info)
    at.text_input(key="ev_text").set_value("").run()
    at.multiselect(key="ev_types").set_value([]).run()
    at.selectbox(key="ev_actor").set_value(f"agent:{log[4]}").run()
    assert len(_ids(at)) == 50 and at.button(key="ev_older").disabled


def test_events_page_shows_an_outsider_only_their_own_group(log):
    pid, gid, other, other_gid, _agent = log
    at = _page(other, gid).run()  # a remembered group the person is not in falls back to theirs
    assert not at.exception
    assert "other_group_event" in set(at.dataframe(key="ev_table").value["type"])
    assert not (set(_ids(at)) & set(_expected(gid)))
