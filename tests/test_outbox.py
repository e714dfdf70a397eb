"""The outbox channel and /dev/outbox, where admins read and answer what was "sent"."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from survey import clock
from survey.channels.base import Message
from survey.channels.outbox import OutboxChannel
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Delivery, Invitation, OutboxMessage
from tests.fixtures.dispatch import interaction_body


def _sent_invitation(post_interaction, **overrides) -> Invitation:
    # Inside allowed hours in Shanghai: quiet hours would otherwise defer the send to 08:00.
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    answer = post_interaction(interaction_body(**overrides)).get_json()
    invitation_id = answer["invitation"]["id"]
    assert sending.send_invitation(invitation_id) == "sent"
    return db.session.get(Invitation, invitation_id)


def test_the_outbox_channel_stores_one_message_per_delivery(post_interaction, dispatch_ready):
    invitation = _sent_invitation(post_interaction)
    delivery = invitation.deliveries[0]
    again = OutboxChannel().send(delivery.id, Message(channel="sms", to="+86", body="again"))
    assert again.ok and again.provider_id == delivery.provider_id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


def test_admin_sees_the_sms_as_the_customer_would_with_a_clickable_link(
    client_as, post_interaction, dispatch_ready
):
    invitation = _sent_invitation(post_interaction)
    page = client_as("admin").get("/dev/outbox?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    link = f"http://survey.test/s/{invitation.token}"
    assert f'<a href="{link}"' in html
    # A mainland number gets the registered template, with an unsubscribe link to stop.
    assert "【示例银行】感谢您联系示例银行" in html and "回复TD退订" not in html
    assert f'<a href="http://survey.test/u/{invitation.unsubscribe_token}"' in html
    assert "+8613800138000" in html


def test_admin_sees_an_email_with_its_subject_and_rating_links(
    client_as, post_interaction, dispatch_ready
):
    customer = {"external_id": "C-MAIL", "email": "li@example.cn", "locale": "en"}
    invitation = _sent_invitation(post_interaction, customer=customer)
    html = client_as("admin").get("/dev/outbox?lang=en").get_data(as_text=True)
    assert "Example Bank: how did we do?" in html
    assert f'<a href="http://survey.test/s/{invitation.token}?score=5"' in html
    assert f"/u/{invitation.unsubscribe_token}" in html


def test_newest_messages_come_first_twenty_to_a_page(client_as, post_interaction, dispatch_ready):
    invitation = _sent_invitation(post_interaction)
    delivery = invitation.deliveries[0]
    for n in range(1, 25):
        extra = Delivery(
            invitation=invitation, channel="sms", address="+86", provider="outbox", state="sent"
        )
        db.session.add(extra)
        db.session.flush()
        db.session.add(
            OutboxMessage(delivery_id=extra.id, channel="sms", to="+86", body=f"message {n:02d}")
        )
    db.session.commit()
    admin = client_as("admin")
    first = admin.get("/dev/outbox?lang=en").get_data(as_text=True)
    second = admin.get("/dev/outbox?page=2&lang=en").get_data(as_text=True)
    assert first.index("message 24") < first.index("message 23")
    assert "message 05" in first and "message 04" not in first
    assert "message 04" in second and f"/s/{invitation.token}" in second
    assert delivery.state == "sent"


def test_only_admins_may_read_the_outbox(client_as, app):
    assert client_as("manager").get("/dev/outbox").status_code == 403
    assert client_as("quality").get("/dev/outbox").status_code == 403
    anonymous = client_as(None).get("/dev/outbox")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def test_an_empty_outbox_says_so(client_as, app):
    page = client_as("admin").get("/dev/outbox?lang=en")
    assert page.status_code == 200 and "No messages yet." in page.get_data(as_text=True)


def test_an_absurd_page_number_is_an_empty_page_not_a_server_error(client_as):
    admin = client_as("admin")
    for page in ("99999999999999999999", "-5", "x"):
        assert admin.get(f"/dev/outbox?page={page}").status_code == 200
        assert admin.get(f"/admin/audit?page={page}").status_code == 200


def _two_way_invitation(post_interaction, make_org, make_default_rule, channels=("sms",)):
    make_org()
    make_default_rule(channels=list(channels), sms_mode="two_way")
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    customer = {"external_id": "C-HK", "phone": "+85291234567", "locale": "en"}
    answer = post_interaction(interaction_body(customer=customer)).get_json()
    assert sending.send_invitation(answer["invitation"]["id"]) == "sent"
    return db.session.get(Invitation, answer["invitation"]["id"])


def _newest_sms() -> OutboxMessage:
    return db.session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.direction == "out", OutboxMessage.channel == "sms")
        .order_by(OutboxMessage.id.desc())
    )


def test_an_admin_answers_a_two_way_sms_survey_by_replying_in_the_outbox(
    client_as, post_interaction, make_org, make_default_rule
):
    invitation = _two_way_invitation(post_interaction, make_org, make_default_rule)
    admin = client_as("admin")
    for reply in ("5", "4", "5", "SKIP", "4", "9"):
        answer = admin.post(f"/dev/outbox/{_newest_sms().id}/reply", data={"body": reply})
        assert answer.status_code == 302
    db.session.refresh(invitation)
    assert invitation.state == "completed"
    page = admin.get("/dev/outbox?lang=en").get_data(as_text=True)
    assert "Thank you for your feedback" in page and "Reply from" in page
    incoming = db.session.scalars(
        sa.select(OutboxMessage.body).where(OutboxMessage.direction == "in")
    ).all()
    assert incoming == ["5", "4", "5", "SKIP", "4", "9"]


def test_stop_from_the_outbox_stops_every_channel(
    client_as, post_interaction, make_org, make_default_rule
):
    invitation = _two_way_invitation(post_interaction, make_org, make_default_rule)
    client_as("admin").post(f"/dev/outbox/{_newest_sms().id}/reply", data={"body": "STOP"})
    from survey.models import OptOut

    assert db.session.scalar(sa.select(sa.func.count()).select_from(OptOut)) == 2
    later = post_interaction(
        interaction_body(
            external_id="CALL-LATER",
            customer={"external_id": "C-HK", "email": "hk@example.com"},
        )
    ).get_json()
    assert later["suppression_reason"] == "opted_out"
    db.session.refresh(invitation)
    assert invitation.sms_question_key is None


def test_an_empty_or_overlong_outbox_reply_is_refused_and_changes_nothing(
    client_as, post_interaction, make_org, make_default_rule
):
    _two_way_invitation(post_interaction, make_org, make_default_rule)
    admin = client_as("admin")
    message = _newest_sms()
    for body in ("   ", "5" * 2001):
        page = admin.post(
            f"/dev/outbox/{message.id}/reply?lang=en", data={"body": body}, follow_redirects=True
        )
        html = page.get_data(as_text=True)
        assert "reply first" in html or "at most 2000 characters" in html
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.direction == "in")
        )
        == 0
    )


def test_an_admin_answers_a_call_from_the_outbox_key_by_key(
    client_as, post_interaction, make_org, make_default_rule
):
    invitation = _two_way_invitation(post_interaction, make_org, make_default_rule, ("voice",))
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.channel == "voice"))
    admin = client_as("admin")
    page = admin.get(f"/dev/outbox/{message.id}/call?lang=en").get_data(as_text=True)
    assert "Pick up" in page
    page = admin.post(f"/dev/outbox/{message.id}/call?lang=en", data={"action": "pick_up"})
    html = page.get_data(as_text=True)
    assert "Hello, this is Example Bank" in html
    for question, keys in enumerate(("5", "4", "5", "#", "4", "10#")):
        html = admin.post(
            f"/dev/outbox/{message.id}/call?lang=en",
            data={"action": "press", "question": question, "attempt": 0, "digits": keys},
        ).get_data(as_text=True)
    assert "The call has ended" in html
    db.session.refresh(invitation)
    assert invitation.state == "completed"


def test_a_call_left_ringing_in_the_outbox_moves_to_the_next_channel(
    client_as, post_interaction, make_org, make_default_rule
):
    invitation = _two_way_invitation(
        post_interaction, make_org, make_default_rule, ("voice", "sms")
    )
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.channel == "voice"))
    client_as("admin").post(f"/dev/outbox/{message.id}/call", data={"action": "no-answer"})
    db.session.refresh(invitation)
    assert invitation.deliveries[0].state == "no_answer" and invitation.state == "scheduled"
    assert sending.send_invitation(invitation.id) == "sent"


def test_only_admins_reach_the_outbox_actions(
    client_as, post_interaction, make_org, make_default_rule
):
    _two_way_invitation(post_interaction, make_org, make_default_rule)
    message = _newest_sms()
    for role in ("manager", "quality"):
        answer = client_as(role).post(f"/dev/outbox/{message.id}/reply", data={"body": "5"})
        assert answer.status_code == 403
