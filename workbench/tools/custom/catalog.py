"""Custom tools in the database: things of type "tool" and their immutable versions. The
thing's `data` mirrors its latest version (with the names the model sees), so a clash check
or the agent picker reads one row per tool."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ...models import Thing, ToolVersion
from ..registry import builtin_tools
from . import TOOL, ToolNotFound
from .definitions import ToolConfig

AGENT = "agent"  # agents' things: read here only to say which agents use a tool


@dataclass
class ToolView:
    id: int
    group_id: int
    version: int
    version_id: int
    config: ToolConfig

    @property
    def name(self) -> str:
        return self.config.name


def load_tool(s: Session, tool_id: int) -> Thing:
    thing = s.get(Thing, tool_id)
    if thing is None or thing.type != TOOL or thing.deleted_at is not None:
        raise ToolNotFound()
    return thing


def tool_view(thing: Thing) -> ToolView:
    data = thing.data
    return ToolView(id=thing.id, group_id=thing.group_id, version=data["version"],
                    version_id=data["version_id"], config=ToolConfig(**data["config"]))


def group_tools(s: Session, group_id: int) -> list[Thing]:
    return list(s.scalars(select(Thing).where(Thing.group_id == group_id, Thing.type == TOOL,
                                              Thing.deleted_at.is_(None)).order_by(Thing.name)))


def taken_names(s: Session, group_id: int, except_tool_id: int | None = None) -> dict[str, str]:
    """Every name the model sees in the group (built-ins first) -> what owns it."""
    taken = {name: "a built-in tool" for name in builtin_tools()}
    for thing in group_tools(s, group_id):
        if thing.id != except_tool_id:
            taken[thing.name] = f"the tool {thing.name!r}"
            for name in thing.data.get("exposed", []):
                taken[name] = f"the tool {thing.name!r}"
    return taken


def exposed_names(s: Session, group_id: int) -> set[str]:
    """The custom tool names agents of the group may use."""
    return {n for thing in group_tools(s, group_id) for n in thing.data.get("exposed", [])}


def save_version(s: Session, thing: Thing, cfg: ToolConfig, actor_id: int, note: str | None) -> ToolVersion:
    number = (s.scalar(select(func.max(ToolVersion.version)).where(ToolVersion.tool_id == thing.id)) or 0) + 1
    version = ToolVersion(tool_id=thing.id, group_id=thing.group_id, version=number, kind=cfg.kind,
                          config=asdict(cfg), created_by=actor_id, note=note)
    s.add(version)
    s.flush()
    thing.name, thing.description = cfg.name, cfg.description
    thing.data = {"version": number, "version_id": version.id, "config": asdict(cfg),
                  "exposed": cfg.exposed_names()}
    s.flush()
    return version


def agents_using(s: Session, group_id: int, names: set[str]) -> list[str]:
    """Names of the group's agents whose latest version uses one of `names`."""
    rows = s.execute(select(Thing.name, Thing.data).where(Thing.group_id == group_id, Thing.type == AGENT,
                                                          Thing.deleted_at.is_(None)))
    return sorted(name for name, data in rows if names & set((data or {}).get("tools", [])))


def versions_for(s: Session, group_id: int, names: list[str]) -> dict[str, tuple[ToolVersion, Any]]:
    """The latest version of each of the group's tools exposing one of `names`, in ONE query
    (a run's plan reads this in the transaction that opens the run):
    {exposed name: (version, ExposedTool)}."""
    wanted = set(names)
    latest = (select(func.max(ToolVersion.version)).where(ToolVersion.tool_id == Thing.id)
              .correlate(Thing).scalar_subquery())
    rows = s.scalars(select(ToolVersion).join(Thing, Thing.id == ToolVersion.tool_id).where(
        Thing.group_id == group_id, Thing.type == TOOL, Thing.deleted_at.is_(None),
        ToolVersion.version == latest, or_(Thing.name.in_(wanted), ToolVersion.kind == "mcp")))
    found: dict[str, tuple[ToolVersion, Any]] = {}
    for version in rows:
        for exposed in ToolConfig(**version.config).exposed():
            if exposed.name in wanted:
                found[exposed.name] = (version, exposed)
    return found
