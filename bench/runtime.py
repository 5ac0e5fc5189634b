"""Runs through the workbench against the raw `openai` client, same local streaming server,
same run:

    python bench/runtime.py [--quick]

1. Time to first token: a run started through the thread API (access, budget and rate
   checks, context built, the call sent, then the message, run, trace step and events
   written while it travels) vs the raw client's first content chunk for the same request
   (a new thread's first message: the system prompt and the message); median of 20,
   interleaved.
2. Streaming throughput: deltas per second of a long reply sent as fast as the server can
   (2,000 chunks) through the workbench (every delta to the run's feed, saved every 0.25 s)
   vs the raw client iterating the same stream. Target: ratio >= 0.95.
3. 32 runs started at once against a reply that streams over ~2 s: total time vs one run
   (target < 1.5x: no queueing), deltas lost (target 0), database errors (target 0).

The server is the tests' scripted OpenAI-compatible server in a process of its own
(bench/model_server.py), as a model server is: its work does not compete with the client's
for this interpreter. Limits stay set (out of reach), so every start pays for the checks."""

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

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20

    os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-runtime-")
    os.environ.pop("DATABASE_URL", None)
    import openai

    from bench import model_server
    from workbench import agents, runs
    from workbench.providers import service as providers
    from workbench.system import bootstrap

    base_url, server = model_server.start()
    start = bootstrap.init_app()
    person, group = start.person_id, start.group_id
    _lift_limits(group)
    provider = providers.add_provider(person, group, name="Bench", preset="openai",
                                      base_url=base_url, api_key_name="")
    prompt = "You are a benchmark."
    agent_for = {model: agents.create_agent(person, group, name=f"Bench {model}", provider_id=provider.id,
                                            model=model, system_prompt=prompt, tools=[])
                 for model in model_server.REPLIES}
    raw = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    same_request = [{"role": "system", "content": prompt}, {"role": "user", "content": "Hi"}]

    def raw_stream(model):
        t0 = time.perf_counter()
        first, pieces = None, []
        for chunk in raw.chat.completions.create(model=model, stream=True, messages=same_request,
                                                 stream_options={"include_usage": True}):
            if chunk.choices and chunk.choices[0].delta.content:
                if first is None:
                    first = time.perf_counter() - t0
                pieces.append(chunk.choices[0].delta.content)
        return first, time.perf_counter() - t0, "".join(pieces)

    def new_thread(model):
        return runs.create_thread(group, agent_for[model].id, person, title="bench")[0].id

    def workbench_stream(thread_id):
        t0 = time.perf_counter()
        first, pieces = None, []
        handle = runs.continue_thread(thread_id, "Hi", person)
        for delta in handle.text_stream():
            if first is None:
                first = time.perf_counter() - t0
            pieces.append(delta)
        result = handle.wait(60)
        assert result.status == "complete", result.error
        return first, time.perf_counter() - t0, "".join(pieces)

    # 1. time to first token
    raw_stream("short"), workbench_stream(new_thread("short"))  # warm both paths
    wb_ttft, raw_ttft = [], []
    for _ in range(repeats):
        raw_ttft.append(raw_stream("short")[0] * 1000)
        wb_ttft.append(workbench_stream(new_thread("short"))[0] * 1000)
    wb_med, raw_med = statistics.median(wb_ttft), statistics.median(raw_ttft)
    print(f"time to first token: workbench {wb_med:.1f} ms, raw client {raw_med:.1f} ms, "
          f"added {wb_med - raw_med:.1f} ms (target <= 5 ms; median of {repeats}, interleaved)")

    # 2. throughput
    long_thread = new_thread("long")
    rates_raw, rates_wb = [], []
    for _ in range(max(3, repeats // 4)):
        _, raw_s, got = raw_stream("long")
        assert got == model_server.LONG_TEXT
        rates_raw.append(model_server.LONG_CHUNKS / raw_s)
        _, wb_s, got = workbench_stream(long_thread)
        assert got == model_server.LONG_TEXT, "the workbench lost or changed deltas"
        rates_wb.append(model_server.LONG_CHUNKS / wb_s)
    r_raw, r_wb = statistics.median(rates_raw), statistics.median(rates_wb)
    print(f"throughput: workbench {r_wb:,.0f} deltas/s, raw client {r_raw:,.0f} deltas/s, "
          f"ratio {r_wb / r_raw:.2f} (target >= 0.95)")

    # 3. 32 concurrent runs
    t0 = time.perf_counter()
    workbench_stream(new_thread("slow"))
    one = time.perf_counter() - t0
    n = 32
    heads = [new_thread("slow") for _ in range(n)]
    outcomes: list = [None] * n

    def one_run(i):
        try:
            handle = runs.continue_thread(heads[i], "Hi", person)
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
    lost = sum(1 for status, got in outcomes if status == "complete" and got != model_server.SLOW_TEXT)
    errors = sum(1 for status, _ in outcomes if status != "complete")
    print(f"{n} concurrent runs: {total:.2f} s vs one run {one:.2f} s, ratio {total / one:.2f} "
          f"(target < 1.5), replies with lost deltas {lost}, failed runs or database errors {errors}")
    server.stdin.close()
    server.wait(10)


def _lift_limits(group_id: int) -> None:
    """The default plan's rate limit (60 runs a minute) would throttle the benchmark itself.
    Limits stay set (far out of reach), so every start still pays for the budget and rate
    checks."""
    from workbench.db import session_scope
    from workbench.models import Group

    with session_scope() as s:
        g = s.get(Group, group_id)
        g.rpm_limit, g.tpm_limit, g.monthly_budget_usd = 10**7, 10**9, 10.0**6


if __name__ == "__main__":
    main()
