"""The dimensions page: each dimension's score and trend, and the drivers of overall satisfaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from survey.dashboard.overview import RATED, by_dimension, mark_partial
from survey.models.rollup import COUNT_COLUMNS
from survey.scoring import drivers, queries
from survey.scoring.queries import ScoreQuery, Tally


@dataclass(frozen=True)
class Dimensions:
    min_n: int
    scores: list[dict[str, Any]]
    trend: dict[str, list[dict[str, Any]]]
    drivers: drivers.Drivers
    grain: str


def dimensions(query: ScoreQuery, min_n: int, grain: str) -> Dimensions:
    """Gather each dimension's scores (against the previous period), trend and driver."""
    trend: dict[str, list[dict[str, Any]]] = {d: [] for d in RATED}
    by_period = replace(query, group_by=(grain, "dimension"), compare=None)
    counted, _plan = queries.counts(by_period)
    for group in queries.scored(by_period, counted, min_n):
        if group["key"]["dimension"] in trend:
            trend[group["key"]["dimension"]].append(group)
    for groups in trend.values():
        mark_partial(groups, grain, query.date_from, query.date_to, queries.today())
    # The trend's periods add up to the whole days asked: the period's counts by dimension.
    whole = _over_periods(counted)
    return Dimensions(
        min_n=min_n,
        scores=[g for g in by_dimension(query, min_n, whole) if g["key"]["dimension"] in RATED],
        trend=trend,
        drivers=drivers.drivers(query, min_n),
        grain=grain,
    )


def _over_periods(by_period: Tally) -> Tally:
    """Counts keyed (period, dimension) added up over the periods: keyed (dimension,)."""
    total: Tally = {}
    for (_period, dimension), kinds in by_period.items():
        into = total.setdefault((dimension,), {})
        for kind, counts in kinds.items():
            summed = into.setdefault(kind, dict.fromkeys(COUNT_COLUMNS, 0))
            for name in COUNT_COLUMNS:
                summed[name] += counts[name]
    return total
