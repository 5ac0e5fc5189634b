"""The Experiments page's history chart as a plotly figure: pass rate, cost and p50/p95
latency of each experiment of a test set, over time (`compare.experiment_history`'s points).
The page draws it with Streamlit, a notebook returns it. No Streamlit, no database here."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .compare import HistoryPoint


def _hover_label(point: HistoryPoint) -> str:
    # An experiment's label carries the agent's name, which its users wrote: plotly renders a
    # few tags (links among them) in hover text, so < and > go in as entities.
    text = f"#{point.experiment_id} {point.label}"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def history_figure(points: list[HistoryPoint]) -> go.Figure:
    """Pass rate, cost and p50/p95 latency per experiment of a test set, over time."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("Pass rate", "Cost (USD)", "Latency (ms)"))
    x = [p.created_at for p in points]
    text = [_hover_label(p) for p in points]
    fig.add_trace(go.Scatter(x=x, y=[p.pass_rate for p in points], mode="lines+markers", name="pass rate",
                             text=text, hovertemplate="%{text}<br>%{y:.0%}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=[p.cost_usd for p in points], mode="lines+markers", name="cost",
                             text=text, hovertemplate="%{text}<br>$%{y:.6f}<extra></extra>"), row=2, col=1)
    for name, ys in (("p50", [p.p50_latency_ms for p in points]), ("p95", [p.p95_latency_ms for p in points])):
        fig.add_trace(go.Scatter(x=x, y=ys, mode="lines+markers", name=f"{name} latency", text=text,
                                 hovertemplate="%{text}<br>%{y:,.0f} ms<extra></extra>"), row=3, col=1)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", row=1, col=1)
    fig.update_layout(height=560, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h"})
    return fig
