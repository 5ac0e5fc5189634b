"""Tools: the group's own tools (mock, HTTP endpoint, MCP server), tried by hand, versioned,
exported with agents. A view only: every action is one call into workbench.tools.custom (and workbench.agents.transfer)."""

import streamlit as st

from ui.common import current, require_group, select_default, show_error, show_flash
from ui.tool_editor import FLASH, SEL, editor, tool_list
from ui.tool_panels import transfer_panel, try_panel, versions_panel
from workbench.errors import WorkbenchError
from workbench.tools.custom import service as tools

ctx = current()
require_group(ctx)

st.title("Tools")
st.caption("Functions your agents may call beside the built-in ones. Give a tool to an agent on the Agents page; "
           "every call is a step of the run's trace.")
if not ctx.can_edit:
    st.info("You are a viewer in this group: you can read tools but not change or try them.")
show_flash(FLASH)
try:
    views = tools.list_tools(ctx.person_id, ctx.group_id)
except WorkbenchError as err:
    show_error(err)
    st.stop()
select_default(SEL, [v.id for v in views], ctx.can_edit)
left, right = st.columns([1, 4], gap="medium")
with left:
    tool_list(ctx, views)
with right:
    chosen = next((v for v in views if v.id == st.session_state[SEL]), None)
    if st.session_state[SEL] is None:
        st.info("This group has no tools yet.")
    elif chosen is None:
        st.subheader("New tool", anchor=False)
        editor(ctx, None)
    else:
        st.subheader(chosen.name, anchor=False)
        st.caption(f"{chosen.config.kind} · version {chosen.version} · every save adds a version; runs use the "
                   "latest and their trace says which.")
        tab_edit, tab_try, tab_versions = st.tabs(["Definition", "Try it", f"Versions ({chosen.version})"])
        with tab_edit:
            editor(ctx, chosen)
        with tab_try:
            try_panel(ctx, chosen)
        with tab_versions:
            versions_panel(ctx, chosen)
with st.expander("Export or import agents with their tools"):
    transfer_panel(ctx)
