"""Interactions: one contact between the bank and a customer, as the bank's systems post it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db
from survey.models.customer import Customer
from survey.models.org import Agent, BusinessLine, Team

if TYPE_CHECKING:
    from survey.models.complaint_case import ComplaintCase

CHANNELS = ("phone", "chat", "email", "branch", "app")
TYPES = ("inquiry", "complaint", "outbound")
CATEGORIES = ("account", "credit_card", "e_banking", "loan", "other")
CAUSES = ("attitude", "process", "system", "other")


class Interaction(db.Model):
    __tablename__ = "interaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    type: Mapped[str] = mapped_column(sa.String(10))
    business_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("business_line.id"))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("team.id"))
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agent.id"))
    category: Mapped[str | None] = mapped_column(sa.String(20))
    wait_seconds: Mapped[int | None]
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    # The complaint block; null for other types.
    complaint_opened_at: Mapped[datetime | None]
    complaint_first_reply_at: Mapped[datetime | None]
    complaint_resolved_at: Mapped[datetime | None]
    complaint_resolved_first_contact: Mapped[bool | None]
    complaint_cause: Mapped[str | None] = mapped_column(sa.String(20))
    # The complaint case this post belongs to (``complaint.case_id``); null without one.
    complaint_case_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("complaint_case.id"), index=True
    )
    # The body as posted, so a replay can be compared and answered with the same result.
    payload_digest: Mapped[str | None] = mapped_column(sa.String(64))
    suppression_reason: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    customer: Mapped[Customer] = relationship()
    business_line: Mapped[BusinessLine | None] = relationship()
    team: Mapped[Team | None] = relationship()
    agent: Mapped[Agent | None] = relationship()
    complaint_case: Mapped[ComplaintCase | None] = relationship(back_populates="interactions")

    __table_args__ = (
        sa.CheckConstraint(sa.column("channel").in_(CHANNELS), name="channel"),
        sa.CheckConstraint(sa.column("type").in_(TYPES), name="type"),
        sa.Index("ix_interaction_open_complaints", "customer_id", "type", "complaint_resolved_at"),
    )

    @property
    def is_open_complaint(self) -> bool:
        """Whether this is a complaint still open: its case's state, or without a case its own."""
        if self.type != "complaint":
            return False
        if self.complaint_case is not None:
            return self.complaint_case.is_open
        return self.complaint_resolved_at is None
