"""The playground: variants (an agent at a version plus unsaved edits) run side by side on
the same input, any traced model call reopened and rerun, threads replayed on another
version or model. Every run here is an ordinary run: traced, priced, under the group's
budget and rate limits."""

from .compare import (MAX_VARIANTS, MIN_VARIANTS, ColumnView, ComparisonNotFound, ComparisonView,
                      LiveComparison, get_comparison, list_comparisons, mark_best, rerun_comparison,
                      save_column_as_version, start_comparison, stop_column)
from .from_trace import StepDraft, StepNotFound, open_step, rerun_step
from .replay import ReplayView, TurnPair, TurnResult, compare_replay, replay_source, replay_thread
from .variants import (OVERRIDABLE, Variant, VariantResult, clean_conversation, parse_variant, run_variant,
                       start_variant)

__all__ = [
    "MAX_VARIANTS", "MIN_VARIANTS", "OVERRIDABLE", "ColumnView", "ComparisonNotFound", "ComparisonView",
    "LiveComparison", "ReplayView", "StepDraft", "StepNotFound", "TurnPair", "TurnResult", "Variant",
    "VariantResult", "clean_conversation", "compare_replay", "get_comparison", "list_comparisons",
    "mark_best", "open_step", "parse_variant", "replay_source", "replay_thread", "rerun_comparison",
    "rerun_step", "run_variant", "save_column_as_version", "start_comparison", "start_variant",
    "stop_column",
]
