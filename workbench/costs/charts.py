"""The Usage page's charts as plotly figures, built from a `reports.Dashboard`: the page draws
them with Streamlit, a notebook returns them (`workbench.notebook`). No Streamlit and no
database here: a figure is made from numbers already read under the access check.

Names in a chart (agents, people, providers, models) are text of users: plotly renders a few
HTML tags in labels (links among them), so every name goes in with `<` and `>` as entities."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from ..errors import ValidationError
from .reports import Dashboard

CHARTS = ("cost", "agents", "people", "providers")  # the page's four, in its order


def label(value: object) -> str:
    """A name as plotly shows it, never as markup (plotly turns &lt; back into <)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def page_layout(fig: go.Figure) -> go.Figure:
    """The page's size, margins and legend under the chart."""
    fig.update_layout(height=360, margin={"t": 40, "b": 10, "l": 10, "r": 10}, legend_title_text="",
                      legend={"orientation": "h", "yanchor": "top", "y": -0.15})
    return fig


def cost_over_time(dash: Dashboard) -> go.Figure:
    period = dash.period
    df = pd.DataFrame([(t, label(m), c, n) for t, m, c, n in dash.cost_over_time],
                      columns=["time", "model", "cost", "calls"])
    fig = px.bar(df, x="time", y="cost", color="model", title="Cost over time by model",
                 labels={"time": "", "cost": "USD", "model": "Model"}, hover_data=["calls"])
    fig.update_layout(barmode="stack")
    # The whole period on the axis, in whole buckets: one bar alone would otherwise be
    # drawn on a sub-second scale.
    fig.update_xaxes(type="date", range=[period.local(period.start), period.local(period.end)],
                     tickformat="%d %b %H:%M" if period.bucket == "hour" else "%d %b")
    if not df["cost"].any():
        fig.update_yaxes(range=[0, 1])
    return fig


def tokens_by_agent(dash: Dashboard) -> go.Figure:
    df = pd.DataFrame([(label(a), i, o, c) for a, i, o, c in dash.by_agent],
                      columns=["agent", "input", "output", "cost"])
    df = df.melt(id_vars=["agent", "cost"], value_vars=["input", "output"], var_name="kind", value_name="tokens")
    fig = px.bar(df, x="tokens", y="agent", color="kind", orientation="h", title="Tokens by agent",
                 labels={"agent": "", "kind": ""}, hover_data=["cost"])
    fig.update_layout(barmode="stack")
    return fig


def cost_by_person(dash: Dashboard) -> go.Figure:
    df = pd.DataFrame([(label(p), c, n) for p, c, n in dash.by_person], columns=["person", "cost", "calls"])
    return px.bar(df, x="person", y="cost", title="Cost by person", labels={"person": "", "cost": "USD"},
                  hover_data=["calls"])


def cost_by_provider(dash: Dashboard) -> go.Figure:
    df = pd.DataFrame([(label(p), c, n) for p, c, n in dash.by_provider], columns=["provider", "cost", "calls"])
    if df["cost"].sum() > 0:
        return px.pie(df, names="provider", values="cost", hole=0.45, title="Cost by provider")
    return px.pie(df, names="provider", values="calls", hole=0.45, title="Calls by provider (all free)")


def figure(dash: Dashboard, chart: str = "cost") -> go.Figure:
    """One of the page's charts by name (CHARTS), with the page's layout."""
    builders = {"cost": cost_over_time, "agents": tokens_by_agent, "people": cost_by_person,
                "providers": cost_by_provider}
    if chart not in builders:
        raise ValidationError(field_errors={"chart": f"One of {', '.join(CHARTS)}, not {chart!r}."})
    return page_layout(builders[chart](dash))
