"""Build the demo workspace for a person: a group named "Demo" they own.

Idempotent: when the person already belongs to a group named "Demo", nothing is built and the
report says so (`created=False`); `remove_demo` then `build_demo` starts over. The
conversations run for real on the built-in model through the normal thread API, so their
replies, traces, usage and tool calls are real; a run that does not call the tool it was
meant to is reported (never faked) and the build carries on."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from sqlalchemy import select

from .. import agents, events, knowledge, runs
from ..clock import utcnow
from ..costs import limits
from ..costs.budget import budget_status, forget_spend
from ..costs.pricing import compute_cost
from ..db import session_scope
from ..errors import WorkbenchError
from ..experiments import create_test_set, get_experiment, start_experiment
from ..optimize import get_optimization, start_optimization
from ..models import ApiKey, ProviderRecord, RunStep, UsageRecord
from ..playground import Variant, get_comparison, start_comparison
from ..providers.base import Usage
from ..providers.service import starting_model
from ..runs.lifecycle import continue_thread
from ..serve.keys import create_key
from ..system import workspace
from ..tenancy import access, groups
from .content import (AGENTS, COMPARISON_AGENT, COMPARISON_MESSAGE, CONVERSATIONS, DEMO_GROUP_NAME,
                      GENERATED_PROVIDER, MAX_OUTPUT_TOKENS, OPTIMIZE_BUDGET, OPTIMIZE_SET_CASES,
                      OPTIMIZE_SET_DESCRIPTION, OPTIMIZE_SET_NAME, TEST_SET_CASES, TEST_SET_DESCRIPTION,
                      TEST_SET_NAME, DeployPlan, UsagePlan, knowledge_files)

ProgressFn = Callable[[str, float], None]  # (what is happening, fraction done 0..1)
RUN_TIMEOUT_S = 300.0
BUDGET_TARGET = 0.83  # of the monthly budget spent: past the 80 % warning, far from the limit


@dataclass
class StepOutcome:
    label: str
    done: bool
    detail: str = ""


@dataclass
class DemoReport:
    group_id: int
    created: bool  # False: the Demo group already existed and nothing was built
    steps: list[StepOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def missed(self) -> list[StepOutcome]:
        return [s for s in self.steps if not s.done]


def find_demo_group(person_id: int) -> int | None:
    """The id of the person's group named "Demo", if they belong to one."""
    for group, _role in groups.list_my_groups(person_id):
        if group.name == DEMO_GROUP_NAME:
            return group.id
    return None


def has_generated_history(actor_id: int, group_id: int) -> bool:
    """Whether the group's usage includes generated demo records (the Usage page says so)."""
    with session_scope() as s:
        access.require_access(s, actor_id, group_id, "viewer")
        return s.scalar(select(UsageRecord.id).where(
            UsageRecord.group_id == group_id, UsageRecord.provider == GENERATED_PROVIDER).limit(1)) is not None


def build_demo(person_id: int, progress: ProgressFn | None = None, *, quick: bool = False) -> DemoReport:
    """`quick`: only the conversations marked for it (a knowledge search and a task: two model
    runs instead of five), for screenshots in CI."""
    started = time.perf_counter()
    say = progress or (lambda _msg, _frac: None)
    existing = find_demo_group(person_id)
    if existing is not None:
        say(f"The {DEMO_GROUP_NAME} group already exists (id {existing}): nothing to do.", 1.0)
        return DemoReport(existing, created=False)
    say(f"Creating the {DEMO_GROUP_NAME} group", 0.0)
    group = workspace.create_group(person_id, DEMO_GROUP_NAME)
    report = DemoReport(group.id, created=True)
    agent_ids = _agents(person_id, group.id)
    report.steps.append(StepOutcome("agents", True, f"{len(agent_ids)} agents, 2 versions each"))
    deploy_step, api_key_id = _deploy(person_id, group.id, agent_ids)
    report.steps.append(deploy_step)
    say("Agents created; building the knowledge base", 0.05)
    report.steps.append(_knowledge(person_id, group.id, say))
    conversations = [c for c in CONVERSATIONS if c.quick or not quick]
    total = len(conversations)
    for i, conv in enumerate(conversations):
        say(f"Running the built-in model ({i + 1}/{total}): {conv.label or conv.message[:40]}",
            0.15 + 0.75 * i / total)
        report.steps.append(_converse(person_id, group.id, agent_ids[conv.agent], conv))
    say("Playground: comparing the writing assistant's two versions side by side", 0.88)
    report.steps.append(_comparison(person_id, group.id, agent_ids[COMPARISON_AGENT]))
    if not quick:
        say("Experiments: a test set of the writing assistant, evaluated on the built-in model", 0.9)
        report.steps.append(_experiment(person_id, group.id, agent_ids[COMPARISON_AGENT]))
        say("Optimize: a better prompt for the writing assistant, searched on the built-in model", 0.91)
        report.steps.append(_optimization(person_id, group.id, agent_ids[COMPARISON_AGENT]))
    say("Generating 60 days of usage history (marked as demo data)", 0.92)
    report.steps.append(_usage_history(person_id, group.id, agent_ids, api_key_id))
    report.steps.append(_budget(person_id, group.id))
    with session_scope() as s:
        events.record(s, "demo_built", group_id=group.id, actor_id=person_id, target_type="group",
                      target_id=group.id, data={"missed": [m.label for m in report.missed]})
    report.seconds = time.perf_counter() - started
    say(f"Done in {report.seconds:.0f} s", 1.0)
    return report


def _agents(person_id: int, group_id: int) -> dict[str, int]:
    with session_scope() as s:
        provider = s.scalar(select(ProviderRecord).where(ProviderRecord.group_id == group_id,
                                                         ProviderRecord.kind == "local"))
        provider_id, model = provider.id, starting_model(provider)
    ids = {}
    for spec in AGENTS:
        view = agents.create_agent(person_id, group_id, name=spec.name, description=spec.description,
                                   provider_id=provider_id, model=model, system_prompt=spec.first_prompt,
                                   temperature=spec.temperature, max_output_tokens=MAX_OUTPUT_TOKENS,
                                   tools=spec.tools, max_tool_steps=3, note="First draft")
        agents.update_agent(person_id, view.id, note=spec.note, system_prompt=spec.prompt)
        ids[spec.key] = view.id
    return ids


def _deploy(person_id: int, group_id: int, agent_ids: dict[str, int]) -> tuple[StepOutcome, int | None]:
    """An API key for the website's chat (its secret is dropped: a demo key is never used)
    and the production label on the support agent. Returns the step and the key's id."""
    plan = DeployPlan()
    try:
        made = create_key(person_id, group_id, plan.key_name, role="editor")
        agents.set_label(person_id, agent_ids[plan.agent], plan.version, plan.label)
    except WorkbenchError as err:
        return StepOutcome("deploy", False, err.user_message), None
    return StepOutcome("deploy", True, f"API key {plan.key_name!r} ({made.info.prefix}…), "
                                       f"{plan.label} -> v{plan.version}"), made.info.id


def _knowledge(person_id: int, group_id: int, say: ProgressFn) -> StepOutcome:
    files = knowledge_files()
    seen: set[tuple[str, str]] = set()

    def on_progress(p) -> None:
        if (p.filename, p.stage) not in seen:  # one line per file and stage, not per batch
            seen.add((p.filename, p.stage))
            say(f"Knowledge: {p.filename} ({p.stage})", 0.05 + 0.1 * p.batch_fraction)

    try:
        result = knowledge.ingest_files(person_id, group_id, files, progress=on_progress)
    except WorkbenchError as err:
        return StepOutcome("knowledge", False, err.user_message)
    ok = result.added
    detail = ", ".join(f"{r.filename}: {r.status}, {r.chunk_count} chunks" for r in result.files)
    return StepOutcome("knowledge", len(ok) == len(files), detail)


def _converse(person_id: int, group_id: int, agent_id: int, conv) -> StepOutcome:
    label = f"{conv.expect_tool or 'answer'}: {conv.message[:50]}"
    try:
        thread, handle = runs.create_thread(group_id, agent_id, person_id)
        result = continue_thread(thread.id, conv.message, person_id).wait(RUN_TIMEOUT_S)
    except WorkbenchError as err:
        return StepOutcome(label, False, err.user_message)
    if result is None or result.status != "complete":
        return StepOutcome(label, False, f"run {getattr(result, 'status', 'timed out')}: "
                                         f"{getattr(result, 'error', '') or ''}")
    with session_scope() as s:
        called = s.scalars(select(RunStep.name).where(RunStep.run_id == result.run_id,
                                                      RunStep.kind == "tool_call")).all()
    if conv.expect_tool and conv.expect_tool not in called:
        return StepOutcome(label, False, f"the model did not call {conv.expect_tool} "
                                         f"(called: {', '.join(called) or 'no tool'}); the reply is kept")
    return StepOutcome(label, True, f"thread {thread.id}" + (f", called {', '.join(called)}" if called else ""))


def _comparison(person_id: int, group_id: int, agent_id: int) -> StepOutcome:
    try:
        live = start_comparison(person_id, group_id, [Variant(agent_id, 1), Variant(agent_id, 2)],
                                COMPARISON_MESSAGE, title="Writing assistant: v1 vs v2")
        live.wait()
        view = get_comparison(person_id, live.id)
    except WorkbenchError as err:
        return StepOutcome("comparison", False, err.user_message)
    statuses = [c.result.status for c in view.columns]
    return StepOutcome("comparison", all(s == "complete" for s in statuses),
                       f"comparison {live.id}: v1 and v2 {', '.join(statuses)}")


def _experiment(person_id: int, group_id: int, agent_id: int) -> StepOutcome:
    """A small test set and one real experiment of the agent's latest version over it."""
    try:
        test_set = create_test_set(person_id, group_id, TEST_SET_NAME, TEST_SET_DESCRIPTION, TEST_SET_CASES)
        experiment_id = start_experiment(person_id, group_id, test_set.id, Variant(agent_id), wait=True)
        view = get_experiment(person_id, experiment_id)
    except WorkbenchError as err:
        return StepOutcome("experiment", False, err.user_message)
    return StepOutcome("experiment", view.status == "complete",
                       f"experiment {experiment_id}: {view.status}, passed {view.passed_cases}/{len(view.cases)} cases")


def _optimization(person_id: int, group_id: int, agent_id: int) -> StepOutcome:
    """A finished optimization of the agent over a small test set of a format its prompt
    never asks for (reflection by the built-in model itself)."""
    try:
        test_set = create_test_set(person_id, group_id, OPTIMIZE_SET_NAME, OPTIMIZE_SET_DESCRIPTION, OPTIMIZE_SET_CASES)
        optimization_id = start_optimization(person_id, group_id, agent_id, test_set.id, budget=OPTIMIZE_BUDGET,
                                             wait=True)
        view = get_optimization(person_id, optimization_id)
    except WorkbenchError as err:
        return StepOutcome("optimization", False, err.user_message)
    return StepOutcome("optimization", view.status == "finished",
                       f"optimization {optimization_id}: {view.status}, {view.evaluations} evaluations, "
                       f"{len(view.candidates)} candidates, best {view.best_score} (start {view.start_score})")


def _usage_history(person_id: int, group_id: int, agent_ids: dict[str, int],
                   api_key_id: int | None = None) -> StepOutcome:
    """Usage records over the past 60 days, priced at today's list prices of real hosted
    models, stored under the provider name GENERATED_PROVIDER: no real call carries it.
    With the demo's API key, a share of the support agent's calls of its last `key_days` are
    the website's, made through the key (its person), and the key dates from then."""
    plan, deploy = UsagePlan(), DeployPlan()
    rng = random.Random(plan.seed)
    by_key = random.Random(deploy.seed)  # its own draws: the rest of the history stays as it was
    now = utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    agent_list = list(agent_ids.values())
    count = keyed = 0
    with session_scope() as s:
        access.require_access(s, person_id, group_id, "owner")
        key = s.get(ApiKey, api_key_id) if api_key_id is not None else None
        key_since = today - timedelta(days=deploy.key_days) + timedelta(hours=9, minutes=41)
        key_last = None
        for day in range(plan.days - 1, -1, -1):
            start = today - timedelta(days=day)
            span = (now - start) if day == 0 else timedelta(days=1)
            weekday = start.weekday() < 5
            calls = rng.randint(6, 14) if weekday else rng.randint(1, 4)
            calls += (plan.days - day) // 10  # adoption grows
            for _ in range(calls):
                price_provider, model = rng.choice(plan.models)
                usage = Usage(input_tokens=rng.randint(600, 4000), output_tokens=rng.randint(80, 700))
                at = start + span * rng.random()
                cost = compute_cost(s, price_provider, model, usage, at)
                agent_id, caller = rng.choice(agent_list), person_id
                if (key is not None and at >= key_since and agent_id == agent_ids[deploy.agent]
                        and by_key.random() < deploy.key_share):
                    caller, keyed, key_last = key.person_id, keyed + 1, max(at, key_last or at)
                s.add(UsageRecord(group_id=group_id, agent_id=agent_id, person_id=caller,
                                  provider=GENERATED_PROVIDER, model=model,
                                  input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                                  cost_usd=cost.usd, price_id=cost.price_id, price_is_default=cost.is_default,
                                  duration_ms=rng.uniform(800, 6000), ttft_ms=rng.uniform(200, 900),
                                  created_at=at))
                count += 1
        if key is not None:
            key.created_at, key.last_used_at = key_since, key_last
        forget_spend(s, [group_id])  # records written behind the kept month spend
    via = f", {keyed} of them through the API key" if key is not None else ""
    return StepOutcome("usage history", True, f"{count} generated usage records over {plan.days} days{via}")


def _budget(person_id: int, group_id: int) -> StepOutcome:
    spent = budget_status(person_id, group_id).spent_usd
    if spent <= 0:
        return StepOutcome("budget", False, "no spend this month to set a budget against")
    budget = round(spent / BUDGET_TARGET, 2)
    now = limits.get_limits(person_id, group_id)  # the plan's rate limits stay as they are
    limits.set_limits(person_id, group_id, monthly_budget_usd=budget, rpm_limit=now.rpm_limit,
                      tpm_limit=now.tpm_limit)
    return StepOutcome("budget", True, f"${budget:,.2f} a month, {spent / budget:.0%} spent")


__all__ = ["DemoReport", "StepOutcome", "build_demo", "find_demo_group", "has_generated_history"]
