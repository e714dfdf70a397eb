"""Compare groups of a score table with their references: difference, p, BH q and a mark.

Pure functions of counts, like ``formulas`` and ``stats``: the caller reads the
counts (from the rollup) and passes, per row of its table, the group's counts and
its reference's. Two references are meant (issue 11):

- ``compare=previous``: the same group in the previous period of the same length
  (``previous_period``: for 2026-11-01..2026-11-30, the 30 days 2026-10-02..2026-10-31);
- ``compare=year``: the same group over the same days a year earlier (``year_earlier``);
- ``compare=rest``: the group's parent total minus the group (``rest(parent, group)``).
  The parent of a team is its business line, of an agent its team, of any other
  field the whole filtered population (every group of the table summed).

A sketch of the wiring in survey/scoring/queries.py, where ``sums`` maps each group
key to its counts per kind::

    table = [(kinds_of(sums[key]), kinds_of(reference_sums.get(key, {}))) for key in keys]
    for group, row in zip(groups, compare_table(table, min_n), strict=True):
        group["compare"] = row_json(row)

with ``kinds_of(d) = {kind: Counts.from_mapping(c) for kind, c in d.items()}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from survey.scoring import formulas, stats

# Rollup kinds the comparisons read: CSAT and the mean from rating_5, NPS from nps_0_10.
RATING = "rating_5"
NPS = "nps_0_10"
METRICS = ("csat", "nps", "mean")
# A comparison is marked when its BH-adjusted q-value is below this.
Q_LEVEL = 0.05
UP, DOWN = "▲", "▼"


@dataclass(frozen=True)
class Counts:
    """One kind's counts, as a rollup row keeps them: n, Σ, Σ², top and bottom answers."""

    n: int = 0
    total: int = 0
    total_sq: int = 0
    top: int = 0
    bottom: int = 0

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> Counts:
        """Read counts from a mapping with (some of) the five column names; missing ones are 0."""
        get = row.get
        return cls(
            int(get("n") or 0),
            int(get("total") or 0),
            int(get("total_sq") or 0),
            int(get("top") or 0),
            int(get("bottom") or 0),
        )

    # Field by field, not through dataclasses.fields(): a table compared with the rest
    # adds and subtracts these a few times per group.
    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.n + other.n,
            self.total + other.total,
            self.total_sq + other.total_sq,
            self.top + other.top,
            self.bottom + other.bottom,
        )

    def __sub__(self, other: Counts) -> Counts:
        """Return the counts of the answers in self and not in other (other must be a part of self)."""
        result = Counts(
            self.n - other.n,
            self.total - other.total,
            self.total_sq - other.total_sq,
            self.top - other.top,
            self.bottom - other.bottom,
        )
        if min(result.n, result.total, result.total_sq, result.top, result.bottom) < 0:
            raise ValueError(f"{other} is not a part of {self}")
        return result


def previous_period(date_from: date, date_to: date) -> tuple[date, date]:
    """Return the period of the same length that ends the day before ``date_from`` (inclusive days)."""
    length = date_to - date_from + timedelta(days=1)
    return date_from - length, date_from - timedelta(days=1)


def year_earlier(date_from: date, date_to: date) -> tuple[date, date]:
    """Return the same days a year earlier (29 February becomes the 28th).

    For a month, a quarter or a year this is the period the bank's annual summary
    compares with ("change against the same period a year earlier").
    """
    return _a_year_before(date_from), _a_year_before(date_to)


def _a_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def reference_period(against: str, date_from: date, date_to: date) -> tuple[date, date]:
    """Return the days a period is compared with: ``previous`` or ``year`` (a year earlier)."""
    if against == "year":
        return year_earlier(date_from, date_to)
    return previous_period(date_from, date_to)


# Counts per kind ("rating_5", "nps_0_10", …); a kind left out has no answers.
Kinds = Mapping[str, Counts]
EMPTY = Counts()


def rest(parent: Kinds, group: Kinds) -> dict[str, Counts]:
    """Return the parent's counts minus the group's, per kind: "the rest of its parent"."""
    return {kind: counts - group.get(kind, EMPTY) for kind, counts in parent.items()}


def total(groups: Sequence[Kinds]) -> dict[str, Counts]:
    """Return the counts of several groups added up per kind (a parent made of its children)."""
    summed: dict[str, Counts] = {}
    for kinds in groups:
        for kind, counts in kinds.items():
            summed[kind] = summed.get(kind, EMPTY) + counts
    return summed


@dataclass(frozen=True)
class Comparison:
    """One metric of one group against its reference.

    ``difference`` is group − reference: CSAT as a fraction, NPS in points, the mean in
    scale points; None when either side is below the minimum n (no score, no difference).
    ``p_value`` and ``test`` are None when no test can be made; ``q_value`` is the
    Benjamini–Hochberg adjusted p within the table; ``mark`` is ▲ or ▼ only when q < 0.05.
    """

    difference: float | None = None
    p_value: float | None = None
    q_value: float | None = None
    test: str | None = None
    mark: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return it as the API shows it."""
        return {
            "difference": self.difference,
            "p_value": self.p_value,
            "q_value": self.q_value,
            "test": self.test,
            "mark": self.mark,
        }


def compare_pair(group: Kinds, reference: Kinds, min_n: int) -> dict[str, Comparison]:
    """Return the difference and unadjusted test of CSAT, NPS and the mean of one pair (no q yet)."""
    g_rating, r_rating = group.get(RATING, EMPTY), reference.get(RATING, EMPTY)
    g_nps, r_nps = group.get(NPS, EMPTY), reference.get(NPS, EMPTY)
    result = {metric: Comparison() for metric in METRICS}
    if formulas.enough(g_rating.n, min_n) and formulas.enough(r_rating.n, min_n):
        csat = stats.csat_test(g_rating.top, g_rating.n, r_rating.top, r_rating.n)
        result["csat"] = _tested(g_rating.top / g_rating.n - r_rating.top / r_rating.n, csat)
        welch = stats.welch_test(
            g_rating.n,
            g_rating.total,
            g_rating.total_sq,
            r_rating.n,
            r_rating.total,
            r_rating.total_sq,
        )
        result["mean"] = _tested(g_rating.total / g_rating.n - r_rating.total / r_rating.n, welch)
    if formulas.enough(g_nps.n, min_n) and formulas.enough(r_nps.n, min_n):
        nps = stats.nps_test(g_nps.top, g_nps.bottom, g_nps.n, r_nps.top, r_nps.bottom, r_nps.n)
        difference = (g_nps.top - g_nps.bottom) / g_nps.n - (r_nps.top - r_nps.bottom) / r_nps.n
        result["nps"] = _tested(difference * 100, nps)
    return result


def _tested(difference: float, result: stats.TestResult | None) -> Comparison:
    if result is None:
        return Comparison(difference=difference)
    return Comparison(difference=difference, p_value=result.p_value, test=result.test)


def compare_table(table: Sequence[tuple[Kinds, Kinds]], min_n: int) -> list[dict[str, Comparison]]:
    """Compare every row of a score table with its reference; adjust p within the table.

    :param table: per row (group), its counts per kind and its reference's counts per
        kind, as ``Counts`` keyed by rollup kind (``rating_5``, ``nps_0_10``). For
        ``compare=rest`` the reference is ``rest(parent, group)``; for
        ``compare=previous`` the same group's counts over the previous period.
    :param min_n: the organisation's minimum n; below it on either side, no difference
        and no test for that metric.
    :return: per row, in the same order, ``{"csat", "nps", "mean"}`` → ``Comparison``,
        with ``q_value`` the Benjamini–Hochberg adjustment of that metric's p-values over
        the whole table (rows without a test neither get one nor count in m).
    """
    rows = [compare_pair(group, reference, min_n) for group, reference in table]
    for metric in METRICS:
        q_values = stats.bh_qvalues([row[metric].p_value for row in rows])
        for row, q in zip(rows, q_values, strict=True):
            if q is not None:
                row[metric] = _adjusted(row[metric], q)
    return rows


def _adjusted(comparison: Comparison, q: float) -> Comparison:
    mark = None
    if q < Q_LEVEL and comparison.difference:
        mark = UP if comparison.difference > 0 else DOWN
    return Comparison(comparison.difference, comparison.p_value, q, comparison.test, mark)


def row_json(row: Mapping[str, Comparison]) -> dict[str, dict[str, Any]]:
    """Return one row's comparisons as the API shows them, by metric."""
    return {metric: row[metric].as_json() for metric in METRICS}
