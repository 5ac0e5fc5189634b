"""Version labels and agent references. A label (`production`, `staging`, any word) points at
one version of an agent; moving it is one action, recorded as an event, and whoever names the
label gets the version it points to at that moment. A reference names an agent by id or exact
name, optionally at a version or a label: `12`, `12@3`, `12@production`, `Support bot@staging`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import AgentNotFound, ValidationError
from ..models import AgentLabel, AgentVersion, Person, Thing, utcnow
from ..tenancy.access import require_access
from .definitions import AGENT, load_agent
from .versions import version_in_session

LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")
LATEST = "latest"  # not a stored label: always the newest version


@dataclass(frozen=True)
class LabelInfo:
    label: str
    version: int
    version_id: int
    updated_at: datetime
    updated_by: str | None


@dataclass(frozen=True)
class ResolvedAgent:
    """What a reference named: the agent, the version it resolves to now, and how."""

    agent_id: int
    group_id: int
    name: str
    version: int
    version_id: int
    label: str | None  # the label named, if any


def validate_label(label: str | None) -> str:
    text = (label or "").strip().lower()
    if not LABEL_PATTERN.match(text):
        raise ValidationError(field_errors={"label": (
            "A label is a word of at most 40 characters: a letter first, then letters, digits, "
            "'-', '_' or '.' (for example production or staging).")})
    if text == LATEST:
        raise ValidationError(field_errors={"label": "'latest' always means the newest version; pick another word."})
    return text


def _labels(s: Session, agent_id: int) -> list[LabelInfo]:
    rows = s.execute(select(AgentLabel, AgentVersion.version, Person.name)
                     .join(AgentVersion, AgentVersion.id == AgentLabel.version_id)
                     .outerjoin(Person, Person.id == AgentLabel.updated_by)
                     .where(AgentLabel.agent_id == agent_id).order_by(AgentLabel.label)).all()
    return [LabelInfo(lab.label, version, lab.version_id, lab.updated_at, who) for lab, version, who in rows]


def list_labels(actor_id: int, agent_id: int) -> list[LabelInfo]:
    """The agent's labels, by name, each with the version it points to."""
    with session_scope() as s:
        thing = load_agent(s, agent_id)
        require_access(s, actor_id, thing.group_id)
        return _labels(s, agent_id)


def labels_by_agent(actor_id: int, group_id: int) -> dict[int, dict[str, int]]:
    """{agent id: {label: version number}} for the whole group, in one query."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        rows = s.execute(select(AgentLabel.agent_id, AgentLabel.label, AgentVersion.version)
                         .join(AgentVersion, AgentVersion.id == AgentLabel.version_id)
                         .where(AgentLabel.group_id == group_id).order_by(AgentLabel.label))
        found: dict[int, dict[str, int]] = {}
        for agent_id, label, version in rows:
            found.setdefault(agent_id, {})[label] = version
        return found


def set_label(actor_id: int, agent_id: int, version: int, label: str) -> LabelInfo:
    """Point `label` at version `version` of the agent (creating the label or moving it)."""
    label = validate_label(label)
    with session_scope() as s:
        thing = load_agent(s, agent_id)
        require_access(s, actor_id, thing.group_id, "editor")
        target = version_in_session(s, agent_id, version)
        row = s.scalar(select(AgentLabel).where(AgentLabel.agent_id == agent_id, AgentLabel.label == label))
        before = s.get(AgentVersion, row.version_id).version if row is not None else None
        if row is None:
            row = AgentLabel(group_id=thing.group_id, agent_id=agent_id, label=label)
            s.add(row)
        row.version_id, row.updated_by, row.updated_at = target.id, actor_id, utcnow()
        if before != target.version:
            events.record(s, "label_moved", group_id=thing.group_id, actor_id=actor_id, target_type="agent",
                          target_id=agent_id, data={"label": label, "from_version": before,
                                                    "to_version": target.version})
        s.flush()
        return next(info for info in _labels(s, agent_id) if info.label == label)


def remove_label(actor_id: int, agent_id: int, label: str) -> bool:
    """Delete the label; False when the agent has no such label."""
    label = (label or "").strip().lower()
    with session_scope() as s:
        thing = load_agent(s, agent_id)
        require_access(s, actor_id, thing.group_id, "editor")
        row = s.scalar(select(AgentLabel).where(AgentLabel.agent_id == agent_id, AgentLabel.label == label))
        if row is None:
            return False
        version = s.get(AgentVersion, row.version_id).version
        s.delete(row)
        events.record(s, "label_removed", group_id=thing.group_id, actor_id=actor_id, target_type="agent",
                      target_id=agent_id, data={"label": label, "version": version})
        return True


# A reference is resolved on the way to every API call's first token: plain rows from
# statements built once (values go as parameters), not ORM objects from statements built anew.
_things, _versions, _labels_t = Thing.__table__, AgentVersion.__table__, AgentLabel.__table__
_ALIVE_AGENT = (_things.c.group_id == bindparam("group_key"), _things.c.type == AGENT, _things.c.deleted_at.is_(None))
_AGENT_BY_ID = select(_things.c.id, _things.c.group_id, _things.c.name).where(
    _things.c.id == bindparam("agent_key"), *_ALIVE_AGENT)
_AGENT_BY_NAME = select(_things.c.id, _things.c.group_id, _things.c.name).where(
    _things.c.name == bindparam("name"), *_ALIVE_AGENT).order_by(_things.c.id).limit(1)
_LATEST_VERSION = select(_versions.c.id, _versions.c.version).where(
    _versions.c.agent_id == bindparam("agent_key")).order_by(_versions.c.version.desc()).limit(1)
_VERSION_NUMBER = select(_versions.c.id, _versions.c.version).where(
    _versions.c.agent_id == bindparam("agent_key"), _versions.c.version == bindparam("number"))
_LABELLED_VERSION = select(_versions.c.id, _versions.c.version).join(
    _labels_t, _labels_t.c.version_id == _versions.c.id).where(
    _labels_t.c.agent_id == bindparam("agent_key"), _labels_t.c.label == bindparam("label"))


def _agent_by_name_or_id(s: Session, group_id: int, name: str):
    """(id, group_id, name) of the group's live agent with this id or exact name, or None."""
    if name.isdigit():
        row = s.execute(_AGENT_BY_ID, {"agent_key": int(name), "group_key": group_id}).first()
        if row is not None:
            return row
    return s.execute(_AGENT_BY_NAME, {"name": name, "group_key": group_id}).first()


def resolve_in_session(s: Session, group_id: int, reference: str) -> ResolvedAgent:
    """The agent a reference names in the group, at the version it resolves to now. Any
    miss (no such agent here, version or label) is AgentNotFound saying which part."""
    ref = (reference or "").strip()
    if not ref:
        raise ValidationError(field_errors={"model": "Name an agent: its id or name, optionally @version or @label."})
    thing, name, suffix = _agent_by_name_or_id(s, group_id, ref), ref, None
    if thing is None and "@" in ref:  # a name may itself hold '@': the whole string was tried first
        name, suffix = (part.strip() for part in ref.rsplit("@", 1))
        thing = _agent_by_name_or_id(s, group_id, name)
    if thing is None:
        raise AgentNotFound(f"There is no agent {name!r} in this group.")
    label = None
    if suffix is None or suffix.lower() == LATEST:
        version = s.execute(_LATEST_VERSION, {"agent_key": thing.id}).first()
        if version is None:
            raise AgentNotFound(f"Agent {thing.id} has no version None.")
    elif suffix.isdigit():
        version = s.execute(_VERSION_NUMBER, {"agent_key": thing.id, "number": int(suffix)}).first()
        if version is None:
            raise AgentNotFound(f"Agent {thing.name!r} has no version {suffix}.")
    else:
        label = suffix.lower()
        version = s.execute(_LABELLED_VERSION, {"agent_key": thing.id, "label": label}).first()
        if version is None:
            raise AgentNotFound(f"Agent {thing.name!r} has no label {label!r}.")
    return ResolvedAgent(thing.id, thing.group_id, thing.name, version.version, version.id, label)


def resolve_agent(actor_id: int, group_id: int, reference: str) -> ResolvedAgent:
    """`resolve_in_session` after the access check on the group."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        return resolve_in_session(s, group_id, reference)
