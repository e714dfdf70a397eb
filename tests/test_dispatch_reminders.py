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
from tests.fixtures.twilio import twilio_config

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, inside allowed hours
MESSAGES = "/Messages.json"


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


def _interrupted_reminder(invitation: Invitation, provider: str = "outbox") -> Delivery:
    """What a worker leaves when it dies after committing the reminder's delivery."""
    delivery = Delivery(
        invitation=invitation,
        channel="sms",
        address="+8613800138000",
        provider=provider,
        purpose="reminder",
    )
    db.session.add(delivery)
    invitation.reminder_due_at = NOW + timedelta(hours=24, minutes=10)  # its lease
    db.session.commit()
    return delivery


def _reminder_states() -> list[str]:
    db.session.expire_all()
    states = sa.select(Delivery.state).where(Delivery.purpose == "reminder").order_by(Delivery.id)
    return list(db.session.scalars(states))


def test_a_reminder_interrupted_before_the_provider_had_it_is_looked_up_and_sent_once(sent):
    invitation = sent()
    _interrupted_reminder(invitation)
    sweep_at(NOW + timedelta(hours=24, minutes=10))
    first, reminder = _outbox()  # the outbox proved it never had the first try
    assert "提醒：" in reminder.body
    assert _reminder_states() == ["held", "sent"]
    sweep_at(NOW + timedelta(hours=30))
    assert len(_outbox()) == 2  # one reminder, ever


def test_a_reminder_the_provider_had_when_the_worker_died_is_recorded_sent_not_sent_again(sent):
    invitation = sent()
    delivery = _interrupted_reminder(invitation)
    # The worker died after the provider took it, before it recorded the provider's id.
    db.session.add(
        OutboxMessage(
            delivery_id=delivery.id,
            invitation_id=invitation.id,
            channel="sms",
            to=delivery.address,
            body="提醒：…",
        )
    )
    db.session.commit()
    sweep_at(NOW + timedelta(hours=24, minutes=10))
    assert len(_outbox()) == 2
    assert _reminder_states() == ["sent"]
    assert db.session.get_one(Delivery, delivery.id).provider_id.startswith("outbox-")


def test_a_reminder_nobody_can_confirm_is_never_sent_again(sent):
    invitation = sent()
    _interrupted_reminder(invitation, provider="retired-gateway")  # no look-up possible
    sweep_at(NOW + timedelta(hours=24, minutes=10))
    assert len(_outbox()) == 1
    assert _reminder_states() == ["unknown"]
    sweep_at(NOW + timedelta(hours=30))
    assert len(_outbox()) == 1


@pytest.fixture
def twilio(app, twilio_api):
    app.config.update(twilio_config(twilio_api.url))
    twilio_api.remember = True
    return twilio_api


def _remind_at(when: datetime) -> str:
    clock.freeze(when)
    [due] = reminders.due_invitation_ids()
    return reminders.send_reminder(due)


def test_a_reminder_twilio_took_before_answering_500_is_looked_up_not_sent_again(sent, twilio):
    invitation = sent()
    twilio.fail(MESSAGES, 500, 20500, "Internal Server Error", taken=True)
    assert _remind_at(NOW + timedelta(hours=24)) == "in_doubt"
    assert _reminder_states() == ["sending"]  # left for a look-up, not guessed at
    assert reminders.due_invitation_ids() == []  # its lease holds
    assert _remind_at(NOW + timedelta(hours=24) + reminders.STUCK_AFTER) == "reconciled"
    invitation_sms, reminder_sms = twilio.messages
    assert "提醒" in reminder_sms["body"] and invitation.token in reminder_sms["body"]
    assert len(twilio.sent(MESSAGES)) == 2  # the invitation and the one reminder
    db.session.expire_all()
    [reminder] = [d for d in db.session.get_one(Invitation, invitation.id).deliveries
                  if d.purpose == "reminder"]  # fmt: skip
    assert (reminder.state, reminder.provider_id) == ("sent", reminder_sms["sid"])
    clock.freeze(NOW + timedelta(hours=30))
    assert reminders.due_invitation_ids() == []


def test_a_reminder_twilio_never_took_after_a_500_is_sent_once_after_the_look_up(sent, twilio):
    invitation = sent()
    twilio.fail(MESSAGES, 500, 20500, "Internal Server Error")
    assert _remind_at(NOW + timedelta(hours=24)) == "in_doubt"
    assert len(twilio.messages) == 1  # only the invitation went
    assert _remind_at(NOW + timedelta(hours=24) + reminders.STUCK_AFTER) == "sent"
    _, reminder_sms = twilio.messages
    assert invitation.token in reminder_sms["body"]
    assert _reminder_states() == ["held", "sent"]
    looked_up = twilio.sent(MESSAGES, "GET")
    assert len(looked_up) == 1
    clock.freeze(NOW + timedelta(hours=30))
    assert reminders.due_invitation_ids() == []
    assert len(twilio.messages) == 2


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
