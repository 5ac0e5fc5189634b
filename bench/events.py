"""Events page queries at a million events.

Builds a temporary SQLite database through the real migrations, bulk-inserts 1,000,000
events over four groups and a dozen types (append order, like the app writes them), then
times the queries the Events page makes through `workbench.observe.event_log` next to a naive
baseline measured in the same run (load the group's events, filter and sort in Python).

    python bench/events.py [--events 1000000]

Target: each page query under 100 ms."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TYPES = {  # type -> relative frequency
    "message_sent": 20, "run_started": 20, "run_completed": 18, "tool_called": 25,
    "run_failed": 2, "agent_error": 2, "thread_created": 5, "agent_updated": 2,
    "task_created": 3, "human_called": 1, "access_denied": 1, "document_added": 1,
}
TOOLS = ["create_task", "get_context", "call_human", "search_knowledge"]
RARE_WORD = "supplier-invoice-7731"  # in about 1 event in 20,000


def _data(rng: random.Random, etype: str, n: int) -> dict:
    if etype == "tool_called":
        return {"tool": rng.choice(TOOLS), "ok": rng.random() > 0.05,
                "duration_ms": round(rng.uniform(1, 900), 1)}
    if etype == "message_sent":
        return {"message_id": n, "chars": rng.randint(3, 4000)}
    if etype in ("run_completed", "run_failed"):
        return {"duration_ms": round(rng.uniform(200, 30000), 1), "steps": rng.randint(1, 9),
                "input_tokens": rng.randint(20, 9000), "output_tokens": rng.randint(5, 1500)}
    if etype == "task_created":
        title = RARE_WORD if rng.random() < 0.0015 else rng.choice(
            ["Call back the customer", "Refund order", "Check the delivery date"])
        return {"title": title, "priority": rng.choice(["low", "medium", "high"])}
    if etype == "agent_error":
        return {"error_type": "ProviderUnavailable",
                "message": "Scripted had a server error (HTTP 500)"}
    return {"thread_id": rng.randint(1, 50_000)}


def build(n_events: int):
    from sqlalchemy import insert

    from workbench import db
    from workbench.models import Event, Thing
    from workbench.system import workspace
    from workbench.tenancy import people

    db.migrate()
    with db.session_scope() as s:
        person = people.get_or_create_person(s, name="Bench", email="bench@example.com")
        pid = person.id
    gids = [workspace.create_group(pid, f"Bench group {i}").id for i in range(4)]
    with db.session_scope() as s:
        for g in gids:
            s.add_all(Thing(group_id=g, type="agent", name=f"Agent {k}") for k in range(3))
    weights = [0.55, 0.25, 0.15, 0.05]  # one big tenant, a long tail
    rng = random.Random(7)
    types, freq = list(TYPES), list(TYPES.values())
    start = datetime(2025, 1, 1)
    step = timedelta(days=120) / n_events
    t0 = time.perf_counter()
    batch_size = 50_000
    with db.get_engine().begin() as conn:
        for base in range(0, n_events, batch_size):
            rows = []
            for n in range(base, min(base + batch_size, n_events)):
                etype = rng.choices(types, freq)[0]
                agent = etype in ("tool_called", "agent_error", "task_created", "human_called")
                rows.append({
                    "group_id": rng.choices(gids, weights)[0], "type": etype,
                    "actor_type": "agent" if agent else "person",
                    "actor_id": rng.randint(1, 12) if agent else pid,
                    "target_type": "run", "target_id": n // 4,
                    "data": _data(rng, etype, n), "created_at": start + step * n})
            conn.execute(insert(Event), rows)
    print(f"inserted {n_events:,} events in {time.perf_counter() - t0:.1f} s")
    return pid, gids


def timed(fn, repeat: int = 7) -> tuple[float, object]:
    fn()  # warm the page cache
    samples, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), result


def naive(pid: int, gid: int, *, type_: str | None = None, text: str | None = None,
          limit: int = 50) -> list:
    """The baseline: every event of the group into Python, then filter, sort and cut."""
    from sqlalchemy import select

    from workbench import db
    from workbench.models import Event
    from workbench.tenancy.access import require_access

    with db.session_scope() as s:
        require_access(s, pid, gid)
        rows = s.execute(select(Event.id, Event.created_at, Event.type, Event.actor_type,
                                Event.actor_id, Event.target_type, Event.target_id, Event.data)
                         .where(Event.group_id == gid)).all()
    if type_:
        rows = [r for r in rows if r.type == type_]
    if text:
        needle = text.lower()
        rows = [r for r in rows if needle in str(r.data).lower()]
    rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    return rows[:limit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WORKBENCH_DATA_DIR"] = tmp
        os.environ.pop("DATABASE_URL", None)
        from workbench import db, settings
        from workbench.observe import event_log

        settings.reset_settings()
        db.reset_engine()
        pid, gids = build(args.events)
        big = gids[0]
        print(f"group {big}: {event_log.count_events(pid, big):,} events")
        L = event_log.list_events

        base_ms, _ = timed(lambda: naive(pid, big), repeat=3)
        base_f_ms, _ = timed(lambda: naive(pid, big, type_="task_created", text="refund"), repeat=3)
        print(f"\nbaseline (load the group's events, filter/sort in Python): "
              f"first page {base_ms:.0f} ms, type+text {base_f_ms:.0f} ms\n")

        deep = L(pid, big, limit=50)
        for _ in range(200):  # 200 pages deep = 10,000 events back
            deep = L(pid, big, limit=50, before=deep.older_cursor)
        cases = [
            ("first page", lambda: L(pid, big, limit=50), base_ms),
            ("page 201 (keyset cursor)", lambda: L(pid, big, limit=50, before=deep.older_cursor), base_ms),
            ("previous page (after=)", lambda: L(pid, big, limit=50, after=deep.newer_cursor), base_ms),
            ("type filter", lambda: L(pid, big, type="tool_called", limit=50), base_ms),
            ("two types", lambda: L(pid, big, type=["run_failed", "agent_error"], limit=50), base_ms),
            ("actor filter", lambda: L(pid, big, actor="agent:3", limit=50), base_ms),
            ("last 7 days", lambda: L(pid, big, since=datetime(2025, 4, 24), limit=50), base_ms),
            ("type + text (common)", lambda: L(pid, big, type="task_created", text="refund", limit=50),
             base_f_ms),
            ("text only (common)", lambda: L(pid, big, text="create_task", limit=50), base_f_ms),
            ("type + text (rare)", lambda: L(pid, big, type="task_created", text=RARE_WORD, limit=50),
             base_f_ms),
            ("text only (rare, window)", lambda: L(pid, big, text=RARE_WORD, limit=50), base_f_ms),
            ("distinct types", lambda: event_log.event_types(pid, big), base_ms),
        ]
        print(f"{'query':32} {'ms':>8} {'baseline ms':>12} {'speed-up':>9}  rows")
        for name, fn, base in cases:
            ms, page = timed(fn)
            rows = len(page.events) if hasattr(page, "events") else len(page)
            note = " (window exhausted)" if getattr(page, "window_exhausted", False) else ""
            flag = "" if ms < 100 else "  OVER 100 ms"
            print(f"{name:32} {ms:8.1f} {base:12.0f} {base / ms:8.0f}x  {rows}{note}{flag}")

        from sqlalchemy import text as sql
        with db.session_scope() as s:
            t = time.perf_counter()
            s.execute(sql("SELECT DISTINCT type FROM events WHERE group_id = :g"), {"g": big}).all()
            print(f"\n(plain SELECT DISTINCT type for comparison: "
                  f"{(time.perf_counter() - t) * 1000:.1f} ms)")
        found, pages, t = 0, 0, time.perf_counter()
        page = L(pid, big, text=RARE_WORD, limit=50)
        while True:
            found, pages = found + len(page.events), pages + 1
            if not page.older_cursor:
                break
            page = L(pid, big, text=RARE_WORD, limit=50, before=page.older_cursor)
        print(f"rare search through the whole group by 'search older': {found} hits, {pages} "
              f"requests, {(time.perf_counter() - t) * 1000:.0f} ms in all")
        db.reset_engine()


if __name__ == "__main__":
    main()
