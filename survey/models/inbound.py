"""What came in from a provider's webhook, once: an SMS, a keypad step of a call, a status.

Twilio retries webhooks. Each request is recorded under its provider key
(``MessageSid``, ``CallSid`` plus the step, a status callback's SID and status)
in the transaction that acts on it, so a repeat finds the record, changes
nothing and gets the same answer back.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from survey import clock
from survey.extensions import db

INBOUND_KINDS = ("sms", "voice", "status")


class InboundEvent(db.Model):
    __tablename__ = "inbound_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    key: Mapped[str] = mapped_column(sa.String(200))
    invitation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invitation.id"), index=True)
    # Who it came from (a phone number), and what (the text or the digits), as received.
    address: Mapped[str] = mapped_column(sa.String(254), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    # What we answered (TwiML), returned as it was to a repeat of the same request.
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (
        sa.UniqueConstraint("kind", "key"),
        sa.CheckConstraint(sa.column("kind").in_(INBOUND_KINDS), name="kind"),
    )
