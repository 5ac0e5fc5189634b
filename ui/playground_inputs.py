"""The Playground's inputs: variant pickers (agent, version, unsaved edits) and the input
conversation (one message or several user/assistant turns). Widget keys carry the agent
and version, so picking another version starts its edits from that version's values."""

from __future__ import annotations

import streamlit as st

from ui.agent_editor import agent_tool_names
from workbench.agents import versions
from workbench.playground import MAX_VARIANTS, MIN_VARIANTS, Variant

N_VARIANTS = "pg_n_variants"
N_TURNS = "pg_n_turns"
DEFAULT_AGENT = "pg_default_agent"


def _edit_fields(prefix: str, cfg: dict, providers: list, tools: list[str]) -> dict:
    """The edit widgets for one variant; returns every edited value (the service keeps
    only those that differ from the version)."""
    values = {"system_prompt": st.text_area("System prompt", value=cfg.get("system_prompt") or "",
                                            key=f"{prefix}_prompt", height=160)}
    ids = [p.id for p in providers]
    current = cfg.get("provider_id")
    values["provider_id"] = st.selectbox("Provider", ids, index=ids.index(current) if current in ids else 0,
                                         key=f"{prefix}_provider",
                                         format_func={p.id: p.name for p in providers}.get)
    values["model"] = st.text_input("Model", value=cfg.get("model") or "", key=f"{prefix}_model")
    left, right = st.columns(2)
    values["temperature"] = left.number_input("Temperature", 0.0, 2.0, float(cfg.get("temperature", 0.7)),
                                              0.05, key=f"{prefix}_temperature")
    values["max_output_tokens"] = right.number_input("Max tokens", 1, 200_000,
                                                     int(cfg.get("max_output_tokens", 1024)),
                                                     key=f"{prefix}_max_tokens")
    values["tools"] = st.multiselect("Tools", tools, default=[t for t in cfg.get("tools") or [] if t in tools],
                                     key=f"{prefix}_tools")
    return values


def variant_picker(ctx, i: int, agents: list, providers: list) -> Variant | None:
    """One variant: an agent, one of its versions, and optional edits."""
    by_id = {a.id: a for a in agents}
    ids = list(by_id)
    default = st.session_state.get(DEFAULT_AGENT)  # ?agent=ID: every variant starts on that agent
    agent_id = st.selectbox(f"Agent {i + 1}", ids, key=f"pg_v{i}_agent",
                            index=ids.index(default) if default in ids else (i if i < len(ids) else 0),
                            format_func=lambda a: by_id[a].name)
    history = versions.list_versions(ctx.person_id, agent_id)
    numbers = [v.version for v in history]
    version = st.selectbox("Version", numbers, key=f"pg_v{i}_version_{agent_id}",
                           format_func=lambda n: f"v{n}" + (" (latest)" if n == numbers[0] else ""))
    cfg = next(v.config for v in history if v.version == version)
    prefix = f"pg_v{i}_{agent_id}_{version}"
    with st.expander("Edits (not saved)", expanded=False):
        values = _edit_fields(prefix, cfg, providers, agent_tool_names(ctx.person_id, ctx.group_id))
    edits = {k: v for k, v in values.items() if v != cfg.get(k)}
    if edits:
        st.caption("Edited: " + ", ".join(k.replace("_", " ") for k in edits))
    return Variant(agent_id=agent_id, version=version, overrides=edits)


def variants_row(ctx, agents: list, providers: list) -> list[Variant]:
    n = st.session_state.setdefault(N_VARIANTS, MIN_VARIANTS)
    cols = st.columns(n)
    variants = []
    for i, col in enumerate(cols):
        with col, st.container(border=True):
            variants.append(variant_picker(ctx, i, agents, providers))
    row = st.container(horizontal=True)
    row.button("Add variant", key="pg_add_variant", icon=":material/add:", disabled=n >= MAX_VARIANTS,
               help=f"Up to {MAX_VARIANTS} variants run at once.",
               on_click=lambda: st.session_state.update({N_VARIANTS: n + 1}))
    row.button("Remove last", key="pg_remove_variant", icon=":material/remove:", disabled=n <= MIN_VARIANTS,
               on_click=lambda: st.session_state.update({N_VARIANTS: n - 1}))
    if n >= MAX_VARIANTS:
        row.caption(f"At most {MAX_VARIANTS} variants run side by side.")
    return variants


def conversation_editor() -> list[dict]:
    """The input: one user message, or alternating user/assistant turns ending with a user turn."""
    n = st.session_state.setdefault(N_TURNS, 1)
    turns = []
    for t in range(n):
        role = "user" if (n - 1 - t) % 2 == 0 else "assistant"
        label = "Message" if n == 1 else f"Turn {t + 1} · {role}"
        turns.append({"role": role, "content": st.text_area(label, key=f"pg_turn_{t}", height=90 if t < n - 1
                                                             else 110, placeholder="Write a message…")})
    row = st.container(horizontal=True)
    row.button("Add earlier turns", key="pg_add_turns", icon=":material/playlist_add:", on_click=_add_turns,
               help="Make it a short conversation: an assistant turn and a new user message.")
    if n > 1:
        row.button("One message only", key="pg_one_turn", icon=":material/short_text:", on_click=_one_turn)
    return turns


# Callbacks: they run before the widgets are drawn again, so they may change their values.
def _add_turns() -> None:
    n = st.session_state.get(N_TURNS, 1)
    for t in reversed(range(n)):  # keep what was typed, two turns further down
        st.session_state[f"pg_turn_{t + 2}"] = st.session_state.get(f"pg_turn_{t}", "")
    st.session_state["pg_turn_0"], st.session_state["pg_turn_1"] = "", ""
    st.session_state[N_TURNS] = n + 2


def _one_turn() -> None:
    n = st.session_state.get(N_TURNS, 1)
    st.session_state["pg_turn_0"] = st.session_state.get(f"pg_turn_{n - 1}", "")
    st.session_state[N_TURNS] = 1
