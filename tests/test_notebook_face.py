"""The notebook face (`workbench.notebook`) against the real services: each DataFrame helper's
columns, types and rows, the same with no rows, and another group's ids refused or invisible.

One world for the module (two groups built through the services by tests/tenancy_world.py,
each with a thread, a finished run with tool calls, a comparison, a test set and an
experiment), on the scripted OpenAI-compatible server; tests that write make their own
agents, threads and test sets so they do not depend on each other's order."""

from __future__ import annotations

import io
import types

import pandas as pd
import plotly.graph_objects as go
import pytest
from pandas.api import types as ptypes

from tests.scripted_openai import ScriptedOpenAIServer, call, text, tool_calls
from tests.tenancy_world import build_group, leaks
from workbench import db, settings
from workbench.errors import (
    AccessDenied,
    AgentNotFound,
    GroupNotFound,
    NotFound,
    ValidationError,
)
from workbench.notebook import ChatResult, Evaluation, RichFrame, Workbench, connect
from workbench.system import bootstrap
from workbench.tenancy import people

INT, NULLABLE_INT, FLOAT, TEXT, TIME = "int", "Int", "float", "text", "time"


def assert_columns(frame: pd.DataFrame, expected: dict[str, str]) -> None:
    """Exactly these columns in this order, each of its kind."""
    assert list(frame.columns) == list(expected)
    for name, kind in expected.items():
        dtype = frame[name].dtype
        ok = {INT: lambda d: ptypes.is_integer_dtype(d) and str(d).startswith("int"),
              NULLABLE_INT: lambda d: str(d) == "Int64",
              FLOAT: ptypes.is_float_dtype,
              TEXT: lambda d: ptypes.is_string_dtype(d) or ptypes.is_object_dtype(d),
              TIME: lambda d: ptypes.is_datetime64_any_dtype(d) and str(getattr(d, "tz", None)) == "UTC"}[kind](dtype)
        assert ok, f"{name}: {dtype} is not {kind}"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Its own data directory for the module (built once: two groups take seconds)."""
    mp = pytest.MonkeyPatch()
    data = tmp_path_factory.mktemp("notebook") / "data"
    mp.setenv("WORKBENCH_DATA_DIR", str(data))
    mp.setenv("WORKBENCH_SECRETS_FILE", str(data.parent / "secrets.toml"))
    mp.setenv("WORKBENCH_STALE_SWEEP_S", "0")
    mp.setenv("WORKBENCH_RETRY_BACKOFF_S", "0.01")
    mp.delenv("DATABASE_URL", raising=False)
    settings.reset_settings()
    db.reset_engine()
    server = ScriptedOpenAIServer().start()
    try:
        startup = bootstrap.init_app()
        a, b = build_group(server, "A", with_knowledge=False), build_group(server, "B", with_knowledge=False)

        def as_person(person_id: int, group: int) -> Workbench:
            return connect(email=people.get_person(person_id, person_id).email, group=group)

        yield types.SimpleNamespace(server=server, startup=startup, a=a, b=b, wb=as_person(a.owner, a.group),
                                    as_person=as_person)
    finally:
        server.stop()
        db.reset_engine()
        mp.undo()
        settings.reset_settings()


def no_leak(frame, world) -> None:
    assert not leaks(frame, world.b), leaks(frame, world.b)


# --- connect ------------------------------------------------------------------------------

def test_connect_is_the_local_person_in_their_first_group_as_the_cli(world):
    wb = connect()
    assert (wb.person_id, wb.group_id) == (world.startup.person_id, world.startup.group_id)
    assert wb.role == "owner" and "owner" in repr(wb)


def test_connect_by_email_and_group_checks_membership(world):
    wb = world.as_person(world.a.viewer, world.a.group)
    assert (wb.person_id, wb.group_id, wb.role) == (world.a.viewer, world.a.group, "viewer")
    assert connect(email=people.get_person(world.a.owner, world.a.owner).email).group_id == world.a.group
    with pytest.raises(AccessDenied):
        world.as_person(world.a.owner, world.b.group)
    with pytest.raises(GroupNotFound):
        world.as_person(world.a.owner, "Group that is not there")
    with pytest.raises(NotFound):
        connect(email="nobody-here@example.com")


def test_ids_of_another_of_the_persons_groups_are_not_found_here(world):
    """A person in two groups: a workbench acts in one, and the other's ids are not its own."""
    from workbench import agents, threads
    from workbench.providers import service as providers
    from workbench.system import workspace

    other = workspace.create_group(world.a.owner, "Also mine").id
    provider = providers.list_providers(world.a.owner, other)[0]
    agent = agents.create_agent(world.a.owner, other, name="Elsewhere", provider_id=provider.id,
                                model=providers.starting_model(provider))
    thread = threads.open_thread(other, agent.id, world.a.owner, "Elsewhere")
    with pytest.raises(NotFound, match="connect\\(group="):
        world.wb.messages(thread.id)
    with pytest.raises(NotFound):
        world.wb.chat(None, "Hi", thread=thread.id, out=io.StringIO())
    assert world.as_person(world.a.owner, other).messages(thread.id).empty  # where it belongs


# --- reading -------------------------------------------------------------------------------

THREAD_COLUMNS = {"id": INT, "title": TEXT, "agent_id": INT, "agent": TEXT, "status": TEXT, "messages": INT,
                  "last_activity_at": TIME, "created_at": TIME}


def test_threads(world):
    frame = world.wb.threads()
    assert isinstance(frame, RichFrame)
    assert_columns(frame, THREAD_COLUMNS)
    row = frame.set_index("id").loc[world.a.thread]
    assert row.agent_id == world.a.agent and world.a.marker in row.agent and row.messages >= 2
    no_leak(frame, world)
    empty = world.wb.threads(archived=True)
    assert empty.empty
    assert_columns(empty, THREAD_COLUMNS)
    assert world.wb.agent(world.wb.agent(f"{world.a.agent}@1")).version == 1  # a resolved agent, passed back
    of_agent = world.wb.threads(agent=world.a.agent)
    assert world.a.thread in of_agent.id.tolist() and (of_agent.agent_id == world.a.agent).all()
    with pytest.raises(AgentNotFound):
        world.wb.threads(agent=world.b.agent)


def test_messages(world):
    frame = world.wb.messages(world.a.thread)
    assert_columns(frame, {"seq": INT, "id": INT, "role": TEXT, "name": TEXT, "status": TEXT, "content": TEXT,
                           "tool_calls": TEXT, "run_id": NULLABLE_INT, "created_at": TIME})
    assert frame.seq.is_monotonic_increasing
    assert frame.role.iloc[0] == "user" and frame.content.iloc[0] == f"Hello {world.a.marker}"
    assert "create_task, call_human" in frame.tool_calls.tolist()
    assert frame.content.iloc[-1] == f"Answer {world.a.marker}"
    assert frame.ids == {"thread": world.a.thread}
    with pytest.raises(AccessDenied):
        world.wb.messages(world.b.thread)


RUN_COLUMNS = {"id": INT, "started_at": TIME, "status": TEXT, "agent": TEXT, "version": NULLABLE_INT,
               "thread_id": INT, "thread": TEXT, "caller": TEXT, "duration_ms": FLOAT, "steps": INT,
               "input_tokens": INT, "output_tokens": INT, "cost_usd": FLOAT, "tools": TEXT, "error": TEXT}


def test_runs_with_the_traces_filters(world):
    wb, a = world.wb, world.a
    frame = wb.runs()
    assert_columns(frame, RUN_COLUMNS)
    assert a.run in frame.id.tolist()
    no_leak(frame, world)
    mine = wb.runs(thread=a.thread)
    assert mine.id.tolist() == [a.run]
    assert mine.tools.iloc[0] == "call_human, create_task"  # the tools a run used, by name
    assert mine.status.iloc[0] == "complete" and mine.steps.iloc[0] == 4
    assert wb.runs(tool="create_task", thread=a.thread).id.tolist() == [a.run]
    assert wb.runs(agent=[a.agent], status=["complete"], has_error=False, since="2000-01-01").id.tolist().count(a.run)
    assert wb.runs(thread=a.thread, status="failed").empty
    assert wb.runs(thread=a.thread, has_error=True).empty
    # Another group's thread is only an id that matches nothing here; its agent is refused by name.
    foreign = wb.runs(thread=world.b.thread)
    assert foreign.empty
    assert_columns(foreign, RUN_COLUMNS)
    with pytest.raises(AgentNotFound):
        wb.runs(agent=world.b.agent)
    with pytest.raises(ValidationError):
        wb.runs(status="nonsense")
    top = wb.runs(sort="step_count", limit=1)
    assert len(top) == 1 and top.steps.iloc[0] == wb.runs().steps.max()


def test_trace_one_row_per_step(world):
    frame = world.wb.trace(world.a.run)
    assert_columns(frame, {"seq": INT, "kind": TEXT, "name": TEXT, "status": TEXT, "ms": FLOAT, "ttft_ms": FLOAT,
                           "input_tokens": NULLABLE_INT, "output_tokens": NULLABLE_INT, "cost_usd": FLOAT,
                           "retries": INT, "error": TEXT})
    assert frame.kind.tolist() == ["model_call", "tool_call", "tool_call", "model_call"]
    assert frame.name.tolist()[1:3] == ["create_task", "call_human"]
    model_calls = frame[frame.kind == "model_call"]
    assert model_calls.ttft_ms.notna().all() and (model_calls.input_tokens > 0).all()
    assert frame.ids == {"run": world.a.run, "thread": world.a.thread}
    assert "4 steps" in frame.facts
    with pytest.raises(AccessDenied):
        world.wb.trace(world.b.run)


USAGE_COLUMNS = {
    "agent": {"agent": TEXT, "input_tokens": INT, "output_tokens": INT, "cost_usd": FLOAT},
    "model": {"provider": TEXT, "model": TEXT, "calls": INT, "input_tokens": INT, "output_tokens": INT,
              "cost_usd": FLOAT, "default_priced_calls": INT, "estimated_calls": INT},
    "person": {"person": TEXT, "calls": INT, "cost_usd": FLOAT},
    "day": {"day": "datetime", "calls": INT, "cost_usd": FLOAT},
}


@pytest.mark.parametrize("by", list(USAGE_COLUMNS))
def test_usage_by(world, by):
    frame = world.wb.usage("7d", by=by)
    expected = dict(USAGE_COLUMNS[by])
    if by == "day":
        assert ptypes.is_datetime64_any_dtype(frame.day.dtype)
        expected.pop("day")
        assert_columns(frame.drop(columns="day"), expected)
    else:
        assert_columns(frame, expected)
    no_leak(frame, world)
    calls = world.wb.usage("7d", by="model").calls.sum()
    assert calls >= 4  # the run's two model calls, the comparison's two, the experiment's, ...
    if by in ("model", "person", "day"):
        assert frame.calls.sum() == calls
    if by == "agent":
        assert any(world.a.marker in name for name in frame.agent)
    # Another group's usage cannot be asked for: the face has no group argument, and a
    # workbench for that group cannot be made by a non-member (test_connect_...).


def test_a_group_with_nothing_yet_has_empty_frames_of_the_same_types_and_empty_charts(world):
    from workbench.system import workspace

    new = workspace.create_group(world.a.owner, "Nothing yet").id
    wb = world.as_person(world.a.owner, new)
    assert_columns(wb.threads(), THREAD_COLUMNS)
    assert_columns(wb.runs(), RUN_COLUMNS)
    for by, columns in USAGE_COLUMNS.items():
        frame = wb.usage("30d", by=by)
        assert frame.empty and list(frame.columns) == list(columns)
    daily = wb.usage("30d", by="day")
    assert daily.resample("W-MON", on="day")[["calls", "cost_usd"]].sum().empty  # as usage.ipynb does
    for chart in ("cost", "agents", "people", "providers"):
        assert isinstance(wb.usage_chart("30d", chart), go.Figure)


def test_usage_refuses_unknown_breakdowns_and_periods(world):
    with pytest.raises(ValidationError):
        world.wb.usage("7d", by="planet")
    with pytest.raises(ValidationError):
        world.wb.usage("fortnight")


def test_usage_chart_is_the_usage_pages_figure(world):
    from workbench.costs import charts

    for chart, title in (("cost", "Cost over time by model"), ("agents", "Tokens by agent"),
                         ("people", "Cost by person"), ("providers", "Cost by provider")):
        fig = world.wb.usage_chart("7d", chart)
        assert isinstance(fig, go.Figure)
        assert fig.layout.title.text.startswith(title.rsplit(" by", 1)[0])
        assert fig.layout.height == 360  # the page's layout, from the same builder
    with pytest.raises(ValidationError):
        world.wb.usage_chart("7d", "pies")
    assert charts.CHARTS == ("cost", "agents", "people", "providers")


def test_experiment_one_row_per_case_and_repeat(world):
    frame = world.wb.experiment(world.a.experiment)
    assert_columns(frame, {"case": INT, "key": TEXT, "input": TEXT, "expected": TEXT, "repeat": INT,
                           "outcome": TEXT, "case_state": TEXT, "reply": TEXT, "failed_checks": TEXT,
                           "run_id": NULLABLE_INT, "input_tokens": INT, "output_tokens": INT, "cost_usd": FLOAT,
                           "latency_ms": FLOAT})
    assert len(frame) == 1 and frame.input.iloc[0] == f"Question {world.a.marker}"
    assert frame.outcome.iloc[0] in ("pass", "fail") and frame.repeat.iloc[0] == 1
    with pytest.raises(AccessDenied):
        world.wb.experiment(world.b.experiment)


# --- acting ------------------------------------------------------------------------------

def test_chat_streams_then_returns_run_tokens_and_cost(world):
    wb, server = world.wb, world.server
    server.script(tool_calls(call("create_task", {"title": "Notebook task"})),
                  text("Filed \x1b[31mit\x1b[0m.\tDone."))
    out = io.StringIO()
    result = wb.chat(world.a.agent, "File a task", out=out)
    assert isinstance(result, ChatResult) and result.ok
    printed = out.getvalue()
    assert "[tool create_task" in printed and "Filed [31mit[0m.\tDone." in printed
    assert "\x1b" not in printed  # a model's escape sequence is not passed to the cell
    assert result.reply == "Filed \x1b[31mit\x1b[0m.\tDone."  # the result keeps it as written
    assert result.tools == ["create_task"]
    trace = wb.trace(result)
    assert (result.input_tokens, result.output_tokens) == (trace.input_tokens.sum(), trace.output_tokens.sum())
    assert result.cost_usd == pytest.approx(trace.cost_usd.sum())
    assert result.ttft_ms == trace.ttft_ms.iloc[0] and result.duration_ms > 0
    server.script(text("Again."))
    again = wb.chat(None, "And again", thread=result, out=io.StringIO())
    assert again.thread_id == result.thread_id and again.run_id != result.run_id
    assert wb.messages(result).content.tolist()[-2:] == ["And again", "Again."]


def test_chat_refuses_another_groups_thread_and_a_viewer(world):
    with pytest.raises(AccessDenied):
        world.wb.chat(None, "Hi", thread=world.b.thread, out=io.StringIO())
    with pytest.raises(AgentNotFound):
        world.wb.chat(world.b.agent, "Hi", out=io.StringIO())
    viewer = world.as_person(world.a.viewer, world.a.group)
    with pytest.raises(AccessDenied):
        viewer.chat(world.a.agent, "Hi", out=io.StringIO())
    assert not viewer.threads().empty  # a viewer reads


def test_compare_one_row_per_variant(world):
    wb = world.wb
    frame = wb.compare([world.a.agent, {"agent": f"{world.a.agent}@1", "temperature": 0.1}], "Compare me")
    assert_columns(frame, {"variant": INT, "label": TEXT, "agent_id": INT, "version": INT, "status": TEXT,
                           "reply": TEXT, "error": TEXT, "ttft_ms": FLOAT, "duration_ms": FLOAT,
                           "input_tokens": INT, "output_tokens": INT, "cost_usd": FLOAT, "run_id": NULLABLE_INT})
    assert frame.variant.tolist() == [1, 2] and (frame.status == "complete").all()
    assert frame.label.iloc[1].endswith("+ edits (temperature)")
    assert (frame.output_tokens > 0).all() and frame.ttft_ms.notna().all()
    assert list(frame.ids) == ["comparison"]
    with pytest.raises(AgentNotFound):
        wb.compare([world.a.agent, world.b.agent], "Mixed groups")


def test_test_set_from_a_frame_and_back(world):
    wb = world.wb
    cases = pd.DataFrame({"input": ["What is 2+2?", "Capital of France?"], "expected": ["4", None],
                          "contains": [None, "Paris"]})
    first = wb.test_set_from_frame("Notebook set", cases)
    assert_columns(first, {"key": TEXT, "input": TEXT, "expected": TEXT, "checks": TEXT})
    assert first.input.tolist() == ["What is 2+2?", "Capital of France?"]
    assert first.checks.tolist() == [[], [{"type": "contains", "value": "Paris"}]]
    assert first.expected.iloc[0] == "4" and pd.isna(first.expected.iloc[1])
    assert first.title == "Test set Notebook set v1"
    # The frame read back is a valid import: the same name again is a new version, keys kept.
    second = wb.test_set_from_frame("Notebook set", wb.test_set("Notebook set"))
    assert second.title == "Test set Notebook set v2"
    assert second.key.tolist() == first.key.tolist() and second.checks.tolist() == first.checks.tolist()
    with pytest.raises(ValidationError, match="line 2"):
        wb.test_set_from_frame("Bad set", pd.DataFrame({"input": ["fine", "  "]}))
    with pytest.raises(ValidationError):
        wb.test_set_from_frame("No input", pd.DataFrame({"question": ["x"]}))
    with pytest.raises(AccessDenied):
        world.as_person(world.a.viewer, world.a.group).test_set_from_frame("By a viewer", cases)
    with pytest.raises(NotFound):
        wb.test_set(f"Set {world.b.key}")  # the other group's test set, by its name


def test_eval_as_the_cli_compares_with_the_baseline(world):
    wb, server = world.wb, world.server
    wb.test_set_from_frame("Eval set", pd.DataFrame({"input": ["Capital of France?"], "expected": ["Paris"]}))
    server.script(text("Paris."))
    baseline = wb.eval("Eval set", world.a.agent, out=io.StringIO())
    assert isinstance(baseline, Evaluation)
    assert (baseline.status, baseline.pass_rate, baseline.passed_cases, baseline.baseline_id) == ("complete", 1.0, 1,
                                                                                                 None)
    server.script(text("London."))
    out = io.StringIO()
    candidate = wb.eval("Eval set", world.a.agent, out=out)  # the previous complete one is the baseline
    assert f"[experiment {candidate.experiment_id}] test set 'Eval set' v1: 1 cases x 1" in out.getvalue()
    assert candidate.baseline_id == baseline.experiment_id
    assert candidate.changes == {"regressed": 1, "improved": 0, "became flaky": 0} and candidate.regressed
    assert candidate.cases.change.tolist() == ["regressed"] and candidate.cases.state.tolist() == ["fail"]
    assert "Paris" in candidate.cases.failed_checks.iloc[0]
    frame = wb.experiment(candidate)
    assert frame.reply.tolist() == ["London."] and frame.outcome.tolist() == ["fail"]
    history = wb.experiment_chart("Eval set")
    assert isinstance(history, go.Figure) and list(history.data[0].y) == [1.0, 0.0]
    with pytest.raises(NotFound):
        wb.eval(f"Set {world.b.key}", world.a.agent, out=io.StringIO())
