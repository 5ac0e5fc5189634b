"""Test sets and experiments on the scripted server: concurrency bound, resume after an
interruption, every check (the LLM judge included), regressions, bad input."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select, update

from tests.scripted_openai import error, text, tool_call
from workbench import experiments as ex
from workbench.db import session_scope
from workbench.errors import AccessDenied, AgentNotFound, ValidationError
from workbench.experiments import runner
from workbench.experiments.checks import Observation, evaluate
from workbench.models import Experiment, ExperimentResult, Run, Thread, UsageRecord
from workbench.playground import Variant
from workbench.system import workspace


def _cases(n: int, expected: str = "ok") -> list[dict]:
    return [{"input": f"Question {i}?", "expected": expected} for i in range(n)]


def _rows(experiment_id: int) -> list[tuple[int, int]]:
    with session_scope() as s:
        return s.execute(select(ExperimentResult.case_index, ExperimentResult.repeat)
                         .where(ExperimentResult.experiment_id == experiment_id)).all()


def test_20_cases_twice_respects_the_concurrency_bound(scripted):
    scripted.server.default_text = "ok, this is the scripted answer"
    scripted.server.chunk_delay = 0.01
    ts = ex.create_test_set(scripted.person_id, scripted.group_id, "Twenty", cases=_cases(20))
    exp_id = ex.start_experiment(scripted.person_id, scripted.group_id, ts.id, Variant(scripted.agent_id),
                                 repeats=2, concurrency=3)
    assert ex.wait_experiment(exp_id, 120)
    view = ex.get_experiment(scripted.person_id, exp_id)
    assert (view.status, view.done, view.total) == ("complete", 40, 40)
    assert sorted(_rows(exp_id)) == [(i, r) for i in range(20) for r in range(2)]
    assert 2 <= scripted.server.peak_in_flight <= 3  # overlapped, and never more than the bound
    assert view.pass_rate == 1.0 and view.passed_cases == 20
    assert all(c.pass_rate == 1.0 and len(c.attempts) == 2 for c in view.cases)
    assert view.latency_ms(50) is not None and view.latency_ms(95) >= view.latency_ms(50)
    with session_scope() as s:  # ordinary runs, on hidden experiment threads, priced and counted
        kinds = s.scalars(select(Thread.kind).join(Run, Run.thread_id == Thread.id)).all()
        assert kinds.count("experiment") == 40
        assert s.scalar(select(func.count(UsageRecord.id))) >= 40
    spend = ex.experiment_spend(scripted.person_id, scripted.group_id, view.created_at.replace(year=2000),
                                view.created_at.replace(year=2100))
    assert spend["calls"] == 40


def test_an_interrupted_experiment_resumes_without_rerunning_finished_cases(scripted):
    scripted.server.default_text = "ok"
    scripted.server.chunk_delay = 0.02
    ts = ex.create_test_set(scripted.person_id, scripted.group_id, "Resume", cases=_cases(20))
    exp_id = ex.start_experiment(scripted.person_id, scripted.group_id, ts.id, Variant(scripted.agent_id),
                                 repeats=2, concurrency=2)
    import time

    deadline = time.monotonic() + 60
    while len(_rows(exp_id)) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    runner._runners[exp_id].abandon.set()  # as if the process died: workers stop, no final status
    assert ex.wait_experiment(exp_id, 30)
    finished = set(_rows(exp_id))
    assert 20 <= len(finished) < 40
    with session_scope() as s:  # the process that ran it is gone
        s.execute(update(Experiment).where(Experiment.id == exp_id)
                  .values(worker=f"{socket.gethostname()}:999999999:gone"))
    assert ex.get_experiment(scripted.person_id, exp_id).status == "interrupted"
    requests_before = len(scripted.server.chat_requests)
    left = ex.resume_experiment(scripted.person_id, exp_id, wait=True)
    assert left == 40 - len(finished)
    assert len(scripted.server.chat_requests) - requests_before == left  # only the unfinished pairs ran
    view = ex.get_experiment(scripted.person_id, exp_id)
    assert (view.status, view.done) == ("complete", 40)
    assert sorted(_rows(exp_id)) == [(i, r) for i in range(20) for r in range(2)]


def test_stop_from_the_database_flag(scripted):
    scripted.server.chunk_delay = 0.05
    ts = ex.create_test_set(scripted.person_id, scripted.group_id, "Stop", cases=_cases(10))
    exp_id = ex.start_experiment(scripted.person_id, scripted.group_id, ts.id, Variant(scripted.agent_id),
                                 concurrency=1)
    assert ex.stop_experiment(scripted.person_id, exp_id)
    assert ex.wait_experiment(exp_id, 30)
    view = ex.get_experiment(scripted.person_id, exp_id)
    assert view.status == "stopped" and view.done < 10
    left = ex.resume_experiment(scripted.person_id, exp_id, wait=True)
    assert left == 10 - view.done
    assert ex.get_experiment(scripted.person_id, exp_id).status == "complete"


# --- checks ----------------------------------------------------------------------------

def _one(spec, **obs):
    fields = {"reply": "", "conversation": [{"role": "user", "content": "q"}], **obs}
    (result,) = evaluate([ex.normalize_check(spec)], Observation(**fields))
    return result.status


@pytest.mark.parametrize("spec, good, bad", [
    ({"type": "contains", "value": "paris"}, {"reply": "It is PARIS."}, {"reply": "Lyon"}),
    ({"type": "not_contains", "value": "sorry"}, {"reply": "Here you go"}, {"reply": "Sorry, no."}),
    ({"type": "equals", "value": "42"}, {"reply": " 42\n"}, {"reply": "42!"}),
    ({"type": "regex", "pattern": r"\d{3}-\d{4}"}, {"reply": "Call 555-1234"}, {"reply": "Call me"}),
    ({"type": "valid_json"}, {"reply": '```json\n{"a": 1}\n```'}, {"reply": "{a: 1}"}),
    ({"type": "valid_json", "schema": {"type": "object", "required": ["city"],
                                       "properties": {"city": {"type": "string"}}}},
     {"reply": '{"city": "Paris"}'}, {"reply": '{"city": 3}'}),
    ({"type": "tool_called", "tool": "create_task"},
     {"tool_calls": [{"name": "create_task", "arguments": {"title": "x"}}]}, {"tool_calls": []}),
    ({"type": "tool_called", "tool": "create_task", "args": {"title": "Call Bob"}},
     {"tool_calls": [{"name": "create_task", "arguments": {"title": "call bob"}}]},
     {"tool_calls": [{"name": "create_task", "arguments": {"title": "Call Alice"}}]}),
    ({"type": "latency_under", "seconds": 2}, {"latency_s": 1.5}, {"latency_s": 2.5}),
    ({"type": "cost_under", "usd": 0.01}, {"cost_usd": 0.001}, {"cost_usd": 0.02}),
])
def test_each_check_passes_and_fails_where_it_should(spec, good, bad):
    assert _one(spec, **good) == "pass"
    assert _one(spec, **bad) == "fail"


def test_without_checks_the_expected_answer_must_be_contained():
    obs = Observation(reply="The capital is Paris.", conversation=[], expected="paris")
    assert [r.status for r in evaluate([], obs)] == ["pass"]
    obs.reply = "Lyon"
    assert [r.status for r in evaluate([], obs)] == ["fail"]


def test_bad_checks_are_refused():
    for spec in ({"type": "nope"}, {"type": "regex", "pattern": "("}, {"type": "contains"},
                 {"type": "latency_under", "seconds": "soon"}, {"type": "valid_json", "schema": {"type": 5}}):
        with pytest.raises(ValidationError):
            ex.normalize_check(spec)


def test_verdicts_are_parsed_robustly():
    assert ex.parse_verdict("PASS\nIt names Paris.") == (True, "It names Paris.")
    assert ex.parse_verdict("**Verdict: FAIL** - wrong city")[0] is False
    assert ex.parse_verdict("The reply passes: correct.")[0] is True
    with pytest.raises(ValueError):
        ex.parse_verdict("I cannot decide.")


def test_the_llm_judge_passes_fails_and_a_down_provider_is_an_error(scripted):
    from workbench.providers import service as providers

    down = providers.add_provider(scripted.person_id, scripted.group_id, name="Down", preset="openai",
                                  base_url="http://127.0.0.1:9/v1", api_key_name="")
    judge = {"type": "judge", "rubric": "The reply names the capital of France."}
    ts = ex.create_test_set(scripted.person_id, scripted.group_id, "Judged", cases=[
        {"input": "Capital of France?", "checks": [judge]},
        {"input": "Capital of France, again?", "checks": [judge]},
        {"input": "And once more?", "checks": [{**judge, "provider_id": down.id}]},
    ])
    scripted.server.script(text("Paris."), text("PASS\nIt names Paris."),
                           text("Lyon."), text("FAIL: Lyon is not the capital."), text("Paris."))
    exp_id = ex.start_experiment(scripted.person_id, scripted.group_id, ts.id, Variant(scripted.agent_id),
                                 concurrency=1, wait=True)
    view = ex.get_experiment(scripted.person_id, exp_id)
    (a,), (b,), (c,) = (case.attempts for case in view.cases)
    assert (a.outcome, a.checks[0]["reason"]) == ("pass", "It names Paris.")
    assert (b.outcome, b.checks[0]["reason"]) == ("fail", "Lyon is not the capital.")
    assert c.outcome == "error" and c.checks[0]["reason"].startswith("check failed to run")
    assert [case.state for case in view.cases] == ["pass", "fail", "error"]
    judge_request = scripted.server.chat_requests[1].body
    assert "capital of France" in judge_request["messages"][1]["content"]
    assert view.judge_cost_usd >= 0.0


def test_a_run_that_fails_fails_its_case(scripted):
    ts = ex.create_test_set(scripted.person_id, scripted.group_id, "Failing", cases=_cases(1))
    scripted.server.script(*[error(500)] * 3)
    exp_id = ex.start_experiment(scripted.person_id, scripted.group_id, ts.id, Variant(scripted.agent_id), wait=True)
    (attempt,) = ex.get_experiment(scripted.person_id, exp_id).cases[0].attempts
    assert attempt.outcome == "fail" and attempt.run_status == "failed"


def test_tool_calls_are_seen_by_the_checks(scripted):
    ts = ex.create_test_set(scripted.person_id, scripted.group_id, "Tools", cases=[
        {"input": "Make a task to call Bob", "checks": [{"type": "tool_called", "tool": "create_task",
                                                          "args": {"title": "Call Bob"}}]}])
    scripted.server.script(tool_call("create_task", {"title": "Call Bob"}), text("Done."))
    exp_id = ex.start_experiment(scripted.person_id, scripted.group_id, ts.id, Variant(scripted.agent_id), wait=True)
    assert ex.get_experiment(scripted.person_id, exp_id).cases[0].state == "pass"


# --- compare ---------------------------------------------------------------------------

def _run(scripted, ts_id, *replies):
    scripted.server.script(*[text(r) for r in replies])
    return ex.start_experiment(scripted.person_id, scripted.group_id, ts_id, Variant(scripted.agent_id),
                               concurrency=1, wait=True)


def test_regressions_improvements_and_flaky_cases(scripted):
    ts = ex.create_test_set(scripted.person_id, scripted.group_id, "Cmp", cases=[
        {"input": "a", "expected": "yes"}, {"input": "b", "expected": "yes"}, {"input": "c", "expected": "yes"}])
    base = ex.start_experiment  # noqa: F841 - readability below
    scripted.server.script(*[text(r) for r in ("yes", "no", "yes", "yes", "no", "yes")])
    baseline = ex.start_experiment(scripted.person_id, scripted.group_id, ts.id, Variant(scripted.agent_id),
                                   repeats=2, concurrency=1, wait=True)
    # repeat-major order: a, b, c, then a, b, c again
    scripted.server.script(*[text(r) for r in ("no", "yes", "yes", "no", "yes", "no")])
    candidate = ex.start_experiment(scripted.person_id, scripted.group_id, ts.id, Variant(scripted.agent_id),
                                    repeats=2, concurrency=1, wait=True)
    report = ex.compare_experiments(scripted.person_id, baseline, candidate)
    changes = {c.input: c.change for c in report.cases}
    assert changes == {"a": "regressed", "b": "improved", "c": "became flaky"}
    assert [c.input for c in report.regressions] == ["a"]
    history = ex.experiment_history(scripted.person_id, ts.id)
    assert [p.experiment_id for p in history] == [baseline, candidate]
    assert ex.previous_experiment(scripted.person_id, candidate) == baseline


# --- bad input -------------------------------------------------------------------------

def test_malformed_files_are_reported_by_line_and_nothing_is_imported(scripted):
    bad_csv = 'input,expected,regex\n"Hello",hi,\n"",x,\n"Ok",fine,(\n"Again",yes,,extra\n'
    with pytest.raises(ex.ImportRejected) as caught:
        ex.import_test_set(scripted.person_id, scripted.group_id, "Bad", bad_csv, "cases.csv")
    assert [p.split(":")[0] for p in caught.value.problems] == ["line 3", "line 4", "line 5"]
    assert "input is empty" in caught.value.problems[0] and "regex" in caught.value.problems[1]
    bad_jsonl = '{"input": "fine"}\n{"input": \n["not an object"]\n{"input": "x", "checks": [{"type": "nope"}]}\n'
    with pytest.raises(ex.ImportRejected) as caught:
        ex.import_test_set(scripted.person_id, scripted.group_id, "Bad", bad_jsonl, "cases.jsonl")
    assert [p.split(":")[0] for p in caught.value.problems] == ["line 2", "line 3", "line 4"]
    with pytest.raises(ex.ImportRejected):
        ex.parse_cases("question,answer\nx,y\n", "cases.csv")
    assert ex.list_test_sets(scripted.person_id, scripted.group_id) == []


def test_import_export_round_trip_keeps_keys(scripted):
    csv_text = ('input,expected,contains,tool_called,tool_args\n"Capital of France?",Paris,paris,,\n'
                '"Make a task",,,create_task,"{""title"": ""x""}"\n'
                '"[{""role"": ""user"", ""content"": ""Hi""}, {""role"": ""assistant"", ""content"": ""Hello""},'
                ' {""role"": ""user"", ""content"": ""Bye?""}]",bye,,,\n')
    ts = ex.import_test_set(scripted.person_id, scripted.group_id, "Round", csv_text, "in.csv")
    assert len(ts.cases) == 3 and isinstance(ts.cases[2]["input"], list)
    assert ts.cases[1]["checks"] == [{"type": "tool_called", "tool": "create_task", "args": {"title": "x"}}]
    for name in ("out.csv", "out.jsonl"):
        again = ex.parse_cases(ex.export_test_set(scripted.person_id, ts.id, name), name)
        assert again == ts.cases
    second = ex.import_test_set(scripted.person_id, scripted.group_id, "Round", csv_text, "in.csv")
    assert second.version == 2 and [c["key"] for c in second.cases] == [c["key"] for c in ts.cases]
    assert [v["version"] for v in ex.list_test_set_versions(scripted.person_id, ts.id)] == [2, 1]


def test_unknown_and_foreign_test_sets_and_agents(scripted):
    ts = ex.create_test_set(scripted.person_id, scripted.group_id, "Mine", cases=_cases(1))
    with pytest.raises(ex.TestSetNotFound):
        ex.find_test_set(scripted.person_id, scripted.group_id, "Nope")
    with pytest.raises(AgentNotFound):
        ex.start_experiment(scripted.person_id, scripted.group_id, ts.id, Variant(987654))
    other = workspace.create_group(scripted.person_id, "Other team").id
    with pytest.raises(ex.TestSetNotFound):  # a test set of another group, even one's own
        ex.start_experiment(scripted.person_id, other, ts.id, Variant(scripted.agent_id))
    from tests.tenancy_world import new_person

    stranger = new_person("Stranger")
    with pytest.raises(AccessDenied):
        ex.get_test_set(stranger, ts.id)


def test_add_to_test_set_from_a_chat_message_and_a_trace(scripted):
    from workbench import runs, threads

    scripted.server.script(text("Paris is the capital."))
    thread, handle = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                           initial_message="Capital of France?")
    result = handle.wait(15)
    page = threads.get_thread_messages(thread.id, actor_id=scripted.person_id)
    reply = next(m for m in page.messages if m.role == "assistant")
    assert ex.case_from_message(scripted.person_id, reply.id) == {
        "input": "Capital of France?", "expected": "Paris is the capital.", "checks": []}
    assert ex.case_from_run(scripted.person_id, result.run_id, with_reply=False)["expected"] is None
    ts = ex.create_test_set(scripted.person_id, scripted.group_id, "From chat")
    ts = ex.add_case(scripted.person_id, ts.id, ex.case_from_run(scripted.person_id, result.run_id))
    assert ts.version == 2 and ts.cases[0]["expected"] == "Paris is the capital."
