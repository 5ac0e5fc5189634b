"""An experiment's own time per case vs the same model calls made directly, same scripted
server, same process, same run:

    python bench/experiments.py [--quick]

Workbench: an experiment over N cases, one case at a time (concurrency 1): for each case a
run is admitted (budget, rate limits), its hidden thread and messages written, the reply
streamed and saved, traced and priced, the check evaluated and the result stored.
Direct: the raw `openai` client streams the same reply for each case and the same check is
evaluated, nothing stored. Each reply streams 40 chunks 25 ms apart (about 1 s, a short real
reply). Rounds alternate the two; the figure is the median per-round ratio of time per case.
Target: overhead under 10 % (ratio < 1.10)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPLY = "".join(f"w{i} " for i in range(40)) + "Paris"
CHUNK_DELAY_S = 0.025


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    rounds, cases = (2, 5) if args.quick else (5, 10)

    os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-experiments-")
    os.environ.pop("DATABASE_URL", None)
    import openai

    from bench.runtime import _lift_limits
    from tests.scripted_openai import ScriptedOpenAIServer, text
    from workbench import agents, experiments
    from workbench.experiments.checks import Observation, evaluate
    from workbench.playground import Variant
    from workbench.providers import service as providers
    from workbench.system import bootstrap

    server = ScriptedOpenAIServer(chunk_delay=CHUNK_DELAY_S).start()
    start = bootstrap.init_app()
    person, group = start.person_id, start.group_id
    _lift_limits(group)
    provider = providers.add_provider(person, group, name="Bench", preset="openai", base_url=server.base_url,
                                      api_key_name="")
    agent = agents.create_agent(person, group, name="Bench", provider_id=provider.id, model="gpt-4o-mini",
                                system_prompt="You are a benchmark.", tools=[])
    ts = experiments.create_test_set(person, group, "Bench", cases=[
        {"input": f"Question {i}: capital of France?", "expected": "Paris"} for i in range(cases)])
    raw = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)

    def direct() -> float:
        t0 = time.perf_counter()
        for i in range(cases):
            server.script(text(REPLY, chunk_size=4))
            stream = raw.chat.completions.create(
                model="gpt-4o-mini", stream=True, stream_options={"include_usage": True},
                messages=[{"role": "system", "content": "You are a benchmark."},
                          {"role": "user", "content": f"Question {i}: capital of France?"}])
            reply = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
            results = evaluate([], Observation(reply=reply, conversation=[], expected="Paris"))
            assert results[0].status == "pass", results
        return (time.perf_counter() - t0) / cases

    def workbench() -> float:
        server.script(*[text(REPLY, chunk_size=4) for _ in range(cases)])
        t0 = time.perf_counter()
        exp = experiments.start_experiment(person, group, ts.id, Variant(agent.id), concurrency=1, wait=True)
        per_case = (time.perf_counter() - t0) / cases
        view = experiments.get_experiment(person, exp)
        assert view.status == "complete" and view.passed_cases == cases, (view.status, view.passed_cases)
        return per_case

    direct(), workbench()  # warm up: connections, first queries
    ratios, d_times, w_times = [], [], []
    for _ in range(rounds):
        d, w = direct(), workbench()
        d_times.append(d)
        w_times.append(w)
        ratios.append(w / d)
        print(f"  round: direct {d * 1000:7.1f} ms/case   workbench {w * 1000:7.1f} ms/case   ratio {w / d:.3f}")
    ratio = statistics.median(ratios)
    print(f"time per case, {cases} cases x {rounds} rounds, ~{len(REPLY) // 4} chunks {CHUNK_DELAY_S * 1000:.0f} ms "
          f"apart: direct {statistics.median(d_times) * 1000:.1f} ms, workbench "
          f"{statistics.median(w_times) * 1000:.1f} ms; median ratio {ratio:.3f} "
          f"(overhead {100 * (ratio - 1):+.1f} %, target < +10 %)")
    server.stop()


if __name__ == "__main__":
    main()
