"""Prices per model as data, and the cost of one model call. Cost is computed when a call
is recorded and stored with it, so a later price change never rewrites history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .models import Price
from .providers.base import Usage


@dataclass
class Cost:
    usd: float
    price_id: int | None
    is_default: bool  # the model had no price of its own: the provider's default was used


def find_price(s: Session, provider: str, model: str, at: date) -> tuple[Price | None, bool]:
    """The price in force at `at`: the model's own, else the provider's default ("*")."""
    rows = s.scalars(select(Price).where(Price.provider == provider,
                                         or_(Price.model == model, Price.model == "*"),
                                         Price.effective_from <= at)
                     .order_by(Price.effective_from.desc(), Price.id.desc())).all()
    own = next((p for p in rows if p.model == model), None)
    if own is not None:
        return own, False
    return next((p for p in rows if p.model == "*"), None), True


def cost_of(price: Price | None, usage: Usage) -> float:
    if price is None:
        return 0.0
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    cached_rate = price.cached_input_per_mtok if price.cached_input_per_mtok is not None else price.input_per_mtok
    reasoning = min(usage.reasoning_tokens, usage.output_tokens)
    reasoning_rate = price.reasoning_per_mtok if price.reasoning_per_mtok is not None else price.output_per_mtok
    return ((usage.input_tokens - cached) * price.input_per_mtok + cached * cached_rate
            + (usage.output_tokens - reasoning) * price.output_per_mtok
            + reasoning * reasoning_rate) / 1_000_000


def compute_cost(s: Session, provider: str, model: str, usage: Usage, at: datetime) -> Cost:
    price, is_default = find_price(s, provider, model, at.date())
    return Cost(usd=cost_of(price, usage), price_id=price.id if price else None,
                is_default=is_default or price is None)


# Public list prices, USD per million tokens (input, output, cached input), as of the
# effective date. "*" is the provider's default for models not listed: the seed's rates
# (openai 0.005/0.015 and anthropic 0.008/0.024 per 1k tokens). Local models cost nothing.
SEED_EFFECTIVE = date(2025, 1, 1)
SEED_PRICES: list[tuple[str, str, float, float, float | None]] = [
    ("openai", "*", 5.0, 15.0, None),
    ("openai", "gpt-4o", 2.50, 10.00, 1.25),
    ("openai", "gpt-4o-mini", 0.15, 0.60, 0.075),
    ("openai", "gpt-4.1", 2.00, 8.00, 0.50),
    ("openai", "gpt-4.1-mini", 0.40, 1.60, 0.10),
    ("openai", "gpt-4.1-nano", 0.10, 0.40, 0.025),
    ("openai", "o3", 2.00, 8.00, 0.50),
    ("openai", "o4-mini", 1.10, 4.40, 0.275),
    ("openai", "gpt-5", 1.25, 10.00, 0.125),
    ("openai", "gpt-5-mini", 0.25, 2.00, 0.025),
    ("anthropic", "*", 8.0, 24.0, None),
    ("anthropic", "claude-opus-4-1", 15.00, 75.00, 1.50),
    ("anthropic", "claude-sonnet-4-5", 3.00, 15.00, 0.30),
    ("anthropic", "claude-haiku-4-5", 1.00, 5.00, 0.10),
    ("anthropic", "claude-3-5-haiku-latest", 0.80, 4.00, 0.08),
    ("local", "*", 0.0, 0.0, 0.0),
    ("ollama", "*", 0.0, 0.0, 0.0),
    ("vllm", "*", 0.0, 0.0, 0.0),
]


def seed_prices(s: Session) -> None:
    """Insert the seed prices once, on an empty price table."""
    if s.scalar(select(Price.id).limit(1)) is not None:
        return
    for provider, model, inp, out, cached in SEED_PRICES:
        s.add(Price(provider=provider, model=model, input_per_mtok=inp, output_per_mtok=out,
                    cached_input_per_mtok=cached, effective_from=SEED_EFFECTIVE))
