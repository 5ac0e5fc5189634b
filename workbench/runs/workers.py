"""The live side of runs: the process-wide manager that owns the worker threads, and the
handle through which the page (or a script) follows one run's updates. A run belongs to
the process, not to the page script that started it, so a rerun, leaving the page or a
second tab does not kill it.

Concurrency: every run gets its own thread at once (remote model calls are I/O-bound, so a
thread waiting on a socket costs little). What bounds them is a lane per kind of model:
`remote` (settings.max_concurrent_runs, default high enough that 64 streams never queue)
and `local` (the built-in model's parallel slots). A run that finds its lane full waits
in arrival order, tells its followers "queued, N ahead", and its trace gets a `queue` step
so queue time stands apart from model time. Budgets and rate limits are checked before."""

from __future__ import annotations

import asyncio
import os
import queue
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from ..db import session_scope
from ..models import Run, utcnow
from ..settings import get_settings

TERMINAL = ("complete", "failed", "cancelled", "interrupted")
FEED_PACE_S = 0.01  # a reader of a run's feed wakes at most this often while text streams


@dataclass
class RunUpdate:
    """One item of a run's live feed. kind: queued | text | reset | message_start |
    tool_start | tool_end | done. A `queued` update says how many runs wait ahead."""

    kind: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunTotals:
    """A finished run's usage and price over all its model calls."""

    input_tokens: int
    output_tokens: int
    cost_usd: float
    steps: int


class RunHandle:
    """The live side of a run, held by the process-wide RunManager."""

    def __init__(self, run_id: int | None, thread_id: int, group_id: int):
        self.run_id, self.thread_id, self.group_id = run_id, thread_id, group_id
        # Set once the run's rows are committed. A reply's first call may be sent before:
        # until then the worker streams but writes nothing, and an abort drops it.
        self.opened = threading.Event()
        self.aborted = False
        self.first_call_ids: tuple[int, int] | None = None  # (step id, reply id), early sends
        if run_id is not None:
            self.opened.set()
        self.cancel_event = threading.Event()
        self.done = threading.Event()
        self.status: str = "running"
        self.error: str | None = None
        self.reply_text = ""  # text of the final assistant message, as streamed
        self.totals: RunTotals | None = None  # set as the run ends (as recorded)
        self.lane: str | None = None  # the lane whose slot this run holds, once admitted
        self.prepared: Any = None  # the runtime's plan and first call, made ready at opening
        self.queued_ahead: int | None = None  # while waiting for a slot: runs ahead of it
        self._updates: queue.Queue[RunUpdate] = queue.Queue()
        self._waker: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None  # an asyncio reader's
        self._wake_pending = False

    def open(self, run_id: int, first_call_ids: tuple[int, int] | None = None) -> None:
        self.run_id, self.first_call_ids = run_id, first_call_ids
        self.opened.set()

    def abort(self) -> None:
        """The transaction that was to open the run failed: stop, and write nothing."""
        self.aborted = True
        self.cancel_event.set()
        self.opened.set()

    def wait_opened(self) -> bool:
        """Block until the run's rows exist; False when the opening was aborted."""
        self.opened.wait()
        return not self.aborted

    def emit(self, update: RunUpdate) -> None:
        self._updates.put(update)
        waker = self._waker
        if waker is not None and not self._wake_pending:
            self._wake_pending = True  # one wake-up per batch, not one per token
            try:
                waker[0].call_soon_threadsafe(waker[1].set)
            except RuntimeError:  # the reader's loop is closed: nobody is listening
                pass

    def cancel(self) -> None:
        self.cancel_event.set()

    def updates(self, timeout: float | None = None) -> Iterator[RunUpdate]:
        """Every update until the run ends (the last one has kind "done"). Text that arrived
        while the reader was busy comes as one update: a reader that wakes per delta would
        cost the stream a thread switch per token."""
        while True:
            try:
                items = [self._updates.get(timeout=timeout)]
            except queue.Empty:
                return
            while True:
                try:
                    items.append(self._updates.get_nowait())
                except queue.Empty:
                    break
            for item in _merge_text(items):
                yield item
                if item.kind == "done":
                    return
            if items[-1].kind == "text":
                # Let text pile up a moment before the next wake-up: no eye sees 10 ms, and
                # the stream's thread is not interrupted by a reader at every token.
                time.sleep(FEED_PACE_S)

    async def aupdates(self) -> AsyncIterator[RunUpdate]:
        """`updates` for an asyncio reader (the API server): it waits on the event loop, not
        in a thread of its own, so a thousand streams cost no thousand threads. As in
        `updates`, text wakes it at most every FEED_PACE_S; a wake-up later than that (a
        model sending a token every 50 ms) is not delayed, and costs no timer."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        self._waker = (loop, wake)
        last_text = -FEED_PACE_S  # loop time when text was last handed on
        while True:
            # Reset before looking: whatever is put after this wakes us again.
            self._wake_pending = False
            wake.clear()
            if self._updates.empty():
                await wake.wait()
            early = last_text + FEED_PACE_S - loop.time()
            if early > 0:
                await asyncio.sleep(early)  # let text pile up for the rest of the moment
            items = []
            while True:
                try:
                    items.append(self._updates.get_nowait())
                except queue.Empty:
                    break
            for item in _merge_text(items):
                yield item
                if item.kind == "done":
                    return
            if items and items[-1].kind == "text":
                last_text = loop.time()

    def text_stream(self) -> Iterator[str]:
        """Only the reply's text, for st.write_stream or a terminal."""
        for item in self.updates():
            if item.kind == "text":
                yield item.text

    def wait(self, timeout: float | None = None) -> "RunResult":
        self.done.wait(timeout)
        return RunResult(run_id=self.run_id, thread_id=self.thread_id, status=self.status,
                         reply=self.reply_text, error=self.error)


def _merge_text(items: list[RunUpdate]) -> list[RunUpdate]:
    """Consecutive text updates as one (joined once, not concatenated pairwise)."""
    merged: list[RunUpdate] = []
    for is_text, run in groupby(items, key=lambda item: item.kind == "text"):
        merged.extend([RunUpdate("text", text="".join(i.text for i in run))] if is_text else run)
    return merged


@dataclass
class RunResult:
    run_id: int
    thread_id: int
    status: str
    reply: str
    error: str | None


# Who runs a run: this process, unique even when a pid is reused after a restart.
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
RUN_THREADS_MAX = 100_000  # threads are made only as runs need them; the lanes bound runs
HEARTBEAT_S = 5.0  # how often live runs say they are alive
STALE_S = 60.0  # a run silent this long belongs to a process that is gone


def worker_is_gone(worker: str | None) -> bool:
    """True when the process named by `worker` surely no longer runs: it is this process
    (whose live runs the caller excludes), or a pid on this host that no longer exists.
    A process on another host is judged by its heartbeat instead."""
    if not worker:
        return True
    if worker == WORKER_ID:
        return True
    host, _, rest = worker.partition(":")
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(rest.split(":")[0]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False  # the pid lives (perhaps reused): the heartbeat decides


class QueueCancelled(Exception):
    """The run was stopped while it waited for a slot; the model was never called."""


def _lane_limit(lane: str) -> int:
    cfg = get_settings()
    return max(1, cfg.local_model_slots if lane == "local" else cfg.max_concurrent_runs)


class Lanes:
    """At most `limit(lane)` runs hold a slot of a lane at once; the others wait, served in
    the order they arrived."""

    def __init__(self, limit: Callable[[str], int] = _lane_limit):
        self._limit = limit
        self._cond = threading.Condition()
        self._holding: dict[str, int] = {}
        self._waiting: dict[str, deque[RunHandle]] = {}

    def acquire(self, handle: RunHandle, lane: str) -> float:
        """Wait for a slot of `lane`; returns the seconds waited in line, 0.0 when a slot was
        free (a moment spent on the lock itself is no queue). Raises QueueCancelled when the
        run is stopped while waiting."""
        began = time.perf_counter()
        waited_in_line = False
        with self._cond:
            line = self._waiting.setdefault(lane, deque())
            line.append(handle)
            try:
                while not (line[0] is handle and self._holding.get(lane, 0) < self._limit(lane)):
                    if handle.cancel_event.is_set():
                        raise QueueCancelled()
                    ahead = line.index(handle)
                    if ahead != handle.queued_ahead:
                        handle.queued_ahead = ahead
                        handle.emit(RunUpdate("queued", data={"ahead": ahead, "lane": lane}))
                    waited_in_line = True
                    self._cond.wait(0.2)  # wakes on a release, or to notice a cancel
            except BaseException:
                line.remove(handle)
                self._cond.notify_all()  # those behind it move up
                raise
            line.popleft()
            self._holding[lane] = self._holding.get(lane, 0) + 1
            handle.lane, handle.queued_ahead = lane, None
            self._cond.notify_all()  # the next in line may now move up
        return time.perf_counter() - began if waited_in_line else 0.0

    def release(self, handle: RunHandle) -> None:
        with self._cond:
            if handle.lane is not None:
                self._holding[handle.lane] -= 1
                handle.lane = None
                self._cond.notify_all()

    def load(self) -> dict[str, tuple[int, int]]:
        """{lane: (holding, waiting)}, for a status line."""
        with self._cond:
            lanes = set(self._holding) | set(self._waiting)
            return {lane: (self._holding.get(lane, 0), len(self._waiting.get(lane, ()))) for lane in lanes}


class RunManager:
    """Owns the run threads and the live handles of this process, and keeps their
    heartbeats (and a sweep of runs whose process died) going while any exist."""

    def __init__(self, lanes: Lanes | None = None):
        self.lanes = lanes or Lanes()
        self._active: dict[int, RunHandle] = {}
        self._lock = threading.Lock()
        self._heart: threading.Thread | None = None
        self._sweeper: threading.Thread | None = None
        # A thread per run, but an idle one is reused: starting a thread costs milliseconds
        # on the way to the first token. The cap is no limit in practice (the lanes are);
        # a run in flight finishes before the process exits, as the executor joins them.
        self._workers = ThreadPoolExecutor(max_workers=RUN_THREADS_MAX, thread_name_prefix="run")

    def submit(self, handle: RunHandle, job) -> None:
        with self._lock:
            self._active[id(handle)] = handle
            if self._heart is None or not self._heart.is_alive():
                self._heart = threading.Thread(target=self._beat, name="run-heartbeat", daemon=True)
                self._heart.start()
        self._workers.submit(self._run, handle, job)

    def _beat(self) -> None:
        from sqlalchemy import update


        last_beat = time.monotonic()
        while True:
            # A run is opened with heartbeat_at = now, so the first beat can wait: beating
            # at once would put a write beside the new run's first writes, on its way to
            # the first token. Short naps, so a changed HEARTBEAT_S takes effect soon.
            time.sleep(min(HEARTBEAT_S, 0.25))
            if time.monotonic() - last_beat < HEARTBEAT_S:
                continue
            last_beat = time.monotonic()
            live = self.active_ids()
            if not live:
                with self._lock:  # stop; the next submit starts a new one
                    if not self._active:
                        self._heart = None
                        return
                continue
            try:
                with session_scope() as s:
                    s.execute(update(Run).where(Run.id.in_(live)).values(heartbeat_at=utcnow()))
            except Exception:  # noqa: BLE001 - a missed beat is retried; the runs go on
                pass

    def start_sweeper(self, sweep: Callable[[], int]) -> None:
        """Call `sweep` (which marks runs whose process died as interrupted) every
        settings.stale_sweep_s seconds for the life of the process. Every app process runs
        one, so a crashed server's runs are swept by whichever process is alive, not only
        when one starts. Idempotent."""
        with self._lock:
            if self._sweeper is None or not self._sweeper.is_alive():
                self._sweeper = threading.Thread(target=self._sweep_forever, args=(sweep,),
                                                 name="run-sweeper", daemon=True)
                self._sweeper.start()

    @staticmethod
    def _sweep_forever(sweep: Callable[[], int]) -> None:
        while True:
            every = get_settings().stale_sweep_s
            time.sleep(every if every > 0 else 0.5)  # 0 turns sweeping off (tests)
            if every > 0:
                try:
                    sweep()
                except Exception:  # noqa: BLE001 - the database may be away for a moment; next time
                    pass

    def _run(self, handle: RunHandle, job) -> None:
        try:
            job(handle)
        except Exception as exc:  # noqa: BLE001 - the loop records its own failures; this is the last guard
            handle.status, handle.error = "failed", f"The run could not be finished: {exc}"
        finally:
            self.lanes.release(handle)
            # Leave the active list before "done" goes out, so whoever reacts to "done"
            # can start the next run at once.
            with self._lock:
                self._active.pop(id(handle), None)
            handle.emit(RunUpdate("done", data={"status": handle.status, "error": handle.error}))
            handle.done.set()

    def get(self, run_id: int) -> RunHandle | None:
        with self._lock:
            return next((h for h in self._active.values() if h.run_id == run_id), None)

    def for_thread(self, thread_id: int) -> RunHandle | None:
        with self._lock:
            return next((h for h in self._active.values() if h.thread_id == thread_id), None)

    def active_ids(self) -> set[int]:
        with self._lock:
            return {h.run_id for h in self._active.values() if h.run_id is not None}


MANAGER = RunManager()
