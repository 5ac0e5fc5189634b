"""A small multi-tenant world for access tests: two groups (A, B) with an owner, an editor
and a viewer each, an outsider with no group, and in each group a provider, an agent, a
thread with a finished run (messages, steps, usage), a task, an escalation and a knowledge
document. Everything is made through the real services; each group's text carries a
marker so a leak shows up as that marker in another group's results."""

from __future__ import annotations

import dataclasses
import itertools
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from tests.scripted_openai import call, text, tool_calls
from workbench import agents, experiments, optimize, runs
from workbench.db import session_scope
from workbench.models import Base, Event, Message, Run, RunStep, Thing, UsageRecord
from workbench.playground import Variant, replay_thread, start_comparison
from workbench.serve import keys
from workbench.settings import get_settings
from workbench.system import workspace
from workbench.tenancy import groups, identity, people
from workbench.tools.custom import service as custom_tools

ROLES = ("owner", "editor", "viewer")
MCP_COMMAND = f"{sys.executable} {Path(__file__).parent / 'mcp_servers' / 'calc.py'}"
AGENT_TOOLS = ["create_task", "call_human", "get_context", "search_knowledge"]


@dataclass
class GroupObjects:
    key: str
    marker: str
    group: int
    owner: int
    editor: int
    viewer: int
    member: int  # a viewer who is only ever the target of member changes, never the actor
    provider: int
    agent: int
    version: int
    thread: int
    run: int
    task: int
    document: int | None
    step: int  # a model call of the run
    comparison: int
    replay: int  # a replay of the thread
    test_set: int
    experiment: int  # a finished experiment over the test set
    tool: int  # a mock custom tool named "lookup"
    mcp_tool: int | None  # an MCP stdio tool (calc.py), when the settings allow this Python
    api_key: int  # an editor API key of the group
    optimization: int  # a finished optimization of the agent over the test set, its best saved
    api_secret: str

    def person(self, role: str) -> int:
        return getattr(self, role)


@dataclass
class World:
    server: Any
    local_person: int
    local_group: int
    outsider: int
    groups: dict[str, GroupObjects] = field(default_factory=dict)

    def group_of_person(self, person_id: int) -> dict[int, str]:
        """{group id: role} of one of the world's people."""
        return {g.group: r for g in self.groups.values() for r in ROLES if g.person(r) == person_id}


_PEOPLE_MADE = itertools.count(1)


def new_person(name: str) -> int:
    # The counter makes each address new within a test's database (six random hex digits
    # once collided among the hundred-odd people a world's access test makes).
    return identity.person_for_login(
        email=f"{name.lower()}-{next(_PEOPLE_MADE)}-{uuid.uuid4().hex[:8]}@example.com", name=name)


def _knowledge_available() -> bool:
    try:
        import workbench.knowledge  # noqa: F401
    except ImportError:
        return False
    return True


def build_group(server, key: str, *, with_knowledge: bool = True) -> GroupObjects:
    from workbench.providers.service import add_provider

    marker = f"MARK{key}{uuid.uuid4().hex[:8]}"
    owner = new_person(f"Owner{key}")
    group = workspace.create_group(owner, f"Group {key} {uuid.uuid4().hex[:6]}").id  # a name is not a leak
    editor, viewer, member = (new_person(f"{r}{key}") for r in ("Editor", "Viewer", "Member"))
    for person, role in ((editor, "editor"), (viewer, "viewer"), (member, "viewer")):
        groups.add_member(owner, group, email=people.get_person(person, person).email, role=role)
    provider = add_provider(owner, group, name=f"Scripted {marker}", base_url=server.base_url,
                            kind="openai_compatible").id
    agent = agents.create_agent(owner, group, name=f"Agent {marker}", provider_id=provider,
                                model="gpt-4o-mini", system_prompt=f"You are {marker}.",
                                tools=AGENT_TOOLS)
    server.script(tool_calls(call("create_task", {"title": f"Task {marker}"}),
                             call("call_human", {"reason": f"Help {marker}"})),
                  text(f"Answer {marker}"))
    thread, handle = runs.create_thread(group, agent.id, editor, initial_message=f"Hello {marker}")
    result = handle.wait(15)
    assert result.status == "complete", result
    with session_scope() as s:
        task = s.scalar(select(Thing.id).where(Thing.group_id == group, Thing.type == "task"))
        step = s.scalar(select(RunStep.id).where(RunStep.run_id == result.run_id,
                                                 RunStep.kind == "model_call").order_by(RunStep.seq))
    comparison = start_comparison(owner, group, [Variant(agent.id), Variant(agent.id, 1, {"temperature": 0.1})],
                                  f"Compare {marker}")
    comparison.wait(15)
    replay = replay_thread(owner, thread.id)
    test_set = experiments.create_test_set(owner, group, f"Set {key}", cases=[
        {"input": f"Question {marker}", "expected": "scripted"}]).id
    experiment = experiments.start_experiment(owner, group, test_set, Variant(agent.id), wait=True)
    tool = custom_tools.create_tool(owner, group, name="lookup", kind="mock", description=f"Looks up {marker}.",
                                    template=f"Answer {marker}").id
    mcp_tool = None
    if sys.executable in get_settings().mcp_allowed_commands:
        mcp_tool = custom_tools.create_tool(owner, group, name="calc", kind="mcp", transport="stdio",
                                            command=MCP_COMMAND, tools=["add"]).id
    document = None
    if with_knowledge and _knowledge_available():
        from workbench import knowledge

        document = knowledge.add_snippet(owner, group, f"Notes {marker}",
                                         f"The secret word of this team is {marker}. " * 3).document_id
    made = keys.create_key(owner, group, f"Key {marker}", role="editor")
    optimization = optimize.start_optimization(owner, group, agent.id, test_set, budget=4, wait=True)
    optimize.save_candidate(owner, optimization)
    return GroupObjects(key=key, marker=marker, group=group, owner=owner, editor=editor,
                        viewer=viewer, member=member, provider=provider, agent=agent.id, version=agent.version_id,
                        thread=thread.id, run=result.run_id, task=task, document=document,
                        step=step, comparison=comparison.id, replay=replay,
                        test_set=test_set, experiment=experiment, tool=tool, mcp_tool=mcp_tool,
                        api_key=made.info.id, api_secret=made.secret, optimization=optimization)


def build_world(startup, server, *, with_knowledge: bool = True) -> World:
    world = World(server=server, local_person=startup.person_id, local_group=startup.group_id,
                  outsider=new_person("Outsider"))
    for key in ("A", "B"):
        world.groups[key] = build_group(server, key, with_knowledge=with_knowledge)
    return world


# --- what a group holds, and what a result shows -----------------------------------------

def snapshot(group_id: int | None = None) -> dict[str, list[tuple]]:
    """Every row of every table (only the group's rows when `group_id` is given), except
    access_denied events, which a refused attempt is meant to write. Plus the number of
    vectors in the group's Chroma collection."""
    out: dict[str, list[tuple]] = {}
    with session_scope() as s:
        for table in Base.metadata.sorted_tables:
            q = select(table)
            if group_id is not None:
                if "group_id" in table.c:
                    q = q.where(table.c.group_id == group_id)
                elif table.name == "groups":
                    q = q.where(table.c.id == group_id)
                else:
                    continue
            if table.name == "events":
                q = q.where(table.c.type != "access_denied")
            out[table.name] = sorted(tuple(map(repr, row)) for row in s.execute(q))
    if group_id is not None and _knowledge_available():
        from workbench.knowledge import store

        out["chroma"] = [(store.count(group_id),)]
    return out


def leaks(result: Any, foreign: GroupObjects) -> list[str]:
    """Where `result` shows something of `foreign`: a row whose group_id is that group, or
    text carrying its marker."""
    found: list[str] = []
    seen: set[int] = set()

    def walk(obj: Any, path: str, depth: int) -> None:
        if depth > 6 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, str):
            if foreign.marker in obj:
                found.append(f"{path}: text with {foreign.marker}")
            return
        if isinstance(obj, (int, float, bool, type(None), bytes)):
            return
        if isinstance(obj, dict):
            if obj.get("group_id") == foreign.group:
                found.append(f"{path}: group_id {foreign.group}")
            for k, v in obj.items():
                walk(v, f"{path}[{k!r}]", depth + 1)
            return
        if isinstance(obj, (list, tuple, set, frozenset)):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]", depth + 1)
            return
        if hasattr(obj, "to_dict") and callable(obj.to_dict):  # pandas frames, result objects
            try:
                walk(obj.to_dict(), f"{path}.to_dict()", depth + 1)
            except TypeError:
                pass
        if isinstance(obj, Base):
            state = sa_inspect(obj)
            values = {a.key: a.loaded_value for a in state.attrs}
            if type(obj).__name__ == "Group" and values.get("id") == foreign.group:
                found.append(f"{path}: group {foreign.group}")
            walk(values, path, depth + 1)
            return
        if dataclasses.is_dataclass(obj):
            walk({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, path, depth + 1)
            return
        if hasattr(obj, "__dict__"):
            walk({k: v for k, v in vars(obj).items() if not k.startswith("_")}, path, depth + 1)

    walk(result, "result", 0)
    return found


def group_row_counts(group_id: int) -> dict[str, int]:
    """Rows the group has of the tables a report reads (for the aggregation tests)."""
    with session_scope() as s:
        return {m.__tablename__: len(s.scalars(select(m.id).where(m.group_id == group_id)).all())
                for m in (Message, Run, UsageRecord, Event)}
