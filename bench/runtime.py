"""Runs through the workbench against the raw `openai` client, same local streaming server,
same run:

    python bench/runtime.py [--quick] [--only ttft,throughput,concurrent,scale,burst]
                            [--sizes 256,1000] [--database-url postgresql+psycopg://...]

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
4. Scale: N runs at once (default 256 and 1,000), a new thread each through the public
   thread API, against a model sending a word every 0.5 s (2 s a reply), vs the raw client
   making the same N streams from threads of this process. Prints both times, the ratio
   (targets: <= 1.5 at 256, <= 2 at 1,000), replies not intact (target 0), other outcomes
   (target 0), and the memory per run (the process's peak RSS growth over N).
5. Burst: 128 starts at once in a group on the default plan (60 runs a minute). Prints the
   outcomes: complete, refused by the rate limit, anything else (target: 60, 68, 0).

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

# The server's replies (it imports nothing of the workbench).
from bench import model_server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--only", default="ttft,throughput,concurrent,scale,burst",
                        help="comma-separated parts to run")
    parser.add_argument("--sizes", default="256,1000", help="run counts of the scale part")
    parser.add_argument("--database-url", help="an empty PostgreSQL database to run on (default: a new "
                                               "SQLite file)")
    args = parser.parse_args()
    repeats = 5 if args.quick else 20
    parts = set(args.only.split(","))

    os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-runtime-")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import openai

    from workbench import agents, runs
    from workbench.providers import service as providers
    from workbench.db import get_engine, pool_capacity
    from workbench.system import bootstrap

    base_url, server = model_server.start()
    start = bootstrap.init_app()
    print(f"database: {get_engine().dialect.name}; pool of {pool_capacity()} connections")
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

    raw_stream("short"), workbench_stream(new_thread("short"))  # warm both paths
    if "ttft" in parts:
        _ttft(repeats, raw_stream, workbench_stream, new_thread)
    if "throughput" in parts:
        _throughput(repeats, raw_stream, workbench_stream, new_thread)
    if "concurrent" in parts:
        _concurrent(workbench_stream, new_thread, person)
    if "scale" in parts:
        for n in (int(x) for x in args.sizes.split(",")):
            _scale(n, raw_stream, group, person, agent_for["paced"].id)
    if "burst" in parts:
        _burst(person, base_url, prompt)
    server.stdin.close()
    server.wait(10)


def _ttft(repeats, raw_stream, workbench_stream, new_thread) -> None:
    wb_ttft, raw_ttft = [], []
    for _ in range(repeats):
        raw_ttft.append(raw_stream("short")[0] * 1000)
        wb_ttft.append(workbench_stream(new_thread("short"))[0] * 1000)
    wb_med, raw_med = statistics.median(wb_ttft), statistics.median(raw_ttft)
    print(f"time to first token: workbench {wb_med:.1f} ms, raw client {raw_med:.1f} ms, "
          f"added {wb_med - raw_med:.1f} ms (target <= 5 ms; median of {repeats}, interleaved)")



def _throughput(repeats, raw_stream, workbench_stream, new_thread) -> None:
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



def _concurrent(workbench_stream, new_thread, person) -> None:
    from workbench import runs

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


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _PeakRss:
    """The process's largest resident size while the block runs (sampled every 50 ms)."""

    def __enter__(self):
        self.before = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def _all_at_once(n: int, job) -> tuple[float, list]:
    """Run job(i) in n threads released together; (seconds until the last ends, results)."""
    results: list = [None] * n
    gate = threading.Barrier(n + 1)

    def worker(i):
        gate.wait()
        try:
            results[i] = job(i)
        except Exception as exc:  # noqa: BLE001 - an outcome to count
            results[i] = ("error", f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(600)
    return time.perf_counter() - t0, results


def _scale(n: int, raw_stream, group: int, person: int, agent_id: int) -> None:
    from workbench import runs

    def raw(i):
        _, _, got = raw_stream("paced")
        return ("complete", got)

    def workbench(i):
        _thread, handle = runs.create_thread(group, agent_id, person, title="scale", initial_message="Hi")
        got = "".join(handle.text_stream())
        result = handle.wait(600)
        return (result.status, got if result.status == "complete" else result.error)

    raw_s, raw_results = _all_at_once(n, raw)
    with _PeakRss() as rss:
        wb_s, wb_results = _all_at_once(n, workbench)
    intact = sum(1 for status, got in wb_results if status == "complete" and got == model_server.PACED_TEXT)
    not_intact = sum(1 for status, got in wb_results if status == "complete" and got != model_server.PACED_TEXT)
    other = [r for r in wb_results if r[0] != "complete"]
    raw_bad = sum(1 for status, got in raw_results if got != model_server.PACED_TEXT)
    print(f"{n:,} runs at once: workbench {wb_s:.1f} s, raw client {raw_s:.1f} s, ratio {wb_s / raw_s:.2f} "
          f"(target <= {1.5 if n <= 256 else 2.0}); complete and intact {intact}, not intact {not_intact}, "
          f"other outcomes {len(other)}{' e.g. ' + repr(other[0][1])[:160] if other else ''}; "
          f"raw replies not intact {raw_bad}; memory {(rss.peak - rss.before) / n / 1024:.0f} KiB per run "
          "(peak RSS growth / runs)")


def _burst(person: int, base_url: str, prompt: str) -> None:
    """128 starts at once in a new group on the default plan."""
    from workbench import agents, runs
    from workbench.providers import service as providers
    from workbench.system.workspace import create_group

    n = 128
    group = create_group(person, "Burst").id  # the default plan: 60 runs a minute
    provider = providers.add_provider(person, group, name="Bench", preset="openai",
                                      base_url=base_url, api_key_name="")
    agent = agents.create_agent(person, group, name="Burst", provider_id=provider.id,
                                model="paced", system_prompt=prompt, tools=[])
    heads = [runs.create_thread(group, agent.id, person, title="burst")[0].id for _ in range(n)]

    def start(i):
        try:
            handle = runs.continue_thread(heads[i], "Hi", person)
        except Exception as exc:  # noqa: BLE001 - sorted below
            return ("refused", f"{type(exc).__name__}: {getattr(exc, 'user_message', exc)}")
        got = "".join(handle.text_stream())
        result = handle.wait(120)
        if result.status == "complete" and got == model_server.PACED_TEXT:
            return ("complete", got)
        return (result.status, result.error or got)

    seconds, results = _all_at_once(n, start)
    complete = sum(1 for kind, _ in results if kind == "complete")
    rate = [m for kind, m in results if kind == "refused" and m.startswith("RateLimitExceeded: This group is limited")]
    other = [f"{kind}: {m}" for kind, m in results
             if kind != "complete" and not (kind == "refused" and m in rate)]
    print(f"burst of {n} starts on the default plan (60 a minute), {seconds:.1f} s: complete {complete}, "
          f"refused by the rate limit {len(rate)}, other outcomes {len(other)} (target 60, 68, 0)")
    for sample in sorted(set(other))[:5]:
        print(f"   other: {sample[:200]}")


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
