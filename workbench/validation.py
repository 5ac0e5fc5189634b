"""Checks the services' validate functions share: each reports a bad field as a message in
`errors` (field name -> message) and returns a usable value so the others are checked too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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
