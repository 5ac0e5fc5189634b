"""Model providers behind one interface (`base.ChatProvider`).

`build_provider` picks the implementation from the config's kind. Every kind goes through
the OpenAI-compatible provider; "local" (the built-in model) points it at the embedded
llama.cpp server, started on its first call, so building a provider (or importing
`workbench`) never loads xllamacpp or the model."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import embedded_server
from .base import (Attempt, ChatProvider, ChatRequest, Completed, ModelResponse, ProviderConfig, StreamEvent,
                   StreamReset, TextDelta, ToolCallRequest, Usage)
from .builtin_model import model_id
from .presets import PRESETS

if TYPE_CHECKING:
    from ..models import ProviderRecord

__all__ = [
    "Attempt", "ChatProvider", "ChatRequest", "Completed", "ModelResponse", "ProviderConfig",
    "StreamEvent", "StreamReset", "TextDelta", "ToolCallRequest", "Usage", "PRESETS",
    "build_provider", "config_from_record", "default_model",
]


def build_provider(config: ProviderConfig, **options: Any) -> ChatProvider:
    """The provider for `config`. `options` go to the OpenAI-compatible provider
    (`backoff_base_s`, `backoff_max_s`)."""
    # Not at module level: the openai SDK takes about a second to import, and most processes
    # (pages, the CLI, tests) never call a model.
    from .openai_compat import OpenAICompatibleProvider

    if config.kind == "local":
        # The small built-in model writes tool calls as JSON text: adapt (tool_adapter).
        return OpenAICompatibleProvider(replace(config, base_url=None, api_key_name=None,
                                                adapt_tools=True),
                                        endpoint=embedded_server.base_url,
                                        closing=embedded_server.stopping, **options)
    return OpenAICompatibleProvider(config, **options)


def config_from_record(record: "ProviderRecord") -> ProviderConfig:
    """A ProviderConfig from a stored provider row (the key stays a name, never a value)."""
    preset = PRESETS.get(record.preset or "", {})
    return ProviderConfig(
        name=record.name,
        kind=record.kind,
        base_url=record.base_url or (preset.get("base_url") if record.kind != "local" else None),
        api_key_name=record.api_key_name,
        default_model=default_model(record),
    )


def default_model(record: "ProviderRecord") -> str | None:
    """The model a new agent on this provider starts with. The built-in provider runs one
    model, the one configured now (builtin_model.model_id), whatever id was stored."""
    if record.kind == "local":
        return model_id()
    return record.default_model or PRESETS.get(record.preset or "", {}).get("default_model")
