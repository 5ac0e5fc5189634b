"""Usage: what the current group spends, by model, agent, person, caller (the app or an API key)
and provider, narrowed to one caller if asked; budget and rate limits; groups side by side. Every
number comes aggregated from workbench services."""

from __future__ import annotations

import tempfile
from datetime import timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from ui.common import current, field_error, fmt_time, require_group, show_error
from workbench import clock, demo, experiments
from workbench.costs import charts, limits, prices, reports, usage_export
from workbench.costs.budget import budget_status
from workbench.errors import ValidationError, WorkbenchError
from workbench.markup import inert
from workbench.serve import keys as api_keys
from workbench.tenancy import groups

ctx = current()
require_group(ctx)

st.title("Usage")
time_zone = groups.get_group(ctx.person_id, ctx.group_id).time_zone or clock.UTC_NAME
st.caption(f"**{ctx.group_name}** · model calls, tokens and cost · days, months and times in "
           f"**{time_zone}** (the group's time zone; owners set it on the Groups page)")

if demo.has_generated_history(ctx.person_id, ctx.group_id):
    st.info(f"Includes generated demo history: usage records under the provider "
            f"**{demo.GENERATED_PROVIDER}** were made up by `python -m workbench demo` for these charts "
            "(priced at real list prices); the demo's real runs on the built-in model cost $0.", icon="🧪")

# --- budget banner -------------------------------------------------------------------
budget = budget_status(ctx.person_id, ctx.group_id)
if budget.level == "exceeded":
    st.error(budget.message, icon="⛔")
elif budget.level == "warning":
    st.warning(budget.message, icon="⚠️")

# --- period, and who called: everyone, the app's people, or one API key -----------------
group_keys = api_keys.list_keys(ctx.person_id, ctx.group_id)
period_col, caller_col = st.columns([2, 1], vertical_alignment="bottom") if group_keys else (st, None)
kinds = list(reports.PERIODS)
kind = period_col.radio("Period", kinds, index=kinds.index("30d"), format_func=reports.PERIODS.get,
                        horizontal=True, key="usage_period")
callers = {None: "All callers", reports.APP: "Workbench app (people)"}
callers.update({k.id: f"🔑 {k.name}" + ("" if k.active else " (revoked)") for k in group_keys})
if st.session_state.get("sel_usage_caller") not in callers:
    st.session_state.pop("sel_usage_caller", None)  # a key of another group, or gone
caller = None
if caller_col is not None:
    caller = caller_col.selectbox("Calls from", list(callers), format_func=callers.get, key="sel_usage_caller",
                                 help="The whole page counts only these calls: made in the workbench app by "
                                      "people, or through the API with one of the group's keys (Deploy page).")
start = end = None
if kind == "custom":
    today = clock.local_today(time_zone)
    picked = st.date_input("From – to (inclusive)", value=(today - timedelta(days=13), today),
                           max_value=today, key="usage_custom")
    if not isinstance(picked, (list, tuple)) or len(picked) != 2:
        st.info("Pick the last day of the period too.")
        st.stop()
    start, end = picked

try:
    period = reports.period(kind, start=start, end=end, time_zone=time_zone)
    dash = reports.dashboard(ctx.person_id, ctx.group_id, period, caller=caller)
except WorkbenchError as err:
    show_error(err)
    st.stop()

# --- totals with the change against the previous period -------------------------------
t = dash.totals


def _delta(attr: str) -> str | None:
    change = dash.change(attr)
    return None if change is None else f"{change:+.0%}"


def _compact(n: int) -> str:
    for threshold, size, suffix in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if n >= threshold:
            return f"{n / size:,.{1 if n < 100 * size else 0}f}{suffix}"
    return f"{n:,}"


def _usd(v: float) -> str:
    return f"${v:,.4f}" if v < 100 else f"${v:,.2f}"


prev = (f"Compared with {period.local(period.prev_start):%d %b %H:%M} – "
        f"{period.local(period.prev_end):%d %b %H:%M}, "
        "the previous period of equal length.")
cols = st.columns(5)
cols[0].metric("Model calls", f"{t.calls:,}", _delta("calls"), delta_color="off", help=prev)
cols[1].metric("Input tokens", _compact(t.input_tokens), _delta("input_tokens"), delta_color="off",
               help=f"{t.input_tokens:,} tokens. {prev}")
cols[2].metric("Output tokens", _compact(t.output_tokens), _delta("output_tokens"), delta_color="off",
               help=f"{t.output_tokens:,} tokens. {prev}")
cols[3].metric("Cost", _usd(t.cost_usd), _delta("cost_usd"), delta_color="inverse", help=prev)
cols[4].metric("Avg latency", f"{t.avg_latency_ms / 1000:.2f} s" if t.avg_latency_ms is not None else "–",
               _delta("avg_latency_ms"), delta_color="inverse", help=prev)
if caller is not None:
    st.caption(f"Only the calls of **{inert(callers[caller])}** in this period: every figure, chart and the CSV below.")
spent_on_experiments = (experiments.experiment_spend(ctx.person_id, ctx.group_id, period.start, period.end)
                        if caller in (None, reports.APP) else {"calls": 0})  # experiments run in the app
if spent_on_experiments["calls"]:
    st.caption(f"Of which **experiments** (test-set runs and their judges): {spent_on_experiments['calls']:,} "
               f"calls, {_compact(spent_on_experiments['tokens'])} tokens, "
               f"{_usd(spent_on_experiments['cost_usd'])}; everything else: "
               f"{_usd(max(0.0, t.cost_usd - spent_on_experiments['cost_usd']))}.")
if t.estimated_calls:
    st.caption(f"{t.estimated_calls:,} of {t.calls:,} calls had no usage from their provider; "
               "their tokens were counted locally (estimates).")
if dash.default_priced:
    flagged = ", ".join(f"`{m.provider}/{m.model}` ({m.default_priced_calls:,} calls)" for m in dash.default_priced)
    st.warning(f"⚑ No price of their own, so priced with the provider's default: {flagged}. "
               "An administrator can add their prices on the **Prices** page and recompute.")

# --- charts --------------------------------------------------------------------------
CHART = {"displayModeBar": False}


def _chart(where, fig, key: str) -> None:
    where.plotly_chart(charts.page_layout(fig), key=key, config=CHART)


if t.calls == 0:
    st.info("No model calls in this period. Chat with an agent and its calls show up here.")
else:
    left, right = st.columns(2)
    _chart(left, charts.cost_over_time(dash), "chart_cost_time")
    _chart(right, charts.tokens_by_agent(dash), "chart_tokens_agent")
    left, right = st.columns(2)
    _chart(left, charts.cost_by_person(dash), "chart_cost_person")
    _chart(right, charts.cost_by_provider(dash), "chart_cost_provider")

    if group_keys:
        st.subheader("By caller")
        st.caption("The workbench app (people) and each API key: a key's calls are the runs products "
                   "started through the API.")
        st.dataframe(pd.DataFrame([{
            "Caller": r.name if r.key_id is None else f"🔑 {r.name}" + (" (revoked)" if r.revoked else ""),
            "Calls": r.calls, "Input tokens": r.input_tokens, "Output tokens": r.output_tokens,
            "Cost (USD)": r.cost_usd, "Share of cost": r.cost_usd / t.cost_usd if t.cost_usd else None}
            for r in dash.by_caller]), hide_index=True, column_config={
            "Cost (USD)": st.column_config.NumberColumn(format="$%.4f"),
            "Share of cost": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0)})

    st.subheader("By model")
    st.dataframe(pd.DataFrame([{
        "Provider": m.provider, "Model": m.model, "Calls": m.calls, "Input tokens": m.input_tokens,
        "Output tokens": m.output_tokens, "Cost (USD)": m.cost_usd,
        "Price": "⚑ provider default" if m.default_priced_calls else "own",
        "Estimated calls": m.estimated_calls} for m in dash.by_model]),
        hide_index=True, column_config={"Cost (USD)": st.column_config.NumberColumn(format="$%.4f")})

    # --- the most expensive threads and runs, each opening its trace -----------------
    def _top(rows: list, kind_: str) -> None:
        if not rows:
            st.caption("None in this period.")
            return
        for row in rows:
            c = st.columns([6, 2, 3, 2], vertical_alignment="center")
            detail = f" · {row.detail}" if row.detail else ""
            c[0].markdown(f"**{row.title}**  \n:gray[{kind_} #{row.id} · {fmt_time(row.when)}{detail}]")
            c[1].markdown(f"**{_usd(row.cost_usd)}**")
            c[2].markdown(f"{_compact(row.tokens)} tokens · {row.calls:,} calls")
            if row.run_id and c[3].button("Trace →", key=f"trace_{kind_}_{row.id}", width="stretch",
                                          help="Open this run's trace" if kind_ == "run"
                                          else "Open the trace of this thread's latest run"):
                st.session_state["sel_run_id"] = row.run_id
                st.switch_page("views/traces.py")

    st.subheader("Most expensive")
    tab_threads, tab_runs = st.tabs(["Threads", "Runs"])
    with tab_threads:
        _top(dash.top_threads, "thread")
    with tab_runs:
        _top(dash.top_runs, "run")

    # --- export ------------------------------------------------------------------------
    def _csv_file():
        # Called on click: rows stream from SQL into a spooled temp file, never a DataFrame.
        fh = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        usage_export.write_usage_csv(ctx.person_id, ctx.group_id, period.start, period.end, fh, caller=caller)
        fh.seek(0)
        return fh

    st.download_button(f"Download the {t.calls:,} records as CSV", data=_csv_file, mime="text/csv",
                       file_name=f"usage-group{ctx.group_id}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
                                 + ("" if caller is None else "-app" if caller == reports.APP else f"-key{caller}")
                                 + ".csv",
                       on_click="ignore", icon="⬇️")

# --- budget and rate limits ----------------------------------------------------------
with st.expander("Budget and rate limits", expanded=budget.level != "ok" and ctx.is_owner):
    lim = limits.get_limits(ctx.person_id, ctx.group_id)
    rate = limits.rate_usage(ctx.person_id, ctx.group_id)
    plan = lim.plan_defaults

    def _show(v, unit=""):
        return "no limit" if v is None else f"{v:,}{unit}"

    st.markdown(f"Plan **{lim.plan}** defaults: budget {_show(plan.get('monthly_budget_usd'), ' USD')}, "
                f"{_show(plan.get('rpm_limit'))} runs/min, {_show(plan.get('tpm_limit'))} tokens/min.")
    st.markdown(f"{budget.message}  \nLast minute: **{rate.rpm_used}** runs started, "
                f"**{rate.tpm_used:,}** tokens. A run over a rate limit waits up to "
                f"{limits.MAX_WAIT_S:g} s for the window to free, else it is refused.")
    if ctx.is_owner:
        err = st.session_state.pop("limits_error", None)
        with st.form("limits_form"):
            no_budget = st.checkbox("No monthly budget", value=lim.monthly_budget_usd is None)
            new_budget = st.number_input("Monthly budget (USD)", min_value=0.0, step=10.0,
                                         value=float(lim.monthly_budget_usd if lim.monthly_budget_usd is not None
                                                     else plan.get("monthly_budget_usd") or 50.0))
            field_error(err, "monthly_budget_usd")
            new_rpm = st.number_input("Runs per minute (0 = no limit)", min_value=0, step=10,
                                      value=int(lim.rpm_limit or 0))
            field_error(err, "rpm_limit")
            new_tpm = st.number_input("Tokens per minute (0 = no limit)", min_value=0, step=10_000,
                                      value=int(lim.tpm_limit or 0))
            field_error(err, "tpm_limit")
            saved = st.form_submit_button("Save limits", type="primary")
        if saved:
            try:
                limits.set_limits(ctx.person_id, ctx.group_id,
                                  monthly_budget_usd=None if no_budget else new_budget,
                                  rpm_limit=new_rpm or None, tpm_limit=new_tpm or None)
                st.toast("Limits saved.")
                st.rerun()
            except ValidationError as exc:
                st.session_state["limits_error"] = exc
                st.rerun()
            except WorkbenchError as exc:
                show_error(exc)
        if st.button("Reset to the plan's defaults", key="limits_reset"):
            try:
                limits.reset_limits_to_plan(ctx.person_id, ctx.group_id)
                st.rerun()
            except WorkbenchError as exc:
                show_error(exc)
    else:
        st.caption("Only the group's owners can change these.")

# --- groups side by side -------------------------------------------------------------
admin = prices.is_admin(ctx.person_id)
groups_rows = reports.compare_groups(ctx.person_id, period.start, period.end)
if admin or len(groups_rows) > 1:
    st.subheader("Groups side by side")
    st.caption("Administrators see every group of the workbench; everyone else sees the groups "
               f"they belong to. Same period: {period.label}.")
    df = pd.DataFrame([{
        "Group": g.name, "Plan": g.plan, "Calls": g.calls, "Input tokens": g.input_tokens,
        "Output tokens": g.output_tokens, "Cost (USD)": g.cost_usd,
        "Month spend (USD)": g.month_spend_usd,
        "Budget (USD)": g.budget_usd, "Budget": {"exceeded": "⛔ exceeded", "warning": "⚠️ ≥ 80 %",
                                                 "ok": "ok", "none": "–"}[g.budget_level]}
        for g in groups_rows])
    if groups_rows and df["Cost (USD)"].sum() > 0:
        fig = px.bar(df, x="Group", y="Cost (USD)", title="Cost by group", color="Plan")
        _chart(st, fig, "chart_groups")
    st.dataframe(df, hide_index=True, column_config={
        "Cost (USD)": st.column_config.NumberColumn(format="$%.4f"),
        "Month spend (USD)": st.column_config.NumberColumn(format="$%.2f"),
        "Budget (USD)": st.column_config.NumberColumn(format="$%.2f")})
