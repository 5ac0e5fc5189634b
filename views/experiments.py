"""Experiments: test sets (cases with inputs, expected answers and checks; import and export
CSV/JSONL; versions), run an agent version over a test set (progress, stop, resume), the
results, two experiments compared with the test set's history chart, and optimizations of
an agent's prompt over a test set (ui/optimize.py).
Links: ?experiment=ID opens an experiment's results, ?compare=BASELINE,CANDIDATE two
experiments compared, ?tab=NAME a tab, ?optimization=ID an optimization."""

import streamlit as st

from ui.common import current, fmt_time, require_group, show_error
from ui.experiments import (cases_from_table, cases_table, compare_from_url, render_comparison, render_results,
                            render_summary)
from ui.optimize import optimize_tab
from workbench import agents, experiments
from workbench.errors import WorkbenchError
from workbench.experiments.charts import history_figure
from workbench.playground import Variant

ctx = current()
require_group(ctx)

st.title("Experiments")
st.caption("Measure an agent change before it ships: run it over a test set, each case as many times as "
           "you like, and compare with a baseline. Every case is a real run: traced, priced, under the "
           "group's budget and rate limits.")

params = st.query_params
raw = params.get("experiment")
if raw and raw.isdigit() and st.session_state.get("ex_url") != raw:
    st.session_state["ex_url"] = raw
    st.session_state["ex_shown"] = int(raw)
    st.session_state["tab"] = "Results"
compare_from_url(ctx.person_id)

sets = experiments.list_test_sets(ctx.person_id, ctx.group_id)
names = {s.id: s.name for s in sets}
tab_sets, tab_run, tab_results, tab_compare, tab_optimize = st.tabs(
    ["Test sets", "Run", "Results", "Compare", "Optimize"], key="tab", bind="query-params")

# --- test sets -------------------------------------------------------------------------
with tab_sets:
    if ctx.can_edit:
        with st.expander("New test set", expanded=not sets):
            with st.form("ex_new_set", clear_on_submit=True, border=False):
                name = st.text_input("Name", key="ex_new_name")
                description = st.text_input("Description", key="ex_new_desc")
                if st.form_submit_button("Create", type="primary"):
                    try:
                        made = experiments.create_test_set(ctx.person_id, ctx.group_id, name, description)
                        st.session_state["ex_set"] = made.id
                        st.rerun()
                    except WorkbenchError as err:
                        show_error(err)
    if not sets:
        st.info("No test sets yet. Create one, import a CSV or JSONL file, or use *Add to test set* on "
                "a chat reply or a trace.")
    else:
        set_id = st.selectbox("Test set", list(names), format_func=names.get, key="ex_set")
        ts = experiments.get_test_set(ctx.person_id, set_id)
        st.caption(f"{ts.description or 'No description.'} · version {ts.version} · {len(ts.cases)} cases · "
                   f"updated {fmt_time(ts.updated_at)}")
        st.markdown("**Cases** — input (text, or a JSON list of turns), expected answer, checks as JSON, "
                    'e.g. `[{"type": "contains", "value": "Paris"}]`. Without checks a case passes when the '
                    "reply contains the expected answer.")
        edited = st.data_editor(cases_table(ts.cases), num_rows="dynamic" if ctx.can_edit else "fixed",
                                disabled=not ctx.can_edit, width="stretch", key=f"ex_cases_{ts.id}_{ts.version}",
                                column_config={"key": None,
                                               "input": st.column_config.TextColumn("input", width="large"),
                                               "checks": st.column_config.TextColumn("checks", width="medium")})
        if ctx.can_edit:
            note = st.text_input("Note for this version (optional)", key="ex_note")
            if st.button("Save cases as a new version", key="ex_save", type="primary"):
                try:
                    rows = edited if isinstance(edited, list) else edited.to_dict("records")
                    saved = experiments.save_cases(ctx.person_id, ts.id, cases_from_table(rows), note or None)
                    st.success(f"Saved version {saved.version} ({len(saved.cases)} cases).")
                    st.rerun()
                except WorkbenchError as err:
                    show_error(err)
        left, right = st.columns(2)
        with left:
            st.markdown("**Import** (CSV or JSONL: `input`, `expected`, optional check columns)")
            upload = st.file_uploader("File", type=["csv", "jsonl"], key="ex_upload", disabled=not ctx.can_edit,
                                      label_visibility="collapsed")
            if upload is not None and st.button("Import as a new version", key="ex_import",
                                                disabled=not ctx.can_edit):
                try:
                    done = experiments.import_test_set(ctx.person_id, ctx.group_id, ts.name, upload.getvalue(),
                                                       upload.name)
                    st.success(f"Imported {len(done.cases)} cases as version {done.version}.")
                except experiments.ImportRejected as err:
                    st.error("Nothing was imported; fix these rows:\n\n" + "\n".join(f"- {p}" for p in err.problems))
                except WorkbenchError as err:
                    show_error(err)
        with right:
            st.markdown("**Export**")
            for fmt in ("csv", "jsonl"):
                st.download_button(f"Download .{fmt}", experiments.export_test_set(ctx.person_id, ts.id, f"x.{fmt}"),
                                   file_name=f"{ts.name}.{fmt}", key=f"ex_export_{fmt}")
        with st.expander("Versions"):
            st.dataframe(experiments.list_test_set_versions(ctx.person_id, ts.id), hide_index=True, width="stretch")

# --- run -------------------------------------------------------------------------------
with tab_run:
    agent_list = agents.list_agents(ctx.person_id, ctx.group_id)
    if not ctx.can_edit:
        st.info("You are a viewer in this group: you can read experiments but not run them.")
    elif not sets or not agent_list:
        st.info("Create a test set and an agent first.")
    else:
        labels = {a.id: f"{a.name} (v{a.version})" for a in agent_list}
        c1, c2 = st.columns(2)
        run_set = c1.selectbox("Test set", list(names), format_func=names.get, key="ex_run_set")
        run_agent = c2.selectbox("Agent", list(labels), format_func=labels.get, key="ex_run_agent")
        c3, c4, c5 = st.columns(3)
        version = c3.number_input("Version (0 = latest)", min_value=0, step=1, key="ex_run_version")
        repeats = c4.number_input("Repeats per case", min_value=1, max_value=20, value=1, key="ex_run_repeats")
        concurrency = c5.number_input("Cases at once", min_value=1, max_value=32, value=4, key="ex_run_conc",
                                      help="Also bounded by the group's runs-per-minute limit.")
        if st.button("Run experiment", key="ex_start", type="primary", icon=":material/play_arrow:"):
            try:
                variant = Variant(run_agent, int(version) or None)
                st.session_state["ex_shown"] = experiments.start_experiment(
                    ctx.person_id, ctx.group_id, run_set, variant, repeats=int(repeats), concurrency=int(concurrency))
            except WorkbenchError as err:
                show_error(err)

    shown = st.session_state.get("ex_shown")
    try:  # refresh every second only while it runs
        live = bool(shown) and experiments.get_experiment(ctx.person_id, shown).status == "running"
    except WorkbenchError:
        live = False

    @st.fragment(run_every=1.0 if live else None)
    def _progress() -> None:
        if not shown:
            return
        try:
            view = experiments.get_experiment(ctx.person_id, shown)
        except WorkbenchError as err:
            show_error(err)
            return
        st.progress(view.progress, text=f"Experiment #{view.id} · {view.label} on {view.test_set_name} "
                                        f"v{view.test_set_version}: {view.done}/{view.total} · {view.status}")
        if view.status == "running" and ctx.can_edit and st.button("Stop", key="ex_stop", icon=":material/stop:"):
            experiments.stop_experiment(ctx.person_id, view.id)
        if view.status in ("interrupted", "stopped") and ctx.can_edit and \
                st.button("Resume", key="ex_resume", icon=":material/play_arrow:"):
            try:
                experiments.resume_experiment(ctx.person_id, view.id)
            except WorkbenchError as err:
                show_error(err)
        if view.error:
            st.warning(view.error)
        if view.done:
            render_summary(view)

    _progress()

# --- results ---------------------------------------------------------------------------
all_runs = experiments.list_experiments(ctx.person_id, ctx.group_id)
run_labels = {e.id: f"#{e.id} · {e.test_set_name} v{e.test_set_version} · {e.label} · {fmt_time(e.created_at)} · "
                    f"{e.status}" for e in all_runs}
with tab_results:
    if not all_runs:
        st.info("No experiments yet.")
    else:
        ids = list(run_labels)
        default = st.session_state.get("ex_shown")
        pick = st.selectbox("Experiment", ids, format_func=run_labels.get, key="ex_pick",
                            index=ids.index(default) if default in ids else 0)
        view = experiments.get_experiment(ctx.person_id, pick)
        st.caption(f"{view.repeats} repeat(s) per case · {view.done}/{view.total} done · {view.status}"
                   + (f" · {view.error}" if view.error else ""))
        render_summary(view)
        render_results(view)

# --- compare ---------------------------------------------------------------------------
with tab_compare:
    if not sets:
        st.info("No test sets yet.")
    else:
        cmp_set = st.selectbox("Test set", list(names), format_func=names.get, key="ex_cmp_set")
        of_set = [e.id for e in all_runs if e.test_set_id == cmp_set]
        if len(of_set) < 2:
            st.info("Run at least two experiments on this test set to compare them.")
        else:
            for key, default in (("ex_cmp_base", of_set[1]), ("ex_cmp_cand", of_set[0])):
                if st.session_state.get(key) not in of_set:
                    st.session_state[key] = default
            # without the status: a picked option's label is not redrawn when it changes
            cmp_labels = {i: run_labels[i].rpartition(" · ")[0] for i in of_set}
            c1, c2 = st.columns(2)
            baseline = c1.selectbox("Baseline", of_set, format_func=cmp_labels.get, key="ex_cmp_base")
            candidate = c2.selectbox("Candidate", of_set, format_func=cmp_labels.get, key="ex_cmp_cand")
            running = {e.id for e in all_runs if e.status == "running"}
            live_cmp = bool({baseline, candidate} & running)

            @st.fragment(run_every=1.0 if live_cmp else None)
            def _comparison() -> None:  # refreshes while either experiment runs
                try:
                    report = experiments.compare_experiments(ctx.person_id, baseline, candidate)
                except WorkbenchError as err:
                    show_error(err)
                    return
                going = [v for v in (report.baseline, report.candidate) if v.status == "running"]
                if live_cmp and not going:
                    st.rerun()  # both done: redraw the page (the history) and stop refreshing
                for v in going:
                    st.progress(v.progress, text=f"#{v.id} {v.label}: {v.done}/{v.total} · running")
                render_comparison(report)

            _comparison()
        points = experiments.experiment_history(ctx.person_id, cmp_set)
        if points:
            st.markdown("**History of this test set**")
            st.plotly_chart(history_figure(points), width="stretch", key="ex_history")

# --- optimize --------------------------------------------------------------------------
with tab_optimize:
    optimize_tab(ctx, names)
