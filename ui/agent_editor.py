"""The Agents tab: the group's agents on the left, the selected one's editor on the right.

Widget keys carry the agent id and version (`ag_<id>_v<version>_<field>`), so a saved
version starts from its stored values while a refused save keeps everything typed."""

from __future__ import annotations

import streamlit as st

from ui.agent_versions import FLASH, versions_panel
from ui.agent_versions import FOCUS as VERSION_FOCUS
from ui.common import field_error, flash, item_picker, select_default
from ui.links import agent_link, playground_link
from workbench import agents
from workbench.agents.definitions import AgentConfig
from workbench.errors import ValidationError, WorkbenchError
from workbench.providers import service as provider_service
from workbench.providers.presets import BUILTIN_TEMPERATURE, default_temperature
from workbench.tools.custom import service as custom_tools
from workbench.tools.registry import builtin_tools

SEL = "sel_agent_edit"  # the agent being edited: an id, or "new"
PICK = "agent_pick"
ERR = "agent_err"  # (widget prefix, error) of the last refused save
NUMBERS = ("max_output_tokens", "context_messages", "max_tool_steps")


@st.cache_data(ttl=300, show_spinner="Asking the provider for its models…")
def provider_models(person_id: int, provider_id: int, base_url: str | None, key_name: str | None
                    ) -> tuple[list[str], str | None]:
    """The endpoint's model list, or ([], why not). Cached briefly: it is a network call.
    base_url and key_name are in the cache key so editing the provider refreshes it."""
    try:
        return provider_service.list_models(person_id, provider_id), None
    except WorkbenchError as err:
        return [], err.user_message
    except Exception as err:  # noqa: BLE001 - an endpoint's odd answer must not break the page
        return [], f"{type(err).__name__}: {err}"


# --- actions (button callbacks: they run before the page redraws) ----------------
def agent_tool_names(person_id: int, group_id: int) -> list[str]:
    """Every tool an agent of the group may be given: built-ins, then the group's own."""
    return list(builtin_tools()) + [e.name for e in custom_tools.picker_entries(person_id, group_id)]


def _values(prefix: str, tool_names: list[str]) -> dict:
    ss = st.session_state
    provider_id = ss.get(f"{prefix}_provider")
    values = {"name": ss.get(f"{prefix}_name", ""), "description": ss.get(f"{prefix}_description", ""),
              "system_prompt": ss.get(f"{prefix}_system_prompt", ""), "provider_id": provider_id,
              "model": ss.get(ss.get(f"{prefix}_model_key", ""), "") or "",
              "temperature": ss.get(f"{prefix}_temperature"),
              "tools": [n for n in tool_names if ss.get(f"{prefix}_tool_{n}")]}
    values.update({k: ss.get(f"{prefix}_{k}") for k in NUMBERS})
    return values


def _save(person_id: int, group_id: int, agent_id: int | None, prefix: str) -> None:
    try:
        if agent_id is None:
            view = agents.create_agent(person_id, group_id, **_values(prefix, agent_tool_names(person_id, group_id)))
            st.session_state["agent_new_n"] = st.session_state.get("agent_new_n", 0) + 1
            flash(FLASH, "ok", f"Created {view.name}.")
        else:
            view = agents.update_agent(person_id, agent_id, note=st.session_state.get(f"{prefix}_note"),
                                       **_values(prefix, agent_tool_names(person_id, group_id)))
            flash(FLASH, "ok", f"Saved {view.name} (version {view.version}).")
        st.session_state[SEL] = view.id
        st.session_state.pop(ERR, None)
    except ValidationError as err:
        st.session_state[ERR] = (prefix, err)
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


def _duplicate(person_id: int, agent_id: int) -> None:
    try:
        view = agents.duplicate_agent(person_id, agent_id)
        st.session_state[SEL] = view.id
        flash(FLASH, "ok", f"Created {view.name}.")
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


def _delete(person_id: int, agent_id: int, name: str) -> None:
    try:
        agents.delete_agent(person_id, agent_id)
        st.session_state[SEL] = None
        flash(FLASH, "ok", f"Deleted {name}. Its threads and traces stay readable.")
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


def _new_agent_provider_changed(prefix: str, providers: list) -> None:
    """A new agent takes the chosen provider's starting temperature (the built-in model's
    is lower); an existing agent keeps its own."""
    chosen = next(p for p in providers if p.id == st.session_state[f"{prefix}_provider"])
    st.session_state[f"{prefix}_temperature"] = default_temperature(chosen)


# --- drawing ----------------------------------------------------------------------
def agent_list(ctx, views: list) -> None:
    item_picker(ctx, views, sel_key=SEL, pick_key=PICK, noun="agent", captions=[_caption(v) for v in views],
                empty="No agents yet. An agent is a system prompt, a model and the tools it may use: "
                + ("press **New agent** to design one." if ctx.can_edit else "an editor designs them here."))


def _caption(v) -> str:
    tools = len(v.config.tools)
    return f"{v.config.model} · v{v.version}" + (f" · {tools} tool{'s' * (tools != 1)}" if tools else "")


def model_picker(ctx, provider, prefix: str, current: str, disabled: bool) -> None:
    """The provider's model list when it offers one (typing another id is allowed), else a
    free text field. The default is the agent's model, else the provider's default."""
    models, problem = provider_models(ctx.person_id, provider.id, provider.base_url, provider.api_key_name)
    default = current or provider_service.starting_model(provider) or ""
    if models:
        key = f"{prefix}_model_{provider.id}_list"
        options = models + ([default] if default and default not in models else [])
        st.selectbox("Model", options, index=options.index(default) if default in options else 0, key=key,
                     accept_new_options=True, disabled=disabled,
                     help="From the provider's model list; you can also type another model id.")
    else:
        key = f"{prefix}_model_{provider.id}_text"
        st.text_input("Model", value=default, key=key, disabled=disabled, placeholder="e.g. gpt-4o-mini",
                      help="This endpoint offers no model list: type the model id.")
        if problem:
            st.caption(f":orange[Could not list models: {problem}]")
    st.session_state[f"{prefix}_model_key"] = key


def number_field(name: str, cfg: AgentConfig, prefix: str, disabled: bool) -> None:
    key = f"{prefix}_{name}"
    if name == "temperature":
        st.slider("Temperature", 0.0, 2.0, float(cfg.temperature), 0.05, key=key, disabled=disabled,
                  help="Higher is more varied, lower is more focused. A new agent on the built-in "
                       f"model starts at {BUILTIN_TEMPERATURE}: it answers short facts and formats "
                       "more reliably there.")
    elif name == "max_output_tokens":
        st.number_input("Max output tokens", 1, 200_000, int(cfg.max_output_tokens), key=key,
                        disabled=disabled, help="The longest reply one model call may write.")
    elif name == "context_messages":
        st.number_input("Context messages", 1, 500, int(cfg.context_messages), key=key, disabled=disabled,
                        help="How many recent messages are sent with each call.")
    else:
        st.number_input("Max tool steps", 1, 50, int(cfg.max_tool_steps), key=key, disabled=disabled,
                        help="Rounds of tool calls allowed before the agent must answer.")


def editor(ctx, view, providers: list) -> None:
    """The form for one agent (view None: a new agent)."""
    can_edit = ctx.can_edit
    if view is None:
        prefix = f"ag_new_{st.session_state.get('agent_new_n', 0)}"
        first = providers[0]
        cfg = AgentConfig(name="", provider_id=first.id, model=provider_service.starting_model(first) or "",
                          temperature=default_temperature(first))
        st.subheader("New agent", anchor=False)
    else:
        prefix, cfg = f"ag_{view.id}_v{view.version}", view.config
        st.subheader(view.name, anchor=False)
        st.caption(f"Version {view.version} · every save adds a version; runs keep pointing at the "
                   "version they used.")
        with st.container(horizontal=True):
            agent_link(view.id)
            playground_link(view.id)
            if can_edit:
                st.button("Duplicate", icon=":material/content_copy:", key="agent_dup",
                          on_click=_duplicate, args=(ctx.person_id, view.id))
                with st.popover("Delete", icon=":material/delete:"):
                    st.write(f"Delete **{view.name}**? Its threads and traces stay readable; "
                             "it can no longer start runs.")
                    st.button("Delete agent", type="primary", key="agent_delete",
                              on_click=_delete, args=(ctx.person_id, view.id, view.name))
    saved = st.session_state.get(ERR)
    err = saved[1] if saved and saved[0] == prefix else None
    if err is not None:
        st.error("The agent was not saved: fix the fields marked below.")
    off = not can_edit
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.text_input("Name", value=cfg.name, key=f"{prefix}_name", max_chars=120, disabled=off)
        field_error(err, "name")
        st.text_input("Description", value=cfg.description, key=f"{prefix}_description", disabled=off,
                      placeholder="What this agent is for (shown to the team)")
        st.text_area("System prompt", value=cfg.system_prompt, key=f"{prefix}_system_prompt", height=360,
                     disabled=off, help="Sent first with every model call of this agent.")
        field_error(err, "system_prompt")
    with right:
        ids = [p.id for p in providers]
        chosen = st.selectbox("Provider", ids, index=ids.index(cfg.provider_id) if cfg.provider_id in ids else 0,
                              format_func={p.id: p.name for p in providers}.get, key=f"{prefix}_provider",
                              disabled=off, on_change=None if view else _new_agent_provider_changed,
                              args=None if view else (prefix, providers))
        field_error(err, "provider_id")
        provider = next(p for p in providers if p.id == chosen)
        model_picker(ctx, provider, prefix, cfg.model if chosen == cfg.provider_id else "", off)
        field_error(err, "model")
        rows = [("temperature", "max_output_tokens"), ("context_messages", "max_tool_steps")]
        for pair in rows:
            for col, name in zip(st.columns(2), pair):
                with col:
                    number_field(name, cfg, prefix, off)
                    field_error(err, name)
        st.markdown("**Tools**")
        for name, spec in builtin_tools().items():
            st.checkbox(f"{spec.label} (`{name}`)", value=name in cfg.tools, key=f"{prefix}_tool_{name}",
                        disabled=off)
            st.caption(spec.description)
        custom = custom_tools.picker_entries(ctx.person_id, ctx.group_id)
        if custom:
            st.markdown("**The group's tools** (defined on the Tools page)")
        for entry in custom:
            where = f"{entry.kind}" + (f" server {entry.tool_name}" if entry.kind == "mcp" else "")
            st.checkbox(f"`{entry.name}` ({where})", value=entry.name in cfg.tools,
                        key=f"{prefix}_tool_{entry.name}", disabled=off)
            st.caption(entry.description or "No description.")
        field_error(err, "tools")
    if can_edit:
        label = "Create agent" if view is None else f"Save as version {view.version + 1}"
        if view is not None:
            st.text_input("Note for this version (optional)", key=f"{prefix}_note", max_chars=500,
                          placeholder="What changed and why, e.g. 'shorter answers'")
            field_error(err, "note")
        st.button(label, type="primary", key="agent_save", icon=":material/save:", on_click=_save,
                  args=(ctx.person_id, ctx.group_id, view.id if view else None, prefix))
    if view is not None:
        with st.expander(f"Versions ({view.version})", expanded=bool(st.session_state.get(VERSION_FOCUS))):
            versions_panel(ctx, view.id, {p.id: p.name for p in providers})


def agents_tab(ctx) -> None:
    views = agents.list_agents(ctx.person_id, ctx.group_id)
    providers = provider_service.list_providers(ctx.person_id, ctx.group_id)
    select_default(SEL, [v.id for v in views], ctx.can_edit)
    left, right = st.columns([1, 4], gap="medium")
    with left:
        agent_list(ctx, views)
    with right:
        if st.session_state[SEL] is None:
            st.info("This group has no agents yet.")
        elif not providers:
            st.warning("Add a provider first (the Providers tab): an agent runs on one of the group's providers.")
        else:
            editor(ctx, next((v for v in views if v.id == st.session_state[SEL]), None), providers)
