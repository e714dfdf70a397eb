"""Complaint cases: the posts that share a ``complaint.case_id`` are one complaint, counted once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db
from survey.models.customer import Customer
from survey.models.org import BusinessLine, Team

if TYPE_CHECKING:
    from survey.models.interaction import Interaction


class ComplaintCase(db.Model):
    """One complaint as the bank's complaint system follows it, from opening to resolution.

    Its first post sets the customer, category, business line and team; later posts
    (under new external_ids) add the first reply and the resolution. A time, once
    recorded, stays: a later post that gives another one is refused, so a case is never
    reopened or moved back (a reopened complaint is a new case in the complaint system).
    """

    __tablename__ = "complaint_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    # Indexed with resolved_at below (ix_complaint_case_customer_resolved).
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"))
    opened_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_first_contact: Mapped[bool | None]
    cause: Mapped[str | None] = mapped_column(sa.String(20))
    category: Mapped[str | None] = mapped_column(sa.String(20))
    business_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("business_line.id"))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("team.id"))
    # A resolved case's outcome of each commitment ("met" or "missed") and the fingerprint of
    # the limits and working calendar it was worked out under (survey.scoring.complaint_outcomes).
    first_reply_outcome: Mapped[str | None] = mapped_column(sa.String(6))
    final_outcome: Mapped[str | None] = mapped_column(sa.String(6))
    regulator_outcome: Mapped[str | None] = mapped_column(sa.String(6))
    outcomes_basis: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    # Two posts of one case racing each other: the second one's write finds the row
    # changed under it and is decided again, so a case is resolved (and surveyed) once.
    row_version: Mapped[int] = mapped_column(default=1)

    customer: Mapped[Customer] = relationship()
    business_line: Mapped[BusinessLine | None] = relationship()
    team: Mapped[Team | None] = relationship()
    interactions: Mapped[list[Interaction]] = relationship(
        back_populates="complaint_case", order_by="Interaction.id"
    )

    __table_args__ = (
        # The open-complaint check: a customer's cases not resolved yet.
        sa.Index("ix_complaint_case_customer_resolved", "customer_id", "resolved_at"),
        # The complaints dashboard's period: cases by the day they were opened.
        sa.Index("ix_complaint_case_opened_at", "opened_at"),
        # The complaints figures' cases worked out one by one: the open ones (and any
        # never stamped), by the day they were opened or, without an opening time, posted.
        sa.Index(
            "ix_complaint_case_unstamped",
            "opened_at",
            "created_at",
            sqlite_where=sa.text("outcomes_basis IS NULL"),
            postgresql_where=sa.text("outcomes_basis IS NULL"),
        ),
    )
    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
