"""An optimization's time per evaluation vs the same search calling the model directly, same
scripted server, same process, same run:

    python bench/optimize.py [--quick]

Workbench: `optimize.start_optimization` over a 6-case test set (a seeded 3/3 split): gepa
drives the search; every evaluation is an experiment's run (admitted under the budget and
rate limits, a hidden thread, the reply streamed, saved, traced, priced, checked, stored) and
every reflection a run of kind `optimization`; the search's state is kept in the database.
Direct: gepa drives the same search with a bare adapter: the raw `openai` client streams the
same requests (the same concurrency, 4 at once), the same check is evaluated, (candidate,
case) pairs are read back from memory as the workbench reads them back from its results,
nothing is stored. The model greets in French only when the prompt asks, so both searches
take the same path. Each reply streams 40 chunks 25 ms apart (about 1 s). Rounds alternate
the two; the figure is the median per-round ratio of time per evaluation.
Target: overhead under 10 % (ratio < 1.10)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FILLER = "".join(f"w{i} " for i in range(36))
CHUNK_DELAY_S = 0.025
PROMPTS = ["You are a support agent. Always answer in French.",
           "You are a support agent. Always answer in French and thank the customer."]
BUDGET, CASES, CONCURRENCY = 21, 6, 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one round (a smoke run)")
    args = parser.parse_args()
    rounds = 1 if args.quick else 3

    os.environ["WORKBENCH_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-optimize-")
    os.environ.pop("DATABASE_URL", None)
    import gepa
    import openai
    from gepa.core.adapter import EvaluationBatch

    from bench.runtime import _lift_limits
    from tests.scripted_openai import ScriptedOpenAIServer, text
    from workbench import agents, experiments, optimize
    from workbench.experiments.checks import Observation, evaluate
    from workbench.optimize.search import REFLECTOR
    from workbench.providers import service as providers
    from workbench.system import bootstrap

    reflections = {"n": 0}

    def respond(body):
        system = body["messages"][0]["content"]
        if system == REFLECTOR or system == "direct-reflector":
            reflections["n"] += 1
            return text(f"```\n{PROMPTS[min(reflections['n'], 2) - 1]}\n```", chunk_size=8)
        reply = "Bonjour" if "French" in system else "Hello"
        return text(FILLER + reply + (", merci!" if "thank" in system else "!"), chunk_size=4)

    server = ScriptedOpenAIServer(chunk_delay=CHUNK_DELAY_S).start().respond_with(respond)
    start = bootstrap.init_app()
    person, group = start.person_id, start.group_id
    _lift_limits(group)
    provider = providers.add_provider(person, group, name="Bench", preset="openai", base_url=server.base_url,
                                      api_key_name="")
    agent = agents.create_agent(person, group, name="Bench", provider_id=provider.id, model="gpt-4o-mini",
                                system_prompt="You are a support agent.", tools=[])
    checks = [{"type": "contains", "value": "Bonjour"}, {"type": "contains", "value": "merci"}]
    cases = [{"key": f"c{i}", "input": f"Customer {i} says hi", "checks": checks} for i in range(CASES)]
    ts = experiments.create_test_set(person, group, "Bench", cases=[{k: c[k] for k in ("input", "checks")}
                                                                    for c in cases])
    stored = experiments.get_test_set(person, ts.id).cases
    raw = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)

    def stream(system: str, user: str) -> str:
        chunks = raw.chat.completions.create(model="gpt-4o-mini", stream=True, stream_options={"include_usage": True},
                                             messages=[{"role": "system", "content": system},
                                                       {"role": "user", "content": user}])
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    class Direct:
        propose_new_texts = None

        def __init__(self):
            self.seen: dict[tuple[str, str], float] = {}
            self.calls = 0

        def evaluate(self, batch, candidate, capture_traces=False):
            prompt = candidate["system_prompt"]
            todo = [c for c in batch if (prompt, c["key"]) not in self.seen]

            def one(case):
                reply = stream(prompt, case["input"])
                results = evaluate(case["checks"], Observation(reply=reply, conversation=[], expected=None))
                return case["key"], sum(r.status == "pass" for r in results) / len(results), reply

            with ThreadPoolExecutor(CONCURRENCY) as pool:
                for key, score, _ in pool.map(one, todo):
                    self.seen[(prompt, key)] = score
            self.calls += len(todo)
            scores = [self.seen[(prompt, c["key"])] for c in batch]
            traces = [{"input": c["input"], "score": s} for c, s in zip(batch, scores)] if capture_traces else None
            return EvaluationBatch(outputs=[{} for _ in batch], scores=scores, trajectories=traces)

        def make_reflective_dataset(self, candidate, eval_batch, components):
            return {name: [{"Inputs": t["input"], "Generated Outputs": "", "Feedback": f"score {t['score']}"}
                           for t in eval_batch.trajectories] for name in components}

    class Quiet:
        def log(self, message):
            pass

    def direct() -> tuple[float, int]:
        reflections["n"] = 0
        adapter = Direct()
        train, val = optimize.split_cases([c["key"] for c in stored], 0)
        by_key = {c["key"]: {**c, "checks": checks} for c in stored}
        t0 = time.perf_counter()
        gepa.optimize(seed_candidate={"system_prompt": "You are a support agent."},
                      trainset=[by_key[k] for k in train], valset=[by_key[k] for k in val], adapter=adapter,
                      reflection_lm=lambda prompt: stream("direct-reflector", str(prompt)), max_metric_calls=BUDGET,
                      logger=Quiet(), track_best_outputs=False, display_progress_bar=False, seed=0,
                      raise_on_exception=True)
        return (time.perf_counter() - t0) / adapter.calls, adapter.calls

    def workbench() -> tuple[float, int]:
        reflections["n"] = 0
        t0 = time.perf_counter()
        opt = optimize.start_optimization(person, group, agent.id, ts.id, budget=BUDGET, wait=True)
        seconds = time.perf_counter() - t0
        view = optimize.get_optimization(person, opt)
        assert view.status == "finished" and view.best_score == 1.0, (view.status, view.best_score, view.error)
        return seconds / view.evaluations, view.evaluations

    direct(), workbench()  # warm up: connections, first queries, imports
    ratios, d_times, w_times = [], [], []
    for _ in range(rounds):
        (d, dn), (w, wn) = direct(), workbench()
        assert dn == wn, f"the searches took different paths: {dn} vs {wn} evaluations"
        d_times.append(d)
        w_times.append(w)
        ratios.append(w / d)
        print(f"  round: {wn} evaluations; direct {d * 1000:7.1f} ms/evaluation   workbench {w * 1000:7.1f} "
              f"ms/evaluation   ratio {w / d:.3f}")
    ratio = statistics.median(ratios)
    print(f"time per evaluation (a {CASES}-case test set, budget {BUDGET}, {CONCURRENCY} cases at once, replies of "
          f"~{len(FILLER) // 4 + 3} chunks {CHUNK_DELAY_S * 1000:.0f} ms apart): direct "
          f"{statistics.median(d_times) * 1000:.1f} ms, workbench {statistics.median(w_times) * 1000:.1f} ms; "
          f"median ratio {ratio:.3f} (overhead {100 * (ratio - 1):+.1f} %, target < +10 %)")
    server.stop()


if __name__ == "__main__":
    main()
