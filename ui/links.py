"""Links between pages that carry what to open in the URL (?thread=, ?agent=, ?run=)."""

from __future__ import annotations

import streamlit as st


def _link(page: str, label: str, params: dict[str, str], fallback: str, *, icon: str,
          help: str | None = None) -> None:
    """A link to another page with `params` in its URL. Drawn as plain text when the page
    runs on its own, outside the app's navigation (there is no page to link to)."""
    from streamlit.errors import StreamlitPageNotFoundError

    try:
        st.page_link(page, label=label, icon=icon, query_params=params, help=help)
    except StreamlitPageNotFoundError:
        st.caption(fallback)


def _chat_link(label: str, params: dict[str, str], fallback: str, help: str | None = None) -> None:
    _link("views/1_Chat.py", label, params, fallback, icon=":material/forum:", help=help)


def trace_link(run_id: int) -> None:
    """Opens the run's trace on the Traces page (?run=ID)."""
    _link("views/4_Traces.py", "Trace", {"run": str(run_id)}, f"trace: run #{run_id}",
          icon=":material/troubleshoot:", help="What this reply did: model calls, tools, timing, cost.")


def thread_link(thread_id: int, label: str) -> None:
    """Opens the thread on the Chat page (?thread=ID)."""
    _chat_link(label, {"thread": str(thread_id)}, f"💬 {label} (thread #{thread_id})")


def agent_link(agent_id: int) -> None:
    """Opens the Chat page ready to start a thread with the agent (?agent=ID)."""
    _chat_link("Chat", {"agent": str(agent_id)}, "",
               help="Open the Chat page with this agent picked for a new thread.")
