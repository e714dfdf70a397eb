"""Plotly figures for the dashboards, built from score groups; pages draw them with our own plotly.js.

Figures are plain dicts in plotly.js's JSON form, not ``plotly.graph_objects`` figures: those
validate every property and embed their whole template, which cost more than the scores'
queries on each page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

BRAND = "#b4232b"
MUTED = "#9aa5b1"
GRID = "#e4e7eb"
COLOURS = (BRAND, "#1f6f8b", "#6a994e", "#8e6c8a")
FONT = "system-ui, 'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif"


def _figure(traces: list[dict[str, Any]], y_title: str, **layout: Any) -> str:
    base = {
        "margin": {"l": 48, "r": 12, "t": 12, "b": 48},
        "height": 320,
        "yaxis": {
            "title": {"text": y_title},
            "range": [0, 100],
            "ticksuffix": "%",
            "gridcolor": GRID,
            "fixedrange": True,
        },
        "xaxis": {"gridcolor": GRID, "fixedrange": True, "automargin": True},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT},
        "showlegend": False,
    }
    for name, value in layout.items():
        base[name] = {**base[name], **value} if isinstance(base.get(name), dict) else value
    return json.dumps({"data": traces, "layout": base}, ensure_ascii=False)


def csat_bars(
    groups: list[dict[str, Any]], label: Callable[[dict[str, Any]], str], y_title: str
) -> str:
    """CSAT per group as bars with their Wilson 95% interval; groups under min n are left out."""
    shown = [g for g in groups if g["csat"] is not None]
    bar = {
        "type": "bar",
        "x": [label(g) for g in shown],
        "y": [g["csat"] * 100 for g in shown],
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": [(g["csat_high"] - g["csat"]) * 100 for g in shown],
            "arrayminus": [(g["csat"] - g["csat_low"]) * 100 for g in shown],
            "color": "#333",
        },
        "marker": {"color": BRAND},
        "customdata": [g["n"] for g in shown],
        "hovertemplate": "%{x}: %{y:.1f}% (n=%{customdata})<extra></extra>",
    }
    return _figure([bar], y_title)


def csat_trend(
    groups: list[dict[str, Any]], grain: str, y_title: str, partial_label: str = ""
) -> str:
    """CSAT by day, week or month as a line inside its Wilson 95% band; partial periods hollow."""
    traces = _trend_traces(groups, grain, BRAND, "", partial_label, band=True)
    return _figure(traces, y_title, xaxis={"type": "date"})


def dimension_trends(
    trends: dict[str, list[dict[str, Any]]],
    grain: str,
    name: Callable[[str], str],
    y_title: str,
    partial_label: str = "",
) -> str:
    """One CSAT line per dimension, partial periods hollow, with a legend."""
    traces: list[dict[str, Any]] = []
    for colour, (dimension, groups) in zip(COLOURS, trends.items(), strict=False):
        traces += _trend_traces(groups, grain, colour, name(dimension), partial_label, band=False)
    return _figure(
        traces,
        y_title,
        xaxis={"type": "date"},
        showlegend=True,
        legend={"orientation": "h", "y": -0.2},
        height=360,
    )


def _trend_traces(
    groups: list[dict[str, Any]],
    grain: str,
    colour: str,
    name: str,
    partial_label: str,
    band: bool,
) -> list[dict[str, Any]]:
    shown = [g for g in groups if g["csat"] is not None]
    x = [g["key"][grain] + ("-01" if grain == "month" else "") for g in shown]
    traces: list[dict[str, Any]] = []
    if band:
        traces.append(
            {
                "type": "scatter",
                "x": x + x[::-1],
                "y": [g["csat_high"] * 100 for g in shown]
                + [g["csat_low"] * 100 for g in shown][::-1],
                "mode": "lines",
                "fill": "toself",
                "fillcolor": "rgba(180,35,43,0.12)",
                "line": {"width": 0},
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    traces.append(
        {
            "type": "scatter",
            "x": x,
            "y": [g["csat"] * 100 for g in shown],
            "name": name,
            "mode": "lines+markers",
            "line": {"color": colour},
            "marker": {
                "symbol": ["circle-open" if g.get("partial") else "circle" for g in shown],
                "size": 8,
            },
            "customdata": [[g["n"], partial_label if g.get("partial") else ""] for g in shown],
            "hovertemplate": "%{x}: %{y:.1f}% (n=%{customdata[0]}) %{customdata[1]}<extra>"
            + name
            + "</extra>",
        }
    )
    return traces


def funnel(labels: list[str], counts: list[int], colour: str = BRAND) -> str:
    """One survey channel's steps as a plotly funnel: each bar's count and its share of the first."""
    trace = {
        "type": "funnel",
        "y": labels,
        "x": counts,
        "textinfo": "value+percent initial",
        "marker": {"color": colour},
        "connector": {"line": {"color": GRID}},
        "hovertemplate": "%{y}: %{x} (%{percentInitial:.1%})<extra></extra>",
    }
    layout = {
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "height": 300,
        "yaxis": {"automargin": True, "fixedrange": True},
        "xaxis": {"visible": False, "fixedrange": True},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT},
        "showlegend": False,
    }
    return json.dumps({"data": [trace], "layout": layout}, ensure_ascii=False)
