"""How an invitation ends unsent: cancelled (with a suppression reason), or failed on every channel.

A delivery that fails after the provider took it (a status callback, a call
nobody answered) moves the invitation on to its next channel from here.
"""

from __future__ import annotations

import logging

from survey import clock, hints
from survey.dispatch import contacts
from survey.extensions import db
from survey.funnel import keeping as funnel
from survey.models import Delivery, Invitation

log = logging.getLogger(__name__)


def cancel(invitation: Invitation, reason: str) -> None:
    """End an invitation unsent, saying why (a suppression reason, as intake would name it)."""
    invitation.state = "cancelled"
    invitation.suppression_reason = reason
    invitation.reminder_due_at = None
    funnel.track(invitation)


def fail(invitation: Invitation) -> None:
    """End an invitation no channel could carry, keeping what each channel's last try said."""
    last: dict[str, Delivery] = {}
    for d in invitation.deliveries:
        if d.purpose == "invitation" and d.state not in ("held", "retrying"):
            last[d.channel] = d
    invitation.state = "failed"
    invitation.reminder_due_at = None
    invitation.failure_reason = (
        "; ".join(f"{channel}: {d.error or d.state}" for channel, d in last.items())
        or "no channel could be used"
    )
    funnel.track(invitation)


def fall_back(delivery: Delivery) -> str:
    """Move an invitation on after a delivery failed later (a status callback, a call outcome).

    The next channel of its rule is tried at once, within allowed hours (the
    send defers otherwise); with none left the invitation has failed. The
    caller has set the delivery's outcome without committing it: a move
    commits both at once; when there is nothing to move the caller commits.
    """
    invitation = delivery.invitation
    if delivery.purpose != "invitation":
        return "ignored"  # a reminder that did not arrive: the invitation itself did
    if invitation.state != "sent" or invitation.channel != delivery.channel:
        return "ignored"  # answered, closed, or already moved on
    if any(d.state == "answered" for d in invitation.deliveries):
        return "ignored"
    tried = {
        d.channel
        for d in invitation.deliveries
        if d.state not in ("held", "retrying") and d.purpose == "invitation"
    }
    remaining = [
        c
        for c in invitation.channels
        if c not in tried and contacts.address_for(invitation.customer, c) is not None
    ]
    if not remaining:
        fail(invitation)
        invitation.sms_question_key = None
        db.session.commit()
        log.info("invitation %s: %s failed and no channel is left", invitation.id, delivery.channel)
        return "failed"
    invitation.state = "scheduled"
    invitation.scheduled_at = clock.now()
    invitation.reminder_due_at = None  # a reminder follows the send that reaches them
    invitation.sms_question_key = None  # a failed SMS awaits no reply
    db.session.commit()
    log.info("invitation %s: %s failed; trying %s", invitation.id, delivery.channel, remaining[0])
    hints.send_soon(invitation.id)
    return "scheduled"
