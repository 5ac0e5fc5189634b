"""Two Playground modes besides comparing: a traced model call opened for editing and
rerun (?step=ID), and a thread replayed on another version or model, shown side by side
turn by turn (?replay=ID)."""

from __future__ import annotations

import json
import time

import streamlit as st

from ui.common import show_error
from ui.links import thread_link
from ui.playground_results import own
from workbench import playground, threads
from workbench.agents import versions
from workbench.errors import WorkbenchError

REPLAY = "pg_replay"


# --- a traced model call --------------------------------------------------------------------
def step_editor(ctx, step_id: int) -> int | None:
    """The exact request of the step as editable fields; returns a started comparison's id
    when Rerun was clicked."""
    try:
        draft = playground.open_step(ctx.person_id, step_id)
    except WorkbenchError as err:
        show_error(err)
        return None
    st.caption(f"Model call step #{step_id} of run #{draft.run_id}, agent #{draft.agent_id} v{draft.version}: "
               "the messages and settings exactly as sent. Edit any of them and rerun; the rerun is one "
               "model call (tool calls it asks for are shown, not run).")
    k = f"pg_step_{step_id}"
    left, right = st.columns(3)[:2]
    model = left.text_input("Model", value=draft.settings.get("model", ""), key=f"{k}_model")
    temperature = right.number_input("Temperature", 0.0, 2.0, float(draft.settings.get("temperature", 0.7)), 0.05,
                                     key=f"{k}_temperature")
    max_tokens = left.number_input("Max tokens", 1, 200_000, int(draft.settings.get("max_output_tokens", 1024)),
                                   key=f"{k}_max_tokens")
    system = st.text_area("system", value=draft.system_prompt, key=f"{k}_system", height=120)
    messages = []
    for i, msg in enumerate(draft.messages):
        role = msg.get("role", "user")
        label = role + (f" · result of {msg.get('name')} ({msg.get('tool_call_id')})" if role == "tool" else "")
        content = msg.get("content")
        content = content if isinstance(content, str) or content is None else json.dumps(content)
        edited = dict(msg)
        edited["content"] = st.text_area(label, value=content or "", key=f"{k}_msg_{i}",
                                         height=68 if role == "assistant" else 90)
        if msg.get("tool_calls"):
            st.caption("with tool calls")
            st.json(msg["tool_calls"], expanded=False)
        messages.append(edited)
    if not ctx.can_edit:
        return None
    if st.button("Rerun", type="primary", key=f"{k}_rerun", icon=":material/replay:"):
        overrides = {"system_prompt": system, "model": model, "temperature": temperature,
                     "max_output_tokens": int(max_tokens)}
        try:
            live = playground.rerun_step(ctx.person_id, step_id, messages, overrides)
            own(live.id)
            return live.id
        except WorkbenchError as err:
            show_error(err)
    return None


# --- replaying a thread ---------------------------------------------------------------------
def replay_form(ctx, agents: list) -> None:
    chats = threads.list_threads(ctx.person_id, ctx.group_id, limit=100)
    if not agents:
        st.info("This group has no agents yet: create one on the Agents page.")
        return
    if not chats:
        st.info("No threads to replay yet: chat with an agent first.")
        return
    by_id = {t.id: t for t in chats}
    thread_id = st.selectbox("Thread", list(by_id), key="pg_replay_thread",
                             format_func=lambda i: f"#{i} · {by_id[i].title}")
    names = {a.id: a.name for a in agents}
    agent_ids = list(names)
    default = by_id[thread_id].agent_id
    left, mid, right = st.columns(3)
    agent_id = left.selectbox("Agent", agent_ids, key=f"pg_replay_agent_{thread_id}", format_func=names.get,
                              index=agent_ids.index(default) if default in agent_ids else 0)
    numbers = [v.version for v in versions.list_versions(ctx.person_id, agent_id)]
    version = mid.selectbox("Version", numbers, key=f"pg_replay_version_{agent_id}",
                            format_func=lambda n: f"v{n}")
    model = right.text_input("Model (optional)", key="pg_replay_model", placeholder="the version's model")
    if ctx.can_edit and st.button("Replay", type="primary", key="pg_replay_go", icon=":material/replay:",
                                  help="Send the thread's user turns again, in order, into a new thread."):
        variant = playground.Variant(agent_id, version, {"model": model.strip()} if model.strip() else {})
        try:
            st.session_state[REPLAY] = playground.replay_thread(ctx.person_id, thread_id, variant, wait=False)
            st.query_params["replay"] = str(st.session_state[REPLAY])
        except WorkbenchError as err:
            show_error(err)


def _turn_cell(result) -> None:
    if result is None:
        st.caption("…waiting")
        return
    if result.status == "failed":
        st.error(result.reply or "failed")
    else:
        st.markdown(result.reply or "_(no text)_")
    st.caption(f"{result.status} · {result.input_tokens} in / {result.output_tokens} out · ${result.cost_usd:.6f}"
               + (f" · {result.duration_ms / 1000:.2f} s" if result.duration_ms else ""))


def replay_view(ctx, replay_id: int) -> None:
    try:
        view = playground.compare_replay(ctx.person_id, replay_id)
    except WorkbenchError as err:
        show_error(err)
        return
    left, right = st.columns(2)
    with left:
        st.markdown("**Original**")
        thread_link(view.original_thread_id, f"Thread #{view.original_thread_id}")
    with right:
        st.markdown("**Replay**")
        thread_link(view.replay_thread_id, f"Thread #{view.replay_thread_id}")
    for turn in view.turns:
        st.markdown(f"**Turn {turn.index + 1}** · user: {turn.user}")
        a, b = st.columns(2)
        with a, st.container(border=True):
            _turn_cell(turn.original)
        with b, st.container(border=True):
            _turn_cell(turn.replay)
    totals = [(sum(t.original.cost_usd for t in view.turns if t.original),
               sum(t.replay.cost_usd for t in view.turns if t.replay))]
    st.caption(f"Cost: original ${totals[0][0]:.6f} · replay ${totals[0][1]:.6f}")
    if view.running:
        st.caption("⏳ Replaying… the view updates every second.")
        time.sleep(1)
        st.rerun()
