"""Complaint KPIs against the bank's commitments, as plain functions of cases and counts.

No database and no Flask here: ``complaint_cases.py`` reads the cases and their
complaint-handling answers; this module decides, for each case, whether each
commitment was met, missed or is still pending, and adds the cases up into the
figures the complaints dashboard, ``GET /api/v1/complaints`` and the period report show.

The three commitments (organisation settings, DESIGN.md):

- ``first_reply``: a first reply within N calendar hours of the opening (default 24);
  a reply at exactly N hours is within. A case resolved without a recorded first
  reply was answered by its resolution.
- ``final``: finally handled within N working days (default 5) of the admin's working
  calendar: by the end (midnight, the bank's zone) of the N-th working day after the
  day it was opened (``WorkCalendar.working_days_deadline``).
- ``regulator``: decided within the regulator's N calendar days (default 15): by the end
  of the N-th day after the day it was opened, in the bank's zone.

A case not done by its deadline is ``missed`` once the deadline has passed and
``pending`` before: an open case inside its deadline is neither met nor missed.
Shares met are of the decided cases (met + missed). Case figures count every case,
not a sample, so they carry no interval; satisfaction is a sample of the cases'
customers, so it shows its n and interval and follows the minimum n.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from survey.scoring import compare, formulas
from survey.workcal import WorkCalendar

COMMITMENTS = ("first_reply", "final", "regulator")
OUTCOMES = ("met", "missed", "pending")
# The unit each commitment's limit is counted in.
UNITS = {"first_reply": "hours", "final": "working_days", "regulator": "days"}
RATING = compare.RATING


@dataclass(frozen=True)
class Limits:
    """The commitments' limits, as the organisation settings keep them."""

    first_reply_hours: int = 24
    final_working_days: int = 5
    regulator_days: int = 15

    def of(self, commitment: str) -> int:
        return {
            "first_reply": self.first_reply_hours,
            "final": self.final_working_days,
            "regulator": self.regulator_days,
        }[commitment]


@dataclass(frozen=True)
class Case:
    """One complaint case's facts, and the counts of its complaint-handling 5-point answers."""

    opened_at: datetime
    first_reply_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_first_contact: bool | None = None
    category: str | None = None
    cause: str | None = None
    ratings: compare.Counts = compare.EMPTY


@dataclass(frozen=True)
class Deadline:
    """When a commitment falls due; ``inclusive``: done exactly at ``due`` is still in time."""

    due: datetime
    inclusive: bool

    def in_time(self, done: datetime) -> bool:
        return done <= self.due if self.inclusive else done < self.due


def deadlines(
    case: Case,
    limits: Limits,
    calendar: WorkCalendar,
    by_day: dict[date, tuple[Deadline, Deadline]] | None = None,
) -> dict[str, Deadline]:
    """Return each commitment's deadline for a case (the calendar gives the bank's zone).

    :param by_day: a cache of the day-counted deadlines by opening day, which depend on
        nothing else; a report over many cases passes one so each day is worked out once.
    """
    opened_day = calendar.local_day(case.opened_at)
    counted = by_day.get(opened_day) if by_day is not None else None
    if counted is None:
        regulator_end = datetime.combine(
            opened_day + timedelta(days=limits.regulator_days + 1), time(0), calendar.zone
        )
        counted = (
            Deadline(
                calendar.working_days_deadline(case.opened_at, limits.final_working_days),
                inclusive=False,
            ),
            Deadline(regulator_end.astimezone(UTC), inclusive=False),
        )
        if by_day is not None:
            by_day[opened_day] = counted
    return {
        "first_reply": Deadline(
            case.opened_at + timedelta(hours=limits.first_reply_hours), inclusive=True
        ),
        "final": counted[0],
        "regulator": counted[1],
    }


def done_at(case: Case, commitment: str) -> datetime | None:
    """When the case did what the commitment asks: replied (or resolved), or was resolved."""
    if commitment == "first_reply":
        replies = [t for t in (case.first_reply_at, case.resolved_at) if t is not None]
        return min(replies) if replies else None
    return case.resolved_at


def outcome(done: datetime | None, deadline: Deadline, now: datetime) -> str:
    """Met, missed, or pending (not done, and the deadline not passed yet at ``now``)."""
    if done is not None:
        return "met" if deadline.in_time(done) else "missed"
    return "pending" if deadline.in_time(now) else "missed"


def outcomes(
    case: Case,
    limits: Limits,
    calendar: WorkCalendar,
    now: datetime,
    by_day: dict[date, tuple[Deadline, Deadline]] | None = None,
) -> dict[str, str]:
    """Return each commitment's outcome for one case at ``now``."""
    found = deadlines(case, limits, calendar, by_day)
    return dict(
        zip(
            COMMITMENTS,
            _classify(case, found["final"], found["regulator"], limits, now),
            strict=True,
        )
    )


def _classify(
    case: Case, final: Deadline, regulator: Deadline, limits: Limits, now: datetime
) -> tuple[str, str, str]:
    """The three outcomes of one case, in COMMITMENTS order (a report calls this per case)."""
    first_reply_due = case.opened_at + timedelta(hours=limits.first_reply_hours)
    replied = done_at(case, "first_reply")
    if replied is not None:
        first = "met" if replied <= first_reply_due else "missed"
    else:
        first = "pending" if now <= first_reply_due else "missed"
    return (
        first,
        outcome(case.resolved_at, final, now),
        outcome(case.resolved_at, regulator, now),
    )


# --- the figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """Cases with one value of a field (a category, a cause) and their share of all cases."""

    key: str | None
    cases: int
    share: float | None


@dataclass(frozen=True)
class Commitment:
    """One commitment over the cases: met, missed, pending, and the share met of decided ones."""

    key: str
    limit: int
    unit: str
    met: int
    missed: int
    pending: int

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def share_met(self) -> float | None:
        return formulas.share(self.met, self.decided)


@dataclass(frozen=True)
class Satisfaction:
    """CSAT of complaint-handling answers: n, share 4–5 and its Wilson interval (None below min n)."""

    n: int
    csat: float | None
    csat_low: float | None
    csat_high: float | None
    mean: float | None

    @classmethod
    def of(cls, counts: compare.Counts, min_n: int) -> Satisfaction:
        interval = formulas.wilson_interval(counts.top, counts.n, min_n=min_n)
        return cls(
            n=counts.n,
            csat=formulas.csat(counts.top, counts.n, min_n=min_n),
            csat_low=interval[0] if interval else None,
            csat_high=interval[1] if interval else None,
            mean=formulas.mean(counts.total, counts.n, min_n=min_n),
        )


@dataclass(frozen=True)
class MetVersusMissed:
    """Satisfaction of the cases that met a commitment against those that missed it.

    ``difference`` is met − missed (a fraction); ``q_value`` is Benjamini–Hochberg over the
    commitments compared; ``mark`` is ▲ (met higher) or ▼ only when q < 0.05.
    """

    commitment: str
    met: Satisfaction
    missed: Satisfaction
    difference: float | None
    p_value: float | None
    q_value: float | None
    test: str | None
    mark: str | None


@dataclass(frozen=True)
class YearEarlier:
    """The same days a year earlier and how many cases were opened on them."""

    date_from: date
    date_to: date
    total: int
    change: int
    change_share: float | None  # change / total a year earlier; None when there were none


@dataclass(frozen=True)
class ComplaintReport:
    """Everything the complaints dashboard shows for a period and filters."""

    date_from: date
    date_to: date
    as_of: datetime
    min_n: int
    total: int
    open: int
    resolved: int
    year_earlier: YearEarlier
    by_category: tuple[Share, ...]
    by_cause: tuple[Share, ...]
    commitments: tuple[Commitment, ...]
    first_contact: int  # resolved cases resolved at the first contact
    satisfaction: Satisfaction
    met_versus_missed: tuple[MetVersusMissed, ...] = field(default_factory=tuple)

    @property
    def first_contact_rate(self) -> float | None:
        """Share of the resolved cases that were resolved at the first contact."""
        return formulas.share(self.first_contact, self.resolved)


@dataclass(frozen=True)
class Decided:
    """Resolved cases the database added up: how many share these facts and outcomes."""

    cases: int
    category: str | None
    cause: str | None
    first_contact: bool  # resolved at the first contact
    outcomes: tuple[str, str, str]  # met or missed, in COMMITMENTS order


@dataclass(frozen=True)
class Open:
    """Open cases the database added up at ``now``: how many share these facts and outcomes.

    Pending while a deadline is ahead, missed once it passed; a first reply given is met or
    missed (survey.scoring.complaint_open).
    """

    cases: int
    category: str | None
    cause: str | None
    outcomes: tuple[str, str, str]  # in COMMITMENTS order


# The same days a year earlier: the scores engine's own (compare=year).
year_earlier = compare.year_earlier


def distribution(
    values: Iterable[str | None],
    known: Sequence[str],
    counted_already: Iterable[tuple[str | None, int]] = (),
) -> tuple[Share, ...]:
    """Count values in the order given, then any other (None: not given), with their shares.

    :param counted_already: values counted elsewhere (the database), with how many each.
    """
    counted: dict[str | None, int] = dict.fromkeys(known, 0)
    for value, cases in counted_already:
        counted[value] = counted.get(value, 0) + cases
    for value in values:
        counted[value] = counted.get(value, 0) + 1
    total = sum(counted.values())
    return tuple(
        Share(key, cases, formulas.share(cases, total))
        for key, cases in counted.items()
        if key in known or cases
    )


def report(
    cases: Sequence[Case],
    *,
    date_from: date,
    date_to: date,
    year_earlier_total: int,
    limits: Limits,
    calendar: WorkCalendar,
    now: datetime,
    min_n: int,
    categories: Sequence[str],
    causes: Sequence[str],
    decided: Sequence[Decided] = (),
    decided_ratings: dict[tuple[str, str, str], compare.Counts] | None = None,
    still_open: Sequence[Open] = (),
    open_ratings: dict[tuple[str, str, str], compare.Counts] | None = None,
) -> ComplaintReport:
    """Add the cases up into the dashboard's figures at ``now``.

    :param cases: the cases to work out one by one.
    :param decided: resolved cases already added up by their stored outcomes, and
        ``decided_ratings`` their complaint-handling answers by the same outcomes.
    :param still_open: open cases already added up by their outcomes at ``now``, and
        ``open_ratings`` their answers by the same outcomes (a pending one is neither
        met nor missed: its answers count in the satisfaction of every case only).
    """
    tallies = {name: dict.fromkeys(OUTCOMES, 0) for name in COMMITMENTS}
    ratings = {name: {"met": compare.EMPTY, "missed": compare.EMPTY} for name in COMMITMENTS}
    everyone = compare.EMPTY
    resolved = first_contact = 0
    for group in decided:
        resolved += group.cases
        first_contact += group.cases if group.first_contact else 0
    for group in (*decided, *still_open):
        for name, result in zip(COMMITMENTS, group.outcomes, strict=True):
            tallies[name][result] += group.cases
    for outcomes_of, counts in (*(decided_ratings or {}).items(), *(open_ratings or {}).items()):
        everyone += counts
        for name, result in zip(COMMITMENTS, outcomes_of, strict=True):
            if result != "pending":
                ratings[name][result] += counts
    by_day: dict[date, tuple[Deadline, Deadline]] = {}
    for case in cases:
        rated = case.ratings.n > 0  # most cases have no answer: nothing to add
        if rated:
            everyone += case.ratings
        if case.resolved_at is not None:
            resolved += 1
            first_contact += case.resolved_first_contact is True
        day = calendar.local_day(case.opened_at)
        counted = by_day.get(day)
        if counted is None:
            found = deadlines(case, limits, calendar, by_day)
            counted = (found["final"], found["regulator"])
        results = _classify(case, counted[0], counted[1], limits, now)
        for name, result in zip(COMMITMENTS, results, strict=True):
            tallies[name][result] += 1
            if rated and result != "pending":
                ratings[name][result] += case.ratings
    added_up = (*decided, *still_open)
    total = len(cases) + sum(group.cases for group in added_up)
    before_from, before_to = year_earlier(date_from, date_to)
    return ComplaintReport(
        date_from=date_from,
        date_to=date_to,
        as_of=now,
        min_n=min_n,
        total=total,
        open=total - resolved,
        resolved=resolved,
        year_earlier=YearEarlier(
            before_from,
            before_to,
            year_earlier_total,
            total - year_earlier_total,
            formulas.share(total - year_earlier_total, year_earlier_total),
        ),
        by_category=distribution(
            (c.category for c in cases), categories, ((g.category, g.cases) for g in added_up)
        ),
        by_cause=distribution(
            (c.cause for c in cases), causes, ((g.cause, g.cases) for g in added_up)
        ),
        commitments=tuple(
            Commitment(name, limits.of(name), UNITS[name], **tallies[name]) for name in COMMITMENTS
        ),
        first_contact=first_contact,
        satisfaction=Satisfaction.of(everyone, min_n),
        met_versus_missed=met_versus_missed(ratings, min_n),
    )


def met_versus_missed(
    ratings: dict[str, dict[str, compare.Counts]], min_n: int
) -> tuple[MetVersusMissed, ...]:
    """Compare each commitment's met cases' CSAT with its missed cases' (BH over commitments)."""
    names = [name for name in COMMITMENTS if name in ratings]
    table = [({RATING: ratings[name]["met"]}, {RATING: ratings[name]["missed"]}) for name in names]
    rows = compare.compare_table(table, min_n)
    return tuple(
        MetVersusMissed(
            commitment=name,
            met=Satisfaction.of(ratings[name]["met"], min_n),
            missed=Satisfaction.of(ratings[name]["missed"], min_n),
            difference=row["csat"].difference,
            p_value=row["csat"].p_value,
            q_value=row["csat"].q_value,
            test=row["csat"].test,
            mark=row["csat"].mark,
        )
        for name, row in zip(names, rows, strict=True)
    )


# --- as the API shows it --------------------------------------------------------------------


def as_json(found: ComplaintReport) -> dict[str, Any]:
    """Return the report as GET /api/v1/complaints answers it (shares rounded to 4 digits)."""
    return {
        "from": found.date_from.isoformat(),
        "to": found.date_to.isoformat(),
        "as_of": found.as_of.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "min_n": found.min_n,
        "cases": {"total": found.total, "open": found.open, "resolved": found.resolved},
        "year_earlier": {
            "from": found.year_earlier.date_from.isoformat(),
            "to": found.year_earlier.date_to.isoformat(),
            "total": found.year_earlier.total,
            "change": found.year_earlier.change,
            "change_share": _round(found.year_earlier.change_share),
        },
        "by_category": [_share(s) for s in found.by_category],
        "by_cause": [_share(s) for s in found.by_cause],
        "commitments": [
            {
                "commitment": c.key,
                "limit": c.limit,
                "unit": c.unit,
                "met": c.met,
                "missed": c.missed,
                "pending": c.pending,
                "decided": c.decided,
                "share_met": _round(c.share_met),
            }
            for c in found.commitments
        ],
        "first_contact": {
            "resolved": found.resolved,
            "first_contact": found.first_contact,
            "rate": _round(found.first_contact_rate),
        },
        "satisfaction": _satisfaction(found.satisfaction),
        "met_versus_missed": [
            {
                "commitment": m.commitment,
                "met": _satisfaction(m.met),
                "missed": _satisfaction(m.missed),
                "difference": _round(m.difference),
                "p_value": m.p_value,
                "q_value": m.q_value,
                "test": m.test,
                "mark": m.mark,
            }
            for m in found.met_versus_missed
        ],
    }


def _share(share: Share) -> dict[str, Any]:
    return {"key": share.key, "cases": share.cases, "share": _round(share.share)}


def _satisfaction(found: Satisfaction) -> dict[str, Any]:
    return {
        "n": found.n,
        "csat": _round(found.csat),
        "csat_low": _round(found.csat_low),
        "csat_high": _round(found.csat_high),
        "mean": None if found.mean is None else round(found.mean, 3),
    }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
