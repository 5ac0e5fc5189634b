"""Multi-tenant isolation, function by function.

OPS is the table of every public service function: how to call it as a given actor
against a target (ids of a group's objects), whether it reads or writes, and the least
role it needs. The tests run the table:

- an outsider (no group, or another group's members) gets AccessDenied and nothing changes;
- a role below the least role gets AccessDenied (a viewer changes nothing, an editor does
  no owner things) and the least role is enough;
- whatever mix of ids a member passes (their group's, another group's, made up), nothing of
  the other group is returned or changed;
- a new public service function (one taking `actor_id`/`person_id`) that is not in the
  table fails `test_every_service_function_is_in_the_table`.
"""

from __future__ import annotations

import importlib
import inspect
import io
import itertools
import json
import pkgutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import workbench
from tests.tenancy_world import MCP_COMMAND, World, build_world, leaks, new_person, snapshot
from workbench import agents
from workbench.db import session_scope
from workbench.errors import AccessDenied, NotFound, WorkbenchError
from workbench.models import Thing
from workbench.tenancy import groups, people

FIELDS = ("group", "agent", "version", "provider", "thread", "run", "task", "document", "member", "step",
          "comparison", "replay", "test_set", "experiment", "tool", "mcp_tool", "api_key",
          "optimization")
RANK = {None: 0, "viewer": 1, "editor": 2, "owner": 3, "admin": 4}
# Random draws per property test. Every function is also aimed at each case by name below
# (the loops over OPS), so the draws look for mixes of ids; 15 keeps the module near 30 s.
PROPERTY_EXAMPLES = 15
_n = itertools.count()


def uid() -> str:
    return f"{next(_n)}-{datetime.now():%H%M%S%f}"


@dataclass(frozen=True, repr=False)
class Op:
    name: str  # module path under workbench + function, as the scan reports it
    kind: str  # "read" | "write"
    role: str | None  # least role; "admin" = workbench administrator; None = acts on oneself
    call: Callable[[Callable, int, "Target"], Any]

    @property
    def fn(self) -> Callable:
        module, _, attr = self.name.rpartition(".")
        return getattr(importlib.import_module(f"workbench.{module}"), attr)

    def __call__(self, actor: int, target: "Target") -> Any:
        return self.call(self.fn, actor, target)

    def __repr__(self) -> str:
        return self.name


def R(name, role, call):
    return Op(name, "read", role, call)


def W(name, role, call):
    return Op(name, "write", role, call)


def _period():
    from workbench.costs import reports

    return reports.period("30d")


EPOCH, FAR = datetime(2000, 1, 1), datetime.now() + timedelta(days=2)

OPS: list[Op] = [
    # groups and people
    W("system.workspace.create_group", None, lambda f, a, t: f(a, f"New {uid()}")),
    W("tenancy.groups.rename_group", "owner", lambda f, a, t: f(a, t.group, f"Renamed {uid()}")),
    W("tenancy.groups.set_time_zone", "owner", lambda f, a, t: f(a, t.group, "Europe/Paris")),
    R("tenancy.groups.get_group", "viewer", lambda f, a, t: f(a, t.group)),
    R("tenancy.groups.list_my_groups", None, lambda f, a, t: f(a)),
    R("tenancy.groups.my_role", None, lambda f, a, t: f(a, t.group)),
    R("tenancy.groups.list_members", "viewer", lambda f, a, t: f(a, t.group)),
    W("tenancy.groups.add_member", "owner", lambda f, a, t: f(a, t.group, email=f"n{uid()}@example.com")),
    W("tenancy.groups.change_role", "owner", lambda f, a, t: f(a, t.group, t.member, "editor")),
    W("tenancy.groups.remove_member", "owner", lambda f, a, t: f(a, t.group, t.member)),
    W("tenancy.groups.leave_group", "viewer", lambda f, a, t: f(a, t.group)),
    R("tenancy.people.get_person", "viewer", lambda f, a, t: f(a, t.member)),
    # agents
    W("agents.definitions.create_agent", "editor", lambda f, a, t: f(a, t.group, name=f"Ag {uid()}",
                                                          provider_id=t.provider, model="gpt-4o-mini")),
    W("agents.definitions.update_agent", "editor", lambda f, a, t: f(a, t.agent, temperature=0.3)),
    W("agents.definitions.duplicate_agent", "editor", lambda f, a, t: f(a, t.agent)),
    W("agents.definitions.delete_agent", "editor", lambda f, a, t: f(a, t.agent)),
    R("agents.definitions.get_agent", "viewer", lambda f, a, t: f(a, t.agent, include_deleted=True)),
    R("agents.definitions.list_agents", "viewer", lambda f, a, t: f(a, t.group)),
    R("agents.definitions.get_version", "viewer", lambda f, a, t: f(a, t.version)),
    R("agents.definitions.agent_names", "viewer", lambda f, a, t: f(a, t.group)),
    R("agents.versions.list_versions", "viewer", lambda f, a, t: f(a, t.agent)),
    R("agents.labels.list_labels", "viewer", lambda f, a, t: f(a, t.agent)),
    R("agents.labels.labels_by_agent", "viewer", lambda f, a, t: f(a, t.group)),
    R("agents.labels.resolve_agent", "viewer", lambda f, a, t: f(a, t.group, f"{t.agent}@1")),
    W("agents.labels.set_label", "editor", lambda f, a, t: f(a, t.agent, 1, f"l{uid()}")),
    W("agents.labels.remove_label", "editor", lambda f, a, t: f(a, t.agent, "production")),
    # API keys
    R("serve.keys.list_keys", "viewer", lambda f, a, t: f(a, t.group)),
    R("serve.keys.key_person_names", "viewer", lambda f, a, t: f(a, t.group)),
    W("serve.keys.create_key", "editor", lambda f, a, t: f(a, t.group, f"k{uid()}")),
    W("serve.keys.revoke_key", "editor", lambda f, a, t: f(a, t.api_key)),
    R("agents.versions.diff_versions", "viewer", lambda f, a, t: f(a, t.agent, 1, 1)),
    W("agents.versions.restore_version", "editor", lambda f, a, t: f(a, t.agent, 1)),
    # the playground
    W("playground.compare.start_comparison", "editor", lambda f, a, t: f(
        a, t.group, [_variant(t.agent), _variant(t.agent, {"provider_id": t.provider})], "Compare").wait(15)),
    R("playground.compare.get_comparison", "viewer", lambda f, a, t: f(a, t.comparison)),
    R("playground.compare.list_comparisons", "viewer", lambda f, a, t: f(a, t.group)),
    W("playground.compare.stop_column", "editor", lambda f, a, t: f(a, t.comparison, 0)),
    W("playground.compare.mark_best", "editor", lambda f, a, t: f(a, t.comparison, 1)),
    W("playground.compare.save_column_as_version", "editor", lambda f, a, t: f(a, t.comparison, 1)),
    W("playground.compare.rerun_comparison", "editor", lambda f, a, t: f(a, t.comparison).wait(15)),
    R("playground.from_trace.open_step", "viewer", lambda f, a, t: f(a, t.step)),
    W("playground.from_trace.rerun_step", "editor", lambda f, a, t: f(a, t.step).wait(15)),
    W("playground.replay.replay_thread", "editor", lambda f, a, t: f(a, t.thread, _variant(t.agent))),
    R("playground.replay.replay_source", "viewer", lambda f, a, t: f(a, t.replay)),
    R("playground.replay.compare_replay", "viewer", lambda f, a, t: f(a, t.replay)),
    W("playground.variants.start_variant", "editor", lambda f, a, t: f(
        a, t.group, _variant(t.agent), "Hello variant").wait(15)),
    W("playground.variants.run_variant", "editor", lambda f, a, t: f(
        a, t.group, _variant(t.agent), "Hello variant", timeout=15)),
    # test sets and experiments
    W("experiments.testsets.create_test_set", "editor", lambda f, a, t: f(a, t.group, f"TS {uid()}",
                                                                          cases=[{"input": "Hi"}])),
    W("experiments.testsets.update_test_set", "editor", lambda f, a, t: f(a, t.test_set, description=uid())),
    W("experiments.testsets.save_cases", "editor", lambda f, a, t: f(a, t.test_set, [{"input": f"Q {uid()}",
                                                                                          "expected": "scripted"}])),
    W("experiments.testsets.add_case", "editor", lambda f, a, t: f(a, t.test_set, {"input": f"Q {uid()}",
                                                                                        "expected": "scripted"})),
    R("experiments.testsets.get_test_set", "viewer", lambda f, a, t: f(a, t.test_set)),
    R("experiments.testsets.find_test_set", "viewer", lambda f, a, t: f(a, t.group, _test_set_name(t.test_set))),
    R("experiments.testsets.list_test_sets", "viewer", lambda f, a, t: f(a, t.group)),
    R("experiments.testsets.list_test_set_versions", "viewer", lambda f, a, t: f(a, t.test_set)),
    R("experiments.testsets.case_from_message", "viewer", lambda f, a, t: f(a, _first_message(t.thread))),
    R("experiments.testsets.case_from_run", "viewer", lambda f, a, t: f(a, t.run)),
    W("experiments.io.import_test_set", "editor", lambda f, a, t: f(a, t.group, f"Imp {uid()}", "input\nHi\n",
                                                                    "cases.csv")),
    R("experiments.io.export_test_set", "viewer", lambda f, a, t: f(a, t.test_set, "cases.jsonl")),
    W("experiments.runner.start_experiment", "editor", lambda f, a, t: f(a, t.group, t.test_set,
                                                                         _variant(t.agent), wait=True)),
    W("experiments.runner.resume_experiment", "editor", lambda f, a, t: f(a, t.experiment, wait=True)),
    W("experiments.runner.stop_experiment", "editor", lambda f, a, t: f(a, t.experiment)),
    R("experiments.results.get_experiment", "viewer", lambda f, a, t: f(a, t.experiment)),
    # optimizations
    W("optimize.service.start_optimization", "editor", lambda f, a, t: f(a, t.group, t.agent, t.test_set, budget=12,
                                                                          wait=True)),
    W("optimize.service.stop_optimization", "editor", lambda f, a, t: f(a, t.optimization)),
    W("optimize.service.resume_optimization", "editor", lambda f, a, t: f(a, t.optimization, wait=True)),
    R("optimize.service.get_optimization", "viewer", lambda f, a, t: f(a, t.optimization)),
    R("optimize.service.list_optimizations", "viewer", lambda f, a, t: f(a, t.group)),
    R("optimize.service.candidate_runs", "viewer", lambda f, a, t: f(a, t.optimization)),
    W("optimize.service.save_candidate", "editor", lambda f, a, t: f(a, t.optimization)),
    W("optimize.service.run_as_experiment", "editor", lambda f, a, t: f(a, t.optimization)),
    R("experiments.results.list_experiments", "viewer", lambda f, a, t: f(a, t.group, t.test_set)),
    R("experiments.results.experiment_spend", "viewer", lambda f, a, t: f(a, t.group, EPOCH, FAR)),
    R("experiments.compare.compare_experiments", "viewer", lambda f, a, t: f(a, t.experiment, t.experiment)),
    R("experiments.compare.experiment_history", "viewer", lambda f, a, t: f(a, t.test_set)),
    R("experiments.compare.previous_experiment", "viewer", lambda f, a, t: f(a, t.experiment)),
    # threads, runs, tasks
    W("runs.lifecycle.create_thread", "editor", lambda f, a, t: f(t.group, t.agent, a)),
    W("threads.store.open_thread", "editor", lambda f, a, t: f(t.group, t.agent, a)),
    R("threads.store.get_thread", "viewer", lambda f, a, t: f(a, t.thread)),
    R("threads.store.list_threads", "viewer", lambda f, a, t: f(a, t.group, agent_id=t.agent)),
    W("threads.store.rename_thread", "editor", lambda f, a, t: f(a, t.thread, f"Title {uid()}")),
    W("threads.store.archive_thread", "editor", lambda f, a, t: f(a, t.thread)),
    W("threads.store.unarchive_thread", "editor", lambda f, a, t: f(a, t.thread)),
    R("threads.store.get_thread_messages", "viewer", lambda f, a, t: f(t.thread, actor_id=a)),
    R("threads.store.count_threads", "viewer", lambda f, a, t: f(a, t.group)),
    R("threads.store.thread_titles", "viewer", lambda f, a, t: f(a, t.group, [t.thread])),
    W("runs.lifecycle.continue_thread", "editor", lambda f, a, t: f(t.thread, "Hello again", a).wait(15)),
    W("runs.lifecycle.retry_last", "editor", lambda f, a, t: f(t.thread, a).wait(15)),
    W("runs.lifecycle.cancel_run", "editor", lambda f, a, t: f(t.run, a)),
    R("runs.lifecycle.active_handle", "viewer", lambda f, a, t: f(t.thread, actor_id=a)),
    R("tools.tasks.list_tasks", "viewer", lambda f, a, t: f(a, t.group)),
    W("tools.tasks.set_task_status", "editor", lambda f, a, t: f(a, t.task, "done")),
    R("tools.tasks.open_escalations", "viewer", lambda f, a, t: f(a, t.group)),
    W("tools.tasks.answer_as_human", "editor", lambda f, a, t: f(a, t.thread, "A human here.")),
    # providers
    R("providers.service.list_providers", "viewer", lambda f, a, t: f(a, t.group)),
    R("providers.service.get_provider", "viewer", lambda f, a, t: f(a, t.provider)),
    W("providers.service.add_provider", "editor", lambda f, a, t: f(
        a, t.group, name=f"P {uid()}", base_url="http://127.0.0.1:9/v1", kind="openai_compatible")),
    W("providers.service.update_provider", "editor", lambda f, a, t: f(a, t.provider, default_model="m")),
    R("providers.service.test_connection", "editor", lambda f, a, t: f(a, t.provider)),
    R("providers.service.list_models", "editor", lambda f, a, t: f(a, t.provider)),
    # knowledge
    W("knowledge.ingest.ingest_files", "editor", lambda f, a, t: f(
        a, t.group, [(f"f{uid()}.txt", f"File text {uid()}".encode())])),
    W("knowledge.ingest.add_snippet", "editor", lambda f, a, t: f(a, t.group, "Snip", f"Text {uid()}")),
    R("knowledge.documents.list_documents", "viewer", lambda f, a, t: f(a, t.group)),
    R("knowledge.documents.get_document", "viewer", lambda f, a, t: f(a, t.group, t.document)),
    R("knowledge.documents.get_chunks", "viewer", lambda f, a, t: f(a, t.group, t.document)),
    R("knowledge.documents.knowledge_stats", "viewer", lambda f, a, t: f(a, t.group)),
    W("knowledge.documents.delete_document", "editor", lambda f, a, t: f(a, t.group, t.document)),
    W("knowledge.ingest.reindex_document", "editor", lambda f, a, t: f(a, t.group, t.document, 300, 30)),
    R("knowledge.searching.search", "viewer", lambda f, a, t: f(a, t.group, "secret word of this team")),
    R("knowledge.searching.search_as_agent", "viewer", lambda f, a, t: f(
        t.group, t.agent, a, "secret word of this team")),
    # traces and their exports
    R("observe.traces.list_runs", "viewer", lambda f, a, t: f(a, t.group, _run_filters(t))),
    R("observe.traces.run_filter_options", "viewer", lambda f, a, t: f(a, t.group)),
    R("observe.traces.get_run_trace", "viewer", lambda f, a, t: f(a, t.run)),
    R("observe.traces.run_status", "viewer", lambda f, a, t: f(a, t.run)),
    R("observe.traces.run_versions", "viewer", lambda f, a, t: f(a, t.group, [t.run])),
    R("observe.trace_export.export_run_json", "viewer", lambda f, a, t: f(a, t.run)),
    R("observe.trace_export.export_runs_csv", "viewer", lambda f, a, t: f(a, t.group, _run_filters(t))),
    R("observe.trace_export.export_runs_json", "viewer", lambda f, a, t: f(a, t.group)),
    # the event log and its exports
    R("observe.event_log.list_events", "viewer", lambda f, a, t: f(a, t.group, actor=f"agent:{t.agent}")),
    R("observe.event_log.event_types", "viewer", lambda f, a, t: f(a, t.group)),
    R("observe.event_log.event_actors", "viewer", lambda f, a, t: f(a, t.group)),
    R("observe.event_log.iter_events", "viewer", lambda f, a, t: list(f(a, t.group))),
    R("observe.event_log.export_events_csv", "viewer", lambda f, a, t: f(a, t.group)),
    R("observe.event_log.export_events_json", "viewer", lambda f, a, t: f(a, t.group)),
    R("observe.event_log.count_events", "viewer", lambda f, a, t: f(a, t.group)),
    # usage, budgets, limits, prices
    R("costs.reports.dashboard", "viewer", lambda f, a, t: f(a, t.group, _period())),
    R("costs.usage_export.usage_csv_chunks", "viewer", lambda f, a, t: "".join(f(a, t.group, EPOCH, FAR))),
    R("costs.usage_export.write_usage_csv", "viewer", lambda f, a, t: _csv_bytes(f, a, t)),
    R("costs.reports.compare_groups", None, lambda f, a, t: f(a, EPOCH, FAR)),
    R("costs.budget.budget_status", "viewer", lambda f, a, t: f(a, t.group)),
    R("costs.limits.rate_usage", "viewer", lambda f, a, t: f(a, t.group)),
    R("costs.limits.get_limits", "viewer", lambda f, a, t: f(a, t.group)),
    W("costs.limits.set_limits", "owner", lambda f, a, t: f(a, t.group, monthly_budget_usd=75.0,
                                                       rpm_limit=100, tpm_limit=None)),
    W("costs.limits.reset_limits_to_plan", "owner", lambda f, a, t: f(a, t.group)),
    R("costs.prices.is_admin", None, lambda f, a, t: f(a)),
    R("costs.prices.list_prices", "viewer", lambda f, a, t: f(a, t.group)),
    R("costs.prices.known_providers", "viewer", lambda f, a, t: f(a, t.group)),
    W("costs.prices.add_price", "admin", lambda f, a, t: f(
        a, t.group, provider="acme", model=f"m-{uid()}", input_per_mtok=1.0, output_per_mtok=2.0,
        effective_from=date(2024, 1, 1))),
    W("costs.prices.recompute_costs", "admin", lambda f, a, t: f(
        a, t.group, start=date(2024, 1, 1), end=date.today())),
    R("system.status.provider_statuses", "viewer", lambda f, a, t: f(a, t.group)),
    R("system.status.builtin_model", "viewer", lambda f, a, t: f(a, t.group)),
    R("system.status.check_database", "viewer", lambda f, a, t: f(a, t.group)),
    R("system.status.check_knowledge_store", "viewer", lambda f, a, t: f(a, t.group)),
    R("demo.build.has_generated_history", "viewer", lambda f, a, t: f(a, t.group)),
    # custom tools (an MCP stdio server: owners only)
    R("tools.custom.service.list_tools", "viewer", lambda f, a, t: f(a, t.group)),
    R("tools.custom.service.get_tool", "viewer", lambda f, a, t: f(a, t.tool)),
    R("tools.custom.service.list_versions", "viewer", lambda f, a, t: f(a, t.tool)),
    R("tools.custom.service.picker_entries", "viewer", lambda f, a, t: f(a, t.group)),
    W("tools.custom.service.create_tool", "editor", lambda f, a, t: f(
        a, t.group, name=f"t{uid()}", kind="mock", description="A tool.", template="fixed")),
    W("tools.custom.service.update_tool", "editor", lambda f, a, t: f(a, t.tool, template=f"Now {uid()}")),
    W("tools.custom.service.delete_tool", "editor", lambda f, a, t: f(a, t.tool)),
    W("tools.custom.service.try_tool", "editor", lambda f, a, t: f(a, t.tool, _tool_name(t.tool), "{}")),
    R("tools.custom.service.discover_mcp_tools", "owner", lambda f, a, t: f(
        a, t.group, transport="stdio", command=MCP_COMMAND)),
    W("tools.custom.service.refresh_mcp_tools", "owner", lambda f, a, t: f(a, t.mcp_tool)),
    R("agents.transfer.export_agents", "viewer", lambda f, a, t: f(a, t.group, [t.agent])),
    W("agents.transfer.import_agents", "editor", lambda f, a, t: f(a, t.group, json.dumps({
        "format": "agent-workbench/agents", "version": 1, "agents": [], "tools": [
            {"name": f"t{uid()}", "kind": "mock", "description": "Imported.", "impl": {"template": "x"}}]}))),
]

# Public functions that take a person id but are not group services, and why.
EXEMPT = {
    "optimize.search.launch": "the optimization's own runner, started by start/resume_optimization after their "
                              "access check",
    "optimize.search.run_search": "the same runner's body (the thread launch starts)",
    "system.bootstrap.person_exists": "says whether a person id exists (start-up); no group data",
    "tenancy.access.record_denied": "records a refusal the access check has already made",
    "demo.build.find_demo_group": "the id of the actor's own group named Demo, from their own memberships",
    "demo.build.build_demo": "creates the actor's own Demo group (as workspace.create_group does) and runs the "
                             "built-in model for minutes; tests/test_demo.py covers it",
    "demo.remove.remove_demo": "deletes only a Demo group the actor belongs to, after an owner check; "
                               "tests/test_demo.py covers it",
}
# Writes a viewer may make: they act on the actor alone.
SELF_WRITES = {"system.workspace.create_group", "tenancy.groups.leave_group"}


def _variant(agent_id, overrides=None):
    from workbench.playground import Variant

    return Variant(agent_id, None, dict(overrides or {}))


def _first_message(thread_id):
    from sqlalchemy import select

    from workbench.db import session_scope
    from workbench.models import Message

    with session_scope() as s:
        found = s.scalar(select(Message.id).where(Message.thread_id == thread_id).order_by(Message.seq).limit(1))
    return found if found is not None else thread_id  # a made-up thread: a made-up message


def _test_set_name(test_set_id):
    from workbench.db import session_scope
    from workbench.models import TestSet

    with session_scope() as s:
        found = s.get(TestSet, test_set_id)
        return found.name if found else "No such set"


def _tool_name(tool_id):
    from workbench.db import session_scope
    from workbench.models import Thing

    with session_scope() as s:
        found = s.get(Thing, tool_id)
        return found.name if found else "lookup"


def _run_filters(t):
    from workbench.observe.traces import RunFilters

    return RunFilters(thread_id=t.thread, agent_ids=(t.agent,))


def _csv_bytes(f, a, t) -> str:
    buf = io.BytesIO()
    f(a, t.group, EPOCH, FAR, buf)
    return buf.getvalue().decode()


# --- targets -------------------------------------------------------------------------------

class Target:
    """The ids a call is aimed at, each with its origin ("A", "B", "missing"); remembers
    which ones the call used. A value may be a factory, called on first use."""

    def __init__(self, ids: dict[str, tuple[str, Any]]):
        self._ids = dict(ids)
        self.used: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in FIELDS:
            raise AttributeError(name)
        origin, value = self._ids[name]
        if callable(value):
            value = value()
            self._ids[name] = (origin, value)
        self.used[name] = origin
        return value

    def __repr__(self) -> str:
        return f"Target({ {k: v for k, v in self._ids.items() if not callable(v[1])} })"

    @classmethod
    def of(cls, world: World, key: str) -> "Target":
        g = world.groups[key]
        return cls({f: (key, getattr(g, f)) for f in FIELDS})

    @classmethod
    def fresh(cls, world: World, key: str) -> "Target":
        """Group A's objects, with new ones for what a write may consume (delete, archive,
        remove), made through the services by the group's owner."""
        from workbench import agents, knowledge, runs

        g = world.groups[key]
        ids = dict(cls.of(world, key)._ids)

        def agent():
            return agents.create_agent(g.owner, g.group, name=f"Fresh {uid()}", provider_id=g.provider,
                                       model="gpt-4o-mini").id

        def thread():
            made, handle = runs.create_thread(g.group, g.agent, g.owner, initial_message="Fresh")
            handle.wait(15)
            return made.id

        def member():
            person = new_person("Member")
            groups.add_member(g.owner, g.group, email=people.get_person(person, person).email,
                              role="viewer")
            return person

        def document():
            return knowledge.add_snippet(g.owner, g.group, "Fresh", f"Fresh text {uid()}").document_id

        def tool():
            from workbench.tools.custom import service

            return service.create_tool(g.owner, g.group, name=f"fresh{uid()}", kind="mock", description="Fresh.",
                                       template="fresh").id

        def api_key():
            from workbench.serve import keys

            return keys.create_key(g.owner, g.group, f"Fresh {uid()}").info.id

        ids.update(agent=(key, agent), thread=(key, thread), member=(key, member),
                   document=(key, document), tool=(key, tool), api_key=(key, api_key))
        return cls(ids)


def actor_in(world: World, key: str, role: str) -> int:
    """A new person with exactly `role` in group `key` (admin: the local administrator)."""
    if role == "admin":
        return world.local_person
    person = new_person(role.title())
    g = world.groups[key]
    groups.add_member(g.owner, g.group, email=people.get_person(person, person).email, role=role)
    return person


@pytest.fixture()
def world(wb, openai_server, monkeypatch) -> World:
    monkeypatch.setenv("WORKBENCH_MCP_ALLOWED_COMMANDS", sys.executable)  # the world's MCP tools
    from workbench import settings as workbench_settings

    workbench_settings.reset_settings()
    return build_world(wb, openai_server)


GUARDED = [op for op in OPS if op.role]
OUTSIDERS = ("outsider", "B.owner", "B.editor", "B.viewer")


def who(world: World, spec: str) -> int:
    if spec == "outsider":
        return world.outsider
    key, role = spec.split(".")
    return world.groups[key].person(role)


# --- the properties ------------------------------------------------------------------------

def test_outsiders_are_refused_and_change_nothing(world):
    @settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
    @given(op=st.sampled_from(GUARDED), spec=st.sampled_from(OUTSIDERS))
    def check(op, spec):
        before = snapshot()
        with pytest.raises(AccessDenied):
            op(who(world, spec), Target.of(world, "A"))
        assert snapshot() == before

    check()
    before = snapshot()
    for op in GUARDED:  # and every function at least once, whatever hypothesis drew
        with pytest.raises(AccessDenied):
            op(world.outsider, Target.of(world, "A"))
    assert snapshot() == before


def test_a_role_below_the_least_is_refused(world):
    lower = [(op, role) for op in GUARDED for role in ("viewer", "editor", "owner")
             if RANK[role] < RANK[op.role]]

    @settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
    @given(case=st.sampled_from(lower))
    def check(case):
        op, role = case
        before = snapshot()
        with pytest.raises(AccessDenied):
            op(world.groups["A"].person(role), Target.of(world, "A"))
        assert snapshot() == before

    check()
    before = snapshot()
    for op in GUARDED:  # a viewer changes nothing at all (but may leave)
        if op.kind == "write" and op.name not in SELF_WRITES:
            with pytest.raises(AccessDenied):
                op(world.groups["A"].viewer, Target.of(world, "A"))
    assert snapshot() == before


def _aimed(op: Op, actor: int, target: Target, foreign) -> Any:
    """Call `op`; check the foreign group is neither shown nor changed; return the result
    or the WorkbenchError (anything else, like a TypeError or an IntegrityError, fails)."""
    before = snapshot(foreign.group)
    try:
        result = op(actor, target)
    except WorkbenchError as err:
        result = err
    assert leaks(result, foreign) == [], f"{op} {target} showed {leaks(result, foreign)}"
    assert snapshot(foreign.group) == before, f"{op} {target} changed group {foreign.key}"
    if op.role and target.used and set(target.used.values()) == {foreign.key}:
        assert isinstance(result, AccessDenied), f"{op} on {foreign.key}'s objects gave {result!r}"
    return result


def test_whatever_ids_a_member_passes_the_other_group_is_untouched(world):
    b = world.groups["B"]
    origin = st.sampled_from(["A", "B", "missing"])

    def ids(origins: dict[str, str], missing: int) -> Target:
        return Target({f: (o, missing if o == "missing" else getattr(world.groups[o], f))
                       for f, o in origins.items()})

    @settings(max_examples=PROPERTY_EXAMPLES, deadline=None)
    @given(op=st.sampled_from(OPS), spec=st.sampled_from(["A.owner", "A.editor", "A.viewer", "outsider"]),
           origins=st.fixed_dictionaries({f: origin for f in FIELDS}),
           missing=st.integers(min_value=10**6, max_value=2**31 - 1))
    def check(op, spec, origins, missing):
        _aimed(op, who(world, spec), ids(origins, missing), b)

    check()
    # And for every function, A's owner aiming at: B's objects only; A's group with B's
    # objects (the classic "my group id, your document id"); ids that do not exist.
    owner = world.groups["A"].owner
    for op in OPS:
        _aimed(op, owner, ids({f: "B" for f in FIELDS}, 0), b)
        _aimed(op, owner, ids({f: "A" if f == "group" else "B" for f in FIELDS}, 0), b)
        _aimed(op, owner, ids({f: "missing" for f in FIELDS}, 987_654_321), b)


def test_the_least_role_is_enough(world):
    for op in GUARDED:
        key = "A"
        actor = actor_in(world, key, op.role)
        target = Target.fresh(world, key) if op.kind == "write" else Target.of(world, key)
        if op.role == "admin":
            target = Target({f: ("local", world.local_group) for f in ("group",)})
        try:
            op(actor, target)
        except WorkbenchError as err:
            pytest.fail(f"{op} refused a {op.role}: {err!r}")


def test_an_api_key_never_reaches_another_groups_agents_or_threads(world):
    """What an API call does (serve.calls) acts as the key's person: group B's agents,
    versions, labels and threads are "not found" to group A's key, and B is unchanged."""
    from workbench.serve import calls
    from workbench.serve.keys import authenticate
    from workbench.serve.requests import parse_chat_request

    a, b = world.groups["A"], world.groups["B"]
    key = authenticate(a.api_secret)
    agents.set_label(b.owner, b.agent, 1, "production")
    with session_scope() as s:
        b_name = s.get(Thing, b.agent).name
    before = snapshot(b.group)
    attempts = [lambda: calls.key_thread(key, b.thread), lambda: calls.thread_messages(key, b.thread, 10, None),
                lambda: calls.get_model(key, str(b.agent))]
    for model in (str(b.agent), f"{b.agent}@1", f"{b.agent}@production", b_name):
        attempts.append(lambda model=model: calls.get_model(key, model))
        attempts.append(lambda model=model: calls.start_call(key, parse_chat_request(
            {"model": model, "messages": [{"role": "user", "content": "Hi"}]})))
    # A's own agent, on B's thread
    attempts.append(lambda: calls.start_call(key, parse_chat_request(
        {"model": str(a.agent), "metadata": {"thread_id": str(b.thread)}, "messages": [{"role": "user", "content": "Hi"}]})))
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
    assert leaks([m for m in calls.list_models(key)], b) == []
    assert snapshot(b.group) == before


def test_writes_need_an_editor_unless_they_act_on_oneself():
    weak = {op.name for op in OPS if op.kind == "write" and RANK[op.role] < RANK["editor"]}
    assert weak == SELF_WRITES


# --- the table covers every service function ---------------------------------------------

def _service_functions() -> dict[str, str]:
    """Public functions of every workbench module that take `actor_id` or `person_id`
    (not session helpers called inside a service, nor tool functions)."""
    found = {}
    for info in pkgutil.walk_packages(workbench.__path__, "workbench."):
        name = info.name
        if ".migrations" in name or name == "workbench.__main__" or name.startswith("workbench.cli"):
            continue  # the CLI, like the pages, is a view: its commands call the services below
        module = importlib.import_module(name)
        for attr, fn in vars(module).items():
            if attr.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != name:
                continue
            params = list(inspect.signature(fn).parameters)
            if params and params[0] not in ("s", "session", "ctx") and {"actor_id", "person_id"} & set(params):
                found[f"{name.removeprefix('workbench.')}.{attr}"] = str(inspect.signature(fn))
    return found


def test_every_service_function_is_in_the_table():
    services = _service_functions()
    covered = {op.name for op in OPS} | set(EXEMPT)
    missing = sorted(set(services) - covered)
    assert not missing, "service functions without an access test (add them to OPS):\n" + "\n".join(
        f"  {m}{services[m]}" for m in missing)
    stale = sorted(covered - set(services))
    assert not stale, f"OPS names functions that no longer exist: {stale}"
