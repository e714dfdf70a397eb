"""Dispatch rules: which interactions get which survey, when, and on which channels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db
from survey.models.survey import Survey

SURVEY_CHANNELS = ("sms", "email", "voice")
SMS_MODES = ("link", "two_way")
# Where the reminder goes: the channel the invitation was sent on, or the next one of the rule.
REMINDER_CHANNELS = ("same", "next")


class DispatchRule(db.Model):
    """One rule; rules are tried in ``position`` order and the first that matches decides."""

    __tablename__ = "dispatch_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # {"channel": [...], "type": [...], "business_line": [...], "team": [...], "category": [...]}
    # An absent or empty list matches everything.
    filters: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("survey.id"))
    delay_minutes: Mapped[int] = mapped_column(default=0)
    # Survey channels in order of preference, e.g. ["sms", "email"].
    channels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    sms_mode: Mapped[str] = mapped_column(sa.String(10), default="link")
    sample_rate: Mapped[float] = mapped_column(default=1.0)
    reminder_hours: Mapped[int | None]
    reminder_channel: Mapped[str] = mapped_column(sa.String(10), default="same")
    link_lifetime_hours: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    survey: Mapped[Survey] = relationship()

    __table_args__ = (
        sa.CheckConstraint(sa.column("sms_mode").in_(SMS_MODES), name="sms_mode"),
        sa.CheckConstraint(
            sa.column("reminder_channel").in_(REMINDER_CHANNELS), name="reminder_channel"
        ),
        sa.CheckConstraint("sample_rate >= 0 AND sample_rate <= 1", name="sample_rate"),
    )
