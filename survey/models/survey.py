"""Surveys, their versions, questions and choices.

A survey is edited as a draft version and published as an immutable one; every
invitation and response points at the version it used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db

QUESTION_KINDS = ("rating_5", "nps_0_10", "ces_7", "yes_no", "single_choice", "text")
DIMENSIONS = ("attitude", "wait_time", "products", "complaint_handling", "overall")
VERSION_STATES = ("draft", "published", "retired")


class Survey(db.Model):
    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    versions: Mapped[list[SurveyVersion]] = relationship(
        back_populates="survey", order_by="SurveyVersion.number"
    )

    def published(self) -> SurveyVersion | None:
        """Return the newest published version, the one new invitations use."""
        live = [v for v in self.versions if v.state == "published"]
        return live[-1] if live else None


class SurveyVersion(db.Model):
    __tablename__ = "survey_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("survey.id"), index=True)
    number: Mapped[int]
    state: Mapped[str] = mapped_column(sa.String(10), default="draft")
    title_zh: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    intro_zh: Mapped[str] = mapped_column(sa.Text, default="")
    intro_en: Mapped[str] = mapped_column(sa.Text, default="")
    thanks_zh: Mapped[str] = mapped_column(sa.Text, default="")
    thanks_en: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # Bumped by every saved edit of a draft, so a save made from an older page is caught.
    lock_version: Mapped[int] = mapped_column(default=1)
    # When publishing needs a second manager's approval: who asked for it, and when.
    publish_requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    publish_requested_at: Mapped[datetime | None]

    survey: Mapped[Survey] = relationship(back_populates="versions")
    questions: Mapped[list[Question]] = relationship(
        back_populates="version", order_by="Question.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("survey_id", "number"),
        sa.CheckConstraint(sa.column("state").in_(VERSION_STATES), name="state"),
    )

    def title(self, locale: str) -> str:
        return self.title_zh if locale == "zh" else self.title_en

    def intro(self, locale: str) -> str:
        return self.intro_zh if locale == "zh" else self.intro_en

    def thanks(self, locale: str) -> str:
        return self.thanks_zh if locale == "zh" else self.thanks_en


class Question(db.Model):
    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_version.id"), index=True)
    position: Mapped[int]
    # Stable across versions, so "the same question" can be followed through edits.
    key: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(20))
    dimension: Mapped[str | None] = mapped_column(sa.String(20))
    text_zh: Mapped[str] = mapped_column(sa.Text)
    text_en: Mapped[str] = mapped_column(sa.Text)
    required: Mapped[bool] = mapped_column(default=True)
    ask_web: Mapped[bool] = mapped_column(default=True)
    ask_sms: Mapped[bool] = mapped_column(default=True)
    ask_voice: Mapped[bool] = mapped_column(default=True)
    # {"question": <key>, "op": "<=", "value": 2}: ask only when an earlier answer matches.
    condition: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    version: Mapped[SurveyVersion] = relationship(back_populates="questions")
    choices: Mapped[list[Choice]] = relationship(
        back_populates="question", order_by="Choice.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("version_id", "key"),
        sa.CheckConstraint(sa.column("kind").in_(QUESTION_KINDS), name="kind"),
    )

    def text(self, locale: str) -> str:
        return self.text_zh if locale == "zh" else self.text_en


class Choice(db.Model):
    __tablename__ = "choice"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("question.id"), index=True)
    position: Mapped[int]
    value: Mapped[str] = mapped_column(sa.String(40))
    label_zh: Mapped[str] = mapped_column(sa.String(200))
    label_en: Mapped[str] = mapped_column(sa.String(200))

    question: Mapped[Question] = relationship(back_populates="choices")

    def label(self, locale: str) -> str:
        return self.label_zh if locale == "zh" else self.label_en
