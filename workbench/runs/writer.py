"""The process's run writer: one thread that commits what runs write while they stream and
as they end, many runs in one transaction.

A run thread hands its writes over (`WRITER.run(job)`) and waits until they are committed;
the writer runs every job that arrived meanwhile in one transaction and commits once. With a
thousand runs streaming, that is a few transactions a second instead of thousands, one
database connection instead of one per run, and no queue of threads at SQLite's write lock
(whose busy handler polls in sleeps, and lets a thread that hands it a long wait fall behind
the others). An idle writer takes a job at once, so a lone run waits for nothing. Every flush
interval the writer also saves the text of every streaming reply it watches, in the same way.

A job is a function of the session that runs statements and returns a value. If the batch
fails, each of its jobs runs again alone, so one run's bad write fails that run only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from ..db import session_scope
from ..settings import get_settings

T = TypeVar("T")
IDLE_EXIT_S = 5.0  # an idle writer thread ends; the next job starts a new one


class Streaming(Protocol):
    """A streaming reply the writer saves every flush interval while it is watched."""

    def pending_row(self) -> dict | None:
        """The row to write now (for the writer's `save_rows`), or None: nothing new."""

    def mark_saved(self, row: dict) -> None:
        """The row was committed."""


class RunWriter:
    def __init__(self, save_rows: Callable[[Session, list[dict]], None]):
        self._cond = threading.Condition()
        self._jobs: list[tuple[Callable[[Session], Any], Future]] = []
        self._streaming: dict[Streaming, None] = {}  # insertion-ordered set
        self._save_rows = save_rows
        self._thread: threading.Thread | None = None

    # --- what run threads call ------------------------------------------------------

    def run(self, job: Callable[[Session], T]) -> T:
        """Run `job(session)` in the writer's next transaction and return its value once
        committed (or raise its error)."""
        if threading.current_thread() is self._thread:  # a job's own write: no waiting on itself
            with session_scope() as s:
                return job(s)
        done: Future = Future()
        with self._cond:
            self._jobs.append((job, done))
            self._ensure_thread()
            self._cond.notify()
        return done.result()

    def watch(self, reply: Streaming) -> None:
        with self._cond:
            self._streaming[reply] = None
            self._ensure_thread()
            self._cond.notify()  # an idle writer sleeps long: from now on it saves every interval

    def unwatch(self, reply: Streaming) -> None:
        with self._cond:
            self._streaming.pop(reply, None)

    # --- the writer thread ----------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._write_forever, name="run-writer", daemon=True)
            self._thread.start()

    def _write_forever(self) -> None:
        next_save = time.monotonic()
        idle_since = time.monotonic()
        while True:
            with self._cond:
                while not self._jobs:
                    now = time.monotonic()
                    if self._streaming and now >= next_save:
                        break
                    if not self._streaming and now - idle_since > IDLE_EXIT_S:
                        self._thread = None  # the next job or watch starts a new one
                        return
                    self._cond.wait(max(0.001, next_save - now) if self._streaming else IDLE_EXIT_S)
                jobs, self._jobs = self._jobs, []
                streaming = list(self._streaming) if time.monotonic() >= next_save else []
            if streaming:
                next_save = time.monotonic() + max(get_settings().run_flush_interval_s, 0.005)
            self._write(jobs, streaming)
            idle_since = time.monotonic()

    def _write(self, jobs: list, streaming: list[Streaming]) -> None:
        rows = [(reply, row) for reply in streaming if (row := reply.pending_row()) is not None]
        results: list = []
        try:
            with session_scope() as s:
                for job, _ in jobs:
                    results.append(job(s))
                if rows:
                    self._save_rows(s, [row for _, row in rows])
        except Exception:  # noqa: BLE001 - one bad job must not fail the others: each alone
            self._write_alone(jobs)
            return  # the streaming texts are saved next time
        for (_, done), result in zip(jobs, results):
            done.set_result(result)
        for reply, row in rows:
            reply.mark_saved(row)

    @staticmethod
    def _write_alone(jobs: list) -> None:
        for job, done in jobs:
            try:
                with session_scope() as s:
                    result = job(s)
            except BaseException as exc:  # noqa: BLE001 - handed to the run that asked
                done.set_exception(exc)
            else:
                done.set_result(result)
