"""The API server (`python -m workbench serve`) against the model server it calls, in the same
run, under N concurrent streamed requests:

    python bench/api.py [--quick] [--n 64 256] [--rounds R] [--workers W]

--quick is a smoke run of about a minute: N=64 only (unless --n says otherwise), one round,
a shorter window. The full run (N=64 and 256, two rounds) takes about six minutes.

Four processes: the model server (bench/model_server.py, the tests' scripted
OpenAI-compatible server, a reply of 40 small chunks 50 ms apart: about 2 s), the API server
(a real `python -m workbench serve` on a temp data dir, SQLite; its agent calls the model
server), a bare relay (bench/relay_server.py) and this client (asyncio + httpx.AsyncClient:
one per request in flight, each used for every side). Three sides ask for the same reply:

- "direct" sends the agent's request (its system prompt and the message) straight to the
  model server;
- "relay" sends it through the bare relay: uvicorn and an httpx client passing the bytes
  through, nothing else. What it loses against direct is the price of any Python server in
  the middle on these cores, the floor under the API's figures;
- "api" sends the message to the agent through the API: a key checked, the agent
  resolved, a new thread, a run (budget and rate checks, traced, priced), the reply relayed
  as SSE. Limits stay set (far out of reach), so every start pays for the checks.

Two loads per N, each side in turn (the order alternates by round), after a warm-up:

- steady: N requests always in flight (N clients, each sending its next request when the
  last ends; their starts spread over one reply's time so arrivals are spread as under a
  steady load). Measured once every client has had an answer (the load is steady, however
  slow the answers), over a window of 3 replies' time (1.5 with --quick): throughput =
  requests completed in the window / its length; TTFT (time to the first content delta)
  of the requests started in it.
- burst: N requests sent at the same instant, once. Throughput = N / time until the last
  ended; TTFT of all N (the later starts wait for the earlier ones).

Printed: requests/s of the relay and the API and their ratio to direct (API / direct: goal
>= 0.8 at N=256), and their TTFT p50/p95 and the time added to direct's (API: goal p50 <=
10 ms), replies lost or changed, and the CPU milliseconds per request each process
used while each side ran. The client checks every reply's text against the expected one."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODEL = "slow"  # bench/model_server.py: 40 chunks, 50 ms apart
PROMPT = "You are a benchmark."
ASK = "Hi"


@dataclass
class Sample:
    started: float
    ttft: float | None  # seconds to the first content delta
    ended: float
    ok: bool
    error: str = ""


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class Side:
    """One way of asking for the same reply: straight to the model server, or through the API."""

    def __init__(self, name: str, url: str, headers: dict, body: dict, expected: str):
        self.name, self.url, self.expected = name, url, expected
        self.headers = {"Content-Type": "application/json", **headers}
        self.body = json.dumps(body).encode()

    async def one(self, client) -> Sample:
        started = time.perf_counter()
        first, parts, error = None, [], ""
        try:
            async with client.stream("POST", self.url, content=self.body, headers=self.headers) as r:
                if r.status_code != 200:
                    error = f"HTTP {r.status_code}: {(await r.aread())[:200]!r}"
                else:
                    # Raw bytes split into events here (httpx's line decoding costs more per
                    # token than the parse), and read to the end of the body, past [DONE]: a
                    # response closed before its end takes its connection with it.
                    pending, done = b"", False
                    async for piece in r.aiter_raw():
                        pending += piece
                        *events, pending = pending.split(b"\n\n")
                        for event in events:
                            if done or not event.startswith(b"data: "):
                                continue
                            data = event[6:]
                            if data == b"[DONE]":
                                done = True
                                continue
                            chunk = json.loads(data)
                            if "error" in chunk:
                                error, done = str(chunk["error"])[:200], True
                                continue
                            for choice in chunk.get("choices") or ():
                                content = (choice.get("delta") or {}).get("content")
                                if content:
                                    if first is None:
                                        first = time.perf_counter() - started
                                    parts.append(content)
        except Exception as exc:  # noqa: BLE001 - counted as a failed request
            error = repr(exc)[:200]
        ended = time.perf_counter()
        text = "".join(parts)
        if not error and text != self.expected:
            error = f"reply changed or cut: {len(text)} of {len(self.expected)} chars"
        return Sample(started, first, ended, not error, error)


async def steady(side: Side, clients, n: int, ramp_s: float, window_s: float, settle_max_s: float) -> dict:
    """N requests always in flight; measured over `window_s` once the load is steady: every
    client has finished a request (at most `settle_max_s` after the last one started)."""
    samples: list[Sample] = []
    finished = [0] * n
    stop = asyncio.Event()

    async def worker(i: int) -> None:
        await asyncio.sleep(ramp_s * i / n)
        while not stop.is_set():
            samples.append(await side.one(clients[i]))
            finished[i] += 1

    workers = [asyncio.create_task(worker(i)) for i in range(n)]
    settle_until = time.perf_counter() + ramp_s + settle_max_s
    while min(finished) == 0 and time.perf_counter() < settle_until:
        await asyncio.sleep(0.05)
    window_from = time.perf_counter()
    await asyncio.sleep(window_s)
    window_to = time.perf_counter()
    stop.set()
    await asyncio.gather(*workers)
    done = [s for s in samples if window_from <= s.ended <= window_to]
    started_in = [s for s in samples if window_from <= s.started <= window_to]
    return {"rps": sum(s.ok for s in done) / window_s, "ttft": [s.ttft for s in started_in if s.ok and s.ttft],
            "count": len(samples), "failed": [s.error for s in samples if not s.ok]}


async def burst(side: Side, clients, n: int) -> dict:
    """N requests at the same instant; throughput = N / time until the last one ended."""
    begin = time.perf_counter()
    samples = await asyncio.gather(*(side.one(clients[i]) for i in range(n)))
    span = max(s.ended for s in samples) - begin
    return {"rps": sum(s.ok for s in samples) / span, "ttft": [s.ttft for s in samples if s.ok and s.ttft],
            "count": n, "failed": [s.error for s in samples if not s.ok]}


def setup(data_dir: str, base_url: str) -> tuple[int, str]:
    """The agent (on the model server) and an editor key, in the API server's database."""
    os.environ["WORKBENCH_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    from bench.runtime import _lift_limits
    from workbench import agents
    from workbench.providers import service as providers
    from workbench.serve import keys
    from workbench.system import bootstrap

    start = bootstrap.init_app()
    person, group = start.person_id, start.group_id
    _lift_limits(group)
    provider = providers.add_provider(person, group, name="Bench", preset="openai", base_url=base_url,
                                      api_key_name="")
    agent = agents.create_agent(person, group, name="Bench API", provider_id=provider.id, model=MODEL,
                                system_prompt=PROMPT, tools=[])
    return agent.id, keys.create_key(person, group, "bench").secret


def start_api(data_dir: str, workers: int, log_path: Path) -> tuple[str, subprocess.Popen]:
    port = _free_port()
    env = {**os.environ, "WORKBENCH_DATA_DIR": data_dir}
    env.pop("DATABASE_URL", None)
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API server exited ({proc.returncode}); see {log_path}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the API server did not start in 60 s; see {log_path}")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _processes(pid: int) -> list[int]:
    """pid and its children (uvicorn --workers N runs N worker processes under a supervisor)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _line(kind: str, n: int, direct: dict, other: dict, name: str) -> str:
    d50, d95 = _percentile(direct["ttft"], 0.5) * 1000, _percentile(direct["ttft"], 0.95) * 1000
    a50, a95 = _percentile(other["ttft"], 0.5) * 1000, _percentile(other["ttft"], 0.95) * 1000
    failed = len(direct["failed"]) + len(other["failed"])
    return (f"N={n:<3} {kind:<6} {name:<5} {other['rps']:6.1f} req/s, direct {direct['rps']:6.1f} req/s, "
            f"ratio {other['rps'] / direct['rps']:.2f} | TTFT p50 {a50:6.1f} ms, direct {d50:5.1f} ms, "
            f"added {a50 - d50:6.1f} ms | p95 {a95:6.1f} ms, direct {d95:5.1f} ms, added {a95 - d95:6.1f} ms"
            f" | failed {failed} of {direct['count'] + other['count']}")


def _merge(results: list[dict]) -> dict:
    return {"rps": statistics.median(r["rps"] for r in results), "ttft": [t for r in results for t in r["ttft"]],
            "count": sum(r["count"] for r in results), "failed": [e for r in results for e in r["failed"]]}


async def run(args, sides: list[Side], pids: dict[str, list[int]]) -> None:
    """`sides`: direct first, then the others, each compared with it (the API last)."""
    import httpx

    from bench import model_server

    most = max(args.n)
    reply_s = len(model_server.SLOW_TEXT.split()) * 0.05
    window_s = reply_s * (1.5 if args.quick else 3)
    # One client per request in flight, each used for every side: a connection kept alive per
    # side and client. (One client for all: httpx's pool then scans its hundreds of kept-alive
    # connections on every request and becomes the bottleneck, 29 vs 119 requests/s at N=256.)
    # Idle connections are dropped after 4 s, before uvicorn's 5 s would close them under a
    # request about to be sent.
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4, keepalive_expiry=4.0)
    tls = ssl.create_default_context()  # loaded once, not per client (plain HTTP here anyway)
    clients = [httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120.0), verify=tls) for _ in range(most)]
    names = [side.name for side in sides]
    try:
        # Warm-up: imports, caches, each side's connections (the largest N at once), unmeasured.
        for side in sides:
            for _ in range(1 if args.quick else 3):
                warm = await side.one(clients[0])
                assert warm.ok, f"{side.name}: {warm.error}"
            await burst(side, clients, most)
        verdicts = []
        for n in args.n:
            results = {(kind, name): [] for kind in ("steady", "burst") for name in names}
            cpu = {name: {proc: 0.0 for proc in pids} for name in names}
            for r in range(args.rounds):
                order = sides if r % 2 == 0 else sides[::-1]
                for side in order:
                    before = {proc: sum(_cpu_s(p) for p in ps) for proc, ps in pids.items()}
                    results[("steady", side.name)].append(await steady(side, clients, n, reply_s, window_s, 30.0))
                    results[("burst", side.name)].append(await burst(side, clients, n))
                    for proc, ps in pids.items():
                        cpu[side.name][proc] += sum(_cpu_s(p) for p in ps) - before[proc]
            for kind in ("steady", "burst"):
                d = _merge(results[(kind, "direct")])
                for name in names[1:]:
                    other = _merge(results[(kind, name)])
                    print(_line(kind, n, d, other, name), flush=True)
                    for err in sorted(set(d["failed"] + other["failed"]))[:3]:
                        print(f"        e.g. {err}")
                    if kind == "steady" and name == "api":
                        verdicts.append((n, other["rps"] / d["rps"], (_percentile(other["ttft"], 0.5)
                                                                     - _percentile(d["ttft"], 0.5)) * 1000))
            sent = {name: sum(r["count"] for kind in ("steady", "burst") for r in results[(kind, name)])
                    for name in names}
            print(f"        CPU ms per request ({', '.join(pids)}): "
                  + "; ".join(f"{name} " + ", ".join(f"{cpu[name][p] * 1000 / sent[name]:.1f}" for p in pids)
                              for name in names), flush=True)
        n, ratio, added = max(verdicts)
        where = f"N={n}" if n == 256 else f"N={n} (they are set for N=256)"
        print(f"goals at {where}, steady: ratio {ratio:.2f} (goal >= 0.8) {'met' if ratio >= 0.8 else 'NOT met'}; "
              f"added p50 TTFT {added:.1f} ms (goal <= 10 ms) {'met' if added <= 10 else 'NOT met'}")
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def start_relay(base_url: str) -> tuple[str, subprocess.Popen]:
    """bench/relay_server.py: the bare relay the API is also measured against."""
    import httpx

    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "relay_server.py"), base_url, str(port)],
                            cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return url, proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the relay did not start in 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N=64, one round, a shorter window (a smoke run)")
    parser.add_argument("--n", type=int, nargs="+", help="requests in flight (default 64 256; 64 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds per N, the order of the sides alternating "
                                                    "(default 2; 1 with --quick)")
    parser.add_argument("--workers", type=int, default=1, help="API server worker processes (default 1)")
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.n = args.n or ([64] if args.quick else [64, 256])
    t0 = time.perf_counter()

    from bench import model_server

    data_dir = tempfile.mkdtemp(prefix="bench-api-")
    base_url, server = model_server.start()
    agent_id, key = setup(data_dir, base_url)
    api_url, api_proc = start_api(data_dir, args.workers, Path(data_dir) / "serve.log")
    asked = {"model": MODEL, "stream": True, "messages": [{"role": "system", "content": PROMPT},
                                                         {"role": "user", "content": ASK}]}
    direct = Side("direct", base_url + "/chat/completions", {}, asked, model_server.SLOW_TEXT)
    relay_url, relay_proc = start_relay(base_url)
    relay = Side("relay", relay_url + "/chat/completions", {}, asked, model_server.SLOW_TEXT)
    api = Side("api", api_url + "/v1/chat/completions", {"Authorization": f"Bearer {key}"},
               {"model": str(agent_id), "stream": True, "messages": [{"role": "user", "content": ASK}]},
               model_server.SLOW_TEXT)
    try:
        import uvloop
    except ImportError:
        uvloop = None
    loops = "uvloop" if uvloop else "asyncio"
    print(f"{os.cpu_count()} CPU cores shared by four processes: the client ({loops}, httpx), the model server "
          f"(threads, one per connection), the bare relay and the API server (uvicorn, {args.workers} worker"
          f"{'s' if args.workers > 1 else ''}, SQLite). Reply: 40 chunks 50 ms apart (~2 s); "
          f"{args.rounds} round{'s' if args.rounds > 1 else ''} per N, sides alternating. Load average at the "
          f"start: {_load()} (other programs on the machine compete for the same cores).", flush=True)
    pids = {"client": [os.getpid()], "model server": [server.pid], "relay": [relay_proc.pid],
            "api server": _processes(api_proc.pid)}
    sides = [direct, relay, api]
    try:
        if uvloop:
            uvloop.run(run(args, sides, pids))
        else:
            asyncio.run(run(args, sides, pids))
    finally:
        relay_proc.terminate()
        api_proc.terminate()
        try:
            api_proc.wait(20)
        except subprocess.TimeoutExpired:
            api_proc.kill()
        server.stdin.close()
        server.wait(10)
    print(f"({time.perf_counter() - t0:.0f} s in all; load average at the end: {_load()})")


if __name__ == "__main__":
    main()
