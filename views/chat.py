"""Chat: pick an agent, open or start a thread, watch the reply stream, stop or retry it."""

import streamlit as st

from ui.chat_messages import ago, render_messages
from ui.chat_stream import FLASH_KEY, stop_button, stream_reply
from ui.chat_threads import (AGENT_KEY, THREAD_KEY, adopt_url_thread, load_older, load_window, select_thread,
                             thread_list)
from ui.common import current, require_group, show_error
from ui.links import thread_link
from workbench import agents, runs, threads
from workbench.errors import AccessDenied, NotFound, WorkbenchError
from workbench.markup import inert
from workbench.observe import traces
from workbench.playground import replay_source
from workbench.serve import keys as api_keys
from workbench.tools import tasks

ctx = current()
require_group(ctx)

agent_list = agents.list_agents(ctx.person_id, ctx.group_id)
names = agents.agent_names(ctx.person_id, ctx.group_id)
key_names = api_keys.key_person_names(ctx.person_id, ctx.group_id)  # threads products started via the API

adopt_url_thread()
thread = None
if st.session_state.get(THREAD_KEY):
    try:
        thread = threads.get_thread(ctx.person_id, st.session_state[THREAD_KEY])
        if thread.group_id != ctx.group_id:  # a link to a thread of another of my groups
            st.info("That thread belongs to another of your groups: pick that group in the sidebar "
                    "to open it.")
            thread = None
            select_thread(None)
    except (NotFound, AccessDenied) as err:
        select_thread(None)
        show_error(err)

left, right = st.columns([1, 3.4], gap="large")
with left:
    thread_list(ctx, agent_list, names, thread.id if thread else None, key_names)
if FLASH_KEY in st.session_state:
    right.warning(st.session_state.pop(FLASH_KEY))


def _unsent(text: str) -> None:
    """A message the service refused stays on screen, ready to copy."""
    with st.expander("Your message was not sent; here it is to copy", expanded=len(text) < 2000):
        st.code(text, language=None, wrap_lines=True)


def _run_and_show(start, text: str | None = None) -> None:
    """Start a run with `start()` (one service call), show it live, then redraw from the DB."""
    try:
        handle = start()
    except WorkbenchError as err:
        show_error(err)
        if text:
            _unsent(text)
        return
    if text:
        with st.chat_message("user"):
            st.markdown(text)
    stream_reply(handle, ctx.person_id, can_stop=ctx.can_edit)
    st.rerun()


# --- header -----------------------------------------------------------------------
def _rename(thread_id: int, key: str) -> None:
    try:
        threads.rename_thread(ctx.person_id, thread_id, st.session_state.get(key, ""))
        st.session_state.pop(key, None)
    except WorkbenchError as err:
        st.session_state[FLASH_KEY] = err.user_message


def _archive(thread_id: int, archived: bool) -> None:
    try:
        threads.archive_thread(ctx.person_id, thread_id, archived)
    except WorkbenchError as err:
        st.session_state[FLASH_KEY] = err.user_message


def header(t) -> None:
    left, right = st.columns([6, 1], vertical_alignment="top")
    with left:
        st.subheader(t.title or "New thread", anchor=False)
        status = {"running": " · ⏳ replying", "waiting_human": " · 🙋 waiting for a human"}.get(t.status, "")
        st.caption(f"🤖 {names.get(t.agent_id, 'Unknown agent')} · {t.message_count} messages · "
                   f"last activity {ago(t.last_activity_at)}{' · 🗄 archived' if t.archived else ''}{status}"
                   + (f" · 🔑 started through the API with the key **{inert(key_names[t.person_id])}**"
                      if t.person_id in key_names else ""))
        source = replay_source(ctx.person_id, t.id)
        if source is not None:
            thread_link(source, f"Replay of thread #{source}")
    if not ctx.can_edit:
        return
    with right, st.popover("", icon=":material/more_horiz:", help="Rename or archive this thread"):
        key = f"chat_title_{t.id}"
        st.text_input("Title", value=t.title, key=key, max_chars=200)
        st.button("Save title", key=f"chat_rename_{t.id}", on_click=_rename, args=(t.id, key))
        if not t.archived:
            st.divider()
            st.button("Archive thread", key="chat_archive", icon=":material/archive:",
                      on_click=_archive, args=(t.id, True), help="Hide it from the list; it stays readable.")


# --- the thread -------------------------------------------------------------------
def body(t, running: bool) -> bool:
    """The message window; while a run goes on, re-read every second until it ends.
    Returns True when Retry was clicked."""
    if running:
        current_thread = threads.get_thread(ctx.person_id, t.id)
        if current_thread.status != "running":
            st.rerun()  # the run ended: redraw the whole page (input, header)
    messages, has_older = load_window(t.id, ctx.person_id)
    if has_older and messages:
        st.button("Load older messages", key="chat_load_older", icon=":material/history:",
                  on_click=load_older, args=(t.id, messages[0].seq))
    if not messages:
        st.caption("No messages yet.")
    last = messages[-1] if messages else None
    retry_id = (last.id if ctx.can_edit and not running and not t.archived and last is not None
                and last.role == "assistant" and last.status in ("failed", "interrupted") else None)
    versions = traces.run_versions(ctx.person_id, ctx.group_id, {m.run_id for m in messages})
    retry = render_messages(messages, agent_name=names.get(t.agent_id, "Agent"), retry_message_id=retry_id,
                            versions=versions)
    if running and ctx.can_edit:
        handle = runs.active_handle(t.id, actor_id=ctx.person_id)
        if handle is not None:
            stop_button(handle.run_id, ctx.person_id, key="chat_stop_follow")
    return retry


def human_banner(t) -> None:
    reasons = [e.data.get("reason") for e in tasks.open_escalations(ctx.person_id, ctx.group_id)
               if e.source_type == "thread" and e.source_id == t.id and e.data.get("reason")]
    st.warning("🙋 **Waiting for a human.** " + (f"The agent asked: “{reasons[0]}”" if reasons else
               "The agent asked a person to take over."))
    if not ctx.can_edit:
        return
    n = st.session_state.get("chat_human_n", 0)
    key = f"chat_human_{t.id}_{n}"
    with st.expander("Answer as the human agent", expanded=True):
        text = st.text_area("Your answer", key=key, placeholder="Write as the team's human agent…")
        if st.button("Send as human agent", key=f"chat_human_send_{t.id}", type="primary"):
            try:
                tasks.answer_as_human(ctx.person_id, t.id, text)
            except WorkbenchError as err:
                show_error(err)
            else:
                st.session_state["chat_human_n"] = n + 1  # a fresh, empty box
                st.rerun()


# --- the page (the conversation in the right column; the input pinned below) ----------
def new_thread_screen():
    with right:
        st.title("Chat", anchor=False)
        if not agent_list:
            st.info("This group has no agents yet. Create one on the Agents page, then come back to chat.")
            return
        agent = next((a for a in agent_list if a.id == st.session_state.get(AGENT_KEY)), agent_list[0])
        st.markdown(f"#### 🤖 {agent.name}")
        st.caption(agent.config.description or "No description.")
        st.caption(f"Model `{agent.config.model}` · version {agent.version} · "
                   f"tools: {', '.join(agent.config.tools) or 'none'}")
        if not ctx.can_edit:
            st.info("You can read this group's threads; viewers cannot start or continue them.")
            return
        st.caption("Write a message below to start a new thread with this agent; pick another agent on the left.")
    prompt = st.chat_input(f"Message {agent.name}…", key="chat_input", submit_mode="disable")
    if prompt:
        def _start():
            new_thread, handle = runs.create_thread(ctx.group_id, agent.id, ctx.person_id,
                                                       initial_message=prompt)
            select_thread(new_thread.id)
            return handle
        with right:
            _run_and_show(_start, prompt)


def thread_screen(t):
    running = t.status == "running"
    with right:
        header(t)
        retry = st.fragment(run_every=1.0)(body)(t, True) if running else body(t, False)
        if retry:
            _run_and_show(lambda: runs.retry_last(t.id, ctx.person_id))
        if t.status == "waiting_human":
            human_banner(t)
        if t.archived:
            note, button = st.columns([5, 1], vertical_alignment="center")
            note.info("This thread is archived. Unarchive it to continue the conversation.")
            if ctx.can_edit:
                button.button("Unarchive", key="chat_unarchive", icon=":material/unarchive:",
                              on_click=_archive, args=(t.id, False))
            return
        if not ctx.can_edit:
            st.caption("Read-only: viewers cannot write in threads.")
            return
    prompt = st.chat_input(f"Message {names.get(t.agent_id, 'the agent')}…", key="chat_input",
                           submit_mode="disable", disabled=running)
    if prompt:
        with right:
            _run_and_show(lambda: runs.continue_thread(t.id, prompt, ctx.person_id), prompt)


if thread is None:
    new_thread_screen()
else:
    thread_screen(thread)
