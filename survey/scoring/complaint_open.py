"""The open complaint cases of a period, added up in SQL by their outcomes at ``now``.

A case still open has done nothing towards its final and regulator commitments, and its
outcome of each is pending while ``now`` is before the deadline, missed after. That
deadline depends only on the day the case was opened (survey.scoring.complaints.deadlines),
and never comes earlier for a later day: so a case is pending exactly when it was opened
at or after one instant, the start of the first day whose deadline is after ``now``
(``pending_from``, found by walking the working calendar), and the database can tell
pending from missed by comparing the opening with it. Its first reply is pending while
``now`` is at or before the opening plus N hours (opened at or after ``now`` − N hours),
and once replied, met when the reply came within N hours of the opening: a comparison of
two columns, the opening moved by N whole hours in SQL.

So the open cases are counted by category, cause and outcomes with ``GROUP BY``, and their
complaint-handling answers by outcomes, instead of being read and worked out one by one:
the same figures (tests/test_complaint_open.py holds both ways to the digit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from survey.extensions import db
from survey.models import ComplaintCase, Interaction
from survey.scoring import compare, complaints
from survey.workcal import MAX_DAYS, WorkCalendar

Outcomes = tuple[str, str, str]


@dataclass(frozen=True)
class PendingFrom:
    """The earliest opening at which a case not done yet is still pending at ``now``, by commitment."""

    first_reply: datetime
    final: datetime
    regulator: datetime


def pending_from(limits: complaints.Limits, calendar: WorkCalendar, now: datetime) -> PendingFrom:
    """Return, for each commitment, the instant from which an open case opened is pending at ``now``."""

    def due(day: date) -> tuple[complaints.Deadline, complaints.Deadline]:
        found = complaints.deadlines(
            complaints.Case(opened_at=_start(day, calendar)), limits, calendar
        )
        return found["final"], found["regulator"]

    def first_pending_day(which: int) -> date:
        # Pending on day d: now is in time for d's deadline; false, then true, as d grows.
        def pending(day: date) -> bool:
            return due(day)[which].in_time(now)

        day = calendar.local_day(now)
        for _ in range(MAX_DAYS):
            if pending(day):
                if not pending(day - timedelta(days=1)):
                    return day
                day -= timedelta(days=1)
            else:
                day += timedelta(days=1)
        raise ValueError("no deadline in the calendar")

    return PendingFrom(
        first_reply=now - timedelta(hours=limits.first_reply_hours),
        final=_start(first_pending_day(0), calendar),
        regulator=_start(first_pending_day(1), calendar),
    )


def _start(day: date, calendar: WorkCalendar) -> datetime:
    """Midnight at the start of a day in the bank's zone, in UTC."""
    return datetime.combine(day, time(0), calendar.zone).astimezone(UTC)


def outcome_columns(
    limits: complaints.Limits, found: PendingFrom
) -> tuple[sa.ColumnElement[str], sa.ColumnElement[str], sa.ColumnElement[str]]:
    """Each commitment's outcome of an open case at ``now``, as SQL (COMMITMENTS order)."""
    opened = sa.func.coalesce(ComplaintCase.opened_at, ComplaintCase.created_at)
    replied = ComplaintCase.first_reply_at
    first_reply = sa.case(
        (replied.is_(None), sa.case((opened >= found.first_reply, "pending"), else_="missed")),
        (replied <= _plus_hours(opened, limits.first_reply_hours), "met"),
        else_="missed",
    )
    final = sa.case((opened >= found.final, "pending"), else_="missed")
    regulator = sa.case((opened >= found.regulator, "pending"), else_="missed")
    return first_reply.label("first_reply"), final.label("final"), regulator.label("regulator")


def _plus_hours(instant: sa.ColumnElement[Any], hours: int) -> sa.ColumnElement[Any]:
    """An instant column moved by whole hours, exactly, as this database compares instants."""
    if db.engine.dialect.name == "postgresql":
        return instant + sa.literal(timedelta(hours=hours), sa.Interval())
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): move the whole seconds, keep the
    # fraction as written (datetime() would round it to milliseconds).
    moved = sa.func.datetime(sa.func.substr(instant, 1, 19), f"{hours:+d} hours")
    return moved.op("||")(sa.func.substr(instant, 20))


def tally(
    open_cases: list[Any],
    limits: complaints.Limits,
    calendar: WorkCalendar,
    now: datetime,
    answers_by: Callable[..., sa.Select[Any]],
) -> tuple[list[complaints.Open], dict[Outcomes, compare.Counts]]:
    """Count the open cases by category, cause and outcomes at ``now``, and their answers by outcomes.

    :param open_cases: the conditions that choose the open cases.
    :param answers_by: the counted complaint-handling answers of the cases these conditions
        choose, grouped by the keys given (survey.scoring.complaint_cases builds it).
    """
    columns = outcome_columns(limits, pending_from(limits, calendar, now))
    keys = (ComplaintCase.category, ComplaintCase.cause, *columns)
    rows = db.session.execute(
        sa.select(*keys, sa.func.count()).where(*open_cases).group_by(*keys)
    ).all()
    groups = [
        complaints.Open(int(cases), category, cause, (first, final, regulator))
        for category, cause, first, final, regulator, cases in rows
    ]
    answers = answers_by(open_cases, *columns).join(
        ComplaintCase, ComplaintCase.id == Interaction.complaint_case_id
    )
    ratings = {
        (first, final, regulator): compare.Counts(*(int(v) for v in counts))
        for first, final, regulator, *counts in db.session.execute(answers)
    }
    return groups, ratings
