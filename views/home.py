"""Home: the current group at a glance, and where to start."""

import streamlit as st

from ui.common import current, fmt_time, require_group, show_error, switch_group
from ui.links import thread_link
from workbench import agents, demo, knowledge, threads
from workbench.costs.budget import budget_status
from workbench.errors import WorkbenchError
from workbench.providers import service as providers
from workbench.tools import tasks

ctx = current()
require_group(ctx)

st.title(ctx.group_name)
st.caption(f"You are **{ctx.role}** here. Everything below belongs to this group only.")

agent_list = agents.list_agents(ctx.person_id, ctx.group_id)
recent = threads.list_threads(ctx.person_id, ctx.group_id, limit=8)
kb = knowledge.knowledge_stats(ctx.person_id, ctx.group_id)
open_tasks = tasks.list_tasks(ctx.person_id, ctx.group_id, status="open")
waiting = tasks.open_escalations(ctx.person_id, ctx.group_id)
budget = budget_status(ctx.person_id, ctx.group_id)

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

if not agent_list and not recent:
    st.info("This group is empty. It is where your team designs agents, chats with them and sees "
            "what every run did. Start by creating an agent on **Agents**"
            + (", or build the demo workspace below." if ctx.is_owner else "."))

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Recent threads")
    if not recent:
        st.info("No threads yet: open **Chat**, pick an agent and write a message.")
    for t in recent:
        thread_link(t.id, f"{t.title} · {fmt_time(t.last_activity_at)}")

with right:
    st.subheader("Getting started")
    only_builtin = all(p.kind == "local" for p in providers.list_providers(ctx.person_id, ctx.group_id))
    steps = [
        ("Chat with an agent", bool(recent), "Open **Chat**, pick an agent and write a message."),
        ("Connect a real model", not only_builtin,
         "The built-in model is a small offline demo (Qwen2.5-Coder 1.5B: short answers, and tools "
         "when asked explicitly). On **Agents → "
         "Providers** add OpenAI, Anthropic, OpenRouter, Ollama or any OpenAI-compatible endpoint; "
         "keys stay in the environment or `.streamlit/secrets.toml`."),
        ("Give agents knowledge", kb["documents"] > 0,
         "Upload files on **Knowledge**, then allow the *Search knowledge* tool on an agent."),
        ("See what a run did", bool(recent), "Every reply links to its trace on **Traces**."),
    ]
    for title, done, how in steps:
        st.markdown(f"{'✅' if done else '⬜'} **{title}**  \n{how}")


# --- the demo workspace (owners) ---------------------------------------------------------------
def _build_demo() -> None:
    with st.status("Building the demo workspace: it runs the built-in model, about 2 to 3 minutes…",
                   expanded=True) as status:
        bar = st.progress(0.0)
        line = st.empty()

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(1.0, max(0.0, fraction)))
            line.caption(message)

        try:
            report = demo.build_demo(ctx.person_id, progress)
        except WorkbenchError as err:
            status.update(label="The demo workspace could not be built", state="error")
            show_error(err)
            return
        for step in report.steps:
            st.markdown(f"{'✅' if step.done else '⚠️'} **{step.label}**: {step.detail}")
        status.update(label=f"Demo workspace ready ({report.seconds:.0f} s)" if report.created
                      else "The Demo group already exists", state="complete" if not report.missed else "error")
    st.session_state["home_demo_group"] = report.group_id


if ctx.is_owner:
    st.divider()
    existing = demo.find_demo_group(ctx.person_id)
    st.subheader("Demo workspace")
    if existing is not None and existing != ctx.group_id:
        st.caption("A group named **Demo** with agents using every tool, a knowledge base, real runs "
                   "and 60 days of generated usage.")
        st.button("Open the Demo group", key="home_open_demo", on_click=switch_group, args=(existing,))
    elif existing is None:
        st.caption("Builds a group named **Demo**: three agents (support with knowledge search and "
                   "escalation, triage filing tasks, a plain assistant), a knowledge base from the "
                   "project's own text, threads produced by real runs of the built-in model, and 60 "
                   "days of generated usage history. `python -m workbench demo --remove` deletes it.")
        if st.button("Build the demo workspace", key="home_build_demo", icon=":material/auto_awesome:"):
            _build_demo()
            if st.session_state.get("home_demo_group"):
                st.button("Open the Demo group", key="home_open_built", on_click=switch_group,
                          args=(st.session_state["home_demo_group"],))
    else:
        st.caption("You are in the demo workspace: its usage history is generated (marked as demo data "
                   "on the Usage page); `python -m workbench demo --remove` deletes the whole group.")
