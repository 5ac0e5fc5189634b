"""Screenshots of every page in the navigation for the README, taken from a freshly built demo
workspace.

    python scripts/screenshots.py [--out docs] [--quick] [--pages chat,usage]

Builds the demo (`python -m workbench demo`, real runs of the built-in model) in a temporary
data directory, starts `streamlit run app.py` on a free loopback port with the same data,
drives headless Chromium (selenium) to each page, and saves one PNG per page named after its
view file (Home, Chat with a tool step, Agents with a version diff, Tools, Playground,
Experiments with the demo experiment's results, Deploy with the demo's API key and label,
Knowledge, Tasks, Traces with a timeline, Events, Usage, Prices, Groups, Settings), each under
300 kB (re-encoded as a palette PNG when larger). `--quick` builds the demo with two conversations instead of five (CI)."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 300_000
WINDOW = (1400, 900)
PAGES = ["home", "chat", "agents", "tools", "playground", "experiments", "deploy", "knowledge", "tasks", "traces",
         "events", "usage", "prices", "groups", "settings"]  # every page in app.py's navigation, in its order


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _landmarks(env: dict[str, str]) -> dict[str, int] | None:
    """Ids the URLs need, read through the services in a child process with the same data;
    None when that data has no demo workspace yet."""
    code = r"""
import json
from workbench import agents, experiments, threads
from workbench.demo import find_demo_group
from workbench.observe import traces
from workbench.system import bootstrap
from workbench.playground import list_comparisons
person = bootstrap.init_app().person_id
group = find_demo_group(person)
if group is None:
    print("null")
    raise SystemExit
by_name = {a.name: a.id for a in agents.list_agents(person, group)}
support = by_name["Support agent"]
# The triage agent's first thread, a create_task call and the reply made from its result: the one
# made first (the demo runs two conversations at once, so it need not be the first to end).
thread = min(t.id for t in threads.list_threads(person, group, agent_id=by_name["Triage agent"]))
run = traces.list_runs(person, group, traces.RunFilters(thread_id=thread), limit=1).rows[0].id
comparisons = list_comparisons(person, group)
done = experiments.list_experiments(person, group)
print(json.dumps({"group": group, "support": support, "thread": thread, "run": run,
                  "comparison": comparisons[0][0] if comparisons else 0, "experiment": done[0].id if done else 0}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    import json

    return json.loads(out.strip().splitlines()[-1])


def _start_app(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    log = open(Path(env["WORKBENCH_DATA_DIR"]) / "streamlit.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("streamlit did not start; see " + log.name)


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--hide-scrollbars", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                 f"--user-data-dir={tempfile.mkdtemp()}"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def _wait(driver, predicate, timeout: float = 60, what: str = "the page") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - still rendering
            pass
        time.sleep(0.3)
    body = driver.find_element("tag name", "body").text[-800:]
    raise SystemExit(f"timed out waiting for {what}; page text: {body}")


def _settled(driver) -> None:
    """Streamlit has finished the run: no running indicator and no skeletons for a moment."""
    from selenium.webdriver.common.by import By

    def idle() -> bool:
        running = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']")
        busy = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stSkeleton'], [data-testid='stSpinner']")
        return not any(e.is_displayed() for e in running) and not busy

    _wait(driver, idle, what="the script run to finish")
    time.sleep(0.75)  # a rerun the first run asked for starts within this
    _wait(driver, idle, what="the script run to finish")


def _scroll_to(driver, text: str) -> None:
    found = driver.execute_script("""
        const want = arguments[0];
        const el = [...document.querySelectorAll('p, h1, h2, h3, strong, summary, span, button, div')]
            .filter(e => e.textContent.includes(want))
            .sort((a, b) => a.textContent.length - b.textContent.length)[0];
        if (el) el.scrollIntoView({block: 'start'});
        return !!el;""", text)
    if not found:
        print(f"  (could not scroll to {text!r})", flush=True)
    time.sleep(0.8)


def _click_tab(driver, label: str) -> None:
    from selenium.webdriver.common.by import By

    for tab in driver.find_elements(By.CSS_SELECTOR, "[role='tab']"):
        if label in (tab.text.strip(), (tab.get_attribute('textContent') or '').strip()):
            tab.click()
            time.sleep(0.5)
            return
    raise SystemExit(f"no tab {label!r}")


def _save(driver, path: Path) -> int:
    from PIL import Image

    png = driver.get_screenshot_as_png()
    if len(png) > MAX_BYTES:  # a palette PNG: screenshots of flat UI lose nothing visible
        img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        buf = io.BytesIO()
        img.save(buf, format="PNG", optimize=True)
        png = buf.getvalue()
    path.write_bytes(png)
    return len(png)


def shoot(base: str, ids: dict[str, int], out: Path, pages: list[str] | None = None) -> dict[str, int]:
    from selenium.webdriver.common.by import By

    g = ids["group"]
    body = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
    plan = {
        "home": (f"/?group={g}", "Recent threads", None),
        "chat": (f"/chat?group={g}&thread={ids['thread']}", "Export to CSV", None),
        "agents": (f"/Agents?group={g}&agent={ids['support']}&version=2", "From version", "From version"),
        "tools": (f"/tools?group={g}", "Export or import agents with their tools", None),
        "playground": (f"/playground?group={g}" + (f"&comparison={ids['comparison']}" if ids["comparison"]
                                                   else f"&agent={ids['support']}"), "Playground",
                       "Comparison #" if ids["comparison"] else None),
        "experiments": (f"/experiments?group={g}" + (f"&experiment={ids['experiment']}" if ids["experiment"] else ""),
                        "Test sets", None),
        "deploy": (f"/deploy?group={g}", "Revoke a key", "API keys"),
        "knowledge": (f"/Knowledge?group={g}", "2 documents", None),
        "tasks": (f"/Tasks?group={g}", "Export to CSV", None),
        "traces": (f"/Traces?group={g}&run={ids['run']}", "create_task", "Timeline"),
        "events": (f"/Events?group={g}", "Page 1 ·", None),
        "usage": (f"/Usage?group={g}", "generated demo history", "Includes generated demo history"),
        "prices": (f"/Prices?group={g}", "Show superseded", None),
        "groups": (f"/Groups?group={g}", "Members (", None),
        "settings": (f"/settings?group={g}", "Built-in (offline)", None),
    }
    driver = _browser()
    sizes = {}
    try:
        for name in pages or PAGES:
            page_started = time.perf_counter()
            path_q, expect, scroll = plan[name]
            driver.get(base + path_q)
            _wait(driver, lambda: expect in body(driver), what=f"{name}: {expect!r}")
            _settled(driver)
            if name == "knowledge":  # the page opens on its Add tab: show the documents
                _click_tab(driver, "Documents")
                _wait(driver, lambda: "chunks of 800 characters" in body(driver), what="the document list")
                _settled(driver)
            if name == "experiments":  # the page opens on its Test sets tab: show the experiment's results
                _click_tab(driver, "Results")
                _wait(driver, lambda: "Cases passed" in body(driver), what="the experiment's results")
                _settled(driver)
            if scroll:
                _scroll_to(driver, scroll)
            sizes[name] = _save(driver, out / f"{name}.png")
            print(f"{name}.png {sizes[name] / 1000:.0f} kB in {time.perf_counter() - page_started:.1f} s", flush=True)
    finally:
        driver.quit()
    return sizes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "docs"), help="where the PNGs go (default: docs/)")
    p.add_argument("--quick", action="store_true", help="build the demo with two model runs instead of five")
    p.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    p.add_argument("--pages", help=f"comma-separated pages to shoot (default: all of {', '.join(PAGES)})")
    p.add_argument("--data", help="use this data directory instead of a temporary one (its demo "
                                  "workspace if it has one, else one is built); it is kept")
    args = p.parse_args(argv)
    pages = [name.strip() for name in args.pages.split(",")] if args.pages else None
    unknown = sorted(set(pages or ()) - set(PAGES))
    if unknown:
        p.error(f"unknown pages: {', '.join(unknown)}; choose from {', '.join(PAGES)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="workbench-shots-"))
    args.keep = args.keep or bool(args.data)
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(data), "WORKBENCH_SECRETS_FILE": str(data / "secrets.toml")}
    env.pop("DATABASE_URL", None)
    env.pop("WORKBENCH_CHROMA_HOST", None)
    proc = None
    try:
        ids = _landmarks(env) if args.data else None
        if ids is None:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "workbench", "demo", *(["--quick"] if args.quick else [])],
                           cwd=ROOT, env=env, check=True)
            print(f"demo built in {time.perf_counter() - started:.0f} s", flush=True)
            ids = _landmarks(env)
        else:
            print(f"using the demo workspace already in {data}", flush=True)
        proc, base = _start_app(env)
        shoot(base, ids, out, pages)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
