"""An agent's version history: every save is an immutable version (number, author, time,
optional note). Two versions can be diffed (the system prompt as a text diff, the other
settings as a table of what changed), and an old version restored as a new one."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import AgentNotFound
from ..models import AgentVersion, Person
from ..tenancy.access import require_access
from .definitions import AgentConfig, AgentView, agent_view, load_agent, save_version, validate

# The settings a diff lists one per row (the prompt gets its own text diff).
SETTINGS = ("name", "description", "provider_id", "model", "temperature", "max_output_tokens",
            "context_messages", "max_tool_steps", "tools")


@dataclass
class VersionInfo:
    id: int
    agent_id: int
    version: int
    author_id: int | None
    author: str | None
    created_at: datetime
    note: str | None
    config: dict[str, Any]


@dataclass
class VersionDiff:
    agent_id: int
    old: int  # version numbers
    new: int
    prompt_diff: list[str]  # unified diff lines of the system prompt; empty when unchanged
    changes: list[dict[str, Any]] = field(default_factory=list)  # {setting, old, new}

    @property
    def prompt_changed(self) -> bool:
        return bool(self.prompt_diff)

    @property
    def identical(self) -> bool:
        return not self.prompt_diff and not self.changes


def version_in_session(s: Session, agent_id: int, number: int | None) -> AgentVersion:
    """The agent's version `number` (the latest when None); access is the caller's."""
    q = select(AgentVersion).where(AgentVersion.agent_id == agent_id)
    q = q.where(AgentVersion.version == int(number)) if number is not None else \
        q.order_by(AgentVersion.version.desc()).limit(1)
    version = s.scalar(q)
    if version is None:
        raise AgentNotFound(f"Agent {agent_id} has no version {number}.")
    return version


def _info(v: AgentVersion, author: str | None) -> VersionInfo:
    return VersionInfo(id=v.id, agent_id=v.agent_id, version=v.version, author_id=v.created_by,
                       author=author, created_at=v.created_at, note=v.note, config=dict(v.config))


def list_versions(actor_id: int, agent_id: int) -> list[VersionInfo]:
    """Every version of the agent, newest first, with its author and note."""
    with session_scope() as s:
        thing = load_agent(s, agent_id)
        require_access(s, actor_id, thing.group_id)
        rows = s.execute(select(AgentVersion, Person.name)
                         .outerjoin(Person, Person.id == AgentVersion.created_by)
                         .where(AgentVersion.agent_id == agent_id)
                         .order_by(AgentVersion.version.desc())).all()
        return [_info(v, name) for v, name in rows]


def config_diff(old: dict[str, Any], new: dict[str, Any], old_label: str = "old",
                new_label: str = "new") -> tuple[list[str], list[dict[str, Any]]]:
    """(prompt diff lines, setting changes) between two agent configurations."""
    prompt = list(difflib.unified_diff(
        str(old.get("system_prompt") or "").splitlines(),
        str(new.get("system_prompt") or "").splitlines(),
        fromfile=old_label, tofile=new_label, lineterm=""))
    keys = [k for k in SETTINGS if k in old or k in new]
    keys += sorted(k for k in set(old) | set(new) if k not in SETTINGS and k != "system_prompt")
    changes = [{"setting": k, "old": old.get(k), "new": new.get(k)}
               for k in keys if old.get(k) != new.get(k)]
    return prompt, changes


def diff_versions(actor_id: int, agent_id: int, old: int, new: int) -> VersionDiff:
    """What changed from version `old` to version `new` of the agent."""
    with session_scope() as s:
        thing = load_agent(s, agent_id)
        require_access(s, actor_id, thing.group_id)
        a, b = version_in_session(s, agent_id, old), version_in_session(s, agent_id, new)
        prompt, changes = config_diff(a.config, b.config, f"version {a.version}", f"version {b.version}")
        return VersionDiff(agent_id=agent_id, old=a.version, new=b.version, prompt_diff=prompt,
                           changes=changes)


def restore_version(actor_id: int, agent_id: int, version: int, note: str | None = None) -> AgentView:
    """Save version `version`'s configuration as the agent's newest version."""
    with session_scope() as s:
        thing = load_agent(s, agent_id)
        require_access(s, actor_id, thing.group_id, "editor")
        old = version_in_session(s, agent_id, version)
        cfg: AgentConfig = validate(s, thing.group_id, dict(old.config))
        new = save_version(s, thing, cfg, actor_id, note or f"Restored version {old.version}")
        events.record(s, "version_restored", group_id=thing.group_id, actor_id=actor_id,
                      target_type="agent", target_id=agent_id,
                      data={"from_version": old.version, "new_version": new.version})
        return agent_view(s, thing)
