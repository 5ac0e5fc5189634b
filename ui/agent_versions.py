"""An agent's version history on the Agents page: every version (number, author, time,
note, the labels pointing at it), moving a label (production, staging, ...) to a version, a
diff of any two (the system prompt as a text diff, the other settings as a table of what
changed), and restoring an old version as a new one."""

from __future__ import annotations

import json

import streamlit as st

from ui.common import flash, fmt_time
from workbench.agents import labels, versions
from workbench.errors import WorkbenchError

FLASH = "agents_flash"  # the Agents page's one-line messages
FOCUS = "sel_agent_version"  # a version number to open in the diff (from ?version=)


def _restore(person_id: int, agent_id: int, version: int) -> None:
    try:
        view = versions.restore_version(person_id, agent_id, version)
        flash(FLASH, "ok", f"Restored version {version} as version {view.version}.")
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


def _move_label(person_id: int, agent_id: int, key: str) -> None:
    label, version = st.session_state.get(f"{key}_name", ""), st.session_state.get(f"{key}_version")
    try:
        info = labels.set_label(person_id, agent_id, version, label)
        flash(FLASH, "ok", f"{info.label} now points at version {info.version}: API calls naming "
                           f"@{info.label} get it from now on.")
    except WorkbenchError as err:
        flash(FLASH, "error", err.user_message)


def _label_form(ctx, agent_id: int, numbers: list[int]) -> None:
    key = f"agv_label_{agent_id}"
    name, version, go = st.columns([2, 1, 2], vertical_alignment="bottom")
    name.text_input("Label", value="production", key=f"{key}_name", max_chars=40,
                    help="production, staging or any word: the API's model@label gets the version it points to.")
    version.selectbox("Version", numbers, key=f"{key}_version", format_func=lambda n: f"v{n}")
    go.button("Point the label at this version", key=f"{key}_go", icon=":material/sell:",
              on_click=_move_label, args=(ctx.person_id, agent_id, key))


def _value(v) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def versions_panel(ctx, agent_id: int, provider_names: dict[int, str]) -> None:
    history = versions.list_versions(ctx.person_id, agent_id)
    pointing: dict[int, list[str]] = {}
    for info in labels.list_labels(ctx.person_id, agent_id):
        pointing.setdefault(info.version, []).append(info.label)
    st.dataframe([{"version": v.version, "labels": ", ".join(pointing.get(v.version, [])),
                   "author": v.author or "–", "saved": fmt_time(v.created_at),
                   "note": v.note or "", "model": v.config.get("model")} for v in history],
                 hide_index=True, width="stretch", key=f"agv_table_{agent_id}")
    numbers = [v.version for v in history]
    if ctx.can_edit:
        _label_form(ctx, agent_id, numbers)
    if len(history) < 2:
        st.caption("Only one version so far: every save adds one.")
        return
    focus = st.session_state.get(FOCUS)
    new_default = numbers.index(focus) if focus in numbers else 0
    left, right = st.columns(2)
    new = right.selectbox("To version", numbers, index=new_default, key=f"agv_new_{agent_id}",
                          format_func=lambda n: f"v{n}")
    older = [n for n in numbers if n != new]
    old = left.selectbox("From version", older, index=next((i for i, n in enumerate(older) if n < new), 0),
                         key=f"agv_old_{agent_id}_{new}", format_func=lambda n: f"v{n}")
    try:
        diff = versions.diff_versions(ctx.person_id, agent_id, old, new)
    except WorkbenchError as err:
        st.error(err.user_message)
        return
    if diff.identical:
        st.info(f"v{old} and v{new} have the same configuration.")
    if diff.prompt_changed:
        st.markdown(f"**System prompt**, v{old} → v{new}")
        st.code("\n".join(diff.prompt_diff), language="diff")
    elif not diff.identical:
        st.caption("The system prompt is the same.")
    if diff.changes:
        st.markdown("**Settings that changed**")

        def shown(row, side):
            v = row[side]
            return provider_names.get(v, str(v)) if row["setting"] == "provider_id" else _value(v)

        st.dataframe([{"setting": c["setting"].replace("_", " "), f"v{old}": shown(c, "old"),
                       f"v{new}": shown(c, "new")} for c in diff.changes],
                     hide_index=True, width="stretch", key=f"agv_changes_{agent_id}")
    if ctx.can_edit:
        pick = st.selectbox("Restore", numbers[1:], key=f"agv_restore_pick_{agent_id}",
                            format_func=lambda n: f"v{n}",
                            help="Saves that version's configuration as a new version; nothing is lost.")
        st.button(f"Restore v{pick} as version {numbers[0] + 1}", key=f"agv_restore_{agent_id}",
                  icon=":material/history:", on_click=_restore, args=(ctx.person_id, agent_id, pick))
