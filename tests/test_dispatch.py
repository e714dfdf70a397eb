"""Deciding who is asked, and sending: nothing lost, nothing sent twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.channels import messages
from survey.dispatch import sending
from survey.dispatch.rules import create_default_rule
from survey.extensions import db
from survey.models import Address, Delivery, Invitation, OptOut, OutboxMessage
from tests.fixtures.dispatch import claimed_by_a_worker_that_dies, in_threads, interaction_body
from tests.fixtures.twilio import twilio_config

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, inside allowed hours
RESOLVED = {
    "opened_at": "2026-11-28T09:00:00+08:00",
    "resolved_at": "2026-11-29T10:00:00+08:00",
    "cause": "process",
}


@pytest.fixture
def invite(post_interaction):
    """Post an interaction and return its invitation row (or None) and the API answer."""

    def make(**overrides):
        clock.freeze(NOW)
        answer = post_interaction(interaction_body(**overrides)).get_json()
        invitation = answer["invitation"]
        return (db.session.get(Invitation, invitation["id"]) if invitation else None), answer

    return make


def _outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_the_first_matching_rule_in_the_managers_order_decides(
    invite, make_org, make_published_survey, make_default_rule
):
    make_org()
    general = make_default_rule()
    complaints_survey = make_published_survey()
    complaints = create_default_rule(complaints_survey)
    complaints.filters = {"type": ["complaint"], "business_line": ["personal"]}
    complaints.position = 0
    switched_off = create_default_rule(complaints_survey)
    switched_off.position = -1
    switched_off.active = False
    db.session.commit()

    inquiry, _ = invite(external_id="I-1")
    complaint, _ = invite(
        external_id="C-1",
        type="complaint",
        team="personal-complaints",
        customer={"external_id": "C-COMPLAINED", "phone": "+8613900000001"},
        complaint=RESOLVED,
    )
    assert inquiry.rule_id == general.id
    assert complaint.rule_id == complaints.id
    assert complaint.version.survey_id == complaints_survey.id


def test_a_rule_whose_survey_is_not_published_counts_as_no_rule(
    invite, make_org, make_published_survey, make_default_rule, caplog
):
    make_org()
    survey = make_published_survey()
    survey.versions[0].state = "retired"
    make_default_rule(survey)
    invitation, answer = invite()
    assert invitation is None and answer["suppression_reason"] == "no_rule"
    assert "no published version" in caplog.text


def test_the_delay_counts_from_the_interaction(invite, make_org, make_default_rule):
    make_org()
    make_default_rule(delay_minutes=120)
    # Occurred 02:15 UTC, two hours' delay: 04:15 UTC, after "now" (03:00).
    invitation, answer = invite()
    assert invitation.scheduled_at == datetime(2026, 11, 29, 4, 15, tzinfo=UTC)
    assert answer["invitation"]["scheduled_at"] == "2026-11-29T04:15:00+00:00"
    assert sending.due_invitation_ids() == []
    clock.advance(timedelta(hours=1, minutes=15))
    assert sending.due_invitation_ids() == [invitation.id]


def test_only_channels_the_customer_can_be_reached_on_are_kept(invite, dispatch_ready):
    invitation, answer = invite(customer={"external_id": "C-2", "email": "li@example.cn"})
    assert invitation.channels == ["email"]
    assert answer["invitation"]["channel"] == "email"


def test_an_opted_out_customer_is_suppressed_as_opted_out(invite, dispatch_ready):
    invite()
    phone = db.session.scalar(sa.select(Address).where(Address.kind == "phone"))
    email = db.session.scalar(sa.select(Address).where(Address.kind == "email"))
    db.session.add_all(
        [OptOut(address=phone, method="keyword"), OptOut(address=email, method="link")]
    )
    db.session.commit()
    invitation, answer = invite(external_id="CALL-2")
    assert invitation is None and answer["suppression_reason"] == "opted_out"


def test_sending_twice_sends_one_message(invite, dispatch_ready):
    invitation, _ = invite()
    assert sending.send_invitation(invitation.id) == "sent"
    assert sending.send_invitation(invitation.id) == "skipped"
    [message] = _outbox()
    assert message.channel == "sms" and message.to == "+8613800138000"
    assert f"/s/{invitation.token}" in message.body
    db.session.refresh(invitation)
    assert invitation.state == "sent" and invitation.channel == "sms"
    assert invitation.sent_at == NOW
    [delivery] = invitation.deliveries
    assert delivery.state == "sent" and delivery.provider_id == f"outbox-{message.id}"


def test_two_workers_sending_at_once_send_one_message(app, invite, dispatch_ready):
    invitation, _ = invite()
    results = in_threads(app, [lambda: sending.send_invitation(invitation.id)] * 2)
    assert sorted(results) == ["sent", "skipped"]
    assert len(_outbox()) == 1


def test_the_same_interaction_posted_twice_at_once_is_stored_once(app, dispatch_ready, api_key):
    clock.freeze(NOW)

    def post():
        response = app.test_client().post(
            "/api/v1/interactions",
            json=interaction_body(),
            headers={"Authorization": f"Bearer {api_key}"},
        )
        return response.status_code, response.get_json()

    (first_status, first), (second_status, second) = in_threads(app, [post, post])
    assert sorted([first_status, second_status]) == [200, 201]
    assert first == second
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1


def test_an_invitation_is_not_sent_before_it_is_due(invite, make_org, make_default_rule):
    make_org()
    make_default_rule(delay_minutes=120)
    invitation, _ = invite()
    assert sending.send_invitation(invitation.id) == "skipped"
    assert _outbox() == []


def test_a_crash_before_the_outbox_wrote_its_row_is_sent_once_after_the_lease(
    invite, dispatch_ready
):
    invitation, _ = invite()
    # What a worker leaves behind when it dies after committing the delivery
    # and before the outbox wrote its row: the missing row proves nothing went out.
    claimed_by_a_worker_that_dies(invitation)
    db.session.add(
        Delivery(invitation=invitation, channel="sms", address="+8613800138000", provider="outbox")
    )
    db.session.commit()

    clock.advance(timedelta(seconds=20))
    assert sending.due_invitation_ids() == []  # its worker's lease still holds
    clock.advance(timedelta(seconds=15))
    assert sending.due_invitation_ids() == [invitation.id]
    assert sending.send_invitation(invitation.id) == "sent"

    [message] = _outbox()
    assert message.invitation_id == invitation.id and invitation.token in message.body
    db.session.refresh(invitation)
    assert invitation.state == "sent"
    assert [d.state for d in invitation.deliveries] == ["held", "sent"]
    assert sending.due_invitation_ids() == []
    assert sending.send_invitation(invitation.id) == "skipped"
    assert len(_outbox()) == 1


def test_a_crash_after_the_provider_accepted_is_reconciled_as_sent(invite, dispatch_ready):
    invitation, _ = invite()
    claimed_by_a_worker_that_dies(invitation)
    delivery = Delivery(
        invitation=invitation, channel="sms", address="+8613800138000", provider="outbox"
    )
    db.session.add(delivery)
    db.session.commit()
    db.session.add(OutboxMessage(delivery_id=delivery.id, channel="sms", to="+86", body="x"))
    db.session.commit()

    clock.advance(timedelta(minutes=15))
    assert sending.send_invitation(invitation.id) == "reconciled"
    assert len(_outbox()) == 1
    db.session.refresh(invitation)
    assert invitation.state == "sent" and invitation.deliveries[0].state == "sent"


def test_a_crash_before_any_delivery_is_sent_once_later(invite, dispatch_ready):
    invitation, _ = invite()
    claimed_by_a_worker_that_dies(invitation)
    db.session.commit()
    clock.advance(timedelta(minutes=15))
    assert sending.due_invitation_ids() == [invitation.id]
    assert sending.send_invitation(invitation.id) == "sent"
    assert sending.send_invitation(invitation.id) == "skipped"
    assert len(_outbox()) == 1


@pytest.fixture
def twilio_refuses_sms(app, twilio_api):
    """Send SMS through Twilio (its contract mock), which refuses them as not a mobile number."""
    app.config.update(twilio_config(twilio_api.url))
    twilio_api.fail("/Messages.json", 400, 21614, "'To' number is not a valid mobile number")
    return twilio_api


def test_a_refused_sms_falls_back_to_email(invite, dispatch_ready, twilio_refuses_sms):
    invitation, _ = invite()
    assert sending.send_invitation(invitation.id) == "sent"
    db.session.refresh(invitation)
    sms, email = invitation.deliveries
    assert (sms.channel, sms.state, sms.provider) == ("sms", "failed", "twilio")
    assert sms.error == "21614: 'To' number is not a valid mobile number"
    assert (email.channel, email.state, email.provider) == ("email", "sent", "outbox")
    assert invitation.channel == "email"
    assert [m.channel for m in _outbox()] == ["email"]


def test_when_every_channel_refuses_the_invitation_fails(
    invite, dispatch_ready, twilio_refuses_sms
):
    invitation, _ = invite(customer={"external_id": "C-3", "phone": "+8613900000000"})
    assert sending.send_invitation(invitation.id) == "failed"
    db.session.refresh(invitation)
    assert invitation.state == "failed"
    assert len(twilio_refuses_sms.sent("/Messages.json")) == 1


def test_an_expired_invitation_is_not_sent(invite, dispatch_ready):
    invitation, _ = invite()
    clock.advance(timedelta(hours=73))
    assert sending.send_invitation(invitation.id) == "expired"
    assert _outbox() == []


def test_an_unanswered_invitation_is_marked_expired_when_its_link_lapses(
    invite, dispatch_ready, client, api_key
):
    invitation, _ = invite()
    assert sending.send_invitation(invitation.id) == "sent"
    clock.advance(timedelta(hours=71))
    assert sending.expire_overdue() == 0
    clock.advance(timedelta(hours=2))
    assert sending.expire_overdue() == 1
    status = client.get(
        f"/api/v1/invitations/{invitation.id}", headers={"Authorization": f"Bearer {api_key}"}
    ).get_json()
    assert status["state"] == "expired"
    assert sending.expire_overdue() == 0


def test_an_opt_out_after_the_decision_stops_the_send(invite, dispatch_ready):
    invitation, _ = invite()
    for address in invitation.customer.addresses:
        db.session.add(OptOut(address=address, method="keyword", source="TD"))
    db.session.commit()
    assert sending.send_invitation(invitation.id) == "cancelled"
    assert _outbox() == []


def test_a_customer_opt_out_after_the_decision_stops_the_send_on_every_channel(
    invite, dispatch_ready
):
    # The customer unsubscribed from an earlier e-mail: their phone was never opted out
    # itself, but STOP on any channel covers every channel.
    invitation, _ = invite()
    db.session.add(OptOut(customer_id=invitation.customer_id, method="link", source="e-mail"))
    db.session.commit()
    assert sending.send_invitation(invitation.id) == "cancelled"
    assert _outbox() == []
    db.session.refresh(invitation)
    assert invitation.state == "cancelled" and invitation.deliveries == []


def test_sms_text_is_in_the_customers_language_and_says_how_to_stop(invite, dispatch_ready):
    zh, _ = invite()
    en_customer = {"external_id": "C-EN", "locale": "en", "phone": "+447700900123"}
    en, _ = invite(external_id="CALL-EN", customer=en_customer)
    link = f"http://survey.test/s/{zh.token}"
    assert messages.sms_text(zh) == (
        f"【示例银行】您好，感谢您近期联系我们。请花一分钟评价本次服务：{link} "
        "示例银行不会索取密码、验证码或卡号。 回复TD退订"
    )
    assert messages.sms_text(en).startswith("[Example Bank] Thank you for contacting us.")
    assert messages.sms_text(en).endswith("Reply STOP to opt out")
    unsubscribe = f"http://survey.test/u/{zh.unsubscribe_token}"
    assert messages.sms_text(zh, mainland=True) == (
        f"【示例银行】感谢您联系示例银行，请花一分钟评价本次服务：{link} "
        f"示例银行不会索取密码、验证码或卡号。 退订：{unsubscribe}"
    )


def test_a_mainland_number_gets_the_registered_template_and_an_unsubscribe_link(
    invite, dispatch_ready
):
    invitation, _ = invite()  # +8613800138000
    message = messages.render(invitation, "sms", "+8613800138000")
    assert message.body == messages.sms_text(invitation, mainland=True)
    assert "回复TD退订" not in message.body
    elsewhere = messages.render(invitation, "sms", "+85291234567")
    assert elsewhere.body.endswith("回复TD退订")


def test_email_offers_one_click_ratings_and_an_unsubscribe_link(invite, dispatch_ready):
    invitation, _ = invite()
    message = messages.email_message(invitation, "wang@example.cn")
    base = f"http://survey.test/s/{invitation.token}"
    for score in range(1, 6):
        assert f'href="{base}?score={score}"' in message.html
        assert f"{base}?score={score}" in message.body
    unsubscribe = f"http://survey.test/u/{invitation.unsubscribe_token}"
    assert unsubscribe in message.html and unsubscribe in message.body
    assert message.headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "王芳" in message.body and "示例银行" in message.subject
