"""Leases on claimed sends: a dead worker's sends are taken over fast, a slow one's never."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, tasks
from survey.dispatch import claims, lease, sending
from survey.extensions import db
from survey.models import Invitation, OutboxMessage
from tests.fixtures.dispatch import interaction_body

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, inside allowed hours


@pytest.fixture
def due(post_interaction, dispatch_ready):
    """Post one interaction at NOW; return its invitation's id, due at once."""

    def make() -> int:
        clock.freeze(NOW)
        return post_interaction(interaction_body()).get_json()["invitation"]["id"]

    return make


def _sweep() -> None:
    """Run the minute sweep with every task it enqueues run on the spot, as workers would."""
    tasks.huey.immediate = True
    try:
        tasks.sweep_due.call_local()
    finally:
        tasks.huey.immediate = False


def _received(invitation_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.invitation_id == invitation_id, OutboxMessage.direction == "out")
    )


def test_a_dead_workers_send_is_taken_over_by_the_first_sweep_after_its_lease(app, due):
    invitation_id = due()
    assert claims.claim_due().ids == [invitation_id]  # and then the worker was killed

    clock.advance(lease.length() - timedelta(seconds=1))
    _sweep()
    assert _received(invitation_id) == 0  # the worker may still be at it

    # The sweep runs every minute: the lease (30 s) and one minute are within 90 seconds.
    assert lease.length() + timedelta(minutes=1) <= timedelta(seconds=90)
    clock.advance(timedelta(seconds=2))
    assert claims.stuck_invitation_ids() == [invitation_id]
    _sweep()
    assert _received(invitation_id) == 1
    assert db.session.get_one(Invitation, invitation_id).state == "sent"
    clock.advance(timedelta(minutes=5))
    _sweep()
    assert _received(invitation_id) == 1


def test_a_live_worker_renews_its_lease_so_the_sweep_leaves_its_send_alone(app, due):
    invitation_id = due()
    claim = claims.claim_due()
    with lease.kept(claim.ids):
        # Far past the first lease; the heartbeat renews it on its next beat.
        renewed = lease.renew(claim.ids)
        clock.advance(lease.length() - timedelta(seconds=1))
        renewed += lease.renew(claim.ids)
        clock.advance(lease.length() - timedelta(seconds=1))
        assert renewed == 2
        assert claims.stuck_invitation_ids() == []
        _sweep()
        assert _received(invitation_id) == 0
        assert sending.send_claimed(invitation_id, claim.stamp) == "sent"
    assert _received(invitation_id) == 1


def test_a_lease_that_ran_out_is_not_renewed_behind_the_sweeps_back(app, due):
    invitation_id = due()
    claim = claims.claim_due()
    clock.advance(lease.length() + timedelta(seconds=1))
    assert lease.renew(claim.ids) == 0
    assert claims.stuck_invitation_ids() == [invitation_id]


# A lease of 1.5 s (renewed every third of it): 0.6 s failed on a machine at load 15,
# where the renewing thread was not scheduled for longer than a lease.
@pytest.mark.app_config(SURVEY_SEND_LEASE_SECONDS=1.5)
def test_a_slow_provider_call_keeps_its_lease_and_is_sent_once(app, due, twilio_api):
    from tests.fixtures.twilio import twilio_config

    app.config.update(twilio_config(twilio_api.url, TWILIO_TIMEOUT_SECONDS=10))
    invitation_id = due()
    # Let the clock run from here, so the short lease runs out in real time unless renewed.
    clock.run_offset(NOW - datetime.now(UTC))
    clock.unfreeze()
    twilio_api.delay("/Messages.json", 4.5)  # Twilio takes three leases to answer
    outcome: list[str] = []

    def worker() -> None:
        with app.app_context():
            try:
                outcome.append(sending.send_invitation(invitation_id))
            finally:
                db.session.remove()

    thread = threading.Thread(target=worker)
    thread.start()
    taken = []
    while thread.is_alive():  # the sweep, run over and over while the worker waits on Twilio
        taken += claims.stuck_invitation_ids()
        db.session.rollback()
        thread.join(timeout=0.1)
    assert outcome == ["sent"]
    assert taken == []
    assert len(twilio_api.sent("/Messages.json")) == 1


def test_a_worker_whose_send_was_taken_over_while_it_waited_sends_nothing(app, due, monkeypatch):
    """A worker stalls past its lease (waiting for the pace while Redis is away); the sweep
    takes the send over and sends it; when the first worker wakes it must not send too."""
    from survey.dispatch import pace

    invitation_id = due()
    waited = pace.reserve_turn
    stalled = []

    def stall_then_wait(*args, **kwargs):
        if not stalled:
            stalled.append(True)
            clock.advance(lease.length() + timedelta(seconds=1))
            # Meanwhile the sweep finds the lapsed lease and settles the send itself.
            assert sending.send_invitation(invitation_id) == "sent"
        return waited(*args, **kwargs)

    monkeypatch.setattr(pace, "reserve_turn", stall_then_wait)
    assert sending.send_invitation(invitation_id) == "skipped"
    assert _received(invitation_id) == 1
    assert db.session.get_one(Invitation, invitation_id).state == "sent"


def test_the_sweep_does_not_resend_a_delivery_its_worker_just_recorded(app, due, monkeypatch):
    """The sweep asks the provider and hears "never had it", but the stalled worker records
    its e-mail's Message-ID (it is about to send DATA) before the sweep settles: the sweep
    must not send it again."""
    from survey.dispatch import reconcile
    from survey.models import Delivery

    invitation_id = due()
    assert claims.claim_due().ids == [invitation_id]
    delivery = Delivery(
        invitation_id=invitation_id, channel="email", address="c@example.cn",
        provider="smtp", state="sending", attempt=1,
    )  # fmt: skip
    db.session.add(delivery)
    db.session.commit()
    clock.advance(lease.length() + timedelta(seconds=1))
    asked = reconcile.look_up

    def absent_but_recorded_meanwhile(found):
        answer = asked(found)
        db.session.execute(
            sa.update(Delivery).where(Delivery.id == found.id).values(provider_id="<m@bank>")
        )
        db.session.commit()
        return answer

    monkeypatch.setattr(reconcile, "look_up", absent_but_recorded_meanwhile)
    assert sending.send_invitation(invitation_id) == "unknown"
    assert _received(invitation_id) == 0
    db.session.expire_all()
    assert db.session.get_one(Delivery, delivery.id).state == "unknown"
