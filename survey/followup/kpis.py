"""Follow-up figures for the dashboard: how the bank closes the loop with unhappy customers.

For a period of days in the bank's zone: cases opened; responses that met a rule but
opened no case, by reason; the share of due cases closed by their due time; the
outcomes of the cases closed; and the later satisfaction (overall CSAT of their next
answers) of customers who were reached against those who were not. Shares follow the
scores' rule: below the minimum n they are not shown, only their n.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import Answer, FollowUpCase, Invitation, Question, Response
from survey.models.followup import CASE_OUTCOMES
from survey.models.response import NO_CASE_REASONS
from survey.scoring import formulas

REACHED = ("reached_resolved", "reached_unresolved")


@dataclass(frozen=True)
class Share:
    """A share with its n and Wilson 95% interval; ``value`` None below the minimum n."""

    hits: int
    n: int
    value: float | None
    low: float | None = None
    high: float | None = None

    @classmethod
    def of(cls, hits: int, n: int, min_n: int) -> Share:
        interval = formulas.wilson_interval(hits, n, min_n=min_n)
        value = formulas.share(hits, n, min_n)
        return cls(hits, n, value, *(interval or (None, None)))


@dataclass
class FollowUpFigures:
    opened: int = 0
    not_opened: dict[str, int] = field(default_factory=dict)
    on_time: Share | None = None
    outcomes: dict[str, Share] = field(default_factory=dict)
    later_reached: Share | None = None
    later_not_reached: Share | None = None


def _bounds(date_from: date, date_to: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(date_from, time.min, zone)
    return start, datetime.combine(date_to + timedelta(days=1), time.min, zone)


def figures(date_from: date, date_to: date, zone: str, min_n: int) -> FollowUpFigures:
    """The follow-up figures of the days ``date_from``–``date_to`` in the bank's zone."""
    start, end = _bounds(date_from, date_to, ZoneInfo(zone))
    now = clock.now()
    in_period = sa.and_(FollowUpCase.opened_at >= start, FollowUpCase.opened_at < end)
    closed_in_period = sa.and_(FollowUpCase.closed_at >= start, FollowUpCase.closed_at < end)
    # Cases of the period that are due: closed, or open past their due time.
    due = sa.and_(in_period, sa.or_(FollowUpCase.state == "closed", FollowUpCase.due_at <= now))
    on_time = sa.and_(
        due, FollowUpCase.state == "closed", FollowUpCase.closed_at <= FollowUpCase.due_at
    )
    # One reading of the cases for the four counts, by outcome (the closed ones' shares).
    opened = due_n = on_time_n = 0
    by_outcome: dict[str, int] = {}
    for outcome, *counts in db.session.execute(
        sa.select(
            FollowUpCase.outcome,
            sa.func.count().filter(in_period),
            sa.func.count().filter(due),
            sa.func.count().filter(on_time),
            sa.func.count().filter(closed_in_period),
        )
        .where(sa.or_(in_period, closed_in_period))
        .group_by(FollowUpCase.outcome)
    ):
        opened += int(counts[0])
        due_n += int(counts[1])
        on_time_n += int(counts[2])
        if counts[3]:
            by_outcome[outcome] = int(counts[3])
    closed_n = sum(by_outcome.values())
    reasons = dict.fromkeys(NO_CASE_REASONS, 0)
    for reason, n in db.session.execute(
        sa.select(Response.followup_no_case_reason, sa.func.count())
        .where(
            Response.followup_no_case_reason.is_not(None),
            Response.counted_at >= start,
            Response.counted_at < end,
        )
        .group_by(Response.followup_no_case_reason)
    ):
        reasons[reason] = int(n)
    reached, not_reached = _later_satisfaction(end)
    return FollowUpFigures(
        opened=opened,
        not_opened=reasons,
        on_time=Share.of(on_time_n, due_n, min_n),
        outcomes={o: Share.of(by_outcome.get(o, 0), closed_n, min_n) for o in CASE_OUTCOMES},
        later_reached=Share.of(*reached, min_n),
        later_not_reached=Share.of(*not_reached, min_n),
    )


def _later_satisfaction(end: datetime) -> tuple[tuple[int, int], tuple[int, int]]:
    """(satisfied, n) of the overall ratings given after each closed case, reached or not.

    Each later response of the customer counts once per case, up to the period's end.
    """
    rows = db.session.execute(
        sa.select(FollowUpCase.outcome, Answer.value_int)
        .join(Invitation, Invitation.customer_id == FollowUpCase.customer_id)
        .join(Response, Response.invitation_id == Invitation.id)
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .where(
            FollowUpCase.state == "closed",
            FollowUpCase.outcome.in_((*REACHED, "not_reached")),
            Response.counted_at > FollowUpCase.closed_at,
            Response.counted_at < end,
            Response.id != FollowUpCase.response_id,
            Question.kind == "rating_5",
            Question.dimension == "overall",
            Answer.value_int.is_not(None),
        )
    ).all()
    tallies = {"reached": [0, 0], "not_reached": [0, 0]}
    for outcome, value in rows:
        tally = tallies["reached" if outcome in REACHED else "not_reached"]
        tally[0] += 1 if value >= 4 else 0
        tally[1] += 1
    return tuple(tallies["reached"]), tuple(tallies["not_reached"])  # type: ignore[return-value]
