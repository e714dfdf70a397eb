"""Exactly one worker runs the periodic jobs: the sweep's lease, held while alive, taken over after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from survey import clock, tasks
from survey.dispatch import leader

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def test_the_first_worker_takes_the_lease_and_the_second_is_refused(db):
    clock.freeze(NOW)
    assert leader.hold("sweep", "host-a:1:aa") is True
    assert leader.hold("sweep", "host-b:2:bb") is False
    assert leader.holder_of("sweep") == "host-a:1:aa"


def test_the_holder_keeps_the_lease_by_renewing_it_each_sweep(db):
    clock.freeze(NOW)
    assert leader.hold("sweep", "host-a:1:aa")
    for minute in range(1, 10):
        clock.freeze(NOW + timedelta(minutes=minute))
        assert leader.hold("sweep", "host-a:1:aa") is True
        assert leader.hold("sweep", "host-b:2:bb") is False


def test_a_dead_holders_lease_runs_out_and_another_worker_takes_over(db):
    clock.freeze(NOW)
    assert leader.hold("sweep", "host-a:1:aa")
    clock.freeze(NOW + leader.LEASE - timedelta(seconds=1))
    assert leader.hold("sweep", "host-b:2:bb") is False
    clock.freeze(NOW + leader.LEASE)
    assert leader.hold("sweep", "host-b:2:bb") is True
    # The old holder, back from a pause, does not run them beside the new one.
    assert leader.hold("sweep", "host-a:1:aa") is False
    assert leader.holder_of("sweep") == "host-b:2:bb"


def test_a_sweep_in_a_worker_without_the_lease_does_nothing(db, post_interaction, dispatch_ready):
    from tests.fixtures.dispatch import interaction_body

    clock.freeze(NOW)
    post_interaction(interaction_body(occurred_at=NOW.isoformat()))
    assert leader.hold("sweep", "another-host:7:cc")
    tasks.huey.immediate = True
    try:
        assert tasks.sweep_due.call_local() == 0
    finally:
        tasks.huey.immediate = False
    # This process takes over once the other's lease has run out, and the sweep works.
    clock.freeze(NOW + leader.LEASE)
    tasks.huey.immediate = True
    try:
        assert tasks.sweep_due.call_local() >= 1
    finally:
        tasks.huey.immediate = False
    assert leader.holder_of("sweep") == leader.THIS_PROCESS


def test_a_worker_that_stops_on_purpose_lets_another_take_over_at_once(db):
    clock.freeze(NOW)
    assert leader.hold("sweep", "host-a:1:aa")
    leader.release("sweep", "host-b:2:bb")  # not the holder: changes nothing
    assert leader.holder_of("sweep") == "host-a:1:aa"
    leader.release("sweep", "host-a:1:aa")
    assert leader.hold("sweep", "host-b:2:bb") is True
