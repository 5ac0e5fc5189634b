"""Checks (evaluators): small functions that judge one reply of one case.

A check is a dict, {"type": ..., options}, stored with the case. Each returns a
`CheckResult` with status "pass", "fail" or "error" (the check itself could not run: a bad
pattern, a judge whose provider is down) and a reason a person can read.

| type           | options                        | passes when                                   |
|----------------|--------------------------------|-----------------------------------------------|
| contains       | value                          | the reply contains value (case-insensitive)   |
| not_contains   | value                          | it does not (case-insensitive)                |
| equals         | value                          | the reply, trimmed, equals value              |
| regex          | pattern                        | re.search finds the pattern                   |
| valid_json     | schema (optional)              | the reply is JSON (and valid against schema)  |
| tool_called    | tool, args (optional)          | the run called the tool (with those values)   |
| latency_under  | seconds                        | the run took less than that                   |
| cost_under     | usd                            | the run cost less than that                   |
| judge          | rubric, provider_id?, model?   | an LLM judge answers PASS (with its reason)   |

Without checks, a case with an expected answer passes when the reply contains it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ValidationError

PASS, FAIL, ERROR = "pass", "fail", "error"


@dataclass
class CheckResult:
    name: str
    status: str  # pass | fail | error
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "reason": self.reason}


@dataclass
class Observation:
    """What one run of a case produced, as the checks see it."""

    reply: str
    conversation: list[dict[str, Any]]
    expected: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments": dict}
    latency_s: float | None = None
    cost_usd: float = 0.0


# A judge: (check spec, observation) -> (passed, reason); raises on a provider failure.
Judge = Callable[[dict[str, Any], Observation], tuple[bool, str]]


def _text(spec: dict, key: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field_errors={"checks": f"A {spec.get('type')} check needs a {key}."})
    return value


def _number(spec: dict, key: str) -> float:
    try:
        value = float(spec.get(key))
    except (TypeError, ValueError):
        raise ValidationError(field_errors={"checks": f"A {spec.get('type')} check needs {key} as a number."}) \
            from None
    if value <= 0:
        raise ValidationError(field_errors={"checks": f"{key} must be more than 0."})
    return value


def normalize_check(spec: Any) -> dict[str, Any]:
    """A check spec validated and reduced to its known options; raises ValidationError."""
    if not isinstance(spec, dict) or spec.get("type") not in CHECKS:
        kind = spec.get("type") if isinstance(spec, dict) else spec
        raise ValidationError(field_errors={"checks": f"Unknown check {kind!r}; known: {', '.join(CHECKS)}."})
    kind = spec["type"]
    if kind in ("contains", "not_contains", "equals"):
        return {"type": kind, "value": _text(spec, "value")}
    if kind == "regex":
        pattern = _text(spec, "pattern")
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValidationError(field_errors={"checks": f"Bad regex {pattern!r}: {err}."}) from None
        return {"type": kind, "pattern": pattern}
    if kind == "valid_json":
        schema = spec.get("schema")
        if isinstance(schema, str) and schema.strip():
            try:
                schema = json.loads(schema)
            except ValueError:
                raise ValidationError(field_errors={"checks": "The JSON Schema is not JSON."}) from None
        if schema:
            from jsonschema import Draft202012Validator, SchemaError

            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as err:
                raise ValidationError(field_errors={"checks": f"Not a JSON Schema: {err.message}"}) from None
            return {"type": kind, "schema": schema}
        return {"type": kind}
    if kind == "tool_called":
        args = spec.get("args") or {}
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                raise ValidationError(field_errors={"checks": "tool_called args must be a JSON object."}) from None
        if not isinstance(args, dict):
            raise ValidationError(field_errors={"checks": "tool_called args must be a JSON object."})
        return {"type": kind, "tool": _text(spec, "tool"), **({"args": args} if args else {})}
    if kind == "latency_under":
        return {"type": kind, "seconds": _number(spec, "seconds")}
    if kind == "cost_under":
        return {"type": kind, "usd": _number(spec, "usd")}
    out = {"type": kind, "rubric": _text(spec, "rubric")}  # judge
    if spec.get("provider_id") not in (None, ""):
        out["provider_id"] = int(spec["provider_id"])
    if spec.get("model"):
        out["model"] = str(spec["model"])
    return out


def label(spec: dict[str, Any]) -> str:
    """A short name for a check, as tables show it."""
    kind = spec["type"]
    detail = {"contains": lambda: repr(spec["value"]), "not_contains": lambda: repr(spec["value"]),
              "equals": lambda: repr(spec["value"]), "regex": lambda: f"/{spec['pattern']}/",
              "valid_json": lambda: "with schema" if spec.get("schema") else "",
              "tool_called": lambda: spec["tool"] + (f" {json.dumps(spec['args'])}" if spec.get("args") else ""),
              "latency_under": lambda: f"{spec['seconds']:g} s", "cost_under": lambda: f"${spec['usd']:g}",
              "judge": lambda: repr(spec["rubric"][:40])}[kind]()
    return f"{kind} {detail}".strip()


# --- the checks ------------------------------------------------------------------------

def contains(spec, obs: Observation) -> tuple[str, str]:
    found = spec["value"].casefold() in obs.reply.casefold()
    return (PASS, "found in the reply") if found else (FAIL, f"{spec['value']!r} is not in the reply")


def not_contains(spec, obs: Observation) -> tuple[str, str]:
    found = spec["value"].casefold() in obs.reply.casefold()
    return (FAIL, f"{spec['value']!r} is in the reply") if found else (PASS, "not in the reply")


def equals(spec, obs: Observation) -> tuple[str, str]:
    same = obs.reply.strip() == spec["value"].strip()
    return (PASS, "equal") if same else (FAIL, f"the reply is not exactly {spec['value']!r}")


def regex(spec, obs: Observation) -> tuple[str, str]:
    match = re.search(spec["pattern"], obs.reply)
    return (PASS, f"matched {match.group(0)[:60]!r}") if match else (FAIL, "no match in the reply")


def valid_json(spec, obs: Observation) -> tuple[str, str]:
    text = obs.reply.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.S)  # models often fence JSON
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except ValueError as err:
        return FAIL, f"not JSON: {err}"
    if spec.get("schema"):
        from jsonschema import Draft202012Validator

        errors = sorted(Draft202012Validator(spec["schema"]).iter_errors(value), key=lambda e: list(e.path))
        if errors:
            where = "/".join(map(str, errors[0].path)) or "(root)"
            return FAIL, f"against the schema at {where}: {errors[0].message}"
        return PASS, "JSON, valid against the schema"
    return PASS, "valid JSON"


def tool_called(spec, obs: Observation) -> tuple[str, str]:
    calls = [c for c in obs.tool_calls if c.get("name") == spec["tool"]]
    if not calls:
        named = ", ".join(sorted({c.get("name", "?") for c in obs.tool_calls})) or "none"
        return FAIL, f"{spec['tool']} was not called (called: {named})"
    wanted = spec.get("args") or {}
    for c in calls:
        args = c.get("arguments") or {}
        if all(_same(args.get(k), v) for k, v in wanted.items()):
            return PASS, f"called {spec['tool']}" + (" with those values" if wanted else "")
    return FAIL, f"{spec['tool']} was called with {json.dumps(calls[-1].get('arguments'))[:120]}"


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, str) and isinstance(want, str):
        return got.strip().casefold() == want.strip().casefold()
    return got == want


def latency_under(spec, obs: Observation) -> tuple[str, str]:
    if obs.latency_s is None:
        return ERROR, "the run's duration is not known"
    ok = obs.latency_s < spec["seconds"]
    return (PASS if ok else FAIL), f"took {obs.latency_s:.2f} s (limit {spec['seconds']:g} s)"


def cost_under(spec, obs: Observation) -> tuple[str, str]:
    ok = obs.cost_usd < spec["usd"]
    return (PASS if ok else FAIL), f"cost ${obs.cost_usd:.6f} (limit ${spec['usd']:g})"


CHECKS: dict[str, Callable[..., tuple[str, str]] | None] = {
    "contains": contains, "not_contains": not_contains, "equals": equals, "regex": regex,
    "valid_json": valid_json, "tool_called": tool_called, "latency_under": latency_under,
    "cost_under": cost_under, "judge": None,  # needs a provider: see evaluate(judge=...)
}


def evaluate(checks: list[dict[str, Any]], obs: Observation, judge: Judge | None = None) -> list[CheckResult]:
    """Run every check on one observation. No checks and an expected answer: "contains"."""
    specs = list(checks) or ([{"type": "contains", "value": obs.expected}] if obs.expected else [])
    results = []
    for spec in specs:
        name = label(spec)
        try:
            if spec["type"] == "judge":
                if judge is None:
                    raise RuntimeError("no judge is available here")
                passed, reason = judge(spec, obs)
                status = PASS if passed else FAIL
            else:
                status, reason = CHECKS[spec["type"]](spec, obs)
        except Exception as err:  # noqa: BLE001 - a check that cannot run is reported, not raised
            status, reason = ERROR, f"check failed to run: {getattr(err, 'user_message', None) or err}"
        results.append(CheckResult(name, status, reason))
    return results


def outcome(results: list[CheckResult]) -> str:
    """fail if any check failed; else error if any could not run; else pass."""
    statuses = {r.status for r in results}
    return FAIL if FAIL in statuses else ERROR if ERROR in statuses else PASS


# --- the LLM judge's verdict -------------------------------------------------------------

JUDGE_SYSTEM = ("You are a strict evaluator of an AI assistant's reply. Read the rubric, the "
                "conversation and the reply. Answer with exactly one word on the first line, PASS "
                "or FAIL, then one short sentence giving the reason.")

_VERDICT = re.compile(r"\b(PASS(?:ED|ES)?|FAIL(?:ED|S)?)\b", re.I)


def judge_messages(spec: dict[str, Any], obs: Observation) -> list[dict[str, str]]:
    convo = "\n".join(f"{m['role']}: {m['content']}" for m in obs.conversation if m.get("role") != "system")
    user = (f"Rubric:\n{spec['rubric']}\n\nConversation:\n{convo}\n\nReply to judge:\n{obs.reply}\n\n"
            + (f"Expected answer (for reference):\n{obs.expected}\n\n" if obs.expected else "")
            + "Verdict (PASS or FAIL) and reason:")
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def parse_verdict(text: str) -> tuple[bool, str]:
    """(passed, reason) from a judge's answer; the first PASS/FAIL word decides. Raises
    ValueError when there is none (the check then failed to run, it did not fail)."""
    match = _VERDICT.search(text or "")
    if match is None:
        raise ValueError(f"the judge gave no PASS or FAIL verdict: {text.strip()[:120]!r}")
    passed = match.group(1).upper().startswith("PASS")
    rest = text[match.end():].lstrip(" \n:.-*").strip().strip("*").strip()
    reason = (rest or text.strip()).splitlines()[0][:300]
    return passed, reason or ("passed" if passed else "failed")
