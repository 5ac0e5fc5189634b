"""Known endpoints. A preset's values are the defaults a new provider starts from; the
preset key also names the provider in the price table ("openai", "anthropic", ...)."""

from __future__ import annotations

from typing import Any

LOCAL_PRESET = "local"
DEFAULT_TEMPERATURE = 0.7
# The built-in 0.5B model gets short facts and formats wrong more often when sampled hot:
# bench/agent_behaviours.py's 56 cases x 3, two runs at each temperature with the same
# behaviour code, passed 143 and 141 of 168 at 0.7, 152 and 151 at 0.2 (format 11 and 10
# of 21 -> 15 and 16). Its tool choices are made at temperature 0 either way
# (providers/tool_decision).
BUILTIN_TEMPERATURE = 0.2

PRESETS: dict[str, dict[str, Any]] = {
    "openai": {
        "label": "OpenAI",
        "kind": "openai_compatible",
        "base_url": "https://api.openai.com/v1",
        "api_key_name": "OPENAI_API_KEY",
        "default_model": "gpt-4o-mini",
    },
    "anthropic": {
        # Anthropic's OpenAI SDK compatibility endpoint (chat completions, tools, streaming).
        "label": "Anthropic (OpenAI-compatible endpoint)",
        "kind": "openai_compatible",
        "base_url": "https://api.anthropic.com/v1/",
        "api_key_name": "ANTHROPIC_API_KEY",
        "default_model": "claude-sonnet-4-5",
    },
    "openrouter": {
        "label": "OpenRouter",
        "kind": "openai_compatible",
        "base_url": "https://openrouter.ai/api/v1",
        "api_key_name": "OPENROUTER_API_KEY",
        "default_model": "openai/gpt-4o-mini",
    },
    "ollama": {
        "label": "Ollama (local server)",
        "kind": "openai_compatible",
        "base_url": "http://localhost:11434/v1",
        "api_key_name": None,  # no key: a placeholder is sent
        "default_model": "llama3.2",
    },
    "vllm": {
        "label": "vLLM server",
        "kind": "openai_compatible",
        "base_url": "http://localhost:8000/v1",
        "api_key_name": None,
        "default_model": None,  # whatever model the server was started with
    },
    "llamacpp": {
        "label": "llama.cpp server",
        "kind": "openai_compatible",
        "base_url": "http://localhost:8080/v1",
        "api_key_name": None,
        "default_model": None,
    },
    "lmstudio": {
        "label": "LM Studio",
        "kind": "openai_compatible",
        "base_url": "http://localhost:1234/v1",
        "api_key_name": None,
        "default_model": None,
    },
    LOCAL_PRESET: {
        "label": "Built-in offline model (Qwen2.5-Coder Instruct on llama.cpp)",
        "kind": "local",
        "base_url": None,
        "api_key_name": None,
        "default_model": None,  # the model that runs: builtin_model.model_id()
        "temperature": BUILTIN_TEMPERATURE,
    },
}


def preset_for(key: str | None) -> dict[str, Any]:
    """The preset's values, or {} for a hand-made provider."""
    return dict(PRESETS.get(key or "", {}))


def default_temperature(provider: Any) -> float:
    """The temperature a new agent on `provider` (a record with a preset and a kind) starts
    from: its preset's, else the kind's ("local" is the built-in model's), else 0.7."""
    preset = preset_for(provider.preset) or preset_for(provider.kind)
    return preset.get("temperature", DEFAULT_TEMPERATURE)
