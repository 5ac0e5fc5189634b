"""Tasks: what agents filed with the create_task tool, and threads waiting for a human."""

import streamlit as st

from ui.chat_messages import ago
from ui.common import current, fmt_time, require_group
from ui.links import thread_link
from workbench import agents, threads
from workbench.errors import WorkbenchError
from workbench.tools import tasks

ctx = current()
require_group(ctx)

PRIORITY_COLOR = {"high": "red", "medium": "orange", "low": "gray"}
STATUS_FILTERS = {"open": "Open", "done": "Done", "all": "All"}
PAGE = 50


def _set_status(task_id: int, status: str) -> None:
    try:
        tasks.set_task_status(ctx.person_id, task_id, status)
    except WorkbenchError as err:
        st.session_state["tasks_flash"] = err.user_message


st.title("Tasks")
st.caption("Work your agents handed to the team (the *Create task* tool) and threads where an agent "
           "called a human (the *Call a human* tool).")
if "tasks_flash" in st.session_state:
    st.error(st.session_state.pop("tasks_flash"))
names = agents.agent_names(ctx.person_id, ctx.group_id)

# --- escalations ------------------------------------------------------------------
escalations = tasks.open_escalations(ctx.person_id, ctx.group_id)
esc_titles = threads.thread_titles(ctx.person_id, ctx.group_id,
                                   [e.source_id for e in escalations if e.source_type == "thread"])
st.subheader(f"Waiting for a human ({len(escalations)})", anchor=False)
if not escalations:
    st.caption("No open escalations.")
for esc in escalations:
    with st.container(border=True):
        st.markdown(f"🙋 {esc.data.get('reason') or 'The agent asked for a person.'}")
        agent = names.get(esc.data.get("agent_id"), "An agent")
        st.caption(f"{agent} · {ago(esc.created_at)} ({fmt_time(esc.created_at)} UTC)")
        title = esc_titles.get(esc.source_id) if esc.source_type == "thread" else None
        if title is not None:
            thread_link(esc.source_id, f"Answer in “{title}”")

# --- tasks ------------------------------------------------------------------------
st.subheader("Tasks", anchor=False)
left, right = st.columns([3, 2])
with left:
    status = st.segmented_control("Status", list(STATUS_FILTERS), format_func=STATUS_FILTERS.get,
                                  default="open", key="sel_task_status", required=True)
with right:
    priorities = st.multiselect("Priority", list(PRIORITY_COLOR), key="sel_task_priority",
                                placeholder="Any priority")
rows = tasks.list_tasks(ctx.person_id, ctx.group_id, status=None if status == "all" else status)
rows = [t for t in rows if not priorities or (t.data or {}).get("priority", "medium") in priorities]
shown = st.session_state.get("sel_task_limit", PAGE)
titles = threads.thread_titles(ctx.person_id, ctx.group_id,
                               [(t.data or {}).get("thread_id") for t in rows[:shown]])
st.caption(f"{len(rows)} task{'s' if len(rows) != 1 else ''}")
if not rows:
    st.info("No tasks here." if status != "open" else
            "No open tasks. Agents file tasks here with the *Create task* tool: give an agent that "
            "tool on **Agents**, then ask it in **Chat** to create one.")
for task in rows[:shown]:
    data = task.data or {}
    priority = data.get("priority", "medium")
    with st.container(border=True):
        main, actions = st.columns([6, 1], vertical_alignment="center")
        with main:
            done = task.status == "done"
            st.markdown(f"{'~~' if done else ''}**{task.name}**{'~~' if done else ''} "
                        f":{PRIORITY_COLOR.get(priority, 'gray')}-badge[{priority}] "
                        f":{'green' if done else 'blue'}-badge[{task.status or 'open'}]")
            if task.description:
                st.markdown(task.description)
            st.caption(f"Created {ago(task.created_at)} ({fmt_time(task.created_at)} UTC) by "
                       f"{names.get(data.get('agent_id'), 'a person') if data.get('agent_id') else 'a person'}")
            title = titles.get(data.get("thread_id"))
            if title is not None:
                thread_link(data["thread_id"], f"From thread “{title}”")
        with actions:
            if ctx.can_edit:
                if task.status == "done":
                    st.button("Reopen", key=f"task_reopen_{task.id}", on_click=_set_status,
                              args=(task.id, "open"), icon=":material/undo:")
                else:
                    st.button("Done", key=f"task_done_{task.id}", on_click=_set_status,
                              args=(task.id, "done"), icon=":material/check:", type="primary")
if len(rows) > shown:
    st.button(f"Show more ({len(rows) - shown} left)", key="tasks_more",
              on_click=lambda: st.session_state.update(sel_task_limit=shown + PAGE))
