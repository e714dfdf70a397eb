"""Charts as SVG markup: drawn the same by the browser and by the PDF renderer, offline.

Plotly's static export needs a browser process (kaleido drives Chrome); the report is a
document, so its few charts are plain SVG built here from numbers: vector in the PDF,
no script, no font download. Labels are escaped; every value is also in a table beside
the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BRAND = "#b4232b"
SECOND = "#1f6f8b"
MUTED = "#9aa5b1"
GRID = "#e4e7eb"
TEXT = "#1f2933"
FONT = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', system-ui, sans-serif"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # a share 0–1, or None when hidden (below min n)
    low: float | None = None
    high: float | None = None
    note: str = ""  # shown after the value, e.g. "n = 120"


def bars(title: str, items: Sequence[Bar], width: int = 640, row: int = 26) -> Markup:
    """Horizontal bars of shares (0–100%) with their 95% interval, one row per item."""
    label_w, right = 190, 120
    plot_w = width - label_w - right
    height = row * len(items) + 34
    out = [_open(width, height, title)]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + tick * plot_w
        out.append(
            f'<line x1="{x:.1f}" y1="8" x2="{x:.1f}" y2="{height - 22}" stroke="{GRID}"/>'
            f'<text x="{x:.1f}" y="{height - 8}" font-size="10" text-anchor="middle" '
            f'fill="{MUTED}">{tick * 100:.0f}%</text>'
        )
    for i, item in enumerate(items):
        y = 10 + i * row
        out.append(
            f'<text x="{label_w - 8}" y="{y + row / 2 + 4:.1f}" font-size="12" '
            f'text-anchor="end" fill="{TEXT}">{escape(_clip(item.label, 16))}</text>'
        )
        if item.value is None:
            out.append(
                f'<text x="{label_w + 4}" y="{y + row / 2 + 4:.1f}" font-size="11" '
                f'fill="{MUTED}">{escape(item.note)}</text>'
            )
            continue
        w = max(item.value, 0) * plot_w
        out.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 10}" fill="{BRAND}"/>'
        )
        if item.low is not None and item.high is not None:
            x1, x2 = label_w + item.low * plot_w, label_w + item.high * plot_w
            mid = y + row / 2 - 1
            out.append(
                f'<path d="M{x1:.1f},{mid:.1f}H{x2:.1f}M{x1:.1f},{mid - 4:.1f}V{mid + 4:.1f}'
                f'M{x2:.1f},{mid - 4:.1f}V{mid + 4:.1f}" stroke="{TEXT}" stroke-width="1.2"/>'
            )
        out.append(
            f'<text x="{label_w + plot_w + 8}" y="{y + row / 2 + 4:.1f}" font-size="11" '
            f'fill="{TEXT}">{item.value * 100:.1f}% {escape(item.note)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class Point:
    label: str  # the period's key, e.g. 2026-11 or 2026-11-02
    value: float | None
    low: float | None = None
    high: float | None = None
    partial: bool = False


def trend(title: str, points: Sequence[Point], width: int = 640, height: int = 220) -> Markup:
    """A line of shares over periods with its 95% band; partial periods are drawn hollow."""
    left, right, top, bottom = 44, 12, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    shown = [p for p in points if p.value is not None]
    lows = [p.low for p in shown if p.low is not None] + [p.value for p in shown]
    floor = max(0.0, (int(min(lows) * 10) / 10) - 0.1) if lows else 0.0

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / max(len(points), 1))

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - floor) / (1 - floor or 1))

    out = [_open(width, height, title)]
    steps = 4
    for k in range(steps + 1):
        v = floor + (1 - floor) * k / steps
        out.append(
            f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" '
            f'stroke="{GRID}"/><text x="{left - 4}" y="{y(v) + 3:.1f}" font-size="10" '
            f'text-anchor="end" fill="{MUTED}">{v * 100:.0f}%</text>'
        )
    banded = [(i, p) for i, p in enumerate(points) if p.low is not None and p.high is not None]
    if len(banded) > 1:
        upper = " ".join(f"{x(i):.1f},{y(p.high):.1f}" for i, p in banded)
        lower = " ".join(f"{x(i):.1f},{y(p.low):.1f}" for i, p in reversed(banded))
        out.append(f'<polygon points="{upper} {lower}" fill="{BRAND}" fill-opacity="0.12"/>')
    line = [(i, p) for i, p in enumerate(points) if p.value is not None]
    if len(line) > 1:
        path = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in line)
        out.append(f'<polyline points="{path}" fill="none" stroke="{BRAND}" stroke-width="2"/>')
    for i, p in line:
        fill = "#fff" if p.partial else BRAND
        out.append(
            f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="3" fill="{fill}" stroke="{BRAND}"/>'
        )
    every = max(1, len(points) // 8)
    for i, p in enumerate(points):
        if i % every == 0:
            out.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" font-size="10" '
                f'text-anchor="middle" fill="{MUTED}">{escape(p.label)}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" '
        f'style="max-width:{width}px" font-family="{FONT}"><title>{escape(title)}</title>'
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
