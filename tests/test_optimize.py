"""Optimize, with the scripted model server: the agent's replies pass the checks only when its
system prompt asks for the behaviour, and the reflection model proposes that prompt when shown
the failures. gepa runs the search; every evaluation is an experiment's run, every reflection
a run of kind `optimization`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.scripted_openai import text
from workbench import experiments, optimize
from workbench.agents import get_agent, list_versions
from workbench.cli.commands import main
from workbench.db import session_scope
from workbench.errors import ValidationError
from workbench.models import Run, Thread
from workbench.optimize.search import REFLECTOR

PROMPTS = ["You are a support agent. Always answer in French.",
           "You are a support agent. Always answer in French and thank the customer."]


def greeter(reflections: list, on_reflection=None):
    """A model that greets in French only when told to, thanks only when told to, and, as
    the reflection model, proposes the next prompt of PROMPTS."""
    def respond(body):
        system = body["messages"][0]["content"]
        if system == REFLECTOR:
            reflections.append(body["messages"][-1]["content"])
            if on_reflection:
                on_reflection(len(reflections))
            return text(f"```\n{PROMPTS[min(len(reflections), len(PROMPTS)) - 1]}\n```")
        reply = "Bonjour" if "French" in system else "Hello"
        return text(reply + (", merci!" if "thank" in system else "!"))
    return respond


def make_test_set(scripted, checks, n=6):
    cases = [{"input": f"Customer {i} says hi", "checks": checks} for i in range(n)]
    return experiments.create_test_set(scripted.person_id, scripted.group_id, "Greetings", cases=cases).id


def runs_of_kind(kind: str) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count(Run.id)).join(Thread, Thread.id == Run.thread_id)
                        .where(Thread.kind == kind)) or 0


def test_the_search_finds_the_prompt_and_saves_it_as_a_version(scripted):
    agent = scripted.make_agent(name="Greeter", system_prompt="You are a support agent.", tools=[])
    reflections: list[str] = []
    scripted.server.respond_with(greeter(reflections))
    ts = make_test_set(scripted, [{"type": "contains", "value": "Bonjour"}])
    opt_id = optimize.start_optimization(scripted.person_id, scripted.group_id, agent.id, ts, budget=12, wait=True)
    view = optimize.get_optimization(scripted.person_id, opt_id)
    assert (view.status, view.start_score, view.best_score) == ("finished", 0.0, 1.0)
    assert view.best.prompt == PROMPTS[0]
    assert [c.index for c in view.candidates] == [0, 1] and view.candidates[1].parents == [0]
    assert len(view.train_keys) == len(view.val_keys) == 3  # six cases: a seeded half and half
    assert view.candidates[1].cases_won == 3 and view.candidates[1].experiment_ids
    # the reflection model saw each failure with its check's verdict and reason
    assert "Hello!" in reflections[0] and "Bonjour" in reflections[0] and "fail" in reflections[0]
    # the budget, exactly: every evaluation is one run, never more than the budget
    assert view.evaluations == runs_of_kind(experiments.EXPERIMENT) == 12
    assert runs_of_kind(optimize.OPTIMIZATION) == len(reflections) == 1
    assert experiments.list_experiments(scripted.person_id, scripted.group_id) == []  # evaluations stay off the list
    # the runs behind the best score: its validation cases first, each with its run (a trace)
    runs = optimize.candidate_runs(scripted.person_id, opt_id)
    assert [r.validation for r in runs[:3]] == [True] * 3 and {r.score for r in runs[:3]} == {1.0}
    assert {r.case_key for r in runs[:3]} == set(view.val_keys) and all(r.run_id for r in runs)
    assert [r.score for r in optimize.candidate_runs(scripted.person_id, opt_id, 0) if r.validation] == [0.0] * 3
    version = optimize.save_candidate(scripted.person_id, opt_id)
    assert get_agent(scripted.person_id, agent.id).config.system_prompt == PROMPTS[0]
    note = list_versions(scripted.person_id, agent.id)[0].note
    assert f"Optimization {opt_id}" in note and "1.00" in note and version == 2
    baseline, candidate = optimize.run_as_experiment(scripted.person_id, opt_id)
    for exp in (baseline, candidate):
        experiments.wait_experiment(exp, 30)
    assert experiments.get_experiment(scripted.person_id, candidate).pass_rate == 1.0
    assert experiments.get_experiment(scripted.person_id, baseline).pass_rate == 0.0


def test_stop_then_resume_carries_on_from_the_scored_candidates(scripted):
    agent = scripted.make_agent(name="Greeter", system_prompt="You are a support agent.", tools=[])
    reflections: list[str] = []
    holder = {}

    def stop_at_second(n):
        if n == 2:  # the first iteration is done and checkpointed
            optimize.stop_optimization(scripted.person_id, holder["id"])

    scripted.server.respond_with(greeter(reflections, stop_at_second))
    ts = make_test_set(scripted, [{"type": "contains", "value": "Bonjour"}, {"type": "contains", "value": "merci"}])
    # 3 (the start on the validation cases) + 9 for the first iteration (3 to reflect on, 3 for
    # the new candidate, 3 to validate it); the second reads its 3 back (the same cases as the
    # first) and is stopped before its new candidate runs
    opt_id = optimize.start_optimization(scripted.person_id, scripted.group_id, agent.id, ts, budget=21)
    holder["id"] = opt_id
    assert optimize.wait_optimization(opt_id, 60)
    stopped = optimize.get_optimization(scripted.person_id, opt_id)
    assert stopped.status == "stopped" and stopped.best_score == 0.5 and len(stopped.candidates) == 2
    used = stopped.evaluations
    assert used == 12
    left = optimize.resume_optimization(scripted.person_id, opt_id, wait=True)
    assert left == 21 - used
    done = optimize.get_optimization(scripted.person_id, opt_id)
    assert (done.status, done.best_score, done.best.prompt) == ("finished", 1.0, PROMPTS[1])
    assert done.evaluations <= 21 and done.evaluations == runs_of_kind(experiments.EXPERIMENT)
    # the starting prompt was scored once, before the stop: not again after the resume
    start_runs = [c for c in done.candidates if c.index == 0][0].experiment_ids
    assert len(start_runs) == 2  # its validation pass and the first minibatch


def test_bad_starts_are_refused_with_a_sentence(scripted):
    agent = scripted.make_agent(name="Greeter", tools=[])
    no_checks = experiments.create_test_set(scripted.person_id, scripted.group_id, "Loose",
                                            cases=[{"input": "Hi"}, {"input": "Hello"}]).id
    with pytest.raises(ValidationError, match="no checks or expected answers"):
        optimize.start_optimization(scripted.person_id, scripted.group_id, agent.id, no_checks)
    ts = make_test_set(scripted, [{"type": "contains", "value": "Bonjour"}], n=2)
    with pytest.raises(ValidationError, match="budget"):
        optimize.start_optimization(scripted.person_id, scripted.group_id, agent.id, ts, budget=3)
    assert optimize.list_optimizations(scripted.person_id, scripted.group_id) == []


def test_the_cli_prints_progress_and_the_last_line(scripted, capsys):
    agent = scripted.make_agent(name="Greeter", system_prompt="You are a support agent.", tools=[])
    scripted.server.respond_with(greeter([]))
    # under six cases: all of them to learn from and to validate on, so the start's first
    # minibatch is its validation pass read back: 3 + 3 runs
    make_test_set(scripted, [{"type": "contains", "value": "Bonjour"}], n=3)
    code = main(["optimize", "--agent", str(agent.id), "--dataset", "Greetings", "--budget", "12", "--save",
                 "--reflection", f"{scripted.provider_id}:gpt-4o-mini"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[-1] == "best 1.00 (start 0.00) after 6 evaluations; saved as version 2"
    assert any("evaluations" in line for line in out[:-1])

