"""Runs: a user message starts a run in a worker the process owns; the loop calls the model,
runs tools until it answers or hits the step limit, streams deltas to the caller and saves the
growing reply; every model call and tool call is a step of the run's trace.

    lifecycle   create_thread (with a first message), continue_thread, retry_last, cancel_run,
                active_handle (a live run's stream in this process), recover_interrupted_runs;
                for playground and experiments: admit_run, open_run, launch
    workers     MANAGER (lanes, the process's worker threads, heartbeats, the stale sweep),
                RunHandle (text_stream(), updates(), wait()), RunResult, RunTotals
    plan        a run's plan (agent version, provider, tools) and the first call's request
    context     the conversation window sent to the model
    loop        execute: model call, tool steps, retries, the end of a run
    writer      WRITER: one thread commits the writes of many runs in one transaction
    tool_steps  one tool call as a traced step

May use: agents, threads, tools, costs (usage, limits), providers, tenancy, the core.
Modules, arrows down: lifecycle -> loop -> (plan, tool_steps, writer) -> (context, workers)."""

from .lifecycle import (active_handle, cancel_run, continue_thread, create_thread, recover_interrupted_runs,
                        retry_last)
from .workers import MANAGER, TERMINAL, RunHandle, RunResult, RunTotals

__all__ = ["active_handle", "cancel_run", "continue_thread", "create_thread", "recover_interrupted_runs",
           "retry_last", "MANAGER", "TERMINAL", "RunHandle", "RunResult", "RunTotals"]
