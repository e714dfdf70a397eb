"""The overview page: headline scores and dimensions against the previous period, and the trend.

Everything is read through ``scoring.queries`` (the rollup), never from raw answers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from survey.models.rollup import COUNT_COLUMNS
from survey.scoring import compare, comparisons, queries
from survey.scoring.queries import ScoreQuery, Tally

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


def by_dimension(
    query: ScoreQuery, min_n: int, counted: Tally | None = None
) -> list[dict[str, Any]]:
    """Each dimension's scores, against the previous period, in the bank's order.

    :param counted: the period's counts by dimension when the page has them already.
    """
    groups, _before = _by_dimension(query, min_n, counted)
    return groups


def _by_dimension(
    query: ScoreQuery, min_n: int, counted: Tally | None = None
) -> tuple[list[dict[str, Any]], Tally]:
    """The scores by dimension in the bank's order, and the previous period's counts."""
    asked = replace(query, group_by=("dimension",), compare="previous")
    now = counted if counted is not None else queries.counts(asked)[0]
    first, last = compare.previous_period(query.date_from, query.date_to)
    before, _plan = queries.counts(replace(asked, date_from=first, date_to=last, compare=None))
    found = {key: comparisons.kinds_of(before.get(key, {})) for key in now}
    by_key = {g["key"]["dimension"]: g for g in queries.scored(asked, now, min_n, found=found)}
    return [by_key[d] for d in DIMENSION_ORDER if d in by_key], before


def without_dimension(by_dimension: Tally) -> Tally:
    """Counts keyed (…, dimension) added up over the dimensions, as a query not grouped by it reads them.

    Without a dimension grouped or filtered, CSAT and the mean read the overall question
    and NPS and CES every question of their kind (survey.scoring.queries._part_select);
    a group with no such answer is left out, as that query finds no row for it.
    """
    total: Tally = {}
    for key, kinds in by_dimension.items():
        for kind, counts in kinds.items():
            if kind == "rating_5" and key[-1] != "overall":
                continue
            summed = total.setdefault(key[:-1], {}).setdefault(
                kind, dict.fromkeys(COUNT_COLUMNS, 0)
            )
            for name in COUNT_COLUMNS:
                summed[name] += counts[name]
    return total


def headline_counts(by_dimension: Tally) -> Tally:
    """The whole table's counts (one group, keyed ()) from its counts by dimension."""
    return {(): without_dimension(by_dimension).get((), {})}


def overview(query: ScoreQuery, min_n: int, grain: str) -> Overview:
    """Gather what the overview page shows for a query's days and filters.

    The headline is the sum of the dimensions (both periods), so the page reads the rollup
    three times where the API's three calls read it five times; with a dimension filter the
    headline reads what the filter keeps and is asked for itself.
    """
    if "dimension" in query.filters:
        [headline] = scores(query, min_n, (), "previous")
        dimensions = by_dimension(query, min_n)
    else:
        now, _plan = queries.counts(replace(query, group_by=("dimension",), compare=None))
        dimensions, before = _by_dimension(query, min_n, now)
        whole = replace(query, group_by=(), compare="previous")
        found = {(): comparisons.kinds_of(headline_counts(before)[()])}
        [headline] = queries.scored(whole, headline_counts(now), min_n, found=found)
    trend = scores(query, min_n, (grain,), None)
    mark_partial(trend, grain, query.date_from, query.date_to, queries.today())
    return Overview(
        query=query,
        min_n=min_n,
        previous=compare.previous_period(query.date_from, query.date_to),
        headline=headline,
        by_dimension=dimensions,
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
