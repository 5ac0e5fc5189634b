"""The live side of runs: the process-wide manager that owns the worker threads, and the
handle through which the page (or a script) follows one run's updates. A run belongs to
the process, not to the page script that started it, so a rerun, leaving the page or a
second tab does not kill it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

TERMINAL = ("complete", "failed", "cancelled", "interrupted")


@dataclass
class RunUpdate:
    """One item of a run's live feed. kind: text | reset | message_start | tool_start |
    tool_end | done."""

    kind: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class RunHandle:
    """The live side of a run, held by the process-wide RunManager."""

    def __init__(self, run_id: int, thread_id: int, group_id: int):
        self.run_id, self.thread_id, self.group_id = run_id, thread_id, group_id
        self.cancel_event = threading.Event()
        self.done = threading.Event()
        self.status: str = "running"
        self.error: str | None = None
        self.reply_text = ""  # text of the final assistant message, as streamed
        self._updates: queue.Queue[RunUpdate] = queue.Queue()

    def emit(self, update: RunUpdate) -> None:
        self._updates.put(update)

    def cancel(self) -> None:
        self.cancel_event.set()

    def updates(self, timeout: float | None = None) -> Iterator[RunUpdate]:
        """Every update until the run ends (the last one has kind "done")."""
        while True:
            try:
                item = self._updates.get(timeout=timeout)
            except queue.Empty:
                return
            yield item
            if item.kind == "done":
                return

    def text_stream(self) -> Iterator[str]:
        """Only the reply's text, for st.write_stream or a terminal."""
        for item in self.updates():
            if item.kind == "text":
                yield item.text

    def wait(self, timeout: float | None = None) -> "RunResult":
        self.done.wait(timeout)
        return RunResult(run_id=self.run_id, thread_id=self.thread_id, status=self.status,
                         reply=self.reply_text, error=self.error)


@dataclass
class RunResult:
    run_id: int
    thread_id: int
    status: str
    reply: str
    error: str | None


class RunManager:
    """Owns the worker threads and the live handles of this process."""

    def __init__(self, workers: int = 4):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="run")
        self._active: dict[int, RunHandle] = {}
        self._lock = threading.Lock()

    def submit(self, handle: RunHandle, job) -> None:
        with self._lock:
            self._active[handle.run_id] = handle
        self._pool.submit(self._run, handle, job)

    def _run(self, handle: RunHandle, job) -> None:
        try:
            job(handle)
        except Exception as exc:  # noqa: BLE001 - the loop records its own failures; this is the last guard
            handle.status, handle.error = "failed", f"The run could not be finished: {exc}"
        finally:
            # Leave the active list before "done" goes out, so whoever reacts to "done"
            # can start the next run at once.
            with self._lock:
                self._active.pop(handle.run_id, None)
            handle.emit(RunUpdate("done", data={"status": handle.status, "error": handle.error}))
            handle.done.set()

    def get(self, run_id: int) -> RunHandle | None:
        with self._lock:
            return self._active.get(run_id)

    def for_thread(self, thread_id: int) -> RunHandle | None:
        with self._lock:
            return next((h for h in self._active.values() if h.thread_id == thread_id), None)

    def active_ids(self) -> set[int]:
        with self._lock:
            return set(self._active)


MANAGER = RunManager()
