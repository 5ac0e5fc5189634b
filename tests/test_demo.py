"""The demo workspace for real: `build_demo` runs the built-in model (every tool called, an
escalation left waiting), each page then shows demo content, a second build adds nothing, and
`python -m workbench demo --remove` deletes the Demo group, its Chroma collection included,
leaving every other group's rows and collections exactly as they were.

One build for the module (it runs the model: minutes on 2 cores); the tests run in file order
and the removal comes last. `scripts/screenshots.py` is tested on this same build (building
another would run the model again)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from workbench import db, knowledge, runs, settings, threads
from workbench.cli.commands import main as cli
from workbench.db import session_scope
from workbench.demo import GENERATED_PROVIDER, build_demo, find_demo_group
from workbench.demo.remove import _group_tables
from workbench.knowledge import store
from workbench.models import AgentVersion, Group, Run, RunStep, Thing, Thread, UsageRecord
from workbench.providers import service as provider_service
from workbench.system import bootstrap, workspace
from workbench.tools import tasks

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "views"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _rows_of(group_ids) -> dict[tuple[str, int], int]:
    with session_scope() as s:
        return {(t.name, g): s.scalar(select(func.count()).select_from(t).where(t.c.group_id == g))
                for t in _group_tables() for g in group_ids}


def _vectors(group_ids) -> dict[int, int]:
    return {g: store.count(g) for g in group_ids}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    data = tmp_path_factory.mktemp("demo") / "data"
    mp.setenv("WORKBENCH_DATA_DIR", str(data))
    mp.setenv("WORKBENCH_SECRETS_FILE", str(data.parent / "secrets.toml"))
    mp.setenv("WORKBENCH_STALE_SWEEP_S", "0")
    mp.delenv("DATABASE_URL", raising=False)
    mp.delenv("WORKBENCH_CHROMA_HOST", raising=False)
    settings.reset_settings()
    db.reset_engine()
    start = bootstrap.init_app()
    person = start.person_id
    # Other groups with rows and vectors of their own: the removal must not touch them.
    other = workspace.create_group(person, "Other team").id
    for g in (start.group_id, other):
        knowledge.add_snippet(person, g, "Kept", f"Group {g} keeps this text after the demo is removed.")
        runs.create_thread(g, start.agent_id if g == start.group_id else _any_agent(person, g), person,
                              title="Kept thread")
    others = [start.group_id, other]
    before_rows, before_vectors = _rows_of(others), _vectors(others)
    steps: list[str] = []
    report = build_demo(person, lambda msg, frac: steps.append(msg))
    yield types.SimpleNamespace(person=person, group=report.group_id, report=report, others=others, data=data,
                                before_rows=before_rows, before_vectors=before_vectors, progress=steps)
    store.reset_clients()
    db.reset_engine()
    mp.undo()
    settings.reset_settings()


def _any_agent(person, group_id):
    from workbench import agents

    with session_scope() as s:
        from workbench.models import ProviderRecord

        provider = s.scalar(select(ProviderRecord).where(ProviderRecord.group_id == group_id))
        provider_id, model = provider.id, provider_service.starting_model(provider)
    return agents.create_agent(person, group_id, name="Other agent", provider_id=provider_id, model=model).id


def test_the_demo_has_every_part(demo):
    r = demo.report
    assert r.created and not r.missed, [(m.label, m.detail) for m in r.missed]
    assert len(demo.progress) >= 8 and demo.progress[-1].startswith("Done")
    with session_scope() as s:
        assert s.get(Group, demo.group).name == "Demo"
        agents = s.scalars(select(Thing).where(Thing.group_id == demo.group, Thing.type == "agent")).all()
        assert sorted(a.name for a in agents) == ["Support agent", "Triage agent", "Writing assistant"]
        for a in agents:
            assert s.scalar(select(func.count()).where(AgentVersion.agent_id == a.id)) == 2
        tools = set(s.scalars(select(RunStep.name).where(RunStep.group_id == demo.group,
                                                         RunStep.kind == "tool_call")))
        assert tools >= {"search_knowledge", "call_human", "create_task", "get_context"}
        generated = s.execute(select(func.count(), func.count(func.distinct(func.date(UsageRecord.created_at))))
                              .where(UsageRecord.group_id == demo.group,
                                     UsageRecord.provider == GENERATED_PROVIDER)).one()
        assert generated[0] > 200 and generated[1] >= 55  # every day of the last 60 has some
        real = s.scalar(select(func.count()).where(UsageRecord.group_id == demo.group,
                                                   UsageRecord.provider != GENERATED_PROVIDER))
        assert real >= 5  # the real runs' calls, on the built-in model
    docs = knowledge.list_documents(demo.person, demo.group)
    assert {d.name for d in docs} == {"handbook.md", "Agent Workbench README.md"}
    assert all(d.chunk_count > 0 for d in docs)
    assert tasks.open_escalations(demo.person, demo.group)  # one waiting for a human
    from workbench import experiments
    from workbench.costs import budget

    sets = {t.name: t for t in experiments.list_test_sets(demo.person, demo.group)}
    test_set = sets["Writing assistant: quick facts"]
    assert len(test_set.cases) == 3
    [run] = experiments.list_experiments(demo.person, demo.group, test_set.id)
    assert run.status == "complete" and len(run.cases) == 3  # a real experiment on the built-in model
    from workbench import optimize

    # A small optimization on the built-in model end to end (it answers the cases and, as the
    # reflection model, proposes prompts): the search ends within its budget, every evaluation
    # a traced run, the reflections runs of their own.
    [opt] = optimize.list_optimizations(demo.person, demo.group)
    assert opt.status == "finished" and opt.test_set_id == sets["Writing assistant: answer format"].id
    assert 0 < opt.evaluations <= opt.budget and opt.start_score is not None
    with session_scope() as s:
        kinds = dict(s.execute(select(Thread.kind, func.count(Run.id)).join(Run, Run.thread_id == Thread.id)
                               .where(Thread.group_id == demo.group).group_by(Thread.kind)).all())
    assert kinds["optimization"] >= 1 and kinds["experiment"] == 3 + opt.evaluations
    assert experiments.list_experiments(demo.person, demo.group, opt.test_set_id) == []  # its runs stay hidden

    assert budget.budget_status(demo.person, demo.group).level == "warning"

    from workbench import agents as agent_service
    from workbench.serve import keys

    [key] = keys.list_keys(demo.person, demo.group)  # the Deploy page's: a key and a label
    assert (key.name, key.active) == ("Website chat", True) and key.last_used_at is not None
    with session_scope() as s:
        support = s.scalar(select(Thing.id).where(Thing.group_id == demo.group, Thing.name == "Support agent"))
        keyed = s.scalar(select(func.count()).where(UsageRecord.group_id == demo.group,
                                                    UsageRecord.person_id == key.person_id))
    assert keyed > 10  # generated calls through the key, for the Usage page's callers
    assert agent_service.labels_by_agent(demo.person, demo.group) == {support: {"production": 2}}


def test_building_again_adds_nothing(demo):
    rows = _rows_of([demo.group])
    again = build_demo(demo.person)
    assert not again.created and again.group_id == demo.group
    assert _rows_of([demo.group]) == rows


PAGE_CONTENT = {
    "home.py": "reset my password", "chat.py": "reset my password", "agents.py": "Triage agent",
    "playground.py": "v1 vs v2", "knowledge.py": "handbook.md", "tasks.py": "Export to CSV",
    "traces.py": "search_knowledge", "events.py": "demo_built", "usage.py": "generated demo history",
    "settings.py": "Built-in (offline)", "deploy.py": "Website chat",
}


def _all_text(at: AppTest) -> str:
    """Everything the page renders (labels, values, table cells), as one string."""
    parts: list[str] = []

    def walk(n):
        for child in getattr(n, "children", {}).values():
            walk(child)
        if getattr(n, "proto", None) is not None:
            parts.append(str(n.proto))

    walk(at.main)
    return "\n".join(parts)


@pytest.mark.parametrize("page", sorted(PAGE_CONTENT))
def test_each_page_shows_demo_content(demo, page):
    at = AppTest.from_file(str(PAGES / page), default_timeout=60)
    at.session_state["person_id"] = demo.person
    at.session_state["group_id"] = demo.group
    if page == "chat.py":
        at.query_params["thread"] = str(min(t.id for t in threads.list_threads(demo.person, demo.group)))
    if page == "playground.py":
        from workbench.playground import list_comparisons

        at.query_params["comparison"] = str(list_comparisons(demo.person, demo.group)[0][0])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = _all_text(at)
    assert PAGE_CONTENT[page] in text, text[:3000]


SHOT_PAGES = ["traces"]  # every page's demo content is checked above, under AppTest


@pytest.mark.browser
@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium/chromedriver not installed")
def test_screenshot_command_writes_one_small_png_per_page(demo, tmp_path):
    """The README's screenshots: the app started on the demo's data, headless Chromium on
    a page of the navigation, one PNG under 300 kB. One page, the one with the most on it (a
    tool step and a timeline): each page costs seconds of a browser, and every page's demo
    content is checked above; `python scripts/screenshots.py` shoots them all for the docs."""
    pytest.importorskip("selenium.webdriver")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "WORKBENCH_DATA_DIR")}
    done = subprocess.run([sys.executable, "scripts/screenshots.py", "--out", str(tmp_path), "--data", str(demo.data),
                           "--pages", ",".join(SHOT_PAGES)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "using the demo workspace already in" in done.stdout  # the demo was not built again
    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(SHOT_PAGES)
    for page in SHOT_PAGES:
        png = tmp_path / f"{page}.png"
        assert png.is_file(), page
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(data) < 300_000, (page, len(data))


def test_usage_notebook_runs_on_the_demo(demo):
    """notebooks/usage.ipynb top to bottom on this build (tests/test_notebooks.py runs the other
    notebooks): a kernel of its own, in this module's data directory; its first cell finds the
    Demo group and builds nothing, the rest reads the demo's usage and runs."""
    from tests.test_notebooks import NOTEBOOKS, run_notebook

    book = run_notebook(NOTEBOOKS / "usage.ipynb")
    code = [c for c in book.cells if c.cell_type == "code"]
    printed = "".join(o.get("text", "") for o in code[1].outputs)
    assert "The Demo group was already there." in printed
    shown = "".join(str(o.get("data", {}).get("text/plain", "")) for c in code for o in c.outputs)
    assert f"group {demo.group}" in shown and "complete" in shown  # the demo's workbench, its runs


def test_remove_deletes_the_demo_and_nothing_else(demo, capsys):
    assert store.count(demo.group) > 0
    assert cli(["demo", "--remove"]) == 0
    assert "Removed the Demo group" in capsys.readouterr().out
    assert find_demo_group(demo.person) is None
    assert all(n == 0 for n in _rows_of([demo.group]).values())
    with session_scope() as s:
        assert s.get(Group, demo.group) is None
    names = {c.name if hasattr(c, "name") else c for c in store.get_client().list_collections()}
    assert store.collection_name(demo.group) not in names
    assert _rows_of(demo.others) == demo.before_rows
    assert _vectors(demo.others) == demo.before_vectors
    assert cli(["demo", "--remove"]) == 0  # nothing left: says so
    assert "nothing removed" in capsys.readouterr().out
