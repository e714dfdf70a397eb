"""The SMTP e-mail channel against a real SMTP server: what arrives, and how each failure is told."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from survey import clock
from survey.channels import messages, registry
from survey.channels.base import CANNOT_TELL
from survey.channels.smtp import SmtpChannel, SmtpUrlError, parse_url
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Delivery, Invitation, Response, User
from tests.fixtures.browser import screenshot
from tests.fixtures.dispatch import interaction_body
from tests.fixtures.smtp import PLAIN_AUTH, SMTP_PASSWORD, RecordingHandler, free_port

EN = {"Accept-Language": "en"}


def _customer(locale: str, email: str = "li@example.cn", external_id: str = "C-MAIL") -> dict:
    # No phone: the default rule's SMS comes first, and e-mail is what these tests are about.
    return {"external_id": external_id, "name": "李雷", "email": email, "locale": locale}


def _invitation(post_interaction, locale: str = "zh", **customer) -> Invitation:
    """Post an interaction whose customer is reached by e-mail; return its invitation, unsent."""
    # Inside allowed hours in Shanghai: quiet hours would otherwise defer the send to 08:00.
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    external_id = customer.pop("interaction", "CALL-MAIL-1")
    body = interaction_body(external_id=external_id, customer=_customer(locale, **customer))
    answer = post_interaction(body).get_json()
    return db.session.get(Invitation, answer["invitation"]["id"])


def _use(app, server, **config) -> None:
    app.config.update(SURVEY_SMTP_URL=server.url, SURVEY_MAIL_FROM="survey@bank.example", **config)


def _send_directly(invitation: Invitation, to: str = "li@example.cn"):
    """Send an invitation's e-mail through the channel the registry picks, as sending.py does."""
    channel = registry.channel_for("email")
    message = messages.render(invitation, "email", to)
    # The delivery sending.py commits before it calls the channel, which records on it.
    delivery = Delivery(
        invitation=invitation, channel="email", address=to, provider=channel.name,
        state="sending", attempt=1,
    )  # fmt: skip
    db.session.add(delivery)
    db.session.commit()
    return channel.send(delivery.id, message)


# --- what arrives ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "subject", "sender"),
    [
        ("zh", "示例银行：请评价您近期的服务体验", "示例银行"),
        ("en", "Example Bank: how did we do?", "Example Bank"),
    ],
)
def test_an_invitation_arrives_by_email_in_the_customers_language_with_one_click_ratings(
    app, smtp_server, post_interaction, dispatch_ready, locale, subject, sender
):
    _use(app, smtp_server)
    invitation = _invitation(post_interaction, locale)
    assert sending.send_invitation(invitation.id) == "sent"

    (envelope,) = smtp_server.handler.envelopes
    assert envelope.mail_from == "survey@bank.example"
    assert envelope.rcpt_tos == ["li@example.cn"]
    (mail,) = smtp_server.handler.messages()
    assert mail["Subject"] == subject
    assert mail["From"].addresses[0].display_name == sender
    assert mail["From"].addresses[0].addr_spec == "survey@bank.example"
    assert mail["To"] == "li@example.cn"
    assert mail["Content-Language"] == ("zh-CN" if locale == "zh" else "en")
    assert mail["Date"].datetime == clock.now()
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for score in range(1, 6):
        link = f"http://survey.test/s/{invitation.token}?score={score}"
        assert link in text
        assert f'href="{link}"' in html
    unsubscribe = f"http://survey.test/u/{invitation.unsubscribe_token}"
    # A long header is folded onto a continuation line; a reader unfolds it.
    assert mail["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text and unsubscribe in html
    db.session.refresh(invitation)
    (delivery,) = invitation.deliveries
    assert (delivery.provider, delivery.state) == ("smtp", "sent")
    assert delivery.provider_id == mail["Message-ID"]
    assert re.fullmatch(r"<[^@<>]+@bank\.example>", delivery.provider_id)


def test_a_chinese_subject_travels_rfc_2047_encoded_and_the_body_as_utf8(
    app, smtp_server, post_interaction, dispatch_ready
):
    _use(app, smtp_server)
    invitation = _invitation(post_interaction, "zh")
    assert sending.send_invitation(invitation.id) == "sent"
    raw = smtp_server.handler.envelopes[0].original_content
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii(), "every header line is 7-bit on the wire"
    assert re.search(rb"^Subject: =\?utf-8\?", headers, re.MULTILINE | re.IGNORECASE)
    assert b'charset="utf-8"' in raw.lower()


def test_the_rating_buttons_open_the_survey_without_recording_an_answer(
    app, client, smtp_server, post_interaction, dispatch_ready
):
    _use(app, smtp_server)
    invitation = _invitation(post_interaction, "en")
    assert sending.send_invitation(invitation.id) == "sent"
    html = smtp_server.handler.messages()[0].get_body(("html",)).get_content()
    links = re.findall(r'href="http://survey\.test(/s/[^"?]+\?score=\d)"', html)
    assert len(links) == 5
    for path in links:
        # A mail scanner opens every link; none of those visits may count as an answer.
        assert client.get(path).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0


def test_the_invitation_html_is_inline_styled_with_no_script_image_or_wide_table(
    app, smtp_server, post_interaction, dispatch_ready
):
    _use(app, smtp_server)
    invitation = _invitation(post_interaction, "zh")
    assert sending.send_invitation(invitation.id) == "sent"
    html = smtp_server.handler.messages()[0].get_body(("html",)).get_content().lower()
    assert "<script" not in html and "javascript:" not in html
    assert "<img" not in html and "<link" not in html and "<style" not in html
    assert "url(" not in html, "no background images from anywhere"
    for width in re.findall(r'<table[^>]*\swidth="(\d+)"', html):
        assert int(width) <= 600
    for width in re.findall(r"max-width:\s*(\d+)px", html):
        assert int(width) <= 600


@pytest.mark.browser
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_invitation_email_fits_a_390_pixel_phone_without_sideways_scrolling(
    app, smtp_server, post_interaction, dispatch_ready, phone_page, locale
):
    _use(app, smtp_server)
    invitation = _invitation(post_interaction, locale)
    assert sending.send_invitation(invitation.id) == "sent"
    html = smtp_server.handler.messages()[0].get_body(("html",)).get_content()
    phone_page.set_content(html)
    screenshot(phone_page, f"email-invitation-{locale}-390")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert phone_page.viewport_size["width"] == 390
    assert width <= 390, f"the e-mail is {width} px wide on a 390 px screen"
    buttons = phone_page.locator("a[href*='?score=']")
    assert buttons.count() == 5
    boxes = [buttons.nth(n).bounding_box() for n in range(5)]
    for box in boxes:
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert box["height"] >= 36, "a button big enough for a thumb"
    assert len({round(box["y"]) for box in boxes}) == 1, "the five buttons stand in one even row"


# --- how failures are told ------------------------------------------------------------------


def test_a_refused_mailbox_fails_that_delivery_only(
    app, smtp_server, post_interaction, dispatch_ready
):
    smtp_server.handler.refuse["gone@example.cn"] = "550 5.1.1 No such mailbox"
    _use(app, smtp_server)
    refused = _invitation(post_interaction, "zh", email="gone@example.cn")
    fine = _invitation(
        post_interaction, "en", email="ok@example.cn", external_id="C-OK", interaction="CALL-2"
    )
    assert sending.send_invitation(refused.id) == "failed"
    assert sending.send_invitation(fine.id) == "sent"
    db.session.refresh(refused)
    (delivery,) = refused.deliveries
    assert delivery.state == "failed" and delivery.error_code == "550"
    assert "No such mailbox" in delivery.error
    assert [e.rcpt_tos for e in smtp_server.handler.envelopes] == [["ok@example.cn"]]


def test_a_refused_mailbox_is_a_permanent_failure_with_the_servers_code(
    app, smtp_server, post_interaction, dispatch_ready
):
    smtp_server.handler.refuse["gone@example.cn"] = "550 5.1.1 No such mailbox"
    _use(app, smtp_server)
    result = _send_directly(
        _invitation(post_interaction, email="gone@example.cn"), "gone@example.cn"
    )
    assert not result.ok and not result.retryable and not result.held and not result.unknown
    assert result.code == "550" and "No such mailbox" in result.error


def test_a_temporary_refusal_before_the_message_is_taken_can_be_retried(
    app, smtp_server, post_interaction, dispatch_ready
):
    smtp_server.handler.refuse["full@example.cn"] = "451 4.2.2 Mailbox full, try later"
    _use(app, smtp_server)
    result = _send_directly(
        _invitation(post_interaction, email="full@example.cn"), "full@example.cn"
    )
    assert not result.ok and result.retryable and not result.held and not result.unknown
    assert result.code == "451"
    assert smtp_server.handler.envelopes == []


def test_a_mailbox_that_is_full_for_now_gets_the_same_email_later(
    app, smtp_server, post_interaction, dispatch_ready
):
    smtp_server.handler.refuse["full@example.cn"] = "451 4.2.2 Mailbox full, try later"
    _use(app, smtp_server)
    invitation = _invitation(post_interaction, email="full@example.cn")
    assert sending.send_invitation(invitation.id) == "retrying"
    db.session.refresh(invitation)
    assert invitation.state == "scheduled" and invitation.scheduled_at > clock.now()
    del smtp_server.handler.refuse["full@example.cn"]
    clock.freeze(invitation.scheduled_at)
    assert sending.send_invitation(invitation.id) == "sent"
    assert [e.rcpt_tos for e in smtp_server.handler.envelopes] == [["full@example.cn"]]


def test_a_temporary_refusal_of_the_message_itself_can_be_retried(
    app, smtp_server, post_interaction, dispatch_ready
):
    smtp_server.handler.refuse_data = "452 4.3.1 Insufficient system storage"
    _use(app, smtp_server)
    result = _send_directly(_invitation(post_interaction))
    assert not result.ok and result.retryable and result.code == "452"


def test_a_mail_server_that_is_down_holds_email_and_says_where_it_looked(
    app, post_interaction, dispatch_ready, caplog
):
    port = free_port()
    secret = quote(SMTP_PASSWORD, safe="")
    app.config["SURVEY_SMTP_URL"] = f"smtp://survey:{secret}@127.0.0.1:{port}"
    invitation = _invitation(post_interaction)
    with caplog.at_level(logging.ERROR, logger="survey.channels.smtp"):
        result = _send_directly(invitation)
    assert not result.ok and result.held and not result.retryable and not result.unknown
    assert f"127.0.0.1:{port}" in result.error
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert f"127.0.0.1:{port}" in record.getMessage()
    assert SMTP_PASSWORD not in caplog.text


def test_while_the_mail_server_is_down_the_invitation_waits_and_goes_out_once_it_is_back(
    app, start_smtp, post_interaction, dispatch_ready
):
    app.config["SURVEY_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    invitation = _invitation(post_interaction)
    assert sending.send_invitation(invitation.id) == "held"
    db.session.refresh(invitation)
    assert invitation.state == "scheduled" and invitation.scheduled_at > clock.now()
    (held,) = invitation.deliveries
    assert held.state == "held" and "127.0.0.1" in held.error

    server = start_smtp()
    _use(app, server)
    clock.freeze(invitation.scheduled_at)
    assert sending.send_invitation(invitation.id) == "sent"
    assert len(server.handler.envelopes) == 1


def test_silence_after_the_message_was_handed_over_is_never_sent_again(
    app, start_smtp, post_interaction, dispatch_ready
):
    server = start_smtp(RecordingHandler(stall_at="data"))
    _use(app, server, SURVEY_SMTP_TIMEOUT_SECONDS=0.3)
    invitation = _invitation(post_interaction)
    assert sending.send_invitation(invitation.id) == "unknown"
    db.session.refresh(invitation)
    (delivery,) = invitation.deliveries
    assert delivery.state == "unknown" and delivery.provider_id.startswith("<")
    assert sending.send_invitation(invitation.id) == "skipped"


@PLAIN_AUTH
def test_a_wrong_password_holds_email_without_logging_the_password(
    app, start_smtp, post_interaction, dispatch_ready, caplog
):
    server = start_smtp(auth=True)
    app.config["SURVEY_SMTP_URL"] = server.url.replace("p%40ss", "wrong")
    with caplog.at_level(logging.ERROR, logger="survey.channels.smtp"):
        result = _send_directly(_invitation(post_interaction))
    assert not result.ok and result.held
    assert "535" in result.error
    assert "wrong" not in caplog.text and SMTP_PASSWORD not in caplog.text
    assert server.handler.envelopes == []


@PLAIN_AUTH
def test_the_right_password_with_percent_encoded_characters_signs_in_and_sends(
    app, start_smtp, post_interaction, dispatch_ready
):
    server = start_smtp(auth=True)
    _use(app, server)
    assert sending.send_invitation(_invitation(post_interaction).id) == "sent"
    assert len(server.handler.envelopes) == 1


@PLAIN_AUTH
def test_a_password_smtplib_cannot_send_holds_email_instead_of_raising(
    app, start_smtp, post_interaction, dispatch_ready
):
    server = start_smtp(auth=True)
    app.config["SURVEY_SMTP_URL"] = server.url.replace("p%40ss", "p%C3%B6ss")
    result = _send_directly(_invitation(post_interaction))
    assert result.held and "non-ASCII" in result.error


def test_starttls_upgrades_the_connection_before_sending(
    app, start_smtp, post_interaction, dispatch_ready
):
    server = start_smtp(tls="starttls", auth=True)
    _use(app, server)
    assert sending.send_invitation(_invitation(post_interaction).id) == "sent"
    assert len(server.handler.envelopes) == 1


@PLAIN_AUTH
def test_smtps_speaks_tls_from_the_first_byte(app, start_smtp, post_interaction, dispatch_ready):
    server = start_smtp(tls="implicit", auth=True)
    _use(app, server)
    assert sending.send_invitation(_invitation(post_interaction).id) == "sent"
    assert len(server.handler.envelopes) == 1


def test_a_certificate_nobody_vouches_for_holds_email(
    app, start_smtp, post_interaction, dispatch_ready
):
    server = start_smtp(tls="starttls", trusted=False)
    _use(app, server)
    result = _send_directly(_invitation(post_interaction))
    assert result.held and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert server.handler.envelopes == []


def test_starttls_asked_of_a_server_without_it_holds_email_rather_than_sending_in_clear(
    app, smtp_server, post_interaction, dispatch_ready
):
    app.config["SURVEY_SMTP_URL"] = smtp_server.url + "?starttls=1"
    result = _send_directly(_invitation(post_interaction))
    assert result.held and "STARTTLS" in result.error.upper()
    assert smtp_server.handler.envelopes == []


def test_a_server_that_never_greets_holds_email_after_the_timeout(
    app, silent_server, post_interaction, dispatch_ready
):
    host, port = silent_server
    app.config.update(SURVEY_SMTP_URL=f"smtp://{host}:{port}", SURVEY_SMTP_TIMEOUT_SECONDS=0.3)
    result = _send_directly(_invitation(post_interaction))
    assert result.held and "no answer in time" in result.error


def test_a_server_that_stalls_before_taking_the_message_holds_email(
    app, start_smtp, post_interaction, dispatch_ready
):
    server = start_smtp(RecordingHandler(stall_at="rcpt"))
    _use(app, server, SURVEY_SMTP_TIMEOUT_SECONDS=0.3)
    result = _send_directly(_invitation(post_interaction))
    assert result.held and not result.unknown


def test_silence_after_the_message_was_sent_is_unknown_and_keeps_the_message_id(
    app, start_smtp, post_interaction, dispatch_ready
):
    server = start_smtp(RecordingHandler(stall_at="data"))
    _use(app, server, SURVEY_SMTP_TIMEOUT_SECONDS=0.3)
    result = _send_directly(_invitation(post_interaction))
    assert not result.ok and result.unknown and not result.retryable and not result.held
    assert result.provider_id and result.provider_id.startswith("<")


def test_a_recipient_address_with_a_line_break_fails_without_reaching_the_server(
    app, smtp_server, post_interaction, dispatch_ready
):
    _use(app, smtp_server)
    invitation = _invitation(post_interaction)
    result = _send_directly(invitation, "li@example.cn\r\nBcc: all@example.cn")
    assert not result.ok and not result.retryable and not result.held and not result.unknown
    assert smtp_server.handler.envelopes == []


def test_a_sender_address_that_is_not_one_holds_email(
    app, smtp_server, post_interaction, dispatch_ready
):
    _use(app, smtp_server)
    app.config["SURVEY_MAIL_FROM"] = "survey bank"
    result = _send_directly(_invitation(post_interaction))
    assert result.held and "SURVEY_MAIL_FROM" in result.error


def test_smtp_cannot_be_asked_what_became_of_a_message(app):
    assert SmtpChannel().look_up(1).verdict == CANNOT_TELL


def test_without_smtp_settings_email_still_goes_to_the_outbox(app):
    assert registry.provider_for("email") == "outbox"
    app.config["SURVEY_SMTP_URL"] = "smtp://mail.bank.example"
    assert registry.provider_for("email") == "smtp"
    assert registry.provider_for("sms") != "smtp"


# --- reading SURVEY_SMTP_URL ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "port", "implicit_tls", "starttls", "user", "password"),
    [
        ("smtp://mail.bank.example", "mail.bank.example", 25, False, False, None, None),
        ("smtp://u:p@mail:587?starttls=1", "mail", 587, False, True, "u", "p"),
        ("smtp://u:p@mail?starttls=true", "mail", 587, False, True, "u", "p"),
        ("smtps://u%40bank:p%2F%40%3A@mail", "mail", 465, True, False, "u@bank", "p/@:"),
        ("SMTPS://mail:2465", "mail", 2465, True, False, None, None),
        ("smtp://relay:2525?starttls=0", "relay", 2525, False, False, None, None),
    ],
)
def test_the_smtp_url_is_read_with_default_ports_and_decoded_credentials(
    url, host, port, implicit_tls, starttls, user, password
):
    server = parse_url(url)
    assert (server.host, server.port, server.implicit_tls, server.starttls) == (
        host,
        port,
        implicit_tls,
        starttls,
    )
    assert (server.username, server.password) == (user, password)


def test_the_smtp_password_never_shows_in_a_printed_server():
    assert "secret" not in repr(parse_url("smtp://user:secret@mail"))


@pytest.mark.parametrize("url", ["http://mail", "smtp://", "smtp://mail:port", "mail:25"])
def test_an_unreadable_smtp_url_is_refused_with_a_reason(url):
    with pytest.raises(SmtpUrlError):
        parse_url(url)


def test_an_unreadable_smtp_url_holds_email_instead_of_failing_it(
    app, post_interaction, dispatch_ready
):
    app.config["SURVEY_SMTP_URL"] = "smtp://user:secret@mail:port"
    result = _send_directly(_invitation(post_interaction))
    assert result.held and "secret" not in result.error


# --- staff e-mails --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "bank", "content_language"),
    [("zh", "示例银行", "zh-CN"), ("en", "Example Bank", "en")],
)
def test_an_invited_staff_member_gets_the_set_password_link_by_email_in_their_language(
    app, admin_client, smtp_server, locale, bank, content_language
):
    _use(app, smtp_server)
    page = admin_client.post(
        "/admin/users/invite",
        data={"email": "new@bank.example", "name": "王芳", "role": "manager", "locale": locale},
        headers=EN,
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "The link has been e-mailed to new@bank.example." in html
    assert 'id="password-link"' not in html, "a link that went by e-mail is not shown as well"
    (mail,) = smtp_server.handler.messages()
    assert mail["To"] == "new@bank.example"
    assert mail["Content-Language"] == content_language
    assert mail["From"].addresses[0].display_name == bank
    assert mail["Subject"].startswith(bank)
    if locale == "en":
        assert mail["Subject"] == "Example Bank satisfaction surveys: choose your password"
    text = mail.get_body(("plain",)).get_content()
    assert "王芳" in text and text.rstrip().endswith(bank)
    (path,) = re.findall(r"http://survey\.test(/account/password/\S+)", text)
    user = db.session.scalar(sa.select(User).where(User.email == "new@bank.example"))
    assert user.locale == locale
    guest = app.test_client()
    done = guest.post(path, data={"password": "a long new secret", "confirm": "a long new secret"})
    assert done.status_code == 302 and "/auth/login" in done.headers["Location"]


def test_a_password_reset_link_goes_by_email_to_the_user(app, admin_client, smtp_server, make_user):
    _use(app, smtp_server)
    user = make_user("quality", email="q@bank.example")
    user.locale = "en"
    db.session.commit()
    page = admin_client.post(f"/admin/users/{user.id}/password-link", headers=EN)
    assert "The link has been e-mailed to q@bank.example." in page.get_data(as_text=True)
    (mail,) = smtp_server.handler.messages()
    assert mail["Subject"] == "Example Bank satisfaction surveys: your new password link"
    assert "/account/password/" in mail.get_body(("plain",)).get_content()


def test_when_the_staff_email_fails_the_admin_gets_the_link_and_the_reason(
    app, admin_client, smtp_server
):
    smtp_server.handler.refuse["new@bank.example"] = "550 5.1.1 No such mailbox"
    _use(app, smtp_server)
    page = admin_client.post(
        "/admin/users/invite",
        data={"email": "new@bank.example", "role": "manager", "locale": "en"},
        headers=EN,
    )
    html = page.get_data(as_text=True)
    assert "could not be sent" in html and "550" in html
    assert 'id="password-link"' in html and "/account/password/" in html


def test_without_smtp_the_admin_passes_the_link_on_as_before(app, admin_client):
    form = admin_client.get("/admin/users/invite", headers=EN).get_data(as_text=True)
    assert "No e-mail is sent" in form
    page = admin_client.post(
        "/admin/users/invite", data={"email": "new@bank.example", "role": "manager"}, headers=EN
    )
    html = page.get_data(as_text=True)
    assert 'id="password-link"' in html and "has not been e-mailed" in html


def test_an_email_whose_send_was_taken_over_before_data_is_not_sent(
    app, smtp_server, post_interaction, dispatch_ready
):
    """A stalled worker reaches DATA after the sweep settled its delivery as never sent (and
    sends it itself): the Message-ID is not recorded and DATA is never sent."""
    _use(app, smtp_server)
    invitation = _invitation(post_interaction)
    channel = registry.channel_for("email")
    message = messages.render(invitation, "email", "li@example.cn")
    delivery = Delivery(
        invitation=invitation, channel="email", address="li@example.cn",
        provider=channel.name, state="held", attempt=1,
    )  # fmt: skip
    db.session.add(delivery)
    db.session.commit()
    result = channel.send(delivery.id, message)
    assert result.taken_over and not result.ok and not result.unknown
    assert smtp_server.handler.messages() == []
    db.session.expire_all()
    assert db.session.get_one(Delivery, delivery.id).provider_id is None
