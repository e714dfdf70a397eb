"""Follow-up cases for the demo: the work queue is not empty on a fresh `make run`.

The recent unhappy responses of the loaded data are settled as the live path settles
them (survey/followup/cases.py): most customers agree to a call and a case opens, some
decline, some were never asked; the older cases are closed with an outcome, some late.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from survey.extensions import db
from survey.followup import cases, rules
from survey.models import Answer, Question, Response
from survey.models.followup import CASE_OUTCOMES

MOST = 60
OUTCOME_WEIGHTS = (0.55, 0.2, 0.2, 0.05)  # reached resolved, not resolved, not reached, declined


def open_cases(rng: random.Random, as_of: datetime) -> int:
    """Settle the latest responses that meet a follow-up rule; return the cases opened."""
    the_rules = rules.Rules.from_settings()
    low = (
        sa.select(Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(
            sa.or_(
                sa.and_(
                    Question.kind == "rating_5",
                    Question.dimension == "overall",
                    Answer.value_int <= the_rules.overall_max,
                ),
                sa.and_(
                    Question.kind == "rating_5",
                    Question.dimension == "complaint_handling",
                    Answer.value_int <= the_rules.complaint_max,
                ),
                sa.and_(Question.kind == "nps_0_10", Answer.value_int <= the_rules.nps_max),
            )
        )
    )
    found = db.session.scalars(
        sa.select(Response)
        .options(selectinload(Response.answers).selectinload(Answer.question))
        .where(
            Response.state == "completed",
            Response.id.in_(low),
        )
        .order_by(Response.counted_at.desc(), Response.id.desc())
        .limit(MOST)
    ).all()
    opened = 0
    for response in found:
        met = rules.response_triggers(response, the_rules)
        if not met:
            continue
        draw = rng.random()
        response.followup_asked_at = response.counted_at
        if draw < 0.7:
            response.followup_consent = True
            case = cases.open_case(response, met, response.counted_at)
            opened += 1
            _maybe_close(rng, case, as_of)
        elif draw < 0.9:
            response.followup_consent = False
            response.followup_no_case_reason = "declined"
        else:
            response.followup_asked_at = None
            response.followup_no_case_reason = "not_asked"
    db.session.commit()
    return opened


def _maybe_close(rng: random.Random, case, as_of: datetime) -> None:
    if case.opened_at > as_of - timedelta(days=3) or rng.random() < 0.2:
        return  # recent, or still open: the queue has work, some of it overdue
    hours = rng.uniform(1, 60)
    closed = min(case.opened_at + timedelta(hours=hours), as_of)
    case.state = "closed"
    case.outcome = rng.choices(CASE_OUTCOMES, OUTCOME_WEIGHTS)[0]
    case.closed_at = closed
    case.notified_owner_id = case.owner_id  # the demo sends no notices about its history
