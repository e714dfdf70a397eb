"""Messages the outbox channel "sent": what the customer would have received."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey import clock
from survey.extensions import db
from survey.models.invitation import Delivery


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One message per delivery: a repeated send of the same delivery finds it instead.
    delivery_id: Mapped[int | None] = mapped_column(sa.ForeignKey("delivery.id"), unique=True)
    # The conversation it belongs to; replies (ours and the customer's) have no delivery.
    invitation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invitation.id"), index=True)
    # "out" to the customer, "in" from them (an answer typed at /dev/outbox).
    direction: Mapped[str] = mapped_column(sa.String(3), default="out")
    channel: Mapped[str] = mapped_column(sa.String(10))
    to: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)

    delivery: Mapped[Delivery | None] = relationship()
