"""The built-in tools' registry. A tool is a function `fn(ctx: ToolContext, **args)` with a
pydantic argument model, registered with `@register`; the modules that define them register
when `workbench.tools` is imported. Tools are handed to the model as langchain-core
StructuredTools (the JSON schema comes from the library), bound to the run's context so they
act inside the run's group only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel


@dataclass(frozen=True)
class ToolContext:
    """Who and where a tool call acts: it may only touch rows of `group_id`."""

    group_id: int
    person_id: int | None
    agent_id: int
    thread_id: int
    run_id: int | None = None


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    args_schema: type[BaseModel]
    fn: Callable[..., Any]
    label: str  # short human name for the agent designer

    def bind(self, ctx: ToolContext) -> StructuredTool:
        def call(**kwargs):
            return self.fn(ctx, **kwargs)

        return StructuredTool.from_function(func=call, name=self.name, description=self.description,
                                            args_schema=self.args_schema)


_REGISTRY: dict[str, ToolSpec] = {}


def register(name: str, description: str, args_schema: type[BaseModel], label: str | None = None):
    """Decorator: add a tool to the registry."""

    def deco(fn):
        _REGISTRY[name] = ToolSpec(name, description, args_schema, fn, label or name)
        return fn

    return deco


def builtin_tools() -> dict[str, ToolSpec]:
    """The built-in tools by name (each registers itself when `workbench.tools` is imported)."""
    return dict(sorted(_REGISTRY.items()))


def tool_names() -> list[str]:
    return list(builtin_tools())


def bind_tools(ctx: ToolContext, allowed: list[str]) -> dict[str, StructuredTool]:
    """The agent's allowed tools, bound to this run. Unknown names are skipped."""
    specs = builtin_tools()
    return {name: specs[name].bind(ctx) for name in allowed if name in specs}


def openai_schemas(tools: dict[str, Any]) -> list[dict[str, Any]]:
    """The tools as the model is told of them. A group's custom tools (tools/custom/) bring
    their own JSON Schema (`openai_schema()`); built-ins get theirs from langchain."""
    return [convert_to_openai_tool(t) if isinstance(t, StructuredTool) else t.openai_schema()
            for t in tools.values()]
