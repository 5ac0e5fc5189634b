"""Running an experiment: an agent variant over a test set version, each case N times.

Every (case, repeat) is an ordinary run through the playground's `start_variant` on a hidden
thread of kind "experiment" (traced, priced, counted in usage, under budget and rate
limits). A bounded number of workers, min(the experiment's concurrency, the group's rpm
limit), take pairs from a queue; `limits.check_run_allowed` admits each run, and a refused
start waits and tries again rather than failing the case. Each result is stored the moment
it is done, so a restarted process resumes without redoing finished pairs. The stop flag
lives in the database, so any page or process can stop an experiment."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import events
from ..agents.definitions import provider_for
from ..costs.usage import record_model_call
from ..db import session_scope
from ..errors import BudgetExceeded, NotFound, RateLimitExceeded, ValidationError
from ..models import (AgentVersion, Experiment, ExperimentResult, Group, Message, TestSet, TestSetVersion,
                      utcnow)
from ..playground.variants import Variant, resolve_in_session, result_in_session, start_variant
from ..providers import ChatRequest, Completed, build_provider, config_from_record
from ..runs.workers import HEARTBEAT_S, STALE_S, WORKER_ID, worker_is_gone
from ..settings import get_settings
from ..tenancy.access import require_access
from .checks import CheckResult, Observation, evaluate, judge_messages, outcome, parse_verdict
from .testsets import TestSetNotFound, conversation_of, latest_version

EXPERIMENT = "experiment"  # the kind of an experiment run's hidden thread
MAX_REPEATS, MAX_CONCURRENCY = 20, 32
DEFAULT_CONCURRENCY = 4
STOP_POLL_S = 0.3  # how often the runner reads the stop flag
RETRY_START_S = 0.5  # a start refused by the rate limit tries again after this

_live: dict[int, threading.Thread] = {}  # experiment id -> its runner thread in this process
_runners: dict[int, "_Runner"] = {}
_live_lock = threading.Lock()


class ExperimentNotFound(NotFound):
    default_message = "That experiment does not exist."


def load_experiment(s, actor_id: int, experiment_id: int, role: str = "viewer") -> Experiment:
    exp = s.get(Experiment, experiment_id) if isinstance(experiment_id, int) else None
    if exp is None:
        raise ExperimentNotFound()
    require_access(s, actor_id, exp.group_id, role)
    return exp


def _bounded(value: Any, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(field_errors={name: f"{name} must be a whole number."}) from None
    if not low <= number <= high:
        raise ValidationError(field_errors={name: f"{name} must be between {low} and {high}."})
    return number


def start_experiment(actor_id: int, group_id: int, test_set_id: int, variant: Variant, *, repeats: int = 1,
                     concurrency: int | None = None, wait: bool = False, case_keys: list[str] | None = None,
                     optimization_id: int | None = None) -> int:
    """Run `variant` over the test set's latest version; returns the experiment id. The
    runner works in a thread of this process (`wait=True`: in the caller's, until done).
    `case_keys` runs only those cases; `optimization_id` marks an optimization's evaluation
    of a candidate (kept off the Experiments list)."""
    repeats = _bounded(repeats, "repeats", 1, MAX_REPEATS)
    concurrency = _bounded(concurrency or DEFAULT_CONCURRENCY, "concurrency", 1, MAX_CONCURRENCY)
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")
        ts = s.get(TestSet, test_set_id) if isinstance(test_set_id, int) else None
        if ts is None or ts.group_id != group_id:
            raise TestSetNotFound()
        version = latest_version(s, ts.id)
        if not version.cases:
            raise ValidationError("This test set has no cases yet.")
        cases = version.cases
        if case_keys is not None:
            wanted = set(case_keys)
            cases = [c for c in version.cases if c["key"] in wanted]
            if len(cases) != len(wanted):
                raise ValidationError(field_errors={"case_keys": "Some of these cases are not in the test set's "
                                                                 "latest version."})
        agent, agent_version, overrides = resolve_in_session(s, group_id, variant)
        edits = f" + edits ({', '.join(sorted(overrides))})" if overrides else ""
        exp = Experiment(group_id=group_id, test_set_id=ts.id, test_set_version_id=version.id, agent_id=agent.id,
                         agent_version_id=agent_version.id, overrides=overrides, repeats=repeats,
                         concurrency=concurrency, total=len(cases) * repeats, created_by=actor_id,
                         case_keys=list(case_keys) if case_keys is not None else None,
                         optimization_id=optimization_id,
                         label=f"{agent.name} v{agent_version.version}{edits}"[:200], worker=WORKER_ID,
                         heartbeat_at=utcnow())
        s.add(exp)
        s.flush()
        events.record(s, "experiment_started", group_id=group_id, actor_id=actor_id, target_type="experiment",
                      target_id=exp.id, data={"test_set_id": ts.id, "test_set_version": version.version,
                                              "agent_id": agent.id, "version": agent_version.version,
                                              "repeats": repeats, "cases": len(cases),
                                              **({"optimization_id": optimization_id} if optimization_id else {})})
        experiment_id = exp.id
    _launch(experiment_id, actor_id, wait)
    return experiment_id


def resume_experiment(actor_id: int, experiment_id: int, *, wait: bool = False) -> int:
    """Carry on an experiment that was stopped or whose process is gone; finished
    (case, repeat) pairs are not run again. Returns how many pairs are left."""
    with session_scope() as s:
        exp = load_experiment(s, actor_id, experiment_id, "editor")
        if exp.status == "complete":
            return 0  # nothing left to run
        if is_alive(exp):
            raise ValidationError("This experiment is still running.")
        done = s.scalar(select(_count()).where(ExperimentResult.experiment_id == exp.id)) or 0
        exp.status, exp.stop_requested, exp.error, exp.finished_at = "running", False, None, None
        exp.worker, exp.heartbeat_at = WORKER_ID, utcnow()
        events.record(s, "experiment_resumed", group_id=exp.group_id, actor_id=actor_id,
                      target_type="experiment", target_id=exp.id, data={"done": done, "total": exp.total})
        left = exp.total - done
    _launch(experiment_id, actor_id, wait)
    return left


def stop_experiment(actor_id: int, experiment_id: int) -> bool:
    """Ask a running experiment to stop (from any page or process); False if not running."""
    with session_scope() as s:
        exp = load_experiment(s, actor_id, experiment_id, "editor")
        if exp.status != "running":
            return False
        exp.stop_requested = True
        events.record(s, "experiment_stop_requested", group_id=exp.group_id, actor_id=actor_id,
                      target_type="experiment", target_id=exp.id)
        if not is_alive(exp):  # nobody runs it: stopped at once
            exp.status, exp.finished_at = "stopped", utcnow()
        return True


def is_alive(exp: Experiment) -> bool:
    """A running experiment whose process still runs it (here, or elsewhere with a fresh heartbeat)."""
    if exp.status != "running":
        return False
    if exp.worker == WORKER_ID:
        with _live_lock:
            thread = _live.get(exp.id)
        return thread is not None and thread.is_alive()
    if worker_is_gone(exp.worker):
        return False
    return exp.heartbeat_at is not None and (utcnow() - exp.heartbeat_at).total_seconds() < STALE_S


def wait_experiment(experiment_id: int, timeout: float | None = None) -> bool:
    """Wait for this process's runner of the experiment; True when it has finished."""
    with _live_lock:
        thread = _live.get(experiment_id)
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


def _count():
    from sqlalchemy import func

    return func.count(ExperimentResult.id)


def _launch(experiment_id: int, actor_id: int, wait: bool) -> None:
    runner = _Runner(experiment_id, actor_id)
    if wait:
        runner.run()
        return
    thread = threading.Thread(target=runner.run, name=f"experiment-{experiment_id}")
    with _live_lock:
        _live[experiment_id], _runners[experiment_id] = thread, runner
    thread.start()


class _Runner:
    def __init__(self, experiment_id: int, actor_id: int):
        self.experiment_id, self.actor_id = experiment_id, actor_id
        self.stop = threading.Event()
        self.abandon = threading.Event()  # tests: behave as if the process died (no final status)
        self.error: str | None = None
        self.in_flight: dict[int, Any] = {}
        self.lock = threading.Lock()

    def run(self) -> None:
        with session_scope() as s:
            exp = s.get(Experiment, self.experiment_id)
            version = s.get(TestSetVersion, exp.test_set_version_id)
            number = s.get(AgentVersion, exp.agent_version_id).version
            self.cases = list(version.cases)
            wanted = set(exp.case_keys) if exp.case_keys is not None else None
            self.group_id, self.repeats = exp.group_id, exp.repeats
            self.variant = Variant(exp.agent_id, number, dict(exp.overrides or {}))
            rpm = s.get(Group, exp.group_id).rpm_limit
            workers = max(1, min(exp.concurrency, rpm or exp.concurrency))
            done = set(s.execute(select(ExperimentResult.case_index, ExperimentResult.repeat)
                                 .where(ExperimentResult.experiment_id == exp.id)).all())
        pairs: queue.Queue = queue.Queue()
        for repeat in range(self.repeats):  # repeat-major: a first pass covers every case early
            for index in range(len(self.cases)):
                if (index, repeat) not in done and (wanted is None or self.cases[index]["key"] in wanted):
                    pairs.put((index, repeat))
        watcher = threading.Thread(target=self._watch, name=f"experiment-{self.experiment_id}-watch", daemon=True)
        watcher.start()
        threads = [threading.Thread(target=self._work, args=(pairs,), name=f"experiment-{self.experiment_id}-{i}")
                   for i in range(min(workers, max(1, pairs.qsize())))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.abandon.is_set():
            return
        self.stop.set()  # ends the watcher
        with session_scope() as s:
            exp = s.get(Experiment, self.experiment_id)
            stopped = exp.stop_requested or self.error is not None
            exp.status = "stopped" if stopped else "complete"
            exp.error, exp.finished_at = self.error, utcnow()
            events.record(s, f"experiment_{exp.status}", group_id=exp.group_id, actor_id=self.actor_id,
                          target_type="experiment", target_id=exp.id, data={"error": self.error} if self.error else {})

    def _watch(self) -> None:
        """Heartbeat, and the stop flag from the database (another page or process)."""
        last_beat = time.monotonic()
        while not self.stop.wait(STOP_POLL_S) and not self.abandon.is_set():
            try:
                with session_scope() as s:
                    if time.monotonic() - last_beat >= HEARTBEAT_S:
                        s.execute(update(Experiment).where(Experiment.id == self.experiment_id)
                                  .values(heartbeat_at=utcnow()))
                        last_beat = time.monotonic()
                    flagged = s.scalar(select(Experiment.stop_requested).where(Experiment.id == self.experiment_id))
            except Exception:  # noqa: BLE001 - the database may be away for a moment; next time
                continue
            if flagged:
                self._halt()
                return

    def _halt(self, error: str | None = None) -> None:
        if error and self.error is None:
            self.error = error
        self.stop.set()
        with self.lock:
            for handle in self.in_flight.values():
                handle.cancel()

    def _work(self, pairs: queue.Queue) -> None:
        while not self.stop.is_set() and not self.abandon.is_set():
            try:
                index, repeat = pairs.get_nowait()
            except queue.Empty:
                return
            try:
                self._run_pair(index, repeat)
            except Exception as err:  # noqa: BLE001 - one case's bug must not stop the others silently
                self._halt(f"Case {index + 1} could not be run: {getattr(err, 'user_message', err)}")

    def _start(self, conversation):
        """Start the run, waiting out rate-limit refusals; None when stopped meanwhile."""
        while not self.stop.is_set():
            try:
                return start_variant(self.actor_id, self.group_id, self.variant, conversation, kind=EXPERIMENT)
            except RateLimitExceeded:
                self.stop.wait(RETRY_START_S)
            except BudgetExceeded as err:
                self._halt(err.user_message)
        return None

    def _run_pair(self, index: int, repeat: int) -> None:
        case = self.cases[index]
        conversation = conversation_of(case)
        handle = self._start(conversation)
        if handle is None:
            return
        with self.lock:
            self.in_flight[handle.run_id] = handle
        try:
            handle.wait(get_settings().provider_timeout_s * 20 + 600)
        finally:
            with self.lock:
                self.in_flight.pop(handle.run_id, None)
        if self.stop.is_set() and handle.status == "cancelled":
            return  # stopped mid-run: left for a resume to run again, not recorded
        with session_scope() as s:
            result = result_in_session(s, handle.run_id)
            calls = tool_calls_of_run(s, handle.run_id)
        obs = Observation(reply=result.reply, conversation=conversation, expected=case.get("expected"),
                          tool_calls=calls, cost_usd=result.cost_usd,
                          latency_s=None if result.duration_ms is None else result.duration_ms / 1000)
        if result.status == "complete":
            checks = evaluate(case.get("checks") or [], obs, judge=self._judge(result.thread_id))
        else:
            checks = [CheckResult("run", "fail", f"the run ended {result.status}: {result.error or 'no reply'}")]
        with session_scope() as s:
            s.add(ExperimentResult(
                experiment_id=self.experiment_id, group_id=self.group_id, case_index=index,
                case_key=case["key"], repeat=repeat, run_id=result.run_id, thread_id=result.thread_id,
                run_status=result.status, outcome=outcome(checks), reply=result.reply,
                checks=[c.as_dict() for c in checks], input_tokens=result.input_tokens,
                output_tokens=result.output_tokens, cost_usd=result.cost_usd, latency_ms=result.duration_ms))
            try:
                s.flush()
            except IntegrityError:  # another runner of the same experiment got there first
                s.rollback()

    def _judge(self, thread_id: int | None):
        """The LLM judge: the rubric to a provider of the group (the agent's unless the check
        names one) through the normal provider layer; its call is priced and counted."""
        def judge(spec: dict[str, Any], obs: Observation) -> tuple[bool, str]:
            with session_scope() as s:
                version = s.get(AgentVersion, s.get(Experiment, self.experiment_id).agent_version_id)
                own = {**version.config, **self.variant.overrides}
                record = provider_for(s, self.group_id, int(spec.get("provider_id") or own["provider_id"]))
                cfg = config_from_record(record)
                model = spec.get("model") or (own.get("model") if record.id == own["provider_id"] else None) \
                    or cfg.default_model or own.get("model")
                pricing_key = record.preset or record.kind
            settings = get_settings()
            cfg.timeout_s = settings.provider_timeout_s
            provider = build_provider(cfg, backoff_base_s=settings.retry_backoff_s)
            request = ChatRequest(model=model, messages=judge_messages(spec, obs), temperature=0, max_tokens=200)
            response = next(e.response for e in provider.stream_chat(request) if isinstance(e, Completed))
            with session_scope() as s:
                record_model_call(s, group_id=self.group_id, provider=pricing_key, model=response.model or model,
                                  usage=response.usage, duration_ms=response.duration_ms, ttft_ms=response.ttft_ms,
                                  agent_id=self.variant.agent_id, thread_id=thread_id, person_id=self.actor_id)
            return parse_verdict(response.content)
        return judge


def tool_calls_of_run(s, run_id: int | None) -> list[dict[str, Any]]:
    """Every tool call the run's model calls asked for, arguments parsed."""
    if run_id is None:
        return []
    rows = s.scalars(select(Message.tool_calls).where(Message.run_id == run_id, Message.role == "assistant")).all()
    out = []
    for calls in rows:
        for c in calls or []:
            try:
                args = json.loads(c.get("arguments") or "{}")
            except ValueError:
                args = {}
            out.append({"name": c.get("name"), "arguments": args if isinstance(args, dict) else {}})
    return out
