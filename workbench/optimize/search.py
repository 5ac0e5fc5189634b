"""The search, run by `gepa` (reflective prompt evolution, arXiv 2507.19457): our adapter
evaluates each candidate as an experiment over a batch of the test set's cases (ordinary runs:
the agent's tools and knowledge really run, traced, priced, under the group's budget) and hands
the reflection model each case's input, reply, tool calls and every check's verdict and reason.
The reflection model is called as a run too (a hidden thread of kind `optimization`). The
search itself (candidate selection, the Pareto front, acceptance) is gepa's.

gepa checkpoints its state to a folder after every iteration; the state is also kept in the
optimization's row, so a resume on another process or host continues from the candidates
already scored."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

import gepa
from gepa.core.adapter import EvaluationBatch
from gepa.core.state import GEPAState
from sqlalchemy import select, update

from .. import events
from ..db import session_scope
from ..errors import WorkbenchError
from ..experiments.runner import start_experiment, tool_calls_of_run
from ..experiments.testsets import conversation_of
from ..models import (AgentVersion, Experiment, ExperimentResult, Optimization, OptimizationCandidate,
                      TestSetVersion, utcnow)
from ..playground.variants import Variant, result_in_session, start_variant
from ..runs.workers import HEARTBEAT_S, WORKER_ID
from ..settings import get_settings

OPTIMIZATION = "optimization"  # the kind of a reflection run's hidden thread
PROMPT = "system_prompt"
REFLECTOR = ("You improve the instructions (the system prompt) of an AI agent from the cases it got wrong. "
             "Do exactly what the request asks and answer in the format it asks for.")
REFLECTION_MAX_TOKENS = 800
PERFECT = 1.0  # a case's score when every check passes
# gepa counts the results we read back (not run again) as evaluations too; the budget of runs
# is ours to enforce exactly, so gepa's own count only bounds iterations that run nothing.
GEPA_COUNT_FACTOR = 3
MIN_REFLECTIONS = 3

log = logging.getLogger(__name__)
_running: dict[int, threading.Thread] = {}  # optimization id -> its thread in this process
_lock = threading.Lock()


class StopSearch(Exception):
    """Raised from inside gepa to end the search now: stopped, or the budget is spent."""


class ReflectionFailed(WorkbenchError):
    """The reflection model could not be called: gepa would go on evaluating without new
    candidates, spending the budget for nothing, so the search ends with this error."""


def run_dir(optimization_id: int) -> Path:
    return get_settings().data_dir / "optimizations" / str(optimization_id)


def case_score(checks: list[dict[str, Any]], run_status: str) -> float:
    """The fraction of the case's checks that passed (a failed run scores 0): a case
    passes (1.0) when every check does, and partial progress still counts."""
    if run_status != "complete" or not checks:
        return 1.0 if run_status == "complete" and not checks else 0.0
    return sum(1 for c in checks if c.get("status") == "pass") / len(checks)


class WorkbenchAdapter:
    """gepa's GEPAAdapter over the experiment runner. DataInst: a test case (dict)."""

    propose_new_texts = None  # gepa's own proposer, with `reflect` as its language model

    def __init__(self, optimization_id: int, actor_id: int):
        self.optimization_id, self.actor_id = optimization_id, actor_id
        with session_scope() as s:
            opt = s.get(Optimization, optimization_id)
            self.group_id, self.test_set_id, self.budget = opt.group_id, opt.test_set_id, opt.budget
            self.agent_id = opt.agent_id
            self.version = s.get(AgentVersion, opt.agent_version_id)
            self.start_prompt = self.version.config.get(PROMPT) or ""
            self.reflection = {k: v for k, v in (("provider_id", opt.reflection_provider_id),
                                                 ("model", opt.reflection_model)) if v}
        self.reflection_error: str | None = None
        self.reflections = 0  # reflection runs made by this process's search

    # --- gepa's three duties ------------------------------------------------------------

    def evaluate(self, batch: list[dict], candidate: dict[str, str], capture_traces: bool = False) -> EvaluationBatch:
        """The candidate's score on each case of the batch. A (candidate, case) this
        optimization has already run is read back, not run again: gepa evaluates the
        starting prompt afresh when it resumes, and later epochs repeat minibatches."""
        if self.reflection_error:
            raise ReflectionFailed(self.reflection_error)
        prompt = candidate[PROMPT]
        rows = self._stored(prompt, [case["key"] for case in batch])
        # gepa may draw a case twice into one minibatch (fewer cases than its size): run it once
        missing = list(dict.fromkeys(case["key"] for case in batch if case["key"] not in rows))
        if missing:
            rows.update(self._run(prompt, missing))
        with session_scope() as s:
            calls = {key: tool_calls_of_run(s, r.run_id) for key, r in rows.items()}
        outputs, scores, trajectories = [], [], []
        for case in batch:
            row = rows[case["key"]]
            score = case_score(list(row.checks or []), row.run_status)
            outputs.append({"reply": row.reply, "run_id": row.run_id})
            scores.append(score)
            trajectories.append({"input": case["input"], "expected": case.get("expected"), "reply": row.reply,
                                 "tool_calls": calls[case["key"]], "checks": list(row.checks or []),
                                 "run_status": row.run_status, "run_id": row.run_id, "score": score})
        return EvaluationBatch(outputs=outputs, scores=scores, trajectories=trajectories if capture_traces else None)

    def _stored(self, prompt: str, keys: list[str]) -> dict[str, ExperimentResult]:
        """Results this optimization already has for the prompt on these cases, newest kept."""
        with session_scope() as s:
            found = s.execute(select(ExperimentResult, Experiment.overrides)
                              .join(Experiment, Experiment.id == ExperimentResult.experiment_id)
                              .where(Experiment.optimization_id == self.optimization_id,
                                     ExperimentResult.case_key.in_(keys))
                              .order_by(ExperimentResult.id)).all()
            return {row.case_key: row for row, overrides in found
                    if (overrides or {}).get(PROMPT, self.start_prompt) == prompt}

    def _run(self, prompt: str, keys: list[str]) -> dict[str, ExperimentResult]:
        """The prompt over these cases as one experiment; each case is one run of the budget."""
        with session_scope() as s:
            opt = s.get(Optimization, self.optimization_id)
            if opt.stop_requested:
                raise StopSearch("stopped")
            if opt.evaluations + len(keys) > opt.budget:
                raise StopSearch("budget")
        overrides = {} if prompt == self.start_prompt else {PROMPT: prompt}
        experiment_id = start_experiment(
            self.actor_id, self.group_id, self.test_set_id, Variant(self.agent_id, self.version.version, overrides),
            wait=True, case_keys=keys, optimization_id=self.optimization_id)
        with session_scope() as s:
            rows = {r.case_key: r for r in s.scalars(select(ExperimentResult).where(
                ExperimentResult.experiment_id == experiment_id))}
            stopped = s.get(Experiment, experiment_id).status != "complete"
            s.execute(update(Optimization).where(Optimization.id == self.optimization_id)
                      .values(evaluations=Optimization.evaluations + len(rows), heartbeat_at=utcnow()))
        if stopped or len(rows) < len(keys):  # the experiment was stopped (or refused by the budget)
            raise StopSearch("stopped")
        return rows

    def make_reflective_dataset(self, candidate: dict[str, str], eval_batch: EvaluationBatch,
                                components_to_update: list[str]) -> dict[str, list[dict[str, Any]]]:
        records = []
        for t in eval_batch.trajectories or []:
            verdicts = "; ".join(f"{c.get('name')}: {c.get('status')} ({c.get('reason')})" for c in t["checks"])
            feedback = ("Passed every check." if t["score"] >= 1.0 else
                        f"Failed ({t['score']:.0%} of checks passed). {verdicts or 'The run ended ' + t['run_status']}.")
            if t.get("expected"):
                feedback += f" Expected answer: {t['expected']}"
            records.append({"Inputs": {"conversation": t["input"]},
                            "Generated Outputs": {"reply": t["reply"], "tool calls": json.dumps(t["tool_calls"])},
                            "Feedback": feedback})
        return {name: records for name in components_to_update}

    def reflect(self, prompt: str | list[dict[str, Any]]) -> str:
        """gepa's reflection model: one call of the chosen provider and model, as a traced,
        priced run on a hidden thread of kind `optimization`."""
        text = prompt if isinstance(prompt, str) else "\n\n".join(str(m.get("content", "")) for m in prompt)
        overrides = {PROMPT: REFLECTOR, "tools": [], **self.reflection}
        if int(self.version.config.get("max_output_tokens") or 0) < REFLECTION_MAX_TOKENS:
            overrides["max_output_tokens"] = REFLECTION_MAX_TOKENS
        self.reflections += 1
        handle = start_variant(self.actor_id, self.group_id, Variant(self.agent_id, self.version.version, overrides),
                               [{"role": "user", "content": text}], single_call=True, kind=OPTIMIZATION)
        handle.wait(get_settings().provider_timeout_s * 4 + 60)
        with session_scope() as s:
            result = result_in_session(s, handle.run_id)
        if result.status != "complete":
            self.reflection_error = (f"The reflection model's run ended {result.status}: {result.error or 'no reply'} "
                                     f"(run {result.run_id}).")
            raise ReflectionFailed(self.reflection_error)
        self.reflection_error = None
        return result.reply


# --- driving gepa ------------------------------------------------------------------------

class _QuietLogger:
    """gepa's log lines go to our log at debug level (gepa prints them by default); the page
    and the CLI read progress from the database."""

    def log(self, message: str) -> None:
        log.debug("gepa: %s", message)


class _Checkpoint:
    """Called by gepa before each iteration: keeps the candidates, the best one and gepa's
    checkpoint in the database, and says whether to stop: asked to, the budget's runs spent,
    or a candidate already perfect on every validation case."""

    def __init__(self, optimization_id: int, folder: Path, adapter: "WorkbenchAdapter"):
        self.optimization_id, self.folder, self.adapter = optimization_id, folder, adapter

    def __call__(self, state: GEPAState) -> bool:
        with session_scope() as s:
            opt = s.get(Optimization, self.optimization_id)
            record_state(s, opt, state, self.folder)
            # Reflections are runs too, outside the budget of case runs: bounded by it all the
            # same, should gepa keep proposing texts it has already scored.
            too_many = self.adapter.reflections >= max(MIN_REFLECTIONS, opt.budget // 3)
            return bool(opt.stop_requested or opt.evaluations >= opt.budget or too_many
                        or (opt.best_score is not None and opt.best_score >= PERFECT))


def record_state(s, opt: Optimization, state: GEPAState | None, folder: Path) -> None:
    """The candidates gepa has scored on the validation cases, the best one, and its
    checkpoint file, into the optimization's rows."""
    checkpoint = folder / "gepa_state.bin"
    if checkpoint.exists():
        blob = checkpoint.read_bytes()
        if blob != opt.state:
            opt.state = blob
    if state is None:
        return
    start_prompt = s.get(AgentVersion, opt.agent_version_id).config.get(PROMPT) or ""
    experiments: dict[str, list[int]] = {}
    for exp_id, overrides in s.execute(select(Experiment.id, Experiment.overrides)
                                       .where(Experiment.optimization_id == opt.id).order_by(Experiment.id)):
        experiments.setdefault((overrides or {}).get(PROMPT, start_prompt), []).append(exp_id)
    stored = {c.index: c for c in s.scalars(select(OptimizationCandidate)
                                            .where(OptimizationCandidate.optimization_id == opt.id))}
    best = None
    for index, texts in enumerate(state.program_candidates):
        by_val = state.prog_candidate_val_subscores[index]
        scores = {opt.val_keys[int(i)]: float(v) for i, v in by_val.items() if int(i) < len(opt.val_keys)}
        score = sum(scores.values()) / len(opt.val_keys) if opt.val_keys else None
        row = stored.get(index)
        if row is None:
            row = OptimizationCandidate(optimization_id=opt.id, group_id=opt.group_id, index=index)
            s.add(row)
        row.parents = [p for p in state.parent_program_for_candidate[index] if p is not None]
        row.texts, row.scores, row.score = dict(texts), scores, score
        row.experiment_ids = experiments.get(texts.get(PROMPT, ""), [])
        if score is not None and (best is None or score > best[1]):
            best = (index, score)
    if best is not None:
        opt.best_candidate, opt.best_score = best
    first = state.prog_candidate_val_subscores[0] if state.prog_candidate_val_subscores else {}
    if first and opt.val_keys:
        opt.start_score = sum(float(v) for v in first.values()) / len(opt.val_keys)


def _beat(optimization_id: int, done: threading.Event) -> None:
    while not done.wait(HEARTBEAT_S):
        try:
            with session_scope() as s:
                s.execute(update(Optimization).where(Optimization.id == optimization_id)
                          .values(heartbeat_at=utcnow()))
        except Exception:  # noqa: BLE001 - a missed beat is retried
            log.debug("optimization %s: a heartbeat failed; retrying", optimization_id, exc_info=True)


def run_search(optimization_id: int, actor_id: int) -> None:
    """Run (or carry on) the optimization's search until it finishes, is stopped, spends its
    budget or fails; the outcome is its status."""
    adapter = WorkbenchAdapter(optimization_id, actor_id)
    folder = run_dir(optimization_id)
    with session_scope() as s:
        opt = s.get(Optimization, optimization_id)
        cases = {c["key"]: c for c in s.get(TestSetVersion, opt.test_set_version_id).cases}
        train, val = [cases[k] for k in opt.train_keys], [cases[k] for k in opt.val_keys]
        budget, seed, blob = opt.budget, opt.seed, opt.state
    folder.mkdir(parents=True, exist_ok=True)
    if blob and not (folder / "gepa_state.bin").exists():  # resumed on another process or host
        (folder / "gepa_state.bin").write_bytes(blob)
    done = threading.Event()
    threading.Thread(target=_beat, args=(optimization_id, done), daemon=True, name=f"optimization-{optimization_id}-beat").start()
    status, error, state = "finished", None, None
    try:
        result = gepa.optimize(
            seed_candidate={PROMPT: adapter.start_prompt}, trainset=train, valset=val, adapter=adapter,
            reflection_lm=adapter.reflect, max_metric_calls=budget * GEPA_COUNT_FACTOR, stop_callbacks=[_Checkpoint(optimization_id, folder, adapter)],
            run_dir=str(folder), seed=seed, logger=_QuietLogger(), track_best_outputs=False,
            display_progress_bar=False, raise_on_exception=True)
        del result  # everything it says is in the saved state
    except StopSearch as stop:
        status = "finished" if str(stop) == "budget" else "stopped"
    except Exception as err:  # noqa: BLE001 - recorded on the optimization, shown on the page
        status, error = "failed", getattr(err, "user_message", None) or f"{type(err).__name__}: {err}"
    finally:
        done.set()
    if (folder / "gepa_state.bin").exists():
        state = GEPAState.load(str(folder))
    with session_scope() as s:
        opt = s.get(Optimization, optimization_id)
        record_state(s, opt, state, folder)
        if status == "finished" and opt.stop_requested:
            status = "stopped"
        opt.status, opt.error, opt.finished_at = status, error, utcnow()
        events.record(s, f"optimization_{status}", group_id=opt.group_id, actor_id=actor_id,
                      target_type="optimization", target_id=opt.id,
                      data={"evaluations": opt.evaluations, "best_score": opt.best_score,
                            "start_score": opt.start_score, **({"error": error} if error else {})})
    if status == "finished":
        shutil.rmtree(folder, ignore_errors=True)  # the state is in the database


def launch(optimization_id: int, actor_id: int, wait: bool) -> None:
    if wait:
        run_search(optimization_id, actor_id)
        return
    thread = threading.Thread(target=run_search, args=(optimization_id, actor_id), name=f"optimization-{optimization_id}")
    with _lock:
        _running[optimization_id] = thread
    thread.start()


def running_here(optimization_id: int) -> bool:
    with _lock:
        thread = _running.get(optimization_id)
    return thread is not None and thread.is_alive()


def wait_search(optimization_id: int, timeout: float | None = None) -> bool:
    with _lock:
        thread = _running.get(optimization_id)
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


def this_worker() -> str:
    return WORKER_ID
