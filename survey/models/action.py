"""Improvement actions: what the bank changed (a training, a process), where, and from when."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db

if TYPE_CHECKING:
    from survey.models.user import User

ACTION_KINDS = ("training", "process_change", "system_fix", "product_change")
# What an action aims at; the target code is that segment's code or value.
TARGET_KINDS = ("business_line", "team", "agent", "category", "dimension")
DEFAULT_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 365


class ImprovementAction(db.Model):
    """An action staff recorded, judged by its target's CSAT before and after ``started_on``.

    ``started_on`` is a day in the bank's zone and the first day of the after window; the
    before window is the ``window_days`` days just before it.
    """

    __tablename__ = "improvement_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_zh: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    started_on: Mapped[date] = mapped_column(sa.Date, index=True)
    target_kind: Mapped[str] = mapped_column(sa.String(20))
    # A business line's, team's or agent's code (codes never change), a category or a dimension.
    target_code: Mapped[str] = mapped_column(sa.String(60))
    description_zh: Mapped[str] = mapped_column(sa.Text, default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    window_days: Mapped[int] = mapped_column(default=DEFAULT_WINDOW_DAYS)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(ACTION_KINDS), name="kind"),
        sa.CheckConstraint(sa.column("target_kind").in_(TARGET_KINDS), name="target_kind"),
        sa.CheckConstraint(
            sa.column("window_days").between(1, MAX_WINDOW_DAYS), name="window_days"
        ),
    )

    def title(self, locale: str) -> str:
        return self.title_zh if locale == "zh" else self.title_en

    def description(self, locale: str) -> str:
        return self.description_zh if locale == "zh" else self.description_en
