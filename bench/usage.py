"""Usage dashboard queries at scale: 1,000,000 usage records over 50 groups and a year.

Builds a temporary SQLite database through the real migrations, bulk-inserts the records
(groups skewed like real tenants: the largest has ~12 % of all calls), then times every
dashboard query for one group and the last 30 days two ways in the same run:
  sql      the product's way: costs.reports / costs.limits, a GROUP BY on (group_id, created_at)
  baseline the seed's way: load all the group's records as ORM objects, then sum in Python
and checks both give the same numbers. Target: each SQL query under 150 ms.

    python bench/usage.py [--records 1000000] [--groups 50]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MODELS = [("openai", "gpt-4o", 2.5, 10.0), ("openai", "gpt-4o-mini", 0.15, 0.6),
          ("openai", "gpt-4.1", 2.0, 8.0), ("anthropic", "claude-sonnet-4-5", 3.0, 15.0),
          ("anthropic", "claude-haiku-4-5", 1.0, 5.0), ("local", "gemma-3-270m (built-in)", 0.0, 0.0),
          ("openai", "gpt-x-preview", 5.0, 15.0)]
TS = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's DateTime text format on SQLite


def generate(records: int, n_groups: int, now: datetime) -> dict:
    from sqlalchemy import text

    from workbench.db import get_engine

    rnd = random.Random(7)
    weights = [1 / (i + 1) ** 0.8 for i in range(n_groups)]
    total_w = sum(weights)
    per_group = [max(1, int(records * w / total_w)) for w in weights]
    per_group[0] += records - sum(per_group)
    year = 365 * 24 * 3600
    eng = get_engine()
    with eng.begin() as conn:
        ts = now.strftime(TS)
        conn.exec_driver_sql("INSERT INTO groups (id, name, plan, monthly_budget_usd, rpm_limit, tpm_limit, created_at) "
                             "VALUES (?, ?, 'team', 500.0, 300, 1000000, ?)",
                             [(g + 1, f"Group {g + 1:02d}", ts) for g in range(n_groups)])
        conn.exec_driver_sql("INSERT INTO people (id, name, is_admin, created_at) VALUES (?, ?, ?, ?)",
                             [(p + 1, f"Person {p + 1}", p == 0, ts) for p in range(n_groups * 5)])
        conn.exec_driver_sql(
            "INSERT INTO connections (group_id, type, source_type, source_id, target_type, target_id, role, data, created_at) "
            "VALUES (?, 'member_of', 'person', ?, 'group', ?, ?, '{}', ?)",
            [(g + 1, g * 5 + k + 1, g + 1, "owner" if k == 0 else "editor", ts)
             for g in range(n_groups) for k in range(5)])
        conn.exec_driver_sql("INSERT INTO things (id, group_id, type, name, description, data, created_at, updated_at) "
                             "VALUES (?, ?, 'agent', ?, '', '{}', ?, ?)",
                             [(g * 4 + a + 1, g + 1, f"Agent {a + 1}", ts, ts) for g in range(n_groups) for a in range(4)])
        threads_per_group = 40
        conn.exec_driver_sql(
            "INSERT INTO threads (id, group_id, agent_id, person_id, title, archived, status, message_count, "
            "last_activity_at, created_at) VALUES (?, ?, ?, ?, ?, 0, 'idle', 0, ?, ?)",
            [(g * threads_per_group + t + 1, g + 1, g * 4 + t % 4 + 1, g * 5 + t % 5 + 1, f"Thread {t + 1}", ts, ts)
             for g in range(n_groups) for t in range(threads_per_group)])
        run_id = 0
        for g, count in enumerate(per_group):
            rows, runs = [], []
            left = count
            while left > 0:
                run_id += 1
                calls = min(left, rnd.randint(1, 5))
                left -= calls
                thread = g * threads_per_group + rnd.randrange(threads_per_group) + 1
                agent, person = g * 4 + rnd.randrange(4) + 1, g * 5 + rnd.randrange(5) + 1
                start = now - timedelta(seconds=rnd.random() * year)
                runs.append((run_id, g + 1, thread, agent, person, "complete", start.strftime(TS)))
                for c in range(calls):
                    provider, model, pin, pout = MODELS[min(int(rnd.expovariate(0.6)), len(MODELS) - 1)]
                    inp, out = rnd.randint(100, 6000), rnd.randint(20, 1200)
                    rows.append((g + 1, agent, thread, run_id, person, provider, model, inp, out, 0, 0,
                                 rnd.random() < 0.05, (inp * pin + out * pout) / 1e6, None,
                                 model == "gpt-x-preview", rnd.uniform(200, 4000), None,
                                 (start + timedelta(seconds=2 * c)).strftime(TS)))
            conn.exec_driver_sql("INSERT INTO runs (id, group_id, thread_id, agent_id, person_id, status, started_at, "
                                 "step_count, input_tokens, output_tokens, cost_usd, tools_used) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, '')", runs)
            conn.exec_driver_sql(
                "INSERT INTO usage_records (group_id, agent_id, thread_id, run_id, person_id, provider, model, "
                "input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, estimated, cost_usd, price_id, "
                "price_is_default, duration_ms, ttft_ms, created_at) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute(text("SELECT 1"))
    return {"per_group": per_group, "runs": run_id}


# --- the seed's way: load every record of the group, then compute in Python ----------------

def load_group(group_id: int):
    from sqlalchemy import select

    from workbench.db import session_scope
    from workbench.models import UsageRecord

    with session_scope() as s:
        return s.scalars(select(UsageRecord).where(UsageRecord.group_id == group_id)).all()


def in_period(recs, start, end):
    return [r for r in recs if start <= r.created_at < end]


def py_totals(gid, start, end):
    rs = in_period(load_group(gid), start, end)
    return (len(rs), sum(r.input_tokens for r in rs), sum(r.output_tokens for r in rs),
            sum(r.cost_usd for r in rs))


def py_group_sum(key, value):
    def run(gid, start, end):
        out = defaultdict(float)
        for r in in_period(load_group(gid), start, end):
            out[key(r)] += value(r)
        return dict(out)
    return run


def py_top(key, limit=10):
    def run(gid, start, end):
        out = defaultdict(float)
        for r in in_period(load_group(gid), start, end):
            if key(r) is not None:
                out[key(r)] += r.cost_usd
        return sorted(out.items(), key=lambda kv: -kv[1])[:limit]
    return run


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time in ms over `repeat` calls, after one untimed warm-up call."""
    times, result = [], fn()
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def bench_group(gid: int, now: datetime, repeat: int) -> list[tuple[str, float, float]]:
    from workbench import clock
    from workbench.costs import budget
    from workbench.costs import reports as ur
    from workbench.costs import usage_export
    from workbench.db import session_scope

    p = ur.period("30d", now=now)
    a, b = p.start, p.end

    def q(fn, *args):
        def run():
            with session_scope() as s:
                return fn(s, gid, *args)
        return run

    cases = [
        ("totals", q(ur.q_totals, a, b), lambda: py_totals(gid, a, b),
         lambda x, y: (x.calls, x.input_tokens, x.output_tokens) == y[:3] and abs(x.cost_usd - y[3]) < 1e-6),
        ("totals, previous period", q(ur.q_totals, p.prev_start, p.prev_end),
         lambda: py_totals(gid, p.prev_start, p.prev_end), lambda x, y: x.calls == y[0]),
        ("cost over time by model", q(ur.q_cost_over_time, a, b, "day"),
         lambda: py_group_sum(lambda r: (r.created_at.date(), r.model), lambda r: r.cost_usd)(gid, a, b),
         lambda x, y: len(x) == len(y) and abs(sum(c for *_, c, _ in x) - sum(y.values())) < 1e-6),
        ("tokens by agent", q(ur.q_by_agent, a, b),
         lambda: py_group_sum(lambda r: r.agent_id, lambda r: r.input_tokens + r.output_tokens)(gid, a, b),
         lambda x, y: sorted(i + o for _, i, o, _ in x) == sorted(y.values())),
        ("cost by person", q(ur.q_by_person, a, b),
         lambda: py_group_sum(lambda r: r.person_id, lambda r: r.cost_usd)(gid, a, b), lambda x, y: len(x) == len(y)),
        ("cost by provider", q(ur.q_by_provider, a, b),
         lambda: py_group_sum(lambda r: r.provider, lambda r: r.cost_usd)(gid, a, b), lambda x, y: len(x) == len(y)),
        ("by model (with default-price flags)", q(ur.q_by_model, a, b),
         lambda: py_group_sum(lambda r: (r.provider, r.model), lambda r: r.cost_usd)(gid, a, b),
         lambda x, y: len(x) == len(y)),
        ("top threads", q(ur.q_top_threads, a, b), lambda: py_top(lambda r: r.thread_id)(gid, a, b),
         lambda x, y: [t.id for t in x] == [k for k, _ in y]),
        ("top runs", q(ur.q_top_runs, a, b), lambda: py_top(lambda r: r.run_id)(gid, a, b),
         lambda x, y: [t.id for t in x] == [k for k, _ in y]),
        ("budget: month spend", lambda: _month_spend(gid, now),
         lambda: sum(r.cost_usd for r in load_group(gid) if r.created_at >= clock.month_start(now, None)),
         lambda x, y: abs(x - y) < 1e-6),
        # The warm-up call keeps the sum (as a priced call does); the timed calls read it.
        ("budget: month spend, kept", lambda: _kept_month_spend(gid, now),
         lambda: sum(r.cost_usd for r in load_group(gid) if r.created_at >= clock.month_start(now, None)),
         lambda x, y: abs(x - y) < 1e-6),
        ("dashboard() service: all 10 (base: 1 load+totals)", lambda: _dashboard(ur, gid, p),
         lambda: py_totals(gid, a, b), lambda x, y: x.totals.calls == y[0]),
    ]
    out = []
    for name, sql_fn, py_fn, same in cases:
        sql_ms, sql_res = timed(sql_fn, repeat)
        py_ms, py_res = timed(py_fn, max(1, repeat // 3))
        if not same(sql_res, py_res):
            raise SystemExit(f"MISMATCH in {name}: {sql_res!r} vs {py_res!r}")
        out.append((name, sql_ms, py_ms))
    return out


def _month_spend(gid, now):
    from workbench.costs import budget
    from workbench.db import session_scope
    from workbench.models import Group

    with session_scope() as s:
        return budget.month_spend(s, s.get(Group, gid), now)


def _kept_month_spend(gid, now):
    """The month's spend as a budget check reads it once a priced call has kept it."""
    from workbench.costs import budget
    from workbench.db import session_scope
    from workbench.models import Group, GroupSpend

    with session_scope() as s:
        group = s.get(Group, gid)
        if s.get(GroupSpend, gid) is None:
            budget.add_spend(s, group, 0.0, now)
        return budget.month_spend(s, group, now)


def _dashboard(ur, gid, p):
    owner = (gid - 1) * 5 + 1  # the group's owner passes the access check
    return ur.dashboard(owner, gid, p)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--keep", action="store_true", help="keep the temporary database")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="wb-bench-usage-")
    os.environ["WORKBENCH_DATA_DIR"] = tmp
    os.environ.pop("DATABASE_URL", None)
    from workbench import db, settings

    settings.reset_settings()
    db.reset_engine()
    t0 = time.perf_counter()
    db.migrate()
    now = datetime.utcnow().replace(microsecond=0)
    info = generate(args.records, args.groups, now)
    gen_s = time.perf_counter() - t0
    size_mb = (Path(tmp) / "workbench.db").stat().st_size / 1e6
    print(f"{args.records:,} usage records, {info['runs']:,} runs, {args.groups} groups over 365 days "
          f"generated in {gen_s:.1f} s ({size_mb:.0f} MB SQLite, real migrations, no ANALYZE)")
    per_group = info["per_group"]
    median_gid = sorted(range(len(per_group)), key=lambda g: per_group[g])[len(per_group) // 2] + 1
    worst = 0.0
    for label, gid in (("largest group", 1), ("median group", median_gid)):
        n = per_group[gid - 1]
        print(f"\n{label}: group {gid}, {n:,} records a year (~{n * 30 // 365:,} in the 30 days)")
        print(f"  {'query (one group, last 30 days)':46s} {'sql ms':>8s} {'baseline ms':>12s} {'ratio':>8s}")
        for name, sql_ms, py_ms in bench_group(gid, now, args.repeat):
            worst = max(worst, sql_ms) if "dashboard()" not in name else worst
            flag = "" if sql_ms < 150 or "dashboard()" in name else "  OVER 150 ms"
            print(f"  {name:46s} {sql_ms:8.2f} {py_ms:12.1f} {py_ms / sql_ms:7.0f}x{flag}", flush=True)
    from workbench.costs import reports as ur

    p = ur.period("30d", now=now)
    cmp_ms, rows = timed(lambda: ur.compare_groups(1, p.start, p.end), 5)
    print(f"\ngroups side by side (admin, all {len(rows)} groups, 30 days): {cmp_ms:.1f} ms")
    from workbench.costs import usage_export

    owner = 1  # the first group's owner
    csv_ms, size = timed(lambda: sum(len(c) for c in usage_export.usage_csv_chunks(owner, 1, p.start, p.end, 2000)), 3)
    print(f"CSV export, largest group, 30 days, streamed in 2,000-row chunks: {csv_ms:.0f} ms, {size / 1e6:.1f} MB")
    print(f"\nslowest single dashboard query: {worst:.2f} ms (target < 150 ms)")
    db.reset_engine()
    if args.keep:
        print(f"(database kept in {tmp})")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
