"""`connect()` and the Workbench it returns: a person acting in a group, set once, then every
call goes through the same service (and the same access check) as the page or the CLI
command that does the same thing. Tables come back as DataFrames (`frames`), replies and
evaluations as objects that display themselves (`display`)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, TextIO

import pandas as pd

from .. import agents, clock, experiments, runs, threads
from ..costs import reports
from ..errors import AccessDenied, GroupNotFound, NotFound, ValidationError
from ..observe import traces
from ..playground import Variant, get_comparison, start_comparison
from ..providers import service as providers
from ..system import bootstrap
from ..tenancy import groups, people
from . import frames
from .display import ChatResult, Evaluation, RichFrame, block

# What stdout may show of a model's text: no terminal control characters (an escape
# sequence of theirs would recolour or rewrite the cell's output); newlines and tabs stay.
_CONTROL = {c: None for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


def printable(text: str) -> str:
    return text.translate(_CONTROL)


def connect(email: str | None = None, group: int | str | None = None) -> Workbench:
    """The workbench as a person in a group: the local person (settings) or the person with
    `email`; their first group (by name, as the CLI) or `group`, by id or by name. The
    database is migrated and seeded as when the app starts."""
    startup = bootstrap.init_app()
    person_id = startup.person_id
    if email:
        person = people.find_person_by_email(email)
        if person is None:
            raise NotFound(f"No person with e-mail {email}.")
        person_id = person.id
    mine = groups.list_my_groups(person_id)
    if group is None:
        if not mine:
            raise AccessDenied("You are not a member of any group.")
        chosen = mine[0][0]
    elif isinstance(group, str) and not group.strip().isdigit():
        named = [g for g, _ in mine if g.name == group.strip()]
        if not named:
            raise GroupNotFound(f"You are not a member of a group named {group!r}.")
        chosen = named[0]
    else:
        chosen = groups.get_group(person_id, int(group))  # the access check: members only
    role = groups.my_role(person_id, chosen.id)
    return Workbench(person_id=person_id, group_id=chosen.id, group_name=chosen.name, role=role or "")


def _ref(value: Any, attr: str) -> Any:
    """An id given as itself or as a result that carries it (a ChatResult's run_id, ...)."""
    return getattr(value, attr) if hasattr(value, attr) else value


def _utc(value: datetime | date | str | None) -> datetime | None:
    """A bound of a time filter as naive UTC, like every stored time: an aware datetime is
    converted, a naive one or a date is taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return datetime.combine(value, datetime.min.time())
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


class Workbench:
    """The workbench from a notebook, as `person_id` in `group_id` (see `connect`)."""

    def __init__(self, person_id: int, group_id: int, group_name: str = "", role: str = ""):
        self.person_id, self.group_id, self.group_name, self.role = person_id, group_id, group_name, role

    def __repr__(self) -> str:
        return f"<Workbench: person {self.person_id} in group {self.group_id} {self.group_name!r} ({self.role})>"

    def _repr_html_(self) -> str:
        return block(f"Workbench · {self.group_name}", [f"group #{self.group_id}", f"person #{self.person_id}",
                                                         self.role])

    # --- agents -----------------------------------------------------------------------

    def agent(self, reference: Any) -> agents.ResolvedAgent:
        """An agent of the group by id, name, `id@version` or `id@label` (or an agent that
        create_agent or this method returned)."""
        if hasattr(reference, "agent_id"):  # a ResolvedAgent: the same version again
            reference = f"{reference.agent_id}@{reference.version}"
        return agents.resolve_agent(self.person_id, self.group_id, str(_ref(reference, "id")))

    def agents(self) -> RichFrame:
        return frames.agents_frame(agents.list_agents(self.person_id, self.group_id),
                                   agents.labels_by_agent(self.person_id, self.group_id))

    def create_agent(self, name: str, **fields: Any) -> agents.AgentView:
        """A new agent (its version 1). Without `provider_id` it runs on the group's built-in
        offline model; other fields as on the Agents page: system_prompt, temperature,
        max_output_tokens, tools, ..."""
        if "provider_id" not in fields:
            local = [p for p in providers.list_providers(self.person_id, self.group_id) if p.kind == "local"]
            if not local:
                raise ValidationError(field_errors={"provider_id": "This group has no built-in provider: "
                                                                   "pass provider_id."})
            fields["provider_id"] = local[0].id
            fields.setdefault("model", providers.starting_model(local[0]))
        return agents.create_agent(self.person_id, self.group_id, name=name, **fields)

    def update_agent(self, agent: Any, note: str | None = None, **fields: Any) -> agents.AgentView:
        """Save a new version of the agent with these fields changed."""
        return agents.update_agent(self.person_id, self.agent(agent).agent_id, note=note, **fields)

    # --- chat ---------------------------------------------------------------------------

    def chat(self, agent: Any, message: str, thread: Any = None, *, stream: bool = True,
             out: TextIO | None = None) -> ChatResult:
        """Send `message` to `agent` in a new thread, or in `thread` (an id or a ChatResult):
        the reply is printed as it arrives (tool calls as [tool ...] lines), then returned
        with its run, tokens and cost. `agent` may be None with a thread; `agent@version`
        runs that version on the thread."""
        resolved = self.agent(agent) if agent is not None else None
        if thread is None:
            if resolved is None:
                raise ValidationError(field_errors={"agent": "Name an agent, or a thread to continue."})
            opened, handle = runs.create_thread(self.group_id, resolved.agent_id, self.person_id,
                                                initial_message=message, version_id=resolved.version_id)
            thread_id = opened.id
        else:
            thread_id = int(_ref(thread, "thread_id"))
            row = threads.get_thread(self.person_id, thread_id)
            self._in_group("Thread", thread_id, row.group_id)
            version_id = None
            if resolved is not None:
                if row.agent_id != resolved.agent_id:
                    raise ValidationError(field_errors={"agent": f"Thread {thread_id} is not a thread of "
                                                                 f"{resolved.name}."})
                version_id = resolved.version_id if "@" in str(agent) else None
            handle = runs.continue_thread(thread_id, message, self.person_id, version_id=version_id)
        try:
            if stream:
                self._print_updates(handle, out or sys.stdout)
            result = handle.wait()
        except KeyboardInterrupt:  # the cell was stopped: stop the run too, as the Chat page's Stop
            if handle.run_id is not None:
                runs.cancel_run(handle.run_id, self.person_id)
            raise
        if result.run_id is None:  # refused before it opened: nothing was recorded
            return ChatResult(run_id=None, thread_id=thread_id, agent=resolved.name if resolved else "",
                              status=result.status, reply=result.reply, error=result.error)
        trace = traces.get_run_trace(self.person_id, result.run_id)
        first_call = next((s for s in trace.steps if s.kind == "model_call"), None)
        run = trace.run
        return ChatResult(run_id=run.id, thread_id=run.thread_id, agent=run.agent_name or "", status=run.status,
                          reply=result.reply, error=result.error or run.error_message,
                          input_tokens=run.input_tokens, output_tokens=run.output_tokens, cost_usd=run.cost_usd,
                          duration_ms=run.duration_ms, ttft_ms=first_call.ttft_ms if first_call else None,
                          tools=[s.name for s in trace.steps if s.kind == "tool_call"])

    @staticmethod
    def _print_updates(handle: runs.RunHandle, out: TextIO) -> None:
        """The run's feed as the CLI prints it: text as it arrives, tool calls as lines."""
        for update in handle.updates():
            if update.kind == "text":
                out.write(printable(update.text))
            elif update.kind == "reset":
                out.write("\n[retrying]\n")
            elif update.kind == "tool_start":
                out.write(printable(f"\n[tool {update.data['name']} {update.data['arguments']}]\n"))
            elif update.kind == "tool_end":
                out.write(printable(f"[result {str(update.data['result'])[:200]}]\n"))
            out.flush()
        out.write("\n")

    def _in_group(self, kind: str, object_id: int, group_id: int) -> None:
        """A person may belong to several groups; this workbench acts in one. An id of another
        of their groups is refused as not found here (the service has checked access)."""
        if group_id != self.group_id:
            raise NotFound(f"{kind} {object_id} is not in the group {self.group_name!r}; "
                           f"connect(group={group_id}) to work there.")

    # --- reading: threads, runs, traces --------------------------------------------------

    def threads(self, agent: Any = None, *, archived: bool = False, limit: int = 50) -> RichFrame:
        """The group's chat threads, newest activity first (as the Chat page lists them)."""
        agent_id = self.agent(agent).agent_id if agent is not None else None
        rows = threads.list_threads(self.person_id, self.group_id, agent_id=agent_id, archived=archived,
                                    limit=limit)
        return frames.threads_frame(rows, agents.agent_names(self.person_id, self.group_id), archived=archived)

    def messages(self, thread: Any, limit: int = 200) -> RichFrame:
        """A thread's latest `limit` messages (at most 500), oldest first."""
        thread_id = int(_ref(thread, "thread_id"))
        row = threads.get_thread(self.person_id, thread_id)
        self._in_group("Thread", thread_id, row.group_id)
        page = threads.get_thread_messages(thread_id, limit=limit, actor_id=self.person_id)
        name = agents.agent_names(self.person_id, self.group_id).get(row.agent_id, f"Agent #{row.agent_id}")
        return frames.messages_frame(row, page, name)

    def runs(self, *, agent: Any = None, thread: Any = None, person: int | None = None,
             status: str | Iterable[str] | None = None, since: datetime | date | str | None = None,
             until: datetime | date | str | None = None, min_duration_ms: float | None = None,
             has_error: bool | None = None, tool: str | None = None, caller: int | str | None = None,
             sort: str = "started_at", descending: bool = True, limit: int = 50, offset: int = 0) -> RichFrame:
        """The group's runs with the Traces page's filters: agents (one or a list), a thread,
        a person, statuses, a time range (UTC; `until` excluded), a least duration, with or
        without an error, a tool used, who called ("app", or an API key's id); sorted by
        started_at, duration_ms, cost_usd, step_count or tokens."""
        agent_list = [] if agent is None else agent if isinstance(agent, (list, tuple, set)) else [agent]
        statuses = () if status is None else (status,) if isinstance(status, str) else tuple(status)
        filters = traces.RunFilters(
            agent_ids=tuple(self.agent(a).agent_id for a in agent_list),
            thread_id=None if thread is None else int(_ref(thread, "thread_id")), person_id=person,
            statuses=statuses, since=_utc(since), until=_utc(until), min_duration_ms=min_duration_ms,
            has_error=has_error, tool=tool, caller=reports.APP if caller == "app" else caller)
        return frames.runs_frame(traces.list_runs(self.person_id, self.group_id, filters, sort=sort,
                                                  descending=descending, limit=limit, offset=offset))

    def trace(self, run: Any) -> RichFrame:
        """A run's steps in order (model and tool calls): status, ms, first token, tokens, cost."""
        trace = traces.get_run_trace(self.person_id, int(_ref(run, "run_id")))
        self._in_group("Run", trace.run.id, trace.run.group_id)
        return frames.trace_frame(trace)

    # --- usage ----------------------------------------------------------------------------

    def _dashboard(self, period: str | tuple[date, date], caller: int | str | None) -> reports.Dashboard:
        zone = groups.get_group(self.person_id, self.group_id).time_zone or clock.UTC_NAME
        if isinstance(period, tuple):
            p = reports.period("custom", start=period[0], end=period[1], time_zone=zone)
        else:
            p = reports.period(period, time_zone=zone)
        return reports.dashboard(self.person_id, self.group_id, p,
                                 caller=reports.APP if caller == "app" else caller)

    def usage(self, period: str | tuple[date, date] = "30d", by: str = "agent", *,
              caller: int | str | None = None) -> RichFrame:
        """The Usage page's numbers for a period ("today", "7d", "30d", "mtd", or a
        (first day, last day) pair), by "agent", "model", "person" or "day" (days of the
        group's time zone); `caller` narrows to "app" or one API key's id."""
        if by not in frames.USAGE_BY:
            raise ValidationError(field_errors={"by": f"One of {', '.join(frames.USAGE_BY)}, not {by!r}."})
        return frames.usage_frame(self._dashboard(period, caller), by)

    def usage_chart(self, period: str | tuple[date, date] = "30d", chart: str = "cost", *,
                    caller: int | str | None = None):
        """One of the Usage page's plotly figures: "cost" (cost over time by model),
        "agents" (tokens by agent), "people" (cost by person) or "providers"."""
        # Here, not at module level: plotly takes a second to import, and most sessions
        # chart nothing.
        from ..costs import charts

        return charts.figure(self._dashboard(period, caller), chart)  # refuses an unknown chart

    # --- playground -------------------------------------------------------------------

    def _variant(self, spec: Any) -> Variant:
        """A variant: an agent reference ("Writer", 12, "12@3", "12@production"), a Variant,
        or a dict {"agent": reference, **unsaved edits} (temperature, system_prompt, ...)."""
        if isinstance(spec, Variant):
            return spec
        edits: dict[str, Any] = {}
        if isinstance(spec, dict):
            edits = {k: v for k, v in spec.items() if k != "agent"}
            spec = spec.get("agent")
        resolved = self.agent(spec)
        return Variant(agent_id=resolved.agent_id, version=resolved.version, overrides=edits)

    def compare(self, variants: list[Any], message: str) -> RichFrame:
        """One message to 2 to 4 variants side by side, waited for: one row per variant with
        its reply, first token, duration, tokens and cost (saved as a playground comparison)."""
        live = start_comparison(self.person_id, self.group_id, [self._variant(v) for v in variants], message)
        live.wait()
        return frames.comparison_frame(get_comparison(self.person_id, live.id))

    # --- experiments ----------------------------------------------------------------------

    def test_set(self, name: str) -> RichFrame:
        """A test set's latest cases as a DataFrame (key, input, expected, checks)."""
        return frames.cases_frame(experiments.find_test_set(self.person_id, self.group_id, name))

    def test_set_from_frame(self, name: str, frame: pd.DataFrame) -> RichFrame:
        """Create the test set `name` from a DataFrame, or save its rows as a new version when
        it exists. Columns as in an imported file: input (required), expected, key, checks (a
        list), and one column per simple check (contains, not_contains, equals, regex, ...).
        Bad rows are refused all together, each named by its row number."""
        if "input" not in frame.columns:
            raise ValidationError(field_errors={"input": "The DataFrame needs an `input` column."})
        # The same parser as a file import: one JSON object per row, so every rule (and its
        # message, "line N" being row N) is the import's.
        lines = frame.reset_index(drop=True).to_json(orient="records", lines=True, force_ascii=False)
        view = experiments.import_test_set(self.person_id, self.group_id, name, lines, "dataframe.jsonl")
        return frames.cases_frame(view)

    def experiment(self, experiment: Any) -> RichFrame:
        """An experiment's results: one row per case and repeat with its verdict."""
        view = experiments.get_experiment(self.person_id, int(_ref(experiment, "experiment_id")))
        self._in_group("Experiment", view.id, view.group_id)
        return frames.experiment_frame(view)

    def experiment_chart(self, test_set: str):
        """The Experiments page's history of a test set: pass rate, cost and latency per experiment."""
        from ..experiments import charts  # here: see usage_chart

        ts = experiments.find_test_set(self.person_id, self.group_id, test_set)
        return charts.history_figure(experiments.experiment_history(self.person_id, ts.id))

    def eval(self, test_set: str, agent: Any, *, repeat: int = 1, baseline: Any = None,
             concurrency: int | None = None, progress: bool = True, out: TextIO | None = None) -> Evaluation:
        """Run `agent` (a reference, a Variant or a dict with edits) over the named test set,
        each case `repeat` times, as the CLI's `eval`: progress as it goes, then each case's
        verdict and its change against `baseline` (default: the test set's previous complete
        experiment)."""
        out = out or sys.stdout
        ts = experiments.find_test_set(self.person_id, self.group_id, test_set)
        exp_id = experiments.start_experiment(self.person_id, self.group_id, ts.id, self._variant(agent),
                                              repeats=repeat, concurrency=concurrency)
        total, shown = len(ts.cases) * repeat, -1
        if progress:
            out.write(printable(f"[experiment {exp_id}] test set {ts.name!r} v{ts.version}: {len(ts.cases)} cases"
                                f" x {repeat}\n"))
        try:
            while not experiments.wait_experiment(exp_id, 0.5):
                done = experiments.get_experiment(self.person_id, exp_id).done
                if progress and done != shown:
                    out.write(f"  {done}/{total}\n")
                    out.flush()
                    shown = done
        except KeyboardInterrupt:  # the cell was stopped: so is the experiment (resumable on its page)
            experiments.stop_experiment(self.person_id, exp_id)
            raise
        view = experiments.get_experiment(self.person_id, exp_id)
        baseline_id = (int(_ref(baseline, "experiment_id")) if baseline is not None
                       else experiments.previous_experiment(self.person_id, exp_id))
        report = experiments.compare_experiments(self.person_id, baseline_id, exp_id) if baseline_id else None
        if progress:
            out.write(f"  {view.done}/{total} {view.status}\n")
        return Evaluation(
            experiment_id=exp_id, label=view.label, status=view.status, pass_rate=view.pass_rate,
            passed_cases=view.passed_cases, cost_usd=view.cost_usd, p50_ms=view.latency_ms(50),
            p95_ms=view.latency_ms(95), cases=frames.evaluation_cases(view, report), baseline_id=baseline_id,
            changes={k: len(report.of(k)) for k in ("regressed", "improved", "became flaky")} if report else {},
            error=view.error)
