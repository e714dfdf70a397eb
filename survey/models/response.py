"""What came back from a customer, from any channel, possibly partial.

A response is counted in the scores exactly once (DESIGN.md rule 5): when it is
completed, or, left partial, when it is closed (idle too long, or its link
expired) with the questions it answered. ``state`` says which; ``counted_at`` is
when it was rolled up, and the day it counts on. A check constraint ties the two,
and the move out of ``partial`` is a conditional UPDATE only one caller can win
(survey/responses/answers.py and partials.py).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db
from survey.models.invitation import Invitation
from survey.models.survey import Choice, Question, SurveyVersion

# partial: answers given, not counted yet; completed: finished and counted; closed_partial:
# left unfinished, closed (idle hours or link expiry) and counted with what it answered.
RESPONSE_STATES = ("partial", "completed", "closed_partial")
COUNTED_STATES = ("completed", "closed_partial")
# Why a response that met a follow-up rule opened no case: the customer said no, was never
# asked (a link-mode SMS closed as partial, a one-post form without the question), or was
# asked and never answered (an SMS left unanswered, a call hung up at the question).
NO_CASE_REASONS = ("declined", "not_asked", "unanswered")


class Response(db.Model):
    __tablename__ = "response"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitation.id"), unique=True)
    survey_version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_version.id"), index=True)
    # Where it was answered: web, sms, voice (DESIGN.md's survey_channel).
    survey_channel: Mapped[str] = mapped_column(sa.String(10))
    locale: Mapped[str] = mapped_column(sa.String(5))
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column(index=True)
    # The last answer's time, too: a partial idle past partial_close_hours is closed.
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    state: Mapped[str] = mapped_column(sa.String(16), default="partial", server_default="partial")
    # When it was rolled up (its completion, or its closing); the rollup's day.
    counted_at: Mapped[datetime | None] = mapped_column(index=True)
    # May the bank call the customer about this answer? Asked in the completing step, on
    # every channel, only when a follow-up rule matches (survey/followup/); None: no answer.
    followup_consent: Mapped[bool | None]
    followup_asked_at: Mapped[datetime | None]
    followup_no_case_reason: Mapped[str | None] = mapped_column(sa.String(12))

    invitation: Mapped[Invitation] = relationship()
    version: Mapped[SurveyVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="response", order_by="Answer.id")

    __table_args__ = (
        sa.CheckConstraint(sa.column("state").in_(RESPONSE_STATES), name="state"),
        # Counted exactly when it left 'partial': never counted twice, never left out.
        sa.CheckConstraint("(state = 'partial') = (counted_at IS NULL)", name="counted_once"),
        sa.CheckConstraint(
            sa.or_(
                sa.column("followup_no_case_reason").is_(None),
                sa.column("followup_no_case_reason").in_(NO_CASE_REASONS),
            ),
            name="followup_no_case_reason",
        ),
        # The sweep's search for partials idle past the closing hours.
        sa.Index("ix_response_state_updated_at", "state", "updated_at"),
        # The overview's follow-up figures: responses that met a rule but opened no case, in
        # a period. Partial, so it holds only those few: by counted_at alone, a year's
        # figures read every response of the year (0.9 s at 1,000,000 answers on SQLite).
        sa.Index(
            "ix_response_no_case_counted_at",
            "counted_at",
            "followup_no_case_reason",
            sqlite_where=sa.text("followup_no_case_reason IS NOT NULL"),
            postgresql_where=sa.text("followup_no_case_reason IS NOT NULL"),
        ),
    )


class Answer(db.Model):
    __tablename__ = "answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("response.id"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id"), index=True)
    value_int: Mapped[int | None]
    value_text: Mapped[str | None] = mapped_column(sa.Text)
    # When PII retention removed the comment (value_text is then null): pages and exports
    # say it was removed rather than show an empty answer.
    text_removed_at: Mapped[datetime | None]
    choice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("choice.id"))
    answered_at: Mapped[datetime] = mapped_column(default=clock.now)

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
    choice: Mapped[Choice | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("response_id", "question_id"),)
