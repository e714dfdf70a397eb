"""The cells and marks every dashboard table shares, as template functions.

Each number carries the API's exact value in ``data-value``; a score under the minimum n
shows "n < 5" instead. They were Jinja macros: a macro call costs tens of microseconds and a
year's weekly trend or an agents' table makes hundreds of them, more than the page's own
queries; these functions write the same HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

from survey.i18n import gettext as _


def _get(group: Any, name: str) -> Any:
    """A group's field: a key of the API's dicts, or an attribute."""
    if isinstance(group, Mapping):
        return group.get(name)
    return getattr(group, name, None)


def _blank(value: Any) -> Any:
    return "" if value is None else value


def pct(value: float | None) -> Markup:
    """A share as a percentage with one decimal, or a dash."""
    return Markup(_percent(value))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def mark(group: Any, metric: str) -> Markup:
    """▲ or ▼ where the comparison of ``metric`` is significant, with its q-value on hover."""
    compared = (_get(group, "compare") or {}).get(metric)
    sign = _get(compared, "mark") if compared else None
    if not sign:
        return Markup("")
    title = escape(_("Significant: q = %(q)s", q=f"{_get(compared, 'q_value'):.4f}"))
    side = "up" if sign == "▲" else "down"
    return Markup(
        f'<span class="sig {side}" data-mark="{escape(sign)}" title="{title}">{escape(sign)}</span>'
    )


def hidden(n: int, min_n: int) -> Markup:
    """What a score under the minimum n shows instead of itself."""
    title = escape(_("Hidden: fewer than %(min_n)s answers", min_n=min_n))
    return Markup(
        f'<span class="muted" data-hidden="1" title="{title}">n &lt; {escape(min_n)}</span>'
    )


def csat_cell(group: Any, min_n: int, with_mark: bool = True) -> Markup:
    """CSAT with its 95% interval (and significance mark), or "n < 5"."""
    return _interval_cell(
        group, "csat", min_n, with_mark, pct, lambda v: f"<strong>{pct(v)}</strong>"
    )


def nps_cell(group: Any, min_n: int, with_mark: bool = True) -> Markup:
    """NPS with its margin and n (and significance mark), or "n < 5"."""
    nps = _get(group, "nps")
    if nps is None:
        inner = hidden(_get(group, "nps_n"), min_n)
    else:
        inner = Markup(
            f"{nps:+.1f}{mark(group, 'nps') if with_mark else ''} "
            f'<span class="ci">± {_get(group, "nps_moe"):.1f} · n = {_get(group, "nps_n")}</span>'
        )
    return Markup(f'<td data-metric="nps" data-value="{_blank(nps)}">{inner}</td>')


def mean_cell(group: Any, min_n: int, with_mark: bool = True) -> Markup:
    """The mean rating with its 95% interval (and significance mark), or "n < 5"."""
    two_places = "{:.2f}".format
    return _interval_cell(group, "mean", min_n, with_mark, two_places, two_places)


def _interval_cell(
    group: Any,
    metric: str,
    min_n: int,
    with_mark: bool,
    shown: Callable[[float], str],
    shown_value: Callable[[float], str],
) -> Markup:
    """A score and its interval (``metric``_low, ``metric``_high), or "n < 5" below min n."""
    value = _get(group, metric)
    if value is None:
        inner = hidden(_get(group, "n"), min_n)
    else:
        low, high = _get(group, f"{metric}_low"), _get(group, f"{metric}_high")
        inner = Markup(
            f"{shown_value(value)}{mark(group, metric) if with_mark else ''} "
            f'<span class="ci" data-low="{low}" data-high="{high}">{shown(low)}–{shown(high)}</span>'
        )
    return Markup(f'<td data-metric="{metric}" data-value="{_blank(value)}">{inner}</td>')


def change(group: Any, metric: str) -> Markup:
    """The change against the compared period (CSAT in points), with its mark, or a dash."""
    compared = (_get(group, "compare") or {}).get(metric)
    difference = _get(compared, "difference") if compared else None
    if difference is None:
        return Markup('<span class="muted">—</span>')
    if metric == "csat":
        shown = f"{difference * 100:+.1f} {escape(_('pts'))}"
    elif metric == "nps":
        shown = f"{difference:+.1f}"
    else:
        shown = f"{difference:+.2f}"
    return Markup(f"{shown}{mark(group, metric)}")


def count_cell(value: int, metric: str) -> Markup:
    """A count with thousands separators (the funnel's tables)."""
    return Markup(count_html(value, escape(metric)))


def rate_cell(value: float | None, metric: str) -> Markup:
    """A rate as a percentage, or a dash (the funnel's tables)."""
    return Markup(rate_html(value, escape(metric)))


# The same cells as plain strings, for code that writes a whole table body and makes it
# Markup once: a cell as Markup, joined as Markup, is escaped or wrapped three times over.


def count_html(value: int, metric: str) -> str:
    """count_cell's HTML, ``metric`` already escaped."""
    return f'<td data-metric="{metric}" data-value="{value}">{value:,}</td>'


def rate_html(value: float | None, metric: str) -> str:
    """rate_cell's HTML, ``metric`` already escaped."""
    return f'<td data-metric="{metric}" data-value="{_blank(value)}">{_percent(value)}</td>'


def trend_rows(trend: list[Mapping[str, Any]], grain: str, min_n: int) -> Markup:
    """The overview's trend table body: each period, "(partial)" where it is, n and CSAT.

    Written here rather than row by row in the template: a year by week is 53 rows, and the
    template's calls cost more than the cells.
    """
    partial = escape(_("(partial)"))
    rows = []
    for group in trend:
        key = escape(group["key"][grain])
        note = f' <span class="partial">{partial}</span>' if group.get("partial") else ""
        n = escape(group["n"])
        rows.append(
            f'\n      <tr data-key="{key}"><th scope="row">{key}{note}</th>'
            f'<td data-metric="n" data-value="{n}">{n}</td>{csat_cell(group, min_n, False)}</tr>\n    '
        )
    return Markup("".join(rows))


CELLS = {
    "pct": pct,
    "mark": mark,
    "hidden": hidden,
    "csat_cell": csat_cell,
    "nps_cell": nps_cell,
    "mean_cell": mean_cell,
    "change": change,
    "count_cell": count_cell,
    "rate_cell": rate_cell,
    "trend_rows": trend_rows,
}
