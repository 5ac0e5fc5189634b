"""What an API call does, without HTTP: resolve the agent a key names, start or continue the
thread, and read back what a product's UI shows. Everything acts as the key's own person, so
the services' access checks, budgets and rate limits apply unchanged; anything of another
group is "not found", never "forbidden" (which would confirm it exists)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .. import agents, runs, threads
from ..agents.labels import ResolvedAgent, resolve_agent
from ..db import session_scope
from ..errors import AccessDenied, ThreadNotFound
from ..models import Run, Thread
from ..threads.store import CHAT
from .keys import KeyIdentity
from .requests import BadRequest, ChatCall


class ViewerKey(AccessDenied):
    default_message = "This is a viewer key: it can read threads but not start runs. Use an editor key."


@dataclass
class StartedCall:
    agent: ResolvedAgent
    thread_id: int
    handle: runs.RunHandle


def key_thread(key: KeyIdentity, thread_id: int) -> Thread:
    """A chat thread of the key's group, else ThreadNotFound (another group's included)."""
    with session_scope() as s:
        thread = s.get(Thread, thread_id)
        if thread is None or thread.group_id != key.group_id or thread.kind != CHAT:
            raise ThreadNotFound(f"There is no thread {thread_id}.")
        return threads.load_thread(s, key.person_id, thread_id)


def start_call(key: KeyIdentity, call: ChatCall) -> StartedCall:
    """Start the agent's run for a chat completion: a new thread holding the request's turns,
    or the next turn of `call.thread_id`."""
    if key.role == "viewer":
        raise ViewerKey()
    agent = resolve_agent(key.person_id, key.group_id, call.model)
    if call.thread_id is None:
        thread, handle = runs.create_thread(key.group_id, agent.agent_id, key.person_id,
                                            initial_message=call.message, history=call.history,
                                            version_id=agent.version_id)
        return StartedCall(agent, thread.id, handle)
    thread = key_thread(key, call.thread_id)
    if thread.agent_id != agent.agent_id:
        raise BadRequest(f"Thread {thread.id} is a conversation with another agent (id {thread.agent_id}); "
                         f"call it with that agent as model, or leave metadata.thread_id out to start a new thread.",
                         "metadata.thread_id")
    handle = runs.continue_thread(thread.id, call.message, key.person_id, version_id=agent.version_id)
    return StartedCall(agent, thread.id, handle)


def run_totals(run_id: int) -> runs.RunTotals:
    """A finished run's totals over all its model calls, read back (for a run that ended
    without setting `RunHandle.totals`)."""
    with session_scope() as s:
        row = s.execute(select(Run.input_tokens, Run.output_tokens, Run.cost_usd, Run.step_count)
                        .where(Run.id == run_id)).one()
        return runs.RunTotals(int(row[0] or 0), int(row[1] or 0), float(row[2] or 0.0), int(row[3] or 0))


def list_models(key: KeyIdentity) -> list[dict]:
    """The key's group's agents as OpenAI model objects, with their versions and labels."""
    labels = agents.labels_by_agent(key.person_id, key.group_id)
    listed = []
    for agent in agents.list_agents(key.person_id, key.group_id):
        listed.append(describe(agent.id, agent.config.name, agent.config.description, agent.version,
                               labels.get(agent.id, {})))
    return listed


def describe(agent_id: int, name: str, description: str, version: int, labels: dict[str, int]) -> dict:
    return {"id": str(agent_id), "object": "model", "created": 0, "owned_by": "agent-workbench",
            "name": name, "description": description, "latest_version": version, "labels": labels}


def get_model(key: KeyIdentity, reference: str) -> dict:
    agent = resolve_agent(key.person_id, key.group_id, reference)
    view = agents.get_agent(key.person_id, agent.agent_id)
    labels = agents.labels_by_agent(key.person_id, key.group_id).get(agent.agent_id, {})
    entry = describe(agent.agent_id, agent.name, view.config.description, view.version, labels)
    return {**entry, "id": reference, "agent_id": agent.agent_id, "version": agent.version}


def thread_messages(key: KeyIdentity, thread_id: int, limit: int, before: int | None) -> dict:
    """A page of the thread's messages, oldest first, and the cursor of the page before."""
    key_thread(key, thread_id)
    page = threads.get_thread_messages(thread_id, limit=limit, before=before, actor_id=key.person_id)
    return {"object": "list", "thread_id": str(thread_id),
            "data": [{"id": m.id, "seq": m.seq, "role": m.role, "content": m.content, "name": m.name,
                      "status": m.status, "run_id": m.run_id,
                      "created_at": m.created_at.isoformat() + "Z"} for m in page.messages],
            "has_more": page.has_older, "before": page.oldest_seq if page.has_older else None}
