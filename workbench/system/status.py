"""What the Settings page shows: which providers are configured and which key each one
misses (by variable name, never the value), the built-in model's file, the database and the
knowledge store with a live check each, library versions and where logs go.

Secrets never leave this module: keys are reported present or missing by name, and the
database URL is rendered with its password hidden."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sqlalchemy import make_url, text

from ..db import get_engine, session_scope
from ..errors import WorkbenchError
from ..knowledge import store
from ..providers import embedded_server
from ..providers.builtin_model import ModelFileRefused, cache_dir, describe_configured, pinned
from ..providers.service import list_providers, starting_model
from ..settings import get_secret, get_settings
from ..tenancy.access import require_access

LIBRARIES = ("streamlit", "sqlalchemy", "alembic", "openai", "chromadb", "onnxruntime", "xllamacpp",
             "langchain-text-splitters", "pydantic", "psycopg")


@dataclass(frozen=True)
class ProviderStatus:
    id: int
    name: str
    kind: str
    base_url: str | None
    default_model: str | None
    key_name: str | None  # the env var / secret it reads, never the value
    key_present: bool | None  # None: this provider needs no key

    @property
    def missing_key(self) -> str | None:
        return self.key_name if self.key_present is False else None


@dataclass(frozen=True)
class Check:
    what: str  # "Database", "Knowledge store"
    where: str  # a path or host, never a password
    ok: bool
    detail: str
    ms: float | None = None


@dataclass(frozen=True)
class ModelStatus:
    description: str  # which file, how loaded
    path: str
    size_bytes: int | None  # None: not assembled yet
    status: str


def provider_statuses(actor_id: int, group_id: int) -> list[ProviderStatus]:
    out = []
    for rec in list_providers(actor_id, group_id):  # checks membership
        key_present = None if not rec.api_key_name else bool(get_secret(rec.api_key_name))
        out.append(ProviderStatus(rec.id, rec.name, rec.kind, rec.base_url, starting_model(rec),
                                  rec.api_key_name, key_present))
    return out


def builtin_model(actor_id: int, group_id: int) -> ModelStatus:
    """The built-in model's file, size and status; never assembles, hashes or loads it."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
    own = get_settings().local_model_path
    try:
        path = Path(own).expanduser() if own else cache_dir() / pinned().file_name
    except ModelFileRefused as err:  # WORKBENCH_BUILTIN_MODEL names no pinned model
        return ModelStatus(str(err), "", None, "not available")
    size = path.stat().st_size if path.is_file() else None
    running = embedded_server.running()
    if running is not None:
        status = (f"loaded in {running.load_s:.1f} s, serving on {running.url}, {running.slots} chats "
                  f"at once, {running.slot_context:,} tokens each")
    elif size is None:
        status = ("not assembled yet: joined from the pinned PyPI parts on first use" if not own
                  else "missing: WORKBENCH_LOCAL_MODEL_PATH does not point at a file")
    else:
        status = "on disk, not loaded in this process (loads on the first chat)"
    return ModelStatus(describe_configured(), str(path), size, status)


def database_location() -> str:
    """The SQLite file or the PostgreSQL host and database, the password hidden."""
    url = make_url(get_settings().db_url)
    if url.get_backend_name() == "sqlite":
        return f"SQLite file {url.database}"
    return f"{url.get_backend_name()}: {url.render_as_string(hide_password=True)}"


def check_database(actor_id: int, group_id: int) -> Check:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
    where = database_location()
    started = time.perf_counter()
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # noqa: BLE001 - reported as a sentence, never raised to the page
        return Check("Database", where, False, f"cannot be reached: {type(exc).__name__}")
    return Check("Database", where, True, f"reachable, schema at migration {version}",
                 (time.perf_counter() - started) * 1000)


def check_knowledge_store(actor_id: int, group_id: int) -> Check:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
    kind = "Chroma server" if get_settings().chroma_host else "Chroma folder"
    where = f"{kind} {store.location()}"
    started = time.perf_counter()
    try:
        vectors = store.count(group_id)
    except WorkbenchError as err:
        return Check("Knowledge store", where, False, err.user_message)
    except Exception as exc:  # noqa: BLE001
        return Check("Knowledge store", where, False, f"cannot be reached: {type(exc).__name__}")
    return Check("Knowledge store", where, True, f"reachable, {vectors:,} vectors in this group's collection",
                 (time.perf_counter() - started) * 1000)


def library_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def log_destination() -> str:
    return ("The app logs to the standard error of the process that runs it (the terminal of "
            "`streamlit run app.py`, or your service manager's journal); Streamlit's "
            "`--logger.level=info|debug` sets how much. Runs, tool calls and errors are also kept "
            "in the database: Traces and Events pages.")


def tool_policy() -> list[tuple[str, str, str]]:
    """The custom tools' safety settings as (variable, value, what it means) rows."""
    s = get_settings()
    return [
        ("WORKBENCH_TOOL_ALLOWED_HOSTS", ", ".join(s.tool_allowed_hosts) or "(none)",
         "hosts HTTP tools and MCP-over-HTTP servers may reach even at private, loopback or link-local "
         "addresses; all others must resolve to public addresses only"),
        ("WORKBENCH_MCP_ALLOWED_COMMANDS", ", ".join(s.mcp_allowed_commands) or "(none)",
         "programs an MCP stdio server may start; empty: none can"),
        ("WORKBENCH_TOOL_TIMEOUT_S", f"{s.tool_timeout_s:g} s", "the longest any custom tool call may take"),
    ]
