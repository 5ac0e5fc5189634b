"""Tools (placeholder face, rewritten below)."""

from . import builtin, search_knowledge  # noqa: F401 - each registers its built-in tools
