"""The Experiments page under AppTest against the scripted server: create a test set, edit
cases, run an experiment and read its results, compare two; viewers read but cannot run."""

from __future__ import annotations

from tests.scripted_openai import text
from tests.test_pages_chat_agents import env, no_exception, open_page  # noqa: F401 - fixture
from workbench import experiments
from workbench.playground import Variant
from workbench.tenancy import groups, people


def page(env, person=None, **state):
    return no_exception(open_page("experiments.py", person or env.person, env.group, **state))


def test_create_a_test_set_and_save_cases(env):
    at = page(env)
    at.text_input(key="ex_new_name").input("Capitals")
    at.text_input(key="ex_new_desc").input("Geography")
    at.button[0].click()  # the form's Create
    at.run()
    no_exception(at)
    (ts,) = experiments.list_test_sets(env.person, env.group)
    assert (ts.name, ts.version, ts.cases) == ("Capitals", 1, [])
    saved = experiments.save_cases(env.person, ts.id, [{"input": "Capital of France?", "expected": "Paris"}])
    assert saved.version == 2
    at = page(env)
    assert any("version 2 · 1 cases" in c.value for c in at.caption)


def test_run_results_and_compare(env):
    ts = experiments.create_test_set(env.person, env.group, "Smoke", cases=[
        {"input": "Capital of France?", "expected": "Paris"}, {"input": "2+2?", "expected": "4"}])
    env.server.script(text("Paris"), text("4"))
    first = experiments.start_experiment(env.person, env.group, ts.id, Variant(env.agent.id), concurrency=1,
                                         wait=True)
    at = page(env)
    at.selectbox(key="ex_run_set").set_value(ts.id)
    at.selectbox(key="ex_run_agent").set_value(env.agent.id)
    at.number_input(key="ex_run_conc").set_value(1)
    env.server.script(text("Lyon"), text("4"))
    at.button(key="ex_start").click().run()
    no_exception(at)
    second = at.session_state["ex_shown"]
    assert experiments.wait_experiment(second, 30)
    view = experiments.get_experiment(env.person, second)
    assert (view.status, view.passed_cases) == ("complete", 1)
    at = page(env, ex_shown=second)
    assert any("1/2" == m.value for m in at.metric)
    assert "Lyon" in [t.value for t in at.text]
    at.selectbox(key="ex_cmp_set").set_value(ts.id).run()
    no_exception(at)
    assert any("regressed: Capital of France?" in e.label for e in at.expander)
    assert at.get("plotly_chart")
    report = experiments.compare_experiments(env.person, first, second)
    assert [c.change for c in report.cases] == ["regressed", "unchanged"]


def test_viewers_read_but_cannot_run(env):
    from tests.tenancy_world import new_person

    ts = experiments.create_test_set(env.person, env.group, "Smoke", cases=[{"input": "Hi", "expected": "Hello"}])
    env.server.script(text("Hello"))
    experiments.start_experiment(env.person, env.group, ts.id, Variant(env.agent.id), wait=True)
    viewer = new_person("Viewer")
    groups.add_member(env.person, env.group, email=people.get_person(viewer, viewer).email, role="viewer")
    at = page(env, person=viewer)
    assert any("viewer in this group" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "ex_start"]
    assert any("1/1" == m.value for m in at.metric)


def test_the_usage_page_splits_experiment_spend_out(env):
    ts = experiments.create_test_set(env.person, env.group, "Spend", cases=[{"input": "Hi", "expected": "Hello"}])
    env.server.script(text("Hello"))
    experiments.start_experiment(env.person, env.group, ts.id, Variant(env.agent.id), wait=True)
    at = no_exception(open_page("usage.py", env.person, env.group))
    assert any("Of which **experiments**" in c.value and "1 calls" in c.value for c in at.caption)
