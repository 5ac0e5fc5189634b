"""The CLI's deploy commands: the group's API keys and an agent's version labels."""

from __future__ import annotations

import sys

from .. import agents
from ..errors import WorkbenchError
from ..serve import keys as serve_keys


def keys(person_id: int, group_id: int, args) -> int:
    if args.action == "list":
        for key in serve_keys.list_keys(person_id, group_id):
            state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
            print(f"{key.id}\t{key.prefix}…\t{key.name}\t{key.role}\t{state}\t{used}")
        return 0
    if not args.target:
        raise WorkbenchError(f"keys {args.action} needs " + ("a name." if args.action == "create" else "a key id."))
    if args.action == "create":
        made = serve_keys.create_key(person_id, group_id, args.target, role=args.role)
        print(f"Created {made.info.role} key {made.info.id} ({made.info.name!r}) for group {group_id}. "
              "Copy it now: it is shown once and stored only as a hash.", file=sys.stderr)
        print(made.secret)
        return 0
    if not args.target.isdigit():
        raise WorkbenchError(f"keys revoke takes the key's id (see `keys list`), not {args.target!r}.")
    key = serve_keys.revoke_key(person_id, int(args.target))
    print(f"Revoked key {key.id} ({key.name!r}, {key.prefix}…): it stops working at once.")
    return 0


def label(person_id: int, group_id: int, args) -> int:
    agent = agents.resolve_agent(person_id, group_id, args.agent)
    if args.command == "labels":
        for info in agents.list_labels(person_id, agent.agent_id):
            print(f"{info.label}\tv{info.version}\t{info.updated_at:%Y-%m-%d %H:%M}\t{info.updated_by or ''}")
        return 0
    if args.remove:
        removed = agents.remove_label(person_id, agent.agent_id, args.label)
        print(f"Removed {args.label!r} from {agent.name}." if removed else f"{agent.name} has no label {args.label!r}.")
        return 0 if removed else 1
    if args.version is None:
        raise WorkbenchError("label needs AGENT VERSION LABEL, for example: label 12 3 production.")
    info = agents.set_label(person_id, agent.agent_id, args.version, args.label)
    print(f"{agent.name}@{info.label} -> version {info.version}")
    return 0
