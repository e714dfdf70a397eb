"""Follow-up figures for the dashboard: how the bank closes the loop with unhappy customers.

For a period of days in the bank's zone: cases opened; responses that met a rule but
opened no case, by reason; the share of due cases closed by their due time; the
outcomes of the cases closed; and the later satisfaction (overall CSAT of their next
answers) of customers who were reached against those who were not. Shares follow the
scores' rule: below the minimum n they are not shown, only their n.
"""

from __future__ import annotations

from collections.abc import Hashable
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

    def key(self) -> Hashable:
        """Every figure, as a value that can key what shows them (survey/fragments.py)."""
        return (
            self.opened,
            tuple(self.not_opened.items()),
            self.on_time,
            tuple(self.outcomes.items()),
            self.later_reached,
            self.later_not_reached,
        )


def _bounds(date_from: date, date_to: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(date_from, time.min, zone)
    return start, datetime.combine(date_to + timedelta(days=1), time.min, zone)


# The statements are built once, with the period as parameters: the overview asks them on
# every view, and building them cost more than running them.
_START = sa.bindparam("start", type_=FollowUpCase.opened_at.type)
_END = sa.bindparam("end", type_=FollowUpCase.opened_at.type)
_NOW = sa.bindparam("now", type_=FollowUpCase.opened_at.type)
_OPENED = sa.and_(FollowUpCase.opened_at >= _START, FollowUpCase.opened_at < _END)
_CLOSED = sa.and_(FollowUpCase.closed_at >= _START, FollowUpCase.closed_at < _END)
# Cases of the period that are due: closed, or open past their due time.
_DUE = sa.and_(_OPENED, sa.or_(FollowUpCase.state == "closed", FollowUpCase.due_at <= _NOW))
_ON_TIME = sa.and_(
    _DUE, FollowUpCase.state == "closed", FollowUpCase.closed_at <= FollowUpCase.due_at
)
# One reading of the cases for the four counts, by outcome (the closed ones' shares).
_CASE_COUNTS = (
    sa.select(
        FollowUpCase.outcome,
        sa.func.count().filter(_OPENED),
        sa.func.count().filter(_DUE),
        sa.func.count().filter(_ON_TIME),
        sa.func.count().filter(_CLOSED),
    )
    .where(sa.or_(_OPENED, _CLOSED))
    .group_by(FollowUpCase.outcome)
)
_NO_CASE = (
    sa.select(Response.followup_no_case_reason, sa.func.count())
    .where(
        Response.followup_no_case_reason.is_not(None),
        Response.counted_at >= _START,
        Response.counted_at < _END,
    )
    .group_by(Response.followup_no_case_reason)
)
# Each later response of the customer counts once per case, up to the period's end.
_LATER_RATINGS = (
    sa.select(FollowUpCase.outcome, Answer.value_int)
    .join(Invitation, Invitation.customer_id == FollowUpCase.customer_id)
    .join(Response, Response.invitation_id == Invitation.id)
    .join(Answer, Answer.response_id == Response.id)
    .join(Question, Question.id == Answer.question_id)
    .where(
        FollowUpCase.state == "closed",
        FollowUpCase.outcome.in_((*REACHED, "not_reached")),
        Response.counted_at > FollowUpCase.closed_at,
        Response.counted_at < _END,
        Response.id != FollowUpCase.response_id,
        Question.kind == "rating_5",
        Question.dimension == "overall",
        Answer.value_int.is_not(None),
    )
)


def figures(date_from: date, date_to: date, zone: str, min_n: int) -> FollowUpFigures:
    """The follow-up figures of the days ``date_from``–``date_to`` in the bank's zone."""
    start, end = _bounds(date_from, date_to, ZoneInfo(zone))
    period = {"start": start, "end": end, "now": clock.now()}
    opened = due_n = on_time_n = 0
    by_outcome: dict[str | None, int] = {}
    for outcome, in_period, due, on_time, closed in db.session.execute(_CASE_COUNTS, period):
        opened += int(in_period)
        due_n += int(due)
        on_time_n += int(on_time)
        if closed:
            by_outcome[outcome] = int(closed)
    closed_n = sum(by_outcome.values())
    reasons = dict.fromkeys(NO_CASE_REASONS, 0)
    for reason, n in db.session.execute(_NO_CASE, period):
        reasons[reason] = int(n)
    reached, not_reached = _later_satisfaction(period)
    return FollowUpFigures(
        opened=opened,
        not_opened=reasons,
        on_time=Share.of(on_time_n, due_n, min_n),
        outcomes={o: Share.of(by_outcome.get(o, 0), closed_n, min_n) for o in CASE_OUTCOMES},
        later_reached=Share.of(*reached, min_n),
        later_not_reached=Share.of(*not_reached, min_n),
    )


def _later_satisfaction(period: dict[str, datetime]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(satisfied, n) of the overall ratings given after each closed case, reached or not."""
    tallies = {"reached": [0, 0], "not_reached": [0, 0]}
    for outcome, value in db.session.execute(_LATER_RATINGS, period):
        tally = tallies["reached" if outcome in REACHED else "not_reached"]
        tally[0] += 1 if value >= 4 else 0
        tally[1] += 1
    return tuple(tallies["reached"]), tuple(tallies["not_reached"])  # type: ignore[return-value]
