"""Prices per model as data, and the cost of one model call.

A price is USD per million tokens for one provider and model, effective from a date; a new
price is a new row, so history is never rewritten. Cost is computed when a call is recorded
and stored with it; `pricing_admin.recompute_costs` re-prices a period on request.

Lookup, in order (the first that has a price in force at the call's date wins):
1. the provider's own price for the model, also with a dated suffix stripped
   ("gpt-4o-2024-08-06" -> "gpt-4o", "claude-sonnet-4-5-20250929" -> "claude-sonnet-4-5");
2. a routed name "vendor/model" (OpenRouter) priced as the vendor's model;
3. for a provider with no price rows at all (a hand-made endpoint), the same model id
   under any provider;
4. the provider's default, model "*" -- flagged as a default price;
5. nothing: cost 0, flagged."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..models import Price
from ..providers.base import Usage

DEFAULT_MODEL = "*"
_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


@dataclass
class Cost:
    usd: float
    price_id: int | None
    is_default: bool  # the model had no price of its own: the provider's default was used


@dataclass(frozen=True)
class Resolved:
    price: Price | None
    is_default: bool


def _model_names(model: str) -> list[str]:
    names = [model]
    base = _DATE_SUFFIX.sub("", model)
    if base != model:
        names.append(base)
    return names


def _candidates(provider: str, model: str) -> list[tuple[str, str]]:
    """(provider, model) pairs to try, best first, before the provider's default."""
    pairs = [(provider, m) for m in _model_names(model)]
    if "/" in model:
        vendor, _, name = model.partition("/")
        pairs += [(vendor.lower(), m) for m in _model_names(name)]
    return pairs


def _in_force(rows: list[Price], provider: str, model: str) -> Price | None:
    """The newest row for (provider, model) among rows already filtered by date."""
    best = None
    for p in rows:
        if p.provider == provider and p.model == model:
            if best is None or (p.effective_from, p.id) > (best.effective_from, best.id):
                best = p
    return best


def resolve_price(s: Session, provider: str, model: str, at: date) -> Resolved:
    """The price in force at `at` for a call to `model` on `provider` (see module doc)."""
    pairs = _candidates(provider, model)
    names = {m for _, m in pairs}
    rows = list(s.scalars(select(Price).where(
        Price.effective_from <= at,
        or_(Price.model.in_(names), Price.provider == provider))))
    for prov, name in pairs:
        found = _in_force(rows, prov, name)
        if found is not None:
            return Resolved(found, False)
    provider_known = s.scalar(select(Price.id).where(Price.provider == provider).limit(1))
    if provider_known is None:
        # A hand-made endpoint: the same model id under a known provider, newest first.
        for name in _model_names(model):
            matches = [p for p in rows if p.model == name]
            if matches:
                return Resolved(max(matches, key=lambda p: (p.effective_from, p.id)), False)
    default = _in_force(rows, provider, DEFAULT_MODEL)
    # Flag the fallback only where it guesses a cost: a free provider (local models) is free
    # whatever the model.
    return Resolved(default, default is None or any(rates(default)))


def find_price(s: Session, provider: str, model: str, at: date) -> tuple[Price | None, bool]:
    """(price, is_default) in force at `at`; kept for callers of the first version."""
    r = resolve_price(s, provider, model, at)
    return r.price, r.is_default


def rates(price: Price) -> tuple[float, float, float, float]:
    """(input, cached input, output, reasoning) USD per million tokens. Cached input
    defaults to the input rate and reasoning to the output rate (OpenAI bills reasoning
    tokens as output)."""
    cached = price.cached_input_per_mtok if price.cached_input_per_mtok is not None else price.input_per_mtok
    reasoning = price.reasoning_per_mtok if price.reasoning_per_mtok is not None else price.output_per_mtok
    return price.input_per_mtok, cached, price.output_per_mtok, reasoning


def cost_of(price: Price | None, usage: Usage) -> float:
    """USD for one call. Cached tokens are part of the input tokens and reasoning tokens
    part of the output tokens (as OpenAI reports them); each part is billed at its rate."""
    if price is None:
        return 0.0
    inp, cached_rate, out, reasoning_rate = rates(price)
    cached = min(max(usage.cached_input_tokens, 0), usage.input_tokens)
    reasoning = min(max(usage.reasoning_tokens, 0), usage.output_tokens)
    return ((usage.input_tokens - cached) * inp + cached * cached_rate
            + (usage.output_tokens - reasoning) * out + reasoning * reasoning_rate) / 1_000_000


@dataclass(frozen=True)
class _Rates:
    """The columns of a Price that `rates` reads, detached from any session."""

    id: int
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None
    reasoning_per_mtok: float | None


# Resolved prices by (database, provider, model, day), each with the newest price id when it
# was resolved. Prices are only ever added (a change is a new row), so while the newest id
# is the same, so is every resolution: each model call then costs one MAX(id) read instead
# of loading and sorting the candidate rows.
_RESOLVED: dict[tuple[str, str, str, date], tuple[int | None, _Rates | None, bool]] = {}
_RESOLVED_MAX = 4096
_NEWEST_PRICE = select(func.max(Price.__table__.c.id))


def compute_cost(s: Session, provider: str, model: str, usage: Usage, at: datetime) -> Cost:
    day = at.date()
    newest = s.scalar(_NEWEST_PRICE)
    key = (str(s.get_bind().url), provider, model, day)
    hit = _RESOLVED.get(key)
    if hit is None or hit[0] != newest:
        r = resolve_price(s, provider, model, day)
        price = r.price and _Rates(r.price.id, r.price.input_per_mtok, r.price.output_per_mtok,
                                   r.price.cached_input_per_mtok, r.price.reasoning_per_mtok)
        if len(_RESOLVED) >= _RESOLVED_MAX:
            _RESOLVED.clear()
        hit = _RESOLVED[key] = (newest, price, r.is_default)
    _, price, is_default = hit
    return Cost(usd=cost_of(price, usage), price_id=price.id if price else None,
                is_default=is_default or price is None)


# Public list prices, USD per million tokens: (provider, model, input, output, cached
# input). "*" is the provider's default for models not listed: the seed's rates (openai
# 0.005/0.015 and anthropic 0.008/0.024 per 1k tokens). Local servers cost nothing.
SEED_EFFECTIVE = date(2024, 1, 1)
SEED_PRICES: list[tuple[str, str, float, float, float | None]] = [
    ("openai", "*", 5.0, 15.0, None),
    ("openai", "gpt-4o", 2.50, 10.00, 1.25),
    ("openai", "gpt-4o-mini", 0.15, 0.60, 0.075),
    ("openai", "gpt-4.1", 2.00, 8.00, 0.50),
    ("openai", "gpt-4.1-mini", 0.40, 1.60, 0.10),
    ("openai", "gpt-4.1-nano", 0.10, 0.40, 0.025),
    ("openai", "o1", 15.00, 60.00, 7.50),
    ("openai", "o3", 2.00, 8.00, 0.50),
    ("openai", "o3-mini", 1.10, 4.40, 0.55),
    ("openai", "o4-mini", 1.10, 4.40, 0.275),
    ("openai", "gpt-5", 1.25, 10.00, 0.125),
    ("openai", "gpt-5-mini", 0.25, 2.00, 0.025),
    ("openai", "gpt-5-nano", 0.05, 0.40, 0.005),
    ("openai", "gpt-4-turbo", 10.00, 30.00, None),
    ("openai", "gpt-3.5-turbo", 0.50, 1.50, None),
    ("anthropic", "*", 8.0, 24.0, None),
    ("anthropic", "claude-opus-4-1", 15.00, 75.00, 1.50),
    ("anthropic", "claude-opus-4-0", 15.00, 75.00, 1.50),
    ("anthropic", "claude-sonnet-4-5", 3.00, 15.00, 0.30),
    ("anthropic", "claude-sonnet-4-0", 3.00, 15.00, 0.30),
    ("anthropic", "claude-3-7-sonnet-latest", 3.00, 15.00, 0.30),
    ("anthropic", "claude-haiku-4-5", 1.00, 5.00, 0.10),
    ("anthropic", "claude-3-5-haiku-latest", 0.80, 4.00, 0.08),
    ("local", "*", 0.0, 0.0, 0.0),
    ("ollama", "*", 0.0, 0.0, 0.0),
    ("vllm", "*", 0.0, 0.0, 0.0),
    ("llamacpp", "*", 0.0, 0.0, 0.0),
    ("lmstudio", "*", 0.0, 0.0, 0.0),
]


def seed_prices(s: Session) -> None:
    """Insert each seed price whose (provider, model) has no price yet. Idempotent, and
    never touches a price someone added or changed."""
    have = {tuple(r) for r in s.execute(select(Price.provider, Price.model))}
    for provider, model, inp, out, cached in SEED_PRICES:
        if (provider, model) not in have:
            s.add(Price(provider=provider, model=model, input_per_mtok=inp, output_per_mtok=out,
                        cached_input_per_mtok=cached, effective_from=SEED_EFFECTIVE))
