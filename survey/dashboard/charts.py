"""Plotly figures for the dashboards, built from score groups; pages draw them with our own plotly.js."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

BRAND = "#b4232b"
MUTED = "#9aa5b1"


def _layout(fig: go.Figure, y_title: str) -> go.Figure:
    fig.update_layout(
        margin={"l": 48, "r": 12, "t": 12, "b": 48},
        height=320,
        yaxis={"title": y_title, "range": [0, 100], "ticksuffix": "%"},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, 'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif"},
        showlegend=False,
    )
    return fig


def csat_bars(
    groups: list[dict[str, Any]], label: Callable[[dict[str, Any]], str], y_title: str
) -> str:
    """CSAT per group as bars with their Wilson 95% interval; groups under min n are left out."""
    shown = [g for g in groups if g["csat"] is not None]
    fig = go.Figure(
        go.Bar(
            x=[label(g) for g in shown],
            y=[g["csat"] * 100 for g in shown],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [(g["csat_high"] - g["csat"]) * 100 for g in shown],
                "arrayminus": [(g["csat"] - g["csat_low"]) * 100 for g in shown],
                "color": "#333",
            },
            marker_color=BRAND,
            customdata=[g["n"] for g in shown],
            hovertemplate="%{x}: %{y:.1f}% (n=%{customdata})<extra></extra>",
        )
    )
    return _layout(fig, y_title).to_json()


def csat_trend(groups: list[dict[str, Any]], y_title: str) -> str:
    """Weekly CSAT as a line inside its Wilson 95% band."""
    shown = [g for g in groups if g["csat"] is not None]
    weeks = [g["key"]["week"] for g in shown]
    fig = go.Figure(
        [
            go.Scatter(
                x=weeks + weeks[::-1],
                y=[g["csat_high"] * 100 for g in shown]
                + [g["csat_low"] * 100 for g in shown][::-1],
                mode="lines",
                fill="toself",
                fillcolor="rgba(180,35,43,0.12)",
                line={"width": 0},
                hoverinfo="skip",
            ),
            go.Scatter(
                x=weeks,
                y=[g["csat"] * 100 for g in shown],
                mode="lines+markers",
                line={"color": BRAND},
                customdata=[g["n"] for g in shown],
                hovertemplate="%{x}: %{y:.1f}% (n=%{customdata})<extra></extra>",
            ),
        ]
    )
    fig.update_xaxes(type="date")
    return _layout(fig, y_title).to_json()
