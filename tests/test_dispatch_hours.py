"""Quiet hours: no message outside the allowed hours in the customer's own zone, deferred not dropped."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.dispatch import sending
from survey.dispatch.hours import next_allowed
from survey.extensions import db
from survey.models import Invitation, OutboxMessage
from tests.fixtures.dispatch import claimed_by_a_worker_that_dies, interaction_body

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
START, END = time(8), time(21)


@pytest.fixture
def post_at(post_interaction):
    """Post an interaction that happens at a moment (the clock stops there); return the answer."""

    def post(at: datetime, **overrides):
        clock.freeze(at)
        body = interaction_body(occurred_at=at.isoformat(), **overrides)
        response = post_interaction(body)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    return post


def _new_yorker(external_id: str = "C-NY") -> dict:
    return {
        "external_id": external_id,
        "phone": "+12125550123",
        "locale": "en",
        "timezone": "America/New_York",
    }


def _outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage)))


@pytest.mark.parametrize(
    "local, expected",
    [
        (datetime(2026, 11, 29, 12, 0), datetime(2026, 11, 29, 12, 0)),  # inside: unchanged
        (datetime(2026, 11, 29, 8, 0), datetime(2026, 11, 29, 8, 0)),  # the start is allowed
        (datetime(2026, 11, 29, 6, 59), datetime(2026, 11, 29, 8, 0)),  # before: today
        (datetime(2026, 11, 29, 21, 0), datetime(2026, 11, 30, 8, 0)),  # the end is not
        (datetime(2026, 11, 29, 23, 59), datetime(2026, 11, 30, 8, 0)),  # after: tomorrow
        (datetime(2026, 12, 31, 22, 0), datetime(2027, 1, 1, 8, 0)),  # over the year's end
    ],
)
def test_the_next_allowed_moment_in_a_zone(local, expected):
    at = local.replace(tzinfo=SHANGHAI)
    assert next_allowed(at, SHANGHAI, START, END) == expected.replace(tzinfo=SHANGHAI)


def test_next_allowed_keeps_08_00_local_across_daylight_saving_changes():
    # New York leaves summer time on 1 November 2026 and enters it on 8 March 2026.
    autumn = datetime(2026, 10, 31, 22, 30, tzinfo=NEW_YORK)  # EDT, UTC-4
    assert next_allowed(autumn, NEW_YORK, START, END) == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    spring = datetime(2026, 3, 7, 23, 0, tzinfo=NEW_YORK)  # EST, UTC-5
    assert next_allowed(spring, NEW_YORK, START, END) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    # A start that falls in the spring-forward gap becomes the first moment after it.
    gap_start = next_allowed(spring, NEW_YORK, time(2, 30), END)
    assert gap_start == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT


def test_an_interaction_at_22_30_in_shanghai_is_scheduled_for_08_00_next_day(
    post_at, post_interaction, dispatch_ready
):
    at = datetime(2026, 11, 29, 22, 30, tzinfo=SHANGHAI)
    answer = post_at(at)
    assert answer["suppression_reason"] is None
    assert answer["invitation"]["scheduled_at"] == "2026-11-30T00:00:00+00:00"  # 08:00 Shanghai
    invitation = db.session.get(Invitation, answer["invitation"]["id"])
    assert invitation.expires_at == datetime(2026, 12, 3, 0, 0, tzinfo=UTC)  # moved with it
    assert sending.due_invitation_ids() == []
    # The replay answers the deferred moment too.
    replay = post_interaction(interaction_body(occurred_at=at.isoformat()))
    assert replay.status_code == 200 and replay.get_json() == answer

    clock.advance(timedelta(hours=9, minutes=30))
    assert sending.due_invitation_ids() == [invitation.id]
    assert sending.send_invitation(invitation.id) == "sent"


def test_a_new_york_customer_at_07_00_local_is_asked_at_08_00_local(post_at, dispatch_ready):
    # 07:00 in New York is 20:00 in Shanghai: inside the bank's hours, not the customer's.
    answer = post_at(
        datetime(2026, 11, 30, 7, 0, tzinfo=NEW_YORK), customer=_new_yorker(), external_id="NY-1"
    )
    assert answer["invitation"]["scheduled_at"] == "2026-11-30T13:00:00+00:00"  # 08:00 EST


def test_a_new_york_evening_before_the_clocks_go_back_is_asked_at_08_00_winter_time(
    post_at, dispatch_ready
):
    answer = post_at(
        datetime(2026, 10, 31, 21, 30, tzinfo=NEW_YORK), customer=_new_yorker(), external_id="NY-1"
    )
    assert answer["invitation"]["scheduled_at"] == "2026-11-01T13:00:00+00:00"  # 08:00 EST
    summer = post_at(
        datetime(2026, 3, 7, 21, 30, tzinfo=NEW_YORK),
        customer=_new_yorker("C-NY-2") | {"phone": "+12125550199"},
        external_id="NY-2",
    )
    assert summer["invitation"]["scheduled_at"] == "2026-03-08T12:00:00+00:00"  # 08:00 EDT


def test_a_customer_without_a_zone_is_asked_in_the_organisations_default_zone(
    post_at, dispatch_ready
):
    settings.put("default_timezone", "Europe/London")
    db.session.commit()
    customer = {"external_id": "C-UK", "phone": "+447700900123"}
    answer = post_at(datetime(2026, 11, 30, 6, 0, tzinfo=UTC), customer=customer)
    assert answer["invitation"]["scheduled_at"] == "2026-11-30T08:00:00+00:00"


def test_the_admins_allowed_hours_are_used(post_at, dispatch_ready):
    settings.put("allowed_hours_start", "09:30")
    settings.put("allowed_hours_end", "18:00")
    db.session.commit()
    morning = post_at(datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))
    assert morning["invitation"]["scheduled_at"] == "2026-11-30T01:30:00+00:00"  # 09:30


def test_a_delay_that_ends_after_hours_moves_to_the_next_morning(
    post_at, make_org, make_default_rule
):
    make_org()
    make_default_rule(delay_minutes=90)
    answer = post_at(datetime(2026, 11, 29, 20, 0, tzinfo=SHANGHAI))
    assert answer["invitation"]["scheduled_at"] == "2026-11-30T00:00:00+00:00"


def test_a_send_that_falls_due_at_night_waits_for_the_morning_and_is_not_lost(
    post_at, dispatch_ready
):
    answer = post_at(datetime(2026, 11, 29, 20, 50, tzinfo=SHANGHAI))
    invitation_id = answer["invitation"]["id"]
    # The worker was down: the sweep only gets to it at 22:00.
    clock.freeze(datetime(2026, 11, 29, 22, 0, tzinfo=SHANGHAI))
    assert sending.due_invitation_ids() == [invitation_id]
    assert sending.send_invitation(invitation_id) == "deferred"
    assert _outbox() == []
    invitation = db.session.get(Invitation, invitation_id)
    assert invitation.state == "scheduled"
    assert invitation.scheduled_at == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert invitation.expires_at == datetime(2026, 12, 3, 0, 0, tzinfo=UTC)  # a full lifetime
    assert sending.due_invitation_ids() == []

    clock.freeze(datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI))
    assert sending.due_invitation_ids() == [invitation_id]
    assert sending.send_invitation(invitation_id) == "sent"
    assert len(_outbox()) == 1


def test_a_send_interrupted_before_any_delivery_is_also_deferred_at_night(post_at, dispatch_ready):
    invitation_id = post_at(datetime(2026, 11, 29, 20, 50, tzinfo=SHANGHAI))["invitation"]["id"]
    invitation = db.session.get(Invitation, invitation_id)
    claimed_by_a_worker_that_dies(invitation)
    db.session.commit()
    clock.freeze(datetime(2026, 11, 29, 21, 30, tzinfo=SHANGHAI))
    assert sending.send_invitation(invitation_id) == "deferred"
    db.session.refresh(invitation)
    assert invitation.state == "scheduled" and _outbox() == []


def test_the_api_says_plainly_that_a_night_post_waits_for_the_morning_and_a_replay_says_it_too(
    post_at, dispatch_ready, post_interaction
):
    night = datetime(2026, 11, 29, 23, 30, tzinfo=SHANGHAI)
    answer = post_at(night, external_id="NIGHT-1")
    invitation = answer["invitation"]
    assert invitation["waits_for_allowed_hours"] is True
    assert invitation["scheduled_at"] == "2026-11-30T00:00:00+00:00"  # 08:00 in Shanghai
    assert "08:00–21:00" in invitation["note"] and "2026-11-30 08:00" in invitation["note"]
    assert "Asia/Shanghai" in invitation["note"]
    replay = post_at(night, external_id="NIGHT-1")
    assert replay["invitation"] == invitation


def test_the_api_does_not_mention_allowed_hours_for_a_send_during_the_day(post_at, dispatch_ready):
    answer = post_at(datetime(2026, 11, 30, 11, 0, tzinfo=SHANGHAI))
    assert answer["invitation"]["waits_for_allowed_hours"] is False
    assert "note" not in answer["invitation"]
