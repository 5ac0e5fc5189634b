"""Opening a thread: the newest page of a 10,000-message thread against a 10-message one,
and against loading the whole long thread (the naive way), in the same run.

    python bench/threads.py

Prints median milliseconds per open and the ratios; the long thread should open about as
fast as the short one (ratio near 1), because reads are keyset-paginated on (thread, seq)."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _median_ms(fn, repeat: int = 50) -> float:
    fn()  # warm caches
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="bench-threads-")
    os.environ["WORKBENCH_DATA_DIR"] = tmp
    os.environ.pop("DATABASE_URL", None)
    from sqlalchemy import insert, select, update

    from workbench import runs, threads
    from workbench.db import session_scope
    from workbench.models import Message, Thread, utcnow
    from workbench.system import bootstrap

    start = bootstrap.init_app()
    person, group, agent = start.person_id, start.group_id, start.agent_id

    def make_thread(n: int) -> int:
        thread, _ = runs.create_thread(group, agent, person, title=f"{n} messages")
        now = utcnow()
        rows = [{"thread_id": thread.id, "group_id": group, "seq": i + 1,
                 "role": "user" if i % 2 == 0 else "assistant",
                 "content": f"message {i} " + "lorem ipsum dolor sit amet " * 8, "status": "complete",
                 "data": {}, "created_at": now} for i in range(n)]
        with session_scope() as s:
            for i in range(0, n, 2000):
                s.execute(insert(Message), rows[i:i + 2000])
            s.execute(update(Thread).where(Thread.id == thread.id).values(message_count=n))
        return thread.id

    short, medium, long_ = make_thread(10), make_thread(100), make_thread(10_000)
    open_short = _median_ms(lambda: threads.get_thread_messages(short, limit=50, actor_id=person))
    open_medium = _median_ms(lambda: threads.get_thread_messages(medium, limit=50, actor_id=person))
    open_long = _median_ms(lambda: threads.get_thread_messages(long_, limit=50, actor_id=person))
    page = threads.get_thread_messages(long_, limit=50, actor_id=person)
    older = _median_ms(lambda: threads.get_thread_messages(long_, limit=50, before=page.oldest_seq,
                                                           actor_id=person))

    def load_everything():
        with session_scope() as s:
            return list(s.scalars(select(Message).where(Message.thread_id == long_).order_by(Message.seq)))

    naive = _median_ms(load_everything, repeat=10)
    print(f"open  10-message thread (newest 50):      {open_short:7.2f} ms")
    print(f"open  100-message thread (newest 50):     {open_medium:7.2f} ms")
    print(f"open  10,000-message thread (newest 50):  {open_long:7.2f} ms   "
          f"ratio to 10: {open_long / open_short:.2f}, to 100 (same page size): {open_long / open_medium:.2f}")
    print(f"load older page of the long thread:       {older:7.2f} ms")
    print(f"naive: load the whole long thread:        {naive:7.2f} ms   paginated is {naive / open_long:.0f}x faster")


if __name__ == "__main__":
    main()
