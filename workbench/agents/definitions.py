"""Agent definitions: things of type "agent". Every create or edit stores an immutable
AgentVersion so a run can say exactly which configuration produced it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import AgentNotFound, ProviderNotFound, ValidationError
from ..models import AgentVersion, ProviderRecord, Thing, utcnow
from ..providers.presets import DEFAULT_TEMPERATURE, default_temperature
from ..tenancy.access import require_access
from ..tools.custom.catalog import exposed_names
from ..tools.registry import tool_names
from ..validation import checked_number, clean_note

AGENT = "agent"


@dataclass
class AgentConfig:
    name: str
    provider_id: int
    model: str
    system_prompt: str = "You are a helpful assistant."
    description: str = ""
    temperature: float = DEFAULT_TEMPERATURE  # a built-in model agent's is lower (presets)
    max_output_tokens: int = 1024
    context_messages: int = 20  # how many recent messages are sent with each call
    max_tool_steps: int = 8
    tools: list[str] = field(default_factory=list)


@dataclass
class AgentView:
    id: int
    group_id: int
    version: int
    version_id: int
    config: AgentConfig

    @property
    def name(self) -> str:
        return self.config.name


def validate(s: Session, group_id: int, values: dict[str, Any]) -> AgentConfig:
    """Check every field; raise ValidationError with one message per bad field."""
    errors: dict[str, str] = {}
    name = str(values.get("name") or "").strip()
    if not name:
        errors["name"] = "An agent needs a name."
    elif len(name) > 120:
        errors["name"] = "At most 120 characters."
    prompt = str(values.get("system_prompt") or "")
    if len(prompt) > 100_000:
        errors["system_prompt"] = "At most 100,000 characters."
    model = str(values.get("model") or "").strip()
    if not model:
        errors["model"] = "Choose a model."
    elif len(model) > 200:  # the usage and trace columns hold 200
        errors["model"] = "At most 200 characters."
    provider_id = values.get("provider_id")
    provider = s.get(ProviderRecord, provider_id) if isinstance(provider_id, int) else None
    if provider is None or provider.group_id != group_id:
        errors["provider_id"] = "Choose a provider of this group."

    def number(key, cast, lo, hi, default):
        return checked_number(values, key, errors, lo, hi, default, cast)

    temperature = number("temperature", float, 0.0, 2.0,
                         default_temperature(provider) if provider else DEFAULT_TEMPERATURE)
    max_out = number("max_output_tokens", int, 1, 200_000, 1024)
    context = number("context_messages", int, 1, 500, 20)
    steps = number("max_tool_steps", int, 1, 50, 8)
    tools = list(values.get("tools") or [])
    known = set(tool_names()) | (exposed_names(s, group_id) if set(tools) - set(tool_names()) else set())
    unknown = [t for t in tools if t not in known]
    if unknown:
        errors["tools"] = f"Unknown tools: {', '.join(unknown)}."
    if errors:
        raise ValidationError(field_errors=errors)
    return AgentConfig(name=name, provider_id=provider_id, model=model, system_prompt=prompt,
                       description=str(values.get("description") or "").strip(),
                       temperature=temperature, max_output_tokens=max_out,
                       context_messages=context, max_tool_steps=steps, tools=tools)


def load_agent(s: Session, agent_id: int) -> Thing:
    thing = s.get(Thing, agent_id)
    if thing is None or thing.type != AGENT or thing.deleted_at is not None:
        raise AgentNotFound()
    return thing


def agent_view(s: Session, thing: Thing) -> AgentView:
    latest = s.scalar(select(AgentVersion).where(AgentVersion.agent_id == thing.id)
                      .order_by(AgentVersion.version.desc()).limit(1))
    return AgentView(id=thing.id, group_id=thing.group_id, version=latest.version,
                     version_id=latest.id, config=AgentConfig(**latest.config))


def save_version(s: Session, thing: Thing, cfg: AgentConfig, actor_id: int,
                 note: str | None = None) -> AgentVersion:
    """Store `cfg` as the agent's next version (the caller has checked access)."""
    number = (s.scalar(select(func.max(AgentVersion.version))
                       .where(AgentVersion.agent_id == thing.id)) or 0) + 1
    version = AgentVersion(agent_id=thing.id, group_id=thing.group_id, version=number,
                           config=asdict(cfg), created_by=actor_id, note=clean_note(note))
    s.add(version)
    thing.name, thing.description, thing.data = cfg.name, cfg.description, asdict(cfg)
    s.flush()
    return version


def create_in_session(s: Session, actor_id: int, group_id: int, values: dict[str, Any]) -> Thing:
    cfg = validate(s, group_id, values)
    thing = Thing(group_id=group_id, type=AGENT, name=cfg.name, created_by=actor_id)
    s.add(thing)
    s.flush()
    save_version(s, thing, cfg, actor_id, values.get("note"))
    events.record(s, "agent_created", group_id=group_id, actor_id=actor_id,
                  target_type="agent", target_id=thing.id, data={"name": cfg.name, "model": cfg.model})
    return thing


def create_agent(actor_id: int, group_id: int, **values: Any) -> AgentView:
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")
        return agent_view(s, create_in_session(s, actor_id, group_id, values))


def update_agent(actor_id: int, agent_id: int, note: str | None = None, **values: Any) -> AgentView:
    """Change some fields; the others keep their values. Saves a new version (with an
    optional `note` saying why) when something changed."""
    with session_scope() as s:
        thing = load_agent(s, agent_id)
        require_access(s, actor_id, thing.group_id, "editor")
        current = asdict(agent_view(s, thing).config)
        merged = {**current, **values}
        cfg = validate(s, thing.group_id, merged)
        changed = sorted(k for k in merged if merged[k] != current.get(k))
        if changed:
            save_version(s, thing, cfg, actor_id, note)
            events.record(s, "agent_updated", group_id=thing.group_id, actor_id=actor_id,
                          target_type="agent", target_id=agent_id, data={"fields": changed})
        return agent_view(s, thing)


def duplicate_agent(actor_id: int, agent_id: int, name: str | None = None) -> AgentView:
    with session_scope() as s:
        thing = load_agent(s, agent_id)
        require_access(s, actor_id, thing.group_id, "editor")
        values = asdict(agent_view(s, thing).config)
        values["name"] = name or f"{values['name']} (copy)"
        return agent_view(s, create_in_session(s, actor_id, thing.group_id, values))


def delete_agent(actor_id: int, agent_id: int) -> None:
    """Soft delete: threads and traces that used the agent stay readable."""
    with session_scope() as s:
        thing = load_agent(s, agent_id)
        require_access(s, actor_id, thing.group_id, "editor")
        thing.deleted_at = utcnow()
        events.record(s, "agent_deleted", group_id=thing.group_id, actor_id=actor_id,
                      target_type="agent", target_id=agent_id, data={"name": thing.name})


def get_agent(actor_id: int, agent_id: int, *, include_deleted: bool = False) -> AgentView:
    with session_scope() as s:
        thing = s.get(Thing, agent_id)
        if thing is None or thing.type != AGENT or (thing.deleted_at and not include_deleted):
            raise AgentNotFound()
        require_access(s, actor_id, thing.group_id)
        return agent_view(s, thing)


def list_agents(actor_id: int, group_id: int) -> list[AgentView]:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        things = s.scalars(select(Thing).where(Thing.group_id == group_id, Thing.type == AGENT,
                                               Thing.deleted_at.is_(None)).order_by(Thing.name))
        return [agent_view(s, t) for t in things]


def get_version(actor_id: int, version_id: int) -> AgentVersion:
    with session_scope() as s:
        version = s.get(AgentVersion, version_id)
        if version is None:
            raise AgentNotFound("That agent version does not exist.")
        require_access(s, actor_id, version.group_id)
        return version


def provider_for(s: Session, group_id: int, provider_id: int):
    """The provider's row (read-only: a plain row, as every run start reads it) if it belongs
    to the group."""
    provider = s.execute(_PROVIDER_ROW, {"provider_id": provider_id}).first()
    if provider is None or provider.group_id != group_id:
        raise ProviderNotFound()
    return provider


_PROVIDER_ROW = select(ProviderRecord.__table__).where(ProviderRecord.__table__.c.id == bindparam("provider_id"))


def agent_names(actor_id: int, group_id: int) -> dict[int, str]:
    """Every agent's name in the group, deleted ones too (marked), so thread lists can label
    threads whose agent is gone without loading each agent."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        rows = s.execute(select(Thing.id, Thing.name, Thing.deleted_at).where(
            Thing.group_id == group_id, Thing.type == AGENT))
        return {i: f"{n} (deleted)" if d else n for i, n, d in rows}
