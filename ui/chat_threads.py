"""The Chat page's thread list (its left column) and the current selection.

The selected thread lives in session_state["sel_thread"] (cleared on a group switch) and in
the URL (?thread=ID) so a thread can be linked to from Tasks or Traces and reloaded."""

from __future__ import annotations

import streamlit as st

from ui.chat_messages import ago
from workbench import threads
from workbench.markup import inert

THREAD_KEY = "sel_thread"
AGENT_KEY = "sel_agent"
PAGE_SIZE = 30
PICK_KEY = "chat_thread_pick"


def select_thread(thread_id: int | None) -> None:
    """Open a thread (None: the new-thread screen); usable as a callback."""
    st.session_state[THREAD_KEY] = thread_id
    st.session_state.pop("sel_older", None)  # the "load older" window belongs to one thread
    if thread_id is None:
        st.query_params.pop("thread", None)
    else:
        st.query_params["thread"] = str(thread_id)


def adopt_url_thread() -> None:
    """A ?thread=ID in the URL (a link from another page) wins over the remembered one;
    ?agent=ID (from the Agents page) opens a new thread with that agent."""
    agent = st.query_params.get("agent")
    if agent and agent.isdigit():
        st.session_state[AGENT_KEY] = int(agent)
        del st.query_params["agent"]
        select_thread(None)
        return
    raw = st.query_params.get("thread")
    if raw and raw.isdigit() and int(raw) != st.session_state.get(THREAD_KEY):
        select_thread(int(raw))


def _new_thread(agent_id: int | None) -> None:
    if agent_id is not None:
        st.session_state[AGENT_KEY] = agent_id
    select_thread(None)


def thread_list(ctx, agent_list: list, names: dict[int, str], selected: int | None,
                key_names: dict[int, str] | None = None) -> None:
    """Agent picker, "New thread", the archived toggle and the threads, newest first
    (drawn in the current container: the Chat page's left column). `key_names` ({person id:
    API key name}) marks the threads products started through the API: "🔑 website"."""
    ids = [a.id for a in agent_list]
    if ids:
        if st.session_state.get(AGENT_KEY) not in ids:
            st.session_state[AGENT_KEY] = ids[0]
        st.selectbox("Agent", ids, key=AGENT_KEY, format_func=lambda i: names.get(i, f"Agent {i}"),
                     help="The agent a new thread talks to.")
        if ctx.can_edit:
            st.button("New thread", icon=":material/add_comment:", type="primary",
                      use_container_width=True, on_click=_new_thread,
                      args=(st.session_state.get(AGENT_KEY),), key="chat_new_thread")
    only_agent = st.toggle("This agent only", key="sel_only_agent") if ids else False
    archived = st.toggle("Archived", key="sel_archived", help="Show archived threads instead.")
    limit = st.session_state.get("sel_thread_limit", PAGE_SIZE)
    rows = threads.list_threads(ctx.person_id, ctx.group_id, archived=archived, limit=limit + 1,
                                agent_id=st.session_state.get(AGENT_KEY) if only_agent else None)
    if not rows:
        st.caption("No archived threads." if archived else "No threads yet: write a message to start one.")
    shown = rows[:limit]
    ids_shown = [t.id for t in shown]
    by_id = {t.id: t for t in shown}
    # the radio mirrors the selection (which also changes by "New thread" or a link)
    st.session_state[PICK_KEY] = selected if selected in ids_shown else None
    box = st.container(height=520, border=False) if len(shown) > 7 else st.container(border=False)
    if shown:
        box.radio("Threads", ids_shown, key=PICK_KEY, on_change=_picked, label_visibility="collapsed",
                  format_func=lambda i: _short(by_id[i].title or "New thread"),
                  captions=[_caption(t, names, key_names or {}) for t in shown])
    if len(rows) > limit:
        box.button("Show more threads", key="chat_more_threads",
                   on_click=lambda: st.session_state.update(sel_thread_limit=limit + PAGE_SIZE))


def _short(title: str, n: int = 60) -> str:
    return title if len(title) <= n else title[: n - 1] + "…"


def _caption(t, names: dict[int, str], key_names: dict[int, str]) -> str:
    state = {"running": " · ⏳ replying", "waiting_human": " · 🙋 needs a human"}.get(t.status, "")
    via = f"🔑 {inert(key_names[t.person_id])} · " if t.person_id in key_names else ""
    return f"{via}{names.get(t.agent_id, 'Unknown agent')} · {ago(t.last_activity_at)}{state}"


def _picked() -> None:
    select_thread(st.session_state.get(PICK_KEY))


def load_window(thread_id: int, person_id: int):
    """The messages on screen: the newest page, extended back to the "load older" cursor.
    Returns (messages oldest first, has_older)."""
    older = st.session_state.get("sel_older") or {}
    from_seq = older.get("from_seq") if older.get("thread") == thread_id else None
    messages, before = [], None
    while True:
        page = threads.get_thread_messages(thread_id, limit=50, before=before, actor_id=person_id)
        messages = page.messages + messages
        if not page.has_older or from_seq is None or (page.oldest_seq or 0) <= from_seq:
            return messages, page.has_older
        before = page.oldest_seq


def load_older(thread_id: int, oldest_seq: int) -> None:
    """"Load older" callback: extend the window by up to 50 messages."""
    st.session_state["sel_older"] = {"thread": thread_id, "from_seq": max(1, oldest_seq - 50)}


