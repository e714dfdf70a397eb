"""Reminders: the rule's promise ("24 小时后提醒") kept once, and only when it is still welcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.dispatch import reminders, sending
from survey.extensions import db
from survey.models import Delivery, Invitation, OptOut, OutboxMessage, Response
from tests.fixtures.dispatch import interaction_body, sweep_at

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, inside allowed hours


@pytest.fixture
def sent(post_interaction, make_org, make_default_rule):
    """Make the rule (reminder after 24 h unless told otherwise), post, send; the invitation."""
    made: dict = {}

    def make(external_id: str = "CALL-1", customer: dict | None = None, **rule) -> Invitation:
        if "rule" not in made:
            make_org()
            made["rule"] = make_default_rule(**{"reminder_hours": 24, **rule})
        clock.freeze(NOW)
        body = interaction_body(external_id=external_id, occurred_at=NOW.isoformat())
        if customer:
            body["customer"] = customer
        answer = post_interaction(body).get_json()
        invitation_id = answer["invitation"]["id"]
        assert sending.send_invitation(invitation_id) == "sent"
        return db.session.get_one(Invitation, invitation_id)

    return make


def _outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    out = sa.select(OutboxMessage).where(OutboxMessage.direction == "out")
    return list(db.session.scalars(out.order_by(OutboxMessage.id)))


def test_a_reminder_goes_24_hours_after_the_invitation_once_and_says_it_is_one(
    sent, client, api_key
):
    invitation = sent()
    sweep_at(NOW + timedelta(hours=23, minutes=59))
    assert len(_outbox()) == 1
    sweep_at(NOW + timedelta(hours=24))
    first, reminder = _outbox()
    assert reminder.channel == "sms" and reminder.to == first.to
    assert "提醒：" in reminder.body and invitation.token in reminder.body
    assert "退订" in reminder.body  # still says how to stop
    sweep_at(NOW + timedelta(hours=30))
    assert len(_outbox()) == 2  # one reminder, ever
    shown = client.get(
        f"/api/v1/invitations/{invitation.id}", headers={"Authorization": f"Bearer {api_key}"}
    ).get_json()
    assert [(d["purpose"], d["state"]) for d in shown["deliveries"]] == [
        ("invitation", "sent"),
        ("reminder", "sent"),
    ]
    assert shown["state"] == "sent" and shown["reminder_due_at"] is None
    assert shown["sent_at"] == NOW.isoformat()  # the same survey: the window is unmoved


def test_an_english_reminder_says_reminder_and_how_to_stop(sent):
    sent(customer={"external_id": "C-HK", "phone": "+85291234567", "locale": "en"})
    sweep_at(NOW + timedelta(hours=24))
    reminder = _outbox()[-1]
    assert "Reminder: " in reminder.body and "Reply STOP to opt out" in reminder.body


def test_no_reminder_once_the_survey_is_started(sent):
    invitation = sent()
    db.session.add(
        Response(
            invitation=invitation,
            survey_version_id=invitation.survey_version_id,
            survey_channel="web",
            locale="zh",
        )
    )
    db.session.commit()
    sweep_at(NOW + timedelta(hours=24))
    assert len(_outbox()) == 1
    assert db.session.get_one(Invitation, invitation.id).reminder_due_at is None


def test_no_reminder_after_the_customer_opted_out(sent, client):
    invitation = sent()
    client.post(f"/u/{invitation.unsubscribe_token}", data={"List-Unsubscribe": "One-Click"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OptOut)) >= 1
    sweep_at(NOW + timedelta(hours=24))
    assert len(_outbox()) == 1


def test_a_reminder_due_in_quiet_hours_waits_for_the_morning(sent):
    invitation = sent(reminder_hours=12)  # due 23:00 in Shanghai
    sweep_at(NOW + timedelta(hours=12))
    assert len(_outbox()) == 1
    morning = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert db.session.get_one(Invitation, invitation.id).reminder_due_at == morning
    sweep_at(morning - timedelta(minutes=1))
    assert len(_outbox()) == 1
    sweep_at(morning)
    assert len(_outbox()) == 2


def test_a_reminder_can_go_by_the_rules_next_channel(sent):
    sent(reminder_channel="next")  # SMS, then e-mail
    sweep_at(NOW + timedelta(hours=24))
    first, reminder = _outbox()
    assert (first.channel, reminder.channel) == ("sms", "email")
    assert reminder.to == "wang@example.cn"
    assert reminder.subject.startswith("提醒：")
    assert "/u/" in reminder.body  # the unsubscribe link


def test_the_next_channel_variant_uses_the_same_channel_when_none_is_left(sent):
    sent(reminder_channel="next", customer={"external_id": "C-SMS", "phone": "+8613900000000"})
    sweep_at(NOW + timedelta(hours=24))
    assert [m.channel for m in _outbox()] == ["sms", "sms"]


def test_no_reminder_after_the_link_expired(sent):
    invitation = sent()
    # Workers were down until after the link lapsed (72 hours).
    sweep_at(NOW + timedelta(hours=73))
    assert len(_outbox()) == 1
    assert db.session.get_one(Invitation, invitation.id).state == "expired"


def test_a_reminder_interrupted_mid_send_is_never_sent_again(sent):
    invitation = sent()
    # What a worker leaves when it dies after committing the reminder's delivery.
    db.session.add(
        Delivery(
            invitation=invitation,
            channel="sms",
            address="+8613800138000",
            provider="outbox",
            purpose="reminder",
        )
    )
    invitation.reminder_due_at = NOW + timedelta(hours=24, minutes=10)  # its lease
    db.session.commit()
    sweep_at(NOW + timedelta(hours=24, minutes=10))
    assert len(_outbox()) == 1
    states = db.session.scalars(sa.select(Delivery.state).where(Delivery.purpose == "reminder"))
    assert list(states) == ["unknown"]


def test_a_response_is_told_apart_when_it_came_after_a_reminder(sent):
    reminded = sent()
    not_reminded = sent(
        external_id="CALL-2", customer={"external_id": "C-2", "phone": "+85291234567"}
    )
    not_reminded.reminder_due_at = None  # as if its rule asked for no reminder
    db.session.commit()
    sweep_at(NOW + timedelta(hours=24))
    clock.advance(timedelta(hours=1))
    responses = []
    for invitation in (reminded, not_reminded):
        response = Response(
            invitation=db.session.get_one(Invitation, invitation.id),
            survey_version_id=invitation.survey_version_id,
            survey_channel="web",
            locale="zh",
        )
        db.session.add(response)
        responses.append(response)
    db.session.commit()
    assert [reminders.came_after_reminder(r) for r in responses] == [True, False]
