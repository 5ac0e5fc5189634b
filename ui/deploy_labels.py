"""The Deploy page's agent picker, version labels (see, point at a version, remove) and the
copy-ready code that calls the picked agent at a label, a version or its latest."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from ui.common import field_error, flash, fmt_time, show_error, show_flash
from workbench import agents
from workbench.errors import ValidationError, WorkbenchError
from workbench.markup import inert
from workbench.serve.snippets import KEY_VARIABLE, client_code
from workbench.settings import get_settings

AGENT = "sel_deploy_agent"
ERR = "deploy_label_error"
FLASH = "deploy_label_flash"
SUGGESTED = ("production", "staging")
OTHER = "\u2026another word"  # the label picker's last option: type one


@dataclass(frozen=True)
class Picked:
    """The agent the labels and the code are about, with its versions (newest first) and labels."""

    agent_id: int
    name: str
    versions: list
    labels: list


def _agent_picker(agent_list: list) -> int:
    names = {a.id: a.name for a in agent_list}
    if st.session_state.get(AGENT) not in names:
        st.session_state[AGENT] = next(iter(names))
    return st.selectbox("Agent", list(names), format_func=lambda i: f"{names[i]} (#{i})", key=AGENT)


def _set(person_id: int, agent_id: int, prefix: str) -> None:
    choice = st.session_state.get(f"{prefix}_pick")
    label = st.session_state.get(f"{prefix}_word", "") if choice == OTHER else choice
    try:
        info = agents.set_label(person_id, agent_id, int(st.session_state.get(f"{prefix}_version") or 0), label)
    except ValidationError as err:
        st.session_state[ERR] = (prefix, err)
        return
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)
        return
    flash(FLASH, "ok", f"**{info.label}** now points at version {info.version}: calls to "
                       f"`{agent_id}@{info.label}` get it from their next request.")


def _remove(person_id: int, agent_id: int, label: str) -> None:
    try:
        gone = agents.remove_label(person_id, agent_id, label)
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)
        return
    flash(FLASH, "ok" if gone else "error", f"Removed the label **{label}**." if gone
          else f"There is no label {label!r} any more.")


def _version_text(v, labels_of: dict[int, list[str]]) -> str:
    tags = f" [{', '.join(labels_of[v.version])}]" if labels_of.get(v.version) else ""
    note = f" · {v.note}" if v.note else ""
    return f"v{v.version}{tags}{note} · {v.author or 'someone'}, {fmt_time(v.created_at)}"


def labels_section(ctx, agent_list: list) -> Picked | None:
    """Pick an agent; its labels, and for editors the forms that move and remove them."""
    if not agent_list:
        st.info("No agents in this group yet: design one on the **Agents** page, then label it and call it "
                "from here.")
        return None
    show_flash(FLASH)
    left, right = st.columns([1, 1], gap="large")
    with left:
        agent_id = _agent_picker(agent_list)
        try:
            versions = agents.list_versions(ctx.person_id, agent_id)
            labels = agents.list_labels(ctx.person_id, agent_id)
        except WorkbenchError as err:
            show_error(err)
            return None
        picked = Picked(agent_id, next(a.name for a in agent_list if a.id == agent_id), versions, labels)
        if labels:
            st.dataframe(pd.DataFrame([{
                "Label": lab.label, "Version": f"v{lab.version}", "Call as": f"{agent_id}@{lab.label}",
                "Moved by": lab.updated_by or "–", "When (UTC)": fmt_time(lab.updated_at)} for lab in labels]),
                hide_index=True, width="stretch")
        else:
            st.caption("No labels yet: calls name a version (`12@3`) or get the latest (`12`). A label such as "
                       "*production* lets you ship or roll back a version without changing the product's code.")
        if not ctx.can_edit:
            st.caption("Only the group's editors and owners move labels.")
    if not ctx.can_edit:
        return picked
    prefix = f"deploy_label_{agent_id}"
    saved = st.session_state.pop(ERR, None)  # shown once, after the click that caused it
    err = saved[1] if saved and saved[0] == prefix else None
    labels_of: dict[int, list[str]] = {}
    for lab in labels:
        labels_of.setdefault(lab.version, []).append(lab.label)
    with right, st.container(border=True):
        st.markdown("**Point a label at a version**")
        choices = list(dict.fromkeys([*SUGGESTED, *(lab.label for lab in labels)])) + [OTHER]
        current = {lab.label: lab.version for lab in labels}
        c = st.columns(2)
        pick = c[0].selectbox("Label", choices, key=f"{prefix}_pick",
                              format_func=lambda x: x if x not in current else f"{x} (now v{current[x]})")
        by_version = {v.version: v for v in versions}
        c[1].selectbox("Version", list(by_version), key=f"{prefix}_version",
                       format_func=lambda n: _version_text(by_version[n], labels_of))
        if pick == OTHER:
            st.text_input("New label", key=f"{prefix}_word", max_chars=40, placeholder="canary",
                          help="A word: a letter first, then letters, digits, '-', '_' or '.'.")
        field_error(err, "label")
        field_error(err, "version")
        with st.container(horizontal=True):
            st.button("Set label", type="primary", key="deploy_label_set", icon=":material/sell:",
                      on_click=_set, args=(ctx.person_id, agent_id, prefix))
            if labels:
                with st.popover("Remove a label", icon=":material/label_off:"):
                    gone = st.selectbox("Label to remove", [lab.label for lab in labels], key=f"{prefix}_remove")
                    st.markdown(f"Calls to `{agent_id}@{gone}` are refused until the label is set again.")
                    st.button("Remove label", type="primary", key="deploy_label_remove", on_click=_remove,
                              args=(ctx.person_id, agent_id, gone))
    return picked


def code_section(picked: Picked) -> None:
    """Pick how to name the agent (a label, the latest, a version) and copy the code."""
    agent_id, name, versions, labels = picked.agent_id, picked.name, picked.versions, picked.labels
    latest = versions[0].version if versions else None
    refs = {f"{agent_id}@{lab.label}": f"the label {lab.label} (now v{lab.version}): follows the label"
            for lab in labels}
    refs[str(agent_id)] = f"the latest version (now v{latest}): follows every save"
    refs.update({f"{agent_id}@{v.version}": f"version {v.version}, fixed" for v in versions})
    key = f"deploy_ref_{agent_id}"
    if st.session_state.get(key) not in refs:
        st.session_state[key] = f"{agent_id}@production" if f"{agent_id}@production" in refs else next(iter(refs))
    model = st.selectbox("Call it as (`model`)", list(refs), key=key, format_func=lambda r: f"{r}  ·  {refs[r]}",
                         help=f"The agent's exact name works as well ({inert(name)}@production), but its "
                              "id survives a rename.")
    base = get_settings().api_public_url
    st.caption(f"Base URL `{base}` (the setting `WORKBENCH_API_PUBLIC_URL`) · the key from the "
               f"environment variable `{KEY_VARIABLE}` · `GET /v1/models` lists the agents a key can call.")
    code = client_code(base, model)
    python_tab, curl_tab, stream_tab = st.tabs(["Python (openai)", "curl", "curl, streamed"])
    python_tab.code(code["python"], language="python")
    curl_tab.code(code["curl"], language="bash")
    stream_tab.code(code["curl_stream"], language="bash")
