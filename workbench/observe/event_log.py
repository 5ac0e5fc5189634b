"""Reading the event log: filtered, searchable, keyset-paginated on (created_at, id) so a
page costs the same at the millionth event as at the first; distinct types; exports.

Every query walks one of the events indexes (group + time, group + type + time, group +
actor + time) newest first and stops after a page. A text search in the metadata cannot
use an index, so it only scans a bounded window of rows (SEARCH_WINDOW) per request; when
the window ends before a page is full the page says so and its `older_cursor` continues
the search from there ("search older")."""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ..db import session_scope
from ..errors import ValidationError
from ..models import Connection, Event, Person, Thing
from ..tenancy.access import MEMBER_OF, require_access

MAX_PAGE = 500
SEARCH_WINDOW = 50_000  # rows a text search examines per request (~30 ms at 1M events)
EXPORT_MAX_ROWS = 100_000
_BATCH = 2_000


@dataclass(frozen=True)
class EventFilters:
    """What the Events page filters by. `types` empty means every type; `actor` is
    "person:3", "agent:7" or "system"; `text` searches the metadata (case-insensitive)."""

    types: tuple[str, ...] = ()
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


@dataclass
class EventRow:
    id: int
    created_at: datetime
    type: str
    actor_type: str
    actor_id: int | None
    actor_name: str
    target_type: str | None
    target_id: int | None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return f"{self.target_type} #{self.target_id}" if self.target_type else ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.created_at.isoformat(), "type": self.type,
                "actor_type": self.actor_type, "actor_id": self.actor_id,
                "actor_name": self.actor_name, "target_type": self.target_type,
                "target_id": self.target_id, "data": self.data}


@dataclass
class EventPage:
    events: list[EventRow]  # newest first
    newer_cursor: str | None  # pass as `after=` for the previous (newer) page
    older_cursor: str | None  # pass as `before=` for the next (older) page
    has_newer: bool
    has_older: bool
    window_exhausted: bool = False  # a text search stopped at its scan window, not the end


# --- cursors -----------------------------------------------------------------------------

def encode_cursor(created_at: datetime, event_id: int) -> str:
    raw = f"{created_at.isoformat()}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, event_id = raw.split("|", 1)
        return datetime.fromisoformat(when), int(event_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(field_errors={"cursor": "That page link is not valid; start "
                                                      "from the first page."}) from exc


def _older_than(key: tuple[datetime, int]):
    # The plain `created_at <= t` gives the index a range; the OR settles ties on id.
    when, event_id = key
    return and_(Event.created_at <= when, or_(Event.created_at < when, Event.id < event_id))


def _newer_than(key: tuple[datetime, int]):
    when, event_id = key
    return and_(Event.created_at >= when, or_(Event.created_at > when, Event.id > event_id))


# --- filters -----------------------------------------------------------------------------

def _parse_actor(actor: str | None) -> tuple[str, int | None] | None:
    if not actor:
        return None
    kind, _, ident = actor.partition(":")
    if kind not in ("person", "agent", "system") or (ident and not ident.isdigit()):
        raise ValidationError(field_errors={"actor": f"Unknown actor {actor!r}."})
    return kind, int(ident) if ident else None


def _indexed_conditions(group_id: int, f: EventFilters) -> list:
    """Conditions an index serves: group, type, actor, time."""
    conds = [Event.group_id == group_id]
    if f.types:
        conds.append(Event.type == f.types[0] if len(f.types) == 1 else Event.type.in_(f.types))
    actor = _parse_actor(f.actor)
    if actor is not None:
        kind, ident = actor
        conds.append(Event.actor_type == kind)
        if ident is not None:
            conds.append(Event.actor_id == ident)
    if f.since is not None:
        conds.append(Event.created_at >= f.since)
    if f.until is not None:
        conds.append(Event.created_at < f.until)
    return conds


def _text_condition(session: Session, text: str):
    needle = text.strip()
    if len(needle) > 200:
        raise ValidationError(field_errors={"text": "Search for at most 200 characters."})
    # Metadata is stored as JSON text: search the JSON form, so quotes and non-ASCII
    # characters are compared as they are stored.
    needle = json.dumps(needle)[1:-1]
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    column = cast(Event.data, Text)
    if session.get_bind().dialect.name == "sqlite":  # LIKE is already case-insensitive there
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _window_bound(s: Session, conds: list, newest_first: bool) -> tuple[datetime, int] | None:
    """The key of the last row of the search window: an index-only walk, no row reads."""
    order = ((Event.created_at.desc(), Event.id.desc()) if newest_first
             else (Event.created_at.asc(), Event.id.asc()))
    row = s.execute(select(Event.created_at, Event.id).where(*conds).order_by(*order)
                    .offset(SEARCH_WINDOW - 1).limit(1)).first()
    return (row[0], row[1]) if row else None


def _normalise(filters: EventFilters | None, kw: dict[str, Any]) -> EventFilters:
    if filters is not None:
        return filters
    types = kw.get("type") or kw.get("types") or ()
    types = (types,) if isinstance(types, str) else tuple(types)
    return EventFilters(types=types, actor=kw.get("actor"), since=kw.get("since"),
                        until=kw.get("until"), text=(kw.get("text") or None))


# --- reading -----------------------------------------------------------------------------

def list_events(actor_id: int, group_id: int, filters: EventFilters | None = None, *,
                limit: int = 50, before: str | None = None, after: str | None = None,
                **filter_kw: Any) -> EventPage:
    """One page of the group's events, newest first. Filters come as an EventFilters or as
    keywords (type=, actor=, since=, until=, text=). `before` (older page) and `after`
    (newer page) take the cursors of a previous page."""
    f = _normalise(filters, filter_kw)
    limit = max(1, min(int(limit), MAX_PAGE))
    backwards = after is not None and before is None  # walking towards newer events
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        conds = _indexed_conditions(group_id, f)
        if before is not None:
            conds.append(_older_than(decode_cursor(before)))
        elif after is not None:
            conds.append(_newer_than(decode_cursor(after)))
        window_end = None
        if f.text:
            window_end = _window_bound(s, conds, newest_first=not backwards)
            if window_end is not None:  # the window's own last row is still inside it
                conds.append(_older_than((window_end[0], window_end[1] + 1)) if backwards
                             else _newer_than((window_end[0], window_end[1] - 1)))
            conds.append(_text_condition(s, f.text))
        order = ((Event.created_at.asc(), Event.id.asc()) if backwards
                 else (Event.created_at.desc(), Event.id.desc()))
        rows = list(s.scalars(select(Event).where(*conds).order_by(*order).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        names = _actor_names(s, rows)
        events = [_row(e, names) for e in rows]
    exhausted = window_end is not None and not more
    first = (events[0].created_at, events[0].id) if events else None
    last = (events[-1].created_at, events[-1].id) if events else None
    if not events and (before or after):  # an empty page still links back to its cursor row
        when, event_id = decode_cursor(before or after)
        first = last = (when, event_id - 1) if before else (when, event_id + 1)
    if backwards:
        has_newer, has_older = more or exhausted, True
        if exhausted:  # the search goes on past the window
            first = window_end
    else:
        has_newer, has_older = before is not None, more or exhausted
        if exhausted:
            last = window_end
    return EventPage(events=events,
                     newer_cursor=encode_cursor(*first) if first and has_newer else None,
                     older_cursor=encode_cursor(*last) if last and has_older else None,
                     has_newer=has_newer, has_older=has_older, window_exhausted=exhausted)


def event_types(actor_id: int, group_id: int) -> list[str]:
    """The distinct event types of the group, by name: a loose index scan (one index seek
    per type) instead of reading every event."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        query = sql_text("""
            WITH RECURSIVE t(type) AS (
                SELECT MIN(type) FROM events WHERE group_id = :g
                UNION ALL
                SELECT (SELECT MIN(type) FROM events WHERE group_id = :g AND type > t.type)
                FROM t WHERE t.type IS NOT NULL)
            SELECT type FROM t WHERE type IS NOT NULL""")
        return [r[0] for r in s.execute(query, {"g": group_id})]


def event_actors(actor_id: int, group_id: int) -> list[tuple[str, str]]:
    """(value, label) pairs for the actor filter: the group's people and agents, and system."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        people = s.execute(select(Person.id, Person.name).join(
            Connection, Connection.source_id == Person.id).where(
            Connection.type == MEMBER_OF, Connection.source_type == "person",
            Connection.target_type == "group", Connection.target_id == group_id)
            .order_by(Person.name)).all()
        agents = s.execute(select(Thing.id, Thing.name).where(
            Thing.group_id == group_id, Thing.type == "agent").order_by(Thing.name)).all()
    return ([(f"person:{i}", f"{n} (person)") for i, n in people]
            + [(f"agent:{i}", f"{n} (agent)") for i, n in agents] + [("system", "System")])


def _actor_names(s: Session, rows: list[Event]) -> dict[tuple[str, int], str]:
    people = {e.actor_id for e in rows if e.actor_type == "person" and e.actor_id is not None}
    agents = {e.actor_id for e in rows if e.actor_type == "agent" and e.actor_id is not None}
    names: dict[tuple[str, int], str] = {}
    if people:
        names.update({("person", i): n for i, n in
                      s.execute(select(Person.id, Person.name).where(Person.id.in_(people)))})
    if agents:
        names.update({("agent", i): n for i, n in
                      s.execute(select(Thing.id, Thing.name).where(Thing.id.in_(agents)))})
    return names


def _row(e: Event, names: dict[tuple[str, int], str]) -> EventRow:
    if e.actor_id is None:
        name = e.actor_type
    else:
        name = names.get((e.actor_type, e.actor_id), f"{e.actor_type} #{e.actor_id}")
    return EventRow(id=e.id, created_at=e.created_at, type=e.type, actor_type=e.actor_type,
                    actor_id=e.actor_id, actor_name=name, target_type=e.target_type,
                    target_id=e.target_id, data=dict(e.data or {}))


# --- exports -----------------------------------------------------------------------------

def iter_events(actor_id: int, group_id: int, filters: EventFilters | None = None, *,
                max_rows: int = EXPORT_MAX_ROWS, **filter_kw: Any):
    """Every matching event, newest first, in keyset batches (at most `max_rows`)."""
    f = _normalise(filters, filter_kw)
    cursor, sent = None, 0
    while sent < max_rows:
        page = list_events(actor_id, group_id, f, limit=min(_BATCH, max_rows - sent), before=cursor)
        yield from page.events
        sent += len(page.events)
        if not page.older_cursor:
            return
        cursor = page.older_cursor


EXPORT_COLUMNS = ["id", "created_at", "type", "actor_type", "actor_id", "actor_name",
                  "target_type", "target_id", "data"]


def export_events_csv(actor_id: int, group_id: int, filters: EventFilters | None = None, *,
                      max_rows: int = EXPORT_MAX_ROWS, **filter_kw: Any) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    for e in iter_events(actor_id, group_id, filters, max_rows=max_rows, **filter_kw):
        d = e.as_dict()
        d["data"] = json.dumps(d["data"], ensure_ascii=False, sort_keys=True)
        writer.writerow([d[c] if d[c] is not None else "" for c in EXPORT_COLUMNS])
    return buf.getvalue()


def export_events_json(actor_id: int, group_id: int, filters: EventFilters | None = None, *,
                       max_rows: int = EXPORT_MAX_ROWS, **filter_kw: Any) -> str:
    rows = [e.as_dict() for e in iter_events(actor_id, group_id, filters, max_rows=max_rows,
                                             **filter_kw)]
    return json.dumps({"group_id": group_id, "count": len(rows), "events": rows},
                      ensure_ascii=False, indent=1)


def count_events(actor_id: int, group_id: int) -> int:
    """All events of the group (an index-only count)."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        return s.scalar(select(func.count()).select_from(Event)
                        .where(Event.group_id == group_id)) or 0
