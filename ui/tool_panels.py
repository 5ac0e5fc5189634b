"""The Tools page's side panels: "Try it" (call the tool's latest version with arguments
typed by hand), the version history, and the agents export and import."""

from __future__ import annotations

import json

import streamlit as st

from ui.common import field_error, flash, fmt_time, show_error
from ui.tool_editor import FLASH
from workbench.agents.transfer import export_agents, import_agents
from workbench.errors import ValidationError, WorkbenchError
from workbench.tools.custom import service as tools

TRIED = "tool_tried"  # {tool id: (function name, TryResult)}
TRY_ERR = "tool_try_err"


def _try(person_id: int, tool_id: int, key: str) -> None:
    ss = st.session_state
    name = ss.get(f"{key}_fn")
    try:
        ss.setdefault(TRIED, {})[tool_id] = (name, tools.try_tool(person_id, tool_id, name, ss.get(f"{key}_{name}_args")))
        ss.pop(TRY_ERR, None)
    except ValidationError as err:
        ss[TRY_ERR] = (tool_id, err)
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


def try_panel(ctx, view) -> None:
    if not ctx.can_edit:
        st.info("Trying a tool calls it for real: editors and owners can.")
        return
    key = f"try_{view.id}_v{view.version}"
    exposed = view.config.exposed()
    names = [t.name for t in exposed]
    if len(names) > 1:
        name = st.selectbox("Function", names, key=f"{key}_fn")
    else:  # no picker: the callback still reads the name from here
        name = st.session_state[f"{key}_fn"] = names[0]
    schema = next(t.parameters for t in exposed if t.name == name)
    st.text_area("Arguments (JSON)", value=tools.example_arguments(schema), height=140, key=f"{key}_{name}_args",
                 help="Checked against the tool's schema first, as a model's call is.")
    failed = st.session_state.get(TRY_ERR)
    field_error(failed[1] if failed and failed[0] == view.id else None, "arguments")
    st.button(f"Call {name}", type="primary", icon=":material/play_arrow:", key=f"{key}_go", on_click=_try,
              args=(ctx.person_id, view.id, key))
    tried = st.session_state.get(TRIED, {}).get(view.id)
    if tried:
        fn, result = tried
        st.caption(f"{fn} answered in {result.duration_ms:,.0f} ms")
        if result.error:
            st.error(result.error)
        else:
            _show_result(result.result)


def _show_result(text: str) -> None:
    """JSON objects and lists as a tree, anything else as the text the model gets."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, (dict, list)):
        st.json(data, expanded=2)
    else:
        st.code(text, language=None, wrap_lines=True)


def versions_panel(ctx, view) -> None:
    try:
        versions = tools.list_versions(ctx.person_id, view.id)
    except WorkbenchError as err:
        show_error(err)
        return
    for v in versions:
        title = f"Version {v.version} · {fmt_time(v.created_at)} · {v.author or 'unknown'}"
        with st.expander(title + (f" · {v.note}" if v.note else ""), expanded=False):
            cfg = v.config
            st.caption(f"{cfg.kind} · {cfg.name} · model sees: {', '.join(cfg.exposed_names())}")
            st.json({"description": cfg.description, "parameters": cfg.parameters, "implementation": cfg.impl},
                    expanded=1)


def _import(person_id: int, group_id: int) -> None:
    upload = st.session_state.get("tools_import_file")
    if upload is None:
        flash(FLASH, "error", "Choose an export file first.")
        return
    try:
        report = import_agents(person_id, group_id, upload.getvalue())
        flash(FLASH, "ok", f"Imported {len(report.agents)} agents and {len(report.tools)} tools."
              + "".join(f" {n}" for n in report.notes))
    except ValidationError as err:
        flash(FLASH, "error", "Nothing was imported: " + "; ".join(f"{k}: {v}" for k, v in err.field_errors.items()))
    except WorkbenchError as err:
        flash(FLASH, "error", "Nothing was imported: " + err.user_message)


def transfer_panel(ctx) -> None:
    st.caption("Agents with the custom tools they use, as one JSON file. Secrets travel as environment "
               "variable names only; set those variables where you import.")
    left, right = st.columns(2)
    with left:
        if st.button("Prepare the export", icon=":material/download:", key="tools_export_prepare"):
            st.session_state["tools_export"] = export_agents(ctx.person_id, ctx.group_id)
        if "tools_export" in st.session_state:
            st.download_button("Download agents + tools (JSON)", st.session_state["tools_export"],
                               file_name="agents-and-tools.json", mime="application/json", key="tools_export_dl")
    with right:
        if ctx.can_edit:
            st.file_uploader("Import into this group", type=["json"], key="tools_import_file")
            st.button("Import", key="tools_import", icon=":material/upload:", on_click=_import,
                      args=(ctx.person_id, ctx.group_id),
                      help="All or nothing: a clashing name or a bad schema imports nothing.")
