"""Test sets: named lists of cases of a group. A case is an input (one message, or a short
conversation), an optional expected answer and optional checks. Every save of the cases is
a new immutable version (like agent versions), so an experiment records exactly what it
ran; a case keeps its `key` across versions, so two experiments match case by case."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import NotFound, ValidationError
from ..models import Message, Run, TestSet, TestSetVersion, utcnow
from ..playground.variants import clean_conversation
from ..tenancy.access import require_access
from ..threads.store import load_thread
from .checks import normalize_check

MAX_CASES = 2000
NAME_MAX = TestSet.name.type.length


class TestSetNotFound(NotFound):
    __test__ = False
    default_message = "That test set does not exist in this group."


@dataclass
class TestSetView:
    __test__ = False
    id: int
    group_id: int
    name: str
    description: str
    version: int
    version_id: int
    cases: list[dict[str, Any]]
    updated_at: datetime


def normalize_case(raw: Any, where: str = "") -> dict[str, Any]:
    """A case dict validated: input (text or turns), expected (text or None), checks, key."""
    if not isinstance(raw, dict):
        raise ValidationError(f"{where}a case must be an object with an input.")
    data = raw.get("input")
    if isinstance(data, list):
        turns = clean_conversation(data)
        value: Any = turns if len(turns) > 1 else turns[0]["content"]
    elif isinstance(data, str) and data.strip():
        value = clean_conversation(data)[0]["content"]
    else:
        raise ValidationError(field_errors={"input": f"{where}the input is empty."})
    expected = raw.get("expected")
    expected = None if expected is None or (isinstance(expected, str) and not expected.strip()) else str(expected)
    checks = raw.get("checks") or []
    if not isinstance(checks, list):
        raise ValidationError(field_errors={"checks": f"{where}checks must be a list."})
    key = str(raw.get("key") or uuid.uuid4().hex[:12])[:64]
    return {"key": key, "input": value, "expected": expected, "checks": [normalize_check(c) for c in checks]}


def conversation_of(case: dict[str, Any]) -> list[dict[str, Any]]:
    """A case's input as the turns sent to the agent."""
    return clean_conversation(case["input"])


def _load(s: Session, actor_id: int, test_set_id: int, role: str = "viewer") -> TestSet:
    ts = s.get(TestSet, test_set_id) if isinstance(test_set_id, int) else None
    if ts is None:
        raise TestSetNotFound()
    require_access(s, actor_id, ts.group_id, role)
    return ts


def latest_version(s: Session, test_set_id: int) -> TestSetVersion:
    return s.scalar(select(TestSetVersion).where(TestSetVersion.test_set_id == test_set_id)
                    .order_by(TestSetVersion.version.desc()).limit(1))


def _view(ts: TestSet, v: TestSetVersion) -> TestSetView:
    return TestSetView(id=ts.id, group_id=ts.group_id, name=ts.name, description=ts.description,
                       version=v.version, version_id=v.id, cases=list(v.cases), updated_at=ts.updated_at)


def _clean_name(s: Session, group_id: int, name: str, own_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(field_errors={"name": "Give the test set a name."})
    if len(name) > NAME_MAX:
        raise ValidationError(field_errors={"name": f"At most {NAME_MAX} characters."})
    taken = s.scalar(select(TestSet.id).where(TestSet.group_id == group_id, TestSet.name == name))
    if taken is not None and taken != own_id:
        raise ValidationError(field_errors={"name": f"This group already has a test set named {name!r}."})
    return name


def save_version_in_session(s: Session, ts: TestSet, actor_id: int, cases: list[dict[str, Any]],
                            note: str | None = None) -> TestSetVersion:
    if len(cases) > MAX_CASES:
        raise ValidationError(f"At most {MAX_CASES} cases in a test set.")
    keys = [c["key"] for c in cases]
    if len(set(keys)) != len(keys):
        raise ValidationError("Two cases share a key.")
    number = (s.scalar(select(func.max(TestSetVersion.version)).where(TestSetVersion.test_set_id == ts.id)) or 0) + 1
    version = TestSetVersion(test_set_id=ts.id, group_id=ts.group_id, version=number, cases=cases,
                             note=(note or None) and note[:500], created_by=actor_id)
    s.add(version)
    ts.updated_at = utcnow()
    s.flush()
    return version


def create_test_set(actor_id: int, group_id: int, name: str, description: str = "",
                    cases: list[dict[str, Any]] | None = None) -> TestSetView:
    cleaned = [normalize_case(c, f"Case {i + 1}: ") for i, c in enumerate(cases or [])]
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")
        ts = TestSet(group_id=group_id, name=_clean_name(s, group_id, name),
                     description=(description or "").strip(), created_by=actor_id)
        s.add(ts)
        s.flush()
        version = save_version_in_session(s, ts, actor_id, cleaned, "created")
        events.record(s, "test_set_created", group_id=group_id, actor_id=actor_id, target_type="test_set",
                      target_id=ts.id, data={"name": ts.name, "cases": len(cleaned)})
        return _view(ts, version)


def update_test_set(actor_id: int, test_set_id: int, *, name: str | None = None,
                    description: str | None = None) -> TestSetView:
    with session_scope() as s:
        ts = _load(s, actor_id, test_set_id, "editor")
        if name is not None:
            ts.name = _clean_name(s, ts.group_id, name, ts.id)
        if description is not None:
            ts.description = description.strip()
        ts.updated_at = utcnow()
        return _view(ts, latest_version(s, ts.id))


def save_cases(actor_id: int, test_set_id: int, cases: list[dict[str, Any]], note: str | None = None) -> TestSetView:
    """Replace the cases: a new version. Cases keep their keys (so experiments match them)."""
    cleaned = [normalize_case(c, f"Case {i + 1}: ") for i, c in enumerate(cases)]
    with session_scope() as s:
        ts = _load(s, actor_id, test_set_id, "editor")
        current = latest_version(s, ts.id)
        if current.cases == cleaned:
            return _view(ts, current)
        version = save_version_in_session(s, ts, actor_id, cleaned, note)
        events.record(s, "test_set_saved", group_id=ts.group_id, actor_id=actor_id, target_type="test_set",
                      target_id=ts.id, data={"version": version.version, "cases": len(cleaned)})
        return _view(ts, version)


def add_case(actor_id: int, test_set_id: int, case: dict[str, Any]) -> TestSetView:
    """Append one case (a new version)."""
    cleaned = normalize_case(case)
    with session_scope() as s:
        ts = _load(s, actor_id, test_set_id, "editor")
        version = save_version_in_session(s, ts, actor_id, list(latest_version(s, ts.id).cases) + [cleaned],
                                          "case added")
        return _view(ts, version)


def get_test_set(actor_id: int, test_set_id: int, version: int | None = None) -> TestSetView:
    with session_scope() as s:
        ts = _load(s, actor_id, test_set_id)
        v = latest_version(s, ts.id) if version is None else s.scalar(select(TestSetVersion).where(
            TestSetVersion.test_set_id == ts.id, TestSetVersion.version == int(version)))
        if v is None:
            raise NotFound(f"Test set {ts.name!r} has no version {version}.")
        return _view(ts, v)


def find_test_set(actor_id: int, group_id: int, name: str) -> TestSetView:
    """By name (the CLI's way of naming one)."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        ts = s.scalar(select(TestSet).where(TestSet.group_id == group_id, TestSet.name == (name or "").strip()))
        if ts is None:
            raise TestSetNotFound(f"There is no test set named {name!r} in this group.")
        return _view(ts, latest_version(s, ts.id))


def list_test_sets(actor_id: int, group_id: int) -> list[TestSetView]:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        sets = s.scalars(select(TestSet).where(TestSet.group_id == group_id).order_by(TestSet.name)).all()
        return [_view(ts, latest_version(s, ts.id)) for ts in sets]


def list_test_set_versions(actor_id: int, test_set_id: int) -> list[dict[str, Any]]:
    """Every version, newest first: number, time, note, author id, number of cases."""
    with session_scope() as s:
        ts = _load(s, actor_id, test_set_id)
        rows = s.scalars(select(TestSetVersion).where(TestSetVersion.test_set_id == ts.id)
                         .order_by(TestSetVersion.version.desc())).all()
        return [{"version": v.version, "created_at": v.created_at, "note": v.note, "author_id": v.created_by,
                 "cases": len(v.cases)} for v in rows]


# --- "Add to test set" from a chat message or a trace ---------------------------------------

def case_from_message(actor_id: int, message_id: int, with_reply: bool = True) -> dict[str, Any]:
    """A draft case from a chat message: the user message it answers (or is), and optionally
    the agent's reply as the expected answer. Nothing is saved."""
    with session_scope() as s:
        msg = s.get(Message, message_id) if isinstance(message_id, int) else None
        if msg is None:
            raise NotFound("That message does not exist.")
        load_thread(s, actor_id, msg.thread_id)
        if msg.role == "user":
            user, reply = msg, s.scalar(select(Message).where(
                Message.thread_id == msg.thread_id, Message.seq > msg.seq, Message.role == "assistant",
                Message.content != "").order_by(Message.seq).limit(1))
        else:
            reply = msg
            user = s.scalar(select(Message).where(Message.thread_id == msg.thread_id, Message.seq < msg.seq,
                                                  Message.role == "user").order_by(Message.seq.desc()).limit(1))
        if user is None:
            raise ValidationError("This message answers no user message.")
        return {"input": user.content, "expected": reply.content if with_reply and reply is not None else None,
                "checks": []}


def case_from_run(actor_id: int, run_id: int, with_reply: bool = True) -> dict[str, Any]:
    """A draft case from a traced run: its user message and, optionally, its reply."""
    with session_scope() as s:
        run = s.get(Run, run_id) if isinstance(run_id, int) else None
        if run is None:
            raise NotFound("That run does not exist.")
        require_access(s, actor_id, run.group_id)
        message_id = run.user_message_id
        if message_id is None:
            raise ValidationError("This run has no user message to test with.")
        user = s.get(Message, message_id)
        reply = s.get(Message, run.reply_message_id) if run.reply_message_id else None
        return {"input": user.content, "expected": reply.content if with_reply and reply is not None
                and reply.content else None, "checks": []}
