"""Costs: what runs use and what it costs, and what a group may spend.

    pricing  prices as data with effective dates: resolve_price, cost_of, compute_cost,
             seed_prices
    usage    record_model_call (a usage record priced when it is written)
    limits   budgets (month spend, the 80 % warning), rate limits (runs and tokens a minute),
             check_run_allowed (admission), get_limits, set_limits
    reports  the Usage page's queries: period, dashboard, breakdowns, compare_groups
    export   the usage records as CSV
    prices   the Prices page: list_prices, add_price, recompute_costs (admins)
    charts   the Usage page's plotly figures from a dashboard (the page and notebooks draw them)

May use: providers (the usage type, presets), tenancy, the core. Modules, arrows down:
prices -> reports -> limits; charts -> reports; export -> reports; usage -> (limits, pricing)."""
