"""The CLI's iterate commands: compare variants, replay a thread, import and export test sets,
run an experiment (eval) and search for a better prompt (optimize)."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import experiments, optimize, threads
from ..errors import WorkbenchError
from ..playground import (
    Variant,
    compare_replay,
    get_comparison,
    parse_variant,
    replay_thread,
    start_comparison,
)


def ms_text(ms) -> str:
    return "–" if ms is None else f"{ms:,.0f} ms"


def compare(person_id: int, group_id: int, args) -> int:
    variants = [parse_variant(spec) for spec in args.agent]
    live = start_comparison(person_id, group_id, variants, args.message)
    print(f"[comparison {live.id}]", file=sys.stderr)
    live.wait()
    view = get_comparison(person_id, live.id)
    for column in view.columns:
        r = column.result
        print(f"=== {column.position + 1}. {column.label}" + (f" (run {r.run_id})" if r.run_id else ""))
        print(r.reply if r.status == "complete" else f"[{r.status}] {r.error or r.reply}")
        print(f"ttft {ms_text(r.ttft_ms)} · duration {ms_text(r.duration_ms)} · tokens {r.input_tokens} in / "
              f"{r.output_tokens} out · cost ${r.cost_usd:.6f}")
    return 0 if all(c.result.status == "complete" for c in view.columns) else 1


def replay(person_id: int, args) -> int:
    variant = None
    if args.agent or args.model:
        if args.agent:
            variant = parse_variant(args.agent)
        else:
            variant = Variant(agent_id=threads.get_thread(person_id, args.thread).agent_id)
        if args.model:
            variant.overrides["model"] = args.model
    new_id = replay_thread(person_id, args.thread, variant)
    print(f"[replay thread {new_id} of thread {args.thread}]")
    view = compare_replay(person_id, new_id)
    for turn in view.turns:
        print(f"--- turn {turn.index + 1}: {turn.user[:70]}")
        for label, result in (("original", turn.original), ("replay", turn.replay)):
            if result is None:
                print(f"  {label:8} (no reply)")
                continue
            print(f"  {label:8} [{result.status}] {result.input_tokens} in / {result.output_tokens} out · "
                  f"${result.cost_usd:.6f} · {result.reply[:80]!r}")
    return 0 if all(t.replay and t.replay.status == "complete" for t in view.turns) else 1


def dataset(person_id: int, group_id: int, args) -> int:
    path = Path(args.file)
    if args.action == "import":
        if not path.is_file():
            raise WorkbenchError(f"No file {args.file}.")
        ts = experiments.import_test_set(person_id, group_id, args.name, path.read_bytes(), path.name)
        print(f"test set {ts.name!r}: version {ts.version}, {len(ts.cases)} cases")
        return 0
    ts = experiments.find_test_set(person_id, group_id, args.name)
    path.write_text(experiments.export_test_set(person_id, ts.id, path.name), encoding="utf-8")
    print(f"exported {len(ts.cases)} cases of {ts.name!r} v{ts.version} to {path}")
    return 0


def evaluate(person_id: int, group_id: int, args) -> int:
    ts = experiments.find_test_set(person_id, group_id, args.dataset)
    exp_id = experiments.start_experiment(person_id, group_id, ts.id, parse_variant(args.agent),
                                          repeats=args.repeat, concurrency=args.concurrency)
    print(f"[experiment {exp_id}] {ts.name} v{ts.version}: {len(ts.cases)} cases x {args.repeat}", file=sys.stderr)
    shown = -1
    while not experiments.wait_experiment(exp_id, 0.5):
        done = experiments.get_experiment(person_id, exp_id).done
        if done != shown:
            print(f"  {done}/{len(ts.cases) * args.repeat}", file=sys.stderr)
            shown = done
    view = experiments.get_experiment(person_id, exp_id)
    baseline = args.baseline or experiments.previous_experiment(person_id, exp_id)
    report = experiments.compare_experiments(person_id, baseline, exp_id) if baseline else None
    changes = {c.key: c.change for c in report.cases} if report else {}
    print(f"{'#':>3}  {'input':40}  {'passed':>6}  {'state':7}  {'change':12}  {'p50 ms':>8}  {'cost $':>9}")
    for case in view.cases:
        text = case.input if isinstance(case.input, str) else case.input[-1]["content"]
        lat = sorted(a.latency_ms for a in case.attempts if a.latency_ms is not None)
        passed = f"{sum(a.outcome == 'pass' for a in case.attempts)}/{len(case.attempts)}"
        print(f"{case.index + 1:>3}  {text.replace(chr(10), ' ')[:40]:40}  {passed:>6}  {case.state:7}  "
              f"{changes.get(case.key, '-'):12}  {number_text(lat[len(lat) // 2] if lat else None):>8}  "
              f"{sum(a.cost_usd for a in case.attempts):9.6f}")
        for a in case.attempts:
            for check in a.checks:
                if check["status"] != "pass":
                    print(f"       repeat {a.repeat + 1}: {check['status']} {check['name']}: {check['reason'][:100]}")
    rate = "-" if view.pass_rate is None else f"{view.pass_rate:.0%}"
    print(f"experiment {exp_id} ({view.status}): pass rate {rate}, cost ${view.cost_usd:.6f}, "
          f"p50 {ms_text(view.latency_ms(50))}, p95 {ms_text(view.latency_ms(95))}")
    if view.error:
        print(f"stopped: {view.error}")
    failing = False
    if report:
        counts = {k: len(report.of(k)) for k in ("regressed", "improved", "became flaky")}
        print(f"vs experiment {baseline}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        failing = bool(report.regressions)
    print(f"passed {view.passed_cases}/{len(view.cases)} cases")
    if args.fail_on_regression and (failing or view.status != "complete"):
        return 1
    return 0


def optimize_prompt(person_id: int, group_id: int, args) -> int:
    variant = parse_variant(args.agent)
    ts = experiments.find_test_set(person_id, group_id, args.dataset)
    provider_id = model = None
    if args.reflection:
        provider, _, model = args.reflection.partition(":")
        if not provider.strip().isdigit():
            raise WorkbenchError("--reflection takes PROVIDER_ID:MODEL, for example 2:gpt-4o-mini.")
        provider_id = int(provider)
    opt_id = optimize.start_optimization(person_id, group_id, variant.agent_id, ts.id, version=variant.version,
                                         budget=args.budget or optimize.DEFAULT_BUDGET,
                                         reflection_provider_id=provider_id, reflection_model=model or None)
    shown = None
    while True:
        ended = optimize.wait_optimization(opt_id, 0.5)
        view = optimize.get_optimization(person_id, opt_id)
        line = (f"[optimization {opt_id}] {view.evaluations}/{view.budget} evaluations, "
                f"best {score_text(view.best_score)} (start {score_text(view.start_score)})")
        if line != shown:
            print(line, flush=True)
            shown = line
        if ended:
            break
    if view.status == "failed":
        raise WorkbenchError(f"The optimization failed: {view.error}")
    last = f"best {score_text(view.best_score)} (start {score_text(view.start_score)}) after {view.evaluations} evaluations"
    if args.save and view.best_index is not None:
        last += f"; saved as version {optimize.save_candidate(person_id, opt_id)}"
    print(last)
    return 0


def score_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def number_text(value) -> str:
    return "-" if value is None else f"{value:,.0f}"
