"""What SQLite shrugs off but PostgreSQL refuses: values longer than their VARCHAR column,
NUL characters in text, NaN in JSON, several app processes starting on one database. These pass on both
backends; run the suite with WORKBENCH_TEST_DATABASE_URL (scripts/test_postgres.sh) to
check them where they bite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.scripted_openai import call, text, tool_calls
from workbench import agents, db, runs
from workbench.costs import limits
from workbench.costs.pricing import SEED_PRICES
from workbench.db import session_scope
from workbench.errors import ValidationError
from workbench.models import Group, Message, Person, Price, Run, RunStep
from workbench.providers import service as providers
from workbench.system import bootstrap
from workbench.tenancy import groups

ROOT = Path(__file__).resolve().parent.parent


def _ask(scripted, message: str = "Go"):
    thread, _ = runs.create_thread(scripted.group_id, scripted.agent_id, scripted.person_id)
    return runs.continue_thread(thread.id, message, scripted.person_id).wait(10)


def test_invented_tool_names_and_long_call_ids_fail_the_call_not_the_run(scripted):
    scripted.server.script(tool_calls(call("x" * 300, {}), call("get_context", {}, id="c" * 200)),
                           text("Done"))
    result = _ask(scripted)
    assert result.status == "complete", result.error
    assert result.reply == "Done"
    with session_scope() as s:
        steps = s.execute(select(RunStep.name, RunStep.status).where(
            RunStep.run_id == result.run_id, RunStep.kind == "tool_call").order_by(RunStep.seq)).all()
    assert steps == [("x" * 120, "error"), ("get_context", "ok")]
    # the cut id is the same in the assistant's call and in the tool's answer the model gets
    sent = scripted.server.chat_requests[-1].body["messages"]
    assert [c["id"] for c in sent[-3]["tool_calls"]][1] == "c" * 120
    assert sent[-1]["tool_call_id"] == "c" * 120


def test_dozens_of_invented_tool_names_still_finish_the_run(scripted):
    names = [f"tool_{i:02d}_" + "y" * 40 for i in range(20)]
    scripted.server.script(tool_calls(*[call(n, {}) for n in names]), text("Done"))
    result = _ask(scripted)
    assert result.status == "complete", result.error
    with session_scope() as s:
        used = s.get(Run, result.run_id).tools_used
    kept = used.strip(",").split(",")
    assert used.startswith(",") and used.endswith(",") and len(used) <= 500
    assert kept == names[:len(kept)] and len(kept) == 10


def test_nul_characters_never_fail_a_write(scripted):
    scripted.server.script(text("before\x00after"))
    result = _ask(scripted, "hello\x00 there")
    assert result.status == "complete", result.error
    with session_scope() as s:
        stored = s.scalars(select(Message.content).where(Message.thread_id == result.thread_id)
                           .order_by(Message.seq)).all()
    # PostgreSQL text cannot hold NUL, so it is dropped there; SQLite keeps it
    assert [c.replace("\x00", "") for c in stored] == ["hello there", "beforeafter"]


def test_nan_in_tool_arguments_is_kept_as_raw_text(scripted):
    raw = '{"about": "group", "x": NaN}'  # Python's json accepts NaN; JSON (and PostgreSQL) do not
    scripted.server.script(tool_calls(call("get_context", raw)), text("Done"))
    result = _ask(scripted)
    assert result.status == "complete", result.error
    with session_scope() as s:
        request = s.scalar(select(RunStep.request).where(RunStep.run_id == result.run_id,
                                                         RunStep.kind == "tool_call"))
    assert request["arguments"] == {"_raw": raw}


def test_values_longer_than_their_column_are_field_errors(scripted):
    with pytest.raises(ValidationError) as err:
        providers.add_provider(scripted.person_id, scripted.group_id, name="p" * 81,
                               base_url="http://127.0.0.1:1/v1")
    assert "name" in err.value.field_errors
    with pytest.raises(ValidationError) as err:
        providers.update_provider(scripted.person_id, scripted.provider_id, default_model="m" * 201)
    assert "default_model" in err.value.field_errors
    with pytest.raises(ValidationError) as err:
        scripted.make_agent(name="Long model", model="m" * 201)
    assert "model" in err.value.field_errors
    with pytest.raises(ValidationError) as err:
        groups.add_member(scripted.person_id, scripted.group_id, email="ann@example.com", name="n" * 201)
    assert "name" in err.value.field_errors
    with pytest.raises(ValidationError) as err:  # INTEGER columns hold up to 2**31 - 1
        limits.set_limits(scripted.person_id, scripted.group_id, monthly_budget_usd=None,
                          rpm_limit=60, tpm_limit=10_000_000_000)
    assert list(err.value.field_errors) == ["tpm_limit"]
    # a long e-mail's local part becomes the name when none is given: cut, not refused
    member = groups.add_member(scripted.person_id, scripted.group_id, email="a" * 250 + "@example.com")
    assert member.name == "a" * 200
    assert "Long model" not in [a.name for a in agents.list_agents(scripted.person_id, scripted.group_id)]


def test_postgres_urls_use_the_installed_psycopg_driver():
    assert db.engine_url("postgres://u:p@db:5432/wb") == "postgresql+psycopg://u:p@db:5432/wb"
    assert db.engine_url("postgresql://u@db/wb") == "postgresql+psycopg://u@db/wb"
    assert db.engine_url("postgresql+psycopg://u@db/wb") == "postgresql+psycopg://u@db/wb"
    assert db.engine_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


@pytest.mark.skipif(not os.environ.get("WORKBENCH_TEST_DATABASE_URL"),
                    reason="app processes on several machines share one database only on PostgreSQL")
def test_app_processes_starting_together_take_turns(data_dir):
    start = [sys.executable, "-c", "from workbench.system import bootstrap; bootstrap.init_app()"]
    procs = [subprocess.Popen(start, cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    bootstrap.init_app()
    with session_scope() as s:
        counts = [s.scalar(select(func.count()).select_from(m)) for m in (Group, Person, Price)]
    assert counts == [1, 1, len(SEED_PRICES)]
