"""Runs through the workbench against the raw `openai` client, same local streaming server,
same process, same run:

    python bench/runtime.py [--quick]

1. Time to first token: a run started through the thread API (message saved, run opened,
   budget and rate checks, context built, trace step written, then the call) vs the raw
   client's first content chunk; median of 20, interleaved.
2. Streaming throughput: deltas per second of a long reply sent as fast as the server can
   (2,000 chunks) through the workbench (every delta to the run's feed, saved every 0.25 s)
   vs the raw client iterating the same stream. Target: ratio >= 0.95.
3. 32 runs started at once against a reply that streams over ~2 s: total time vs one run
   (target < 1.5x: no queueing), deltas lost (target 0), database errors (target 0).

The server is the scripted OpenAI-compatible server the tests use, on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LONG_CHUNKS = 2000
SLOW_TEXT = "".join(f"word{i} " for i in range(40))  # 40 chunks, 50 ms apart: about 2 s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20

    os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-runtime-")
    os.environ.pop("DATABASE_URL", None)
    import openai

    from tests.scripted_openai import ScriptedOpenAIServer, text
    from workbench import agents, bootstrap, runtime, threads
    from workbench.providers import service as providers

    server = ScriptedOpenAIServer().start()
    start = bootstrap.init_app()
    person, group = start.person_id, start.group_id
    _lift_limits(group)
    provider = providers.add_provider(person, group, name="Bench", preset="openai",
                                      base_url=server.base_url, api_key_name="")
    agent = agents.create_agent(person, group, name="Bench", provider_id=provider.id, model="gpt-4o-mini",
                                system_prompt="You are a benchmark.", tools=[])
    raw = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)

    def raw_stream(model_reply):
        server.script(model_reply)
        t0 = time.perf_counter()
        first, pieces = None, []
        for chunk in raw.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "Hi"}]):
            if chunk.choices and chunk.choices[0].delta.content:
                if first is None:
                    first = time.perf_counter() - t0
                pieces.append(chunk.choices[0].delta.content)
        return first, time.perf_counter() - t0, "".join(pieces)

    def workbench_stream(model_reply, thread_id):
        server.script(model_reply)
        t0 = time.perf_counter()
        first, pieces = None, []
        handle = runtime.continue_thread(thread_id, "Hi", person)
        for delta in handle.text_stream():
            if first is None:
                first = time.perf_counter() - t0
            pieces.append(delta)
        result = handle.wait(60)
        assert result.status == "complete", result.error
        return first, time.perf_counter() - t0, "".join(pieces)

    thread, _ = threads.create_thread(group, agent.id, person, title="bench")

    # 1. time to first token
    short = text("Hello there, this is a short reply.", chunk_size=8)
    raw_stream(short), workbench_stream(short, thread.id)  # warm both paths
    wb_ttft, raw_ttft = [], []
    for _ in range(repeats):
        raw_ttft.append(raw_stream(short)[0] * 1000)
        wb_ttft.append(workbench_stream(short, thread.id)[0] * 1000)
    wb_med, raw_med = statistics.median(wb_ttft), statistics.median(raw_ttft)
    print(f"time to first token: workbench {wb_med:.1f} ms, raw client {raw_med:.1f} ms, "
          f"added {wb_med - raw_med:.1f} ms (target <= 5 ms; median of {repeats}, interleaved)")

    # 2. throughput
    long_text = "".join(f"t{i} " for i in range(LONG_CHUNKS))
    long_reply = text(long_text, chunk_size=len("t0 "))
    rates_raw, rates_wb = [], []
    for _ in range(max(3, repeats // 4)):
        _, raw_s, got = raw_stream(long_reply)
        assert got == long_text
        rates_raw.append(LONG_CHUNKS / raw_s)
        _, wb_s, got = workbench_stream(long_reply, thread.id)
        assert got == long_text, "the workbench lost or changed deltas"
        rates_wb.append(LONG_CHUNKS / wb_s)
    r_raw, r_wb = statistics.median(rates_raw), statistics.median(rates_wb)
    print(f"throughput: workbench {r_wb:,.0f} deltas/s, raw client {r_raw:,.0f} deltas/s, "
          f"ratio {r_wb / r_raw:.2f} (target >= 0.95)")

    # 3. 32 concurrent runs
    slow = text(SLOW_TEXT, chunk_size=len("wordNN "), delay=0.05)
    t0 = time.perf_counter()
    workbench_stream(slow, thread.id)
    one = time.perf_counter() - t0
    n = 32
    heads = [threads.create_thread(group, agent.id, person, title=f"c{i}")[0].id for i in range(n)]
    server.script(*[slow] * n)
    outcomes: list = [None] * n

    def one_run(i):
        try:
            handle = runtime.continue_thread(heads[i], "Hi", person)
            got = "".join(handle.text_stream())
            outcomes[i] = (handle.wait(60).status, got)
        except Exception as exc:  # noqa: BLE001 - counted below
            outcomes[i] = ("error", repr(exc))

    t0 = time.perf_counter()
    workers = [threading.Thread(target=one_run, args=(i,)) for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    total = time.perf_counter() - t0
    lost = sum(1 for status, got in outcomes if status == "complete" and got != SLOW_TEXT)
    errors = sum(1 for status, _ in outcomes if status != "complete")
    print(f"{n} concurrent runs: {total:.2f} s vs one run {one:.2f} s, ratio {total / one:.2f} "
          f"(target < 1.5), replies with lost deltas {lost}, failed runs or database errors {errors}")
    server.stop()


def _lift_limits(group_id: int) -> None:
    """The default plan's rate limit (60 runs a minute) would throttle the benchmark itself."""
    from workbench.db import session_scope
    from workbench.models import Group

    with session_scope() as s:
        g = s.get(Group, group_id)
        g.rpm_limit = g.tpm_limit = g.monthly_budget_usd = None


if __name__ == "__main__":
    main()
