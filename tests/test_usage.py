"""Prices, cost arithmetic, usage recording through the real runtime, recompute, the
dashboard aggregations, CSV export, the groups comparison and isolation between groups."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.scripted_openai import text, usage
from workbench import runs
from workbench.costs import budget, prices, reports, usage_export
from workbench.costs.pricing import compute_cost, cost_of, resolve_price
from workbench.db import session_scope
from workbench.errors import AccessDenied, ConflictError, ValidationError
from workbench.models import Event, Person, Price, Run, UsageRecord, utcnow
from workbench.providers.base import Usage
from workbench.providers.tokens import estimate_tokens, tokenizer_name
from workbench.system import workspace
from workbench.tenancy import groups


def _price(**kw) -> Price:
    base = {"provider": "p", "model": "m", "input_per_mtok": 2.0, "output_per_mtok": 8.0,
            "cached_input_per_mtok": None, "reasoning_per_mtok": None, "effective_from": date(2025, 1, 1)}
    return Price(**{**base, **kw})


def _add_usage(group_id, *, at, model="gpt-4o-mini", provider="openai", cost=1.0, inp=100, out=50,
               agent_id=None, person_id=None, thread_id=None, run_id=None, default=False, estimated=False):
    with session_scope() as s:
        s.add(UsageRecord(group_id=group_id, provider=provider, model=model, input_tokens=inp,
                          output_tokens=out, cost_usd=cost, created_at=at, agent_id=agent_id,
                          person_id=person_id, thread_id=thread_id, run_id=run_id,
                          price_is_default=default, estimated=estimated, duration_ms=200.0))
        budget.forget_spend(s, [group_id])  # written behind the month's kept spend, as an import would


# --- cost arithmetic ------------------------------------------------------------------

def test_cost_of_known_cases():
    p = _price(input_per_mtok=2.50, output_per_mtok=10.0, cached_input_per_mtok=1.25)
    assert cost_of(p, Usage(1_000_000, 0)) == pytest.approx(2.50)
    assert cost_of(p, Usage(0, 1_000_000)) == pytest.approx(10.0)
    # 1,000 input of which 400 cached, 500 output: 600*2.5 + 400*1.25 + 500*10 per million
    assert cost_of(p, Usage(1000, 500, cached_input_tokens=400)) == pytest.approx(0.007)
    # reasoning tokens without their own rate are billed as output
    assert cost_of(p, Usage(0, 1000, reasoning_tokens=800)) == pytest.approx(0.01)
    # with their own rate, each part at its rate
    r = _price(input_per_mtok=1.0, output_per_mtok=4.0, reasoning_per_mtok=2.0)
    assert cost_of(r, Usage(0, 1000, reasoning_tokens=800)) == pytest.approx((200 * 4 + 800 * 2) / 1e6)
    # a cached count larger than the input is capped (never a negative part)
    assert cost_of(p, Usage(100, 0, cached_input_tokens=500)) == pytest.approx(100 * 1.25 / 1e6)
    assert cost_of(None, Usage(1000, 1000)) == 0.0


def test_seeded_prices_defaults_and_fallbacks(wb):
    with session_scope() as s:
        at = date(2026, 6, 1)
        mini = resolve_price(s, "openai", "gpt-4o-mini", at)
        assert (mini.price.input_per_mtok, mini.price.output_per_mtok, mini.is_default) == (0.15, 0.60, False)
        # unknown models use their provider's default and are flagged
        unknown = resolve_price(s, "openai", "gpt-9-ultra", at)
        assert (unknown.price.input_per_mtok, unknown.price.output_per_mtok, unknown.is_default) == (5.0, 15.0, True)
        claude = resolve_price(s, "anthropic", "claude-next", at)
        assert (claude.price.input_per_mtok, claude.price.output_per_mtok, claude.is_default) == (8.0, 24.0, True)
        # local models cost nothing
        assert compute_cost(s, "local", "gemma-3-270m (built-in)", Usage(5000, 5000), datetime(2026, 6, 1)).usd == 0
        assert compute_cost(s, "ollama", "llama3.2", Usage(5000, 5000), datetime(2026, 6, 1)).usd == 0
        # ... and are not flagged as unpriced: the provider is free whatever the model
        assert resolve_price(s, "local", "gemma-3-270m (built-in)", at).is_default is False
        # a dated model id, an OpenRouter id and a hand-made endpoint find the model's own price
        assert resolve_price(s, "openai", "gpt-4o-2024-08-06", at).price.model == "gpt-4o"
        assert resolve_price(s, "anthropic", "claude-sonnet-4-5-20250929", at).price.model == "claude-sonnet-4-5"
        routed = resolve_price(s, "openrouter", "openai/gpt-4o-mini", at)
        assert (routed.price.provider, routed.price.model, routed.is_default) == ("openai", "gpt-4o-mini", False)
        assert resolve_price(s, "openai_compatible", "gpt-4o", at).price.input_per_mtok == 2.50
        # nothing known at all: zero, flagged
        nothing = compute_cost(s, "openai_compatible", "my-finetune", Usage(1000, 1000), datetime(2026, 6, 1))
        assert nothing.usd == 0 and nothing.is_default and nothing.price_id is None


def test_effective_date_change(wb):
    prices.add_price(wb.person_id, wb.group_id, provider="openai", model="gpt-4o-mini",
                          input_per_mtok=1.0, output_per_mtok=2.0, effective_from=date(2026, 6, 1))
    with session_scope() as s:
        before = compute_cost(s, "openai", "gpt-4o-mini", Usage(1_000_000, 1_000_000), datetime(2026, 5, 31, 23, 59))
        after = compute_cost(s, "openai", "gpt-4o-mini", Usage(1_000_000, 1_000_000), datetime(2026, 6, 1, 0, 0))
    assert before.usd == pytest.approx(0.75) and after.usd == pytest.approx(3.0)
    assert not before.is_default and not after.is_default and before.price_id != after.price_id


# --- the price table as a service ------------------------------------------------------

def test_add_price_validates_refuses_duplicates_and_non_admins(wb):
    with pytest.raises(ValidationError) as bad:
        prices.add_price(wb.person_id, wb.group_id, provider="Open AI!", model="", input_per_mtok=-1,
                              output_per_mtok=None, effective_from=date(2026, 1, 1))
    assert set(bad.value.field_errors) == {"provider", "model", "input_per_mtok", "output_per_mtok"}
    prices.add_price(wb.person_id, wb.group_id, provider="mistral", model="mistral-large",
                          input_per_mtok=2, output_per_mtok=6, effective_from=date(2026, 1, 1))
    with pytest.raises(ConflictError):
        prices.add_price(wb.person_id, wb.group_id, provider="mistral", model="mistral-large",
                              input_per_mtok=3, output_per_mtok=9, effective_from=date(2026, 1, 1))
    editor = groups.add_member(wb.person_id, wb.group_id, email="ed@example.com", role="owner")
    with pytest.raises(AccessDenied):
        prices.add_price(editor.id, wb.group_id, provider="mistral", model="mistral-large",
                              input_per_mtok=1, output_per_mtok=1, effective_from=date(2026, 2, 1))
    with session_scope() as s:
        assert s.scalar(select(Event).where(Event.type == "price_added")).data["model"] == "mistral-large"


def test_list_prices_statuses_and_history(wb):
    for d, rate in ((date(2025, 3, 1), 1.0), (date(2026, 3, 1), 2.0), (date(2026, 12, 1), 3.0)):
        prices.add_price(wb.person_id, wb.group_id, provider="mistral", model="m-1",
                              input_per_mtok=rate, output_per_mtok=rate, effective_from=d)
    rows = prices.list_prices(wb.person_id, wb.group_id, search="m-1", today=date(2026, 6, 1))
    assert [(r.effective_from.year, r.status) for r in rows] == [
        (2026, "scheduled"), (2026, "in force"), (2025, "superseded")]
    current = prices.list_prices(wb.person_id, wb.group_id, search="m-1", include_history=False,
                                      today=date(2026, 6, 1))
    assert [r.status for r in current] == ["scheduled", "in force"]


def test_new_price_never_rewrites_stored_costs_until_recompute(wb):
    days_ago = lambda n: utcnow() - timedelta(days=n)  # noqa: E731
    with session_scope() as s:
        s.add(Run(id=900, group_id=wb.group_id, thread_id=_thread(wb), agent_id=wb.agent_id, cost_usd=0.0))
    for n in (10, 3):
        _add_usage(wb.group_id, at=days_ago(n), model="gpt-4o", inp=1_000_000, out=0, cost=2.5, run_id=900)
    other = workspace.create_group(wb.person_id, "Other team")
    _add_usage(other.id, at=days_ago(3), model="gpt-4o", inp=1_000_000, out=0, cost=2.5)
    prices.add_price(wb.person_id, wb.group_id, provider="openai", model="gpt-4o", input_per_mtok=1.0,
                          output_per_mtok=4.0, effective_from=(utcnow() - timedelta(days=5)).date())
    with session_scope() as s:
        assert [r.cost_usd for r in s.scalars(select(UsageRecord).order_by(UsageRecord.id))] == [2.5, 2.5, 2.5]
    res = prices.recompute_costs(wb.person_id, wb.group_id, start=days_ago(30).date(), end=utcnow().date())
    assert (res.records, res.groups) == (2, 1)
    assert res.before_usd == pytest.approx(5.0) and res.after_usd == pytest.approx(3.5)
    with session_scope() as s:
        costs = [r.cost_usd for r in s.scalars(select(UsageRecord).order_by(UsageRecord.id))]
        assert costs == pytest.approx([2.5, 1.0, 2.5])  # the other group's record is untouched
        assert s.get(Run, 900).cost_usd == pytest.approx(3.5)
        ev = s.scalar(select(Event).where(Event.type == "costs_recomputed"))
        assert ev.group_id == wb.group_id and ev.data["after_usd"] == pytest.approx(3.5)
    everyone = prices.recompute_costs(wb.person_id, wb.group_id, start=days_ago(30).date(),
                                           end=utcnow().date(), all_groups=True)
    assert (everyone.records, everyone.groups) == (3, 2) and everyone.after_usd == pytest.approx(4.5)
    with session_scope() as s:
        s.get(Person, wb.person_id).is_admin = False
    with pytest.raises(AccessDenied):
        prices.recompute_costs(wb.person_id, wb.group_id, start=days_ago(3).date(), end=utcnow().date())


def _thread(wb) -> int:
    thread, _ = runs.create_thread(wb.group_id, wb.agent_id, wb.person_id)
    return thread.id


# --- recording through the real runtime -----------------------------------------------

def test_runtime_records_cost_with_cached_tokens(scripted):
    scripted.server.script(text("Hi there", usage=usage(2000, 100, cached=1000)))
    _, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                      initial_message="Hello")
    result = handle.wait(10)
    with session_scope() as s:
        rec = s.scalar(select(UsageRecord).where(UsageRecord.run_id == result.run_id))
        assert (rec.provider, rec.model, rec.estimated, rec.price_is_default) == ("openai", "gpt-4o-mini", False, False)
        assert rec.cost_usd == pytest.approx((1000 * 0.15 + 1000 * 0.075 + 100 * 0.60) / 1e6)
        assert s.get(Run, result.run_id).cost_usd == pytest.approx(rec.cost_usd)


def test_missing_usage_is_counted_locally_and_marked_estimated(scripted):
    reply = "The quick brown fox jumps over the lazy dog, again and again."
    scripted.server.script(text(reply, usage=None))
    _, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                      initial_message="Tell me about foxes")
    result = handle.wait(20)
    with session_scope() as s:
        rec = s.scalar(select(UsageRecord).where(UsageRecord.run_id == result.run_id))
        assert rec.estimated is True
        assert rec.output_tokens == estimate_tokens(reply) and 8 <= rec.output_tokens <= 30
        assert rec.input_tokens > 10 and rec.cost_usd > 0


def test_estimate_uses_a_real_offline_tokenizer():
    assert tokenizer_name() != "chars/4"
    # a real tokenizer splits by vocabulary, not by length: same length, very different counts
    assert estimate_tokens("a" * 40) < estimate_tokens("q z x j k w v y b p f g h m n c d l r s")
    assert estimate_tokens("hello") == 1 and estimate_tokens("") == 0


# --- dashboard aggregations -----------------------------------------------------------

def test_dashboard_totals_breakdowns_and_isolation(wb):
    other = workspace.create_group(wb.person_id, "Other team")
    now = utcnow()
    p = reports.period("7d", now=now)

    def day(n, h=12):
        return datetime.combine((now - timedelta(days=n)).date(), datetime.min.time()) + timedelta(hours=h)

    _add_usage(wb.group_id, at=day(0, 0), model="gpt-4o", cost=3.0, agent_id=wb.agent_id, person_id=wb.person_id,
               thread_id=11, run_id=101)
    _add_usage(wb.group_id, at=day(1), model="gpt-4o-mini", cost=1.0, agent_id=wb.agent_id,
               person_id=wb.person_id, thread_id=11, run_id=102, estimated=True)
    _add_usage(wb.group_id, at=day(2), model="mystery", cost=0.5, thread_id=12, run_id=103, default=True)
    _add_usage(wb.group_id, at=day(9), model="gpt-4o", cost=2.25)  # previous period
    _add_usage(other.id, at=day(1), model="secret-model", cost=100.0, thread_id=11, run_id=104)
    d = reports.dashboard(wb.person_id, wb.group_id, p)
    assert (d.totals.calls, d.totals.input_tokens, d.totals.output_tokens) == (3, 300, 150)
    assert d.totals.cost_usd == pytest.approx(4.5) and d.previous.cost_usd == pytest.approx(2.25)
    assert d.change("cost_usd") == pytest.approx(1.0) and d.totals.avg_latency_ms == pytest.approx(200)
    assert (d.totals.estimated_calls, d.totals.default_priced_calls) == (1, 1)
    assert {m for _, m, _, _ in d.cost_over_time} == {"gpt-4o", "gpt-4o-mini", "mystery"}
    assert all(t.hour == 0 for t, *_ in d.cost_over_time) and len({t for t, *_ in d.cost_over_time}) == 3
    assert d.by_agent[0][0] == "Demo assistant" and d.by_agent[0][1:3] == (200, 100)
    assert d.by_person == [("Local user", 4.0, 2), ("(system)", 0.5, 1)]
    assert d.by_provider == [("openai", 4.5, 3)]
    assert [m.model for m in d.default_priced] == ["mystery"]
    assert [(t.id, t.cost_usd, t.run_id) for t in d.top_threads] == [(11, 4.0, 102), (12, 0.5, 103)]
    assert [r.id for r in d.top_runs] == [101, 102, 103]
    assert "secret-model" not in repr(d) and 104 not in [r.id for r in d.top_runs]
    # a member of only the other group cannot read this one
    outsider = groups.add_member(wb.person_id, other.id, email="out@example.com", role="owner")
    with pytest.raises(AccessDenied):
        reports.dashboard(outsider.id, wb.group_id, p)
    with pytest.raises(AccessDenied):
        usage_export.usage_csv_chunks(outsider.id, wb.group_id, p.start, p.end)


def test_dashboard_by_caller_and_narrowed_to_one(wb):
    """Each API key acts through a person of its own: the dashboard splits cost by key (the
    people in the app as one "Workbench app" row) and narrows every figure to one caller."""
    from workbench.serve import keys

    now = utcnow()
    p = reports.period("7d", now=now + timedelta(seconds=1))
    site = keys.create_key(wb.person_id, wb.group_id, "website").info
    bot = keys.create_key(wb.person_id, wb.group_id, "slack bot").info
    other = workspace.create_group(wb.person_id, "Other team")
    theirs = keys.create_key(wb.person_id, other.id, "theirs").info
    _add_usage(wb.group_id, at=now - timedelta(hours=1), cost=1.0, person_id=wb.person_id, thread_id=1, run_id=1)
    _add_usage(wb.group_id, at=now - timedelta(hours=2), cost=0.25)  # no person: the app's (system) call
    _add_usage(wb.group_id, at=now - timedelta(hours=3), cost=2.0, person_id=site.person_id, thread_id=2, run_id=2)
    _add_usage(wb.group_id, at=now - timedelta(hours=4), cost=3.0, person_id=site.person_id, thread_id=2, run_id=3)
    _add_usage(wb.group_id, at=now - timedelta(hours=5), cost=0.5, person_id=bot.person_id, thread_id=3, run_id=4)
    _add_usage(other.id, at=now - timedelta(hours=1), cost=99.0, person_id=theirs.person_id)
    keys.revoke_key(wb.person_id, bot.id)  # its usage stays, marked revoked

    d = reports.dashboard(wb.person_id, wb.group_id, p)
    assert d.caller is None and d.totals.calls == 5
    assert [(r.key_id, r.name, r.calls, r.revoked) for r in d.by_caller] == [
        (site.id, "website", 2, False), (None, "Workbench app", 2, False), (bot.id, "slack bot", 1, True)]
    assert [r.cost_usd for r in d.by_caller] == pytest.approx([5.0, 1.25, 0.5])

    by_site = reports.dashboard(wb.person_id, wb.group_id, p, caller=site.id)
    assert (by_site.totals.calls, by_site.totals.cost_usd) == (2, pytest.approx(5.0))
    assert [r.name for r in by_site.by_caller] == ["website"]
    assert by_site.by_person == [("website (API key)", pytest.approx(5.0), 2)]
    assert [t.id for t in by_site.top_threads] == [2] and [r.id for r in by_site.top_runs] == [3, 2]
    assert sum(n for *_, n in by_site.cost_over_time) == 2

    app = reports.dashboard(wb.person_id, wb.group_id, p, caller=reports.APP)
    assert (app.totals.calls, app.totals.cost_usd) == (2, pytest.approx(1.25))
    assert app.by_person == [("Local user", pytest.approx(1.0), 1), ("(system)", pytest.approx(0.25), 1)]
    assert reports.dashboard(wb.person_id, wb.group_id, p, caller=bot.id).totals.calls == 1
    # another group's key matches nothing here; a caller that is neither is refused
    assert reports.dashboard(wb.person_id, wb.group_id, p, caller=theirs.id).totals.calls == 0
    with pytest.raises(ValidationError):
        reports.dashboard(wb.person_id, wb.group_id, p, caller="everyone")
    # the CSV follows the same filter
    rows = list(csv.DictReader(io.StringIO("".join(usage_export.usage_csv_chunks(
        wb.person_id, wb.group_id, p.start, p.end, caller=site.id)))))
    assert [r["person"] for r in rows] == ["website (API key)"] * 2


def test_periods():
    now = datetime(2026, 3, 15, 10, 30)
    today = reports.period("today", now=now)
    assert (today.start, today.end, today.prev_start, today.prev_end, today.bucket) == (
        datetime(2026, 3, 15), now, datetime(2026, 3, 14), datetime(2026, 3, 14, 10, 30), "hour")
    week = reports.period("7d", now=now)
    assert week.start == datetime(2026, 3, 9) and week.prev_end - week.prev_start == week.end - week.start
    mtd = reports.period("mtd", now=now)
    assert (mtd.start, mtd.prev_start, mtd.prev_end) == (datetime(2026, 3, 1), datetime(2026, 2, 1),
                                                         datetime(2026, 2, 15, 10, 30))
    custom = reports.period("custom", start=date(2026, 1, 1), end=date(2026, 1, 10))
    assert (custom.start, custom.end, custom.prev_start) == (datetime(2026, 1, 1), datetime(2026, 1, 11),
                                                             datetime(2025, 12, 22))
    with pytest.raises(ValidationError):
        reports.period("custom", start=date(2026, 1, 10), end=date(2026, 1, 1))


def test_csv_export_streams_in_chunks(wb):
    now = utcnow()
    for i in range(5):
        _add_usage(wb.group_id, at=now - timedelta(minutes=i), cost=0.1 * i, agent_id=wb.agent_id)
    with session_scope() as s:
        s.get(Person, wb.person_id).name = "=HYPERLINK(\"x\")"
    _add_usage(wb.group_id, at=now - timedelta(minutes=9), person_id=wb.person_id)
    p = reports.period("7d", now=now + timedelta(seconds=1))
    chunks = list(usage_export.usage_csv_chunks(wb.person_id, wb.group_id, p.start, p.end, chunk_rows=2))
    assert len(chunks) == 1 + 3  # header, then 6 rows two at a time
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert len(rows) == 6 and rows[0]["agent"] == "" and rows[0]["person"].startswith("'=")
    assert rows[-1]["agent"] == "Demo assistant" and float(rows[-1]["cost_usd"]) == pytest.approx(0.0)
    buf = io.BytesIO()
    assert usage_export.write_usage_csv(wb.person_id, wb.group_id, p.start, p.end, buf) == len(buf.getvalue()) > 0


def test_compare_groups_shows_only_the_persons_own_groups_even_to_an_admin(wb):
    now = utcnow()
    team = workspace.create_group(wb.person_id, "Team")
    member = groups.add_member(wb.person_id, team.id, email="m@example.com", role="viewer")
    outsider_group = workspace.create_group(member.id, "Member's own")
    _add_usage(team.id, at=now - timedelta(hours=1), cost=2.0)
    _add_usage(wb.group_id, at=now - timedelta(hours=1), cost=1.0)
    _add_usage(outsider_group.id, at=now - timedelta(hours=1), cost=7.0)
    p = reports.period("7d", now=now)
    admin_view = reports.compare_groups(wb.person_id, p.start, p.end)
    # the admin is not a member of "Member's own": it never shows to them
    assert [(g.name, g.cost_usd) for g in admin_view] == [("Team", 2.0), ("My workspace", 1.0)]
    member_view = reports.compare_groups(member.id, p.start, p.end)
    assert {g.name for g in member_view} == {"Team", "Member's own"}
