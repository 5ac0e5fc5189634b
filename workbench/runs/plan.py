"""What a run's worker needs before it calls a model: the run's plan (the agent's
configuration at the run's version with its overrides, the provider, the tools), and each
model call made ready (context built and adapted, the streaming reply message and the trace
step written). A chat turn's first call is sent as soon as its request is built, and its
rows are written while it travels (lifecycle.continue_thread); other runs get the first call
ready in the transaction that opens them, so no database work stands before the request."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace
from typing import Any

from ..agents.definitions import AgentConfig, provider_for
from ..db import insert_row, session_scope
from ..models import AgentVersion, Run, RunStep, Thread
from ..providers import build_provider, config_from_record
from ..providers.base import CONSTRAINT_FIELDS, ChatRequest, KnowledgeProbe
from ..providers.message_reading import names_in, subject_words
from ..providers.tool_decision import STRONG_MATCH
from ..settings import get_settings
from ..threads.store import append_message
from ..tools.custom.runner import bind_custom_tools
from ..tools.registry import ToolContext, bind_tools, openai_schemas
from ..tools.search_knowledge import NAME as SEARCH_KNOWLEDGE
from .context import build_context

log = logging.getLogger(__name__)

# An override that makes a run one model call: its tool calls are recorded, not run (the
# playground's rerun of one traced step).
SINGLE_CALL = "single_call"


@dataclass
class RunPlan:
    """What a run's worker needs, read once: the agent's configuration at the run's version
    with its overrides, the provider, the tools."""

    cfg: AgentConfig
    single_call: bool
    provider_cfg: Any
    pricing_key: str
    ctx: ToolContext
    provider: Any
    tools: dict
    schemas: list | None

    def for_run(self, run_id: int) -> None:
        """Bind the plan to its run once the run row exists (a plan can be made, and its
        first call sent, before): tools act inside the run."""
        self.ctx = replace(self.ctx, run_id=run_id)
        rebound = bind_tools(self.ctx, list(self.tools))  # the built-ins act in the run's context
        self.tools = {name: rebound.get(name, tool) for name, tool in self.tools.items()}


def make_plan(s, thread: Thread, *, version_id: int, overrides: dict | None, person_id: int | None,
              run_id: int | None = None) -> RunPlan:
    overrides = dict(overrides or {})
    single_call = bool(overrides.pop(SINGLE_CALL, False))
    cfg = AgentConfig(**{**_version_config(s, version_id), **overrides})
    provider_rec = provider_for(s, thread.group_id, cfg.provider_id)
    provider_cfg = config_from_record(provider_rec)
    if provider_rec.kind == "local":
        # One built-in model runs at a time: the run (trace, usage) records that one, whichever
        # id the version was saved with (the default changed from the 0.5B to the 1.5B).
        cfg = replace(cfg, model=provider_cfg.default_model)
    settings = get_settings()
    provider_cfg.timeout_s = settings.provider_timeout_s
    ctx = ToolContext(group_id=thread.group_id, person_id=person_id,
                      agent_id=thread.agent_id, thread_id=thread.id, run_id=run_id)
    tools = bind_tools(ctx, cfg.tools)
    custom = [name for name in cfg.tools if name not in tools]
    if custom:  # one query for the group's custom tools this agent uses
        tools.update(bind_custom_tools(s, thread.group_id, custom))
        tools = {name: tools[name] for name in cfg.tools if name in tools}  # the agent's order
    return RunPlan(cfg=cfg, single_call=single_call, provider_cfg=provider_cfg,
                   pricing_key=provider_rec.preset or provider_rec.kind, ctx=ctx,
                   provider=build_provider(provider_cfg, backoff_base_s=settings.retry_backoff_s),
                   tools=tools, schemas=openai_schemas(tools) or None)


_VERSION_CONFIGS: dict[tuple[str, int], dict] = {}


def _version_config(s, version_id: int) -> dict:
    """An agent version's configuration. Versions never change once written, so each is
    read once per process and database (a bounded cache); a copy is returned."""
    key = (str(s.get_bind().url), version_id)
    config = _VERSION_CONFIGS.get(key)
    if config is None:
        config = s.get(AgentVersion, version_id).config
        if len(_VERSION_CONFIGS) >= 1024:
            _VERSION_CONFIGS.clear()
        _VERSION_CONFIGS[key] = config
    return copy.deepcopy(config)


def load_plan(run_id: int) -> RunPlan:
    with session_scope() as s:
        run = s.get(Run, run_id)
        return make_plan(s, s.get(Thread, run.thread_id), version_id=run.agent_version_id,
                         overrides=run.overrides, person_id=run.person_id, run_id=run.id)


def build_request(s, plan: RunPlan, pending_user: str | None = None,
                  answer_only: bool = False) -> ChatRequest:
    """The next model call's request: the context built (and adapted by the provider: the
    trace shows exactly what is sent). `pending_user`: a user message not yet written,
    which ends the context (the first call of a reply is sent before its rows exist).
    `answer_only`: the model must answer now (`tool_choice` "none"; the tools stay listed,
    as earlier calls in the context refer to them)."""
    cfg, ctx = plan.cfg, plan.ctx
    messages = build_context(s, ctx.thread_id, cfg, pending_user=pending_user)
    return plan.provider.prepare(ChatRequest(
        model=cfg.model, messages=messages,
        tools=plan.schemas, temperature=cfg.temperature, max_tokens=cfg.max_output_tokens,
        tool_choice="none" if answer_only and plan.schemas else None,
        knowledge_probe=None if answer_only else knowledge_probe(s, plan, messages)))


# The probe's matches and names come from the closest passages; the subject words that relate a
# message to the knowledge from a few more: among the three closest to "Who is the head of the
# technicians team?" (all under 0.1) none spoke of technicians, and the question went unsearched.
PROBE_MATCHES = 3
PROBE_WORDS_FROM = 5
# A passage scoring under this is about something else: a word it shares with the message is a
# coincidence ("standard" in "how many strings does a standard guitar have?" and "Standard
# shipping ...", 0.07). On the bench's 22 sets every question the knowledge should be searched
# for that shares a word only with a low-scoring passage shared it with one at 0.21 or more.
PROBE_WORDS_SCORE = 0.15


def knowledge_probe(s, plan: RunPlan, messages: list[dict]) -> KnowledgeProbe | None:
    """For a model whose tool choice is a constrained decision (the built-in one, see
    providers/tool_decision) with search_knowledge, on a new user message: the group's
    passages closest to it. That model rarely chooses to search by itself, then invents;
    a local embedding search takes milliseconds (12 ms median once loaded). None
    otherwise, and None when the search fails: the model can still answer or search itself."""
    if not (plan.provider.config.adapt_tools and SEARCH_KNOWLEDGE in plan.tools and messages
            and messages[-1].get("role") == "user" and isinstance(messages[-1].get("content"), str)):
        return None
    # imported here: Chroma and the embedder load only for agents that use them
    from ..knowledge import closest_passages

    query = messages[-1]["content"]
    try:
        hits = closest_passages(s, plan.ctx.group_id, query, k=PROBE_WORDS_FROM)
    except Exception:  # noqa: BLE001 - a look ahead only; a knowledge store fault must not fail the run
        log.warning("Looking at group %s's knowledge before the call failed", plan.ctx.group_id, exc_info=True)
        return None
    if not hits:
        return None
    closest = hits[:PROBE_MATCHES]
    names = sorted({name for h in closest for name in names_in(f"{h.title}.\n{h.text}")})
    subjects = sorted(set().union(*(subject_words(f"{h.title}. {h.text}") for h in hits
                                    if h.score >= PROBE_WORDS_SCORE)))
    return KnowledgeProbe(query=query, matches=[(h.title, h.score) for h in closest], names=names, words=subjects)


def record_call(s, plan: RunPlan, request: ChatRequest, seq: int,
                reply_seq: int | None = None, thread: Thread | None = None) -> tuple[int, int]:
    """The rows of a model call: the streaming reply message (at `reply_seq` when the caller
    reserved it) and the trace step with the exact request. Returns (step id, reply id).
    `thread`: the run's thread when the caller holds it (else it is read)."""
    cfg, ctx = plan.cfg, plan.ctx
    thread = thread if thread is not None else s.get(Thread, ctx.thread_id)
    reply = append_message(s, thread, role="assistant", status="streaming", run_id=ctx.run_id, seq=reply_seq)
    step_id = insert_row(
        s, RunStep, run_id=ctx.run_id, group_id=ctx.group_id, seq=seq, kind="model_call",
        name=cfg.model, message_id=reply.id,
        request={"model": cfg.model, "messages": request.messages, "tools": request.tools or [],
                 "temperature": request.temperature, "max_tokens": request.max_tokens,
                 **_constraints(request),
                 "provider": plan.provider_cfg.name, "base_url": plan.provider_cfg.base_url})
    return step_id, reply.id


def _constraints(request: ChatRequest) -> dict[str, Any]:
    """What else the call sends, as sent (CONSTRAINT_FIELDS: a tool choice, a response format,
    seed or grammar), and the calls made before it: the built-in model's constrained tool
    choice, its full answer to a question asked for in a short form."""
    fields = {name: getattr(request, name) for name in CONSTRAINT_FIELDS if getattr(request, name) is not None}
    if request.decision is not None:
        fields["decision"] = {"messages": request.decision.messages,
                              "temperature": request.decision.temperature,
                              "max_tokens": request.decision.max_tokens,
                              **_constraints(request.decision)}
    if request.plain_answer is not None:  # the question answered in full before its short form
        fields["plain_answer"] = {"messages": request.plain_answer.messages,
                                  "temperature": request.plain_answer.temperature,
                                  "max_tokens": request.plain_answer.max_tokens}
    if request.passage_check is not None:  # whether the passages say the answer, asked first
        fields["passage_check"] = {"messages": request.passage_check.messages,
                                   "temperature": request.passage_check.temperature,
                                   "max_tokens": request.passage_check.max_tokens,
                                   **_constraints(request.passage_check)}
    if request.sources is not None:  # not sent: what the answer is checked against
        fields["checked_against"] = request.sources
    if request.knowledge_probe is not None:
        fields["knowledge_probe"] = {"query": request.knowledge_probe.query,
                                     "matches": [list(m) for m in request.knowledge_probe.matches],
                                     "names": request.knowledge_probe.names,
                                     "words": request.knowledge_probe.words,
                                     "search_first_from_score": STRONG_MATCH}
    return fields


def prepare_call(s, plan: RunPlan, seq: int, answer_only: bool = False) -> tuple[ChatRequest, int, int]:
    """The next model call made ready: its request built and its rows written. Returns
    (request, step id, reply message id)."""
    request = build_request(s, plan, answer_only=answer_only)
    return (request, *record_call(s, plan, request, seq))
