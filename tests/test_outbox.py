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
