"""Claiming due invitations in batches: never one invitation to two workers, nothing lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, tasks
from survey.dispatch import claims, sending
from survey.extensions import db
from survey.models import Invitation, OutboxMessage
from tests.fixtures.dispatch import interaction_body

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, inside allowed hours


@pytest.fixture
def due_invitations(post_interaction, dispatch_ready):
    """Post interactions of different customers; return the ids of their due invitations."""

    def make(count: int) -> list[int]:
        clock.freeze(NOW)
        ids = []
        for n in range(count):
            customer = {
                "external_id": f"C-{n:04d}",
                "name": f"客户{n}",
                "phone": f"+861380013{n:04d}",
                "email": f"customer{n}@example.cn",
                "locale": "zh",
                "timezone": "Asia/Shanghai",
            }
            body = interaction_body(external_id=f"CALL-{n:04d}", customer=customer)
            ids.append(post_interaction(body).get_json()["invitation"]["id"])
        return ids

    return make


def _sweep() -> None:
    """Run the minute sweep with every task it enqueues run on the spot, as workers would."""
    tasks.huey.immediate = True  # a queue of its own, so intake's earlier hints stay unsent
    try:
        tasks.sweep_due.call_local()
    finally:
        tasks.huey.immediate = False


def _outbox_invitations() -> list[int]:
    """The invitation of each message the customers received, one entry per message."""
    db.session.expire_all()
    out = sa.select(OutboxMessage.invitation_id).where(OutboxMessage.direction == "out")
    return sorted(db.session.scalars(out))


def _states(ids: list[int]) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(Invitation.state).where(Invitation.id.in_(ids))))


def test_two_claimers_at_once_never_get_the_same_invitation(app, due_invitations):
    ids = due_invitations(30)
    barrier = threading.Barrier(2)
    taken: dict[str, list[int]] = {"first": [], "second": []}

    def claim_until_none_left(name: str) -> None:
        # Each claimer has its own app context, so its own session and connection.
        with app.app_context():
            barrier.wait(timeout=10)
            try:
                while batch := claims.claim_due(limit=4).ids:
                    taken[name].extend(batch)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim_until_none_left, args=(n,)) for n in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not set(taken["first"]) & set(taken["second"])
    assert sorted(taken["first"] + taken["second"]) == sorted(ids)
    assert _states(ids) == {"sending"}


def test_a_claim_takes_the_longest_due_first_and_only_what_is_due(app, due_invitations):
    ids = due_invitations(3)
    later = db.session.get_one(Invitation, ids[0])
    later.scheduled_at = NOW + timedelta(minutes=30)
    db.session.get_one(Invitation, ids[2]).scheduled_at = NOW - timedelta(minutes=5)
    db.session.commit()

    assert claims.claim_due(limit=1).ids == [ids[2]]
    assert claims.claim_due().ids == [ids[1]]
    assert claims.claim_due().ids == []
    assert _states([ids[0]]) == {"scheduled"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_claimer_passes_over_what_another_claimers_open_transaction_holds(app, due_invitations):
    ids = due_invitations(6)
    other = db.engine.connect()  # another worker, its claim not yet committed
    try:
        held = other.execute(
            sa.text(
                "UPDATE invitation SET state = 'sending' WHERE id IN ("
                " SELECT id FROM invitation WHERE state = 'scheduled'"
                " ORDER BY scheduled_at, id LIMIT 3 FOR UPDATE SKIP LOCKED) RETURNING id"
            )
        ).scalars()
        held_ids = sorted(held)
        # Waiting for the other transaction would hit this and fail the claim.
        db.session.execute(sa.text("SET lock_timeout = '5s'"))
        mine = claims.claim_due(limit=10).ids
        assert mine == sorted(set(ids) - set(held_ids))
        other.rollback()  # that worker died before committing: its invitations are due again
    finally:
        other.close()
    assert claims.claim_due(limit=10).ids == held_ids


def test_a_batch_whose_worker_was_lost_is_sent_once_by_a_later_sweep(app, due_invitations):
    ids = due_invitations(3)
    lost = claims.claim_due()  # claimed, then the worker died before sending any
    assert lost.ids == ids

    _sweep()
    assert _outbox_invitations() == []  # a send may still be running: nothing is sent yet

    clock.advance(timedelta(seconds=90))
    _sweep()
    assert _outbox_invitations() == ids
    assert _states(ids) == {"sent"}

    # The lost worker comes back late with its claim: the sweep has taken over; nothing is resent.
    assert [sending.send_claimed(i, lost.stamp) for i in ids] == ["skipped"] * 3
    clock.advance(timedelta(seconds=90))
    _sweep()
    assert _outbox_invitations() == ids


def test_a_slow_worker_whose_claim_still_holds_sends_its_batch(app, due_invitations):
    ids = due_invitations(2)
    claim = claims.claim_due()
    assert [sending.send_claimed(i, claim.stamp) for i in claim.ids] == ["sent", "sent"]
    assert [sending.send_claimed(i, claim.stamp) for i in claim.ids] == ["skipped", "skipped"]
    assert _outbox_invitations() == ids


def test_the_sweeps_batch_senders_send_every_due_invitation_once(app, due_invitations):
    ids = due_invitations(claims.BATCH + 5)  # more than one batch: the sender goes on
    _sweep()
    assert _outbox_invitations() == ids
    assert _states(ids) == {"sent"}
    _sweep()
    assert _outbox_invitations() == ids
