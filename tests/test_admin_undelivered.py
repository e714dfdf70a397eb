"""Sends nobody can confirm: listed for admins ("may not have been sent"), sent again on their word."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from survey import clock
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Delivery, Invitation
from tests.fixtures.admin import csrf_token_on
from tests.fixtures.dispatch import claimed_by_a_worker_that_dies, interaction_body
from tests.fixtures.smtp import RecordingHandler

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
PAGE = "/admin/undelivered"


@pytest.fixture
def mail_in_doubt(app, start_smtp, post_interaction, dispatch_ready):
    """An e-mail invitation whose mail server went silent after DATA; return it and the server."""
    server = start_smtp(RecordingHandler(stall_at="data", stall_seconds=1.0))
    app.config.update(
        SURVEY_SMTP_URL=server.url,
        SURVEY_MAIL_FROM="survey@bank.example",
        SURVEY_SMTP_TIMEOUT_SECONDS=0.3,
    )
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    customer = {"external_id": "C-MAIL", "name": "李雷", "email": "li@example.cn", "locale": "zh"}
    answer = post_interaction(interaction_body(customer=customer)).get_json()
    invitation = db.session.get_one(Invitation, answer["invitation"]["id"])
    assert sending.send_invitation(invitation.id) == "unknown"
    server.handler.stall_at = None  # the server is well again
    return invitation, server


def test_an_email_the_server_never_confirmed_is_sent_again_once_when_the_admin_decides(
    admin, admin_client, mail_in_doubt, audit_log
):
    invitation, server = mail_in_doubt
    page = admin_client.get(PAGE, headers=EN).get_data(as_text=True)
    assert "May not have been sent" in page and "What to do" in page
    assert "C-MAIL" in page and "li@example.cn" in page and "Send again" in page
    assert server.handler.messages() == []
    [delivery] = invitation.deliveries

    response = admin_client.post(
        f"{PAGE}/{delivery.id}/send-again", headers=EN, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert f"Invitation {invitation.id} is being sent again" in page
    assert "Nothing to decide" in page
    assert sending.send_invitation(invitation.id) == "sent"
    [mail] = server.handler.messages()
    assert invitation.token in mail.get_body(("plain",)).get_content()
    [event] = audit_log("invitation.send_again")
    assert event.entity_id == str(invitation.id) and event.actor_label == admin.email

    again = admin_client.post(f"{PAGE}/{delivery.id}/send-again", headers=EN, follow_redirects=True)
    assert "no longer awaits a decision" in again.get_data(as_text=True)
    assert sending.send_invitation(invitation.id) == "skipped"
    assert len(server.handler.messages()) == 1


def test_the_page_speaks_chinese_and_is_in_the_admin_navigation(admin_client, mail_in_doubt):
    page = admin_client.get(PAGE, headers=ZH).get_data(as_text=True)
    assert "可能未发出" in page and "重新发送" in page and "下一步" in page
    home = admin_client.get("/admin/", headers=EN).get_data(as_text=True)
    assert f'href="{PAGE}"' in home


@pytest.fixture
def mail_cut_by_a_crash(app, smtp_server, post_interaction, dispatch_ready):
    """Return a function leaving an e-mail invitation as a worker killed mid-send does."""
    app.config.update(SURVEY_SMTP_URL=smtp_server.url, SURVEY_MAIL_FROM="survey@bank.example")
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    customer = {"external_id": "C-MAIL", "name": "李雷", "email": "li@example.cn", "locale": "zh"}
    answer = post_interaction(interaction_body(customer=customer)).get_json()
    invitation = db.session.get_one(Invitation, answer["invitation"]["id"])

    def crash(message_id: str | None) -> Invitation:
        claimed_by_a_worker_that_dies(invitation)
        db.session.add(
            Delivery(
                invitation=invitation,
                channel="email",
                address="li@example.cn",
                provider="smtp",
                provider_id=message_id,  # recorded just before DATA
            )
        )
        db.session.commit()
        clock.advance(timedelta(minutes=1))
        return invitation

    return crash


def test_an_email_a_crash_cut_during_data_is_listed_not_resent(
    admin_client, smtp_server, mail_cut_by_a_crash
):
    invitation = mail_cut_by_a_crash("<1.2.3@bank.example>")
    assert sending.send_invitation(invitation.id) == "unknown"
    assert smtp_server.handler.messages() == []
    page = admin_client.get(PAGE, headers=EN).get_data(as_text=True)
    assert "li@example.cn" in page and "interrupted mid-send" in page


def test_an_email_a_crash_cut_before_data_is_sent_once(
    admin_client, smtp_server, mail_cut_by_a_crash
):
    invitation = mail_cut_by_a_crash(None)
    assert sending.send_invitation(invitation.id) == "sent"
    [mail] = smtp_server.handler.messages()
    assert invitation.token in mail.get_body(("plain",)).get_content()
    db.session.refresh(invitation)
    assert [d.state for d in invitation.deliveries] == ["held", "sent"]
    assert invitation.deliveries[1].provider_id == mail["Message-ID"]
    assert "Nothing to decide" in admin_client.get(PAGE, headers=EN).get_data(as_text=True)


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_sending_again_needs_the_pages_security_token(admin_client_csrf, mail_in_doubt):
    invitation, server = mail_in_doubt
    [delivery] = invitation.deliveries
    refused = admin_client_csrf.post(f"{PAGE}/{delivery.id}/send-again", headers=EN)
    assert refused.status_code == 400
    db.session.refresh(invitation)
    assert invitation.state == "sent"
    token = csrf_token_on(admin_client_csrf, PAGE)
    taken = admin_client_csrf.post(
        f"{PAGE}/{delivery.id}/send-again", data={"csrf_token": token}, headers=EN
    )
    assert taken.status_code == 302
    db.session.refresh(invitation)
    assert invitation.state == "scheduled"
