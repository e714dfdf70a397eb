"""Plotly figures for the dashboards, built from score groups; pages draw them with our own plotly.js.

Figures are plain dicts in plotly.js's JSON form, not ``plotly.graph_objects`` figures: those
validate every property and embed their whole template, which cost more than the scores'
queries on each page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

BRAND = "#b4232b"
MUTED = "#9aa5b1"
GRID = "#e4e7eb"
ACTION = "#5b3f8c"  # improvement actions
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
        if isinstance(base.get(name), dict) and isinstance(value, dict):
            value = {**base[name], **value}
            # A None in the changes removes the base's setting (counts have no 0-100 range).
            value = {k: v for k, v in value.items() if v is not None}
        base[name] = value
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
    groups: list[dict[str, Any]],
    grain: str,
    y_title: str,
    partial_label: str = "",
    marks: Sequence[tuple[str, str]] = (),
) -> str:
    """CSAT by day, week or month as a line inside its Wilson 95% band; partial periods hollow.

    :param marks: (day, label) of each improvement action to mark with a vertical line.
    """
    traces = _trend_traces(groups, grain, BRAND, "", partial_label, band=True)
    return _figure(traces, y_title, xaxis={"type": "date"}, **_marks(marks))


def dimension_trends(
    trends: dict[str, list[dict[str, Any]]],
    grain: str,
    name: Callable[[str], str],
    y_title: str,
    partial_label: str = "",
    marks: Sequence[tuple[str, str]] = (),
) -> str:
    """One CSAT line per dimension, partial periods hollow, with a legend and action marks."""
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
        **_marks(marks),
    )


def _marks(marks: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Layout shapes and labels marking each action's day: a dotted line, its title at the top.

    Titles are cut to 16 characters on the chart (a phone is narrow); the list under the
    chart names each action in full.
    """
    if not marks:
        return {}
    shapes = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": day,
            "x1": day,
            "y0": 0,
            "y1": 1,
            "line": {"color": ACTION, "width": 1.5, "dash": "dot"},
        }
        for day, _label in marks
    ]
    annotations = [
        {
            "x": day,
            "xref": "x",
            "y": 1 - 0.08 * (i % 3),
            "yref": "paper",
            "text": label if len(label) <= 16 else label[:15] + "…",
            "hovertext": label,
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "top",
            "font": {"size": 11, "color": ACTION},
            "bgcolor": "rgba(255,255,255,0.8)",
        }
        for i, (day, label) in enumerate(marks)
    ]
    return {"shapes": shapes, "annotations": annotations}


def did_chart(
    sides: list[tuple[str, list[dict[str, Any] | None]]],
    periods: tuple[str, str],
    y_title: str,
    expected: tuple[str, float, float] | None = None,
) -> str:
    """CSAT before and after an action, one line for the target and one for the rest.

    :param sides: (name, [before, after]) each a dict of csat, csat_low, csat_high and n, or
        None where the window is under min n (left out).
    :param expected: (name, before, after) of where the target would be had it moved as the
        rest did, drawn dashed; CSAT as fractions.
    """
    traces: list[dict[str, Any]] = []
    for colour, (name, points) in zip((BRAND, MUTED), sides, strict=False):
        shown = [(period, p) for period, p in zip(periods, points, strict=True) if p]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": [period for period, _p in shown],
                "y": [p["csat"] * 100 for _period, p in shown],
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [(p["csat_high"] - p["csat"]) * 100 for _period, p in shown],
                    "arrayminus": [(p["csat"] - p["csat_low"]) * 100 for _period, p in shown],
                    "color": colour,
                },
                "line": {"color": colour, "width": 3},
                "marker": {"size": 10, "color": colour},
                "customdata": [p["n"] for _period, p in shown],
                "hovertemplate": "%{x}: %{y:.1f}% (n=%{customdata})<extra>" + name + "</extra>",
            }
        )
    if expected:
        name, before, after = expected
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "x": list(periods),
                "y": [before * 100, after * 100],
                "line": {"color": BRAND, "dash": "dash", "width": 1.5},
                "hovertemplate": "%{x}: %{y:.1f}%<extra>" + name + "</extra>",
            }
        )
    # The axis starts at the tens below the lowest interval, so a few points' change shows.
    lows = [p["csat_low"] for _name, points in sides for p in points if p]
    bottom = max(0, math.floor(min(lows, default=0) * 10) * 10 - 10)
    return _figure(
        traces,
        y_title,
        yaxis={"range": [bottom, 100]},
        xaxis={"type": "category"},
        showlegend=True,
        legend={"orientation": "h", "y": -0.2},
        height=340,
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


def share_bars(rows: list[dict[str, Any]], label: Callable[[str | None], str], y_title: str) -> str:
    """Cases per value (a complaint type, a cause) as their share of all cases; counts on hover."""
    bar = {
        "type": "bar",
        "x": [label(r["key"]) for r in rows],
        "y": [(r["share"] or 0) * 100 for r in rows],
        "marker": {"color": BRAND},
        "customdata": [r["cases"] for r in rows],
        "hovertemplate": "%{x}: %{y:.1f}% (%{customdata})<extra></extra>",
    }
    return _figure([bar], y_title)


def commitment_bars(
    rows: list[dict[str, Any]],
    name: Callable[[dict[str, Any]], str],
    outcomes: dict[str, str],
    x_title: str,
) -> str:
    """Met, missed and pending cases of each commitment, stacked side by side as counts."""
    colours = {"met": "#1a7f37", "missed": BRAND, "pending": MUTED}
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": label,
            "y": [name(r) for r in rows],
            "x": [r[outcome] for r in rows],
            "marker": {"color": colours[outcome]},
            "hovertemplate": "%{y}: %{x}<extra>" + label + "</extra>",
        }
        for outcome, label in outcomes.items()
    ]
    return _figure(
        traces,
        "",
        barmode="stack",
        showlegend=True,
        legend={"orientation": "h", "y": -0.25, "traceorder": "normal"},
        xaxis={"title": {"text": x_title}},
        yaxis={"range": None, "ticksuffix": "", "automargin": True, "autorange": "reversed"},
        margin={"l": 12},
    )


def met_missed_bars(
    rows: list[dict[str, Any]],
    name: Callable[[dict[str, Any]], str],
    sides: dict[str, str],
    y_title: str,
) -> str:
    """CSAT of the cases that met and that missed each commitment, side by side, with intervals.

    A side under the minimum n has no bar (its score is not shown).
    """
    colours = {"met": "#1a7f37", "missed": BRAND}
    traces = []
    for side, label in sides.items():
        shown = [r for r in rows if r[side]["csat"] is not None]
        traces.append(
            {
                "type": "bar",
                "name": label,
                "x": [name(r) for r in shown],
                "y": [r[side]["csat"] * 100 for r in shown],
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [(r[side]["csat_high"] - r[side]["csat"]) * 100 for r in shown],
                    "arrayminus": [(r[side]["csat"] - r[side]["csat_low"]) * 100 for r in shown],
                    "color": "#333",
                },
                "marker": {"color": colours[side]},
                "customdata": [r[side]["n"] for r in shown],
                "hovertemplate": "%{x}: %{y:.1f}% (n=%{customdata})<extra>" + label + "</extra>",
            }
        )
    return _figure(
        traces, y_title, barmode="group", showlegend=True, legend={"orientation": "h", "y": -0.2}
    )


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
