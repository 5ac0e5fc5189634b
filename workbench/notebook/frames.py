"""Service views as DataFrames, one function per kind: what a page shows as a table, as rows a
notebook can filter, sum and plot. Pure: every view was read through its service (and its
access check) before it gets here. Columns are typed the same with rows or without (see
`display.rich_frame`); times are UTC."""

from __future__ import annotations

from typing import Any

from ..costs.reports import Dashboard
from ..errors import ValidationError
from ..experiments import ExperimentComparison, ExperimentView, TestSetView
from ..observe.traces import RunPage, RunTrace
from ..playground import ComparisonView
from ..threads.store import MessagePage
from .display import (
    RichFrame,
    count,
    fmt_cost,
    fmt_ms,
    fmt_rate,
    rich_frame,
    status_fact,
    tokens_fact,
)

USAGE_BY = ("agent", "model", "person", "day")


def case_text(value: Any) -> str:
    """A case input as one line of text: the text, or a short conversation's turns."""
    if isinstance(value, str):
        return value
    return " ⏎ ".join(f"{t['role']}: {t['content']}" for t in value)


def agents_frame(views, labels: dict[int, dict[str, int]] | None = None) -> RichFrame:
    rows = [{"id": a.id, "name": a.name, "version": a.version, "model": a.config.model,
             "provider_id": a.config.provider_id, "tools": ", ".join(a.config.tools),
             "max_output_tokens": a.config.max_output_tokens, "temperature": a.config.temperature,
             "labels": ", ".join(f"{k}→v{v}" for k, v in sorted((labels or {}).get(a.id, {}).items()))}
            for a in views]
    return rich_frame(rows, {"id": "int64", "name": "text", "version": "int64", "model": "text",
                             "provider_id": "int64", "tools": "text", "max_output_tokens": "int64",
                             "temperature": "float64", "labels": "text"},
                      title="Agents", facts=[count(len(rows), "agent")])


def threads_frame(threads, agent_names: dict[int, str], *, archived: bool = False) -> RichFrame:
    rows = [{"id": t.id, "title": t.title, "agent_id": t.agent_id,
             "agent": agent_names.get(t.agent_id, f"Agent #{t.agent_id}"), "status": t.status,
             "messages": t.message_count, "last_activity_at": t.last_activity_at, "created_at": t.created_at}
            for t in threads]
    return rich_frame(rows, {"id": "int64", "title": "text", "agent_id": "int64", "agent": "text",
                             "status": "text", "messages": "int64", "last_activity_at": "time",
                             "created_at": "time"},
                      title="Archived threads" if archived else "Threads",
                      facts=[count(len(rows), "thread") + ", newest activity first"])


def messages_frame(thread, page: MessagePage, agent_name: str) -> RichFrame:
    rows = [{"seq": m.seq, "id": m.id, "role": m.role, "name": m.name, "status": m.status,
             "content": m.content or (m.data or {}).get("error") or "",
             "tool_calls": ", ".join(c.get("name", "") for c in (m.tool_calls or [])),
             "run_id": m.run_id, "created_at": m.created_at} for m in page.messages]
    facts = [f"thread #{thread.id}", agent_name, status_fact(thread.status), count(thread.message_count, "message")]
    if page.has_older:
        facts.append(f"the latest {len(rows)} (older ones: a larger limit)")
    return rich_frame(rows, {"seq": "int64", "id": "int64", "role": "text", "name": "text", "status": "text",
                             "content": "text", "tool_calls": "text", "run_id": "Int64", "created_at": "time"},
                      title=thread.title, facts=facts, ids={"thread": thread.id})


def runs_frame(page: RunPage) -> RichFrame:
    rows = [{"id": r.id, "started_at": r.started_at, "status": r.status, "agent": r.agent_name,
             "version": r.agent_version, "thread_id": r.thread_id, "thread": r.thread_title,
             "caller": r.caller_name, "duration_ms": r.duration_ms, "steps": r.step_count,
             "input_tokens": r.input_tokens, "output_tokens": r.output_tokens, "cost_usd": r.cost_usd,
             "tools": ", ".join(r.tools), "error": r.error_message} for r in page.rows]
    cost = sum(r.cost_usd for r in page.rows)
    facts = [f"{len(rows)} of {page.total} runs", fmt_cost(cost)]
    if page.has_next:
        facts.append("more with a larger limit or an offset")
    return rich_frame(rows, {"id": "int64", "started_at": "time", "status": "text", "agent": "text",
                             "version": "Int64", "thread_id": "int64", "thread": "text", "caller": "text",
                             "duration_ms": "float64", "steps": "int64", "input_tokens": "int64",
                             "output_tokens": "int64", "cost_usd": "float64", "tools": "text", "error": "text"},
                      title="Runs", facts=facts)


def trace_frame(trace: RunTrace) -> RichFrame:
    """One row per step of the run, in order: model calls and tool calls."""
    rows = [{"seq": s.seq, "kind": s.kind, "name": s.name, "status": s.status, "ms": s.duration_ms,
             "ttft_ms": s.ttft_ms, "input_tokens": s.input_tokens, "output_tokens": s.output_tokens,
             "cost_usd": s.cost_usd, "retries": s.retries,
             "error": (s.error or {}).get("message")} for s in trace.steps]
    run = trace.run
    facts = [status_fact(run.status), f"run #{run.id}", f"{run.agent_name} v{run.agent_version}" if run.agent_version
             else (run.agent_name or f"Agent #{run.agent_id}"),
             f"took {fmt_ms(run.duration_ms)}", count(run.step_count, "step"),
             tokens_fact(run.input_tokens, run.output_tokens), fmt_cost(run.cost_usd)]
    if run.error_message:
        facts.append(f"{run.error_type or 'Error'}: {run.error_message}")
    return rich_frame(rows, {"seq": "int64", "kind": "text", "name": "text", "status": "text", "ms": "float64",
                             "ttft_ms": "float64", "input_tokens": "Int64", "output_tokens": "Int64",
                             "cost_usd": "float64", "retries": "int64", "error": "text"},
                      title=run.thread_title or f"Run #{run.id}", facts=facts,
                      ids={"run": run.id, "thread": run.thread_id})


def usage_frame(dash: Dashboard, by: str) -> RichFrame:
    """The Usage page's breakdown `by` agent, model, person or day, for its period."""
    t, p = dash.totals, dash.period
    facts = [f"{p.local(p.start):%Y-%m-%d %H:%M} – {p.local(p.end):%Y-%m-%d %H:%M} ({p.time_zone})",
             count(t.calls, "call"), tokens_fact(t.input_tokens, t.output_tokens), fmt_cost(t.cost_usd)]
    title = f"Usage by {by} · {p.label}"
    if by == "agent":
        rows = [{"agent": a, "input_tokens": i, "output_tokens": o, "cost_usd": c} for a, i, o, c in dash.by_agent]
        columns = {"agent": "text", "input_tokens": "int64", "output_tokens": "int64", "cost_usd": "float64"}
    elif by == "model":
        rows = [{"provider": m.provider, "model": m.model, "calls": m.calls, "input_tokens": m.input_tokens,
                 "output_tokens": m.output_tokens, "cost_usd": m.cost_usd,
                 "default_priced_calls": m.default_priced_calls, "estimated_calls": m.estimated_calls}
                for m in dash.by_model]
        columns = {"provider": "text", "model": "text", "calls": "int64", "input_tokens": "int64",
                   "output_tokens": "int64", "cost_usd": "float64", "default_priced_calls": "int64",
                   "estimated_calls": "int64"}
    elif by == "person":
        rows = [{"person": n, "calls": k, "cost_usd": c} for n, c, k in dash.by_person]
        columns = {"person": "text", "calls": "int64", "cost_usd": "float64"}
    elif by == "day":
        if p.bucket == "month":
            raise ValidationError(field_errors={"by": "By day covers at most 120 days; pick a shorter period."})
        days: dict[Any, list] = {}
        for when, _model, cost, calls in dash.cost_over_time:  # wall time in the period's zone
            acc = days.setdefault(when.date(), [0, 0.0])
            acc[0] += calls
            acc[1] += cost
        rows = [{"day": d, "calls": n, "cost_usd": c} for d, (n, c) in sorted(days.items())]
        columns = {"day": "datetime64[ns]", "calls": "int64", "cost_usd": "float64"}
        facts.append(f"days in {p.time_zone}")
    else:
        raise ValidationError(field_errors={"by": f"One of {', '.join(USAGE_BY)}, not {by!r}."})
    return rich_frame(rows, columns, title=title, facts=facts)


def experiment_frame(view: ExperimentView) -> RichFrame:
    """One row per case and repeat, with its verdict and the checks that did not pass."""
    rows = []
    for case in view.cases:
        for a in case.attempts:
            rows.append({"case": case.index + 1, "key": case.key, "input": case_text(case.input),
                         "expected": case.expected, "repeat": a.repeat + 1, "outcome": a.outcome,
                         "case_state": case.state, "reply": a.reply,
                         "failed_checks": "; ".join(f"{c['status']} {c['name']}: {c['reason']}"
                                                    for c in a.checks if c["status"] != "pass"),
                         "run_id": a.run_id, "input_tokens": a.input_tokens, "output_tokens": a.output_tokens,
                         "cost_usd": a.cost_usd, "latency_ms": a.latency_ms})
    facts = [status_fact(view.status), f"test set {view.test_set_name} v{view.test_set_version}",
             f"{view.done}/{view.total} runs",
             f"pass rate {fmt_rate(view.pass_rate)}", f"passed {view.passed_cases}/{len(view.cases)} cases",
             fmt_cost(view.cost_usd), f"p50 {fmt_ms(view.latency_ms(50))}", f"p95 {fmt_ms(view.latency_ms(95))}"]
    if view.error:
        facts.append(f"stopped: {view.error}")
    return rich_frame(rows, {"case": "int64", "key": "text", "input": "text", "expected": "text", "repeat": "int64",
                             "outcome": "text", "case_state": "text", "reply": "text", "failed_checks": "text",
                             "run_id": "Int64", "input_tokens": "int64", "output_tokens": "int64",
                             "cost_usd": "float64", "latency_ms": "float64"},
                      title=f"Experiment #{view.id}: {view.label}", facts=facts,
                      ids={"experiment": view.id, "test_set": view.test_set_id})


def evaluation_cases(view: ExperimentView, report: ExperimentComparison | None) -> RichFrame:
    """The CLI's `eval` table: one row per case, its change against the baseline."""
    changes = {c.key: c.change for c in report.cases} if report else {}
    rows = []
    for case in view.cases:
        latencies = sorted(a.latency_ms for a in case.attempts if a.latency_ms is not None)
        rows.append({"case": case.index + 1, "input": case_text(case.input),
                     "passed": sum(a.outcome == "pass" for a in case.attempts), "repeats": len(case.attempts),
                     "state": case.state, "change": changes.get(case.key),
                     "p50_ms": latencies[len(latencies) // 2] if latencies else None,
                     "cost_usd": sum(a.cost_usd for a in case.attempts),
                     "failed_checks": "; ".join(f"{c['status']} {c['name']}: {c['reason']}" for a in case.attempts
                                                for c in a.checks if c["status"] != "pass")})
    return rich_frame(rows, {"case": "int64", "input": "text", "passed": "int64", "repeats": "int64",
                             "state": "text", "change": "text", "p50_ms": "float64", "cost_usd": "float64",
                             "failed_checks": "text"},
                      title=f"Experiment #{view.id}: {view.label}", ids={"experiment": view.id})


def comparison_frame(view: ComparisonView) -> RichFrame:
    """One row per variant, as the playground's columns show them."""
    rows = [{"variant": c.position + 1, "label": c.label, "agent_id": c.agent_id, "version": c.version,
             "status": c.result.status, "reply": c.result.reply, "error": c.result.error,
             "ttft_ms": c.result.ttft_ms, "duration_ms": c.result.duration_ms,
             "input_tokens": c.result.input_tokens, "output_tokens": c.result.output_tokens,
             "cost_usd": c.result.cost_usd, "run_id": c.result.run_id} for c in view.columns]
    user_turns = [t["content"] for t in view.conversation if t["role"] == "user"]
    facts = [f"comparison #{view.id}", count(len(rows), "variant"),
             f"message: {user_turns[-1] if user_turns else ''}"]
    return rich_frame(rows, {"variant": "int64", "label": "text", "agent_id": "int64", "version": "int64",
                             "status": "text", "reply": "text", "error": "text", "ttft_ms": "float64",
                             "duration_ms": "float64", "input_tokens": "int64", "output_tokens": "int64",
                             "cost_usd": "float64", "run_id": "Int64"},
                      title=view.title, facts=facts, ids={"comparison": view.id})


def cases_frame(view: TestSetView) -> RichFrame:
    """A test set version's cases, in the columns `Workbench.test_set_from_frame` reads back
    (an input is its text, or a conversation's list of turns)."""
    rows = [{"key": c["key"], "input": c["input"], "expected": c.get("expected"),
             "checks": list(c.get("checks") or [])} for c in view.cases]
    return rich_frame(rows, {"key": "text", "input": "object", "expected": "text", "checks": "object"},
                      title=f"Test set {view.name} v{view.version}", facts=[count(len(rows), "case")],
                      ids={"test_set": view.id})
