"""The overview page: headline scores and dimensions against the previous period, and the trend.

Everything is read through ``scoring.queries`` (the rollup), never from raw answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from survey.scoring import compare, queries
from survey.scoring.queries import ScoreQuery

DIMENSION_ORDER = ("attitude", "wait_time", "products", "complaint_handling", "overall")
RATED = DIMENSION_ORDER[:4]


@dataclass(frozen=True)
class Overview:
    query: ScoreQuery
    min_n: int
    previous: tuple[date, date]
    headline: dict[str, Any]
    by_dimension: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    grain: str


def scores(query: ScoreQuery, min_n: int, group_by: tuple[str, ...], against: str | None):
    """Ask the scores engine for one grouping of a page's query (the API's exact numbers)."""
    return queries.scores(replace(query, group_by=group_by, compare=against), min_n)


def by_dimension(query: ScoreQuery, min_n: int) -> list[dict[str, Any]]:
    """Each dimension's scores, against the previous period, in the bank's order."""
    found = {g["key"]["dimension"]: g for g in scores(query, min_n, ("dimension",), "previous")}
    return [found[d] for d in DIMENSION_ORDER if d in found]


def overview(query: ScoreQuery, min_n: int, grain: str) -> Overview:
    """Gather what the overview page shows for a query's days and filters."""
    [headline] = scores(query, min_n, (), "previous")
    trend = scores(query, min_n, (grain,), None)
    mark_partial(trend, grain, query.date_from, query.date_to, queries.today())
    return Overview(
        query=query,
        min_n=min_n,
        previous=compare.previous_period(query.date_from, query.date_to),
        headline=headline,
        by_dimension=by_dimension(query, min_n),
        trend=trend,
        grain=grain,
    )


def span(key: str, grain: str) -> tuple[date, date]:
    """Return the first and last day of a day, week (Monday first) or month key."""
    if grain == "month":
        first = date.fromisoformat(key + "-01")
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return first, following - timedelta(days=1)
    first = date.fromisoformat(key)
    if grain == "week":
        first -= timedelta(days=first.weekday())
        return first, first + timedelta(days=6)
    return first, first


def mark_partial(
    groups: list[dict[str, Any]], grain: str, date_from: date, date_to: date, today: date
) -> None:
    """Mark each period not wholly inside the days asked for, or not finished today, as partial."""
    for group in groups:
        first, last = span(group["key"][grain], grain)
        group["partial"] = first < date_from or last > date_to or last >= today
