"""Calling a custom tool: the arguments checked against its JSON Schema first (a bad call
is a clear error the model can correct), the implementation run in a thread of its own with
a hard deadline (a stuck endpoint or server cannot hang the run), and every secret value
(header and env values from the environment) cut out of the answer and of any error before
either leaves this module. `bind_custom_tools` hands a run's plan its tools in one query."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from jsonschema.validators import validator_for
from sqlalchemy.orm import Session

from ...errors import WorkbenchError
from ...settings import get_secret, get_settings
from . import ToolArgumentsInvalid, ToolCallFailed, ToolTimedOut
from .catalog import versions_for
from .definitions import ExposedTool, ToolConfig
from .http_tool import call_http
from .mcp_tools import call_server_tool
from .templating import render

GRACE_S = 1.0  # beyond the tool's own timeout, for the implementation to report it itself
REDACTED = "***"  # as the MCP client marks what it cut


def check_arguments(exposed: ExposedTool, arguments: Any) -> None:
    schema = exposed.parameters
    errors = sorted(validator_for(schema)(schema).iter_errors(arguments), key=lambda e: list(e.path))
    if errors:
        problems = "; ".join(e.message + (f" (at {'/'.join(map(str, e.path))})" if e.path else "")
                             for e in errors[:5])
        raise ToolArgumentsInvalid(f"The arguments do not match the parameters of {exposed.name}: {problems}. "
                                   "Call it again with arguments that fit its schema.")


def secret_values(cfg: ToolConfig) -> list[str]:
    """The values behind the tool's env var names (longest first, so none is cut in half)."""
    values = {get_secret(name) or "" for name in cfg.env_names()}
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, REDACTED)
    return text


def _secret_headers(impl: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for header, env_name in (impl.get("headers") or {}).items():
        value = get_secret(env_name)
        if not value:
            raise ToolCallFailed(f"The environment variable {env_name} (for the {header} header) is not set.")
        headers[header] = value
    return headers


def _run(cfg: ToolConfig, name: str, arguments: dict[str, Any]) -> str:
    if cfg.kind == "mock":
        return render(cfg.impl["template"], arguments)
    if cfg.kind == "http":
        return call_http(cfg.impl, arguments, _secret_headers(cfg.impl), get_settings().tool_allowed_hosts)

    return call_server_tool(cfg.impl, name, arguments)


def _clean_error(err: BaseException, secrets: list[str]) -> WorkbenchError:
    """A fresh error (no cause chain that could hold a secret) with a redacted message."""
    message = redact(err.user_message if isinstance(err, WorkbenchError) else f"{type(err).__name__}: {err}",
                     secrets)
    try:
        return type(err)(message) if isinstance(err, WorkbenchError) else ToolCallFailed(message)
    except TypeError:
        return ToolCallFailed(message)


def call_custom_tool(cfg: ToolConfig, exposed: ExposedTool, arguments: Any) -> str:
    """The tool's answer for the model; raises a WorkbenchError whose message is safe to show."""
    check_arguments(exposed, arguments)
    secrets = secret_values(cfg)
    limit = min(float(cfg.impl.get("timeout_s") or 0) or get_settings().tool_timeout_s,
                get_settings().tool_timeout_s)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = _run(cfg, exposed.name, arguments)
        except BaseException as err:  # noqa: BLE001 - carried back to the caller's thread
            box["error"] = err

    worker = threading.Thread(target=work, name=f"tool-{exposed.name}", daemon=True)
    worker.start()
    worker.join(limit + GRACE_S)
    if worker.is_alive():  # left to finish on its own; its answer is dropped
        raise ToolTimedOut(f"The tool {exposed.name} did not answer within {limit:g} s.")
    if "error" in box:
        raise _clean_error(box["error"], secrets)
    return redact(str(box["result"]), secrets)


@dataclass(frozen=True)
class BoundCustomTool:
    """A custom tool as a run's plan holds it, beside the built-in StructuredTools."""

    exposed: ExposedTool
    config: ToolConfig
    tool_id: int
    version_id: int
    version: int

    @property
    def name(self) -> str:
        return self.exposed.name

    def invoke(self, arguments: Any) -> str:
        return call_custom_tool(self.config, self.exposed, arguments)

    def openai_schema(self) -> dict[str, Any]:
        return {"type": "function", "function": {"name": self.exposed.name, "description": self.exposed.description,
                                                 "parameters": self.exposed.parameters}}

    @property
    def trace_info(self) -> dict[str, Any]:
        """What a trace step records about the tool besides the arguments."""
        return {"tool_id": self.tool_id, "tool_version_id": self.version_id, "tool_version": self.version,
                "implementation": self.config.kind}


def bind_custom_tools(s: Session, group_id: int, names: list[str]) -> dict[str, BoundCustomTool]:
    """The custom tools among `names` (the agent's allowed tools), latest versions."""
    return {name: BoundCustomTool(exposed, ToolConfig(**version.config), version.tool_id, version.id,
                                   version.version)
            for name, (version, exposed) in versions_for(s, group_id, names).items()}
