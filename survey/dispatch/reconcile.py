"""Settling a send a crash interrupted: ask the provider, then act on what it can prove.

A worker marks its delivery 'sending' before it calls the provider and records
the provider's id after (DESIGN.md, rule 1). When it dies in between, the sweep
takes the invitation over once the worker's lease runs out and asks the
delivery's provider (``Channel.look_up``):

- found: the provider has it; the delivery is sent, with the provider's id;
- absent: the provider provably never had it (the outbox has no row for it,
  Twilio lists nothing of ours since the delivery began); it is sent now, once; when the
  provider had answered an error (a 5xx, a timeout) rather than a crash cutting the send,
  that was a refused try: sent again after the pause a 429 gets, within the same five
  tries (``retries``), then the next channel;
- cannot tell (SMTP after DATA): it may have gone; the delivery is 'unknown',
  never sent again by itself; an administrator decides (admin/undelivered.py);
- the look-up failed (a timeout, a 5xx): nothing is decided; the invitation
  stays 'sending' and the next sweep asks again when this lease runs out, until
  its link expires, when the send counts as one nobody can tell about.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa

from survey import clock
from survey.channels import registry
from survey.channels.base import ABSENT, CANNOT_TELL, FOUND, LOOKUP_FAILED, Lookup, SendResult
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Delivery, Invitation

log = logging.getLogger(__name__)

NOT_TAKEN = "interrupted before the provider took it; sent again"


def settle(invitation_id: int, stamp: datetime) -> str:
    """Settle an invitation left 'sending'; return what happened, as ``send_invitation`` does.

    ``stamp`` is the claim this sweep took on it (``sending._claim_stuck``).

    ``reconciled`` (the provider had it), ``unknown`` (nobody can tell), ``lookup_failed``
    (asked again by a later sweep), or what sending it now answered (``sent`` …).
    """
    invitation = db.session.get_one(Invitation, invitation_id)
    pending = [d for d in invitation.deliveries if d.state == "sending"]
    for delivery in pending:
        answer = look_up(delivery)
        if answer.verdict == LOOKUP_FAILED and clock.now() < invitation.expires_at:
            db.session.rollback()
            log.warning(
                "invitation %s: delivery %s not settled yet (%s); a later sweep asks again",
                invitation.id,
                delivery.id,
                answer.error,
            )
            return "lookup_failed"
        if answer.verdict == FOUND:
            sending._mark_sent(
                invitation, delivery, SendResult(ok=True, provider_id=answer.provider_id)
            )
            db.session.commit()
            log.info("invitation %s: delivery %s reconciled as sent", invitation.id, delivery.id)
            return "reconciled"
        if answer.verdict == ABSENT:
            # A provider's error answer (a 5xx, a timeout: ``sending._leave_for_look_up``);
            # None when a crash cut the send.
            refused = delivery.error
            if hold_unrecorded(delivery):
                if refused is not None and sending.retry_refused(invitation, delivery, refused):
                    return "retrying"
                continue
            db.session.refresh(delivery)
            answer = look_up(delivery)
            if answer.verdict == FOUND:
                sending._mark_sent(
                    invitation, delivery, SendResult(ok=True, provider_id=answer.provider_id)
                )
                db.session.commit()
                return "reconciled"
        error = answer.error or "the provider cannot confirm it"
        sending._mark_sent(
            invitation,
            delivery,
            SendResult(ok=False, unknown=True, error=f"interrupted mid-send; {error}"),
        )
        db.session.commit()
        log.warning(
            "invitation %s: a send was interrupted and cannot be confirmed; "
            "not sent again unless an administrator decides to",
            invitation.id,
        )
        return "unknown"
    db.session.commit()
    if pending:
        log.info("invitation %s: the interrupted send never reached its provider", invitation.id)
    # Nothing reached a provider: sending is safe, once (channels already tried are skipped).
    return sending._send_claimed(invitation_id, stamp)


def hold_unrecorded(delivery: Delivery) -> bool:
    """Mark a delivery the provider proved it never had 'held'; False if it was recorded meanwhile.

    'held' is a delivery the provider never took: its channel may be tried again. Only
    while it is still unrecorded: a stalled worker recording its provider id at this moment
    (channels/smtp.py, the same condition) has it, and it may go out.
    """
    settled = db.session.execute(
        sa.update(Delivery)
        .where(
            Delivery.id == delivery.id,
            Delivery.state == "sending",
            Delivery.provider_id.is_(None),
        )
        .values(state="held", error=NOT_TAKEN)
        .execution_options(synchronize_session=False)
    )
    if settled.rowcount != 1:
        return False
    db.session.expire(delivery, ["state", "error"])
    return True


def look_up(delivery: Delivery) -> Lookup:
    """Ask the delivery's provider what became of it."""
    channel = registry.channel_named(delivery.provider)
    if channel is None:
        return Lookup(CANNOT_TELL, error=f"provider {delivery.provider} is not in this build")
    return channel.look_up(delivery.id)
