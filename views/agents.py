"""Agents: design the group's agents (prompt, model, parameters, tools) and its providers."""

import streamlit as st

from ui.agent_editor import agents_tab
from ui.agent_providers import providers_tab
from ui.agent_versions import FLASH
from ui.common import current, require_group, show_flash

ctx = current()
require_group(ctx)

raw_agent, raw_version = st.query_params.get("agent"), st.query_params.get("version")
if raw_agent and raw_agent.isdigit() and st.session_state.get("ag_url") != (raw_agent, raw_version):
    # a link like ?agent=3&version=2 (from Traces, Chat, Playground): open it at that version
    st.session_state["ag_url"] = (raw_agent, raw_version)
    st.session_state["sel_agent_edit"] = int(raw_agent)
    st.session_state["sel_agent_version"] = int(raw_version) if raw_version and raw_version.isdigit() else None

st.title("Agents")
if not ctx.can_edit:
    st.info("You are a viewer in this group: you can read agents and providers but not change them.")
show_flash(FLASH)
tab_agents, tab_providers = st.tabs(["Agents", "Providers"])
with tab_agents:
    agents_tab(ctx)
with tab_providers:
    providers_tab(ctx)
