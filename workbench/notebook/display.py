"""How the notebook face's results show in Jupyter: `_repr_html_` of a RichFrame (a pandas
DataFrame with a title and a line of facts), a ChatResult and an Evaluation, laid out as the
pages show them: status icons, a table, tokens and cost.

Every string shown comes from users, models, tools or documents and is escaped with
`html.escape` (this is HTML, not Markdown: `markup.inert` is for Markdown), so no tag, image,
link or script of theirs renders; the whole block carries `tex2jax_ignore`, so Jupyter's
MathJax typesets no `$...$` of theirs either. No Jupyter import: `_repr_html_` is a plain
method that Jupyter looks for."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

import pandas as pd

STATUS_ICONS = {"ok": "✅", "error": "❌", "running": "⏳", "cancelled": "⏹️", "interrupted": "⚠️",
                "complete": "✅", "failed": "❌", "refused": "⛔", "stopped": "⏹️", "pass": "✅", "fail": "❌",
                "flaky": "🔀", "pending": "⏳", "regressed": "🔻", "improved": "🔺", "became flaky": "🔀",
                "unchanged": "＝", "new": "🆕"}
STATUS_COLUMNS = ("status", "outcome", "state", "change")
MAX_ROWS = 100  # rows shown; the frame keeps them all
MAX_CELL = 400  # characters of a text cell shown; the frame keeps the whole text
# pandas 3's string dtype keeps None as missing; pandas 2's astype(str) would write "None",
# so there a text column stays as pandas built it.
TEXT_DTYPE = "str" if int(pd.__version__.split(".")[0]) >= 3 else None


def fmt_ms(ms: float | None) -> str:
    if ms is None or _missing(ms):
        return "–"
    return f"{ms:,.0f} ms" if ms < 1000 else f"{ms / 1000:,.2f} s"


def fmt_cost(usd: float | None) -> str:
    if usd is None or _missing(usd):
        return "–"
    return f"${usd:,.2f}" if usd >= 1 else f"${usd:.4f}" if usd >= 0.01 else f"${usd:.6f}"


def fmt_rate(rate: float | None) -> str:
    return "–" if rate is None or _missing(rate) else f"{rate:.0%}"


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and dicts are never "missing"
        return False


def escape(value: Any, limit: int | None = MAX_CELL) -> str:
    """`value` as HTML text: shortened to `limit` characters first (never cutting an entity),
    then every <, >, &, " and ' as a character reference."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return html.escape(text, quote=True)


def status_html(status: str | None) -> str:
    if status is None or _missing(status):
        return "–"
    icon = STATUS_ICONS.get(str(status), "")
    return f"{icon} {escape(status)}".strip()


def cell_html(column: str, value: Any) -> str:
    """One cell as the pages show it: durations in ms or s, costs in dollars, statuses with
    their icon, times to the second, text escaped and shortened."""
    if not isinstance(value, (list, dict)) and _missing(value):
        return "–"
    if column in STATUS_COLUMNS or column.endswith("_status"):
        return status_html(value)
    if column.endswith("cost_usd"):
        return fmt_cost(float(value))
    if column == "ms" or column.endswith("_ms"):
        return fmt_ms(float(value))
    if column.endswith("rate") and isinstance(value, float):
        return fmt_rate(value)
    if isinstance(value, (pd.Timestamp, datetime)):
        return escape(f"{value:%Y-%m-%d %H:%M:%S}")
    if isinstance(value, date):
        return escape(f"{value:%Y-%m-%d}")
    if isinstance(value, float):
        return escape(f"{value:,.4g}") if math.isfinite(value) else escape(value)
    return escape(value)


_STYLE = ("<style>.wb-nb table{border-collapse:collapse;font-size:12px}"
          ".wb-nb th,.wb-nb td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;"
          "vertical-align:top;white-space:pre-wrap;max-width:40em}"
          ".wb-nb .wb-facts{color:#666;margin:2px 0 6px}.wb-nb .wb-text{white-space:pre-wrap;margin:4px 0}"
          ".wb-nb .wb-error{color:#b00020}</style>")


def block(title: str | None, facts: Sequence[str] = (), body: str = "") -> str:
    """A titled block: escaped title, a line of escaped facts, then `body` (already HTML)."""
    head = f"<div><b>{escape(title, None)}</b></div>" if title else ""
    line = f"<div class='wb-facts'>{' · '.join(escape(f, None) for f in facts)}</div>" if facts else ""
    return f"{_STYLE}<div class='wb-nb tex2jax_ignore'>{head}{line}{body}</div>"


def table_html(frame: pd.DataFrame, max_rows: int = MAX_ROWS) -> str:
    if frame.empty:
        return "<div class='wb-facts'>(no rows)</div>"
    columns = [str(c) for c in frame.columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    rows = []
    for record in frame.head(max_rows).itertuples(index=False, name=None):
        rows.append("<tr>" + "".join(f"<td>{cell_html(c, v)}</td>" for c, v in zip(columns, record)) + "</tr>")
    more = (f"<div class='wb-facts'>… {len(frame) - max_rows:,} more rows (all of them are in the DataFrame)</div>"
            if len(frame) > max_rows else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


class RichFrame(pd.DataFrame):
    """A DataFrame that shows itself in a notebook as its page does: a title, a line of facts
    (status, tokens, cost) and the rows, every string escaped. `ids` names what it came from
    ({"run": 12}, {"comparison": 3}, ...). Whatever is derived from it (a slice, a copy, a
    sum) is a plain DataFrame: its title and facts describe the whole."""

    _metadata: ClassVar[list[str]] = ["title", "facts", "ids"]

    @property
    def _constructor(self):
        return pd.DataFrame

    def _repr_html_(self) -> str:
        return block(getattr(self, "title", None), getattr(self, "facts", ()), table_html(self))


def rich_frame(rows: list[dict[str, Any]], columns: dict[str, str], *, title: str,
               facts: Sequence[str] = (), ids: dict[str, int] | None = None) -> RichFrame:
    """A RichFrame of `rows` with `columns` ({name: dtype}) in that order, typed the same
    whether there are rows or none: "time" is a UTC timestamp (stored times are naive UTC),
    "text" pandas' string type, any other a pandas dtype name."""
    frame = RichFrame(pd.DataFrame.from_records(rows, columns=list(columns)) if rows
                      else pd.DataFrame({c: [] for c in columns}))
    for name, dtype in columns.items():
        if dtype == "time":
            frame[name] = pd.to_datetime(frame[name], utc=True)
        elif dtype == "text":
            if TEXT_DTYPE:
                frame[name] = frame[name].astype(TEXT_DTYPE)
        else:
            frame[name] = frame[name].astype(dtype)
    frame.title, frame.facts, frame.ids = title, list(facts), dict(ids or {})
    return frame


def tokens_fact(input_tokens: int, output_tokens: int) -> str:
    return f"{input_tokens:,} in / {output_tokens:,} out tokens"


def status_fact(status: str) -> str:
    """A status as a line of facts shows it: its icon, then the word (facts are escaped later)."""
    return f"{STATUS_ICONS.get(status, '')} {status}".strip()


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


@dataclass
class ChatResult:
    """One reply of an agent: what `Workbench.chat` returns once the run has ended."""

    run_id: int | None
    thread_id: int
    agent: str
    status: str
    reply: str
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    duration_ms: float | None = None
    ttft_ms: float | None = None
    tools: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def _repr_html_(self) -> str:
        facts = [status_fact(self.status), f"run #{self.run_id}",
                 f"thread #{self.thread_id}", tokens_fact(self.input_tokens, self.output_tokens),
                 fmt_cost(self.cost_usd), f"took {fmt_ms(self.duration_ms)}", f"first token {fmt_ms(self.ttft_ms)}"]
        if self.tools:
            facts.append("tools: " + ", ".join(self.tools))
        body = f"<div class='wb-text'>{escape(self.reply, None)}</div>"
        if self.error:
            body += f"<div class='wb-error'>{escape(self.error, None)}</div>"
        return block(self.agent, facts, body)


@dataclass
class Evaluation:
    """An experiment run to its end, as the CLI's `eval` prints it: one row per case (passed
    repeats, state, change against the baseline, p50 latency, cost) and the totals."""

    experiment_id: int
    label: str
    status: str
    pass_rate: float | None
    passed_cases: int
    cost_usd: float
    p50_ms: float | None
    p95_ms: float | None
    cases: pd.DataFrame
    baseline_id: int | None = None
    changes: dict[str, int] = field(default_factory=dict)  # regressed / improved / became flaky -> cases
    error: str | None = None

    @property
    def regressed(self) -> bool:
        """A case that passed in the baseline fails now, or the run did not finish (CI's test)."""
        return bool(self.changes.get("regressed")) or self.status != "complete"

    def _repr_html_(self) -> str:
        facts = [status_fact(self.status), f"pass rate {fmt_rate(self.pass_rate)}",
                 f"passed {self.passed_cases}/{len(self.cases)} cases", fmt_cost(self.cost_usd),
                 f"p50 {fmt_ms(self.p50_ms)}", f"p95 {fmt_ms(self.p95_ms)}"]
        if self.baseline_id is not None:
            facts.append(f"vs experiment #{self.baseline_id}: "
                         + ", ".join(f"{n} {kind}" for kind, n in self.changes.items()))
        body = table_html(self.cases)
        if self.error:
            body += f"<div class='wb-error'>stopped: {escape(self.error, None)}</div>"
        return block(f"Experiment #{self.experiment_id}: {self.label}", facts, body)
