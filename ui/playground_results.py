"""A comparison's columns side by side. The session that started a comparison follows its
runs' live feeds (text streams in, tool steps appear in place); anyone else follows from
the database. Each column has its own Stop; once done, each shows time to first token,
duration, tokens and cost, and can be marked best and saved as a new version."""

from __future__ import annotations

import time

import streamlit as st

from ui.chat_messages import tool_label, tool_result
from ui.common import show_error
from ui.links import trace_link, version_link
from workbench import playground, runs
from workbench.errors import WorkbenchError
from workbench.observe import traces

OWNED = "pg_owned"  # {comparison id: {run id: {"text", "steps"}}} followed by this session
FLASH = "pg_flash"


def fmt_ms(ms) -> str:
    return "–" if ms is None else f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def own(comparison_id: int) -> None:
    """This session started the comparison: it follows the runs' live feeds."""
    st.session_state.setdefault(OWNED, {})[comparison_id] = {}


# --- actions --------------------------------------------------------------------------
def _do(fn, *args, ok: str | None = None) -> None:
    try:
        fn(*args)
        if ok:
            st.session_state[FLASH] = ("ok", ok)
    except WorkbenchError as err:
        st.session_state[FLASH] = ("error", err.user_message)


def _save(person_id: int, comparison_id: int, position: int) -> None:
    try:
        view = playground.save_column_as_version(person_id, comparison_id, position)
        st.session_state[FLASH] = ("ok", f"Saved as {view.name} version {view.version}.")
    except WorkbenchError as err:
        st.session_state[FLASH] = ("error", err.user_message)


def show_flash() -> None:
    if FLASH in st.session_state:
        kind, text = st.session_state.pop(FLASH)
        (st.success if kind == "ok" else st.error)(text)


# --- drawing ----------------------------------------------------------------------------
def metrics_line(r) -> str:
    """Time to first token, duration, tokens and cost of one column, compact enough for four."""
    return (f"First token **{fmt_ms(r.ttft_ms)}** · total **{fmt_ms(r.duration_ms)}**  \n"
            f"Tokens **{r.input_tokens}** in / **{r.output_tokens}** out · cost **${r.cost_usd:.6f}**")


def _metrics(r) -> None:
    st.markdown(metrics_line(r))


def _live_body(feed: dict, status: str) -> None:
    for step in feed["steps"]:
        done = "result" in step
        with st.status(tool_label(step["name"], step.get("duration_ms"), bool(step.get("error")))
                       + ("" if done else " · running"), state="complete" if done else "running",
                       expanded=False):
            st.json(step.get("arguments") or {})
            if done:
                tool_result(step.get("result"), step.get("error"))
    if feed["text"]:
        st.markdown(feed["text"] + (" ▌" if status == "running" else ""))
    elif status == "running":
        st.caption("Thinking…")


def _final_body(ctx, r) -> None:
    """What the run wrote, from its trace: tool steps in place, then the reply."""
    if r.run_id is None:
        st.error(r.error or "This column did not start.")
        return
    trace = traces.get_run_trace(ctx.person_id, r.run_id)
    for m in trace.messages:
        if m.run_id != r.run_id:
            continue
        if m.role == "tool":
            failed = m.status == "failed"
            with st.status(tool_label(m.name or "tool", (m.data or {}).get("duration_ms"), failed),
                           state="error" if failed else "complete", expanded=False):
                st.json((m.data or {}).get("arguments") or {})
                tool_result(m.content, (m.data or {}).get("error"))
        elif m.content:
            st.markdown(m.content)
        if m.role == "assistant" and m.tool_calls and r.status != "running" and m.id == trace.messages[-1].id:
            st.caption("Tool calls the model asked for (not run: a single-call rerun)")
            st.json(m.tool_calls, expanded=False)
    if r.status == "failed":
        st.error(r.error or "The run failed.")
    elif r.status == "cancelled":
        st.caption("Stopped: what streamed so far is kept.")


def _header(ctx, view, col) -> None:
    best = view.best_column == col.position
    st.markdown(f"**{'⭐ ' if best else ''}{col.position + 1}. {col.agent_name}**")
    with st.container(horizontal=True):
        version_link(col.agent_id, col.version)
        if col.overrides:
            st.caption("+ edits: " + ", ".join(k.replace("_", " ") for k in sorted(col.overrides)))


def _actions(ctx, view, col) -> None:
    r = col.result
    row = st.container(horizontal=True)
    if r.run_id:
        with row:
            trace_link(r.run_id)
    if not ctx.can_edit or r.status == "running":
        return
    best = view.best_column == col.position
    row.button("Best" if not best else "Unmark", key=f"pg_best_{view.id}_{col.position}",
               icon=":material/star:", on_click=_do,
               args=(playground.mark_best, ctx.person_id, view.id, None if best else col.position))
    if best:
        row.button("Save as new version", key=f"pg_save_{view.id}_{col.position}", type="primary",
                   icon=":material/save:", on_click=_save, args=(ctx.person_id, view.id, col.position),
                   help="Save this column's version and edits as the agent's newest version.")


def _original_column(ctx, step_id: int) -> None:
    try:
        draft = playground.open_step(ctx.person_id, step_id)
    except WorkbenchError as err:
        show_error(err)
        return
    st.markdown("**Original response**")
    st.caption(f"step #{step_id} of run #{draft.run_id}")
    with st.container(border=True):
        resp = draft.original
        if draft.original_error:
            st.error(draft.original_error.get("message") or "The call failed.")
        if resp.get("content"):
            st.markdown(resp["content"])
        if resp.get("tool_calls"):
            st.caption("Tool calls it asked for")
            st.json(resp["tool_calls"], expanded=False)
        usage = resp.get("usage") or {}
    st.markdown(f"Tokens **{usage.get('input_tokens', 0)}** in / **{usage.get('output_tokens', 0)}** out · "
                f"cost **${resp.get('cost_usd') or 0:.6f}**")
    trace_link(draft.run_id)


def render_comparison(ctx, comparison_id: int) -> None:
    try:
        view = playground.get_comparison(ctx.person_id, comparison_id)
    except WorkbenchError as err:
        show_error(err)
        return
    show_flash()
    feeds = st.session_state.get(OWNED, {}).get(comparison_id)
    running = view.running
    n = len(view.columns) + (1 if view.source_step_id else 0)
    cols = st.columns(n, gap="small")
    if view.source_step_id:
        with cols[0]:
            _original_column(ctx, view.source_step_id)
        cols = cols[1:]
    bodies = {}
    for col, place in zip(view.columns, cols):
        with place:
            _header(ctx, view, col)
            if col.result.status == "running" and ctx.can_edit:
                st.button("Stop", key=f"pg_stop_{view.id}_{col.position}", icon=":material/stop_circle:",
                          on_click=_do, args=(playground.stop_column, ctx.person_id, view.id, col.position),
                          help="Stop this column only; the others go on.")
            with st.container(border=True):
                bodies[col.position] = st.empty()
            if col.result.status != "running":
                with bodies[col.position].container():
                    _final_body(ctx, col.result)
                _metrics(col.result)
                _actions(ctx, view, col)
    if running:
        if feeds is not None:
            _follow(ctx, view, feeds, bodies)
        # columns without a live feed here (another session's, or another app process's)
        _poll(ctx, playground.get_comparison(ctx.person_id, comparison_id), bodies,
              skip=set() if feeds is None else {c.position for c in view.columns if c.result.run_id in feeds})
        st.rerun()  # every column has ended: redraw with metrics and actions


def _follow(ctx, view, feeds: dict, bodies: dict) -> None:
    """Stream the running columns' live feeds into their places until all have ended."""
    live = {}
    for col in view.columns:
        if col.result.status == "running":
            handle = runs.active_handle(col.result.thread_id, actor_id=ctx.person_id)
            feeds.setdefault(col.result.run_id, {"text": "", "steps": []})
            if handle is not None:
                live[col.position] = (handle, feeds[col.result.run_id])
    drawn = time.monotonic()
    while live:
        changed = False
        for position, (handle, feed) in list(live.items()):
            n = 0
            for upd in handle.updates(timeout=0.01):
                n += 1
                _apply(feed, upd)
                if upd.kind == "done":
                    live.pop(position)
                    break
                if n >= 200:
                    break
            if n:
                changed = True
                with bodies[position].container():
                    _live_body(feed, "running" if position in live else "done")
        if changed:
            drawn = time.monotonic()
        elif time.monotonic() - drawn > 0.5:
            # No news for a while (a slow model call): touch the page so a Stop click,
            # which reruns the script at the next Streamlit call, takes effect.
            for position, (_, feed) in live.items():
                with bodies[position].container():
                    _live_body(feed, "running")
            drawn = time.monotonic()
        else:
            time.sleep(0.05)


def _apply(feed: dict, upd) -> None:
    if upd.kind == "message_start" and feed["steps"] and feed["text"]:
        feed["text"] += "\n\n"
    elif upd.kind == "text":
        feed["text"] += upd.text
    elif upd.kind == "reset":
        feed["text"] = ""
    elif upd.kind == "tool_start":
        feed["steps"].append({"id": upd.data.get("id"), "name": upd.data.get("name"),
                              "arguments": upd.data.get("arguments")})
    elif upd.kind == "tool_end":
        for step in feed["steps"]:
            if step["id"] == upd.data.get("id"):
                step.update(result=upd.data.get("result"), error=upd.data.get("error"),
                            duration_ms=upd.data.get("duration_ms"))


def _poll(ctx, view, bodies: dict, skip: set) -> None:
    """Columns this session has no live feed of: re-read them from the database until all
    have ended (`skip`: the columns it followed live)."""
    while any(c.result.status == "running" for c in view.columns if c.position not in skip):
        for col in view.columns:
            if col.position in bodies and col.position not in skip and col.result.status == "running":
                with bodies[col.position].container():
                    st.markdown((col.result.reply or "") + (" ▌" if col.result.status == "running" else ""))
        time.sleep(0.5)
        view = playground.get_comparison(ctx.person_id, view.id)
