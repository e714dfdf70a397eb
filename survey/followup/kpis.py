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
# The figures are read in one statement (a round trip each cost more than reading them), its
# rows told apart by ``part``: the cases' four counts by outcome (the closed ones' shares);
# the responses that met a rule but opened no case, by reason; and the later overall ratings
# of the customers of closed cases, satisfied and all, by the case's outcome.
_CASES, _NO_CASE, _LATER = range(3)
_ZERO = sa.literal(0, sa.Integer)
_CASE_COUNTS = (
    sa.select(
        sa.literal(_CASES, sa.Integer).label("part"),
        FollowUpCase.outcome.label("key"),
        sa.func.count().filter(_OPENED).label("a"),
        sa.func.count().filter(_DUE).label("b"),
        sa.func.count().filter(_ON_TIME).label("c"),
        sa.func.count().filter(_CLOSED).label("d"),
    )
    .where(sa.or_(_OPENED, _CLOSED))
    .group_by(FollowUpCase.outcome)
)
_NO_CASE_COUNTS = (
    sa.select(
        sa.literal(_NO_CASE, sa.Integer),
        Response.followup_no_case_reason,
        sa.func.count(),
        _ZERO,
        _ZERO,
        _ZERO,
    )
    .where(
        Response.followup_no_case_reason.is_not(None),
        Response.counted_at >= _START,
        Response.counted_at < _END,
    )
    .group_by(Response.followup_no_case_reason)
)
# Each later response of the customer counts once per case, up to the period's end.
_LATER_RATINGS = (
    sa.select(
        sa.literal(_LATER, sa.Integer),
        FollowUpCase.outcome,
        sa.func.sum(sa.case((Answer.value_int >= 4, 1), else_=0)),
        sa.func.count(),
        _ZERO,
        _ZERO,
    )
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
    .group_by(FollowUpCase.outcome)
)
# The reasons first: read by their partial index (ix_response_no_case_counted_at), which
# PostgreSQL also takes so on a table it has no statistics of yet (test_followup_kpis).
_FIGURES = sa.union_all(_NO_CASE_COUNTS, _CASE_COUNTS, _LATER_RATINGS)


def figures(date_from: date, date_to: date, zone: str, min_n: int) -> FollowUpFigures:
    """The follow-up figures of the days ``date_from``–``date_to`` in the bank's zone."""
    start, end = _bounds(date_from, date_to, ZoneInfo(zone))
    period = {"start": start, "end": end, "now": clock.now()}
    opened = due_n = on_time_n = 0
    by_outcome: dict[str | None, int] = {}
    reasons = dict.fromkeys(NO_CASE_REASONS, 0)
    later = {"reached": [0, 0], "not_reached": [0, 0]}
    for part, key, a, b, c, d in db.session.execute(_FIGURES, period):
        if part == _CASES:
            opened += int(a)
            due_n += int(b)
            on_time_n += int(c)
            if d:
                by_outcome[key] = int(d)
        elif part == _NO_CASE:
            reasons[key] = int(a)
        else:
            tally = later["reached" if key in REACHED else "not_reached"]
            tally[0] += int(a)
            tally[1] += int(b)
    closed_n = sum(by_outcome.values())
    reached, not_reached = later["reached"], later["not_reached"]
    return FollowUpFigures(
        opened=opened,
        not_opened=reasons,
        on_time=Share.of(on_time_n, due_n, min_n),
        outcomes={o: Share.of(by_outcome.get(o, 0), closed_n, min_n) for o in CASE_OUTCOMES},
        later_reached=Share.of(*reached, min_n),
        later_not_reached=Share.of(*not_reached, min_n),
    )
