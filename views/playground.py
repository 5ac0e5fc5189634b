"""Playground: send one message (or a short conversation) to 2 to 4 variants at once (an
agent at a version, optionally with unsaved edits) and watch them answer side by side; open
a traced model call and rerun it edited; replay a thread on another version or model.
Links: ?comparison=ID (a saved comparison), ?step=ID (a traced model call), ?replay=ID
(a replay thread next to its original), ?agent=ID (variants start on that agent)."""

import streamlit as st

from ui.common import current, fmt_time, require_group, show_error
from ui.playground_inputs import DEFAULT_AGENT, conversation_editor, variants_row
from ui.playground_replay import REPLAY, replay_form, replay_view, step_editor
from ui.playground_results import own, render_comparison
from workbench import agents, playground
from workbench.errors import WorkbenchError
from workbench.providers import service as provider_service

ctx = current()
require_group(ctx)

SHOWN = "pg_comparison"  # the comparison on screen
MODE = "pg_mode"
MODES = ["Compare", "Replay a thread"]

st.title("Playground")
st.caption("Same input, several variants, side by side: every column is a real run with its tools, "
           "knowledge and trace, priced and under the group's budget.")

params = st.query_params
for key, state in (("comparison", SHOWN), ("replay", REPLAY), ("step", "pg_step"), ("agent", DEFAULT_AGENT)):
    raw = params.get(key)
    if raw and raw.isdigit() and st.session_state.get(f"pg_url_{key}") != raw:
        st.session_state[f"pg_url_{key}"] = raw
        st.session_state[state] = int(raw)
        if key == "replay":
            st.session_state[MODE] = MODES[1]
        if key == "step":
            st.session_state.pop(SHOWN, None)

if not ctx.can_edit:
    st.info("You are a viewer in this group: you can open saved comparisons but not run new ones.")

agent_list = agents.list_agents(ctx.person_id, ctx.group_id)
providers = provider_service.list_providers(ctx.person_id, ctx.group_id)
mode = st.segmented_control("Mode", MODES, key=MODE, default=MODES[0], label_visibility="collapsed") or MODES[0]


def _start(variants, turns) -> None:
    try:
        live = playground.start_comparison(ctx.person_id, ctx.group_id, variants, turns)
    except WorkbenchError as err:
        st.session_state["pg_error"] = err
        return
    own(live.id)
    st.session_state[SHOWN] = live.id
    st.session_state.pop("pg_step", None)
    st.query_params["comparison"] = str(live.id)
    st.session_state["pg_url_comparison"] = str(live.id)


def _rerun(comparison_id: int) -> None:
    try:
        live = playground.rerun_comparison(ctx.person_id, comparison_id)
    except WorkbenchError as err:
        st.session_state["pg_error"] = err
        return
    own(live.id)
    st.session_state[SHOWN] = live.id
    st.query_params["comparison"] = str(live.id)
    st.session_state["pg_url_comparison"] = str(live.id)


if mode == MODES[1]:
    replay_form(ctx, agent_list)
    if st.session_state.get(REPLAY):
        st.divider()
        replay_view(ctx, st.session_state[REPLAY])
    st.stop()

saved = playground.list_comparisons(ctx.person_id, ctx.group_id, limit=100)
if saved:
    ids = [None] + [c[0] for c in saved]
    labels = {c[0]: f"#{c[0]} · {c[1]} · {fmt_time(c[2])}" for c in saved}
    pick = st.selectbox("Saved comparisons", ids, key="pg_pick_saved", format_func=lambda i: labels.get(i, "—"),
                        index=ids.index(st.session_state.get(SHOWN)) if st.session_state.get(SHOWN) in ids else 0)
    if pick and pick != st.session_state.get(SHOWN):
        st.session_state[SHOWN] = pick
        st.session_state.pop("pg_step", None)
        st.query_params["comparison"] = str(pick)

step_id = st.session_state.get("pg_step")
if step_id and not st.session_state.get(SHOWN):
    started = step_editor(ctx, step_id)
    if started:
        st.session_state[SHOWN] = started
        st.query_params["comparison"] = str(started)
        st.session_state["pg_url_comparison"] = str(started)
        st.rerun()
elif not agent_list:
    st.info("This group has no agents yet: create one on the Agents page.")
elif ctx.can_edit:
    with st.expander("New comparison" if st.session_state.get(SHOWN) else "Variants and input",
                     expanded=not st.session_state.get(SHOWN), icon=":material/tune:"):
        variants = variants_row(ctx, agent_list, providers)
        turns = conversation_editor()
        if st.button("Send to all", type="primary", key="pg_send", icon=":material/send:"):
            _start(variants, turns)  # not a callback: it must see what was just typed
            if st.session_state.get(SHOWN) and "pg_error" not in st.session_state:
                st.rerun()  # redraw with the inputs folded away and the columns in view
if "pg_error" in st.session_state:
    show_error(st.session_state.pop("pg_error"))

shown = st.session_state.get(SHOWN)
if shown:
    st.divider()
    head = st.container(horizontal=True, vertical_alignment="center")
    head.markdown(f"**Comparison #{shown}**")
    head.caption(f"share: ?comparison={shown}")
    if ctx.can_edit:
        head.button("Rerun", key="pg_rerun", icon=":material/replay:", on_click=_rerun, args=(shown,))
    if head.button("New comparison", key="pg_clear", icon=":material/add:"):
        st.session_state.pop(SHOWN, None)
        st.session_state.pop("pg_step", None)
        st.query_params.pop("comparison", None)
        st.rerun()
    try:
        conversation = playground.get_comparison(ctx.person_id, shown).conversation
        with st.expander(f"Input ({len(conversation)} message{'s' * (len(conversation) != 1)})"):
            for turn in conversation:
                st.markdown(f"**{turn['role']}**: {turn.get('content') or ''}")
    except WorkbenchError as err:
        show_error(err)
        st.stop()
    render_comparison(ctx, shown)
