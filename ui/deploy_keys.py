"""The Deploy page's API keys: create one (editors), see it once, list the group's keys, revoke.

A new key's secret is kept in session_state[SECRET] only until its maker dismisses it or
leaves the page (app.py calls `forget_new_key` on every other page; a group switch drops it
with the other `sel_` keys). It is never logged, put in a URL or written anywhere else."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import field_error, flash, fmt_time, show_error, show_flash
from workbench.errors import ValidationError, WorkbenchError
from workbench.markup import inert
from workbench.serve import keys

SECRET = "sel_deploy_new_key"  # {"id", "name", "role", "secret"}: the key just made
ERR = "deploy_key_error"
FLASH = "deploy_key_flash"
ROLES = {"editor": "starts runs (chat completions) and reads threads",
         "viewer": "reads models and threads only"}


def forget_new_key() -> None:
    """Drop a new key's secret from the session (dismissed, or its maker left the page)."""
    st.session_state.pop(SECRET, None)


def _create(person_id: int, group_id: int) -> None:
    try:
        made = keys.create_key(person_id, group_id, st.session_state.get("deploy_key_name", ""),
                               role=st.session_state.get("deploy_key_role", "editor"))
    except ValidationError as err:
        st.session_state[ERR] = err
        return
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)
        return
    st.session_state.pop(ERR, None)
    st.session_state["deploy_key_name"] = ""
    st.session_state[SECRET] = {"id": made.info.id, "name": made.info.name, "role": made.info.role,
                                "secret": made.secret}


def _revoke(person_id: int, key_id: int) -> None:
    try:
        key = keys.revoke_key(person_id, key_id)
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)
        return
    if (st.session_state.get(SECRET) or {}).get("id") == key_id:
        forget_new_key()
    flash(FLASH, "ok", f"Revoked the key {inert(key.name)} ({key.prefix}…): calls with it are refused from now on. "
                       "Its threads, traces and usage stay.")


def _new_key_panel() -> None:
    new = st.session_state.get(SECRET)
    if not new:
        return
    with st.container(border=True):
        st.success(f"Created the {new['role']} key **{inert(new['name'])}**.", icon="🔑")
        st.warning("Copy the key now: **it is shown only this once.** The workbench keeps only a hash "
                   "of it; if it is lost, revoke it and create another.", icon="⚠️")
        st.code(new["secret"], language=None)
        st.caption("Give it to the product as the environment variable `WORKBENCH_API_KEY` (the code below "
                   "reads it from there); it is sent as `Authorization: Bearer …`.")
        st.button("I have copied it", key="deploy_key_dismiss", icon=":material/check:", on_click=forget_new_key)


def _create_form(ctx) -> None:
    err = st.session_state.pop(ERR, None)
    with st.form("deploy_key_form", border=True):
        st.markdown("**New key**")
        name_col, role_col = st.columns([3, 2])
        with name_col:
            st.text_input("Name", key="deploy_key_name", max_chars=keys.MAX_NAME_CHARS,
                          placeholder="website chat", help="Who uses it: one key per product or service, "
                          "so each can be revoked alone and its usage told apart.")
            field_error(err, "name")
        with role_col:
            st.selectbox("Role", list(ROLES), key="deploy_key_role",
                         help=" ".join(f"**{role}**: {what}." for role, what in ROLES.items()))
            field_error(err, "role")
        st.form_submit_button("Create key", type="primary", icon=":material/key:", on_click=_create,
                              args=(ctx.person_id, ctx.group_id))


def _table(rows: list[keys.KeyInfo]) -> None:
    st.dataframe(pd.DataFrame([{
        "Name": k.name, "Key": f"{k.prefix}…", "Role": k.role, "Created by": k.created_by or "–",
        "Created (UTC)": fmt_time(k.created_at), "Last used (UTC)": fmt_time(k.last_used_at) or "never",
        "Status": "active" if k.active else f"revoked {fmt_time(k.revoked_at)}"} for k in rows]),
        hide_index=True, width="stretch")


def _revoke_control(ctx, active: list[keys.KeyInfo]) -> None:
    st.markdown("**Revoke a key**")
    if not active:
        st.caption("No active keys.")
        return
    by_id = {k.id: k for k in active}
    picked = st.selectbox("Key to revoke", list(by_id), key="deploy_revoke_pick", label_visibility="collapsed",
                          format_func=lambda i: f"{by_id[i].name} · {by_id[i].prefix}… · {by_id[i].role}")
    key = by_id[picked]
    st.caption("Products using it are refused from their next call; its threads, traces and usage stay.")
    with st.popover("Revoke…", icon=":material/block:"):
        st.markdown(f"Revoke **{inert(key.name)}** (`{key.prefix}…`)? Every product using it gets "
                    "*401 invalid API key* from the next call; this cannot be undone.")
        st.button("Revoke key", type="primary", key="deploy_revoke", on_click=_revoke, args=(ctx.person_id, key.id))


def keys_section(ctx) -> None:
    st.subheader("API keys", anchor=False)
    st.caption("A key lets a product call this group's agents through the API. It acts as a member of "
               "its own with the key's role, so its runs, threads and usage show under its name.")
    show_flash(FLASH)
    _new_key_panel()
    try:
        rows = keys.list_keys(ctx.person_id, ctx.group_id)
    except WorkbenchError as err:
        show_error(err)
        return
    if rows:
        _table(rows)
    else:
        st.caption("No keys yet." + (" Create one to call an agent from a product." if ctx.can_edit else ""))
    if not ctx.can_edit:
        st.info("You are a viewer in this group: you can see its keys, not create or revoke them. "
                "Ask an editor or owner for a key.")
        return
    left, right = st.columns(2, gap="large")
    with left:
        _create_form(ctx)
    if rows:
        with right, st.container(border=True):
            _revoke_control(ctx, [k for k in rows if k.active])
