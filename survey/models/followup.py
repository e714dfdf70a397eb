"""Follow-up cases: a very unhappy customer who agreed to be called back, owned by a quality user.

A case opens in the transaction that records the customer's consent (survey/followup/
cases.py), at most once per response (a unique response id). Its history is the audit
trail (every change is audited); its notes are its own rows.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db
from survey.models.customer import Customer
from survey.models.org import BusinessLine
from survey.models.response import Response
from survey.models.user import User

CASE_STATES = ("open", "closed")
# reached and resolved, reached and not resolved, not reached, the customer declined the call.
CASE_OUTCOMES = ("reached_resolved", "reached_unresolved", "not_reached", "declined")


class FollowUpCase(db.Model):
    __tablename__ = "followup_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Never twice for one response.
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("response.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"), index=True)
    business_line_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("business_line.id"), index=True
    )
    # None: unassigned (no quality user to give it to), in the queue's "unassigned" list.
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    # Which follow-up rules the response met: overall, nps, complaint_handling, keyword.
    triggers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    state: Mapped[str] = mapped_column(sa.String(10), default="open", server_default="open")
    opened_at: Mapped[datetime] = mapped_column(default=clock.now)
    due_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    # Notifications are marked before they are sent (never twice): the owner told of the
    # case, and when the owner was told it is overdue.
    notified_owner_id: Mapped[int | None]
    overdue_notified_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    response: Mapped[Response] = relationship()
    customer: Mapped[Customer] = relationship()
    business_line: Mapped[BusinessLine | None] = relationship()
    owner: Mapped[User | None] = relationship()
    notes: Mapped[list[CaseNote]] = relationship(
        back_populates="case", order_by="CaseNote.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint(sa.column("state").in_(CASE_STATES), name="state"),
        sa.CheckConstraint(
            sa.or_(sa.column("outcome").is_(None), sa.column("outcome").in_(CASE_OUTCOMES)),
            name="outcome",
        ),
        # Closed exactly when it has an outcome and a closing time.
        sa.CheckConstraint(
            "(state = 'closed') = (outcome IS NOT NULL AND closed_at IS NOT NULL)",
            name="closed_with_outcome",
        ),
        # The work queue and the overdue check: open cases by due time.
        sa.Index("ix_followup_case_state_due_at", "state", "due_at"),
    )

    def overdue(self, now: datetime) -> bool:
        """Still open past its due time."""
        return self.state == "open" and self.due_at <= now


class CaseNote(db.Model):
    __tablename__ = "followup_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("followup_case.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    case: Mapped[FollowUpCase] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()
