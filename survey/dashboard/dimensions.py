"""The dimensions page: each dimension's score and trend, and the drivers of overall satisfaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survey.dashboard.overview import RATED, by_dimension, mark_partial, scores
from survey.scoring import drivers, queries
from survey.scoring.queries import ScoreQuery


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
    for group in scores(query, min_n, (grain, "dimension"), None):
        if group["key"]["dimension"] in trend:
            trend[group["key"]["dimension"]].append(group)
    for groups in trend.values():
        mark_partial(groups, grain, query.date_from, query.date_to, queries.today())
    return Dimensions(
        min_n=min_n,
        scores=[g for g in by_dimension(query, min_n) if g["key"]["dimension"] in RATED],
        trend=trend,
        drivers=drivers.drivers(query, min_n),
        grain=grain,
    )
