"""The Experiments page's Optimize tab under AppTest against the scripted server (the model of
tests/test_optimize.py: it greets in French only when its prompt says so, and as the reflection
model proposes that prompt): start from the form, read the candidates and the diff, save the
best as a version, run it as an experiment and land on the comparison; viewers read only; a
refused start says why."""

from __future__ import annotations

import threading

from tests.test_optimize import PROMPTS, greeter
from tests.test_pages_chat_agents import env, no_exception, open_page  # noqa: F401 - fixture
from workbench import agents, experiments, optimize
from workbench.tenancy import groups, people

BONJOUR = [{"type": "contains", "value": "Bonjour"}]


def page(env, person=None, **state):
    return no_exception(open_page("experiments.py", person or env.person, env.group, **state))


def greeter_agent(env):
    return agents.create_agent(env.person, env.group, name="Greeter", provider_id=env.provider.id,
                               model="gpt-4o-mini", system_prompt="You are a support agent.", tools=[])


def greetings(env, checks=BONJOUR, n=3, name="Greetings") -> int:
    cases = [{"input": f"Customer {i} says hi", **({"checks": checks} if checks else {})} for i in range(n)]
    return experiments.create_test_set(env.person, env.group, name, cases=cases).id


def table(at, column: str):
    """The first dataframe of the page with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def texts(at) -> list[str]:
    return [e.value for e in [*at.markdown, *at.caption]]


def test_start_read_save_and_compare(env):
    agent = greeter_agent(env)
    env.server.respond_with(greeter([]))
    ts = greetings(env)
    at = page(env)
    at.selectbox(key="opt_agent").set_value(agent.id)
    at.selectbox(key="opt_set").set_value(ts)
    at.number_input(key="opt_budget").set_value(12)
    at.button(key="opt_start").click().run()
    no_exception(at)
    opt_id = at.session_state["opt_pick"]
    assert optimize.wait_optimization(opt_id, 60)
    at.run()
    no_exception(at)
    view = optimize.get_optimization(env.person, opt_id)
    assert (view.status, view.best_score, view.best.prompt) == ("finished", 1.0, PROMPTS[0])
    listed = table(at, "evaluations")  # the list of optimizations
    assert list(listed["agent"]) == ["Greeter v1"] and list(listed["score"]) == ["0.00 → 1.00"]
    cands = table(at, "cases won")
    assert list(cands["candidate"]) == [0, 1] and list(cands[""]) == ["start", "⭐ best"]
    # the best candidate is shown: its diff against version 1, its prompt, its runs' traces
    diff = [c.value for c in at.code if c.language == "diff"][0]
    assert "-You are a support agent.\n" in diff and f"+{PROMPTS[0]}" in diff
    assert any(c.value == PROMPTS[0] for c in at.code)
    runs = optimize.candidate_runs(env.person, opt_id)
    assert all(f"trace: run #{r.run_id}" in texts(at) for r in runs)  # the Traces links, outside navigation
    at.button(key="opt_save").click().run()
    no_exception(at)
    assert [s.value for s in at.success] == ["Saved candidate 1 as version 2."]
    assert f"agent #{agent.id} v2" in texts(at)  # the Agents page link to its history
    assert agents.get_agent(env.person, agent.id).config.system_prompt == PROMPTS[0]
    at.button(key="opt_run").click().run()
    no_exception(at)
    baseline, candidate = at.session_state["opt_ran"][opt_id]
    assert f"compare experiments #{baseline} and #{candidate}" in texts(at)
    for exp in (baseline, candidate):
        assert experiments.wait_experiment(exp, 30)
    # the comparison link opens the Compare tab on those two
    at = open_page("experiments.py", env.person, env.group)
    at.query_params["compare"] = f"{baseline},{candidate}"
    no_exception(at.run())
    assert (at.session_state["tab"], at.session_state["ex_cmp_base"], at.session_state["ex_cmp_cand"]) == \
        ("Compare", baseline, candidate)
    assert sum("improved: Customer" in e.label for e in at.expander) == 3


def test_stop_then_resume_from_the_page(env):
    agent = greeter_agent(env)
    gate, answer = threading.Event(), greeter([])
    env.server.respond_with(lambda body: (gate.wait(20), answer(body))[1])  # held until the Stop
    opt_id = optimize.start_optimization(env.person, env.group, agent.id, greetings(env), budget=6)
    at = page(env)
    assert "⏳ running" in list(table(at, "evaluations")["status"])
    at.button(key="opt_stop").click().run()
    no_exception(at)
    assert [s.value for s in at.success] == ["Stopping after the evaluation in progress."]
    gate.set()
    assert optimize.wait_optimization(opt_id, 30)
    at.run()
    assert optimize.get_optimization(env.person, opt_id).status == "stopped"
    at.button(key="opt_resume").click().run()
    no_exception(at)
    assert optimize.wait_optimization(opt_id, 30)
    done = optimize.get_optimization(env.person, opt_id)
    assert (done.status, done.best_score, done.evaluations) == ("finished", 1.0, 6)


def test_viewers_read_but_cannot_start_or_save(env):
    from tests.tenancy_world import new_person

    agent = greeter_agent(env)
    env.server.respond_with(greeter([]))
    opt_id = optimize.start_optimization(env.person, env.group, agent.id, greetings(env), budget=6, wait=True)
    viewer = new_person("Viewer")
    groups.add_member(env.person, env.group, email=people.get_person(viewer, viewer).email, role="viewer")
    at = page(env, person=viewer)
    assert any("read optimizations but not start" in i.value for i in at.info)
    keys = {b.key for b in at.button}
    assert not keys & {"opt_start", "opt_save", "opt_run", "opt_stop", "opt_resume"}
    assert at.session_state["opt_pick"] == opt_id
    assert list(table(at, "cases won")["candidate"]) == [0, 1]


def test_a_refused_start_says_why(env):
    agent = greeter_agent(env)
    loose = greetings(env, checks=None, name="Loose")
    at = page(env)
    at.selectbox(key="opt_agent").set_value(agent.id)
    at.selectbox(key="opt_set").set_value(loose)
    at.button(key="opt_start").click().run()
    no_exception(at)
    assert any("no checks or expected answers" in e.value for e in at.error)
    scorable = greetings(env)  # a test set that can score, but too small a budget
    at.run()
    at.selectbox(key="opt_set").set_value(scorable)
    at.number_input(key="opt_budget").set_value(2)
    at.button(key="opt_start").click().run()
    assert any("budget" in e.value and "between 6" in e.value for e in at.error)
    assert optimize.list_optimizations(env.person, env.group) == []
