"""Streamlit helpers of the Experiments page, and the small "Add to test set" popover that
chat messages and traces show."""

from __future__ import annotations

import json

import streamlit as st

from ui.common import show_error
from ui.links import trace_link
from workbench import experiments
from workbench.errors import ValidationError, WorkbenchError

STATE_ICONS = {"pass": "✅", "fail": "❌", "flaky": "🔀", "error": "⚠️", "pending": "⏳"}
CHANGE_ICONS = {"regressed": "🔻", "improved": "🔺", "became flaky": "🔀", "unchanged": "＝", "new": "🆕",
                "error": "⚠️"}


def fmt_ms(ms) -> str:
    return "–" if ms is None else f"{ms:,.0f} ms"


def fmt_rate(rate) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def input_text(value) -> str:
    """A case input for a table cell: the text, or the turns of a short conversation."""
    if isinstance(value, str):
        return value
    return " ⏎ ".join(f"{t['role']}: {t['content']}" for t in value)


def add_to_test_set(*, key: str, run_id: int | None = None, message_id: int | None = None) -> None:
    """A popover that adds a chat message's or a run's input (and optionally its reply, as
    the expected answer) to one of the group's test sets."""
    person, group = st.session_state.get("person_id"), st.session_state.get("group_id")
    if not person or not group:
        return
    with st.popover("Add to test set", icon=":material/playlist_add:"):
        try:
            sets = experiments.list_test_sets(person, group)
        except WorkbenchError as err:
            show_error(err)
            return
        names = {s.id: s.name for s in sets}
        new = "+ New test set"
        choice = st.selectbox("Test set", [*names, new], format_func=lambda i: names.get(i, new),
                              key=f"{key}_set")
        new_name = st.text_input("Name", key=f"{key}_name") if choice == new else None
        with_reply = st.checkbox("Use the reply as the expected answer", value=True, key=f"{key}_reply")
        if st.button("Add", key=f"{key}_add", type="primary"):
            try:
                draft = (experiments.case_from_run(person, run_id, with_reply) if run_id else
                         experiments.case_from_message(person, message_id, with_reply))
                if choice == new:
                    view = experiments.create_test_set(person, group, new_name or "", cases=[draft])
                else:
                    view = experiments.add_case(person, choice, draft)
                st.success(f"Added to {view.name!r} (v{view.version}, {len(view.cases)} cases).")
            except WorkbenchError as err:
                show_error(err)


def cases_table(cases: list[dict]) -> list[dict]:
    """Rows for the case editor: input and checks as text (JSON for conversations)."""
    return [{"key": c["key"], "input": c["input"] if isinstance(c["input"], str) else json.dumps(c["input"]),
             "expected": c.get("expected") or "", "checks": json.dumps(c["checks"]) if c.get("checks") else ""}
            for c in cases]


def cases_from_table(rows: list[dict]) -> list[dict]:
    """The editor's rows back to cases; a bad row raises a ValidationError naming it."""
    out = []
    for n, row in enumerate(rows, 1):
        raw = (row.get("input") or "").strip()
        if not raw and not (row.get("expected") or "").strip():
            continue  # an empty new row
        value = raw
        if raw.startswith("["):
            try:
                value = json.loads(raw)
            except ValueError:
                pass
        try:
            checks = json.loads(row["checks"]) if (row.get("checks") or "").strip() else []
        except ValueError:
            raise ValidationError(f"Row {n}: checks must be a JSON list, e.g. "
                                  '[{"type": "contains", "value": "Paris"}].') from None
        out.append({"key": row.get("key") or None, "input": value, "expected": row.get("expected") or None,
                    "checks": checks})
    return out


def compare_from_url(person_id: int) -> None:
    """A link like ?compare=BASELINE,CANDIDATE (once per URL): the Compare tab on those two
    experiments of one test set."""
    raw = st.query_params.get("compare") or ""
    if not raw or st.session_state.get("ex_cmp_url") == raw:
        return
    st.session_state["ex_cmp_url"] = raw
    try:
        baseline, candidate = (int(x) for x in raw.split(","))
        test_set = experiments.get_experiment(person_id, baseline).test_set_id
        if experiments.get_experiment(person_id, candidate).test_set_id != test_set:
            raise ValidationError("These two experiments ran on different test sets.")
    except ValueError:
        st.error("A comparison link names two experiments: ?compare=BASELINE,CANDIDATE.")
        return
    except WorkbenchError as err:
        show_error(err)
        return
    st.session_state.update({"ex_cmp_set": test_set, "ex_cmp_base": baseline, "ex_cmp_cand": candidate,
                             "tab": "Compare"})


def render_summary(view) -> None:
    cols = st.columns(5)
    cols[0].metric("Cases passed", f"{view.passed_cases}/{len(view.cases)}")
    cols[1].metric("Pass rate (all repeats)", fmt_rate(view.pass_rate))
    cols[2].metric("Cost", f"${view.cost_usd:.6f}")
    cols[3].metric("p50 latency", fmt_ms(view.latency_ms(50)))
    cols[4].metric("p95 latency", fmt_ms(view.latency_ms(95)))


def render_results(view) -> None:
    """The per-case table, then each case's replies, checks and trace links."""
    rows = []
    for c in view.cases:
        lat = sorted(a.latency_ms for a in c.attempts if a.latency_ms is not None)
        rows.append({"#": c.index + 1, "state": f"{STATE_ICONS[c.state]} {c.state}",
                     "passed": f"{sum(a.outcome == 'pass' for a in c.attempts)}/{len(c.attempts)}",
                     "input": input_text(c.input)[:120], "expected": c.expected or "",
                     "tokens": sum(a.input_tokens + a.output_tokens for a in c.attempts),
                     "cost $": round(sum(a.cost_usd for a in c.attempts), 6),
                     "p50 ms": round(lat[len(lat) // 2]) if lat else None})
    st.dataframe(rows, hide_index=True, width="stretch")
    for c in view.cases:
        if not c.attempts:
            continue
        with st.expander(f"{STATE_ICONS[c.state]} Case {c.index + 1}: {input_text(c.input)[:80]}"):
            for a in c.attempts:
                st.markdown(f"**Repeat {a.repeat + 1}** · {STATE_ICONS.get(a.outcome, '')} {a.outcome} · "
                            f"{fmt_ms(a.latency_ms)} · {a.input_tokens:,} → {a.output_tokens:,} tokens · "
                            f"${a.cost_usd:.6f}")
                st.text(a.reply or "(no reply)")
                for check in a.checks:
                    icon = STATE_ICONS.get(check["status"], "")
                    label = "check failed to run" if check["status"] == "error" else check["status"]
                    st.caption(f"{icon} {check['name']}: {label} — {check['reason']}")
                if a.run_id:
                    trace_link(a.run_id)


def render_comparison(report) -> None:
    b, c = report.baseline, report.candidate
    cols = st.columns(4)
    cols[0].metric("Pass rate", fmt_rate(c.pass_rate), None if report.pass_rate_delta is None
                   else f"{report.pass_rate_delta:+.0%}")
    cost_delta = report.cost_delta_usd
    cols[1].metric("Cost", f"${c.cost_usd:.6f}", f"{cost_delta:+.6f}" if abs(cost_delta) > 1e-9 else None,
                   delta_color="inverse")
    d50 = report.latency_delta_ms(50)
    cols[2].metric("p50 latency", fmt_ms(c.latency_ms(50)), None if d50 is None else f"{d50:+,.0f} ms",
                   delta_color="inverse")
    d95 = report.latency_delta_ms(95)
    cols[3].metric("p95 latency", fmt_ms(c.latency_ms(95)), None if d95 is None else f"{d95:+,.0f} ms",
                   delta_color="inverse")
    counts = {k: len(report.of(k)) for k in ("regressed", "improved", "became flaky")}
    st.markdown(" · ".join(f"{CHANGE_ICONS[k]} **{n}** {k}" for k, n in counts.items()))
    order = {"regressed": 0, "became flaky": 1, "improved": 2, "error": 3, "new": 4, "unchanged": 5}
    for case in sorted(report.cases, key=lambda x: order.get(x.change, 9)):
        title = f"{CHANGE_ICONS.get(case.change, '')} {case.change}: {input_text(case.input)[:90]}"
        with st.expander(title, expanded=case.change == "regressed"):
            left, right = st.columns(2)
            for col, side, exp in ((left, case.baseline, b), (right, case.candidate, c)):
                with col:
                    st.caption(f"#{exp.id} {exp.label}")
                    if side is None:
                        st.caption("(not in this experiment)")
                        continue
                    st.markdown(f"{STATE_ICONS[side.state]} {side.state} · pass rate {fmt_rate(side.pass_rate)}")
                    for a in side.attempts:
                        st.text(a.reply or "(no reply)")
                        failed = [ch for ch in a.checks if ch["status"] != "pass"]
                        for ch in failed:
                            st.caption(f"{STATE_ICONS.get(ch['status'], '')} {ch['name']}: {ch['reason']}")
