"""Prices: USD per million tokens per provider and model, effective from a date. A new
price never rewrites history; administrators can re-price a period on purpose."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import current, require_group, show_error
from workbench import clock
from workbench.costs import prices
from workbench.errors import ValidationError, WorkbenchError

ctx = current()
require_group(ctx)

st.title("Prices")
st.caption("USD per **million** tokens, from the effective date on. Cost is computed when a call is "
           "recorded and stored with it, so adding a price never changes past costs. A model with no "
           "price of its own uses its provider's default (model `*`) and is flagged on the Usage page.")

admin = prices.is_admin(ctx.person_id)
today = clock.local_today(None)  # prices take effect on UTC days: they are shared by every group

# --- the table -----------------------------------------------------------------------
c1, c2 = st.columns([3, 1])
search = c1.text_input("Filter", placeholder="provider or model, e.g. gpt-4o or anthropic", key="prices_search")
history = c2.toggle("Show superseded", value=False, key="prices_history",
                    help="Older prices stay in the table: they priced the calls of their dates.")
rows = prices.list_prices(ctx.person_id, ctx.group_id, search=search, include_history=history)
if not rows:
    st.info("No prices match." if search else "No prices yet.")
else:
    st.dataframe(pd.DataFrame([{
        "Provider": r.provider, "Model": "* (provider default)" if r.is_default else r.model,
        "Input": r.input_per_mtok, "Cached input": r.cached_input_per_mtok, "Output": r.output_per_mtok,
        "Reasoning": r.reasoning_per_mtok, "Effective from": r.effective_from, "Status": r.status}
        for r in rows]), hide_index=True, key="prices_table",
        column_config={k: st.column_config.NumberColumn(format="$%.4f")
                       for k in ("Input", "Cached input", "Output", "Reasoning")})
    st.caption("Empty cached input means the input rate applies; empty reasoning means the output rate.")

if not admin:
    st.info("Only a workbench administrator can add prices or recompute costs.")
    st.stop()

# --- add a price ---------------------------------------------------------------------
st.subheader("Add a price")
providers = prices.known_providers(ctx.person_id, ctx.group_id)
with st.form("add_price"):
    a, b = st.columns(2)
    provider = a.selectbox("Provider", providers, index=providers.index("openai") if "openai" in providers else 0,
                           help="The provider key: a preset's name, or the kind for a hand-made endpoint.")
    other = a.text_input("…or another provider key", placeholder="e.g. mistral", key="price_other_provider")
    slot_provider = a.empty()
    model = b.text_input("Model", placeholder="gpt-4o-mini, or * for the provider's default", key="price_model")
    slot_model = b.empty()
    a, b, c, d = st.columns(4)
    inp = a.number_input("Input / 1M tokens", min_value=0.0, value=None, step=0.05, format="%.4f",
                         key="price_input")
    slot_input = a.empty()
    out = b.number_input("Output / 1M tokens", min_value=0.0, value=None, step=0.05, format="%.4f",
                         key="price_output")
    slot_output = b.empty()
    cached = c.number_input("Cached input / 1M (optional)", min_value=0.0, value=None, step=0.01,
                            format="%.4f", key="price_cached")
    slot_cached = c.empty()
    reasoning = d.number_input("Reasoning / 1M (optional)", min_value=0.0, value=None, step=0.05,
                               format="%.4f", key="price_reasoning")
    slot_reasoning = d.empty()
    effective = st.date_input("Effective from", value=today, key="price_effective",
                              help="Calls from this date (UTC) on use the new price.")
    slot_effective = st.empty()
    submitted = st.form_submit_button("Add price", type="primary")
if submitted:
    slots = {"provider": slot_provider, "model": slot_model, "input_per_mtok": slot_input,
             "output_per_mtok": slot_output, "cached_input_per_mtok": slot_cached,
             "reasoning_per_mtok": slot_reasoning, "effective_from": slot_effective}
    try:
        added = prices.add_price(
            ctx.person_id, ctx.group_id, provider=(other or provider or "").strip(), model=model,
            input_per_mtok=inp, output_per_mtok=out, cached_input_per_mtok=cached,
            reasoning_per_mtok=reasoning, effective_from=effective)
        st.success(f"Added {added.provider}/{added.model}: ${added.input_per_mtok:g} in, "
                   f"${added.output_per_mtok:g} out per million tokens from {added.effective_from} "
                   f"({added.status}).")
    except ValidationError as err:
        for name, message in err.field_errors.items():
            slots.get(name, st).caption(f":red[{message}]")
        if not err.field_errors:
            show_error(err)
    except WorkbenchError as err:
        show_error(err)

# --- recompute -------------------------------------------------------------------------
st.subheader("Recompute stored costs")
st.caption("Re-prices the usage records of a period with the prices in force at each record's date, "
           "for example after adding a price that applies to past days. Run totals follow; each "
           "affected group gets a `costs_recomputed` event.")
with st.form("recompute"):
    span = st.date_input("Period (inclusive)", value=(today.replace(day=1), today), max_value=today,
                         key="recompute_period")
    scope = st.radio("Groups", ["this", "all"], horizontal=True, key="recompute_scope",
                     format_func={"this": f"This group ({ctx.group_name})", "all": "Every group"}.get)
    go = st.form_submit_button("Recompute costs")
if go:
    if not isinstance(span, (list, tuple)) or len(span) != 2:
        st.error("Pick the last day of the period too.")
    else:
        try:
            res = prices.recompute_costs(ctx.person_id, ctx.group_id, start=span[0],
                                              end=span[1], all_groups=scope == "all")
            st.success(f"Recomputed {res.records:,} records in {res.groups} group(s): "
                       f"${res.before_usd:,.4f} before, ${res.after_usd:,.4f} now.")
        except WorkbenchError as err:
            show_error(err)
