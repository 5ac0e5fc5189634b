"""Rendering one run's trace: header, error, timeline, step tree, messages, the exact
context sent, events, agent version, export. Used by views/traces.py."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

import plotly.graph_objects as go
import streamlit as st

from ui.experiments import add_to_test_set
from ui.links import playground_link, version_link
from workbench import clock
from workbench.markup import inert
from workbench.observe.traces import RunTrace, StepView

KIND_COLOURS = {"model_call": "#4C78A8", "tool_call": "#F58518", "queue": "#E45756", "run": "#BAB0AC"}
KIND_WORDS = {"model_call": "model", "tool_call": "tool", "queue": "queued"}
STATUS_ICONS = {"ok": "✅", "error": "❌", "running": "⏳", "cancelled": "⏹️",
                "interrupted": "⚠️", "complete": "✅", "failed": "❌"}


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def fmt_cost(usd: float | None) -> str:
    if usd is None:
        return "–"
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.4f}" if usd >= 0.01 else f"${usd:.6f}"


def _offset_ms(trace: RunTrace, when: datetime) -> float:
    return max(0.0, (when - trace.run.started_at).total_seconds() * 1000)


def _step_duration(step: StepView) -> float:
    if step.duration_ms is not None:
        return step.duration_ms
    return max(0.0, (clock.utcnow() - step.started_at).total_seconds() * 1000)  # still running


def _step_label(step: StepView) -> str:
    return f"#{step.seq} {KIND_WORDS.get(step.kind, step.kind)} · {step.name}"


def timeline_figure(trace: RunTrace) -> go.Figure:
    """Gantt-like bars: the run on top, then each step from its start, coloured by kind."""
    run = trace.run
    total = run.duration_ms if run.duration_ms is not None else _offset_ms(trace, clock.utcnow())
    labels, bases, widths, colours, hovers = [f"run #{run.id}"], [0.0], [total], ["run"], [
        f"run #{run.id}<br>{run.status}<br>{fmt_ms(total)}"]
    for step in trace.steps:
        dur = _step_duration(step)
        labels.append(_step_label(step))
        bases.append(_offset_ms(trace, step.started_at))
        widths.append(max(dur, total * 0.004))  # a 0 ms tool call still shows as a sliver
        colours.append(step.kind)
        extra = f"<br>retries: {step.retries}" if step.retries else ""
        if step.kind == "model_call" and step.ttft_ms is not None:
            extra += f"<br>first token: {fmt_ms(step.ttft_ms)}"
        hovers.append(f"{_step_label(step)}<br>{step.status}<br>starts at +{fmt_ms(bases[-1])}"
                      f"<br>takes {fmt_ms(dur)}{extra}")
    fig = go.Figure()
    for kind in ("run", "queue", "model_call", "tool_call"):
        idx = [i for i, c in enumerate(colours) if c == kind]
        if not idx:
            continue
        fig.add_trace(go.Bar(
            y=[labels[i] for i in idx], x=[widths[i] for i in idx], base=[bases[i] for i in idx],
            orientation="h", name=kind.replace("_", " "), marker_color=KIND_COLOURS[kind],
            hovertext=[hovers[i] for i in idx], hoverinfo="text"))
    fig.update_layout(barmode="overlay", height=90 + 32 * len(labels), showlegend=True,
                      margin=dict(l=10, r=10, t=10, b=30), xaxis_title="ms since the run started",
                      yaxis=dict(categoryorder="array", categoryarray=list(reversed(labels))),
                      legend=dict(orientation="h", y=-0.25))
    return fig


def _json_or_text(value: str | None) -> None:
    try:
        parsed = json.loads(value or "")
    except (TypeError, ValueError):
        st.code(value or "", language=None, wrap_lines=True)
        return
    st.json(parsed, expanded=2)


def render_error(kind: str | None, message: str | None, chain: list | None) -> None:
    st.error(f"**{kind or 'Error'}**: {message or ''}")
    if chain:
        st.caption("Cause chain, outermost first")
        st.dataframe([{"type": c.get("type"), "message": c.get("message")} for c in chain],
                     hide_index=True, width="stretch")


def _filled_form(full_answer: str, choices: list[str]) -> str:
    """How a short form the user asked for was filled (providers/answer_forms)."""
    asked = (f'Asked first without the short form (`plain_answer` under Parameters), the model answered: '
             f'"{full_answer}". ')
    if len(choices) == 1:
        return asked + f"The reply is the one choice that answer offered: `{choices[0]}`."
    held = ("a choice among " + ", ".join(f"`{c}`" for c in choices)) if choices else "the form's own grammar"
    return asked + f"A second call, given that answer, was held to {held}."


def _model_step(step: StepView) -> None:
    req, resp = step.request, step.response
    cols = st.columns(5)
    cols[0].metric("Duration", fmt_ms(step.duration_ms))
    cols[1].metric("First token", fmt_ms(step.ttft_ms))
    cols[2].metric("Tokens in / out", f"{step.input_tokens or 0} / {step.output_tokens or 0}")
    cols[3].metric("Cost", fmt_cost(step.cost_usd))
    cols[4].metric("Retries", step.retries)
    if step.error:
        render_error(step.error.get("type"), step.error.get("message"), step.error.get("chain"))
    if step.failed_attempts:
        st.caption("Failed tries before this result")
        st.dataframe(step.failed_attempts, hide_index=True, width="stretch")
    playground_link(step_id=step.id, label="Open in playground")
    tabs = st.tabs(["Response", "Prompt as sent", "Tool schemas", "Parameters", "Raw"])
    with tabs[0]:
        st.caption(f"finish reason: {resp.get('finish_reason') or '–'} · model: "
                   f"{resp.get('model') or step.name}")
        if resp.get("content"):
            st.markdown(resp["content"])
        if resp.get("decision_replaced"):
            st.caption(f"The decision chose `{resp.get('decision')}`; a human was called instead, because "
                       f"{resp['decision_replaced']}.")
        if resp.get("decision_set_aside"):
            st.caption(f"The decision chose to search (`{resp.get('decision')}`); the search was not made, "
                       f"because {resp['decision_set_aside']}, and the model answered.")
        if resp.get("full_answer") is not None:
            st.caption(_filled_form(resp["full_answer"], resp.get("form_choices") or []))
        elif req.get("grammar"):
            st.caption(f"Held by the server's grammar, at temperature {req.get('temperature')}: it admitted "
                       "nothing but the short form the user asked for, or the sentence an action gave to reply "
                       "with (see `grammar` under Parameters).")
        if resp.get("passage_check") == "no":
            st.caption("Asked first whether the passages found say the answer (`passage_check` under "
                       "Parameters), the model said no: the reply says the knowledge base does not say, "
                       "and no answer was written.")
        elif resp.get("passage_check") == "yes":
            st.caption("Asked first whether the passages found say the answer (`passage_check` under "
                       "Parameters), the model said yes; then it answered from them.")
        replaced = resp.get("replaced")
        if replaced:
            if replaced.get("repeats_question"):
                why = ("only repeated the question: apart from the question's own words, none of its "
                       "words or figures is in the passages")
            else:
                terms = ", ".join(f"`{t}`" for t in replaced.get("unsupported") or [])
                why = f"named {terms}, which neither the passages nor the user's messages hold"
            st.warning(f"Replaced: the model's answer {why} (see `checked_against` under Parameters). "
                       "The model's answer:")
            st.text(replaced.get("answer") or "")
        if resp.get("tool_calls"):
            st.json(resp["tool_calls"], expanded=2)
        if resp.get("usage"):
            st.caption("Usage as reported")
            st.json(resp["usage"], expanded=False)
    with tabs[1]:
        st.caption(f"{len(req.get('messages') or [])} messages, exactly as sent")
        st.json(req.get("messages") or [], expanded=2)
    with tabs[2]:
        st.json(req.get("tools") or [], expanded=1)
    with tabs[3]:
        st.json({k: v for k, v in req.items() if k not in ("messages", "tools")})
    with tabs[4]:
        st.json({"request": req, "response": resp, "error": step.error}, expanded=False)


def _tool_step(step: StepView) -> None:
    cols = st.columns(3)
    cols[0].metric("Duration", fmt_ms(step.duration_ms))
    cols[1].metric("Status", step.status)
    cols[2].metric("Call id", step.request.get("tool_call_id") or "–")
    if step.error:
        render_error(step.error.get("type"), step.error.get("message"), step.error.get("chain"))
    st.caption("Arguments")
    st.json(step.request.get("arguments") or {})
    st.caption("Result")
    if "result" in step.response:
        _json_or_text(step.response.get("result"))
    else:
        st.caption("(still running)")


def render_steps(trace: RunTrace) -> None:
    if not trace.steps:
        st.caption("No steps recorded yet.")
    for step in trace.steps:
        title = (f"{STATUS_ICONS.get(step.status, '•')} {_step_label(step)} · "
                 f"{fmt_ms(step.duration_ms) if step.duration_ms is not None else step.status}"
                 + (f" · {step.retries} {'retry' if step.retries == 1 else 'retries'}"
                    if step.retries else ""))
        with st.expander(title, expanded=step.status in ("error", "running")):
            if step.kind == "queue":
                st.caption(f"The run waited {fmt_ms(step.duration_ms)} in line for a free slot "
                           f"({step.request.get('lane', '')} models) before its first model call; "
                           "that time is not model time.")
            else:
                (_model_step if step.kind == "model_call" else _tool_step)(step)


def render_messages(trace: RunTrace) -> None:
    st.caption("Every message the run read or wrote, with all its stored data.")
    for m in trace.messages:
        st.markdown(f"**#{m.seq} {m.role}**" + (f" · {m.name}" if m.name else "")
                    + f" · {m.status}")
        st.json({**asdict(m), "created_at": m.created_at.isoformat()}, expanded=1)


def render_context(trace: RunTrace, key: str) -> None:
    contexts = trace.contexts
    if not contexts:
        st.caption("No model call yet.")
        return
    seqs = [seq for seq, _ in contexts]
    seq = seqs[0] if len(seqs) == 1 else st.selectbox(
        "Model call", seqs, index=len(seqs) - 1, format_func=lambda s: f"step #{s}", key=key)
    request = dict(contexts[seqs.index(seq)][1])
    st.caption(f"Sent to **{request.get('provider', '?')}** ({request.get('base_url') or 'built-in'})"
               f" · model `{request.get('model')}` · temperature {request.get('temperature')}"
               f" · max tokens {request.get('max_tokens')}")
    for msg in request.get("messages") or []:
        role = msg.get("role", "?")
        with st.container(border=True):
            st.caption(role + (f" · tool call {msg.get('tool_call_id')}" if msg.get("tool_call_id") else ""))
            if msg.get("content"):
                st.text(msg["content"] if isinstance(msg["content"], str) else json.dumps(msg["content"]))
            if msg.get("tool_calls"):
                st.json(msg["tool_calls"], expanded=False)
    st.caption("Tool schemas sent")
    st.json(request.get("tools") or [], expanded=False)


def render_header(trace: RunTrace) -> None:
    run = trace.run
    icon = STATUS_ICONS.get(run.status, "•")
    st.subheader(f"{icon} Run #{run.id} · {run.status}")
    st.caption(f"{run.agent_name or 'agent'} v{run.agent_version or '?'} · "
               f"thread “{run.thread_title or run.thread_id}” · by {inert(run.caller_name or '–')} · "
               f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC · tools used: "
               f"{', '.join(run.tools) or 'none'}")
    version_link(run.agent_id, run.agent_version, f"{run.agent_name or 'agent'} v{run.agent_version}")
    if run.status != "running":
        add_to_test_set(key=f"addcase_trace_{run.id}", run_id=run.id)
    cols = st.columns(4)
    live = run.duration_ms is None and trace.is_live
    cols[0].metric("Duration", fmt_ms(_offset_ms(trace, clock.utcnow()) if live else run.duration_ms))
    cols[1].metric("Steps", run.step_count or len(trace.steps))
    cols[2].metric("Tokens in / out", f"{run.input_tokens:,} / {run.output_tokens:,}")
    cols[3].metric("Cost", fmt_cost(run.cost_usd))
    queued_ms = sum(step.duration_ms or 0.0 for step in trace.steps if step.kind == "queue")
    if queued_ms:
        st.caption(f"⏳ Waited {fmt_ms(queued_ms)} in line for a free model slot before the first "
                   "model call (the queue step); model time is apart from it.")
    if run.error_type:
        render_error(run.error_type, run.error_message, run.error_chain)


def render_trace(trace: RunTrace, *, key: str) -> None:
    """Everything below the header; `key` keeps widget ids unique per run."""
    tabs = st.tabs(["Timeline", "Steps", "Messages", "Context sent", "Events", "Agent version"])
    with tabs[0]:
        st.plotly_chart(timeline_figure(trace), width="stretch", key=f"{key}_timeline")
        st.caption(f"Steps took {fmt_ms(trace.steps_duration_ms)} of the run's "
                   f"{fmt_ms(trace.run.duration_ms)}; the rest is the app's own work.")
    with tabs[1]:
        render_steps(trace)
    with tabs[2]:
        render_messages(trace)
    with tabs[3]:
        render_context(trace, key=f"{key}_ctx")
    with tabs[4]:
        if trace.events:
            st.dataframe([{"time": e.created_at, "type": e.type, "actor": f"{e.actor_type} #{e.actor_id}",
                           "data": json.dumps(e.data, ensure_ascii=False)} for e in trace.events],
                         hide_index=True, width="stretch")
        else:
            st.caption("No events for this run.")
    with tabs[5]:
        if trace.agent_config:
            st.json(trace.agent_config)
        else:
            st.caption("The run has no recorded agent version.")
