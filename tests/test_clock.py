"""Calendar periods at their edges: the last second of a month and the first, in UTC and in
a group's own time zone (with DST), for budgets and the Usage periods; the --now option;
the time-zone setting; the migration that added it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from workbench import clock
from workbench.costs import budget, reports
from workbench.db import session_scope
from workbench.errors import AccessDenied, ValidationError
from workbench.models import Event, Group, UsageRecord
from workbench.tenancy import groups

LAST_SECOND = datetime(2027, 1, 31, 23, 59, 59)  # naive UTC, like every stored time
FIRST_SECOND = datetime(2027, 2, 1, 0, 0, 0)


def _record(group_id: int, when: datetime, cost: float) -> None:
    with session_scope() as s:
        s.add(UsageRecord(group_id=group_id, provider="openai", model="gpt-4o-mini", input_tokens=10,
                          output_tokens=5, cost_usd=cost, duration_ms=100.0, created_at=when))


def _spend(group_id: int, now: datetime) -> float:
    with session_scope() as s:
        return budget.group_budget(s, s.get(Group, group_id), now).spent_usd


# --- the clock's calendar ---------------------------------------------------------------

def test_month_edges_in_utc():
    assert clock.month_start(LAST_SECOND, None) == datetime(2027, 1, 1)
    assert clock.month_start(FIRST_SECOND, None) == FIRST_SECOND
    assert clock.next_month_start(LAST_SECOND, None) == FIRST_SECOND
    assert clock.month_start(datetime(2028, 2, 29, 12), "UTC") == datetime(2028, 2, 1)
    assert clock.next_month_start(datetime(2028, 2, 29, 23, 59, 59), None) == datetime(2028, 3, 1)
    assert clock.next_month_start(datetime(2026, 12, 31, 23, 59, 59), None) == datetime(2027, 1, 1)
    assert clock.month_label(LAST_SECOND, None) == "2027-01" and clock.month_label(FIRST_SECOND, None) == "2027-02"


def test_month_edges_in_a_zone_west_and_east_of_utc():
    # 00:00 on 1 Feb in New York (UTC-5 in winter) is 05:00 UTC.
    assert clock.month_start(datetime(2027, 2, 1, 4, 59, 59), "America/New_York") == datetime(2027, 1, 1, 5)
    assert clock.month_start(datetime(2027, 2, 1, 5, 0, 0), "America/New_York") == datetime(2027, 2, 1, 5)
    # 00:00 on 1 Feb in Kolkata (UTC+5:30) is 18:30 UTC on 31 Jan.
    assert clock.month_start(datetime(2027, 1, 31, 18, 30), "Asia/Kolkata") == datetime(2027, 1, 31, 18, 30)
    assert clock.month_label(datetime(2027, 1, 31, 18, 29, 59), "Asia/Kolkata") == "2027-01"
    assert clock.month_label(datetime(2027, 1, 31, 18, 30), "Asia/Kolkata") == "2027-02"


def test_days_across_daylight_saving_changes():
    berlin = "Europe/Berlin"
    # Spring forward (29 Mar 2026): the local day has 23 hours; autumn (25 Oct 2026): 25.
    assert clock.day_start(date(2026, 3, 30), berlin) - clock.day_start(date(2026, 3, 29), berlin) == timedelta(hours=23)
    assert clock.day_start(date(2026, 10, 26), berlin) - clock.day_start(date(2026, 10, 25), berlin) == timedelta(hours=25)
    # A skipped wall time is read with the offset before the change; a repeated one is its first time.
    assert clock.to_utc(datetime(2026, 3, 29, 2, 30), berlin) == datetime(2026, 3, 29, 1, 30)
    # Where clocks skip midnight itself (Santiago, 6 Sep 2026: 00:00 -> 01:00), the day begins at 01:00.
    santiago = "America/Santiago"
    assert clock.to_local(clock.day_start(date(2026, 9, 6), santiago), santiago) == datetime(2026, 9, 6, 1, 0)
    assert clock.to_utc(datetime(2026, 10, 25, 2, 30), berlin) == datetime(2026, 10, 25, 0, 30)
    assert clock.to_local(datetime(2026, 10, 25, 0, 30), berlin) == datetime(2026, 10, 25, 2, 30)


def test_now_option_parses_iso_and_defaults_to_utc():
    from tests.conftest import parse_now

    assert parse_now("2027-01-01T00:20:00Z").isoformat() == "2027-01-01T00:20:00+00:00"
    assert parse_now("2027-01-01T01:20:00+01:00").utcoffset() == timedelta(hours=1)
    assert parse_now("2028-02-29T12:00:00").isoformat() == "2028-02-29T12:00:00+00:00"
    with pytest.raises(pytest.UsageError, match="not an ISO-8601"):
        parse_now("next tuesday")


def test_travel_moves_the_product_clock(travel):
    moved = travel("2027-02-28T23:59:30Z")
    assert moved == datetime(2027, 2, 28, 23, 59, 30)
    assert abs((clock.utcnow() - moved).total_seconds()) < 5  # ticking from there
    assert clock.month_label(clock.utcnow(), None) == "2027-02"


# --- budgets at the edges ---------------------------------------------------------------

def test_budget_month_edges_in_utc(wb):
    _record(wb.group_id, LAST_SECOND, 1.0)
    _record(wb.group_id, FIRST_SECOND, 2.0)
    assert _spend(wb.group_id, LAST_SECOND + timedelta(microseconds=500_000)) == 1.0
    assert _spend(wb.group_id, FIRST_SECOND) == 2.0
    assert _spend(wb.group_id, datetime(2027, 2, 28, 23, 59, 59)) == 2.0
    assert _spend(wb.group_id, datetime(2027, 3, 1)) == 0.0
    with session_scope() as s:
        assert budget.group_budget(s, s.get(Group, wb.group_id), FIRST_SECOND).month == "2027-02"


def test_budget_month_follows_the_groups_time_zone(wb):
    groups.set_time_zone(wb.person_id, wb.group_id, "America/New_York")
    # 23:59:59 on 31 Jan in New York and 00:00:00 on 1 Feb there, stored in UTC.
    _record(wb.group_id, datetime(2027, 2, 1, 4, 59, 59), 1.0)
    _record(wb.group_id, datetime(2027, 2, 1, 5, 0, 0), 2.0)
    assert _spend(wb.group_id, datetime(2027, 2, 1, 4, 59, 59, 500_000)) == 1.0  # still January there
    assert _spend(wb.group_id, datetime(2027, 2, 1, 5, 0, 0)) == 2.0
    with session_scope() as s:
        assert budget.group_budget(s, s.get(Group, wb.group_id), datetime(2027, 2, 1, 3)).month == "2027-01"


def test_budget_warning_is_written_once_per_month_of_the_zone(wb, travel):
    groups.set_time_zone(wb.person_id, wb.group_id, "Asia/Kolkata")
    with session_scope() as s:
        s.get(Group, wb.group_id).monthly_budget_usd = 10.0
    jan_end, feb_start = datetime(2027, 1, 31, 18, 29, 59), datetime(2027, 1, 31, 18, 30)  # Kolkata
    for when in (jan_end, feb_start):
        travel(when.isoformat() + "Z")
        _record(wb.group_id, when, 9.0)
        with session_scope() as s:
            budget.note_spend(s, wb.group_id)
            budget.note_spend(s, wb.group_id)  # the second call writes nothing
    with session_scope() as s:
        months = [e.data["month"] for e in s.scalars(select(Event).where(Event.type == "budget_warning")
                                                      .order_by(Event.id))]
    assert months == ["2027-01", "2027-02"]


# --- Usage periods at the edges -----------------------------------------------------------

def _calls(group_id: int, p: reports.Period) -> int:
    with session_scope() as s:
        return reports.q_totals(s, group_id, p.start, p.end).calls


@pytest.mark.parametrize("tz, last, first", [
    (None, LAST_SECOND, FIRST_SECOND),
    ("America/New_York", datetime(2027, 2, 1, 4, 59, 59), datetime(2027, 2, 1, 5)),
    ("Asia/Kolkata", datetime(2027, 1, 31, 18, 29, 59), datetime(2027, 1, 31, 18, 30)),
])
def test_usage_periods_put_the_edge_seconds_in_the_right_month_and_day(wb, tz, last, first):
    _record(wb.group_id, last, 1.0)
    _record(wb.group_id, first, 2.0)
    just_after = first + timedelta(seconds=30)
    mtd = reports.period("mtd", now=just_after, time_zone=tz)
    assert _calls(wb.group_id, mtd) == 1  # only the first second of the new month
    with session_scope() as s:  # the previous span of the same length holds January's first second only
        assert reports.q_totals(s, wb.group_id, mtd.prev_start, mtd.prev_end).calls == 0
    assert _calls(wb.group_id, reports.period("today", now=just_after, time_zone=tz)) == 1
    at_last = reports.period("today", now=last + timedelta(microseconds=900_000), time_zone=tz)
    assert _calls(wb.group_id, at_last) == 1  # the last second of January, on its own day
    assert _calls(wb.group_id, reports.period("7d", now=just_after, time_zone=tz)) == 2
    local_jan_31 = clock.to_local(last, tz).date()
    custom = reports.period("custom", start=local_jan_31, end=local_jan_31, time_zone=tz)
    assert _calls(wb.group_id, custom) == 1


def test_cost_chart_buckets_are_local_days(wb):
    _record(wb.group_id, datetime(2027, 2, 1, 4, 59, 59), 1.0)  # 31 Jan in New York
    _record(wb.group_id, datetime(2027, 2, 1, 5, 0, 0), 2.0)  # 1 Feb in New York
    p = reports.period("custom", start=date(2027, 1, 30), end=date(2027, 2, 2), time_zone="America/New_York")
    with session_scope() as s:
        rows = reports.q_cost_over_time(s, wb.group_id, p.start, p.end, p.bucket, p.time_zone)
    assert [(t, c) for t, _, c, _ in rows] == [(datetime(2027, 1, 31), 1.0), (datetime(2027, 2, 1), 2.0)]
    p = reports.period("custom", start=date(2027, 1, 30), end=date(2027, 2, 2))  # UTC: one day
    with session_scope() as s:
        rows = reports.q_cost_over_time(s, wb.group_id, p.start, p.end, p.bucket, p.time_zone)
    assert [(t, c) for t, _, c, _ in rows] == [(datetime(2027, 2, 1), 3.0)]


def test_leap_day_is_its_own_day(wb):
    _record(wb.group_id, datetime(2028, 2, 29, 23, 59, 59), 1.0)
    _record(wb.group_id, datetime(2028, 3, 1, 0, 0, 0), 2.0)
    p = reports.period("custom", start=date(2028, 2, 29), end=date(2028, 2, 29))
    assert _calls(wb.group_id, p) == 1
    assert _spend(wb.group_id, datetime(2028, 2, 29, 12)) == 1.0


# --- the setting ---------------------------------------------------------------------------

def test_time_zone_is_validated_owner_only_and_evented(wb):
    with pytest.raises(ValidationError) as err:
        groups.set_time_zone(wb.person_id, wb.group_id, "Mars/Olympus_Mons")
    assert "not a time zone name" in err.value.field_errors["time_zone"]
    editor = groups.add_member(wb.person_id, wb.group_id, email="ed@example.com", role="editor")
    with pytest.raises(AccessDenied):
        groups.set_time_zone(editor.id, wb.group_id, "Europe/Paris")
    assert groups.set_time_zone(wb.person_id, wb.group_id, " Europe/Paris ").time_zone == "Europe/Paris"
    assert groups.set_time_zone(wb.person_id, wb.group_id, "UTC").time_zone is None
    with session_scope() as s:
        changes = [e.data for e in s.scalars(select(Event).where(Event.type == "group_time_zone_changed"))]
    assert changes == [{"from": "UTC", "to": "Europe/Paris"}, {"from": "Europe/Paris", "to": "UTC"}]


def test_groups_page_sets_the_time_zone_and_usage_page_says_it(wb):
    from streamlit.testing.v1 import AppTest

    from tests.test_pages_usage import PAGES, ok, open_page

    at = open_page("groups.py", wb.person_id, wb.group_id)
    at.selectbox(key="group_time_zone").set_value("Asia/Tokyo")
    at.button[[b.label for b in at.button].index("Save time zone")].click().run()
    ok(at)
    assert groups.get_group(wb.person_id, wb.group_id).time_zone == "Asia/Tokyo"
    usage = open_page("usage.py", wb.person_id, wb.group_id)
    assert any("Asia/Tokyo" in c.value for c in usage.caption)
    assert isinstance(at, AppTest) and PAGES.exists()


# --- the migration that added groups.time_zone ---------------------------------------------

@pytest.mark.empty_database
def test_upgrade_from_0001_keeps_data_and_adds_the_time_zone(data_dir):
    from alembic import command
    from sqlalchemy import text

    from workbench import db

    engine = db.get_engine()
    with engine.begin() as conn:
        cfg = db.alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO groups (name, plan, monthly_budget_usd, created_at) "
                          "VALUES ('Old team', 'team', 500.0, '2026-11-02 10:00:00')"))
        conn.execute(text("INSERT INTO usage_records (group_id, provider, model, input_tokens, output_tokens, "
                          "cached_input_tokens, reasoning_tokens, cost_usd, price_is_default, estimated, "
                          "duration_ms, created_at) VALUES (1, 'openai', 'gpt-4o', 10, 5, 0, 0, 1.25, false, "
                          "false, 100.0, '2026-11-30 23:59:59')"))
    db.migrate()
    with session_scope() as s:
        group = s.scalar(select(Group).where(Group.name == "Old team"))
        assert (group.plan, group.monthly_budget_usd, group.time_zone) == ("team", 500.0, None)
        assert budget.group_budget(s, group, datetime(2026, 11, 30, 23, 59, 59, 999_000)).spent_usd == 1.25
        assert budget.group_budget(s, group, datetime(2026, 12, 1)).spent_usd == 0.0
        group.time_zone = "Pacific/Auckland"  # 23:59:59 UTC on 30 Nov is already December there
    with session_scope() as s:
        group = s.scalar(select(Group).where(Group.name == "Old team"))
        assert budget.group_budget(s, group, datetime(2026, 11, 30, 23, 59, 59, 999_000)).spent_usd == 1.25
        assert budget.group_budget(s, group, datetime(2026, 11, 30, 23, 59, 59, 999_000)).month == "2026-12"
