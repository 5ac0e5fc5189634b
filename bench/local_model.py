"""The built-in model through the workbench against xllamacpp called directly, in the same
run on the same loaded model.

    python bench/local_model.py [rounds]

Workbench path: the "local" provider as the app builds it (OpenAI-compatible provider, the
`openai` client, HTTP to the embedded server on 127.0.0.1, StreamEvents). Direct path:
`Server.handle_chat_completions` in-process with a callback, no HTTP. Rounds alternate the
two paths on the same question (with a different first letter, so neither gains from the
prompt cache), temperature 0, 64 tokens. Prints median time to first token, decode tokens/s and
the median of the per-round ratios (target: workbench tokens/s >= 0.9 x direct)."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOPICS = ["how rainbows form", "why the sky is blue", "how a compass works", "what yeast does in "
          "bread", "how bees make honey", "why ice floats", "how tides work", "what causes "
          "thunder", "how a lever works", "why leaves change colour", "how a thermos works",
          "what a volcano is"]
MAX_TOKENS = 64


def _question(n: int) -> str:
    """Round n's question; the two paths differ only in a letter in front (W or D), so the
    answers are alike but no call finds the other's prompt in the cache."""
    return f"Question {n}: explain {TOPICS[n % len(TOPICS)]} in a short paragraph."


def via_workbench(provider, model: str, n: int) -> tuple[float, float, int]:
    """(ttft s, decode tokens/s, tokens) through the app's provider."""
    from workbench.providers.base import ChatRequest, Completed, TextDelta

    started, first, last, response = time.perf_counter(), None, None, None
    for event in provider.stream_chat(ChatRequest(
            model=model, messages=[{"role": "user", "content": "W" + _question(n)}],
            temperature=0.0, max_tokens=MAX_TOKENS)):
        if isinstance(event, TextDelta):
            last = time.perf_counter()
            first = first or last
        elif isinstance(event, Completed):
            response = event.response
    tokens = response.usage.output_tokens
    return first - started, (tokens - 1) / (last - first), tokens


def direct(server, model: str, n: int) -> tuple[float, float, int]:
    """(ttft s, decode tokens/s, tokens) from xllamacpp's own streaming call."""
    stamps: list[float] = []
    usage: dict = {}

    def on_chunk(chunk: dict) -> None:
        if any((c.get("delta") or {}).get("content") for c in chunk.get("choices") or []):
            stamps.append(time.perf_counter())
        usage.update(chunk.get("usage") or {})

    started = time.perf_counter()
    server.handle_chat_completions({
        "model": model, "messages": [{"role": "user", "content": "D" + _question(n)}],
        "stream": True, "stream_options": {"include_usage": True}, "temperature": 0.0,
        "max_tokens": MAX_TOKENS}, on_chunk)
    tokens = usage["completion_tokens"]
    return stamps[0] - started, (tokens - 1) / (stamps[-1] - stamps[0]), tokens


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    from workbench.providers import build_provider, embedded_server
    from workbench.providers.base import ProviderConfig
    from workbench.providers.builtin_model import model_id

    t0 = time.perf_counter()
    running = embedded_server.ensure_started()
    print(f"model {running.file.label}: started in {time.perf_counter() - t0:.1f} s "
          f"(load {running.load_s:.1f} s), {running.slots} slots x {running.slot_context} "
          f"tokens, {running.threads} threads")
    provider = build_provider(ProviderConfig(name="Built-in", kind="local"))
    server = embedded_server._server  # the same loaded model, called without HTTP
    via_workbench(provider, model_id(), 10_001)  # warm both paths once
    direct(server, model_id(), 10_001)
    results: dict[str, list[tuple[float, float, int]]] = {"workbench": [], "direct": []}
    for r in range(rounds):
        order = [("workbench", via_workbench, provider), ("direct", direct, server)]
        for name, fn, target in order if r % 2 == 0 else order[::-1]:
            results[name].append(fn(target, model_id(), r))
    med = {name: (statistics.median(x[0] for x in rows) * 1000,
                  statistics.median(x[1] for x in rows),
                  statistics.median(x[2] for x in rows)) for name, rows in results.items()}
    for name, (ttft, tps, tokens) in med.items():
        print(f"{name:>9}: TTFT {ttft:6.0f} ms, {tps:5.1f} tokens/s (median of {rounds}, "
              f"{tokens:.0f} tokens)")
    # Ratios per round (the two calls ran back to back), then their median: the machine's
    # load drifts between rounds far more than between two neighbouring calls.
    pairs = list(zip(results["workbench"], results["direct"]))
    tps_ratio = statistics.median(w[1] / d[1] for w, d in pairs)
    ttft_ratio = statistics.median(w[0] / d[0] for w, d in pairs)
    print(f"ratio workbench/direct (median per round): tokens/s {tps_ratio:.2f} "
          f"(target >= 0.9), TTFT {ttft_ratio:.2f} (1.00 = no added latency)")

if __name__ == "__main__":
    main()
