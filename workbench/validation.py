"""Checks the services' validate functions share: each reports a bad field as a message in
`errors` (field name -> message) and returns a usable value so the others are checked too;
and the note a saved version carries (agents and tools alike)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import ValidationError


def checked_number(values: dict[str, Any], key: str, errors: dict[str, str], lo: float, hi: float, default: Any,
                   cast: Callable[[Any], Any] = float, *, blank_is_default: bool = False) -> Any:
    """values[key] as a number from lo to hi (missing: default; blank too if `blank_is_default`)."""
    raw = values.get(key, default)
    if blank_is_default and (raw is None or raw == ""):
        return default
    try:
        value = cast(raw)
    except (TypeError, ValueError):
        errors[key] = f"Must be a number from {lo} to {hi}."
        return default
    if not lo <= value <= hi:
        errors[key] = f"Must be from {lo} to {hi}."
    return value


MAX_NOTE_CHARS = 500


def clean_note(note: str | None) -> str | None:
    """A version's note, whitespace collapsed; None when empty."""
    text = " ".join(str(note or "").split())
    if len(text) > MAX_NOTE_CHARS:
        raise ValidationError(field_errors={"note": f"At most {MAX_NOTE_CHARS} characters."})
    return text or None
