"""Acting as the customer at /dev/outbox: reply to an SMS, answer a call, let a call go unanswered.

Each action runs the same service code the real Twilio webhooks run
(``responses.sms``, ``responses.voice``, ``dispatch.status``), so what works
here works with a real phone. The outbox keeps the conversation: what the
customer "typed" and what we answered, beside what was sent.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from survey.channels import outbox as outbox_channel
from survey.dispatch import status
from survey.extensions import db
from survey.models import Delivery, OutboxMessage
from survey.responses import sms, voice

# What a call left unanswered can become, as Twilio would report it.
CALL_OUTCOMES = ("busy", "no-answer", "failed", "machine")


def _thread_key() -> sa.ColumnElement[int]:
    # A conversation is an invitation's messages; one with no invitation (a test send) stands alone.
    return sa.func.coalesce(OutboxMessage.invitation_id, -OutboxMessage.id)


def thread_keys() -> sa.Select:
    """The conversations, the most recently active first (to page through)."""
    key = _thread_key()
    return sa.select(key).group_by(key).order_by(sa.func.max(OutboxMessage.id).desc())


def threads(keys: list[int]) -> list[list[OutboxMessage]]:
    """Each conversation's messages in the order they were sent, the conversations in ``keys``' order."""
    if not keys:
        return []
    rows = db.session.scalars(
        sa.select(OutboxMessage).where(_thread_key().in_(keys)).order_by(OutboxMessage.id)
    )
    by_key: dict[int, list[OutboxMessage]] = {key: [] for key in keys}
    for row in rows:
        by_key[row.invitation_id if row.invitation_id is not None else -row.id].append(row)
    return [by_key[key] for key in keys]


def sent_message(message_id: int) -> OutboxMessage | None:
    """Return a message the outbox sent to a customer (not one of their replies)."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.direction != "out":
        return None
    return message


def reply_as_customer(message: OutboxMessage, text: str) -> sms.Turn:
    """Reply to an SMS as its recipient, exactly as Twilio would post the reply; keep both."""
    turn = sms.handle(message.to, text, f"outbox-in-{secrets.token_hex(8)}")
    outbox_channel.record_conversation(
        message.invitation_id or turn.invitation_id, "sms", message.to, text, turn.reply
    )
    db.session.commit()
    return turn


def _call_id(message: OutboxMessage) -> str:
    delivery = db.session.get(Delivery, message.delivery_id) if message.delivery_id else None
    return (
        delivery.provider_id if delivery and delivery.provider_id else f"outbox-call-{message.id}"
    )


def pick_up(message: OutboxMessage) -> voice.Step:
    """Answer a call the outbox placed: its first step, as Twilio asks for it."""
    return voice.start(message.invitation_id or 0, _call_id(message), "human")


def press(
    message: OutboxMessage, question: int, attempt: int, digits: str, finished_on_key: str
) -> voice.Step:
    """Press keys at one question of an answered call; return what the call says next."""
    return voice.gather(
        message.invitation_id or 0, _call_id(message), question, attempt, digits, finished_on_key
    )


def hang_up(message: OutboxMessage, outcome: str = "completed") -> str | None:
    """End a call as Twilio reports it: hung up after answering, or never answered at all."""
    if outcome == "machine":
        return status.call_status(_call_id(message), "completed", "machine_start")
    return status.call_status(_call_id(message), outcome)
