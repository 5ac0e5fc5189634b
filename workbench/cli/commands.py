"""`python -m workbench`: the same services from a terminal, for scripts and demos.

    python -m workbench agents
    python -m workbench threads [--archived]
    python -m workbench chat --agent 1 "Hello"          # new thread, reply streamed
    python -m workbench chat --thread 7 "And then?"     # continue a thread
    python -m workbench show 7 [--limit 20]
    python -m workbench compare --agent 1 --agent 1@2 [--agent 4] "Hello"   # 2 to 4 variants
    python -m workbench replay 7 --agent 1@2 [--model gpt-4o]             # a thread on another version
    python -m workbench dataset import NAME FILE.csv|.jsonl                # create or version a test set
    python -m workbench dataset export NAME FILE.csv|.jsonl
    python -m workbench eval --dataset NAME --agent 1[@2] [--repeat N] [--baseline EXPERIMENT_ID]
                             [--fail-on-regression]                      # exit 1 on a regression (CI)
    python -m workbench optimize --agent 1[@2] --dataset NAME [--budget 60] [--reflection PROVIDER_ID:MODEL]
                                 [--save]                # a better system prompt from the test set (gepa)
    python -m workbench tools                                   # the group's custom tools
    python -m workbench export-agents FILE.json [--agent 1 --agent 2]   # agents + their custom tools
    python -m workbench import-agents FILE.json                 # into the group; all or nothing
    python -m workbench demo [--remove]      # build (or delete) the "Demo" group: runs the built-in model
    python -m workbench serve [--host 127.0.0.1] [--port 8000] [--workers N]   # the OpenAI-compatible API
    python -m workbench keys create NAME [--group G] [--role editor|viewer]    # prints the key once
    python -m workbench keys list | keys revoke ID
    python -m workbench label AGENT VERSION LABEL [--remove]   # point production/staging/... at a version
    python -m workbench labels AGENT

Acts as the local person (settings) or `--email`; in the person's first group or `--group`.
Every command goes through the same access check as the app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import agents, runs, threads
from ..agents.transfer import export_agents, import_agents
from ..errors import WorkbenchError
from ..system import bootstrap
from ..tenancy import groups, people
from ..tools.custom import service as custom_tools
from . import deploy, iterate


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workbench", description="Agent Workbench from a terminal.")
    p.add_argument("--group", type=int, help="group id (default: your first group)")
    p.add_argument("--email", help="act as this person (default: the local person)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("groups", help="list your groups")
    sub.add_parser("agents", help="list the group's agents")
    t = sub.add_parser("threads", help="list the group's threads, newest first")
    t.add_argument("--archived", action="store_true")
    c = sub.add_parser("chat", help="send a message; the reply streams to stdout")
    c.add_argument("message")
    where = c.add_mutually_exclusive_group(required=True)
    where.add_argument("--agent", type=int, help="start a new thread with this agent")
    where.add_argument("--thread", type=int, help="continue this thread")
    s = sub.add_parser("show", help="print a thread's latest messages")
    s.add_argument("thread", type=int)
    s.add_argument("--limit", type=int, default=20)
    cmp = sub.add_parser("compare", help="send one message to 2 to 4 agent variants at once")
    cmp.add_argument("message")
    cmp.add_argument("--agent", action="append", required=True, metavar="ID[@VERSION]",
                     help="a variant: an agent, at a version (default: its latest); repeat 2 to 4 times")
    r = sub.add_parser("replay", help="send a thread's user turns again, on another agent version or model")
    r.add_argument("thread", type=int)
    r.add_argument("--agent", metavar="ID[@VERSION]", help="default: the thread's agent, latest version")
    r.add_argument("--model", help="run on this model instead of the version's")
    d = sub.add_parser("dataset", help="import or export a test set (CSV or JSONL)")
    d.add_argument("action", choices=["import", "export"])
    d.add_argument("name", help="the test set's name")
    d.add_argument("file", help="a .csv or .jsonl file")
    e = sub.add_parser("eval", help="run an experiment: an agent over a test set; prints a table")
    e.add_argument("--dataset", required=True, metavar="NAME", help="the test set's name")
    e.add_argument("--agent", required=True, metavar="ID[@VERSION]")
    e.add_argument("--repeat", type=int, default=1, metavar="N", help="runs per case (default 1)")
    e.add_argument("--concurrency", type=int, default=None, metavar="N", help="cases at once (default 4)")
    e.add_argument("--baseline", type=int, metavar="EXPERIMENT_ID",
                   help="compare with this experiment (default: the test set's previous complete one)")
    e.add_argument("--fail-on-regression", action="store_true",
                   help="exit 1 when a case passing in the baseline fails now (or the run did not finish)")
    op = sub.add_parser("optimize", help="search for a better system prompt over a test set (reflective "
                                         "prompt evolution); prints progress, then the best score")
    op.add_argument("--agent", required=True, metavar="ID[@VERSION]")
    op.add_argument("--dataset", required=True, metavar="NAME", help="the test set's name")
    op.add_argument("--budget", type=int, default=None, metavar="N", help="the most case evaluations (default 60)")
    op.add_argument("--reflection", metavar="PROVIDER_ID:MODEL",
                    help="the model that reads the failures and proposes prompts (default: the agent's)")
    op.add_argument("--save", action="store_true", help="save the best candidate as the agent's newest version")
    sub.add_parser("tools", help="list the group's custom tools")
    ex = sub.add_parser("export-agents", help="write agents and the custom tools they use to a JSON file")
    ex.add_argument("file")
    ex.add_argument("--agent", type=int, action="append", metavar="ID", help="only these agents (repeatable)")
    im = sub.add_parser("import-agents", help="create the agents and tools of an export in the group")
    im.add_argument("file")
    dm = sub.add_parser("demo", help="build the Demo group (agents, knowledge, real runs on the built-in "
                                    "model, generated usage history); idempotent")
    dm.add_argument("--remove", action="store_true", help="delete the Demo group and everything in it")
    dm.add_argument("--quick", action="store_true", help="two model runs instead of five (screenshots in CI)")
    sv = sub.add_parser("serve", help="the OpenAI-compatible API for products (FastAPI on uvicorn)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (default 1)")
    k = sub.add_parser("keys", help="the group's API keys: create (shown once), list, revoke")
    k.add_argument("action", choices=["create", "list", "revoke"])
    k.add_argument("target", nargs="?", metavar="NAME|ID", help="create: the key's name; revoke: its id")
    k.add_argument("--role", choices=["editor", "viewer"], default="editor",
                   help="editor keys start runs; viewer keys only read threads (default editor)")
    k.add_argument("--group", type=int, default=argparse.SUPPRESS, help="group id (default: your first group)")
    lb = sub.add_parser("label", help="point a label (production, staging, ...) at a version of an agent")
    lb.add_argument("agent", metavar="AGENT", help="the agent's id or exact name")
    lb.add_argument("version", type=int, nargs="?", metavar="VERSION")
    lb.add_argument("label", metavar="LABEL")
    lb.add_argument("--remove", action="store_true", help="delete the label instead (no VERSION)")
    lbs = sub.add_parser("labels", help="an agent's labels and the versions they point to")
    lbs.add_argument("agent", metavar="AGENT")
    return p


def _demo(person_id: int, args) -> int:
    # Here, not at module level: the demo loads the knowledge store (Chroma, the embedding
    # model), a second or more that every other command would pay for.
    from ..demo import build_demo, remove_demo

    if args.remove:
        removed = remove_demo(person_id)
        if removed.group_id is None:
            print("No Demo group: nothing removed.")
        else:
            print(f"Removed the Demo group (id {removed.group_id}): {removed.total} rows "
                  f"({', '.join(f'{n} {t}' for t, n in sorted(removed.rows.items()))}) and its Chroma collection.")
        return 0

    def progress(message: str, fraction: float) -> None:
        print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    report = build_demo(person_id, progress, quick=args.quick)
    if not report.created:
        print(f"The Demo group already exists (id {report.group_id}); nothing built. "
              "`python -m workbench demo --remove` first to build it again.")
        return 0
    for step in report.steps:
        print(f"{'ok  ' if step.done else 'MISS'} {step.label}: {step.detail}")
    print(f"Demo group {report.group_id} built in {report.seconds:.0f} s"
          + (f"; {len(report.missed)} step(s) did not happen (see MISS above)." if report.missed else "."))
    return 0


def _transfer(person_id: int, group_id: int, args) -> int:
    if args.command == "tools":
        for view in custom_tools.list_tools(person_id, group_id):
            names = ", ".join(view.config.exposed_names())
            print(f"{view.id}\t{view.name}\t{view.config.kind}\tv{view.version}\t{names}")
        return 0
    path = Path(args.file)
    if args.command == "export-agents":
        path.write_text(export_agents(person_id, group_id, args.agent), encoding="utf-8")
        print(f"exported to {path}")
        return 0
    if not path.is_file():
        raise WorkbenchError(f"No file {args.file}.")
    report = import_agents(person_id, group_id, path.read_bytes())
    print(f"imported {len(report.agents)} agents ({', '.join(report.agents) or '-'}) and "
          f"{len(report.tools)} tools ({', '.join(report.tools) or '-'})")
    for note in report.notes:
        print(f"note: {note}")
    return 0


def _actor(args) -> tuple[int, int]:
    startup = bootstrap.init_app()
    person_id = startup.person_id
    if args.email:
        person = people.find_person_by_email(args.email)
        if person is None:
            raise WorkbenchError(f"No person with e-mail {args.email}.")
        person_id = person.id
    mine = groups.list_my_groups(person_id)
    if args.group is not None:
        return person_id, args.group  # the services check membership
    if not mine:
        raise WorkbenchError("You are not a member of any group.")
    return person_id, mine[0][0].id


def _stream(handle: runs.RunHandle) -> int:
    for update in handle.updates():
        if update.kind == "text":
            sys.stdout.write(update.text)
            sys.stdout.flush()
        elif update.kind == "reset":
            sys.stdout.write("\n[retrying]\n")
        elif update.kind == "tool_start":
            sys.stdout.write(f"\n[tool {update.data['name']} {update.data['arguments']}]\n")
        elif update.kind == "tool_end":
            sys.stdout.write(f"[result {str(update.data['result'])[:200]}]\n")
    result = handle.wait()
    sys.stdout.write("\n")
    if result.status != "complete":
        print(f"[{result.status}] {result.error or ''}".rstrip(), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        # Here, not at module level: uvicorn and FastAPI are for this command only.
        from ..serve.server import serve

        serve(args.host, args.port, args.workers)
        return 0
    try:
        person_id, group_id = _actor(args)
        if args.command == "groups":
            for group, role in groups.list_my_groups(person_id):
                print(f"{group.id}\t{group.name}\t{role}")
        elif args.command == "agents":
            for agent in agents.list_agents(person_id, group_id):
                print(f"{agent.id}\t{agent.name}\t{agent.config.model}\tv{agent.version}")
        elif args.command == "threads":
            for t in threads.list_threads(person_id, group_id, archived=args.archived):
                print(f"{t.id}\t{t.last_activity_at:%Y-%m-%d %H:%M}\t{t.status}\t{t.title}")
        elif args.command == "chat":
            if args.agent is not None:
                thread, handle = runs.create_thread(group_id, args.agent, person_id,
                                                       initial_message=args.message)
                print(f"[thread {thread.id}]", file=sys.stderr)
            else:
                handle = runs.continue_thread(args.thread, args.message, person_id)
            return _stream(handle)
        elif args.command == "compare":
            return iterate.compare(person_id, group_id, args)
        elif args.command == "replay":
            return iterate.replay(person_id, args)
        elif args.command == "dataset":
            return iterate.dataset(person_id, group_id, args)
        elif args.command == "eval":
            return iterate.evaluate(person_id, group_id, args)
        elif args.command == "optimize":
            return iterate.optimize_prompt(person_id, group_id, args)
        elif args.command in ("tools", "export-agents", "import-agents"):
            return _transfer(person_id, group_id, args)
        elif args.command == "demo":
            return _demo(person_id, args)
        elif args.command == "keys":
            return deploy.keys(person_id, group_id, args)
        elif args.command in ("label", "labels"):
            return deploy.label(person_id, group_id, args)
        elif args.command == "show":
            page = threads.get_thread_messages(args.thread, limit=args.limit, actor_id=person_id)
            for m in page.messages:
                who = m.name if m.role in ("tool", "human") and m.name else m.role
                status = "" if m.status == "complete" else f" ({m.status})"
                print(f"--- {who}{status}\n{m.content or m.data.get('error', '')}")
        return 0
    except WorkbenchError as err:
        print(f"error: {err.user_message}", file=sys.stderr)
        return 2

