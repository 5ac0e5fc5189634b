"""The Tools page's list and definition form: one form per implementation kind (mock, HTTP,
MCP server), each refused field's message below it. Widget keys carry the tool id and
version (`tl_<id>_v<version>_<field>`), so a saved version starts from its stored values
while a refused save keeps everything typed."""

from __future__ import annotations

import json

import streamlit as st

from ui.common import field_error, flash, item_picker
from workbench.errors import ValidationError, WorkbenchError
from workbench.tools.custom import service as tools
from workbench.tools.custom.definitions import (DEFAULT_RESPONSE_BYTES, DEFAULT_TIMEOUT_S, EMPTY_SCHEMA,
                                                EXAMPLE_SCHEMA, METHODS, ToolConfig)

SEL = "sel_tool"  # the tool being edited: an id, or "new"
PICK = "tool_pick"
ERR = "tool_err"  # (widget prefix, error) of the last refused action
FLASH = "tools_flash"
KIND_LABELS = {"mock": "Mock (a fixed or templated answer)", "http": "HTTP endpoint", "mcp": "MCP server"}


def _lines(mapping: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in (mapping or {}).items())


# --- actions (button callbacks) --------------------------------------------------------
def _values(prefix: str) -> dict:
    ss = st.session_state
    kind = ss.get(f"{prefix}_kind")
    values = {"name": ss.get(f"{prefix}_name", ""), "description": ss.get(f"{prefix}_description", ""),
              "kind": kind, "parameters": ss.get(f"{prefix}_parameters", ""),
              "timeout_s": ss.get(f"{prefix}_timeout_s"), "headers": ss.get(f"{prefix}_headers", "")}
    if kind == "mock":
        values["template"] = ss.get(f"{prefix}_template", "")
    elif kind == "http":
        values.update(method=ss.get(f"{prefix}_method"), url=ss.get(f"{prefix}_url", ""),
                      max_response_bytes=ss.get(f"{prefix}_max_response_bytes"))
    else:
        values.update(transport=ss.get(f"{prefix}_transport"), command=ss.get(f"{prefix}_command", ""),
                      server_url=ss.get(f"{prefix}_server_url", ""), env=ss.get(f"{prefix}_env", ""),
                      tools=list(ss.get(f"{prefix}_tools") or []))
    return values


def _refused(prefix: str, err: WorkbenchError) -> None:
    if isinstance(err, ValidationError):
        st.session_state[ERR] = (prefix, err)
    else:
        flash(FLASH, "error", err.user_message)


def _save(person_id: int, group_id: int, tool_id: int | None, prefix: str) -> None:
    try:
        if tool_id is None:
            view = tools.create_tool(person_id, group_id, **_values(prefix))
            st.session_state["tool_new_n"] = st.session_state.get("tool_new_n", 0) + 1
            flash(FLASH, "ok", f"Created {view.name}. Give it to an agent on the Agents page.")
        else:
            view = tools.update_tool(person_id, tool_id, note=st.session_state.get(f"{prefix}_note"),
                                     **_values(prefix))
            flash(FLASH, "ok", f"Saved {view.name} (version {view.version}).")
        st.session_state[SEL] = view.id
        st.session_state.pop(ERR, None)
    except WorkbenchError as err:
        _refused(prefix, err)


def _discover(person_id: int, group_id: int, prefix: str) -> None:
    values = _values(prefix)
    values.pop("tools", None)
    try:
        offered = tools.discover_mcp_tools(person_id, group_id, **values)
        st.session_state[f"{prefix}_offered"] = [t.name for t in offered]
        st.session_state.pop(ERR, None)
    except WorkbenchError as err:
        _refused(prefix, err)


def _refresh(person_id: int, tool_id: int, prefix: str) -> None:
    try:
        view = tools.refresh_mcp_tools(person_id, tool_id)
        flash(FLASH, "ok", f"Read the tools of {view.name} again: version {view.version}.")
    except WorkbenchError as err:
        _refused(prefix, err)


def _delete(person_id: int, tool_id: int, name: str) -> None:
    try:
        tools.delete_tool(person_id, tool_id)
        st.session_state[SEL] = None
        flash(FLASH, "ok", f"Deleted {name}.")
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


# --- drawing -----------------------------------------------------------------------------
def tool_list(ctx, views: list) -> None:
    item_picker(ctx, views, sel_key=SEL, pick_key=PICK, noun="tool",
                captions=[f"{v.config.kind} · v{v.version}" + (f" · {len(v.config.exposed())} tools"
                                                                if v.config.kind == "mcp" else "") for v in views],
                empty="No tools yet. A tool is a function the model may call: a mock answer while you tune the "
                      "prompt, an HTTP endpoint, or an MCP server's tools.")


def _schema_field(prefix: str, cfg: ToolConfig, err, off: bool) -> None:
    st.text_area("Parameters (JSON Schema)", value=json.dumps(cfg.parameters, indent=2), height=220,
                 key=f"{prefix}_parameters", disabled=off,
                 help="The arguments the model must give: an object schema. Calls are checked against it "
                      "before the tool runs; a bad call goes back to the model as an error.")
    field_error(err, "parameters")
    with st.expander("Example schema"):
        st.code(json.dumps(EXAMPLE_SCHEMA, indent=2), language="json")
        st.caption("Properties are the arguments; `required` lists those the model must always give.")


def _mock_fields(prefix: str, cfg: ToolConfig, err, off: bool) -> None:
    st.text_area("Answer", value=cfg.impl.get("template", ""), height=120, key=f"{prefix}_template", disabled=off,
                 placeholder="Sunny, 21 °C in {{city}}.",
                 help="Returned as the tool's result. {{argument}} inserts an argument (not JSON-escaped; "
                      "nothing else is evaluated).")
    field_error(err, "template")


def _http_fields(prefix: str, cfg: ToolConfig, err, off: bool) -> None:
    impl = cfg.impl
    left, right = st.columns([1, 4])
    method = impl.get("method", "GET")
    left.selectbox("Method", METHODS, index=METHODS.index(method), key=f"{prefix}_method", disabled=off)
    right.text_input("URL", value=impl.get("url", ""), key=f"{prefix}_url", disabled=off,
                     placeholder="https://api.example.com/weather/{{city}}",
                     help="{{argument}} inserts an argument, percent-encoded. Other arguments go as the JSON "
                          "body (POST, PUT, PATCH) or as query parameters (GET, DELETE).")
    with left:
        field_error(err, "method")
    with right:
        field_error(err, "url")
    _headers_field(prefix, impl, err, off)
    a, b = st.columns(2)
    a.number_input("Timeout (s)", 0.1, 600.0, float(impl.get("timeout_s", DEFAULT_TIMEOUT_S)), key=f"{prefix}_timeout_s",
                   disabled=off)
    b.number_input("Largest answer (bytes)", 100, 1_000_000, int(impl.get("max_response_bytes", DEFAULT_RESPONSE_BYTES)),
                   key=f"{prefix}_max_response_bytes", disabled=off,
                   help="Longer answers are cut here, with a note telling the model so.")
    with a:
        field_error(err, "timeout_s")
    with b:
        field_error(err, "max_response_bytes")


def _headers_field(prefix: str, impl: dict, err, off: bool) -> None:
    st.text_area("Secret headers (Header=ENV_VAR_NAME, one a line)", value=_lines(impl.get("headers")), height=80,
                 key=f"{prefix}_headers", disabled=off, placeholder="Authorization=WEATHER_API_AUTH",
                 help="Each value is read from that environment variable (or secrets.toml) at call time. "
                      "Only the variable's NAME is stored; the value never reaches traces or exports.")
    field_error(err, "headers")


def _mcp_fields(ctx, prefix: str, cfg: ToolConfig, view, err, off: bool) -> None:
    impl, ss = cfg.impl, st.session_state
    transport = st.radio("Transport", ["stdio", "http"], index=0 if impl.get("transport", "stdio") == "stdio" else 1,
                         key=f"{prefix}_transport", horizontal=True, disabled=off,
                         format_func={"stdio": "stdio (start a command)", "http": "Streamable HTTP (a URL)"}.get)
    field_error(err, "transport")
    if transport == "stdio":
        if not ctx.is_owner:
            st.caption(":orange[Only a group owner can add or change a server started by a command.]")
        st.text_input("Command", value=impl.get("command", ""), key=f"{prefix}_command", disabled=off,
                      placeholder="npx -y @modelcontextprotocol/server-everything",
                      help="Split like a shell would, but run without one. Its program must be on the "
                           "workbench's WORKBENCH_MCP_ALLOWED_COMMANDS list.")
        field_error(err, "command")
        st.text_area("Environment (NAME=ENV_VAR_NAME, one a line)", value=_lines(impl.get("env")), height=70,
                     key=f"{prefix}_env", disabled=off, help="Values copied from our environment when it starts.")
        field_error(err, "env")
    else:
        st.text_input("Server URL", value=impl.get("url", ""), key=f"{prefix}_server_url", disabled=off,
                      placeholder="https://mcp.example.com/mcp")
        field_error(err, "server_url")
        _headers_field(prefix, impl, err, off)
    st.number_input("Timeout per call (s)", 0.1, 600.0, float(impl.get("timeout_s", DEFAULT_TIMEOUT_S)),
                    key=f"{prefix}_timeout_s", disabled=off)
    field_error(err, "timeout_s")
    current = [t["name"] for t in impl.get("tools", [])]
    offered = ss.get(f"{prefix}_offered") or current
    with st.container(horizontal=True):
        if not off:
            st.button("List the server's tools", key=f"{prefix}_discover", icon=":material/travel_explore:",
                      on_click=_discover, args=(ctx.person_id, ctx.group_id, prefix))
        if view is not None and not off:
            st.button("Refresh schemas from the server", key=f"{prefix}_refresh", icon=":material/refresh:",
                      on_click=_refresh, args=(ctx.person_id, view.id, prefix),
                      help="Reads the chosen tools' schemas again and saves them as a new version if they changed.")
    st.multiselect("Tools offered to agents", offered, default=[t for t in current if t in offered],
                   key=f"{prefix}_tools", disabled=off or not offered,
                   placeholder="List the server's tools first" if not offered else "Choose tools",
                   help="Each chosen tool is offered to agents under its own name, with the server's schema.")
    field_error(err, "tools")
    for tool in impl.get("tools", []):
        with st.expander(f"Schema of {tool['name']}"):
            st.caption(tool.get("description") or "No description.")
            st.json(tool["input_schema"], expanded=False)


def editor(ctx, view) -> None:
    """The form of one tool (view None: a new one)."""
    if view is None:
        prefix = f"tl_new_{st.session_state.get('tool_new_n', 0)}"
        cfg = ToolConfig(name="", kind="mock", parameters=dict(EMPTY_SCHEMA))
    else:
        prefix, cfg = f"tl_{view.id}_v{view.version}", view.config
    saved = st.session_state.get(ERR)
    err = saved[1] if saved and saved[0] == prefix else None
    if err is not None:
        st.error("Not saved: fix the fields marked below.")
        shown = {"name", "description", "kind", "parameters", "template", "method", "url", "headers", "timeout_s",
                 "max_response_bytes", "transport", "command", "server_url", "env", "tools"}
        for key, message in err.field_errors.items():
            if key not in shown:
                st.caption(f":red[{message}]")
    off = not ctx.can_edit
    kinds = list(KIND_LABELS)
    kind = st.radio("Kind", kinds, index=kinds.index(cfg.kind), key=f"{prefix}_kind", horizontal=True,
                    format_func=KIND_LABELS.get, disabled=off)
    field_error(err, "kind")
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.text_input("Name" if kind != "mcp" else "Server name", value=cfg.name, key=f"{prefix}_name",
                      max_chars=64, disabled=off, placeholder="get_weather" if kind != "mcp" else "calendar_server",
                      help="The identifier the model sees: a letter, then letters, digits, _ or -."
                      if kind != "mcp" else "A name for this server in the group; agents see its tools' names.")
        field_error(err, "name")
        st.text_area("Description", value=cfg.description, key=f"{prefix}_description", height=100, disabled=off,
                     placeholder="What the tool does and when to call it: the model reads this." if kind != "mcp"
                     else "What this server is for (optional: the model reads each tool's own description).")
        field_error(err, "description")
        if kind != "mcp":
            _schema_field(prefix, cfg, err, off)
    with right:
        if kind == "mock":
            _mock_fields(prefix, cfg, err, off)
        elif kind == "http":
            _http_fields(prefix, cfg, err, off)
        else:
            _mcp_fields(ctx, prefix, cfg, view, err, off)
    if not off:
        if view is not None:
            st.text_input("Note for this version (optional)", key=f"{prefix}_note", max_chars=500,
                          placeholder="What changed and why")
        with st.container(horizontal=True):
            st.button("Create tool" if view is None else f"Save as version {view.version + 1}", type="primary",
                      key=f"{prefix}_save", icon=":material/save:", on_click=_save,
                      args=(ctx.person_id, ctx.group_id, view.id if view else None, prefix))
            if view is not None:
                with st.popover("Delete", icon=":material/delete:"):
                    st.write(f"Delete **{view.name}**? Agents using it must drop it first; traces stay readable.")
                    st.button("Delete tool", type="primary", key=f"{prefix}_delete", on_click=_delete,
                              args=(ctx.person_id, view.id, view.name))
