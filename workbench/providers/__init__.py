"""Model providers behind one interface (`base.ChatProvider`).

`build_provider` picks the implementation from the config's kind. The built-in model's
module (and llama_cpp) is imported only when a local provider is built, so importing
`workbench` never loads llama.cpp."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import (
    Attempt,
    ChatProvider,
    ChatRequest,
    Completed,
    ModelResponse,
    ProviderConfig,
    StreamEvent,
    StreamReset,
    TextDelta,
    ToolCallRequest,
    Usage,
)
from .presets import PRESETS

if TYPE_CHECKING:
    from ..models import ProviderRecord

__all__ = [
    "Attempt", "ChatProvider", "ChatRequest", "Completed", "ModelResponse", "ProviderConfig",
    "StreamEvent", "StreamReset", "TextDelta", "ToolCallRequest", "Usage", "PRESETS",
    "build_provider", "config_from_record",
]


def build_provider(config: ProviderConfig, **options: Any) -> ChatProvider:
    """The provider for `config`. `options` go to the OpenAI-compatible provider
    (`backoff_base_s`, `backoff_max_s`); the local provider takes none."""
    if config.kind == "local":
        from .local_llama import LocalLlamaProvider  # lazy: loads llama_cpp

        return LocalLlamaProvider(config)
    from .openai_compat import OpenAICompatibleProvider

    return OpenAICompatibleProvider(config, **options)


def config_from_record(record: "ProviderRecord") -> ProviderConfig:
    """A ProviderConfig from a stored provider row (the key stays a name, never a value)."""
    preset = PRESETS.get(record.preset or "", {})
    return ProviderConfig(
        name=record.name,
        kind=record.kind,
        base_url=record.base_url or (preset.get("base_url") if record.kind != "local" else None),
        api_key_name=record.api_key_name,
        default_model=record.default_model or preset.get("default_model"),
    )
