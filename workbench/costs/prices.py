"""The price table as a service: list, add a price effective from a date, and re-price a
period of stored usage.

Prices are shared by every group (a model costs what its vendor charges), so changing
them is for workbench administrators (Person.is_admin); every member can read them.
A new price is always a new row: the old one stays in force for its dates. Effective dates
are UTC days, whatever a group's time zone: prices are shared by every group."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Float, case, cast, func, literal, select, update
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import AccessDenied, ConflictError, ValidationError
from ..models import Group, Person, Price, Run, UsageRecord, utcnow
from ..providers.presets import PRESETS
from ..tenancy.access import require_access
from .budget import forget_spend, note_spend
from .pricing import DEFAULT_MODEL, SEED_PRICES, rates, resolve_price
from .reports import comparable_groups

_PROVIDER_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,79}$")
MAX_RATE = 100_000.0  # USD per million tokens; anything above is a typo


@dataclass(frozen=True)
class PriceRow:
    id: int
    provider: str
    model: str
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None
    reasoning_per_mtok: float | None
    effective_from: date
    status: str  # in force | superseded | scheduled
    created_at: datetime

    @property
    def is_default(self) -> bool:
        return self.model == DEFAULT_MODEL


def is_admin(actor_id: int) -> bool:
    with session_scope() as s:
        person = s.get(Person, actor_id)
        return bool(person and person.is_admin)


def _require_admin(s: Session, actor_id: int, what: str) -> None:
    person = s.get(Person, actor_id)
    if person is None or not person.is_admin:
        raise AccessDenied(f"Only a workbench administrator can {what}.")


def list_prices(actor_id: int, group_id: int, *, search: str = "",
                include_history: bool = True, today: date | None = None) -> list[PriceRow]:
    """Every price, newest first per provider and model, with whether it is in force."""
    today = today or utcnow().date()
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        stmt = select(Price).order_by(Price.provider, Price.model, Price.effective_from.desc(),
                                      Price.id.desc())
        needle = (search or "").strip().lower()
        if needle:
            stmt = stmt.where(func.lower(Price.provider + "/" + Price.model).contains(needle))
        rows, seen_current = [], set()
        for p in s.scalars(stmt):
            key = (p.provider, p.model)
            if p.effective_from > today:
                status = "scheduled"
            elif key in seen_current:
                status = "superseded"
            else:
                status = "in force"
                seen_current.add(key)
            if status == "superseded" and not include_history:
                continue
            rows.append(PriceRow(p.id, p.provider, p.model, p.input_per_mtok, p.output_per_mtok,
                                 p.cached_input_per_mtok, p.reasoning_per_mtok, p.effective_from,
                                 status, p.created_at))
        return rows


def known_providers(actor_id: int, group_id: int) -> list[str]:
    """Provider keys for the add-price form: presets, seeds and any priced provider."""
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        priced = set(s.scalars(select(Price.provider).distinct()))
    return sorted(priced | set(PRESETS) | {p for p, *_ in SEED_PRICES})


def _rate(value, field: str, errors: dict, *, optional: bool) -> float | None:
    if value is None or value == "":
        if not optional:
            errors[field] = "Enter a price in USD per million tokens."
        return None
    try:
        num = float(value)
    except (TypeError, ValueError):
        errors[field] = "Enter a number (USD per million tokens)."
        return None
    if not math.isfinite(num) or num < 0:
        errors[field] = "Must be zero or more."
    elif num > MAX_RATE:
        errors[field] = f"At most {MAX_RATE:,.0f} USD per million tokens."
    return num


def add_price(actor_id: int, group_id: int, *, provider: str, model: str,
              input_per_mtok: float, output_per_mtok: float,
              cached_input_per_mtok: float | None = None, reasoning_per_mtok: float | None = None,
              effective_from: date) -> PriceRow:
    """A new price for (provider, model) from `effective_from`; model "*" is the
    provider's default. Stored costs keep their price until an admin recomputes."""
    errors: dict[str, str] = {}
    provider = (provider or "").strip().lower()
    model = (model or "").strip()
    if not _PROVIDER_RE.match(provider):
        errors["provider"] = "Use a provider key like openai or anthropic (letters, digits, . _ -)."
    if not model:
        errors["model"] = "Enter the model id as the provider names it, or * for the provider's default."
    elif len(model) > 200:
        errors["model"] = "At most 200 characters."
    values = {f: _rate(v, f, errors, optional=f in ("cached_input_per_mtok", "reasoning_per_mtok"))
              for f, v in (("input_per_mtok", input_per_mtok), ("output_per_mtok", output_per_mtok),
                           ("cached_input_per_mtok", cached_input_per_mtok),
                           ("reasoning_per_mtok", reasoning_per_mtok))}
    if not isinstance(effective_from, date):
        errors["effective_from"] = "Pick the date the price starts."
    if errors:
        raise ValidationError(field_errors=errors)
    if isinstance(effective_from, datetime):
        effective_from = effective_from.date()
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        _require_admin(s, actor_id, "change prices")
        clash = s.scalar(select(Price.id).where(Price.provider == provider, Price.model == model,
                                                Price.effective_from == effective_from))
        if clash is not None:
            raise ConflictError(f"{provider}/{model} already has a price from {effective_from}; "
                                "prices are never rewritten, so pick another date.")
        price = Price(provider=provider, model=model, effective_from=effective_from, **values)
        s.add(price)
        s.flush()
        events.record(s, "price_added", group_id=group_id, actor_id=actor_id, target_type="price",
                      target_id=price.id, data={"provider": provider, "model": model,
                                                "effective_from": effective_from.isoformat(), **values})
        status = "scheduled" if effective_from > utcnow().date() else "in force"
        return PriceRow(price.id, provider, model, price.input_per_mtok, price.output_per_mtok,
                        price.cached_input_per_mtok, price.reasoning_per_mtok, effective_from,
                        status, price.created_at)


# --- recompute ----------------------------------------------------------------------

@dataclass(frozen=True)
class RecomputeResult:
    records: int
    groups: int
    before_usd: float
    after_usd: float


def _cost_sql(price: Price | None):
    """The same arithmetic as pricing.cost_of, as a SQL expression over usage_records."""
    if price is None:
        return literal(0.0, Float)
    inp, cached_rate, out, reasoning_rate = rates(price)
    u = UsageRecord
    cached = case((u.cached_input_tokens < u.input_tokens, u.cached_input_tokens), else_=u.input_tokens)
    reasoning = case((u.reasoning_tokens < u.output_tokens, u.reasoning_tokens), else_=u.output_tokens)
    return ((cast(u.input_tokens - cached, Float) * inp + cast(cached, Float) * cached_rate
             + cast(u.output_tokens - reasoning, Float) * out
             + cast(reasoning, Float) * reasoning_rate) / 1_000_000.0)


def _by_group(s: Session, scope) -> dict[int, tuple[int, float]]:
    rows = s.execute(select(UsageRecord.group_id, func.count(), func.coalesce(func.sum(UsageRecord.cost_usd), 0.0))
                     .where(*scope).group_by(UsageRecord.group_id))
    return {g: (n, float(c)) for g, n, c in rows}


def recompute_costs(actor_id: int, group_id: int, *, start: date, end: date,
                    all_groups: bool = False) -> RecomputeResult:
    """Re-price the usage records of [start, end] (whole UTC days) with the prices in force
    at each record's date, for this group or every group; admins only. Run totals are
    updated too, and each affected group gets a `costs_recomputed` event."""
    if not isinstance(start, date) or not isinstance(end, date) or end < start:
        raise ValidationError(field_errors={"period": "Pick a start date on or before the end date."})
    lo = datetime.combine(start, time.min)
    hi = datetime.combine(end + timedelta(days=1), time.min)
    with session_scope() as s:
        require_access(s, actor_id, group_id, "viewer")
        _require_admin(s, actor_id, "recompute costs")
        scope = [UsageRecord.created_at >= lo, UsageRecord.created_at < hi]
        if all_groups:  # every group the admin belongs to: never one they are outside of

            scope.append(UsageRecord.group_id.in_([g.id for g in comparable_groups(s, actor_id)]))
        else:
            scope.append(UsageRecord.group_id == group_id)
        before = _by_group(s, scope)
        # The price of a (provider, model) can only change on a price's effective date.
        cuts = sorted({d for d in s.scalars(select(Price.effective_from).distinct().where(
            Price.effective_from > start, Price.effective_from <= end))})
        bounds = [start, *cuts, end + timedelta(days=1)]
        pairs = s.execute(select(UsageRecord.provider, UsageRecord.model).where(*scope).distinct()).all()
        for provider, model in pairs:
            for seg_start, seg_end in zip(bounds, bounds[1:]):
                r = resolve_price(s, provider, model, seg_start)
                s.execute(update(UsageRecord).where(
                    *scope, UsageRecord.provider == provider, UsageRecord.model == model,
                    UsageRecord.created_at >= datetime.combine(seg_start, time.min),
                    UsageRecord.created_at < datetime.combine(seg_end, time.min),
                ).values(cost_usd=_cost_sql(r.price), price_id=r.price.id if r.price else None,
                         price_is_default=r.is_default or r.price is None)
                    .execution_options(synchronize_session=False))
        run_ids = select(UsageRecord.run_id).where(*scope, UsageRecord.run_id.is_not(None)).distinct()
        run_cost = (select(func.coalesce(func.sum(UsageRecord.cost_usd), 0.0))
                    .where(UsageRecord.run_id == Run.id).scalar_subquery())
        s.execute(update(Run).where(Run.id.in_(run_ids)).values(cost_usd=run_cost)
                  .execution_options(synchronize_session=False))
        after = _by_group(s, scope)
        forget_spend(s, before)  # the kept month spends were sums of the old costs
        for gid, (count, old) in before.items():
            new = after.get(gid, (0, 0.0))[1]
            if s.get(Group, gid) is None:
                continue
            events.record(s, "costs_recomputed", group_id=gid, actor_id=actor_id, target_type="group",
                          target_id=gid, data={"start": start.isoformat(), "end": end.isoformat(),
                                               "records": count, "before_usd": round(old, 6),
                                               "after_usd": round(new, 6), "all_groups": all_groups})
            note_spend(s, gid)
        return RecomputeResult(records=sum(n for n, _ in before.values()), groups=len(before),
                               before_usd=sum(c for _, c in before.values()),
                               after_usd=sum(c for _, c in after.values()))
