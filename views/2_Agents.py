"""Agents: design the group's agents (prompt, model, parameters, tools) and its providers."""

import streamlit as st

from ui.agent_editor import agents_tab, show_flash
from ui.agent_providers import providers_tab
from ui.common import current, require_group

ctx = current()
require_group(ctx)

st.title("Agents")
if not ctx.can_edit:
    st.info("You are a viewer in this group: you can read agents and providers but not change them.")
show_flash()
tab_agents, tab_providers = st.tabs(["Agents", "Providers"])
with tab_agents:
    agents_tab(ctx)
with tab_providers:
    providers_tab(ctx)
