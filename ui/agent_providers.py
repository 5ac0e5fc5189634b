"""The Providers tab: the group's model endpoints. A provider stores the NAME of the
environment variable or secret that holds its key, never the key."""

from __future__ import annotations

import streamlit as st

from ui.agent_editor import provider_models
from ui.common import field_error
from workbench.errors import ValidationError, WorkbenchError
from workbench.providers import service as provider_service
from workbench.providers.presets import PRESETS
from workbench.settings import get_secret

CUSTOM = "custom"
ADD = "prov_add"  # widget key prefix of the "add a provider" form
ERR = "prov_err"  # (form key, ValidationError) of the last refused add or edit
RESULT = "prov_result"  # provider id -> ("ok" | "error", sentence) of the last test

KEY_HELP = ("The NAME of the environment variable or `.streamlit/secrets.toml` entry that holds "
            "the API key, like OPENAI_API_KEY. Never paste the key itself. Leave empty for local "
            "servers that need no key.")


def _label(rec) -> str:
    if rec.kind == "local":
        return "built-in, runs in-process"
    return PRESETS.get(rec.preset or "", {}).get("label") or "custom endpoint"


def key_status(name: str | None) -> str:
    if not name:
        return "no key needed"
    return f"key from `{name}` · " + ("✅ set" if get_secret(name) else "⚠️ not set in the environment or secrets")


# --- actions ----------------------------------------------------------------------
def _test(person_id: int, provider_id: int) -> None:
    results = st.session_state.setdefault(RESULT, {})
    try:
        results[provider_id] = ("ok", provider_service.test_connection(person_id, provider_id))
    except WorkbenchError as err:
        results[provider_id] = ("error", err.user_message)
    except Exception as err:  # noqa: BLE001 - a broken endpoint must not break the page
        results[provider_id] = ("error", f"{type(err).__name__}: {err}")


def _refresh_models() -> None:
    provider_models.clear()


def _update(person_id: int, provider_id: int, form: str) -> None:
    ss = st.session_state
    values = {"name": ss.get(f"{form}_name", ""), "default_model": ss.get(f"{form}_default_model", "")}
    if f"{form}_base_url" in ss:
        values.update(base_url=ss[f"{form}_base_url"], api_key_name=ss.get(f"{form}_api_key_name", ""))
    try:
        provider_service.update_provider(person_id, provider_id, **values)
        ss.pop(ERR, None)
        ss["agents_flash"] = ("ok", f"Saved provider {values['name'].strip()}.")
        provider_models.clear()
    except ValidationError as err:
        ss[ERR] = (form, err)
    except WorkbenchError as err:
        ss["agents_flash"] = ("error", err.user_message)


def _fill_from_preset() -> None:
    """Preset picked: start the fields from its values."""
    ss = st.session_state
    preset = PRESETS.get(ss.get(f"{ADD}_preset"), {})
    ss[f"{ADD}_name"] = preset.get("label", "").split(" (")[0] if preset else ""
    ss[f"{ADD}_base_url"] = preset.get("base_url") or ""
    ss[f"{ADD}_api_key_name"] = preset.get("api_key_name") or ""
    ss[f"{ADD}_default_model"] = preset.get("default_model") or ""


def _add(person_id: int, group_id: int) -> None:
    ss = st.session_state
    preset = ss.get(f"{ADD}_preset")
    kind = PRESETS.get(preset, {}).get("kind", "openai_compatible")
    try:
        rec = provider_service.add_provider(
            person_id, group_id, name=ss.get(f"{ADD}_name", ""),
            preset=None if preset == CUSTOM else preset, kind=kind,
            base_url=ss.get(f"{ADD}_base_url") or None, api_key_name=ss.get(f"{ADD}_api_key_name") or "",
            default_model=ss.get(f"{ADD}_default_model") or None)
        ss.pop(ERR, None)
        for k in ("name", "base_url", "api_key_name", "default_model", "preset"):
            ss.pop(f"{ADD}_{k}", None)
        ss["agents_flash"] = ("ok", f"Added provider {rec.name}. Test the connection below.")
    except ValidationError as err:
        ss[ERR] = (ADD, err)
    except WorkbenchError as err:
        ss["agents_flash"] = ("error", err.user_message)


# --- drawing ----------------------------------------------------------------------
def _error_for(form: str):
    saved = st.session_state.get(ERR)
    return saved[1] if saved and saved[0] == form else None


def provider_card(ctx, rec) -> None:
    with st.container(border=True):
        head, buttons = st.columns([3, 2], vertical_alignment="center")
        with head:
            st.markdown(f"**{rec.name}** :gray-badge[{_label(rec)}]")
            where = "no network, no key" if rec.kind == "local" else f"`{rec.base_url or ''}` · {key_status(rec.api_key_name)}"
            model = provider_service.starting_model(rec)
            st.caption(f"{where} · {'runs' if rec.kind == 'local' else 'default model'} `{model or 'none'}`")
            if rec.kind == "local":
                st.caption(f"Model file: {provider_service.builtin_model_status()}")
        if ctx.can_edit:
            with buttons, st.container(horizontal=True, horizontal_alignment="right"):
                st.button("Test connection", key=f"prov_test_{rec.id}", icon=":material/network_check:",
                          on_click=_test, args=(ctx.person_id, rec.id))
                show = st.toggle("Models", key=f"prov_models_{rec.id}", help="Show the models it offers.")
        else:
            show = False
        result = st.session_state.get(RESULT, {}).get(rec.id)
        if result:
            (st.success if result[0] == "ok" else st.error)(result[1])
        if show:
            models, problem = provider_models(ctx.person_id, rec.id, rec.base_url, rec.api_key_name)
            if problem:
                st.error(problem)
            elif not models:
                st.caption("This endpoint offers no model list; type model ids on the agent.")
            else:
                st.dataframe({"model": models}, hide_index=True, use_container_width=True,
                             height=min(36 * len(models) + 38, 300))
            st.button("Refresh list", key=f"prov_refresh_{rec.id}", on_click=_refresh_models)
        if ctx.can_edit:
            with st.expander("Edit"):
                form, err = f"prov_{rec.id}", _error_for(f"prov_{rec.id}")
                st.text_input("Name", value=rec.name, key=f"{form}_name")
                field_error(err, "name")
                if rec.kind != "local":
                    st.text_input("Base URL", value=rec.base_url or "", key=f"{form}_base_url")
                    field_error(err, "base_url")
                    st.text_input("API key variable name", value=rec.api_key_name or "",
                                  key=f"{form}_api_key_name", help=KEY_HELP)
                    field_error(err, "api_key_name")
                if rec.kind != "local":  # the built-in provider runs the model configured (README)
                    st.text_input("Default model", value=rec.default_model or "", key=f"{form}_default_model")
                st.button("Save provider", key=f"{form}_save", type="primary",
                          on_click=_update, args=(ctx.person_id, rec.id, form))


def add_form(ctx, expanded: bool) -> None:
    with st.expander("Add a provider", expanded=expanded, icon=":material/add:"):
        err = _error_for(ADD)
        options = [k for k in PRESETS] + [CUSTOM]
        st.selectbox("Start from", options, key=f"{ADD}_preset", index=None, on_change=_fill_from_preset,
                     format_func=lambda k: "By hand (any OpenAI-compatible endpoint)" if k == CUSTOM
                     else PRESETS[k]["label"], placeholder="Pick a preset or 'by hand'")
        preset = st.session_state.get(f"{ADD}_preset")
        if preset is None:
            return
        local = PRESETS.get(preset, {}).get("kind") == "local"
        st.text_input("Name", key=f"{ADD}_name", placeholder="e.g. OpenAI (team key)")
        field_error(err, "name")
        if not local:
            st.text_input("Base URL", key=f"{ADD}_base_url", placeholder="https://…/v1")
            field_error(err, "base_url")
            st.text_input("API key variable name", key=f"{ADD}_api_key_name", help=KEY_HELP,
                          placeholder="OPENAI_API_KEY")
            field_error(err, "api_key_name")
        if not local:
            st.text_input("Default model", key=f"{ADD}_default_model", placeholder="e.g. gpt-4o-mini")
        st.button("Add provider", key=f"{ADD}_submit", type="primary", on_click=_add,
                  args=(ctx.person_id, ctx.group_id))


def providers_tab(ctx) -> None:
    records = provider_service.list_providers(ctx.person_id, ctx.group_id)
    st.caption("Model endpoints this group's agents can run on: any OpenAI-compatible API "
               "(OpenAI, Anthropic, OpenRouter, Ollama, vLLM, llama.cpp, LM Studio) or the built-in "
               "offline model. Keys come from the environment or `.streamlit/secrets.toml`.")
    if not records:
        st.info("No providers yet.")
    for rec in records:
        provider_card(ctx, rec)
    if ctx.can_edit:
        add_form(ctx, expanded=not records)
