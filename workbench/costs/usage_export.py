"""The Usage page's CSV export: a group's usage records of a period, streamed from SQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select

from ..db import session_scope
from ..models import Person, Thing, UsageRecord
from ..tenancy.access import require_access
from .reports import in_period

CSV_COLUMNS = ["time_utc", "provider", "model", "agent", "person", "thread_id", "run_id",
               "input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens",
               "tokens_estimated", "cost_usd", "default_price", "duration_ms", "ttft_ms"]


def _cell(value):
    # A spreadsheet runs a cell that starts with = + - @ as a formula: neutralise names.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def usage_csv_chunks(actor_id: int, group_id: int, start: datetime, end: datetime,
                     chunk_rows: int = 2000, *, caller: int | str | None = None) -> Iterator[str]:
    """The group's usage records of [start, end) as CSV text, header first, streamed from
    SQL `chunk_rows` at a time (a server-side cursor where the database has one), so an
    export never holds the records in memory. Access is checked before the first chunk.
    `caller` narrows it like the dashboard (reports.APP, or an API key's id)."""
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
    conds = in_period(group_id, start, end, caller)  # a bad caller is refused now, not mid-download
    return _csv_stream(conds, max(1, chunk_rows))


def _csv_stream(conds: tuple, chunk_rows: int) -> Iterator[str]:
    u = UsageRecord
    stmt = (select(u.created_at, u.provider, u.model, Thing.name, Person.name, u.thread_id, u.run_id,
                   u.input_tokens, u.output_tokens, u.cached_input_tokens, u.reasoning_tokens,
                   u.estimated, u.cost_usd, u.price_is_default, u.duration_ms, u.ttft_ms)
            .outerjoin(Thing, Thing.id == u.agent_id).outerjoin(Person, Person.id == u.person_id)
            .where(*conds).order_by(u.created_at, u.id)
            .execution_options(yield_per=chunk_rows, stream_results=True))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    with session_scope() as s:
        for part in s.execute(stmt).partitions():
            buf.seek(0)
            buf.truncate()
            for row in part:
                when, *rest = row
                writer.writerow([when.isoformat(sep=" ", timespec="seconds"),
                                 *(_cell(v) for v in rest[:11]), f"{rest[11]:.8f}", *rest[12:]])
            yield buf.getvalue()


def write_usage_csv(actor_id: int, group_id: int, start: datetime, end: datetime, fh: BinaryIO, *,
                    caller: int | str | None = None) -> int:
    """Stream the CSV into a binary file; returns the bytes written."""
    written = 0
    for chunk in usage_csv_chunks(actor_id, group_id, start, end, caller=caller):
        written += fh.write(chunk.encode("utf-8"))
    return written
