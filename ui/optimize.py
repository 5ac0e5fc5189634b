"""The Optimize tab of the Experiments page: start a search for a better system prompt of an
agent over a test set (gepa, every candidate scored by real runs), follow it while it runs,
read its candidates (the diff against the starting prompt, the runs behind each score), save
one as a new agent version and run it against the start as two experiments.
Links: ?optimization=ID opens an optimization (with ?tab=Optimize)."""

from __future__ import annotations

import streamlit as st

from ui.agent_editor import provider_models
from ui.common import flash, fmt_time, show_error, show_flash
from ui.experiments import input_text
from ui.links import comparison_link, trace_link, version_link
from workbench import agents, optimize
from workbench.errors import WorkbenchError
from workbench.providers import service as provider_service

PICK = "opt_pick"  # the optimization on show
FLASH = "opt_flash"
RAN = "opt_ran"  # optimization id -> (baseline, candidate) experiment ids of its "Run as experiment"
REFRESH_S = 1.5  # how often the tab rereads a running optimization
OWN = 0  # the reflection provider option "the agent's own"
STATUS_ICONS = {"running": "⏳", "finished": "✅", "stopped": "⏹️", "failed": "❌", "interrupted": "⚠️"}

INTRO = ("Improve an agent's system prompt from a test set. A reflection model reads the cases the prompt "
         "gets wrong (replies, tool calls, each check's reason) and proposes a new prompt; every candidate is "
         "scored by real runs of the agent on the validation cases. Its score is the share of checks passed, "
         "from 0 to 1. The budget counts case evaluations: one run of the agent on one case each, traced and "
         "priced like any run.")


def fmt_score(score: float | None) -> str:
    return "–" if score is None else f"{score:.2f}"


def optimize_tab(ctx, test_sets: dict[int, str]) -> None:
    st.caption(INTRO)
    _start_form(ctx, test_sets)
    listing = optimize.list_optimizations(ctx.person_id, ctx.group_id)
    raw = st.query_params.get("optimization")  # a link like ?optimization=3
    if raw and raw.isdigit() and st.session_state.get("opt_url") != raw:
        st.session_state["opt_url"] = raw
        st.session_state[PICK] = int(raw)
    live = any(o.status == "running" for o in listing)

    @st.fragment(run_every=REFRESH_S if live else None)
    def _follow() -> None:
        try:
            rows = optimize.list_optimizations(ctx.person_id, ctx.group_id)
        except WorkbenchError as err:
            show_error(err)
            return
        if any(o.status == "running" for o in rows) != live:
            st.rerun()  # one started or ended: redraw the page, refreshing only while one runs
        if not rows:
            st.info("No optimizations yet." + (" Start one above." if ctx.can_edit else ""))
            return
        st.markdown("**Optimizations** (newest first)")
        st.dataframe([_row(o) for o in rows], hide_index=True, width="stretch")
        by_id = {o.id: o for o in rows}
        if st.session_state.get(PICK) not in by_id:
            st.session_state[PICK] = rows[0].id
        chosen = st.selectbox("Optimization", list(by_id), key=PICK, format_func=lambda i: _label(by_id[i]))
        _panel(ctx, chosen)

    _follow()


# --- starting ----------------------------------------------------------------------------
def _start_form(ctx, test_sets: dict[int, str]) -> None:
    if not ctx.can_edit:
        st.info("You are a viewer in this group: you can read optimizations but not start or change them.")
        return
    agent_list = agents.list_agents(ctx.person_id, ctx.group_id)
    if not test_sets or not agent_list:
        st.info("Create a test set (with expected answers or checks) and an agent first.")
        return
    with st.container(border=True):
        st.markdown("**Start an optimization**")
        names = {a.id: a.name for a in agent_list}
        c1, c2, c3 = st.columns([2, 1, 2])
        agent_id = c1.selectbox("Agent", list(names), format_func=names.get, key="opt_agent")
        versions = {v.version: v for v in agents.list_versions(ctx.person_id, agent_id)}
        version = c2.selectbox("Version", list(versions), key=f"opt_version_{agent_id}",
                               format_func=lambda n: f"v{n} · {(versions[n].note or '')[:40]}".rstrip(" ·"),
                               help="The version whose system prompt the search starts from (newest first).")
        set_id = c3.selectbox("Test set", list(test_sets), format_func=test_sets.get, key="opt_set",
                              help="Its cases with expected answers or checks score the prompts; with six or "
                                   "more, half are learned from and the other half validate.")
        c4, c5, c6 = st.columns([1, 2, 2])
        budget = c4.number_input("Budget", min_value=1, value=optimize.DEFAULT_BUDGET, step=10, key="opt_budget",
                                 help="The most case evaluations (runs of the agent, each on one case) the search "
                                      "may spend.")
        own = versions[version].config
        provider_id, model = _reflection_picker(ctx, own, c5, c6)
        if st.button("Start optimization", key="opt_start", type="primary", icon=":material/auto_fix_high:"):
            try:
                started = optimize.start_optimization(
                    ctx.person_id, ctx.group_id, agent_id, set_id, version=version, budget=int(budget),
                    reflection_provider_id=provider_id, reflection_model=model)
                st.session_state[PICK] = started
                st.toast(f"Optimization #{started} started.")
            except WorkbenchError as err:
                show_error(err)


def _reflection_picker(ctx, own: dict, left, right) -> tuple[int | None, str | None]:
    """The reflection model: the agent's own provider and model, or one of the group's
    providers with a model from its list (or typed). Returns (provider id or None, model or None)."""
    providers = {p.id: p for p in provider_service.list_providers(ctx.person_id, ctx.group_id)}
    own_name = providers[own["provider_id"]].name if own.get("provider_id") in providers else "its provider"
    labels = {OWN: "The agent's own", **{i: p.name for i, p in providers.items()}}
    provider_id = left.selectbox("Reflection provider", list(labels), format_func=labels.get, key="opt_refl_provider",
                                 help="The model that reads the failures and writes new prompts. A stronger model "
                                      "than the agent's often proposes better ones.")
    with right:
        if provider_id == OWN:
            shown = f"{own.get('model') or '(its default)'} on {own_name}"
            st.text_input("Reflection model", value=shown, disabled=True, key=f"opt_refl_own_{shown}",
                          help="The agent's own provider and model.")
            return None, None
        provider = providers[provider_id]
        models, problem = provider_models(ctx.person_id, provider.id, provider.base_url, provider.api_key_name)
        default = provider_service.starting_model(provider) or (models[0] if models else "")
        if models:
            options = models + ([default] if default and default not in models else [])
            model = st.selectbox("Reflection model", options, index=options.index(default) if default else 0,
                                 key=f"opt_refl_model_{provider.id}_list", accept_new_options=True,
                                 help="From the provider's model list; you can also type another model id.")
        else:
            model = st.text_input("Reflection model", value=default, key=f"opt_refl_model_{provider.id}_text",
                                  placeholder="e.g. gpt-4o")
            if problem:
                st.caption(f":orange[Could not list models: {problem}]")
        return provider.id, (model or "").strip() or None


# --- the list ----------------------------------------------------------------------------
def _row(o) -> dict:
    return {"#": o.id, "agent": f"{o.agent_name} v{o.start_version}", "test set": o.test_set_name,
            "status": f"{STATUS_ICONS.get(o.status, '')} {o.status}", "evaluations": f"{o.evaluations}/{o.budget}",
            "score": f"{fmt_score(o.start_score)} → {fmt_score(o.best_score)}",
            "saved": f"v{o.saved_version}" if o.saved_version else "", "started": fmt_time(o.created_at)}


def _label(o) -> str:
    # Nothing that changes while it runs: a picked option's label is not redrawn when it changes.
    return f"#{o.id} · {o.agent_name} v{o.start_version} on {o.test_set_name} · {fmt_time(o.created_at)}"


# --- one optimization --------------------------------------------------------------------
def _panel(ctx, optimization_id: int) -> None:
    try:
        view = optimize.get_optimization(ctx.person_id, optimization_id)
    except WorkbenchError as err:
        show_error(err)
        return
    st.progress(view.progress, text=f"{view.evaluations}/{view.budget} evaluations · best "
                                    f"{fmt_score(view.best_score)} (start {fmt_score(view.start_score)}) · "
                                    f"{STATUS_ICONS.get(view.status, '')} {view.status}")
    st.caption(f"{view.agent_name} v{view.start_version} on {view.test_set_name} · {len(view.train_keys)} cases to "
               f"learn from, {len(view.val_keys)} to validate on · reflection: {view.reflection} · started "
               f"{fmt_time(view.created_at)}" + (f" · ended {fmt_time(view.finished_at)}" if view.finished_at else ""))
    show_flash(FLASH)
    if ctx.can_edit:
        if view.status == "running":
            st.button("Stop", key="opt_stop", icon=":material/stop:", on_click=_stop, args=(ctx.person_id, view.id),
                      help="Ends after the evaluation in progress; Resume carries on from there.")
        elif view.status in ("stopped", "failed", "interrupted"):
            st.button("Resume", key="opt_resume", icon=":material/play_arrow:", on_click=_resume,
                      args=(ctx.person_id, view.id),
                      help=f"Carries on from the candidates already scored ({view.budget - view.evaluations} "
                           "evaluations left).")
    if view.status == "finished" and view.evaluations < view.budget:
        why = ("a candidate passed every validation case" if (view.best_score or 0) >= 1.0 else
               "the next step needed more runs than were left, or the search stopped proposing")
        st.caption(f"Finished after {view.evaluations} of {view.budget} runs: {why}. Results already run are "
                   "read back, never run again.")
    if view.status == "failed" and view.error:
        st.error(view.error)
    elif view.status == "interrupted":
        st.warning("The process running this optimization is gone. Resume carries on from the candidates "
                   "already scored.")
    if not view.candidates:
        st.info("No candidates yet: the starting prompt is being scored on the validation cases.")
        return
    _candidates(ctx, view)


def _candidates(ctx, view) -> None:
    st.markdown("**Candidates**")
    start = view.start_score
    rows = [{"candidate": c.index,
             "": " · ".join(m for m, on in (("start", c.index == 0), ("⭐ best", c.index == view.best_index)) if on),
             "score": fmt_score(c.score),
             "vs start": "" if c.score is None or start is None or c.index == 0 else f"{c.score - start:+.2f}",
             "cases won": f"{c.cases_won}/{len(view.val_keys)}",
             "parents": ", ".join(str(p) for p in c.parents) or "–",
             "prompt": c.prompt.replace("\n", " ⏎ ")[:160]} for c in view.candidates]
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={"prompt": st.column_config.TextColumn("prompt", width="large")})
    by_index = {c.index: c for c in view.candidates}
    key, auto = f"opt_cand_{view.id}", f"opt_cand_auto_{view.id}"
    best = view.best_index if view.best_index in by_index else view.candidates[0].index
    picked = st.session_state.get(key)
    if picked not in by_index or (picked == st.session_state.get(auto) != best):  # follow the best until one is picked
        st.session_state[key] = st.session_state[auto] = best
    index = st.selectbox("Candidate", list(by_index), key=key, format_func=lambda i: _candidate_label(view, i))
    cand = by_index[index]
    if cand.index == view.best_index:
        st.markdown("⭐ **The best candidate so far**" if view.status == "running" else "⭐ **The best candidate**")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Changes from version {view.start_version}**")
        diff = view.prompt_diff(cand.index)
        if diff:
            st.code("\n".join(diff), language="diff", wrap_lines=True)
        else:
            st.caption("The starting version's prompt, unchanged.")
    with right:
        st.markdown("**Full prompt**")
        st.code(cand.prompt or "(empty)", language=None, wrap_lines=True)
    _runs(ctx, view, cand)
    if ctx.can_edit:
        _save_and_run(ctx, view, cand)
    elif view.saved_version:
        _saved(view)


def _candidate_label(view, index: int) -> str:
    c = next(c for c in view.candidates if c.index == index)  # its score is final once listed
    return f"Candidate {index} · score {fmt_score(c.score)}" + (" (start)" if index == 0 else "")


def _runs(ctx, view, cand) -> None:
    """The runs behind the candidate's score: per validation case its score, linking to the
    run's trace; the cases it was learned from below, folded."""
    try:
        runs = optimize.candidate_runs(ctx.person_id, view.id, cand.index)
    except WorkbenchError as err:
        show_error(err)
        return
    scored = [r for r in runs if r.validation]
    learned = [r for r in runs if not r.validation]
    st.markdown(f"**Score {fmt_score(cand.score)}** on {len(view.val_keys)} validation cases — each links to "
                "its run's trace")
    if not scored:
        st.caption("Not scored on the validation cases yet.")
    _run_rows(scored)
    if learned:
        with st.expander(f"Runs on the cases it was learned from ({len(learned)}, not in the score)"):
            _run_rows(learned)


def _run_rows(runs) -> None:
    for r in runs:
        icon = "✅" if r.score >= 1 else "❌" if r.score <= 0 else "🔀"
        left, mid, right = st.columns([1, 7, 2], vertical_alignment="center")
        left.markdown(f"{icon} **{r.score:.2f}**")
        mid.caption(input_text(r.input)[:160] + (f" → {r.reply[:120]}" if r.reply else ""))
        with right:
            if r.run_id:
                trace_link(r.run_id, label=f"Score {r.score:.2f} · trace")
            else:
                st.caption(f"no run ({r.run_status})")


def _save_and_run(ctx, view, cand) -> None:
    st.markdown("**Use it**")
    c1, c2 = st.columns(2)
    with c1:
        st.button(f"Save candidate {cand.index} as version", key="opt_save", type="primary",
                  icon=":material/save:", on_click=_save, args=(ctx.person_id, view.id, cand.index),
                  disabled=cand.index == 0,
                  help="The starting version's settings with this prompt, as the agent's newest version."
                  if cand.index else "This is the starting prompt: nothing new to save.")
        if view.saved_version:
            _saved(view)
    with c2:
        st.button("Run as experiment", key="opt_run", icon=":material/play_arrow:", on_click=_run_experiment,
                  args=(ctx.person_id, view.id), disabled=view.saved_version is None,
                  help=f"The saved version and version {view.start_version}, each over the whole test set, as "
                       "two experiments to compare." if view.saved_version else "Save a candidate as a version first.")
        pair = st.session_state.get(RAN, {}).get(view.id)
        if pair:
            st.caption(f"Experiments #{pair[0]} (v{view.start_version}) and #{pair[1]} (v{view.saved_version}) "
                       "run over the whole test set.")
            comparison_link(*pair)


def _saved(view) -> None:
    st.markdown(f"Saved as **version {view.saved_version}** of {view.agent_name}.")
    version_link(view.agent_id, view.saved_version, f"Version {view.saved_version} on the Agents page")


# --- actions (button callbacks: they run before the tab redraws) --------------------------
def _stop(person_id: int, optimization_id: int) -> None:
    try:
        if optimize.stop_optimization(person_id, optimization_id):
            flash(FLASH, "ok", "Stopping after the evaluation in progress.")
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


def _resume(person_id: int, optimization_id: int) -> None:
    try:
        left = optimize.resume_optimization(person_id, optimization_id)
        flash(FLASH, "ok", f"Resumed: {left} evaluations left.")
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


def _save(person_id: int, optimization_id: int, index: int) -> None:
    try:
        version = optimize.save_candidate(person_id, optimization_id, index)
        flash(FLASH, "ok", f"Saved candidate {index} as version {version}.")
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


def _run_experiment(person_id: int, optimization_id: int) -> None:
    try:
        pair = optimize.run_as_experiment(person_id, optimization_id)
        st.session_state.setdefault(RAN, {})[optimization_id] = pair
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)
