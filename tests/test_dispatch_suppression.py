"""Who is not asked, and why: open complaints, the frequency window, sampling (DESIGN.md, rule 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.dispatch import sending
from survey.dispatch.decide import in_sample
from survey.extensions import db
from survey.models import Invitation, OptOut
from tests.fixtures.dispatch import interaction_body

NOON = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
OPENED = "2026-11-01T09:00:00+08:00"


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


def _customer(external_id: str, phone: str | None = None, email: str | None = None) -> dict:
    return {"external_id": external_id, "phone": phone, "email": email, "locale": "zh"}


def _invitations() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Invitation))


def _complaint(resolved_at: str | None) -> dict:
    return {"opened_at": OPENED, "resolved_at": resolved_at, "cause": "process"}


def test_an_open_complaint_is_not_surveyed_and_its_replay_answers_the_same(
    post_at, post_interaction, dispatch_ready
):
    body = dict(type="complaint", team="personal-complaints", complaint=_complaint(None))
    answer = post_at(NOON, external_id="CMP-1", **body)
    assert answer["invitation"] is None
    assert answer["suppression_reason"] == "open_complaint"
    replay = post_interaction(
        interaction_body(occurred_at=NOON.isoformat(), external_id="CMP-1", **body)
    )
    assert replay.status_code == 200 and replay.get_json() == answer
    assert _invitations() == 0


def test_no_survey_about_anything_while_the_customers_complaint_is_open(post_at, dispatch_ready):
    post_at(
        NOON,
        external_id="CMP-1",
        type="complaint",
        team="personal-complaints",
        complaint=_complaint(None),
    )
    inquiry = post_at(NOON + timedelta(hours=1), external_id="CALL-1")
    assert inquiry["suppression_reason"] == "open_complaint"
    assert _invitations() == 0


def test_the_resolved_complaint_posted_later_is_surveyed(post_at, dispatch_ready):
    complaint = dict(type="complaint", team="personal-complaints")
    post_at(NOON, external_id="CMP-1-OPEN", complaint=_complaint(None), **complaint)
    resolved = post_at(
        NOON + timedelta(days=1),
        external_id="CMP-1-RESOLVED",
        complaint=_complaint("2026-11-03T11:00:00+08:00"),
        **complaint,
    )
    assert resolved["suppression_reason"] is None and resolved["invitation"]["state"] == "scheduled"


def test_an_open_complaint_holds_back_only_that_customer_record(post_at, dispatch_ready):
    post_at(
        NOON,
        external_id="CMP-1",
        type="complaint",
        team="personal-complaints",
        complaint=_complaint(None),
    )
    # The spouse shares the phone number but has no complaint of their own.
    spouse = post_at(
        NOON, external_id="CALL-SPOUSE", customer=_customer("C-SPOUSE", "+8613800138000")
    )
    assert spouse["suppression_reason"] is None


def test_a_complaint_opened_after_the_decision_cancels_the_send(post_at, dispatch_ready):
    invitation_id = post_at(NOON, external_id="CALL-1")["invitation"]["id"]
    post_at(
        NOON,
        external_id="CMP-1",
        type="complaint",
        team="personal-complaints",
        complaint=_complaint(None),
    )
    assert sending.send_invitation(invitation_id) == "cancelled"
    assert db.session.get(Invitation, invitation_id).state == "cancelled"


def test_the_frequency_window_holds_a_second_survey_for_30_days(post_at, dispatch_ready):
    first = post_at(NOON, external_id="CALL-1")
    assert sending.send_invitation(first["invitation"]["id"]) == "sent"
    day_29 = post_at(NOON + timedelta(days=29), external_id="CALL-2")
    assert day_29 == {"id": day_29["id"], "invitation": None, "suppression_reason": "frequency"}
    day_31 = post_at(NOON + timedelta(days=31), external_id="CALL-3")
    assert day_31["suppression_reason"] is None and day_31["invitation"]
    assert _invitations() == 2


def test_a_scheduled_survey_counts_across_channels(post_at, make_org, make_default_rule):
    make_org()
    make_default_rule(delay_minutes=120, channels=["email"], filters={"channel": ["phone"]})
    make_default_rule(channels=["sms"], filters={"channel": ["chat"]})
    first = post_at(NOON, external_id="CALL-1")["invitation"]
    assert (first["channel"], first["state"]) == ("email", "scheduled")
    # Not sent yet, and the chat's survey would go by SMS: the e-mail still counts.
    second = post_at(NOON + timedelta(minutes=5), external_id="CHAT-1", channel="chat")
    assert second["suppression_reason"] == "frequency"


def test_the_admins_window_setting_is_used(post_at, dispatch_ready):
    settings.put("frequency_window_days", 7)
    db.session.commit()
    post_at(NOON, external_id="CALL-1")
    assert post_at(NOON + timedelta(days=6), external_id="CALL-2")["suppression_reason"] == (
        "frequency"
    )
    assert post_at(NOON + timedelta(days=8), external_id="CALL-3")["suppression_reason"] is None


def test_the_frequency_window_counts_an_address_shared_by_two_customer_records(
    post_at, dispatch_ready
):
    wang = post_at(NOON, external_id="CALL-1", customer=_customer("C-WANG", "+8613800138000"))
    assert sending.send_invitation(wang["invitation"]["id"]) == "sent"
    # Another record of the bank (a second account holder) with the same phone number.
    spouse = post_at(
        NOON + timedelta(days=10),
        external_id="CALL-2",
        customer=_customer("C-SPOUSE", "+8613800138000", "li@example.cn"),
    )
    assert spouse["suppression_reason"] == "frequency"
    stranger = post_at(
        NOON + timedelta(days=10), external_id="CALL-3", customer=_customer("C-3", "+8613911112222")
    )
    assert stranger["suppression_reason"] is None


def test_a_survey_scheduled_for_a_shared_address_counts_before_it_is_sent(post_at, dispatch_ready):
    post_at(NOON, external_id="CALL-1", customer=_customer("C-WANG", "+8613800138000"))
    spouse = post_at(NOON, external_id="CALL-2", customer=_customer("C-SPOUSE", "+8613800138000"))
    assert spouse["suppression_reason"] == "frequency"


def test_a_cancelled_invitation_does_not_count_against_the_window(post_at, dispatch_ready):
    first = post_at(NOON, external_id="CALL-1")
    row = db.session.get(Invitation, first["invitation"]["id"])
    row.state = "cancelled"  # as a send does when the customer opted out in between
    db.session.commit()
    assert post_at(NOON + timedelta(days=1), external_id="CALL-2")["suppression_reason"] is None


def test_the_customers_refusal_wins_over_every_other_reason(post_at, dispatch_ready):
    post_at(NOON, external_id="CALL-1")
    post_at(
        NOON,
        external_id="CMP-1",
        type="complaint",
        team="personal-complaints",
        complaint=_complaint(None),
    )
    customer_id = db.session.scalar(sa.select(Invitation.customer_id))
    db.session.add(OptOut(customer_id=customer_id, method="keyword", source="TD"))
    db.session.commit()
    # Opted out, a complaint open and surveyed yesterday: the refusal is the reason.
    assert post_at(NOON + timedelta(days=1), external_id="CALL-2")["suppression_reason"] == (
        "opted_out"
    )


def test_an_open_complaint_wins_over_the_frequency_window(post_at, dispatch_ready):
    post_at(NOON, external_id="CALL-1")
    answer = post_at(
        NOON,
        external_id="CMP-1",
        type="complaint",
        team="personal-complaints",
        complaint=_complaint(None),
    )
    assert answer["suppression_reason"] == "open_complaint"


def test_a_rule_sampling_nobody_suppresses_as_sampled_out(
    post_at, post_interaction, make_org, make_default_rule
):
    make_org()
    make_default_rule(sample_rate=0.0)
    answer = post_at(NOON, external_id="CALL-1")
    assert answer["invitation"] is None and answer["suppression_reason"] == "sampled_out"
    replay = post_interaction(interaction_body(occurred_at=NOON.isoformat(), external_id="CALL-1"))
    assert replay.get_json() == answer
    assert _invitations() == 0


def test_a_rule_sampling_everybody_invites(post_at, make_org, make_default_rule):
    make_org()
    make_default_rule(sample_rate=1.0)
    assert post_at(NOON, external_id="CALL-1")["suppression_reason"] is None


def test_sampling_is_decided_by_the_interactions_id_the_same_every_time():
    ids = [f"CALL-2026-{n:06d}" for n in range(1000)]
    drawn = [i for i in ids if in_sample(i, 0.5)]
    assert len(drawn) == 485  # about half, and exactly this many, every run
    assert drawn == [i for i in ids if in_sample(i, 0.5)]
    assert sum(in_sample(i, 0.1) for i in ids) == 96
    assert not any(in_sample(i, 0.0) for i in ids) and all(in_sample(i, 1.0) for i in ids)
    # A smaller sample is drawn from within a larger one.
    assert {i for i in ids if in_sample(i, 0.1)} <= set(drawn)


def test_a_half_sample_invites_exactly_the_drawn_interactions(post_at, make_org, make_default_rule):
    make_org()
    make_default_rule(sample_rate=0.5)
    ids = [f"CALL-{n}" for n in range(40)]
    reasons = {
        i: post_at(NOON, external_id=i, customer=_customer(f"C-{i}", f"+86139{n:08d}"))[
            "suppression_reason"
        ]
        for n, i in enumerate(ids)
    }
    invited = [i for i, reason in reasons.items() if reason is None]
    assert invited == [i for i in ids if in_sample(i, 0.5)]
    assert len(invited) == 19
    assert set(reasons.values()) == {None, "sampled_out"}
    assert _invitations() == len(invited)
