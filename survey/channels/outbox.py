"""The outbox channel: "sends" by storing the message, for admins to read at /dev/outbox.

It stands in for Twilio and SMTP when they are not configured, and behaves like
a provider: its write is its own transaction, and it is idempotent on the
delivery id, so it can be reconciled after a crash like a real one.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from survey.channels.base import ABSENT, FOUND, Lookup, Message, SendResult
from survey.extensions import db
from survey.models import OutboxMessage
from survey.responses.replies import storable


class OutboxChannel:
    name = "outbox"
    carries = ("sms", "email", "voice")

    @staticmethod
    def configured(config: object) -> bool:
        """The outbox is the fallback of every channel, never chosen over a real provider."""
        return True

    @staticmethod
    def sender(config: object, survey_channel: str) -> str:
        """The outbox is no provider: nothing to pace."""
        return ""

    def send(self, delivery_id: int, message: Message) -> SendResult:
        """Store the message once per delivery and return its outbox id."""
        existing = self._find(delivery_id)
        if existing is not None:
            return existing
        row = OutboxMessage(
            delivery_id=delivery_id,
            invitation_id=message.invitation_id,
            channel=message.channel,
            to=message.to,
            subject=message.subject,
            body=message.body,
            html=message.html,
        )
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            found = self._find(delivery_id)
            return found or SendResult(ok=False, error="outbox write failed")
        return SendResult(ok=True, provider_id=provider_id(row.id))

    def look_up(self, delivery_id: int) -> Lookup:
        """The outbox's row is the proof: there, it was sent; missing, it never was.

        A send writes its row in one commit, idempotent on the delivery id, so no
        message can have gone out without its row.
        """
        found = self._find(delivery_id)
        if found is None:
            return Lookup(ABSENT)
        return Lookup(FOUND, provider_id=found.provider_id)

    @staticmethod
    def _find(delivery_id: int) -> SendResult | None:
        row_id = db.session.scalar(
            sa.select(OutboxMessage.id).where(OutboxMessage.delivery_id == delivery_id)
        )
        return None if row_id is None else SendResult(ok=True, provider_id=provider_id(row_id))


def provider_id(outbox_message_id: int) -> str:
    return f"outbox-{outbox_message_id}"


def record_conversation(
    invitation_id: int | None, channel: str, customer: str, said: str, answered: str | None
) -> None:
    """Keep a customer's reply and our answer to it, as their phone would show them.

    The caller commits.
    """
    said_and_answered = [("in", storable(said)), *([("out", answered)] if answered else [])]
    for direction, body in said_and_answered:
        db.session.add(
            OutboxMessage(
                invitation_id=invitation_id,
                direction=direction,
                channel=channel,
                to=customer,
                body=body,
            )
        )
