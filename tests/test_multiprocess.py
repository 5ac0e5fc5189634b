"""Several app processes on one database behave as one workbench: a group's rate limit
admits N runs in total, not N per process; a run streaming in one process is read live
from another; a process killed mid-reply leaves an interrupted run, its streamed text
kept, a usable thread and no half-written rows; dead processes' runs are swept by
whichever process is alive. Runs on SQLite here and on PostgreSQL under
scripts/test_postgres.sh (the subprocesses inherit DATABASE_URL)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from tests.scripted_openai import text
from workbench import runs
from workbench import settings
from workbench.db import session_scope
from workbench.models import Group, Message, Run, RunStep, Thread
from workbench.system import bootstrap

ROOT = Path(__file__).resolve().parent.parent

START_RUNS = """
import json, os, sys, threading, time
from workbench import runs
from workbench.system import bootstrap
from workbench.errors import RateLimitExceeded
person = bootstrap.init_app().person_id
ids, ready, go_file = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
open(ready, "w").close()
while not os.path.exists(go_file):  # both processes start their runs at the same moment
    time.sleep(0.005)
go = threading.Barrier(len(ids))
out = {"admitted": 0, "refused": 0, "errors": []}
lock = threading.Lock()
def start(tid):
    go.wait()
    try:
        runs.continue_thread(tid, "Hello", person).wait(30)
        kind = "admitted"
    except RateLimitExceeded:
        kind = "refused"
    except Exception as exc:
        with lock:
            out["errors"].append(repr(exc)[:300])
        return
    with lock:
        out[kind] += 1
workers = [threading.Thread(target=start, args=(t,)) for t in ids]
[w.start() for w in workers]
[w.join() for w in workers]  # bounded by the test's timeout
print(json.dumps(out))
"""


def _python(code_or_args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *code_or_args], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _until(condition, timeout: float = 20.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def test_a_groups_rate_limit_holds_across_two_processes(scripted, tmp_path):
    limit, per_process = 3, 4
    with session_scope() as s:
        s.get(Group, scripted.group_id).rpm_limit = limit
    ids = [runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id,
                                 title=f"t{i}")[0].id for i in range(2 * per_process)]
    scripted.server.script(*[text("Admitted.") for _ in ids])
    ready, go = [tmp_path / f"ready{i}" for i in range(2)], tmp_path / "go"
    procs = [_python(["-c", START_RUNS, json.dumps(ids[i::2]), str(ready[i]), str(go)]) for i in range(2)]
    _until(lambda: all(r.exists() for r in ready) or any(p.poll() is not None for p in procs), timeout=60)
    go.touch()
    outs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-2000:]
        outs.append(json.loads(stdout.strip().splitlines()[-1]))
    assert [e for o in outs for e in o["errors"]] == []
    assert sum(o["admitted"] for o in outs) == limit  # not `limit` per process
    assert sum(o["refused"] for o in outs) == 2 * per_process - limit
    with session_scope() as s:
        rows = s.scalars(select(Run).where(Run.group_id == scripted.group_id)).all()
    assert len(rows) == limit and all(r.status == "complete" for r in rows)


def _reply_of(run_id: int) -> Message | None:
    with session_scope() as s:
        return s.scalar(select(Message).where(Message.run_id == run_id, Message.role == "assistant"))


def test_a_run_is_followed_live_from_another_process_and_survives_a_kill(scripted):
    full = "".join(f"part{i} " for i in range(80))
    scripted.server.script(text(full, chunk_size=len("part10 "), delay=0.1))  # about 8 s
    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id, title="Kill me")
    app = _python(["-m", "workbench", "chat", "--thread", str(thread.id), "Tell me a long story"])
    try:
        run_id = _until(lambda: _latest_run(thread.id), timeout=90)  # the CLI imports and starts first
        # Read live, from this process: the reply grows while the other process streams it.
        seen = []
        def grown():
            msg = _reply_of(run_id)
            if msg is not None and msg.content and (not seen or msg.content != seen[-1]):
                seen.append(msg.content)
            return len(seen) >= 3
        _until(grown)
        assert all(full.startswith(part) for part in seen) and seen[0] != seen[-1]
        with session_scope() as s:
            assert s.get(Run, run_id).status == "running"
        app.send_signal(signal.SIGKILL)  # in the middle of the streamed reply
        app.wait(10)
    finally:
        if app.poll() is None:
            app.kill()
    kept = _reply_of(run_id).content
    assert kept and full.startswith(kept) and kept != full

    # Restart: the dead process's run is interrupted, what had streamed is kept.
    bootstrap.forget()
    assert bootstrap.init_app().interrupted_runs == 1
    with session_scope() as s:
        run = s.get(Run, run_id)
        assert run.status == "interrupted" and run.ended_at is not None
        reply = s.scalar(select(Message).where(Message.run_id == run_id, Message.role == "assistant"))
        assert reply.status == "interrupted" and reply.content == kept
        assert s.get(Thread, thread.id).status == "idle"
        assert s.scalar(select(Run).where(Run.status == "running")) is None
        assert s.scalar(select(RunStep).where(RunStep.status == "running")) is None
        assert s.scalar(select(Message).where(Message.status == "streaming")) is None
    # The thread is usable.
    scripted.server.script(text("Back again."))
    result = runs.continue_thread(thread.id, "Still there?", scripted.person_id).wait(15)
    assert (result.status, result.reply) == ("complete", "Back again.")


def _latest_run(thread_id: int) -> int | None:
    with session_scope() as s:
        return s.scalar(select(Run.id).where(Run.thread_id == thread_id).order_by(Run.id.desc()).limit(1))


def test_runs_of_a_dead_process_are_swept_periodically_not_only_at_start(scripted, monkeypatch):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    worker = f"{socket.gethostname()}:{int(dead.stdout)}:gone"
    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id, title="Orphan")
    with session_scope() as s:
        orphan = Run(group_id=scripted.group_id, thread_id=thread.id, agent_id=scripted.agent_id,
                     person_id=scripted.person_id, status="running", worker=worker)
        s.add(orphan)
        s.get(Thread, thread.id).status = "running"
        s.flush()
        orphan_id = orphan.id
    monkeypatch.setenv("WORKBENCH_STALE_SWEEP_S", "0.2")  # this process is up already: no restart
    settings.reset_settings()

    def swept():
        with session_scope() as s:
            return s.get(Run, orphan_id).status == "interrupted"
    _until(swept, timeout=30)  # a busy machine: the sweeper may be mid-sweep of another database
    with session_scope() as s:
        assert s.get(Thread, thread.id).status == "idle"
