"""Exports of traces: one run as JSON that reads back into the same RunTrace
(`load_run_export`), and a filtered run list as CSV or JSON, read through `traces`."""

from __future__ import annotations

import csv
import io
import json
import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from datetime import datetime
from typing import Any

from ..errors import ValidationError
from .traces import MessageView, RunFilters, RunRow, RunTrace, StepView, TraceEvent, get_run_trace, list_runs

FORMAT = "agent-workbench/run-trace"
VERSION = 1
EXPORT_MAX_RUNS = 50_000
_BATCH = 500


# --- one run -----------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def trace_to_dict(trace: RunTrace) -> dict[str, Any]:
    """The trace as JSON-ready data, under a format header."""
    return {"format": FORMAT, "version": VERSION, **_jsonable(trace)}


def export_run_json(actor_id: int, run_id: int) -> str:
    """One run's full trace as JSON text (see `load_run_export`)."""
    return json.dumps(trace_to_dict(get_run_trace(actor_id, run_id)), ensure_ascii=False,
                      indent=1)


def _is_datetime_field(cls, name: str) -> bool:
    hint = typing.get_type_hints(cls)[name]
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return datetime in args


def _build(cls, data: Any, where: str):
    if not isinstance(data, dict):
        raise ValidationError(field_errors={"file": f"{where} is not an object."})
    values = {}
    for f in fields(cls):
        if f.name not in data and f.default is not MISSING:
            continue  # a field added since the export was written: its default
        if f.name not in data:
            raise ValidationError(field_errors={"file": f"{where} has no {f.name!r}."})
        value = data[f.name]
        if value is not None and _is_datetime_field(cls, f.name):
            try:
                value = datetime.fromisoformat(value)
            except (TypeError, ValueError) as exc:
                raise ValidationError(field_errors={
                    "file": f"{where}.{f.name} is not a date-time."}) from exc
        values[f.name] = value
    return cls(**values)


def load_run_export(data: str | bytes | dict[str, Any]) -> RunTrace:
    """Read an exported run (text or parsed JSON) back into a RunTrace."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ValidationError(field_errors={"file": "This is not JSON."}) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValidationError(field_errors={"file": "This is not an exported run trace."})
    if data.get("version") != VERSION:
        raise ValidationError(field_errors={"file": f"Unknown export version {data.get('version')!r}."})

    def many(cls, key):
        items = data.get(key)
        if not isinstance(items, list):
            raise ValidationError(field_errors={"file": f"{key!r} is not a list."})
        return [_build(cls, item, f"{key}[{n}]") for n, item in enumerate(items)]

    return RunTrace(run=_build(RunRow, data.get("run"), "run"),
                    agent_config=data.get("agent_config"), steps=many(StepView, "steps"),
                    messages=many(MessageView, "messages"), events=many(TraceEvent, "events"))


# --- run lists ---------------------------------------------------------------------------

RUN_COLUMNS = ["id", "started_at", "ended_at", "status", "agent_id", "agent_name",
               "agent_version", "thread_id", "thread_title", "person_id", "person_name",
               "duration_ms", "step_count", "input_tokens", "output_tokens", "cost_usd", "tools",
               "error_type", "error_message", "api_key_name"]


def _iter_runs(actor_id: int, group_id: int, filters: RunFilters | None, sort: str,
               descending: bool, max_rows: int):
    offset = 0
    while offset < max_rows:
        page = list_runs(actor_id, group_id, filters, sort=sort, descending=descending,
                         limit=min(_BATCH, max_rows - offset), offset=offset)
        yield from page.rows
        offset += len(page.rows)
        if not page.rows or not page.has_next:
            return


def _flat(row: RunRow) -> dict[str, Any]:
    d = _jsonable(row)
    d["tools"] = ",".join(row.tools)
    return {c: d[c] for c in RUN_COLUMNS}


def export_runs_csv(actor_id: int, group_id: int, filters: RunFilters | None = None, *,
                    sort: str = "started_at", descending: bool = True,
                    max_rows: int = EXPORT_MAX_RUNS) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RUN_COLUMNS)
    writer.writeheader()
    for row in _iter_runs(actor_id, group_id, filters, sort, descending, max_rows):
        writer.writerow({k: ("" if v is None else v) for k, v in _flat(row).items()})
    return buf.getvalue()


def export_runs_json(actor_id: int, group_id: int, filters: RunFilters | None = None, *,
                     sort: str = "started_at", descending: bool = True,
                     max_rows: int = EXPORT_MAX_RUNS) -> str:
    """The filtered runs with every field (errors with their cause chain, tools as a list)."""
    runs = [_jsonable(r) for r in _iter_runs(actor_id, group_id, filters, sort, descending,
                                             max_rows)]
    return json.dumps({"group_id": group_id, "count": len(runs), "runs": runs},
                      ensure_ascii=False, indent=1)
