"""`{{name}}` placeholders filled with a tool call's arguments. One pass of a regular
expression, no expressions, no code: an inserted value is never read as a template again."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")


def placeholders(template: str) -> list[str]:
    """The argument names a template uses, in order, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template or "")))


def as_text(value: Any) -> str:
    """An argument as it is inserted: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render(template: str, arguments: dict[str, Any], encode: Callable[[str], str] | None = None) -> str:
    """The template with each placeholder replaced by its argument (missing: empty)."""
    def fill(match: re.Match) -> str:
        text = as_text(arguments.get(match.group(1)))
        return encode(text) if encode else text

    return PLACEHOLDER.sub(fill, template or "")
