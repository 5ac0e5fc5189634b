"""One typed settings object. Values come from environment variables (prefix WORKBENCH_,
plus DATABASE_URL), then `.streamlit/secrets.toml`, then the defaults below."""

from __future__ import annotations

import os
import threading
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _secrets_file() -> Path:
    return Path(os.environ.get("WORKBENCH_SECRETS_FILE", PROJECT_ROOT / ".streamlit" / "secrets.toml"))


class _Kept:
    """A value built on first use and kept until `forget()`. Unlike functools.lru_cache, a
    value that a thread was still building when forget() ran is not kept: it may have read
    the environment as it was before (a test's background threads read the settings while
    the test changes them)."""

    def __init__(self, build: Callable[[], object]):
        self._build = build
        self._lock = threading.Lock()
        self._generation = 0
        self._kept: tuple[int, object] | None = None

    def get(self):
        kept = self._kept
        if kept is not None and kept[0] == self._generation:
            return kept[1]
        generation = self._generation
        value = self._build()
        with self._lock:
            if generation == self._generation:
                self._kept = (generation, value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._kept = None


def _read_secrets() -> dict:
    path = _secrets_file()
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def get_secret(name: str) -> str | None:
    """An API key or other secret by name: the environment first, then secrets.toml
    (top level or its [secrets] table). Never stored, never logged."""
    if not name:
        return None
    value = os.environ.get(name)
    if value:
        return value
    data = _SECRETS.get()
    value = data.get(name) or data.get("secrets", {}).get(name)
    return str(value) if value else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKBENCH_", extra="ignore")

    data_dir: Path = PROJECT_ROOT / "data"
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    chroma_host: str | None = None  # set to use a Chroma server instead of data/chroma
    chroma_port: int = 8000
    chroma_ssl: bool = False
    chroma_timeout_s: float = 30.0  # per request to a Chroma server
    local_person_name: str = "Local user"
    local_person_email: str = "local@workbench.local"
    default_group_name: str = "My workspace"
    max_upload_mb: float = 50.0
    # The built-in model (providers/builtin_model.py, embedded_server.py).
    local_model_path: str | None = None  # a GGUF of your own instead of the pinned one
    builtin_model: str | None = None  # which pinned GGUF (builtin_model.PINNED); None: the 1.5B
    model_cache_dir: Path | None = None  # where the pinned GGUF is assembled; default ~/.cache
    local_model_threads: int = 2
    # How hard llama.cpp's threads poll for work between steps (0-100; llama.cpp's own default
    # is 50). Polling burns the cores the app's other threads need: with 0, the model's tests
    # ran in 52.5 s instead of 61.6 s alone, and two model processes side by side in 59.9 s
    # instead of 63.8 s, on the 2-core development machine.
    local_model_poll: int = 0
    local_model_context: int = 4096  # tokens per chat slot: tool schemas + knowledge fit
    local_model_parallel: int = 2  # chats generated at once (slots); memory grows with it
    run_flush_interval_s: float = 0.25  # how often a streaming reply is written to the database
    query_cache_ttl_s: float = 300.0
    provider_timeout_s: float = 60.0  # per model call attempt
    retry_backoff_s: float = 0.5  # wait before the 2nd try of a model call; doubles per try
    # Runs of remote providers at once in this process (I/O-bound: high); more wait in line.
    max_concurrent_runs: int = 256
    # Database connections of this process (SQLite and PostgreSQL alike): a pool of
    # db_pool_size kept open, up to db_pool_overflow more under load. Run starts hold at
    # most half of them at once (runs.lifecycle), so the writes of admitted runs and the
    # pages always find one; a start that finds none is refused as busy, before admission.
    db_pool_size: int = 10
    db_pool_overflow: int = 20
    db_pool_timeout_s: float = 30.0  # the longest a write of an admitted run waits for one
    # How often each app process sweeps runs whose process died (0: never; start-up still does).
    stale_sweep_s: float = 30.0
    # Custom tools (tools/custom/). Comma-separated in the environment. Hosts that HTTP tools
    # and MCP-over-HTTP servers may reach even when they resolve to a private, loopback or
    # link-local address (exact host names or IPs); empty: only public addresses.
    tool_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Programs an MCP stdio server may start (the first word of its command line, as typed or
    # as a full path); empty: no stdio server can be started.
    mcp_allowed_commands: Annotated[list[str], NoDecode] = Field(default_factory=list)
    tool_timeout_s: float = 30.0  # the most any one custom tool call may take, whatever it asks
    # The API server (serve/): the largest request body it reads (413 above it).
    api_max_body_bytes: int = 4 * 1024 * 1024
    # Where products reach the API (shown in the Deploy page's code snippets); set it to the
    # public address when the server runs behind a proxy or on another host.
    api_public_url: str = "http://127.0.0.1:8000/v1"

    @field_validator("tool_allowed_hosts", "mcp_allowed_commands", mode="before")
    @classmethod
    def _comma_list(cls, value):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def local_model_slots(self) -> int:
        """The built-in model's parallel slots, which also bound its runs at once."""
        return max(1, min(self.local_model_parallel, 8))

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'workbench.db'}"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


_SECRETS = _Kept(_read_secrets)
_SETTINGS = _Kept(lambda: Settings())


def get_settings() -> Settings:
    return _SETTINGS.get()


def reset_settings() -> None:
    """Forget the kept settings and secrets (tests change the environment)."""
    _SETTINGS.forget()
    _SECRETS.forget()
