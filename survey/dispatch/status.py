"""What providers report after a send: Twilio's message statuses and a call's outcome.

A status only moves a delivery forward (a late ``sent`` never overwrites
``delivered``); a failure moves the invitation on to its next channel; a
carrier's opt-out (Twilio 21610) is recorded like a STOP.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from survey.dispatch import contacts, endings
from survey.extensions import db
from survey.funnel import keeping as funnel
from survey.models import Delivery
from survey.models.invitation import DELIVERY_FAILED
from survey.responses import optouts

log = logging.getLogger(__name__)

# How far along each state is; a report never moves a delivery back.
RANK = {
    "sending": 0,
    "held": 0,
    "retrying": 0,
    "unknown": 1,
    "sent": 1,
    "accepted": 2,
    "scheduled": 2,
    "queued": 3,
    "ringing": 4,
    "in_progress": 5,
    # Final outcomes: nothing overwrites one.
    "delivered": 9,
    "undelivered": 9,
    "failed": 9,
    "canceled": 9,
    "answered": 9,
    "unanswered": 9,
    "busy": 9,
    "no_answer": 9,
    "machine": 9,
}
MESSAGE_STATES = {
    "accepted": "accepted",
    "scheduled": "scheduled",
    "queued": "queued",
    "sending": "queued",  # Twilio is handing it to the carrier: further along than queued
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "canceled",
    "read": "delivered",
}
CALL_STATES = {
    "queued": "queued",
    "initiated": "queued",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "canceled",
}
CARRIER_OPT_OUT = "21610"


def find_delivery(provider_id: str) -> Delivery | None:
    """Return the delivery a provider's id (a message or call SID) belongs to."""
    if not provider_id or len(provider_id) > 200:
        return None
    return db.session.scalar(sa.select(Delivery).where(Delivery.provider_id == provider_id))


def message_status(provider_id: str, status: str, error_code: str | None = None) -> str | None:
    """Apply an SMS status callback; return the delivery's state, or None when unknown to us."""
    delivery = find_delivery(provider_id)
    state = MESSAGE_STATES.get((status or "").strip().lower())
    if delivery is None or state is None:
        return None
    if error_code == CARRIER_OPT_OUT:
        # With a messaging service the carrier's refusal arrives only here.
        optouts.refuse_from_address(
            contacts.ADDRESS_KIND[delivery.channel],
            delivery.address,
            "carrier",
            f"{delivery.provider}:{CARRIER_OPT_OUT}:{provider_id}",
            delivery.invitation.customer,
        )
    return _move(delivery, state, error_code)


def call_status(provider_id: str, status: str, answered_by: str | None = None) -> str | None:
    """Apply a call's status callback; return the delivery's state, or None when unknown to us.

    A call reached the customer only once a keypad answer was recorded: one that
    completed without any is ``unanswered``; a machine is ``machine``.
    """
    delivery = find_delivery(provider_id)
    if delivery is None:
        return None
    status = (status or "").strip().lower()
    if (answered_by or "").startswith("machine") or answered_by == "fax":
        state = "machine"
    elif status == "completed":
        # The keypad flow marks the call answered at its first answer; a call that
        # ends without one never reached the customer in any way that counts.
        state = "unanswered"
    else:
        state = CALL_STATES.get(status)
    if state is None:
        return None
    return _move(delivery, state, None)


def record_machine(delivery: Delivery) -> None:
    """Note that answering-machine detection heard a machine (the call is hung up)."""
    _move(delivery, "machine", None)


def record_answered(delivery: Delivery) -> None:
    """Note that the customer keyed an answer on the call: it reached them. The caller commits."""
    if RANK.get(delivery.state, 0) < RANK["answered"]:
        delivery.state = "answered"
        funnel.delivery_reported(delivery)


def _move(delivery: Delivery, state: str, error_code: str | None) -> str:
    if RANK.get(state, 0) <= RANK.get(delivery.state, 0):
        db.session.commit()  # an opt-out recorded above stays, even when the state does not move
        return delivery.state
    delivery.state = state
    if error_code:
        delivery.error_code = error_code[:20]
        delivery.error = delivery.error or f"provider error {error_code}"
    funnel.delivery_reported(delivery)
    if state in DELIVERY_FAILED:
        # The outcome and the invitation's move to its next channel commit together: were the
        # outcome kept alone, a retry after a failed move would find the delivery already
        # failed and never move the invitation on (busy.retry_when_busy runs this again).
        endings.fall_back(delivery)
    db.session.commit()
    return state
