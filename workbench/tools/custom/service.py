"""The custom tools' services: every one checks access first. Viewers read; editors create,
edit, delete and try tools; an MCP server started by a command (stdio) is added, edited or
refreshed only by a group owner, and only with a command the settings allow."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ... import events
from ...db import session_scope
from ...errors import ConflictError, ValidationError, WorkbenchError
from ...models import Person, Thing, ToolVersion, utcnow
from ...tenancy.access import require_access
from ...validation import clean_note
from . import TOOL
from .catalog import ToolView, agents_using, group_tools, load_tool, save_version, taken_names, tool_view
from .definitions import OfferedTool, ToolConfig, mcp_connection, parse_json_field, validate
from .mcp_tools import server_tools
from .runner import call_custom_tool


@dataclass
class ToolVersionInfo:
    id: int
    version: int
    author: str | None
    created_at: datetime
    note: str | None
    config: ToolConfig


@dataclass
class PickerEntry:
    """One custom tool name an agent may be given."""

    name: str
    tool_id: int
    tool_name: str
    kind: str
    description: str


@dataclass
class TryResult:
    result: str | None
    error: str | None
    duration_ms: float


def role_for(*values: dict[str, Any]) -> str:
    """Owner for anything touching a stdio MCP server (it starts a program), else editor."""
    stdio = any(v.get("kind") == "mcp" and v.get("transport") == "stdio" for v in values)
    return "owner" if stdio else "editor"


def _offered(values: dict[str, Any]) -> list | None:
    """An MCP server's tools, read before the saving transaction (a network call)."""
    if values.get("kind") != "mcp":
        return None
    errors: dict[str, str] = {}
    impl = mcp_connection(values, errors)
    if errors:  # the server cannot be asked: report the other fields' problems with it
        try:
            validate(values, {}, None)
        except ValidationError as err:
            errors = {**err.field_errors, **errors}
        raise ValidationError(field_errors=errors)

    try:
        return server_tools(impl)
    except WorkbenchError as err:
        key = "command" if impl["transport"] == "stdio" else "server_url"
        raise ValidationError(field_errors={key: err.user_message}) from None


def discover_mcp_tools(actor_id: int, group_id: int, **values: Any) -> list[OfferedTool]:
    """What an MCP server offers, so the form can list its tools to choose from."""
    values["kind"] = "mcp"
    with session_scope() as s:
        require_access(s, actor_id, group_id, role_for(values))
    return [OfferedTool(t.name, t.description or "", t.input_schema) for t in _offered(values)]


def create_tool(actor_id: int, group_id: int, note: str | None = None, **values: Any) -> ToolView:
    with session_scope() as s:
        require_access(s, actor_id, group_id, role_for(values))
    offered = _offered(values)
    with session_scope() as s:
        require_access(s, actor_id, group_id, role_for(values))
        thing = create_in_session(s, actor_id, group_id, values, offered, note)
        return tool_view(thing)


def create_in_session(s, actor_id: int, group_id: int, values: dict[str, Any], offered: list | None,
                      note: str | None = None) -> Thing:
    """A new tool in the caller's transaction (access is the caller's)."""
    cfg = validate(values, taken_names(s, group_id), offered)
    thing = Thing(group_id=group_id, type=TOOL, name=cfg.name, created_by=actor_id, data={})
    s.add(thing)
    s.flush()
    save_version(s, thing, cfg, actor_id, clean_note(note))
    events.record(s, "tool_created", group_id=group_id, actor_id=actor_id, target_type="tool",
                  target_id=thing.id, data={"name": cfg.name, "kind": cfg.kind})
    return thing


def _check_not_in_use(s, thing: Thing, removed: set[str]) -> None:
    users = agents_using(s, thing.group_id, removed) if removed else []
    if users:
        raise ConflictError(f"The agents {', '.join(users)} use {', '.join(sorted(removed))}: "
                            "take the tool off them first.")


def update_tool(actor_id: int, tool_id: int, note: str | None = None, **values: Any) -> ToolView:
    """Change some fields; saves a new version when something changed. An MCP tool's schemas
    are read from its server again."""
    with session_scope() as s:
        thing = load_tool(s, tool_id)
        current = tool_view(thing).config.form_values()
        merged = {**current, **values}
        require_access(s, actor_id, thing.group_id, role_for(current, merged))
        group_id = thing.group_id
    offered = _offered(merged)
    with session_scope() as s:
        thing = load_tool(s, tool_id)
        require_access(s, actor_id, group_id, role_for(current, merged))
        old = tool_view(thing).config
        cfg = validate(merged, taken_names(s, group_id, except_tool_id=tool_id), offered)
        _check_not_in_use(s, thing, set(old.exposed_names()) - set(cfg.exposed_names()))
        changed = sorted(k for k, v in vars(cfg).items() if getattr(old, k) != v)
        if changed:
            save_version(s, thing, cfg, actor_id, clean_note(note))
            events.record(s, "tool_updated", group_id=group_id, actor_id=actor_id, target_type="tool",
                          target_id=tool_id, data={"fields": changed})
        return tool_view(thing)


def refresh_mcp_tools(actor_id: int, tool_id: int) -> ToolView:
    """Read the MCP server's tools again (same chosen tools, their current schemas)."""
    with session_scope() as s:
        thing = load_tool(s, tool_id)
        cfg = tool_view(thing).config
        require_access(s, actor_id, thing.group_id, role_for(cfg.form_values()))
    if cfg.kind != "mcp":
        raise ValidationError("Only MCP tools read their tools from a server.")
    return update_tool(actor_id, tool_id, note="Refreshed the tools from the server")


def delete_tool(actor_id: int, tool_id: int) -> None:
    with session_scope() as s:
        thing = load_tool(s, tool_id)
        cfg = tool_view(thing).config
        require_access(s, actor_id, thing.group_id, role_for(cfg.form_values()))
        _check_not_in_use(s, thing, set(cfg.exposed_names()))
        thing.deleted_at = utcnow()
        events.record(s, "tool_deleted", group_id=thing.group_id, actor_id=actor_id, target_type="tool",
                      target_id=tool_id, data={"name": thing.name})


def get_tool(actor_id: int, tool_id: int) -> ToolView:
    with session_scope() as s:
        thing = load_tool(s, tool_id)
        require_access(s, actor_id, thing.group_id)
        return tool_view(thing)


def list_tools(actor_id: int, group_id: int) -> list[ToolView]:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        return [tool_view(t) for t in group_tools(s, group_id)]


def picker_entries(actor_id: int, group_id: int) -> list[PickerEntry]:
    """Every custom tool name the group's agents may use, for the Agents page's picker."""
    return [PickerEntry(t.name, view.id, view.name, view.config.kind, t.description)
            for view in list_tools(actor_id, group_id) for t in view.config.exposed()]


def list_versions(actor_id: int, tool_id: int) -> list[ToolVersionInfo]:
    """Every version of the tool, newest first."""
    with session_scope() as s:
        thing = load_tool(s, tool_id)
        require_access(s, actor_id, thing.group_id)
        rows = s.execute(select(ToolVersion, Person.name).outerjoin(Person, Person.id == ToolVersion.created_by)
                         .where(ToolVersion.tool_id == tool_id).order_by(ToolVersion.version.desc())).all()
        return [ToolVersionInfo(v.id, v.version, name, v.created_at, v.note, ToolConfig(**v.config))
                for v, name in rows]


def try_tool(actor_id: int, tool_id: int, name: str, arguments: str | dict) -> TryResult:
    """Call the tool's latest version with hand-typed arguments (JSON), as a run would."""
    errors: dict[str, str] = {}
    args = parse_json_field(arguments, errors, "arguments", {})
    if errors:
        raise ValidationError(field_errors=errors)
    with session_scope() as s:
        thing = load_tool(s, tool_id)
        require_access(s, actor_id, thing.group_id, "editor")
        cfg, group_id = tool_view(thing).config, thing.group_id
    exposed = next((t for t in cfg.exposed() if t.name == name), None)
    if exposed is None:
        raise ValidationError(field_errors={"tool": f"{cfg.name} has no tool named {name!r}."})
    started = time.perf_counter()
    result, error = None, None
    try:
        result = call_custom_tool(cfg, exposed, args)
    except WorkbenchError as err:
        error = err.user_message
    duration_ms = (time.perf_counter() - started) * 1000
    with session_scope() as s:
        events.record(s, "tool_tried", group_id=group_id, actor_id=actor_id, target_type="tool", target_id=tool_id,
                      data={"tool": name, "ok": error is None, "duration_ms": round(duration_ms, 1)})
    return TryResult(result, error, duration_ms)


def example_arguments(schema: dict[str, Any]) -> str:
    """A JSON skeleton of a schema's properties, to start the Try it form from."""
    blank = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}
    sample = {}
    for key, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        if "default" in prop:
            sample[key] = prop["default"]
        elif prop.get("examples") or prop.get("enum"):
            sample[key] = (prop.get("examples") or prop.get("enum"))[0]
        else:
            sample[key] = blank.get(prop.get("type"), "")
    return json.dumps(sample, indent=1)
