"""Sending invitations: nothing lost, nothing sent twice (DESIGN.md, rule 1).

A send claims its invitation with one conditional UPDATE, commits a delivery
marked 'sending' before the provider is called, and records the provider's id
after. A crash in between leaves a delivery 'sending': once the dead worker's
lease runs out (dispatch/lease.py) the periodic sweep finds it and asks the
provider what happened instead of sending again (dispatch/reconcile.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import orm

from survey import clock, settings
from survey.channels import messages, registry, scripts
from survey.channels.base import SendResult
from survey.dispatch import (
    contacts,
    endings,
    history,
    hours,
    lease,
    pace,
    reminders,
    retries,
    turns,
)
from survey.extensions import db
from survey.funnel import keeping as funnel
from survey.models import Customer, Delivery, Invitation
from survey.ops import metrics
from survey.responses import optouts, partials

log = logging.getLogger(__name__)


def due_invitation_ids() -> list[int]:
    """Return invitations that are due, and those stuck mid-send that need reconciling."""
    now = clock.now()
    due = sa.and_(Invitation.state == "scheduled", Invitation.scheduled_at <= now)
    return list(
        db.session.scalars(
            sa.select(Invitation.id)
            .where(sa.or_(due, lease.expired()))
            .order_by(Invitation.scheduled_at)
        )
    )


def expire_overdue() -> int:
    """Mark sent invitations whose link has lapsed as expired; return how many.

    A partial response to one of them is closed and counted at once (rule 5).
    """
    now = clock.now()
    expired = list(
        db.session.scalars(
            sa.update(Invitation)
            .where(Invitation.state == "sent", Invitation.expires_at <= now)
            .values(state="expired", updated_at=now)
            .returning(Invitation.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    partials.close_for_invitations(expired, now)
    return len(expired)


def send_invitation(invitation_id: int) -> str:
    """Send a due invitation, or reconcile one stuck mid-send; return what happened.

    The answer is one of ``sent``, ``failed``, ``expired``, ``cancelled``, ``deferred`` (due
    outside the customer's allowed hours: scheduled again for the next allowed start),
    ``held`` (the provider is misconfigured: tried again in a few minutes), ``paced`` (the
    sender's rate is taken for a while: scheduled again for its turn), ``retrying``
    (the provider did not take it, e.g. HTTP 429: the same channel again after a pause),
    ``skipped`` (not due, or another worker has it), ``reconciled`` or ``unknown`` (the
    provider may have taken it: never sent again), ``in_doubt`` (the provider answered a
    5xx or too late: left 'sending' for the sweep to look up once the lease runs out),
    ``lookup_failed`` (the provider could not be asked about an interrupted send: a later
    sweep asks again).
    """
    with lease.kept([invitation_id]):
        stamp = _claim(invitation_id)
        if stamp is not None:
            return _send_claimed(invitation_id, stamp)
        stamp = _claim_stuck(invitation_id)
        if stamp is not None:
            return _reconcile(invitation_id, stamp)
    return "skipped"


def send_claimed(invitation_id: int, claimed_at: datetime) -> str:
    """Send an invitation claimed in a batch at ``claimed_at``, if that claim still holds it.

    A worker whose lease ran out (it stalled past it) may find the sweep has taken its
    invitation over for reconciling (a new stamp on the row): then it leaves it alone
    (``skipped``). The batch's stamp is the fence itself: every write of the send is
    made in a transaction that first checks it (``_still_claimed``), so no statement of
    its own is spent taking the invitation again.
    """
    return _send_claimed(invitation_id, claimed_at)


def claim_statement(invitation_id: int, now: datetime) -> sa.Update:
    """The conditional UPDATE that moves a due invitation to 'sending': one caller wins."""
    return (
        sa.update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.state == "scheduled",
            Invitation.scheduled_at <= now,
        )
        .values(state="sending", updated_at=now, claimed_at=now, lease_until=lease.until(now))
        .execution_options(synchronize_session=False)
    )


def _claim(invitation_id: int) -> datetime | None:
    """Move a due invitation from 'scheduled' to 'sending'; only one caller can win.

    The winner gets the claim's stamp (``updated_at``), its fence (``_still_claimed``).
    """
    now = clock.now()
    result = db.session.execute(claim_statement(invitation_id, now))
    db.session.commit()
    return now if result.rowcount == 1 else None


def _claim_stuck(invitation_id: int) -> datetime | None:
    """Take a send whose lease ran out for reconciling; a new stamp and lease keep others off."""
    now = clock.now()
    result = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation_id, lease.expired())
        .values(updated_at=now, claimed_at=now, lease_until=lease.until(now))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return now if result.rowcount == 1 else None


def _send_claimed(invitation_id: int, stamp: datetime) -> str:
    """Send a claimed invitation, keeping its rows loaded across the send's commits.

    A send commits three times (its checks, the delivery before the provider is called,
    the outcome after); reloading the invitation, customer and addresses after each
    was a third of a send's time. Nothing else writes them while the claim holds, and
    the caller's next send starts from fresh rows (``claims.send_due`` expunges).
    """
    session = db.session()
    expiring = session.expire_on_commit
    session.expire_on_commit = False
    try:
        return _send_loaded(invitation_id, stamp)
    finally:
        session.expire_on_commit = expiring


def _still_claimed(invitation_id: int, stamp: datetime) -> bool:
    """Renew this worker's claim if nobody took the send over; the fence before a delivery.

    A worker that stalled past its lease (a long wait for the pace while Redis was away, a
    starved heartbeat) may find the sweep has taken its invitation over (a new stamp,
    ``_claim_stuck``) and is settling it: then it must not send too. Its own changes to
    the row (the question an SMS awaits) move ``updated_at``, never ``claimed_at``. One conditional UPDATE
    of the row decides who goes on, and it commits with the delivery.
    """
    result = db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.state == "sending",
            Invitation.claimed_at == stamp,
        )
        .values(lease_until=lease.until(clock.now()), updated_at=Invitation.updated_at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


# What a send reads of its invitation, in one statement: the customer and addresses (opt-outs,
# allowed hours, contact locks) and the deliveries so far (channels tried, attempts).
_SEND_LOAD = (
    orm.joinedload(Invitation.customer).joinedload(Customer.addresses),
    orm.joinedload(Invitation.deliveries),
)


def _settled(invitation_id: int, stamp: datetime) -> bool:
    """Check the claim before an outcome without a delivery is written; False: hands off.

    Called before the invitation is changed, so the fence's UPDATE is the transaction's
    first write and a send taken over leaves no trace.
    """
    if _still_claimed(invitation_id, stamp):
        return True
    db.session.rollback()
    log.warning("invitation %s: taken over by another worker; left alone here", invitation_id)
    return False


def _send_loaded(invitation_id: int, stamp: datetime) -> str:
    """Send an invitation this worker claimed with ``stamp`` (its fence: ``_still_claimed``)."""
    invitation = db.session.get(Invitation, invitation_id, options=_SEND_LOAD)
    if invitation is None or invitation.state != "sending":
        # Sent or settled since the claim (a cheap look; the fence decides the rest).
        db.session.rollback()
        return "skipped"
    now = clock.now()
    if now >= invitation.expires_at:
        if not _settled(invitation_id, stamp):
            return "skipped"
        invitation.state = "expired"
        db.session.commit()
        return "expired"
    # One read of the refusals serves the customer's own and each channel's address below.
    refusals = contacts.refusals(invitation.customer)
    if refusals.customer:
        # Refused since the decision (STOP or the link, on any channel): no channel may be used.
        if not _settled(invitation_id, stamp):
            return "skipped"
        endings.cancel(invitation, "opted_out")
        db.session.commit()
        log.info("invitation %s: cancelled, the customer has opted out", invitation.id)
        return "cancelled"
    if history.has_open_complaint(invitation.customer):
        # A complaint opened since the decision: no survey while it is open.
        if not _settled(invitation_id, stamp):
            return "skipped"
        endings.cancel(invitation, "open_complaint")
        db.session.commit()
        log.info("invitation %s: cancelled, the customer has a complaint open", invitation.id)
        return "cancelled"
    allowed = hours.next_allowed_for(invitation.customer, now)
    if allowed > now:
        if not _settled(invitation_id, stamp):
            return "skipped"
        _defer(invitation, allowed)
        db.session.commit()
        log.info("invitation %s: outside allowed hours, deferred to %s", invitation.id, allowed)
        return "deferred"
    # A held or retrying delivery never reached the provider: its channel is tried again.
    tried = {
        d.channel
        for d in invitation.deliveries
        if d.state not in ("held", "retrying") and d.purpose == "invitation"
    }
    attempted = bool(tried)
    for channel_name in invitation.channels:
        if channel_name in tried:
            continue
        # Asked again now, not when the interaction arrived: an opt-out since then holds.
        address = contacts.address_for(invitation.customer, channel_name, refusals.address_ids)
        if address is None:
            continue
        channel = registry.channel_for(channel_name)
        message = pace.with_validity(
            invitation, messages.render(invitation, channel_name, address.value)
        )
        turn = pace.reserve_turn(channel, channel_name, message)
        if turn.busy_for is not None:
            # The sender's rate is spoken for longer than a worker should wait: come back
            # then (the allowed-hours check runs again when its turn comes).
            if not _settled(invitation_id, stamp):
                return "skipped"
            _defer(invitation, clock.now() + timedelta(seconds=turn.busy_for))
            db.session.commit()
            return "paced"
        # Two interactions arriving together can both pass the frequency check at intake:
        # the first to reach this point (its delivery committed under the lock) is the survey.
        window = timedelta(days=int(settings.get("frequency_window_days")))
        turns.lock_contacts(invitation)
        if not _still_claimed(invitation.id, stamp):
            db.session.rollback()
            log.warning("invitation %s: taken over by another worker; not sent here", invitation.id)
            return "skipped"
        if history.earlier_survey_reached(invitation, clock.now() - window):
            endings.cancel(invitation, "frequency")
            db.session.commit()
            log.info("invitation %s: cancelled, another survey went out first", invitation.id)
            return "cancelled"
        delivery = Delivery(
            invitation=invitation,
            channel=channel_name,
            address=address.value,
            provider=channel.name,
            state="sending",
            attempt=retries.next_attempt(invitation, channel_name),
        )
        db.session.add(delivery)
        db.session.commit()
        attempted = True
        # Right before the provider call, the delivery marked meanwhile: the turn starts here.
        pace.begin_turn(turn)

        result = channel.send(delivery.id, message)
        if result.taken_over:
            db.session.rollback()
            return "skipped"
        metrics.count_send(channel_name, channel.name, result)
        if result.unknown and result.look_up:
            _leave_for_look_up(invitation, delivery, result)
            db.session.commit()
            return "in_doubt"
        if result.ok or result.unknown:
            _mark_sent(invitation, delivery, result)
            db.session.commit()
            return "sent" if result.ok else "unknown"
        if result.held:
            _hold(invitation, delivery, result)
            db.session.commit()
            return "held"
        if result.retryable and _retry_later(invitation, delivery, result):
            db.session.commit()
            return "retrying"
        delivery.state = "failed"
        delivery.error = result.error
        delivery.error_code = result.code
        if result.opted_out:
            # The carrier says this number refused our messages: a refusal like STOP.
            optouts.refuse_from_address(
                contacts.ADDRESS_KIND[channel_name],
                address.value,
                "carrier",
                f"{channel.name}:{result.code}",
                invitation.customer,
            )
        db.session.commit()
        log.warning(
            "invitation %s: %s via %s failed: %s",
            invitation.id,
            channel_name,
            channel.name,
            result.error,
        )
        if result.opted_out:
            endings.cancel(invitation, "opted_out")
            db.session.commit()
            return "cancelled"
    if not _settled(invitation_id, stamp):
        return "skipped"
    if not attempted:
        # Every address the invitation could use was opted out after it was made.
        endings.cancel(invitation, "opted_out")
        db.session.commit()
        log.info("invitation %s: cancelled, no address may be contacted any more", invitation.id)
        return "cancelled"
    endings.fail(invitation)
    db.session.commit()
    return "failed"


# A configuration fault (SMTP down, Twilio credentials refused) holds sends this long.
HOLD_FOR = timedelta(minutes=5)


def _retry_later(invitation: Invitation, delivery: Delivery, result: SendResult) -> bool:
    """Schedule the same channel again after a jittered pause (see ``retries``), if one is left.

    Returns False when the tries on this channel are spent: the delivery then fails.
    """
    now = clock.now()
    first = retries.tries(invitation, delivery.channel)[0].created_at
    at = retries.retry_at(first, delivery.attempt, now, result.retry_after)
    if at is None:
        return False
    _keep(invitation, delivery, result, at - now)
    delivery.state = "retrying"
    log.warning(
        "invitation %s: %s via %s not taken (%s); try %d of %d at %s",
        invitation.id,
        delivery.channel,
        delivery.provider,
        result.error,
        delivery.attempt + 1,
        retries.MAX_ATTEMPTS,
        at,
    )
    return True


def _leave_for_look_up(invitation: Invitation, delivery: Delivery, result: SendResult) -> None:
    """Leave a send the provider may have taken (a 5xx, a timeout) for the sweep to look up.

    It stays 'sending', as if this worker had died right after the request: once the
    lease runs out the sweep asks the provider (``reconcile.settle``), which marks it sent
    when the provider has it and sends it once more only when the provider provably never
    had it. Deciding now would either lose it (marked 'unknown', never sent) or risk a
    second message; asking a lease later also gives the provider's list time to show it.
    """
    delivery.error = result.error
    delivery.error_code = result.code
    log.warning(
        "invitation %s: %s via %s may have been taken (%s); looked up once its lease runs out",
        invitation.id,
        delivery.channel,
        delivery.provider,
        result.error,
    )


def retry_refused(invitation: Invitation, delivery: Delivery, error: str) -> bool:
    """Count a send the provider answered with an error and provably never took as a refused
    try: schedule its channel again after the pause a 429 gets; commits.

    Returns False when the channel's tries are spent: the delivery failed, and the caller
    sends on the next channel. Without this a provider failing for hours would be asked
    again at every sweep until the link expired.
    """
    delivery.state = "sending"  # one of the channel's tries while its pause is chosen
    result = SendResult(ok=False, retryable=True, code=delivery.error_code, error=error)
    if _retry_later(invitation, delivery, result):
        db.session.commit()
        return True
    delivery.state = "failed"
    delivery.error = error
    db.session.commit()
    return False


def _hold(invitation: Invitation, delivery: Delivery, result: SendResult) -> None:
    """Keep an invitation whose provider cannot be used at all: scheduled again, not failed.

    Failing it would move every customer to their next channel, or lose them,
    because of our own configuration; the operator fixes it and sending resumes.
    """
    _keep(invitation, delivery, result, HOLD_FOR)
    log.error(
        "invitation %s: %s via %s held, the provider is not usable: %s",
        invitation.id,
        delivery.channel,
        delivery.provider,
        result.error,
    )


def _keep(invitation: Invitation, delivery: Delivery, result: SendResult, pause: timedelta) -> None:
    """Mark a delivery the provider never took as held, and the invitation due again later."""
    delivery.state = "held"
    delivery.error = result.error or "the provider asked us to try again later"
    delivery.error_code = result.code
    _defer(invitation, clock.now() + pause)


def _reconcile(invitation_id: int, stamp: datetime) -> str:
    """Settle an invitation a crash left 'sending', without sending anything blindly."""
    from survey.dispatch import reconcile

    return reconcile.settle(invitation_id, stamp)


def _defer(invitation: Invitation, to: datetime) -> None:
    """Put a claimed invitation back as scheduled for a later moment, its link lifetime intact.

    A delay, a queue backlog or a worker that was down can make an invitation due at
    night; it waits for the morning instead of being sent or dropped.
    """
    lifetime = invitation.expires_at - invitation.scheduled_at
    invitation.state = "scheduled"
    invitation.scheduled_at = to
    invitation.expires_at = max(invitation.expires_at, to + lifetime)


def _mark_sent(invitation: Invitation, delivery: Delivery, result: SendResult) -> None:
    """Record an accepted send (or one the provider may have taken: never sent again).

    A two-way SMS now waits for the customer's reply to its first question.
    """
    now = clock.now()
    delivery.state = "sent" if result.ok else "unknown"
    delivery.provider_id = result.provider_id
    delivery.error = result.error
    delivery.error_code = result.code
    invitation.state = "sent"
    invitation.channel = delivery.channel
    invitation.sent_at = now
    reminders.schedule(invitation, now)
    if delivery.channel == "sms" and messages.sms_mode(invitation, delivery.address) == "two_way":
        first = scripts.sms_questions(invitation.version)[0]
        invitation.sms_question_key = first.key
        invitation.sms_misses = 0
    funnel.track(invitation)
