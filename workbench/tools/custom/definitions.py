"""What a custom tool is (ToolConfig) and the checks on every save: the name the model sees,
the parameters' JSON Schema, and the fields of its one implementation. Each failed check is
a message keyed by its form field."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from jsonschema import SchemaError
from jsonschema.validators import validator_for

from ...errors import ValidationError
from ...settings import get_settings
from ...validation import checked_number
from . import KINDS
from .mcp_client import McpError, check_command_allowed
from .templating import PLACEHOLDER, placeholders

NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,63}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TRANSPORTS = ("stdio", "http")
MAX_SCHEMA_CHARS = 50_000
MAX_TEMPLATE_CHARS = 20_000
MAX_RESPONSE_BYTES = 1_000_000
DEFAULT_RESPONSE_BYTES = 20_000
DEFAULT_TIMEOUT_S = 10.0
EMPTY_SCHEMA = {"type": "object", "properties": {}}
EXAMPLE_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name", "examples": ["Oslo"]},
                   "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 1}},
    "required": ["city"],
}


@dataclass(frozen=True)
class ExposedTool:
    """One function the model sees: a mock or HTTP tool is one, an MCP server one per chosen tool."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class OfferedTool:
    """A tool an MCP server offers (the client's McpTool has the same fields)."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass
class ToolConfig:
    name: str
    kind: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: dict(EMPTY_SCHEMA))
    impl: dict[str, Any] = field(default_factory=dict)  # the kind's own fields

    def exposed(self) -> list[ExposedTool]:
        if self.kind == "mcp":
            return [ExposedTool(t["name"], t.get("description") or "", t["input_schema"])
                    for t in self.impl.get("tools", [])]
        return [ExposedTool(self.name, self.description, self.parameters)]

    def exposed_names(self) -> list[str]:
        return [t.name for t in self.exposed()]

    def offered(self) -> list[OfferedTool]:
        """The MCP tools this version stores, as the server offered them."""
        return [OfferedTool(t["name"], t.get("description") or "", t["input_schema"])
                for t in self.impl.get("tools", [])]

    def form_values(self) -> dict[str, Any]:
        """The flat values `validate` reads (forms, updates, imports)."""
        impl = dict(self.impl)
        values = {"name": self.name, "kind": self.kind, "description": self.description,
                  "parameters": self.parameters, **impl}
        if self.kind == "mcp":
            values["server_url"] = impl.get("url", "")
            values["tools"] = [t["name"] for t in impl.get("tools", [])]
        return values

    def env_names(self) -> list[str]:
        """The environment variables holding this tool's secrets (header and env values)."""
        return sorted({*self.impl.get("headers", {}).values(), *self.impl.get("env", {}).values()})


def check_schema(schema: Any, what: str = "The parameters") -> str | None:
    """None when `schema` is a valid JSON Schema of an object, else why not."""
    if not isinstance(schema, dict):
        return f"{what} must be a JSON object (a JSON Schema)."
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as err:
        where = "/".join(str(p) for p in err.absolute_path)
        return f"{what} are not a valid JSON Schema: {err.message}" + (f" (at {where})" if where else "")
    if schema.get("type") != "object":
        return f'{what} must be an object schema: {{"type": "object", "properties": {{...}}}}.'
    return None


def parse_json_field(raw: Any, errors: dict[str, str], key: str, default: Any) -> Any:
    """A form's JSON text (or an already parsed value) read into data."""
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str):
        return raw
    if len(raw) > MAX_SCHEMA_CHARS:
        errors[key] = f"At most {MAX_SCHEMA_CHARS:,} characters."
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        errors[key] = f"Not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})."
        return default


def _number(values, key, errors, lo, hi, default, cast=float):
    return checked_number(values, key, errors, lo, hi, default, cast, blank_is_default=True)


def _env_map(values, key, errors, key_check: re.Pattern, what: str) -> dict[str, str]:
    """{name: ENV_VAR_NAME} from a dict or "Name=ENV_VAR" lines."""
    raw = values.get(key) or {}
    if isinstance(raw, str):
        pairs = [line.split("=", 1) if "=" in line else [line, ""] for line in raw.splitlines() if line.strip()]
        raw = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(raw, dict):
        errors[key] = f"{what}: give NAME=ENV_VAR_NAME pairs."
        return {}
    for name, env in raw.items():
        if not key_check.match(str(name)):
            errors[key] = f"{what}: {name!r} is not a valid name."
        elif not ENV_NAME.match(str(env or "")):
            errors[key] = (f"{what}: the value of {name} must be the NAME of an environment variable "
                           "(like WEATHER_API_KEY), never the secret itself.")
    return {str(k): str(v) for k, v in raw.items()}


def _timeout(values, errors) -> float:
    cap = get_settings().tool_timeout_s
    return _number(values, "timeout_s", errors, 0.1, cap, min(DEFAULT_TIMEOUT_S, cap))


def _check_placeholders(template: str, parameters: dict, key: str, errors: dict[str, str]) -> None:
    known = set((parameters.get("properties") or {}))
    unknown = [p for p in placeholders(template) if p not in known]
    if unknown:
        errors[key] = ("Placeholders must name parameters of the schema; unknown: "
                       + ", ".join(f"{{{{{u}}}}}" for u in unknown) + ".")


def _mock_impl(values, parameters, errors) -> dict[str, Any]:
    template = str(values.get("template") or "")
    if not template.strip():
        errors["template"] = "Write the answer the mock returns (it may use {{argument}} placeholders)."
    elif len(template) > MAX_TEMPLATE_CHARS:
        errors["template"] = f"At most {MAX_TEMPLATE_CHARS:,} characters."
    else:
        _check_placeholders(template, parameters, "template", errors)
    return {"template": template}


def _http_url(url: str, key: str, errors: dict[str, str]) -> None:
    parts = urlsplit(PLACEHOLDER.sub("x", url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors[key] = "Give a full http:// or https:// URL."
        return
    authority = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    if PLACEHOLDER.search(authority) or "@" in authority:
        errors[key] = "The host must be written out: placeholders may only follow it (path, query)."


def _http_impl(values, parameters, errors) -> dict[str, Any]:
    method = str(values.get("method") or "GET").upper()
    if method not in METHODS:
        errors["method"] = f"One of {', '.join(METHODS)}."
    url = str(values.get("url") or "").strip()
    _http_url(url, "url", errors)
    if "url" not in errors:
        _check_placeholders(url, parameters, "url", errors)
    return {"method": method, "url": url,
            "headers": _env_map(values, "headers", errors, HEADER_NAME, "Headers"),
            "timeout_s": _timeout(values, errors),
            "max_response_bytes": _number(values, "max_response_bytes", errors, 100, MAX_RESPONSE_BYTES,
                                          DEFAULT_RESPONSE_BYTES, int)}


def mcp_connection(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The server part of an MCP tool (how to reach it), checked."""
    transport = str(values.get("transport") or "")
    impl: dict[str, Any] = {"transport": transport, "timeout_s": _timeout(values, errors)}
    if transport not in TRANSPORTS:
        errors["transport"] = "Choose stdio (a command) or http (a URL)."
    elif transport == "stdio":
        impl["command"] = str(values.get("command") or "").strip()
        impl["env"] = _env_map(values, "env", errors, ENV_NAME, "Environment")
        try:
            check_command_allowed(impl["command"], get_settings().mcp_allowed_commands)
        except McpError as err:
            errors["command"] = str(err)
    else:
        impl["url"] = str(values.get("server_url") or values.get("url") or "").strip()
        _http_url(impl["url"], "server_url", errors)
        if "server_url" not in errors and PLACEHOLDER.search(impl["url"]):
            errors["server_url"] = "An MCP server URL has no placeholders."
        impl["headers"] = _env_map(values, "headers", errors, HEADER_NAME, "Headers")
    return impl


def mcp_tools(chosen: list[str], offered: list, errors: dict[str, str]) -> list[dict[str, Any]]:
    """The chosen tools with the schemas the server gave (`offered`: McpTool records)."""
    by_name = {t.name: t for t in offered}
    picked = []
    if not chosen:
        errors["tools"] = "Choose at least one of the server's tools."
    for name in chosen:
        tool = by_name.get(name)
        if tool is None:
            errors["tools"] = f"The server does not offer a tool named {name!r}."
        elif not NAME.match(name):
            errors["tools"] = f"The server's tool {name!r} has a name models cannot call."
        elif problem := check_schema(tool.input_schema, f"The input schema of {name}"):
            errors["tools"] = problem
        else:
            picked.append({"name": name, "description": tool.description or "", "input_schema": tool.input_schema})
    return picked


def validate(values: dict[str, Any], taken: dict[str, str], offered: list | None = None) -> ToolConfig:
    """A ToolConfig from form or API values; `taken` maps every name the model already sees in
    the group (built-ins and other tools) to what owns it; `offered` is an MCP server's tools."""
    errors: dict[str, str] = {}
    name = str(values.get("name") or "").strip()
    if not NAME.match(name):
        errors["name"] = ("A name starts with a letter and has at most 64 letters, digits, _ or -: "
                          "it is the identifier the model sees.")
    kind = str(values.get("kind") or "")
    if kind not in KINDS:
        errors["kind"] = f"Choose one of {', '.join(KINDS)}."
    description = str(values.get("description") or "").strip()
    if len(description) > 4000:
        errors["description"] = "At most 4,000 characters."
    elif not description and kind in ("mock", "http"):
        errors["description"] = "Say what the tool does and when to use it: the model reads this."
    parameters = parse_json_field(values.get("parameters"), errors, "parameters", dict(EMPTY_SCHEMA))
    if "parameters" not in errors and kind != "mcp":
        if problem := check_schema(parameters):
            errors["parameters"] = problem
    impl: dict[str, Any] = {}
    if kind == "mock":
        impl = _mock_impl(values, parameters if "parameters" not in errors else {}, errors)
    elif kind == "http":
        impl = _http_impl(values, parameters if "parameters" not in errors else {}, errors)
    elif kind == "mcp":
        parameters = dict(EMPTY_SCHEMA)  # each chosen tool carries the server's own schema
        impl = mcp_connection(values, errors)
        if offered is not None:
            impl["tools"] = mcp_tools(list(values.get("tools") or []), offered, errors)
    cfg = ToolConfig(name=name, kind=kind, description=description, parameters=parameters, impl=impl)
    for exposed_name in dict.fromkeys([name, *cfg.exposed_names()]):
        if exposed_name in taken:
            key = "name" if exposed_name == name else "tools"
            errors[key] = f"The name {exposed_name!r} is already taken by {taken[exposed_name]}."
    if errors:
        raise ValidationError(field_errors=errors)
    return cfg
