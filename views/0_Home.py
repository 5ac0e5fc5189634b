"""Home: the current group at a glance, and where to start."""

import streamlit as st

from ui.common import current, fmt_time, require_group
from ui.links import thread_link
from workbench import agents, knowledge, limits, tasks, threads
from workbench.providers import service as providers

ctx = current()
require_group(ctx)

st.title(ctx.group_name)
st.caption(f"You are **{ctx.role}** here. Everything below belongs to this group only.")

agent_list = agents.list_agents(ctx.person_id, ctx.group_id)
recent = threads.list_threads(ctx.person_id, ctx.group_id, limit=8)
kb = knowledge.knowledge_stats(ctx.person_id, ctx.group_id)
open_tasks = tasks.list_tasks(ctx.person_id, ctx.group_id, status="open")
waiting = tasks.open_escalations(ctx.person_id, ctx.group_id)
budget = limits.budget_status(ctx.person_id, ctx.group_id)

cols = st.columns(5)
cols[0].metric("Agents", len(agent_list))
cols[1].metric("Threads", threads.count_threads(ctx.person_id, ctx.group_id))
cols[2].metric("Documents", kb["documents"],
               help=f"Knowledge: {knowledge.count(kb['chunks'], 'chunk')} searchable by agents")
cols[3].metric("Open tasks", len(open_tasks), help=f"{len(waiting)} waiting for a human")
cols[4].metric("Spent this month", f"${budget.spent_usd:,.2f}",
               help=budget.message)
if budget.level == "exceeded":
    st.error(budget.message)
elif budget.level == "warning":
    st.warning(budget.message)
if waiting:
    st.warning(f"{len(waiting)} thread(s) are waiting for a human: see Tasks.")

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Recent threads")
    if not recent:
        st.caption("No threads yet.")
    for t in recent:
        thread_link(t.id, f"{t.title} · {fmt_time(t.last_activity_at)}")

with right:
    st.subheader("Getting started")
    only_builtin = all(p.kind == "local" for p in providers.list_providers(ctx.person_id, ctx.group_id))
    steps = [
        ("Chat with an agent", bool(recent), "Open **Chat**, pick an agent and write a message."),
        ("Connect a real model", not only_builtin,
         "The built-in model is a small offline demo (Qwen2.5-Coder 0.5B: short answers, and tools "
         "when asked explicitly). On **Agents → "
         "Providers** add OpenAI, Anthropic, OpenRouter, Ollama or any OpenAI-compatible endpoint; "
         "keys stay in the environment or `.streamlit/secrets.toml`."),
        ("Give agents knowledge", kb["documents"] > 0,
         "Upload files on **Knowledge**, then allow the *Search knowledge* tool on an agent."),
        ("See what a run did", bool(recent), "Every reply links to its trace on **Traces**."),
    ]
    for title, done, how in steps:
        st.markdown(f"{'✅' if done else '⬜'} **{title}**  \n{how}")
