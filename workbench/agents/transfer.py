"""Agents with their custom tools as one JSON document, and back into a group. An import
happens in one transaction: a name that clashes, a bad schema or any other refused field
stops it with every problem listed, and nothing is created. Secrets travel as environment
variable NAMES only (that is all a tool stores); providers travel by name."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from ..db import session_scope
from ..errors import ValidationError
from ..models import ProviderRecord, Thing
from ..tenancy.access import require_access
from ..tools.custom.catalog import group_tools, taken_names, tool_view
from ..tools.custom.definitions import ToolConfig, validate
from ..tools.custom.service import create_in_session as create_tool_in_session
from ..tools.custom.service import role_for
from .definitions import AGENT, agent_view, create_in_session

FORMAT = "agent-workbench/agents"
VERSION = 1
MAX_BYTES = 5_000_000
AGENT_FIELDS = ("name", "description", "system_prompt", "model", "temperature", "max_output_tokens",
                "context_messages", "max_tool_steps", "tools")


@dataclass
class ImportReport:
    agents: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a provider that was not found by name


def export_agents(actor_id: int, group_id: int, agent_ids: list[int] | None = None) -> str:
    """The chosen agents (default: all) and the custom tools they use (all of the group's
    tools when exporting every agent) as JSON text."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        query = select(Thing).where(Thing.group_id == group_id, Thing.type == AGENT, Thing.deleted_at.is_(None))
        if agent_ids is not None:
            query = query.where(Thing.id.in_(agent_ids))
        views = [agent_view(s, t) for t in s.scalars(query.order_by(Thing.name))]
        providers = dict(s.execute(select(ProviderRecord.id, ProviderRecord.name)
                                   .where(ProviderRecord.group_id == group_id)).all())
        used = {name for v in views for name in v.config.tools}
        tools = [tool_view(t).config for t in group_tools(s, group_id)]
        if agent_ids is not None:
            tools = [cfg for cfg in tools if used & set(cfg.exposed_names())]
        agents_out = [{**{k: getattr(v.config, k) for k in AGENT_FIELDS},
                       "provider": providers.get(v.config.provider_id)} for v in views]
    return json.dumps({"format": FORMAT, "version": VERSION, "agents": agents_out,
                       "tools": [asdict(cfg) for cfg in tools]}, ensure_ascii=False, indent=1)


def _read(text: str | bytes) -> dict[str, Any]:
    if len(text) > MAX_BYTES:
        raise ValidationError(field_errors={"file": f"The file is larger than {MAX_BYTES // 1_000_000} MB."})
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValidationError(field_errors={"file": f"Not a JSON file: {err}."}) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValidationError(field_errors={"file": f"Not an agents export (its format is not {FORMAT!r})."})
    if doc.get("version") != VERSION:
        raise ValidationError(field_errors={"file": f"Export version {doc.get('version')!r} is not supported."})
    if not isinstance(doc.get("agents", []), list) or not isinstance(doc.get("tools", []), list):
        raise ValidationError(field_errors={"file": "'agents' and 'tools' must be lists."})
    return doc


def _tool_config(raw: Any) -> ToolConfig:
    if not isinstance(raw, dict):
        raise ValidationError("a tool is not an object")
    known = {k: raw[k] for k in ("name", "kind", "description", "parameters", "impl") if k in raw}
    if not isinstance(known.get("impl", {}), dict):
        raise ValidationError("its 'impl' is not an object")
    return ToolConfig(**{"name": "", "kind": "", **known})


def import_agents(actor_id: int, group_id: int, text: str | bytes) -> ImportReport:
    """Create the document's tools, then its agents, in the group; all or nothing."""
    doc = _read(text)
    configs, problems, report = [], {}, ImportReport()
    for i, raw in enumerate(doc.get("tools", [])):
        try:
            configs.append(_tool_config(raw))
        except (ValidationError, TypeError) as err:
            problems[f"tools[{i}]"] = str(err)
    if problems:
        raise ValidationError(field_errors=problems)
    with session_scope() as s:
        require_access(s, actor_id, group_id, role_for(*(cfg.form_values() for cfg in configs)))
        taken = taken_names(s, group_id)
        for cfg in configs:  # all checked before anything is written, so every problem is listed
            offered = cfg.offered() if cfg.kind == "mcp" else None
            try:
                checked = validate(cfg.form_values(), taken, offered)
                taken.update({n: f"the tool {cfg.name!r} of this file" for n in {cfg.name, *checked.exposed_names()}})
            except ValidationError as err:
                problems.update({f"tool {cfg.name or '?'} ({k})": v for k, v in err.field_errors.items()})
        providers = {p.name: p.id for p in s.scalars(select(ProviderRecord).where(
            ProviderRecord.group_id == group_id).order_by(ProviderRecord.id))}
        existing = set(s.scalars(select(Thing.name).where(Thing.group_id == group_id, Thing.type == AGENT,
                                                          Thing.deleted_at.is_(None))))
        for raw in doc.get("agents", []):
            name = str(raw.get("name") or "") if isinstance(raw, dict) else ""
            if name in existing:
                problems[f"agent {name}"] = "An agent with this name already exists in the group."
            if not providers:
                problems["providers"] = "This group has no provider yet: add one, then import."
        if problems:
            raise ValidationError(field_errors=problems)
        for cfg in configs:
            offered = cfg.offered() if cfg.kind == "mcp" else None
            create_tool_in_session(s, actor_id, group_id, cfg.form_values(), offered, note="Imported")
            report.tools.append(cfg.name)
        for raw in doc.get("agents", []):
            values = {k: raw[k] for k in AGENT_FIELDS if k in raw}
            values["provider_id"] = providers.get(raw.get("provider")) or next(iter(providers.values()))
            if raw.get("provider") not in providers:
                report.notes.append(f"{values.get('name')}: no provider named {raw.get('provider')!r} here; "
                                    "it uses this group's first provider.")
            try:
                create_in_session(s, actor_id, group_id, {**values, "note": "Imported"})
            except ValidationError as err:  # rolls back the tools too
                raise ValidationError(field_errors={f"agent {values.get('name') or '?'} ({k})": v
                                                    for k, v in err.field_errors.items()}) from None
            report.agents.append(str(values.get("name")))
    return report
