"""Traces: every run of the group, filterable and sortable; open one to see its timeline,
each step with the exact prompt sent and what came back, its messages, errors and cost.
A run still going updates every second from the database (any tab can follow it)."""

import streamlit as st

from ui.common import current, require_group, show_error
from ui.trace_list import SELECTED, export_buttons, filter_bar, load_page, run_table
from ui.trace_view import render_header, render_trace
from workbench.errors import WorkbenchError
from workbench.observe import trace_export, traces

ctx = current()
require_group(ctx)

st.title("Traces")
st.caption("What every run did: the calls it made, how long each took, what it cost.")

raw = st.query_params.get("run")  # a link like ?run=12 (from Chat, or shared)
if raw and raw.isdigit() and st.session_state.get("tr_url_run") != raw:
    st.session_state["tr_url_run"] = raw
    st.session_state[SELECTED] = int(raw)

if not st.session_state.get(SELECTED) and traces.list_runs(ctx.person_id, ctx.group_id, limit=1).total == 0:
    st.info("No runs yet. Every reply an agent gives is traced here, step by step: the prompt "
            "sent, each tool call, timing, tokens and cost. Start one on **Chat**.")
    st.stop()

try:
    options = traces.run_filter_options(ctx.person_id, ctx.group_id)
    filters, sort, descending = filter_bar(options)
    page = load_page(ctx.person_id, ctx.group_id, filters, sort, descending)
except WorkbenchError as err:
    show_error(err)
    st.stop()

run_table(page)
export_buttons(ctx.person_id, ctx.group_id, filters, sort, descending)


def _open_in_chat(thread_id: int) -> None:
    from streamlit.errors import StreamlitAPIException

    st.session_state["sel_thread_id"] = thread_id
    st.session_state["sel_thread"] = thread_id  # the Chat page's own selection key
    try:
        st.switch_page("views/chat.py", query_params={"thread": str(thread_id)})
    except StreamlitAPIException:  # not run inside the app's navigation (a single-page test)
        st.caption(f"Open thread #{thread_id} on the Chat page.")


def _actions(trace: traces.RunTrace, live: bool) -> None:
    row = st.container(horizontal=True)
    if row.button("Open in chat", key=f"tr_chat_{trace.run.id}", icon=":material/forum:",
                   help="The thread this run belongs to, at this reply."):
        _open_in_chat(trace.run.thread_id)
    if not live:
        row.download_button(
            "Run as JSON", key=f"tr_export_{trace.run.id}", icon=":material/download:",
            file_name=f"run-{trace.run.id}.json", mime="application/json", on_click="ignore",
            data=lambda: trace_export.export_run_json(ctx.person_id, trace.run.id))
    if row.button("Close", key=f"tr_close_{trace.run.id}", icon=":material/close:"):
        st.session_state.pop(SELECTED, None)
        st.query_params.pop("run", None)
        st.rerun()


def _show(run_id: int) -> None:
    trace = traces.get_run_trace(ctx.person_id, run_id)
    render_header(trace)
    _actions(trace, trace.is_live)
    render_trace(trace, key=f"run{run_id}")


@st.fragment(run_every=1)
def _live(run_id: int) -> None:
    """Re-read the run every second; once it has ended, redraw the whole page."""
    if traces.run_status(ctx.person_id, run_id) != "running":
        st.rerun()
    st.caption("⏳ Live: this run is still going; the view updates every second.")
    _show(run_id)


run_id = st.session_state.get(SELECTED)
if run_id:
    st.session_state["tr_url_run"] = st.query_params["run"] = str(run_id)  # a shareable link
    st.divider()
    try:
        if traces.run_status(ctx.person_id, int(run_id)) == "running":
            _live(int(run_id))
        else:
            _show(int(run_id))
    except WorkbenchError as err:
        st.session_state.pop(SELECTED, None)
        st.query_params.pop("run", None)
        show_error(err)
else:
    st.caption("Open a run to see its trace.")
