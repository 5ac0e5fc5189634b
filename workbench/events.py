"""The event log: every state change, tool call and error of a group, with who did it.
Secrets are scrubbed from event data before it is written."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .db import insert_row
from .models import Event, utcnow

_SECRET_KEYS = re.compile(r"(api[_-]?key|authorization|secret|password|token(?!s))", re.I)
_SECRET_VALUES = re.compile(r"(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,})")


def redact(value: Any) -> Any:
    """A copy of `value` with secret-looking keys and values replaced by "[redacted]"."""
    if isinstance(value, dict):
        return {k: ("[redacted]" if isinstance(k, str) and _SECRET_KEYS.search(k)
                    and not k.endswith("_name") else redact(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUES.sub("[redacted]", value)
    return value


def record(session: Session, type: str, *, group_id: int | None, actor_id: int | None = None,
           actor_type: str = "person", target_type: str | None = None,
           target_id: int | None = None, data: dict[str, Any] | None = None,
           created_at: datetime | None = None) -> Event:
    """Write an event in the session's transaction, at once: a plain INSERT, not a pending
    object (events are on the way to every first token). Returns a detached copy."""
    values = _values(type, group_id=group_id, actor_id=actor_id, actor_type=actor_type,
                     target_type=target_type, target_id=target_id, data=data, created_at=created_at)
    return Event(id=insert_row(session, Event, **values), **values)


def record_many(session: Session, items: list[tuple[str, dict[str, Any]]]) -> None:
    """Write several events in one INSERT: [(type, the keyword arguments of `record`)]."""
    session.connection().execute(insert(Event.__table__), [_values(type, **kw) for type, kw in items])


def _values(type: str, *, group_id: int | None, actor_id: int | None = None, actor_type: str = "person",
            target_type: str | None = None, target_id: int | None = None,
            data: dict[str, Any] | None = None, created_at: datetime | None = None) -> dict[str, Any]:
    return dict(type=type, group_id=group_id, actor_id=actor_id, actor_type=actor_type,
                target_type=target_type, target_id=target_id, data=redact(data or {}),
                created_at=created_at or utcnow())
