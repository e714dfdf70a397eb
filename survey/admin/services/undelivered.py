"""Sends nobody can confirm: listed for an administrator, who may decide to send them again.

A send that ended in doubt (the mail server took the message but its receipt
never came back; a worker died mid-send and the provider cannot be asked) is a
delivery 'unknown' on an invitation counted as sent. It is never sent again by
itself, since the customer may already have it (DESIGN.md, rule 1); an
administrator who knows better (the mail server's log, the customer's word)
sends it again, once, and the audit trail keeps who decided.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from survey import audit, clock, hints
from survey.extensions import db
from survey.models import Delivery, Invitation, User

RESENT = "may not have been sent; an administrator chose to send it again"


def _awaiting_decision() -> sa.Select:
    """Deliveries in doubt that are still their invitation's last attempt."""
    later = aliased(Delivery)
    newer_attempt = (
        sa.select(later.id)
        .where(later.invitation_id == Delivery.invitation_id, later.id > Delivery.id)
        .exists()
    )
    return (
        sa.select(Delivery)
        .join(Delivery.invitation)
        .where(Delivery.state == "unknown", Invitation.state == "sent", ~newer_attempt)
    )


def listing() -> sa.Select:
    """The deliveries an administrator may send again, the newest first, with their invitations."""
    return (
        _awaiting_decision()
        .options(joinedload(Delivery.invitation).joinedload(Invitation.customer))
        .order_by(Delivery.id.desc())
    )


def send_again(actor: User, delivery_id: int) -> Invitation | None:
    """Schedule the invitation of a delivery in doubt for one more send now; commits.

    Returns None when the delivery is no longer awaiting a decision (sent again by
    someone else already, answered, expired).
    """
    delivery = db.session.scalar(_awaiting_decision().where(Delivery.id == delivery_id))
    if delivery is None:
        return None
    invitation = delivery.invitation
    now = clock.now()
    if now >= invitation.expires_at:
        return None
    # 'held': a delivery the provider is taken not to have; its channel is tried once more.
    delivery.state = "held"
    delivery.error = RESENT
    invitation.state = "scheduled"
    invitation.scheduled_at = now
    invitation.sms_question_key = None
    audit.record(
        actor,
        "invitation.send_again",
        "invitation",
        invitation.id,
        before={"delivery": delivery.id, "state": "unknown", "channel": delivery.channel},
        after={"delivery": delivery.id, "state": "scheduled", "channel": delivery.channel},
    )
    db.session.commit()
    hints.send_soon(invitation.id)
    return invitation
