"""How a thread looks: user, assistant and human-agent messages, tool calls as steps,
knowledge search results as sources. Rendering only; no service calls that change anything."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import streamlit as st

from ui.experiments import add_to_test_set
from ui.links import trace_link, version_link
from workbench.markup import inert
from workbench.models import utcnow

HUMAN_AVATAR = "🧑‍💼"
SEARCH_TOOL = "search_knowledge"
REPLY_NOTES = {
    "cancelled": "⏹ Stopped: the reply was cut short. What streamed before the stop is kept.",
    "interrupted": "⚠️ Interrupted: the app stopped while this reply was being written.",
}


def ago(dt: datetime | None, now: datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', else the date (times are UTC)."""
    if dt is None:
        return ""
    seconds = ((now or utcnow()) - dt).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 2 * 86400:
        return "yesterday"
    return dt.strftime("%Y-%m-%d")


def tool_label(name: str, duration_ms: float | None, failed: bool = False) -> str:
    timing = f" · {duration_ms:,.0f} ms" if duration_ms is not None else ""
    return f"🔧 {name}{timing}" + (" · failed" if failed else "")


def parse_json(text: str | None) -> Any:
    """The value when `text` is a JSON object or array, else None (plain text results)."""
    if not text or text.lstrip()[:1] not in "[{":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def tool_arguments(arguments: Any) -> None:
    st.caption("Arguments")
    st.json(arguments if isinstance(arguments, (dict, list)) else {"value": arguments}, expanded=True)


def tool_result(result: str | None, error: dict | None) -> None:
    """A tool's error and result: JSON as a tree, anything else as plain text."""
    if error:
        st.error(f"{error.get('type', 'Error')}: {error.get('message', '')}")
    if result is not None:
        st.caption("Result")
        value = parse_json(result)
        if value is not None:
            st.json(value, expanded=2)
        else:
            st.text(result[:20_000] + (" …" if len(result) > 20_000 else ""))


def source_items(content: str | None) -> list[dict[str, Any]]:
    """Hits of a search_knowledge result: a JSON list of {title, page, score, text, ...}."""
    value = parse_json(content)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict) and "text" in item]


def render_sources(items: list[dict[str, Any]], query: str | None, duration_ms: float | None) -> None:
    """A 'Sources' list; each source opens (an expander) on the passage the agent read."""
    timing = f" · {duration_ms:,.0f} ms" if duration_ms is not None else ""
    searched = f" for “{inert(query)}”" if query else ""  # the model wrote it: may hold HTML
    st.markdown(f"**📚 Sources** <small>searched{searched}{timing}</small>", unsafe_allow_html=True)
    if not items:
        st.caption("Nothing relevant was found in the knowledge base.")
    for n, item in enumerate(items, 1):
        page = f" · p. {item['page']}" if item.get("page") else ""
        score = f" · {float(item['score']):.2f}" if isinstance(item.get("score"), (int, float)) else ""
        # A label renders Markdown images: a document's title must not load one.
        with st.expander(f"{n}. {inert(item.get('title') or 'Untitled')}{page}{score}"):
            st.markdown(str(item.get("text", "")))


def render_tool_message(msg) -> None:
    data = msg.data or {}
    args, error, duration = data.get("arguments", {}), data.get("error"), data.get("duration_ms")
    if msg.name == SEARCH_TOOL and not error:
        items = source_items(msg.content)
        if items or parse_json(msg.content) == []:
            render_sources(items, args.get("query") if isinstance(args, dict) else None, duration)
            return
    with st.expander(tool_label(msg.name or "tool", duration, bool(error))):
        tool_arguments(args)
        tool_result(msg.content, error)


def _usage_line(replies: list) -> str | None:
    """'gpt-4o-mini · 120 → 45 tokens' summed over the model calls of one reply."""
    models, tokens_in, tokens_out = [], 0, 0
    for m in replies:
        data = m.data or {}
        if data.get("model") and data["model"] not in models:
            models.append(data["model"])
        usage = data.get("usage") or {}
        tokens_in += int(usage.get("input_tokens") or 0)
        tokens_out += int(usage.get("output_tokens") or 0)
    if not models:
        return None
    return f"{', '.join(models)} · {tokens_in:,} → {tokens_out:,} tokens"


def replaced_note(unsupported: list[str], repeats_question: bool = False) -> str:
    """Under an answer the grounding check replaced (providers/grounding_check)."""
    if repeats_question:
        return ("🔎 Checked against the passages found: the model's answer only repeated the question "
                "and said nothing they hold, so it was replaced. The run's trace keeps the model's answer.")
    return (f"🔎 Checked against the passages found: the model's answer named "
            f"{', '.join(unsupported)}, which they do not hold, so it was replaced. "
            "The run's trace keeps the model's answer.")


def render_assistant_message(msg, *, retry_key: str | None = None) -> bool:
    """One model call's output. True when its Retry button was clicked."""
    if msg.content:
        st.markdown(msg.content + (" ▌" if msg.status == "streaming" else ""))
    elif msg.status == "streaming":
        st.caption("Thinking…")
    if msg.status == "failed":
        st.error((msg.data or {}).get("error") or "The reply failed.")
    elif msg.status in REPLY_NOTES:
        st.caption(REPLY_NOTES[msg.status])
    data = msg.data or {}
    if data.get("unsupported") or data.get("repeats_question"):
        st.caption(replaced_note(data.get("unsupported") or [], bool(data.get("repeats_question"))))
    if retry_key:
        return st.button("Retry", key=retry_key, icon=":material/refresh:",
                         help="Run the agent again on your last message.")
    return False


def group_turns(messages: list) -> list[tuple[str, list]]:
    """Consecutive assistant and tool messages of one run form one turn on screen."""
    turns: list[tuple[str, list]] = []
    for m in messages:
        kind = "assistant" if m.role in ("assistant", "tool") else m.role
        same_run = turns and turns[-1][0] == "assistant" and turns[-1][1][-1].run_id == m.run_id
        if kind == "assistant" and same_run:
            turns[-1][1].append(m)
        else:
            turns.append((kind, [m]))
    return turns


def render_messages(messages: list, *, agent_name: str, retry_message_id: int | None = None,
                    versions: dict | None = None) -> bool:
    """The window of messages, oldest first. True when Retry was clicked on the failed reply
    whose id is `retry_message_id`."""
    retry = False
    for kind, group in group_turns(messages):
        first = group[0]
        if kind == "user":
            with st.chat_message("user"):
                st.markdown(first.content)
        elif kind == "human":
            with st.chat_message(first.name or "Human agent", avatar=HUMAN_AVATAR):
                st.caption(f"**{first.name or 'Human agent'}** · human agent · {ago(first.created_at)}")
                st.markdown(first.content)
        elif kind == "assistant":
            with st.chat_message("assistant"):
                for m in group:
                    if m.role == "tool":
                        render_tool_message(m)
                    else:
                        key = f"retry_{m.id}" if m.id == retry_message_id else None
                        retry = render_assistant_message(m, retry_key=key) or retry
                line = _usage_line([m for m in group if m.role == "assistant"])
                done = all(m.status != "streaming" for m in group)
                if done:
                    about, version, link, add = st.columns([4, 1, 1.4, 2.6], vertical_alignment="center")
                    about.caption(" · ".join(x for x in (agent_name, line, ago(group[-1].created_at)) if x))
                    if first.run_id in (versions or {}):
                        with version:
                            version_link(*versions[first.run_id])
                    if first.run_id:
                        with link:
                            trace_link(first.run_id)
                        with add:  # the user message and this reply, as a test case
                            add_to_test_set(key=f"addcase_{first.run_id}", run_id=first.run_id)
        else:  # system notes
            st.caption(first.content)
    return retry
