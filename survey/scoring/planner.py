"""Choose the rollup tables that answer a score query exactly, at the least cost.

A table can answer a query when it keeps every field the query groups or filters
by, and its grain divides the requested time grouping (a day table answers days,
weeks and months; a week table weeks or no time grouping; a month table months or
none; a quarter table none). A week, month or quarter table covers only the whole
weeks, months or quarters inside the range: the days before the first and after the
last come from finer tables, so 1 March to 20 May 2026 reads March and April by month,
4–17 May (Monday to Sunday) by week, and 1–3 and 18–20 May by day, when tables of
those grains have the fields; and 1 July 2025 to 30 June 2026 by agent reads four
quarters.

Of the plans that answer the query, the one with the least estimated rows read
wins (each table's ``rows_per_period`` times the periods it reads, plus a fixed
cost per table read). The estimate only ranks plans: every plan gives the same
numbers, which tests/test_planner.py checks against the finest table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from survey.models.rollup import CUBOIDS, FINEST, GRAINS, Cuboid
from survey.scoring.rollup import month_of, quarter_of, week_of

TIME_FIELDS = ("day", "week", "month")
# Query fields and the rollup column each one reads.
FIELD_COLUMNS = {
    "dimension": "dimension",
    "business_line": "business_line_id",
    "team": "team_id",
    "agent": "agent_id",
    "channel": "channel",
    "survey_channel": "survey_channel",
    "category": "category",
    "type": "interaction_type",
    "survey": "survey_id",
    "cause": "cause",
}
# Near the last day a date can hold, the next period's start would overflow: from here on
# (the last quarter a date holds) a plan reads days.
LAST_PLANNED_DAY = date(9999, 10, 1)
# A read's fixed cost, in rows: a statement, a plan, an index descent.
READ_COST = 40


@dataclass(frozen=True)
class Part:
    """Read one table over a range of its periods (inclusive, as period start days)."""

    cuboid: Cuboid
    first: date
    last: date

    def periods(self) -> int:
        if self.cuboid.grain == "day":
            return (self.last - self.first).days + 1
        if self.cuboid.grain == "week":
            return (self.last - self.first).days // 7 + 1
        months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month
        return months // 3 + 1 if self.cuboid.grain == "quarter" else months + 1

    def describe(self) -> str:
        return f"{self.cuboid.name}[{self.first.isoformat()}..{self.last.isoformat()}]"


@dataclass(frozen=True)
class Plan:
    parts: tuple[Part, ...]

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables read, in order, each once."""
        return tuple(dict.fromkeys(p.cuboid.name for p in self.parts))

    def cost(self) -> int:
        return sum(READ_COST + p.cuboid.rows_per_period * p.periods() for p in self.parts)

    def describe(self) -> str:
        return " + ".join(p.describe() for p in self.parts)


def needed_columns(group_by: Iterable[str], filters: Iterable[str]) -> set[str]:
    """The rollup columns a query groups or filters by (kind and dimension always)."""
    names = {*group_by, *filters} - set(TIME_FIELDS)
    return {"kind", "dimension", *(FIELD_COLUMNS[n] for n in names)}


def _answers_grouping(cuboid: Cuboid, group_by: Iterable[str]) -> bool:
    times = {g for g in group_by if g in TIME_FIELDS}
    return cuboid.grain == "day" or times <= {cuboid.grain}


def plan(
    date_from: date,
    date_to: date,
    group_by: tuple[str, ...],
    filters: Iterable[str],
    cuboids: tuple[Cuboid, ...] = CUBOIDS,
) -> Plan:
    """Return the cheapest plan of reads that answers a query exactly."""
    return plan_reading(needed_columns(group_by, filters), date_from, date_to, group_by, cuboids)


def plan_reading(
    needed: set[str],
    date_from: date,
    date_to: date,
    group_by: tuple[str, ...],
    cuboids: tuple[Cuboid, ...],
) -> Plan:
    """Return the cheapest plan over some tables that keep the columns ``needed``.

    The scores' rollups and the response funnel's (survey.funnel.report) plan alike.
    """
    able = [c for c in cuboids if needed <= set(c.fields) and _answers_grouping(c, group_by)]
    days = [c for c in able if c.grain == "day"]
    if not days:
        raise ValueError(f"no rollup table keeps {sorted(needed)} by day")
    edge = min(days, key=lambda c: c.rows_per_period)
    coarse = _cheapest_per_grain([c for c in able if c.grain != "day"])
    if date_to >= LAST_PLANNED_DAY:
        coarse = []
    return Plan(tuple(sorted(_cover(date_from, date_to, edge, coarse), key=lambda p: p.first)))


def _cheapest_per_grain(cuboids: list[Cuboid]) -> list[Cuboid]:
    """Of the tables of each grain, the one with the fewest rows a period, in their order.

    Tables of one grain read the same periods and leave the same days around them, so
    the others could only cost more; leaving them out spares the search (every week,
    month and quarter table that keeps the fields, tried with each other at both ends).
    """
    cheapest: dict[str, Cuboid] = {}
    for cuboid in cuboids:
        kept = cheapest.get(cuboid.grain)
        if kept is None or cuboid.rows_per_period < kept.rows_per_period:
            cheapest[cuboid.grain] = cuboid
    return [c for c in cuboids if cheapest[c.grain] is c]


def _cover(date_from: date, date_to: date, edge: Cuboid, coarse: list[Cuboid]) -> list[Part]:
    """The cheapest reads that cover a range of days exactly: whole periods, and days.

    The days around a coarse table's whole periods are covered the same way by the tables
    of finer grains (fewer days than one of its periods hold no whole period as long), so
    a year not aligned to quarters can read quarters, then months, then weeks, then days
    at either end.
    """
    best = [Part(edge, date_from, date_to)]
    for cuboid in coarse:
        whole = _whole_periods(cuboid.grain, date_from, date_to)
        if whole is None:
            continue
        (inner_from, inner_to), (first, last) = whole
        finer = [c for c in coarse if GRAINS.index(c.grain) < GRAINS.index(cuboid.grain)]
        parts = [Part(cuboid, first, last)]
        if date_from < inner_from:
            parts = _cover(date_from, inner_from - timedelta(days=1), edge, finer) + parts
        if inner_to < date_to:
            parts = parts + _cover(inner_to + timedelta(days=1), date_to, edge, finer)
        if Plan(tuple(parts)).cost() < Plan(tuple(best)).cost():
            best = parts
    return best


def finest(date_from: date, date_to: date) -> Plan:
    """The plan that reads only the finest table, by day: what every other plan must equal."""
    return Plan((Part(FINEST, date_from, date_to),))


def _whole_periods(
    grain: str, date_from: date, date_to: date
) -> tuple[tuple[date, date], tuple[date, date]] | None:
    """The days and period starts of the whole weeks, months or quarters in a range, or None."""
    if grain == "week":
        first = week_of(date_from + timedelta(days=6))  # the first Monday on or after date_from
        last = week_of(date_to + timedelta(days=1)) - timedelta(days=7)  # the last whole week
        if last < first:
            return None
        return (first, last + timedelta(days=6)), (first, last)
    if grain == "quarter":
        first = quarter_of(date_from)
        if first != date_from:
            first = _next_quarter(first)
        end = quarter_of(date_to + timedelta(days=1))  # the day after the last whole quarter
        last = _previous_month(_previous_month(_previous_month(end)))
        if last < first:
            return None
        return (first, end - timedelta(days=1)), (first, last)
    first = month_of(date_from) if date_from.day == 1 else _next_month(date_from)
    end = date_to + timedelta(days=1)
    last = _previous_month(month_of(end))
    if last < first:
        return None
    return (first, month_of(end) - timedelta(days=1)), (first, last)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _next_quarter(first_of_quarter: date) -> date:
    return _next_month(_next_month(_next_month(first_of_quarter)))


def _previous_month(first_of_month: date) -> date:
    return (first_of_month - timedelta(days=1)).replace(day=1)
