"""Test sets in and out of files: CSV and JSONL.

Columns (CSV) or keys (JSONL): `input` (text; or a JSON list of {role, content} turns for
a short conversation), `expected` (optional), optional `key` (kept across versions), and
optional check columns, one check each: contains, not_contains, equals, regex, valid_json
("yes", or a JSON Schema), tool_called (a tool name; `tool_args` a JSON object of argument
values), latency_under (seconds), cost_under (USD), judge (a rubric; `judge_model`), and
`checks` (a JSON list of full check specs). Every bad row is reported by line with the
reason, and then nothing is imported."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlalchemy import select

from .. import events
from ..db import session_scope
from ..errors import ValidationError
from ..models import TestSet
from ..tenancy.access import require_access
from .testsets import (TestSetView, _clean_name, _view, get_test_set, latest_version, normalize_case,
                       save_version_in_session)

CHECK_COLUMNS = ("contains", "not_contains", "equals", "regex", "valid_json", "tool_called", "latency_under",
                 "cost_under", "judge")
KNOWN = {"key", "input", "expected", "checks", "tool_args", "judge_model", *CHECK_COLUMNS}
MAX_FILE_BYTES = 20 * 1024 * 1024


class ImportRejected(ValidationError):
    """Bad rows; `problems` lists "line N: reason" for each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n".join(problems[:20]) + (f"\n… and {len(problems) - 20} more" if len(problems) > 20 else "")
        super().__init__(f"Nothing was imported; fix these rows:\n{shown}")


def _row_to_case(row: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(k for k in row if k not in KNOWN and k is not None)
    if unknown:
        raise ValueError(f"unknown column {', '.join(unknown)}")
    value = row.get("input")
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            pass  # plain text that starts with a bracket
    checks = row.get("checks") or []
    if isinstance(checks, str):
        try:
            checks = json.loads(checks)
        except ValueError as err:
            raise ValueError(f"checks is not JSON ({err})") from None
    checks = list(checks) if isinstance(checks, list) else [checks]
    for column in CHECK_COLUMNS:
        cell = row.get(column)
        if cell in (None, "") or (isinstance(cell, str) and not cell.strip()):
            continue
        if column == "valid_json":
            truthy = str(cell).strip().lower() in ("yes", "true", "1", "y")
            checks.append({"type": column} if truthy or cell is True else {"type": column, "schema": cell})
        elif column == "tool_called":
            checks.append({"type": column, "tool": cell, "args": row.get("tool_args") or {}})
        elif column == "latency_under":
            checks.append({"type": column, "seconds": cell})
        elif column == "cost_under":
            checks.append({"type": column, "usd": cell})
        elif column == "regex":
            checks.append({"type": column, "pattern": cell})
        elif column == "judge":
            checks.append({"type": column, "rubric": cell, "model": row.get("judge_model") or None})
        else:
            checks.append({"type": column, "value": cell})
    return {"key": row.get("key") or None, "input": value, "expected": row.get("expected"), "checks": checks}


def _reason(err: Exception) -> str:
    if isinstance(err, ValidationError):
        return "; ".join(err.field_errors.values()) if err.field_errors else err.user_message
    return str(err)


def parse_cases(data: bytes | str, filename: str) -> list[dict[str, Any]]:
    """Cases from a CSV or JSONL file's content; raises ImportRejected listing bad lines."""
    if isinstance(data, bytes):
        if len(data) > MAX_FILE_BYTES:
            raise ValidationError(f"The file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB.")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRejected(["line 1: the file is not UTF-8 text"]) from None
    kind = filename.lower().rsplit(".", 1)[-1]
    rows: list[tuple[int, Any]] = []
    problems: list[str] = []
    if kind in ("jsonl", "ndjson", "json"):
        for n, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as err:
                problems.append(f"line {n}: not JSON ({err.msg})")
                continue
            rows.append((n, obj) if isinstance(obj, dict) else (n, None))
    elif kind == "csv":
        reader = csv.DictReader(io.StringIO(data, newline=""))
        if not reader.fieldnames or "input" not in [f.strip() for f in reader.fieldnames]:
            raise ImportRejected(["line 1: the header has no `input` column"])
        try:
            for row in reader:
                extra = row.pop(None, None)
                cleaned = {k.strip(): v for k, v in row.items() if k}
                rows.append((reader.line_num, {**cleaned, "__extra": extra} if extra else cleaned))
        except csv.Error as err:
            problems.append(f"line {reader.line_num}: {err}")
    else:
        raise ValidationError(f"{filename}: import a .csv or .jsonl file.")
    cases = []
    for n, row in rows:
        try:
            if row is None:
                raise ValueError("each line must be a JSON object")
            if row.pop("__extra", None):
                raise ValueError("more cells than the header has columns")
            cases.append(normalize_case(_row_to_case(row)))
        except (ValueError, ValidationError) as err:
            problems.append(f"line {n}: {_reason(err)}")
    if problems:
        raise ImportRejected(problems)
    if not cases:
        raise ImportRejected(["line 1: the file has no cases"])
    return cases


def import_test_set(actor_id: int, group_id: int, name: str, data: bytes | str, filename: str,
                    description: str = "") -> TestSetView:
    """Create the named test set from a file, or save its cases as a new version when it
    exists. Cases without a key keep the key of the existing case with the same input."""
    cases = parse_cases(data, filename)
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")
        ts = s.scalar(select(TestSet).where(TestSet.group_id == group_id, TestSet.name == (name or "").strip()))
        if ts is None:
            ts = TestSet(group_id=group_id, name=_clean_name(s, group_id, name), description=description,
                         created_by=actor_id)
            s.add(ts)
            s.flush()
        else:
            known = {json.dumps(c["input"], sort_keys=True): c["key"] for c in latest_version(s, ts.id).cases}
            taken = {c["key"] for c in cases}
            for c in cases:
                old = known.get(json.dumps(c["input"], sort_keys=True))
                if old and old not in taken:
                    c["key"] = old
                    taken.add(old)
        version = save_version_in_session(s, ts, actor_id, cases, f"imported from {filename}"[:500])
        events.record(s, "test_set_imported", group_id=group_id, actor_id=actor_id, target_type="test_set",
                      target_id=ts.id, data={"file": filename[:200], "cases": len(cases), "version": version.version})
        return _view(ts, version)


def export_cases(cases: list[dict[str, Any]], filename: str) -> str:
    """The cases as CSV or JSONL text (by the file name), re-importable as they are."""
    kind = filename.lower().rsplit(".", 1)[-1]
    if kind in ("jsonl", "ndjson", "json"):
        return "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
    if kind != "csv":
        raise ValidationError(f"{filename}: export to a .csv or .jsonl file.")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["key", "input", "expected", "checks"], lineterminator="\n")
    writer.writeheader()
    for c in cases:
        writer.writerow({"key": c["key"], "input": c["input"] if isinstance(c["input"], str)
                         else json.dumps(c["input"], ensure_ascii=False), "expected": c.get("expected") or "",
                         "checks": json.dumps(c.get("checks") or []) if c.get("checks") else ""})
    return out.getvalue()


def export_test_set(actor_id: int, test_set_id: int, filename: str, version: int | None = None) -> str:
    """A test set version (the latest by default) as CSV or JSONL text."""
    return export_cases(get_test_set(actor_id, test_set_id, version).cases, filename)
