"""The Usage and Prices pages with AppTest against a real SQLite file: load, change the
period, open a trace, budget banners, edit limits, add a price, recompute, isolation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from tests.scripted_openai import text, usage
from workbench import runs
from workbench.costs import budget, limits, prices
from workbench.db import session_scope
from workbench.models import Event, Group, Person, Price, UsageRecord, utcnow
from workbench.system import workspace
from workbench.tenancy import groups

PAGES = Path(__file__).resolve().parent.parent / "views"


def open_page(name: str, person_id: int, group_id: int) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=30)
    at.session_state["person_id"] = person_id
    at.session_state["group_id"] = group_id
    return ok(at.run())


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    parts += [e.value for e in at.error] + [m.label + str(m.value) for m in at.metric]
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    return "\n".join(parts)


def _record(group_id, *, model, cost, hours_ago=1.0, default=False, **kw):
    with session_scope() as s:
        s.add(UsageRecord(group_id=group_id, provider=kw.pop("provider", "openai"), model=model, input_tokens=1000,
                          output_tokens=200, cost_usd=cost, price_is_default=default, duration_ms=400.0,
                          created_at=utcnow() - timedelta(hours=hours_ago), **kw))
        budget.forget_spend(s, [group_id])  # written behind the month's kept spend, as an import would


@pytest.fixture()
def mid_month(travel):
    """The budget and period assertions below are about the calendar: they run at a fixed
    instant in mid-month (set before any data is made), whatever the real date."""
    return travel("2026-06-15T12:00:00Z")


@pytest.fixture()
def used(mid_month, scripted):
    """Two real runs through the scripted server plus records of other models, and another
    group whose usage must never show."""
    scripted.server.script(text("First answer", usage=usage(4000, 800)), text("Second", usage=usage(50, 10)))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="Question one")
    first = handle.wait(10)
    _, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                      initial_message="Question two")
    second = handle.wait(10)
    _record(scripted.group_id, model="gpt-unknown", cost=0.02, default=True)
    _record(scripted.group_id, model="gpt-4o", cost=0.5, hours_ago=24 * 10)  # outside 7 days
    other = workspace.create_group(scripted.person_id, "Other team")
    _record(other.id, model="their-private-model", cost=42.0, provider="theirco")
    scripted.first_run, scripted.second_run, scripted.other_group = first.run_id, second.run_id, other.id
    return scripted


def test_usage_page_loads_empty(wb):
    at = open_page("usage.py", wb.person_id, wb.group_id)
    assert any("No model calls in this period" in i.value for i in at.info)
    assert [m.value for m in at.metric][:1] == ["0"]


def test_usage_page_shows_totals_charts_flags_and_changes_period(used):
    at = open_page("usage.py", used.person_id, used.group_id)
    assert at.radio(key="usage_period").value == "30d"
    assert {m.label: m.value for m in at.metric}["Model calls"] == "4"  # never the other group's
    assert len(at.get("plotly_chart")) >= 4
    assert any("gpt-unknown" in w.value and "provider's default" in w.value for w in at.warning)
    assert "their-private-model" not in page_text(at) and "theirco" not in page_text(at)
    assert any(d.label.startswith("Download the 4 records") for d in at.get("download_button"))

    at.radio(key="usage_period").set_value("7d").run()
    ok(at)
    metrics = {m.label: m.value for m in at.metric}
    with session_scope() as s:
        expected = sum(r.cost_usd for r in s.scalars(select(UsageRecord).where(
            UsageRecord.group_id == used.group_id, UsageRecord.created_at >= utcnow() - timedelta(days=7))))
    assert metrics["Model calls"] == "3" and metrics["Cost"] == f"${expected:,.4f}"
    at.radio(key="usage_period").set_value("today").run()
    ok(at)
    at.radio(key="usage_period").set_value("custom").run()
    today = utcnow().date()
    at.date_input(key="usage_custom").set_value((today - timedelta(days=20), today - timedelta(days=5))).run()
    ok(at)
    assert {m.label: m.value for m in at.metric}["Model calls"] == "1"


def test_usage_page_opens_the_trace_of_an_expensive_run(used):
    # Through app.py: st.switch_page needs the pages st.navigation registers.
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=30)
    at.session_state["person_id"], at.session_state["group_id"] = used.person_id, used.group_id
    ok(at.run())
    ok(at.switch_page("views/usage.py").run())
    runs = [b for b in at.button if b.key and b.key.startswith("trace_run_")]
    assert runs[0].key == f"trace_run_{used.first_run}"  # the most expensive run first
    at.button(key=f"trace_run_{used.first_run}").click().run()
    ok(at)
    assert at.session_state["sel_run_id"] == used.first_run
    assert any(f"Run #{used.first_run}" in h.value for h in at.subheader)  # the Traces page


def test_usage_page_splits_and_filters_by_api_key(mid_month, wb):
    from workbench.serve import keys

    site = keys.create_key(wb.person_id, wb.group_id, "website").info
    _record(wb.group_id, model="gpt-4o", cost=0.5, person_id=wb.person_id)
    _record(wb.group_id, model="gpt-4o", cost=2.0, person_id=site.person_id)
    _record(wb.group_id, model="gpt-4o-mini", cost=1.0, person_id=site.person_id)
    at = open_page("usage.py", wb.person_id, wb.group_id)
    assert {m.label: m.value for m in at.metric}["Model calls"] == "3"
    by_caller = next(df.value for df in at.dataframe if "Caller" in df.value.columns)
    assert list(by_caller["Caller"]) == ["🔑 website", "Workbench app"] and list(by_caller["Calls"]) == [2, 1]
    at.selectbox(key="sel_usage_caller").set_value(site.id).run()
    ok(at)
    assert {m.label: m.value for m in at.metric}["Model calls"] == "2"
    assert any("Only the calls of **🔑 website**" in c.value for c in at.caption)
    assert any(d.label.startswith("Download the 2 records") for d in at.get("download_button"))
    at.selectbox(key="sel_usage_caller").set_value("app").run()
    assert {m.label: m.value for m in ok(at).metric}["Model calls"] == "1"


def test_budget_banners_and_owner_edits_limits(used):
    month_start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with session_scope() as s:  # this month's spend (early in a month the 10-day-old record is last month's)
        spent = sum(r.cost_usd for r in s.scalars(select(UsageRecord).where(
            UsageRecord.group_id == used.group_id, UsageRecord.created_at >= month_start)))
        s.get(Group, used.group_id).monthly_budget_usd = spent / 0.85
    at = open_page("usage.py", used.person_id, used.group_id)
    assert any("85%" in w.value for w in at.warning) and not at.error
    with session_scope() as s:
        s.get(Group, used.group_id).monthly_budget_usd = spent
    at.run()
    assert any("new runs are paused" in e.value for e in ok(at).error)

    form_budget = next(n for n in at.number_input if n.label == "Monthly budget (USD)")
    form_budget.set_value(250.0)
    next(n for n in at.number_input if n.label.startswith("Runs per minute")).set_value(0)
    at.button[[b.label for b in at.button].index("Save limits")].click().run()
    ok(at)
    lim = limits.get_limits(used.person_id, used.group_id)
    assert (lim.monthly_budget_usd, lim.rpm_limit) == (250.0, None)
    assert not at.error


def test_viewer_cannot_edit_limits(used):
    viewer = groups.add_member(used.person_id, used.group_id, email="v@example.com", role="viewer")
    at = open_page("usage.py", viewer.id, used.group_id)
    assert any("Only the group's owners" in c.value for c in at.caption)
    assert "Save limits" not in [b.label for b in at.button]
    assert "Groups side by side" not in [h.value for h in at.subheader]  # one group, not an admin


def test_prices_page_lists_adds_and_validates(wb):
    at = open_page("prices.py", wb.person_id, wb.group_id)
    table = at.dataframe[0].value
    assert "gpt-4o-mini" in set(table["Model"]) and "* (provider default)" in set(table["Model"])
    at.text_input(key="price_model").input("")
    at.number_input(key="price_input").set_value(1.5)
    at.button[[b.label for b in at.button].index("Add price")].click().run()
    ok(at)
    assert any("Enter the model id" in c.value for c in at.caption)

    at.text_input(key="price_model").input("gpt-4o-mini")
    at.number_input(key="price_output").set_value(6.0)
    at.date_input(key="price_effective").set_value(utcnow().date() + timedelta(days=3))
    at.button[[b.label for b in at.button].index("Add price")].click().run()
    ok(at)
    assert any("Added openai/gpt-4o-mini" in s.value and "scheduled" in s.value for s in at.success)
    with session_scope() as s:
        rows = s.scalars(select(Price).where(Price.model == "gpt-4o-mini").order_by(Price.effective_from)).all()
        assert [(p.input_per_mtok, p.output_per_mtok) for p in rows] == [(0.15, 0.60), (1.5, 6.0)]
    at.run()
    assert "scheduled" in set(at.dataframe[0].value["Status"])

    at.text_input(key="prices_search").input("claude").run()
    assert all("claude" in m or m.startswith("*") for m in at.dataframe[0].value["Model"])


def test_prices_page_recompute_and_non_admin(mid_month, wb):
    # mid-month: the record must fall in the default period, this month up to today
    _record(wb.group_id, model="gpt-4o", cost=99.0)
    at = open_page("prices.py", wb.person_id, wb.group_id)
    at.button[[b.label for b in at.button].index("Recompute costs")].click().run()
    ok(at)
    assert any("Recomputed 1 records" in s.value for s in at.success)
    with session_scope() as s:
        rec = s.scalar(select(UsageRecord))
        assert rec.cost_usd == pytest.approx((1000 * 2.5 + 200 * 10) / 1e6)
        assert s.scalar(select(Event).where(Event.type == "costs_recomputed")) is not None
        s.get(Person, wb.person_id).is_admin = False
    at = open_page("prices.py", wb.person_id, wb.group_id)
    assert any("Only a workbench administrator" in i.value for i in at.info)
    assert "Add price" not in [b.label for b in at.button]
    assert prices.is_admin(wb.person_id) is False
