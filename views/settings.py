"""Settings: how this workbench is set up. Providers and the keys they miss (by name), the
built-in model, the database and the knowledge store with a live check each, the custom
tools' allow-lists, library
versions, and where logs go. Owners can test providers; everyone else reads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import current, require_group, show_error
from workbench.errors import WorkbenchError
from workbench.knowledge import format_size
from workbench.providers import service as providers
from workbench.system import status

ctx = current()
require_group(ctx)

st.title("Settings")
st.caption("How this workbench is set up. Keys are never shown: only the **name** of the environment "
           "variable or secret each provider reads, and whether it is set."
           + ("" if ctx.is_owner else " You can read this page; owners can test providers."))

# --- providers ---------------------------------------------------------------------------
st.subheader("Providers")
rows = status.provider_statuses(ctx.person_id, ctx.group_id)
if not rows:
    st.info("No provider is configured in this group. Add one on **Agents → Providers** "
            "(OpenAI, Anthropic, Ollama, vLLM or any OpenAI-compatible endpoint).")
for p in rows:
    with st.container(border=True):
        left, right = st.columns([5, 1])
        if p.kind == "local":
            key = "no key needed (built-in, offline)"
        elif p.key_name is None:
            key = "no key needed"
        elif p.key_present:
            key = f"✅ `{p.key_name}` is set"
        else:
            key = f"⚠️ missing `{p.key_name}`: set it in the environment or `.streamlit/secrets.toml`"
        left.markdown(f"**{p.name}** · {p.base_url or 'built-in model'} · model `{p.default_model or '–'}`  \n{key}")
        if ctx.is_owner and right.button("Test", key=f"settings_test_{p.id}"):
            try:
                with st.spinner(f"Reaching {p.name}…"):
                    left.success(providers.test_connection(ctx.person_id, p.id))
            except WorkbenchError as err:
                show_error(err, left)

# --- built-in model ------------------------------------------------------------------------
st.subheader("Built-in model")
model = status.builtin_model(ctx.person_id, ctx.group_id)
st.markdown(f"{model.description}  \n"
            f"File: `{model.path}` · size: {format_size(model.size_bytes) if model.size_bytes else '–'}  \n"
            f"Status: {model.status}")

# --- storage -------------------------------------------------------------------------------
st.subheader("Storage")
for check in (status.check_database(ctx.person_id, ctx.group_id),
              status.check_knowledge_store(ctx.person_id, ctx.group_id)):
    timing = f" ({check.ms:.0f} ms)" if check.ms is not None else ""
    line = f"**{check.what}**: {check.where}  \n{check.detail}{timing}"
    (st.success if check.ok else st.error)(line, icon="✅" if check.ok else "⚠️")

# --- custom tools ----------------------------------------------------------------------------
st.subheader("Custom tools")
st.dataframe(pd.DataFrame([{"Setting": k, "Value": v, "Meaning": m} for k, v, m in status.tool_policy()]),
             hide_index=True, key="settings_tools")

# --- versions and logs ---------------------------------------------------------------------
left, right = st.columns(2, gap="large")
with left:
    st.subheader("Library versions")
    st.dataframe(pd.DataFrame([{"Library": k, "Version": v} for k, v in status.library_versions().items()]),
                 hide_index=True, key="settings_versions")
with right:
    st.subheader("Logs")
    st.markdown(status.log_destination())
