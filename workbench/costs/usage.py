"""Token and cost records: one per model call, written by the run loop. The cost is
computed with the price in force at the call and stored with it; aggregations live in
`reports`."""

from __future__ import annotations

from sqlalchemy.orm import Session, make_transient_to_detached

from ..db import insert_row
from ..models import UsageRecord, utcnow
from ..providers.base import Usage
from .budget import note_spend
from .pricing import compute_cost


def record_model_call(s: Session, *, group_id: int, provider: str, model: str, usage: Usage,
                      duration_ms: float, ttft_ms: float | None, agent_id: int | None = None,
                      thread_id: int | None = None, run_id: int | None = None,
                      person_id: int | None = None) -> UsageRecord:
    """Store one model call. `usage.estimated` says the provider sent no usage and the
    tokens were counted locally. Writes the month's budget warning when this call takes
    the group past 80 % of its budget."""
    now = utcnow()
    cost = compute_cost(s, provider, model, usage, now)
    values = dict(group_id=group_id, agent_id=agent_id, thread_id=thread_id, run_id=run_id,
                  person_id=person_id, provider=provider, model=model,
                  input_tokens=max(0, usage.input_tokens), output_tokens=max(0, usage.output_tokens),
                  cached_input_tokens=max(0, usage.cached_input_tokens),
                  reasoning_tokens=max(0, usage.reasoning_tokens), estimated=usage.estimated,
                  cost_usd=cost.usd, price_id=cost.price_id, price_is_default=cost.is_default,
                  duration_ms=duration_ms, ttft_ms=ttft_ms, created_at=now)
    # A plain INSERT (every model call writes one), the row returned as a detached copy.
    rec = UsageRecord(id=insert_row(s, UsageRecord, **values), **values)
    make_transient_to_detached(rec)
    if cost.usd > 0:
        note_spend(s, group_id, now, added_usd=cost.usd)
    return rec
