"""Showing a run live. The run itself executes in a worker owned by the process; this
only consumes its feed of updates, so a rerun (a Stop click, leaving the page) ends the
showing, never the run. The Stop button is drawn before the feed is consumed: a click
reruns the script, and the button's callback cancels the run before the page redraws."""

from __future__ import annotations

import streamlit as st

from ui.chat_messages import tool_arguments, tool_label, tool_result
from workbench import runs
from workbench.errors import WorkbenchError

STOP_KEY = "chat_stop"
FLASH_KEY = "chat_flash"  # an error from a callback, shown on the next run


def cancel(run_id: int, person_id: int) -> None:
    """Stop-button callback: ask the run to stop (what streamed stays)."""
    try:
        if not runs.cancel_run(run_id, person_id):
            st.session_state[FLASH_KEY] = "That reply had already finished."
    except WorkbenchError as err:
        st.session_state[FLASH_KEY] = err.user_message


def stop_button(run_id: int, person_id: int, key: str = STOP_KEY) -> None:
    st.button("Stop", key=key, icon=":material/stop_circle:", on_click=cancel,
              args=(run_id, person_id), help="Stop the reply; what was written so far is kept.")


def queued_label(ahead: int) -> str:
    """'Queued, 3 ahead': the run waits for a free slot of its model (see workbench.runs.workers)."""
    if ahead <= 0:
        return "⏳ Queued: next in line for a free slot of this model…"
    return f"⏳ Queued, {ahead} ahead: this model is busy with other replies…"


def stream_reply(handle: runs.RunHandle, person_id: int, *, can_stop: bool = True) -> dict:
    """Draw the reply as it streams, tool steps in place as they happen. Returns the
    "done" update's data ({status, error}) once the run has ended."""
    with st.chat_message("assistant"):
        body = st.container()
    if can_stop:
        stop_button(handle.run_id, person_id)
    final: dict | None = None
    with body:
        slot, text, steps = st.empty(), "", {}
        slot.caption("Thinking…")
        while final is None:
            for upd in handle.updates(timeout=0.5):
                if upd.kind == "queued":
                    slot.caption(queued_label(upd.data.get("ahead", 0)))
                elif upd.kind == "message_start":
                    if text or steps:
                        slot = st.empty()  # a new model call after tool steps: below them
                    text = ""
                elif upd.kind == "text":
                    text += upd.text
                    slot.markdown(text + " ▌")
                elif upd.kind == "reset":  # a retry after partial output: start the text over
                    text = ""
                    slot.caption("Retrying…")
                elif upd.kind == "tool_start":
                    if text:
                        slot.markdown(text)  # this call's text is final: drop the cursor
                    else:
                        slot.empty()
                    step = st.status(tool_label(upd.data["name"], None) + " · running", state="running")
                    with step:
                        tool_arguments(upd.data.get("arguments") or {})
                    steps[upd.data.get("id")] = step
                elif upd.kind == "tool_end":
                    _finish_step(steps.get(upd.data.get("id")), upd.data)
                elif upd.kind == "done":
                    final = upd.data
            if final is None:
                # No news for a while (a slow model call): touch the page so a Stop click,
                # which reruns the script at the next Streamlit call, takes effect.
                if text:
                    slot.markdown(text + " ▌")
                elif handle.queued_ahead is not None:
                    slot.caption(queued_label(handle.queued_ahead))
                else:
                    slot.caption("Thinking…")
                if handle.done.is_set():  # ended without a "done" update (should not happen)
                    final = {"status": handle.status, "error": handle.error}
        if text:
            slot.markdown(text)
    handle.done.wait(2)  # the worker has let go of the thread, so a next message can start
    return final


def _finish_step(step, data: dict) -> None:
    if step is None:
        return
    failed = bool(data.get("error"))
    step.update(label=tool_label(data.get("name", "tool"), data.get("duration_ms"), failed),
                state="error" if failed else "complete", expanded=False)
    with step:
        tool_result(data.get("result"), data.get("error"))
