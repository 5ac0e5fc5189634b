"""Links between pages that carry what to open in the URL (?thread=, ?agent=, ?run=,
?version=, ?comparison=, ?step=, ?compare=)."""

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
    _link("views/chat.py", label, params, fallback, icon=":material/forum:", help=help)


def trace_link(run_id: int, label: str = "Trace") -> None:
    """Opens the run's trace on the Traces page (?run=ID)."""
    _link("views/traces.py", label, {"run": str(run_id)}, f"trace: run #{run_id}",
          icon=":material/troubleshoot:", help="What this reply did: model calls, tools, timing, cost.")


def thread_link(thread_id: int, label: str) -> None:
    """Opens the thread on the Chat page (?thread=ID)."""
    _chat_link(label, {"thread": str(thread_id)}, f"💬 {label} (thread #{thread_id})")


def agent_link(agent_id: int) -> None:
    """Opens the Chat page ready to start a thread with the agent (?agent=ID)."""
    _chat_link("Chat", {"agent": str(agent_id)}, "",
               help="Open the Chat page with this agent picked for a new thread.")


def version_link(agent_id: int, version: int | None, label: str | None = None) -> None:
    """Opens the agent on the Agents page with this version in its history (?agent=&version=)."""
    if version is None:
        return
    _link("views/agents.py", label or f"v{version}", {"agent": str(agent_id), "version": str(version)},
          f"agent #{agent_id} v{version}", icon=":material/history:",
          help="This agent version on the Agents page: its history and what changed.")


def playground_link(agent_id: int | None = None, *, step_id: int | None = None,
                    comparison_id: int | None = None, label: str = "Playground") -> None:
    """Opens the Playground with an agent picked (?agent=), a traced model call (?step=) or a
    saved comparison (?comparison=)."""
    params = ({"step": str(step_id)} if step_id else {"comparison": str(comparison_id)} if comparison_id
              else {"agent": str(agent_id)})
    key, value = next(iter(params.items()))
    _link("views/playground.py", label, params, f"playground: {key} #{value}", icon=":material/science:",
          help="Run variants side by side in the Playground.")


def comparison_link(baseline_id: int, candidate_id: int, label: str = "Compare them") -> None:
    """Opens the Experiments page's Compare tab on two experiments (?compare=BASELINE,CANDIDATE)."""
    _link("views/experiments.py", label, {"compare": f"{baseline_id},{candidate_id}"},
          f"compare experiments #{baseline_id} and #{candidate_id}", icon=":material/compare_arrows:",
          help="The two experiments side by side on the Experiments page: what regressed, what improved.")
