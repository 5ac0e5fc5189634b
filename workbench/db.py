"""Engine, sessions and schema migrations (Alembic). `init_db()` is the one way the
schema is created or upgraded."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, insert, text
from sqlalchemy.orm import Session, sessionmaker

from .settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_lock = threading.Lock()
_engine: Engine | None = None
_session_factory: sessionmaker[Session] | None = None


# Recycle PostgreSQL connections before servers and proxies drop idle ones (often 30-60 min).
PG_POOL_RECYCLE_S = 1800
_STARTUP_LOCK_KEY = 0x5742_0001  # pg_advisory_lock key: "WB", startup


def engine_url(url: str) -> str:
    """The URL SQLAlchemy gets. postgres:// and postgresql:// (what hosting providers hand
    out) use psycopg 3, the driver requirements.txt installs, not the absent psycopg2."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _without_nul(params):
    """Query parameters with NUL characters removed: PostgreSQL text cannot hold them
    (SQLite can), and a stray NUL in a model reply or pasted text must not fail a write."""
    if isinstance(params, str):
        return params.replace("\x00", "") if "\x00" in params else params
    if isinstance(params, dict):
        return {key: _without_nul(value) for key, value in params.items()}
    if isinstance(params, (list, tuple)):
        return type(params)(_without_nul(value) for value in params)
    return params


def pool_capacity() -> int:
    """The most connections this process opens to the database."""
    cfg = get_settings()
    return max(1, cfg.db_pool_size) + max(0, cfg.db_pool_overflow)


def _pool_options() -> dict:
    """One pool per process, shared by the pages, the run starts and the runs' writes; sized
    by the settings (see settings.db_pool_size)."""
    cfg = get_settings()
    return {"pool_size": max(1, cfg.db_pool_size), "max_overflow": max(0, cfg.db_pool_overflow),
            "pool_timeout": cfg.db_pool_timeout_s}


SQLITE_LOCK_TIMEOUT_S = 30.0  # as SQLite's own busy timeout below
_WRITES_THAT_BEGIN = ("INSERT", "UPDATE", "DELETE", "REPLACE")  # pysqlite opens a transaction before these
_sqlite_write_locks: dict[str, threading.Lock] = {}
_sqlite_write_locks_guard = threading.Lock()


class _TurnTakingConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions take turns inside the process: the first
    write of a transaction waits for the database file's lock in memory, held until commit
    or rollback. SQLite lets one writer in at a time anyway, but a connection that finds
    another writing polls in sleeps (its busy handler: 1, 2, 5, ... 100 ms), so with many
    threads writing (run starts beside the run writer) the waits, not the writes, took the
    time. Other processes still meet SQLite's own lock."""

    write_lock: threading.Lock  # set by _connect

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.holds_write_lock = False

    def cursor(self, factory=None):
        return super().cursor(factory or _TurnTakingCursor)

    def take_write_turn(self) -> None:
        if not self.holds_write_lock:
            if not self.write_lock.acquire(timeout=SQLITE_LOCK_TIMEOUT_S):
                raise sqlite3.OperationalError("database is locked")
            self.holds_write_lock = True

    def end_write_turn(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            self.write_lock.release()

    def commit(self):
        try:
            super().commit()
        finally:
            self.end_write_turn()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self.end_write_turn()

    def close(self):
        try:
            super().close()
        finally:
            self.end_write_turn()


class _TurnTakingCursor(sqlite3.Cursor):
    def _turn(self, sql: str) -> None:
        if sql.lstrip()[:7].upper().startswith(_WRITES_THAT_BEGIN):
            self.connection.take_write_turn()

    def execute(self, sql, parameters=()):
        self._turn(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters):
        self._turn(sql)
        return super().executemany(sql, seq_of_parameters)


def _sqlite_connector(path: str):
    """connect() for the engine: connections of one database file share its write lock."""
    with _sqlite_write_locks_guard:
        write_lock = _sqlite_write_locks.setdefault(str(Path(path).resolve()), threading.Lock())

    def connect():
        conn = sqlite3.connect(path, timeout=SQLITE_LOCK_TIMEOUT_S, check_same_thread=False,
                               factory=_TurnTakingConnection)
        conn.write_lock = write_lock
        return conn

    return connect


def _make_engine(url: str) -> Engine:
    url = engine_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, creator=_sqlite_connector(path), **_pool_options())
        else:  # an in-memory database is one connection's (SingletonThreadPool)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL: readers never block the run writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, **_pool_options(),
                           **({"pool_recycle": PG_POOL_RECYCLE_S} if url.startswith("postgresql") else {}))
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "before_cursor_execute", retval=True)
        def _strip_nul(_conn, _cursor, statement, parameters, _context, _executemany):
            return statement, _without_nul(parameters)

    return engine


def get_engine() -> Engine:
    global _engine, _session_factory
    with _lock:
        if _engine is None:
            _engine = _make_engine(get_settings().db_url)
            _session_factory = sessionmaker(_engine, expire_on_commit=False)
        return _engine


def reset_engine() -> None:
    """Drop the cached engine (tests point DATABASE_URL somewhere new)."""
    global _engine, _session_factory
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _session_factory = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on any error, so a failed action
    never leaves half-written rows."""
    get_engine()
    assert _session_factory is not None
    session = _session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_row(s: Session, model, /, **values) -> int:
    """INSERT one row as a plain statement on the session's connection (same transaction)
    and return its id. For the writes on the way to a first token: the ORM's unit of work
    costs several times the statement itself. Column defaults still apply."""
    statement = _INSERTS.get(model)
    if statement is None:  # built once: values go as parameters, so the compiled form is reused
        table = model.__table__
        statement = _INSERTS[model] = insert(table).returning(table.c.id)
    return s.connection().execute(statement, values).scalar_one()


_INSERTS: dict = {}


def alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine_url(get_settings().db_url).replace("%", "%%"))
    return cfg


def migrate() -> None:
    """Bring the schema to the newest migration."""
    from alembic import command

    engine = get_engine()
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def startup_lock() -> Iterator[None]:
    """Hold while migrating and seeding at start-up: app processes on several machines
    sharing one PostgreSQL database then take turns instead of racing to create the same
    tables and rows. SQLite is one machine; nothing to do."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _STARTUP_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _STARTUP_LOCK_KEY})
            conn.commit()
