"""The access check at scale.

Builds a temporary SQLite database through the real migrations with many groups and
memberships (every person in a few groups), then times `access.require_access` (allowed,
and denied: the denial writes an access_denied event in its own transaction) and
`groups.list_my_groups` next to a baseline measured in the same run: a primary-key read
of the group row in the same session, the least work any service does anyway.

    python bench/access.py [--people 20000] [--groups 2000]"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _time(fn, n: int) -> float:
    """Median microseconds per call over `n` calls."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--groups", type=int, default=2_000)
    ap.add_argument("--per-person", type=int, default=3)
    ap.add_argument("--calls", type=int, default=2_000)
    args = ap.parse_args()
    os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-access-")
    os.environ["WORKBENCH_SECRETS_FILE"] = os.path.join(os.environ["WORKBENCH_DATA_DIR"], "none.toml")

    from sqlalchemy import insert

    from workbench import db
    from workbench.errors import AccessDenied
    from workbench.models import Connection, Group, Person
    from workbench.tenancy import access, groups

    db.migrate()
    rng = random.Random(7)
    with db.session_scope() as s:
        s.execute(insert(Group), [{"id": g, "name": f"G{g}", "plan": "starter"}
                                  for g in range(1, args.groups + 1)])
        s.execute(insert(Person), [{"id": p, "name": f"P{p}", "email": f"p{p}@example.com"}
                                   for p in range(1, args.people + 1)])
        rows = []
        for p in range(1, args.people + 1):
            for g in rng.sample(range(1, args.groups + 1), args.per_person):
                rows.append({"group_id": g, "type": access.MEMBER_OF, "source_type": "person",
                             "source_id": p, "target_type": "group", "target_id": g,
                             "role": rng.choice(list(access.ROLES)), "data": {}})
        s.execute(insert(Connection), rows)
    print(f"{args.people:,} people, {args.groups:,} groups, {len(rows):,} memberships")

    with db.session_scope() as s:
        member = [(r["source_id"], r["target_id"]) for r in rng.sample(rows, 200)]
        outsider_gid = next(g for g in range(1, args.groups + 1)
                            if (1, g) not in {(r["source_id"], r["target_id"]) for r in rows[:10]})
        it = itertools.cycle(member)

        def baseline():
            s.get(Group, next(it)[1], populate_existing=True)

        def allowed():
            p, g = next(it)
            access.require_access(s, p, g, "viewer")

        def denied():
            try:
                access.require_access(s, 1, outsider_gid, "viewer")
            except AccessDenied:
                pass

        base = _time(baseline, args.calls)
        ok = _time(allowed, args.calls)
        no = _time(denied, max(50, args.calls // 20))
    mine = _time(lambda: groups.list_my_groups(rng.randint(1, args.people)), max(50, args.calls // 10))
    print(f"baseline  group by primary key   {base:8.1f} µs")
    print(f"allowed   require_access         {ok:8.1f} µs   x{ok / base:.2f} baseline")
    print(f"denied    require_access + event {no:8.1f} µs   x{no / base:.2f} baseline")
    print(f"          list_my_groups         {mine:8.1f} µs   x{mine / base:.2f} baseline (own session)")


if __name__ == "__main__":
    main()
