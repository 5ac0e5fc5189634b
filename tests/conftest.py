"""Shared fixtures: every test gets its own data directory (SQLite file, Chroma folder).
With WORKBENCH_TEST_DATABASE_URL set (a PostgreSQL server URL, see scripts/test_postgres.sh)
each test gets its own fresh PostgreSQL database instead of the SQLite file.

`--now=ISO-8601` runs the whole suite with the wall clock moved to that instant and ticking
from there (time-machine moves time.time() and datetime.now(), leaves time.monotonic()
alone, so timeouts and sleeps keep working): `python -m pytest -q --now=2027-01-01T00:20:00Z`."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from workbench import db, settings

TEST_DATABASE_URL = os.environ.get("WORKBENCH_TEST_DATABASE_URL")

pytest_plugins = ["tests.scripted_openai"]


def pytest_addoption(parser):
    parser.addoption("--now", default=None, metavar="ISO-8601",
                     help="run the suite with the wall clock moved to this instant (ticking), "
                          "e.g. 2027-01-01T00:20:00Z; a time without a zone is UTC")


def parse_now(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise pytest.UsageError(f"--now={text!r} is not an ISO-8601 date and time "
                                "(like 2027-01-01T00:20:00Z)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def pytest_configure(config):
    text = config.getoption("--now")
    if text:
        import time_machine

        moment = parse_now(text)
        traveller = time_machine.travel(moment, tick=True)
        traveller.start()
        config._workbench_clock = traveller  # stopped in pytest_unconfigure


def pytest_unconfigure(config):
    traveller = getattr(config, "_workbench_clock", None)
    if traveller is not None:
        traveller.stop()


# Modules that render pages under AppTest: marked `pages` (a view only calls services and
# never touches the database, so CI's PostgreSQL run leaves them to the default suite).
PAGE_MODULES = ("test_pages_", "test_home", "test_app")


def pytest_collection_modifyitems(config, items):
    """The longest modules first (those with slow or browser tests: the demo build, the
    built-in model, real browsers), so that under pytest-xdist (`--dist loadscope`, one module
    per worker at a time) they do not start last and stretch the run."""
    def weight(item) -> int:
        if item.module.__name__.endswith("test_demo"):
            return 0
        return 1 if any(item.get_closest_marker(m) for m in ("slow", "browser")) else 2

    heaviest = {}
    for item in items:
        if item.module.__name__.rpartition(".")[2].startswith(PAGE_MODULES):
            item.add_marker(pytest.mark.pages)
        heaviest[item.module] = min(heaviest.get(item.module, 2), weight(item))
    items.sort(key=lambda item: heaviest[item.module])  # stable: the order inside a module stays
    if TEST_DATABASE_URL:  # on PostgreSQL, what opens a database; the rest is the same on both
        on_database = {item: "data_dir" in item.fixturenames for item in items}
        config.hook.pytest_deselected(items=[item for item in items if not on_database[item]])
        items[:] = [item for item in items if on_database[item]]


def pytest_report_header(config):
    text = config.getoption("--now")
    if text:
        return f"wall clock moved to {parse_now(text).isoformat()} (--now), ticking"


@pytest.fixture()
def travel():
    """Move the wall clock (ticking) for one test: `travel("2026-06-15T12:00:00Z")`. For tests
    whose assertions are about a calendar period, so they hold whatever the real date."""
    import time_machine

    started = []

    def go(iso: str) -> datetime:
        traveller = time_machine.travel(parse_now(iso), tick=True)
        traveller.start()
        started.append(traveller)
        return parse_now(iso).astimezone(timezone.utc).replace(tzinfo=None)

    yield go
    for traveller in reversed(started):
        traveller.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """On SQLite, a database file at the newest migration, made once per test process and
    copied into each test's data dir (migrating anew costs 0.1 to 0.2 s of every test)."""
    folder = tmp_path_factory.mktemp("template")
    before = os.environ.get("WORKBENCH_DATA_DIR")
    os.environ["WORKBENCH_DATA_DIR"] = str(folder)
    settings.reset_settings()
    try:
        db.migrate()
    finally:
        db.reset_engine()  # closes the file (its write-ahead log folded back in)
        if before is None:
            os.environ.pop("WORKBENCH_DATA_DIR", None)
        else:
            os.environ["WORKBENCH_DATA_DIR"] = before
        settings.reset_settings()
    return folder / "workbench.db"


@pytest.fixture(scope="session")
def pg_template():
    """On PostgreSQL, a database at the newest migration, made once per test process: each
    test's database is copied from it (CREATE DATABASE ... TEMPLATE) instead of migrated anew,
    which costs about half a second of every test. None on SQLite."""
    if not TEST_DATABASE_URL:
        yield None
        return
    name = f"wb_template_{uuid.uuid4().hex[:12]}"
    _admin_sql(f'CREATE DATABASE "{name}"')
    before = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    settings.reset_settings()
    try:
        db.migrate()
    finally:
        db.reset_engine()  # a template database must have no connection when it is copied
        if before is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = before
        settings.reset_settings()
    yield name
    _admin_sql(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture()
def data_dir(tmp_path, monkeypatch, request):
    """A fresh, empty workbench: its own database and Chroma folder under tmp_path. The
    database is already at the newest migration (see sqlite_template, pg_template), unless the
    test is marked `empty_database` (the migration tests build older schemas)."""
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WORKBENCH_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("WORKBENCH_STALE_SWEEP_S", "0")  # a test turns the periodic sweep on itself
    database = f"wb_test_{uuid.uuid4().hex[:16]}" if TEST_DATABASE_URL else None
    if database:
        template = (None if request.node.get_closest_marker("empty_database")
                    else request.getfixturevalue("pg_template"))
        _admin_sql(f'CREATE DATABASE "{database}"' + (f' TEMPLATE "{template}"' if template else ""))
        url = make_url(TEST_DATABASE_URL).set(database=database)
        monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        if not request.node.get_closest_marker("empty_database"):
            (tmp_path / "data").mkdir()
            shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "data" / "workbench.db")
    settings.reset_settings()
    db.reset_engine()
    yield tmp_path / "data"
    from workbench.knowledge import store

    store.reset_clients()  # close this test's Chroma folder
    db.reset_engine()
    settings.reset_settings()
    if database:  # FORCE: a run thread a test left behind may still hold a connection
        _admin_sql(f'DROP DATABASE "{database}" WITH (FORCE)')


def _admin_sql(statement: str) -> None:
    """CREATE/DROP DATABASE on the maintenance database (they cannot run in a transaction)."""
    engine = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture()
def wb(data_dir):
    """A migrated, seeded workbench; yields the bootstrap result (group, person, agent ids)."""
    from workbench.system import bootstrap

    yield bootstrap.init_app()


@pytest.fixture()
def builtin_on_scripted(wb, openai_server, monkeypatch):
    """The group's built-in provider with its embedded server replaced by the scripted one.
    Gives thread_with(tools, **agent fields): a new thread with a new agent on it, model "m"."""
    from sqlalchemy import select

    from workbench import agents, runs
    from workbench.db import session_scope
    from workbench.models import ProviderRecord
    from workbench.providers import embedded_server

    monkeypatch.setattr(embedded_server, "base_url", lambda: openai_server.base_url)
    with session_scope() as s:
        provider_id = s.scalar(select(ProviderRecord.id).where(
            ProviderRecord.group_id == wb.group_id, ProviderRecord.kind == "local"))

    def thread_with(tools: list[str], **fields):
        agent = agents.create_agent(wb.person_id, wb.group_id, provider_id=provider_id, model="m", tools=tools,
                                    **{"name": "Built-in", **fields})
        return runs.create_thread(wb.group_id, agent.id, wb.person_id)[0]

    return thread_with


@pytest.fixture()
def scripted(wb, openai_server, monkeypatch):
    """A provider on the scripted server and an agent using it, with quick retries.
    Yields a namespace: person_id, group_id, provider_id, agent_id, server, make_agent()."""
    import types

    from workbench import agents
    from workbench.providers import service as providers

    monkeypatch.setenv("WORKBENCH_RETRY_BACKOFF_S", "0.01")
    monkeypatch.setenv("WORKBENCH_PROVIDER_TIMEOUT_S", "2")
    monkeypatch.setenv("WORKBENCH_RUN_FLUSH_INTERVAL_S", "0.02")
    settings.reset_settings()
    provider = providers.add_provider(wb.person_id, wb.group_id, name="Scripted", preset="openai",
                                      base_url=openai_server.base_url, api_key_name="")

    def make_agent(**values):
        fields = {"name": "Tester", "provider_id": provider.id, "model": "gpt-4o-mini",
                  "system_prompt": "You are a test agent.", **values}
        return agents.create_agent(wb.person_id, wb.group_id, **fields)

    agent = make_agent(tools=["create_task", "get_context", "call_human"])
    yield types.SimpleNamespace(person_id=wb.person_id, group_id=wb.group_id, provider_id=provider.id,
                                agent_id=agent.id, server=openai_server, make_agent=make_agent)
