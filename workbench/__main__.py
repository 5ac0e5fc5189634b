"""`python -m workbench`: the same services from a terminal, for scripts and demos.

    python -m workbench agents
    python -m workbench threads [--archived]
    python -m workbench chat --agent 1 "Hello"          # new thread, reply streamed
    python -m workbench chat --thread 7 "And then?"     # continue a thread
    python -m workbench show 7 [--limit 20]

Acts as the local person (settings) or `--email`; in the person's first group or `--group`.
Every command goes through the same access check as the app."""

from __future__ import annotations

import argparse
import sys

from . import agents, bootstrap, groups, runtime, threads
from .errors import WorkbenchError


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
    return p


def _actor(args) -> tuple[int, int]:
    startup = bootstrap.init_app()
    person_id = startup.person_id
    if args.email:
        person = groups.find_person_by_email(args.email)
        if person is None:
            raise WorkbenchError(f"No person with e-mail {args.email}.")
        person_id = person.id
    mine = groups.list_my_groups(person_id)
    if args.group is not None:
        return person_id, args.group  # the services check membership
    if not mine:
        raise WorkbenchError("You are not a member of any group.")
    return person_id, mine[0][0].id


def _stream(handle: runtime.RunHandle) -> int:
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
                thread, handle = threads.create_thread(group_id, args.agent, person_id,
                                                       initial_message=args.message)
                print(f"[thread {thread.id}]", file=sys.stderr)
            else:
                handle = runtime.continue_thread(args.thread, args.message, person_id)
            return _stream(handle)
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


if __name__ == "__main__":
    sys.exit(main())
