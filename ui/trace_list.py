"""The Traces page's run list: filters, sort, the table (click a row to open it), paging
and exports of the filtered runs."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from ui.trace_view import fmt_cost, fmt_ms
from workbench.observe import trace_export, traces
from workbench.observe.traces import RunFilterOptions, RunFilters, RunPage
from workbench.tenancy.people import APP

PAGE_SIZE = 50
SORT_LABELS = {"started_at": "Start time", "duration_ms": "Duration", "cost_usd": "Cost",
               "tokens": "Tokens", "step_count": "Steps"}
ERROR_CHOICES = {"any": None, "with errors": True, "without errors": False}
SELECTED = "sel_run_id"


def filter_bar(opts: RunFilterOptions) -> tuple[RunFilters, str, bool]:
    """The filter widgets; returns the filters, the sort key and its direction."""
    agents, people, threads_ = dict(opts.agents), dict(opts.people), dict(opts.threads)
    callers = {None: "Anyone", APP: "Workbench app (people)", **{k: f"🔑 {n}" for k, n in opts.api_keys}}
    if st.session_state.get("tr_caller") not in callers:
        st.session_state.pop("tr_caller", None)  # a key of another group
    with st.container(border=True):
        c = st.columns(4)
        agent_ids = c[0].multiselect("Agent", list(agents), format_func=agents.get, key="tr_agent")
        statuses = c[1].multiselect("Status", list(opts.statuses), key="tr_status")
        person = c[2].selectbox("Person", [None, *people], key="tr_person",
                                format_func=lambda p: "Anyone" if p is None else people[p])
        tool = c[3].selectbox("Tool used", [None, *opts.tools], key="tr_tool",
                              format_func=lambda t: "Any" if t is None else t)
        c = st.columns(4)
        thread = c[0].selectbox("Thread", [None, *threads_], key="tr_thread",
                                format_func=lambda t: "Any" if t is None else f"#{t} {threads_[t]}")
        days = c[1].date_input("Started between", value=(), key="tr_days",
                               help="UTC dates; pick a start and an end day.")
        min_s = c[2].number_input("Min duration (s)", min_value=0.0, value=0.0, step=0.5,
                                  key="tr_min_s")
        errors = c[3].selectbox("Errors", list(ERROR_CHOICES), key="tr_errors")
        c = st.columns([2, 1, 3])
        sort = c[0].selectbox("Sort by", list(SORT_LABELS), format_func=SORT_LABELS.get,
                              key="tr_sort")
        descending = c[1].toggle("Highest first", value=True, key="tr_desc")
        caller = None
        if opts.api_keys:  # the group has API keys: runs started by products through the API
            caller = c[2].selectbox("Started from", list(callers), format_func=callers.get, key="tr_caller",
                                    help="The workbench app (people), or one of the group's API keys.")
    since = until = None
    if isinstance(days, (tuple, list)) and len(days) >= 1:
        since = datetime.combine(days[0], time.min)
        until = datetime.combine(days[-1], time.min) + timedelta(days=1)
    filters = RunFilters(agent_ids=tuple(agent_ids), thread_id=thread, person_id=person,
                         statuses=tuple(statuses), since=since, until=until,
                         min_duration_ms=(min_s * 1000) or None, has_error=ERROR_CHOICES[errors],
                         tool=tool, caller=caller)
    return filters, sort, descending


def _offset(signature: tuple) -> int:
    """The page offset; back to the first page whenever the filters or sort change."""
    if st.session_state.get("tr_signature") != signature:
        st.session_state["tr_signature"] = signature
        st.session_state["tr_offset"] = 0
    return st.session_state.get("tr_offset", 0)


def _move(delta: int) -> None:
    st.session_state["tr_offset"] = max(0, st.session_state.get("tr_offset", 0) + delta)


def load_page(person_id: int, group_id: int, filters: RunFilters, sort: str,
              descending: bool) -> RunPage:
    offset = _offset((filters, sort, descending))
    return traces.list_runs(person_id, group_id, filters, sort=sort, descending=descending,
                            limit=PAGE_SIZE, offset=offset)


def _pick(run_id: int | None, source: str) -> None:
    """Open a run when a table row or the picker changes (not on every rerun)."""
    if run_id is not None and st.session_state.get(f"tr_prev_{source}") != run_id:
        st.session_state[SELECTED] = int(run_id)
    st.session_state[f"tr_prev_{source}"] = run_id


def run_table(page: RunPage) -> None:
    if not page.rows:
        st.info("No runs match these filters." if page.total == 0 else "No more runs.")
        return
    rows = [{"run": r.id, "started": r.started_at, "status": r.status, "agent": r.agent_name,
             "thread": r.thread_title, "person": r.caller_name,
             "duration_s": None if r.duration_ms is None else r.duration_ms / 1000,
             "steps": r.step_count, "tokens": r.total_tokens, "cost_usd": r.cost_usd,
             "tools": ", ".join(r.tools), "error": r.error_type or ""} for r in page.rows]
    event = st.dataframe(
        rows, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key="tr_table",
        column_config={
            "run": st.column_config.NumberColumn("Run", format="#%d", width="small"),
            "status": st.column_config.TextColumn("Status", width="small"),
            "agent": st.column_config.TextColumn("Agent"),
            "thread": st.column_config.TextColumn("Thread", width="medium"),
            "person": st.column_config.TextColumn("Person"),
            "tools": st.column_config.TextColumn("Tools used"),
            "started": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "duration_s": st.column_config.NumberColumn("Duration", format="%.2f s"),
            "steps": st.column_config.NumberColumn("Steps", width="small"),
            "tokens": st.column_config.NumberColumn("Tokens", format="%d"),
            "cost_usd": st.column_config.NumberColumn("Cost", format="$%.5f"),
            "error": st.column_config.TextColumn("Error"),
        })
    chosen = event.selection.rows if event is not None and hasattr(event, "selection") else []
    _pick(page.rows[chosen[0]].id if chosen else None, "table")
    left, right = st.columns([3, 2], vertical_alignment="center")
    with left.container(horizontal=True, vertical_alignment="center"):
        st.button("Previous", disabled=page.offset == 0, on_click=_move, args=(-PAGE_SIZE,),
                  key="tr_prev_page", icon=":material/chevron_left:")
        st.button("Next", disabled=not page.has_next, on_click=_move, args=(PAGE_SIZE,),
                  key="tr_next_page", icon=":material/chevron_right:")
        st.caption(f"Runs {page.offset + 1}–{page.offset + len(page.rows)} of {page.total:,}")
    labels = {r.id: f"#{r.id} · {r.status} · {r.agent_name} · {fmt_ms(r.duration_ms)} · "
                    f"{fmt_cost(r.cost_usd)}" for r in page.rows}
    picked = right.selectbox("Open run", [None, *labels], key="tr_picker",
                            format_func=lambda i: "Click a row, or pick…" if i is None else labels[i],
                            label_visibility="collapsed")
    _pick(picked, "picker")


def export_buttons(person_id: int, group_id: int, filters: RunFilters, sort: str,
                   descending: bool) -> None:
    row = st.container(horizontal=True)
    row.download_button(
        "Runs as CSV", key="tr_csv", icon=":material/download:", mime="text/csv",
        file_name="runs.csv", on_click="ignore",
        data=lambda: trace_export.export_runs_csv(person_id, group_id, filters, sort=sort,
                                            descending=descending))
    row.download_button(
        "Runs as JSON", key="tr_json", icon=":material/download:", mime="application/json",
        file_name="runs.json", on_click="ignore",
        data=lambda: trace_export.export_runs_json(person_id, group_id, filters, sort=sort,
                                             descending=descending))
