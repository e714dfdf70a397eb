"""What came back from a customer, from any channel, possibly partial."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db
from survey.models.invitation import Invitation
from survey.models.survey import Choice, Question, SurveyVersion


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
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    invitation: Mapped[Invitation] = relationship()
    version: Mapped[SurveyVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="response", order_by="Answer.id")


class Answer(db.Model):
    __tablename__ = "answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("response.id"))
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id"), index=True)
    value_int: Mapped[int | None]
    value_text: Mapped[str | None] = mapped_column(sa.Text)
    choice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("choice.id"))
    answered_at: Mapped[datetime] = mapped_column(default=clock.now)

    response: Mapped[Response] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
    choice: Mapped[Choice | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("response_id", "question_id"),)
