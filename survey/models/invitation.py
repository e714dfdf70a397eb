"""Invitations (one customer asked one survey version about one interaction) and deliveries.

The database row is the truth about an invitation: the queue only carries hints
that something is due, and a periodic job re-derives them from here.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db
from survey.models.complaint_case import ComplaintCase
from survey.models.customer import Customer
from survey.models.interaction import Interaction
from survey.models.survey import SurveyVersion

if TYPE_CHECKING:
    from survey.models.response import Response

# 18 random bytes: 144 bits, above the 128 DESIGN.md asks of a customer's token, and short
# (24 characters) because two links share one SMS, where every character costs.
TOKEN_BYTES = 18


def new_token() -> str:
    """Return a fresh unguessable token for a survey or an unsubscribe link."""
    return secrets.token_urlsafe(TOKEN_BYTES)


INVITATION_STATES = ("scheduled", "sending", "sent", "completed", "expired", "failed", "cancelled")
DELIVERY_STATES = (
    "sending",  # marked before the provider is called (and Twilio's own "sending")
    "sent",  # the provider accepted it and gave an id
    "held",  # a configuration fault kept it from the provider: tried again later, not failed
    "retrying",  # the provider certainly did not take it (e.g. HTTP 429): the channel again later
    "accepted",  # Twilio's message states, from its status callbacks
    "scheduled",
    "queued",
    "delivered",
    "undelivered",
    "failed",
    "canceled",
    "unknown",  # the provider may have taken it: reconciled, never blindly repeated
    # A phone call's outcome: it reached the customer only once a keypad answer was recorded.
    "ringing",
    "in_progress",
    "answered",
    "unanswered",  # picked up, but no key was pressed
    "busy",
    "no_answer",
    "machine",  # answering-machine detection heard a machine
)
# Why a delivery was sent: the invitation itself, or the one reminder that may follow it.
DELIVERY_PURPOSES = ("invitation", "reminder")
# Outcomes after which the invitation moves on to its next channel.
DELIVERY_FAILED = (
    "failed",
    "undelivered",
    "canceled",
    "unanswered",
    "busy",
    "no_answer",
    "machine",
)


class Invitation(db.Model):
    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(sa.ForeignKey("interaction.id"), unique=True)
    # Indexed with the send and schedule times below (ix_invitation_customer_sent_scheduled).
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"))
    survey_version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_version.id"), index=True)
    rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dispatch_rule.id"))
    # The complaint case this survey is about: unique, so a case is surveyed at most once.
    complaint_case_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("complaint_case.id"), unique=True
    )
    # Survey channels to try, in order; ``channel`` is the one chosen when it was sent.
    channels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    channel: Mapped[str | None] = mapped_column(sa.String(10))
    sms_mode: Mapped[str] = mapped_column(sa.String(10), default="link")
    # Two-way SMS: the question the customer's next reply answers, and how often they missed it.
    sms_question_key: Mapped[str | None] = mapped_column(sa.String(40))
    sms_misses: Mapped[int] = mapped_column(default=0)
    locale: Mapped[str] = mapped_column(sa.String(5), default="zh")
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    unsubscribe_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    state: Mapped[str] = mapped_column(sa.String(12), default="scheduled")
    scheduled_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    # When its one reminder is due (the rule's reminder_hours after it was sent); cleared once
    # the reminder is sent or is no longer wanted (answered, expired, opted out).
    reminder_due_at: Mapped[datetime | None]
    # Why it was cancelled before it was sent (a suppression reason: opted_out,
    # open_complaint, frequency), or why it failed (every channel tried, and what each said).
    suppression_reason: Mapped[str | None] = mapped_column(sa.String(20))
    failure_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    # While 'sending': until when the worker that claimed it holds it. A live worker renews
    # it as it works (dispatch/lease.py); past it, the sweep takes the send over.
    lease_until: Mapped[datetime | None]
    # The claim that holds it while 'sending': written only when a worker or the sweep
    # claims it, so a worker can check, just before it sends, that the send is still its own
    # (dispatch/sending.py _still_claimed); updated_at moves with any change of the row.
    claimed_at: Mapped[datetime | None]
    # What the funnel rollup counts of it so far (survey.funnel.keeping): under which survey
    # channel, and which steps (bits in survey.models.funnel.COUNTERS order). Moved only by
    # a guarded UPDATE, so a repeated callback or a second look counts nothing twice.
    funnel_channel: Mapped[str | None] = mapped_column(sa.String(10))
    funnel_stages: Mapped[int] = mapped_column(default=0, server_default="0")

    interaction: Mapped[Interaction] = relationship()
    customer: Mapped[Customer] = relationship()
    version: Mapped[SurveyVersion] = relationship()
    complaint_case: Mapped[ComplaintCase | None] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="invitation", order_by="Delivery.id"
    )
    # Its one response, to read with the invitation in one statement (the survey page);
    # written only through Response.invitation.
    response: Mapped[Response | None] = relationship(
        "Response", primaryjoin="Response.invitation_id == Invitation.id", viewonly=True
    )

    __table_args__ = (
        sa.CheckConstraint(sa.column("state").in_(INVITATION_STATES), name="state"),
        # The periodic job's query: what is due, or stuck mid-send.
        sa.Index("ix_invitation_state_scheduled_at", "state", "scheduled_at"),
        # The sweep's other half: sends whose worker's lease ran out. Partial, so it holds
        # only what is being sent now, and no other query by state is drawn to it.
        sa.Index(
            "ix_invitation_sending_lease_until",
            "state",
            "lease_until",
            sqlite_where=sa.text("state = 'sending'"),
            postgresql_where=sa.text("state = 'sending'"),
        ),
        # The sweep's expiry of sent invitations whose link has lapsed: a range, not every
        # sent invitation ever.
        sa.Index("ix_invitation_state_expires_at", "state", "expires_at"),
        # The frequency window: a customer's invitations sent since a moment, or unsent and
        # scheduled since it (history.surveys_since), without reading their whole history.
        sa.Index("ix_invitation_customer_sent_scheduled", "customer_id", "sent_at", "scheduled_at"),
        # The sweep's due reminders: a range on the reminder time (null for most invitations;
        # leading with state would compete with the expiry's index for every sent one).
        sa.Index("ix_invitation_reminder_due_at", "reminder_due_at"),
    )

    def is_open(self, at: datetime) -> bool:
        """Whether the customer can still answer."""
        return self.state in ("sent", "sending", "scheduled") and at < self.expires_at


class Delivery(db.Model):
    """One attempt to reach the customer on one channel."""

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitation.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    address: Mapped[str] = mapped_column(sa.String(254))
    provider: Mapped[str] = mapped_column(sa.String(20))
    provider_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    state: Mapped[str] = mapped_column(sa.String(12), default="sending")
    purpose: Mapped[str] = mapped_column(sa.String(10), default="invitation")
    # Which try on this channel this is (1 for the first; retries count up to MAX_ATTEMPTS).
    attempt: Mapped[int] = mapped_column(default=1)
    error: Mapped[str | None] = mapped_column(sa.Text)
    # The provider's error code (Twilio's 21610, an SMTP reply code), for reports and rules.
    error_code: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    invitation: Mapped[Invitation] = relationship(back_populates="deliveries")

    __table_args__ = (
        sa.CheckConstraint(sa.column("state").in_(DELIVERY_STATES), name="state"),
        sa.CheckConstraint(sa.column("purpose").in_(DELIVERY_PURPOSES), name="purpose"),
        sa.Index("ix_delivery_state_created_at", "state", "created_at"),
        # The frequency window counts what reached an address, whoever it was sent for.
        sa.Index("ix_delivery_address_created_at", "address", "created_at"),
    )
