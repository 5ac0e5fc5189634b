"""First start and every start: migrate the schema, mark runs a previous process left
unfinished as interrupted, and on an empty database create the local person, a default
group they own, the built-in provider and a demo agent."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select

from ..agents.definitions import create_in_session
from ..costs.pricing import seed_prices
from ..db import migrate, session_scope, startup_lock
from ..models import Connection, Person, Thing
from ..providers.service import starting_model
from ..runs.lifecycle import recover_interrupted_runs
from ..runs.workers import MANAGER
from ..settings import get_settings
from ..tenancy.access import MEMBER_OF
from ..tenancy.people import get_or_create_person
from . import workspace

DEMO_PROMPT = ("You are a friendly assistant in Agent Workbench. Answer briefly and plainly.")
# What the built-in model (Qwen2.5-Coder-Instruct, 1.5B or 0.5B) does well, measured: short factual
# answers, tips, small code. Offered tools, it also turns plain questions into tool calls,
# so the demo agent has none; an agent given tools uses them when asked explicitly.
DEMO_DESCRIPTION = ("Runs on the built-in offline model (Qwen2.5-Coder): short answers, "
                    "tips and small code. Give an agent Create task or Search knowledge and ask "
                    "explicitly ('Create a task to ...', 'Search the knowledge base for ...') to "
                    "see tools; connect a provider for real work.")

_lock = threading.Lock()
_done: dict[str, "Startup"] = {}


@dataclass(frozen=True)
class Startup:
    person_id: int  # the local person (single-user mode)
    group_id: int  # their first group
    agent_id: int | None  # the demo agent, if the group has one
    interrupted_runs: int = 0


def init_app() -> Startup:
    """Idempotent, once per process and database."""
    url = get_settings().db_url
    with _lock:
        if url in _done:
            return _done[url]
        with startup_lock():  # other app processes on the same database wait their turn
            migrate()
            interrupted = recover_interrupted_runs()
            with session_scope() as s:
                seed_prices(s)
            startup = _seed_local_workspace(interrupted)
        MANAGER.start_sweeper(recover_interrupted_runs)
        _done[url] = startup
        return startup


def forget() -> None:
    """Tests that point the app at a new database call this."""
    with _lock:
        _done.clear()


def local_person_id() -> int:
    cfg = get_settings()
    with session_scope() as s:
        return get_or_create_person(s, name=cfg.local_person_name, email=cfg.local_person_email).id


def _seed_local_workspace(interrupted: int) -> Startup:
    cfg = get_settings()
    with session_scope() as s:
        person = get_or_create_person(s, name=cfg.local_person_name, email=cfg.local_person_email)
        existing = s.scalar(select(Connection.target_id).where(
            Connection.type == MEMBER_OF, Connection.source_type == "person",
            Connection.source_id == person.id).order_by(Connection.id).limit(1))
        if existing is not None:
            agent_id = s.scalar(select(Thing.id).where(Thing.group_id == existing, Thing.type == "agent",
                                                       Thing.deleted_at.is_(None)).order_by(Thing.id).limit(1))
            return Startup(person.id, existing, agent_id, interrupted)
        person.is_admin = True  # the first local person administers the workbench
        group, provider = workspace.create_in_session(s, person.id, cfg.default_group_name, "starter")
        agent = create_in_session(s, person.id, group.id, {
            "name": "Demo assistant", "description": DEMO_DESCRIPTION,
            "provider_id": provider.id, "model": starting_model(provider), "system_prompt": DEMO_PROMPT,
            "temperature": 0.3, "max_output_tokens": 320, "tools": []})
        return Startup(person.id, group.id, agent.id, interrupted)


def person_exists(person_id: int) -> bool:
    with session_scope() as s:
        return s.get(Person, person_id) is not None
