"""The Twilio channel against Twilio's contract (Prism), with Twilio's errors from the proxy."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from survey import clock
from survey.channels import messages, registry
from survey.channels.base import ABSENT, CANNOT_TELL, FOUND, Lookup, Message
from survey.channels.twilio import TwilioChannel
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Delivery, Invitation
from tests.fixtures.dispatch import claimed_by_a_worker_that_dies, interaction_body
from tests.fixtures.twilio import (
    ACCOUNT_SID,
    FROM_NUMBER,
    MESSAGING_SERVICE_SID,
    TIMEOUT_SECONDS,
    call_page,
    message_page,
    twilio_sid,
)

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, inside allowed hours
PHONE = "+8613800138000"
STATUS_CALLBACK = "http://survey.test/webhooks/twilio/status"
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
CALLS = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"


@pytest.fixture
def app_config(twilio_api):
    """Every app in this module sends through the proxy in front of Prism."""
    return twilio_api.app_config


@pytest.fixture
def invite(post_interaction, dispatch_ready):
    """Post an interaction (SMS, then e-mail) and return its invitation."""

    def make(**overrides) -> Invitation:
        clock.freeze(NOW)
        answer = post_interaction(interaction_body(**overrides)).get_json()
        return db.session.get_one(Invitation, answer["invitation"]["id"])

    return make


def _sms(to: str = PHONE) -> Message:
    return Message(channel="sms", to=to, body="【示例银行】请评价本次服务：http://survey.test/s/x")


def _call(to: str = PHONE) -> Message:
    return Message(
        channel="voice",
        to=to,
        body="您好，这里是示例银行。",
        twiml_url="http://survey.test/webhooks/twilio/voice/7",
        invitation_id=7,
    )


def test_twilio_carries_sms_and_voice_once_account_and_sender_are_set(app):
    assert registry.provider_for("sms") == "twilio"
    assert registry.provider_for("voice") == "twilio"
    assert registry.provider_for("email") != "twilio"
    assert not TwilioChannel.configured({"TWILIO_ACCOUNT_SID": ACCOUNT_SID})
    assert not TwilioChannel.configured(
        {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": "t"}
    )
    assert TwilioChannel.configured(
        {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_MESSAGING_SERVICE_SID": MESSAGING_SERVICE_SID,
        }
    )


def test_an_sms_is_sent_from_our_number_with_a_status_callback_and_a_validity(invite, twilio_api):
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "sent"

    [request] = twilio_api.sent("/Messages.json")
    assert request.path == MESSAGES
    assert request.value("To") == PHONE
    assert request.value("Body") == messages.render(invitation, "sms", PHONE).body
    assert request.value("From") == FROM_NUMBER
    assert request.value("MessagingServiceSid") is None
    assert request.value("StatusCallback") == STATUS_CALLBACK
    assert request.value("ValidityPeriod") == "14400"
    assert request.status == 201
    db.session.refresh(invitation)
    [delivery] = invitation.deliveries
    assert (delivery.provider, delivery.state, delivery.channel) == ("twilio", "sent", "sms")
    assert delivery.provider_id.startswith("SM") and len(delivery.provider_id) == 34


@pytest.mark.app_config(
    TWILIO_FROM_NUMBER=None,
    TWILIO_MESSAGING_SERVICE_SID=MESSAGING_SERVICE_SID,
    TWILIO_VALIDITY_SECONDS=600,
)
def test_with_a_messaging_service_the_service_picks_the_sender(invite, twilio_api):
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "sent"
    [request] = twilio_api.sent("/Messages.json")
    assert request.value("MessagingServiceSid") == MESSAGING_SERVICE_SID
    assert request.value("From") is None
    assert request.value("ValidityPeriod") == "600"
    assert request.value("StatusCallback") == STATUS_CALLBACK


def test_a_phone_callback_fetches_our_twiml_reports_progress_and_detects_machines(app, twilio_api):
    result = TwilioChannel().send(1, _call())
    assert result.ok and result.provider_id.startswith("CA")

    [request] = twilio_api.sent("/Calls.json")
    assert request.path == CALLS
    assert (request.value("To"), request.value("From")) == (PHONE, FROM_NUMBER)
    assert request.value("Url") == "http://survey.test/webhooks/twilio/voice/7"
    assert request.value("Method") == "POST"
    assert request.value("StatusCallback") == STATUS_CALLBACK
    # Repeated keys, as Twilio reads a list.
    assert request.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert request.value("MachineDetection") == "Enable"


@pytest.mark.app_config(TWILIO_FROM_NUMBER=None, TWILIO_MESSAGING_SERVICE_SID=MESSAGING_SERVICE_SID)
def test_a_call_without_a_voice_number_fails_clearly_without_asking_twilio(app, twilio_api):
    result = TwilioChannel().send(1, _call())
    assert not result.ok and not (result.retryable or result.unknown or result.held)
    assert "TWILIO_FROM_NUMBER" in result.error
    assert twilio_api.exchanges == []


def test_a_delivery_twilio_already_took_is_not_sent_again(invite, twilio_api):
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "sent"
    [delivery] = invitation.deliveries
    again = TwilioChannel().send(delivery.id, _sms())
    assert again.ok and again.provider_id == delivery.provider_id
    assert len(twilio_api.sent("/Messages.json")) == 1


def test_twilio_rate_limiting_is_retryable(app, twilio_api):
    twilio_api.fail("/Messages.json", 429, 20429, "Too Many Requests")
    result = TwilioChannel().send(1, _sms())
    assert (result.ok, result.retryable, result.unknown, result.code) == (
        False,
        True,
        False,
        "20429",
    )
    assert "20429" in result.error and "Too Many Requests" in result.error


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (21211, "Invalid 'To' Phone Number"),
        (21614, "'To' number is not a valid mobile number"),
    ],
)
def test_a_number_twilio_cannot_reach_fails_permanently_with_its_code(app, twilio_api, code, words):
    twilio_api.fail("/Messages.json", 400, code, words)
    result = TwilioChannel().send(1, _sms())
    assert not (result.ok or result.retryable or result.unknown or result.held)
    assert not result.opted_out
    assert result.code == str(code)
    assert result.error == f"{code}: {words}"


def test_a_number_that_replied_stop_to_our_sender_is_reported_opted_out(app, twilio_api):
    twilio_api.fail("/Messages.json", 400, 21610, "Attempt to send to unsubscribed recipient")
    result = TwilioChannel().send(1, _sms())
    assert result.opted_out and result.code == "21610"
    assert not (result.ok or result.retryable or result.unknown)


def test_a_twilio_server_error_is_unknown_never_retried_blind(app, twilio_api):
    twilio_api.fail("/Messages.json", 500, 20500, "Internal Server Error")
    result = TwilioChannel().send(1, _sms())
    assert result.unknown and not (result.ok or result.retryable)


class _KeepAliveTwilio(BaseHTTPRequestHandler):
    """A Twilio stand-in that keeps connections open (HTTP/1.1) and notes each client's port."""

    protocol_version = "HTTP/1.1"
    ports: list[int] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).ports.append(self.client_address[1])
        payload = json.dumps({"sid": twilio_sid("SM"), "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_consecutive_sends_reuse_one_connection_to_twilio(app):
    # A new TCP (and, against Twilio, TLS) handshake per message was most of a send's wait.
    _KeepAliveTwilio.ports = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveTwilio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app.config["TWILIO_API_URL"] = f"http://127.0.0.1:{server.server_port}"
        results = [TwilioChannel().send(n, _sms()) for n in range(1, 4)]
    finally:
        server.shutdown()
        server.server_close()
    assert all(result.ok for result in results)
    assert len(_KeepAliveTwilio.ports) == 3 and len(set(_KeepAliveTwilio.ports)) == 1


@pytest.fixture
def keep_alive_twilio(app, monkeypatch):
    """A Twilio stand-in of this test's own (so this thread's client is made afresh for it)."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    _KeepAliveTwilio.ports = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveTwilio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["TWILIO_API_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


def test_the_proxy_environment_is_read_once_not_at_every_send(app, keep_alive_twilio, monkeypatch):
    # Reading every *_proxy variable of the environment again for each request was half a
    # millisecond of each send, between its turn and the request.
    from tests.fixtures.twilio import _free_port

    assert TwilioChannel().send(1, _sms()).ok
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_free_port()}")  # nothing listens
    assert TwilioChannel().send(2, _sms()).ok
    assert len(_KeepAliveTwilio.ports) == 2


def test_a_proxy_set_in_the_environment_is_used(app, keep_alive_twilio, monkeypatch):
    from tests.fixtures.twilio import _free_port

    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_free_port()}")  # nothing listens
    result = TwilioChannel().send(1, _sms())
    assert result.retryable and "unreachable" in result.error
    assert _KeepAliveTwilio.ports == []


def test_a_refused_connection_is_retryable(app):
    # Nothing listens on a port we just freed: the request never left.
    from tests.fixtures.twilio import _free_port

    app.config["TWILIO_API_URL"] = f"http://127.0.0.1:{_free_port()}"
    result = TwilioChannel().send(1, _sms())
    assert result.retryable and not (result.ok or result.unknown)
    assert "unreachable" in result.error


def test_a_connection_lost_after_the_request_went_out_is_unknown(app, twilio_api):
    # Twilio may have queued the message before the connection broke: sending again
    # could send it twice, so the verdict is unknown (reconcile), not retryable.
    twilio_api.drop("/Messages.json")
    result = TwilioChannel().send(1, _sms())
    assert result.unknown and not (result.ok or result.retryable)
    assert len(twilio_api.sent("/Messages.json")) == 1


def test_a_twilio_slower_than_our_timeout_is_unknown(app, twilio_api):
    twilio_api.delay("/Calls.json", TIMEOUT_SECONDS + 0.5)
    # Answered late, the call would succeed: only our timeout makes this unknown.
    result = TwilioChannel().send(1, _call())
    assert result.unknown and not (result.ok or result.retryable)
    assert "in time" in result.error


def test_refused_credentials_hold_the_channel_and_are_logged_as_an_error(app, twilio_api, caplog):
    twilio_api.fail("/Messages.json", 401, 20003, "Authenticate")
    with caplog.at_level(logging.ERROR, logger="survey.channels"):
        result = TwilioChannel().send(1, _sms())
    assert result.held and result.code == "20003"
    assert not (result.ok or result.retryable or result.unknown)
    assert any(r.levelno == logging.ERROR and "20003" in r.getMessage() for r in caplog.records)


def test_a_sender_twilio_does_not_accept_holds_the_channel(app, twilio_api):
    twilio_api.fail("/Messages.json", 400, 21606, "The 'From' phone number is not a valid sender")
    assert TwilioChannel().send(1, _sms()).held


def _crashed_mid_send(invitation: Invitation, channel: str) -> Delivery:
    """What a worker leaves when it dies after committing the delivery, before Twilio answered."""
    claimed_by_a_worker_that_dies(invitation)
    delivery = Delivery(invitation=invitation, channel=channel, address=PHONE, provider="twilio")
    db.session.add(delivery)
    db.session.commit()
    return delivery


def _message(sid: str, **fields) -> dict:
    item = {
        "sid": sid,
        "account_sid": ACCOUNT_SID,
        "from": FROM_NUMBER,
        "to": PHONE,
        "body": "【示例银行】…",
        "direction": "outbound-api",
        "status": "queued",
        "messaging_service_sid": None,
        "date_created": format_datetime(NOW + timedelta(seconds=2)),
        "date_sent": None,
    }
    item.update(fields)
    return item


def _link_sms(invitation: Invitation, sid: str, **fields) -> dict:
    """A message of Twilio's list that carries this invitation's survey link."""
    body = f"【示例银行】请评价本次服务：http://survey.test/s/{invitation.token} 回复TD退订"
    return _message(sid, body=body, **fields)


def test_an_sms_twilio_took_before_a_crash_is_reconciled_as_sent(invite, twilio_api):
    invitation = invite()
    delivery = _crashed_mid_send(invitation, "sms")
    ours = twilio_sid("SM")
    twilio_api.answer(
        "/Messages.json",
        message_page(
            _message(twilio_sid("SM"), direction="inbound", **{"from": PHONE, "to": FROM_NUMBER}),
            _link_sms(invitation, ours),
            _message(twilio_sid("SM"), date_created=format_datetime(NOW - timedelta(days=40))),
        ),
        method="GET",
    )
    clock.advance(timedelta(minutes=1))
    assert sending.send_invitation(invitation.id) == "reconciled"

    db.session.refresh(delivery)
    assert (delivery.state, delivery.provider_id) == ("sent", ours)
    [lookup] = twilio_api.sent("/Messages.json", method="GET")
    assert (lookup.value("To"), lookup.value("From")) == (PHONE, FROM_NUMBER)
    assert twilio_api.sent("/Messages.json") == []  # nothing sent again


def test_an_sms_twilio_provably_never_took_is_sent_once_after_the_crash(invite, twilio_api):
    invitation = invite()
    delivery = _crashed_mid_send(invitation, "sms")
    # Twilio lists an old survey and another system's text to the number, neither with our link.
    twilio_api.answer(
        "/Messages.json",
        message_page(
            _message(twilio_sid("SM"), body="【示例银行】您的验证码是 123456"),
            _message(twilio_sid("SM"), date_created=format_datetime(NOW - timedelta(days=40))),
        ),
        method="GET",
    )
    clock.advance(timedelta(minutes=1))
    assert sending.send_invitation(invitation.id) == "sent"

    [sent] = twilio_api.sent("/Messages.json")
    assert invitation.token in sent.value("Body")
    db.session.refresh(invitation)
    assert invitation.state == "sent"
    assert [(d.state, d.provider_id is not None) for d in invitation.deliveries] == [
        ("held", False),
        ("sent", True),
    ]
    assert delivery.id == invitation.deliveries[0].id


def test_when_twilios_list_is_full_of_newer_messages_the_sms_is_not_resent(invite, twilio_api):
    invitation = invite()
    _crashed_mid_send(invitation, "sms")
    others = [_message(twilio_sid("SM"), body=f"通知 {n}") for n in range(20)]
    twilio_api.answer("/Messages.json", message_page(*others), method="GET")
    clock.advance(timedelta(minutes=1))
    assert sending.send_invitation(invitation.id) == "unknown"
    assert twilio_api.sent("/Messages.json") == []
    db.session.refresh(invitation)
    assert [d.state for d in invitation.deliveries] == ["unknown"]


@pytest.mark.app_config(TWILIO_MESSAGING_SERVICE_SID=MESSAGING_SERVICE_SID)
def test_a_messaging_service_sms_is_recognised_by_its_service(app, invite, twilio_api):
    invitation = invite()
    delivery = _crashed_mid_send(invitation, "sms")
    ours = twilio_sid("SM")
    other_service = "MG" + "1" * 32
    twilio_api.answer(
        "/Messages.json",
        message_page(
            _link_sms(invitation, twilio_sid("SM"), messaging_service_sid=other_service),
            _link_sms(
                invitation,
                ours,
                messaging_service_sid=MESSAGING_SERVICE_SID,
                **{"from": "+15005550001"},
            ),
        ),
        method="GET",
    )
    assert TwilioChannel().look_up(delivery.id) == Lookup(FOUND, provider_id=ours)


def test_a_call_twilio_placed_before_a_crash_is_reconciled(app, invite, twilio_api):
    invitation = invite()
    delivery = _crashed_mid_send(invitation, "voice")
    ours = twilio_sid("CA")
    call = {
        "sid": ours,
        "account_sid": ACCOUNT_SID,
        "from": FROM_NUMBER,
        "to": PHONE,
        "direction": "outbound-api",
        "status": "queued",
        "date_created": format_datetime(NOW + timedelta(seconds=1)),
        "start_time": None,
    }
    twilio_api.answer("/Calls.json", call_page(call), method="GET")
    assert TwilioChannel().look_up(delivery.id) == Lookup(FOUND, provider_id=ours)
    [lookup] = twilio_api.sent("/Calls.json", method="GET")
    assert (lookup.value("To"), lookup.value("From")) == (PHONE, FROM_NUMBER)


def test_a_call_twilio_never_placed_is_provably_absent(app, invite, twilio_api):
    invitation = invite()
    delivery = _crashed_mid_send(invitation, "voice")
    earlier = {
        "sid": twilio_sid("CA"),
        "account_sid": ACCOUNT_SID,
        "from": FROM_NUMBER,
        "to": PHONE,
        "direction": "outbound-api",
        "status": "completed",
        "date_created": format_datetime(NOW - timedelta(days=31)),
        "start_time": format_datetime(NOW - timedelta(days=31)),
    }
    twilio_api.answer("/Calls.json", call_page(earlier), method="GET")
    assert TwilioChannel().look_up(delivery.id).verdict == ABSENT


def test_when_twilios_list_fails_the_send_stays_stuck_and_the_next_sweep_asks_again(
    invite, twilio_api
):
    invitation = invite()
    delivery = _crashed_mid_send(invitation, "sms")
    twilio_api.fail("/Messages.json", 503, 20503, "Service Unavailable", method="GET")
    clock.advance(timedelta(minutes=1))
    assert sending.send_invitation(invitation.id) == "lookup_failed"
    db.session.refresh(invitation)
    db.session.refresh(delivery)
    assert (invitation.state, delivery.state) == ("sending", "sending")
    assert twilio_api.sent("/Messages.json") == []
    assert sending.due_invitation_ids() == []  # the reconciler's own lease holds it a while

    twilio_api.delay("/Messages.json", TIMEOUT_SECONDS + 1, method="GET")
    clock.advance(timedelta(minutes=1))
    assert sending.send_invitation(invitation.id) == "lookup_failed"  # a look-up that times out

    twilio_api.answer("/Messages.json", message_page(), method="GET")
    clock.advance(timedelta(minutes=1))
    assert sending.due_invitation_ids() == [invitation.id]
    assert sending.send_invitation(invitation.id) == "sent"
    assert len(twilio_api.sent("/Messages.json")) == 1
    assert TwilioChannel().look_up(10**9).verdict == CANNOT_TELL


def test_a_two_way_survey_goes_out_through_twilio_and_is_answered_by_signed_replies(
    client, post_interaction, make_org, make_default_rule, twilio_api
):
    """The whole two-way path against Twilio's contract: send, status, replies, completion."""
    import xml.etree.ElementTree as ET

    from tests.fixtures.twilio import AUTH_TOKEN, signed_post

    make_org()
    make_default_rule(channels=["sms"], sms_mode="two_way")
    clock.freeze(NOW)
    customer = {"external_id": "C-HK", "phone": "+85291234567", "locale": "en"}
    answer = post_interaction(interaction_body(customer=customer)).get_json()
    invitation_id = answer["invitation"]["id"]
    assert sending.send_invitation(invitation_id) == "sent"
    (sent,) = twilio_api.sent(MESSAGES)
    assert sent.value("To") == "+85291234567" and "(1/6)" in sent.value("Body")
    invitation = db.session.get_one(Invitation, invitation_id)
    sid = invitation.deliveries[0].provider_id
    assert sid and sid.startswith("SM")

    def post(path: str, **form: str):
        return signed_post(client, path, {"AccountSid": ACCOUNT_SID, **form}, AUTH_TOKEN)

    assert (
        post("/webhooks/twilio/status", MessageSid=sid, MessageStatus="delivered").status_code
        == 204
    )
    texts = []
    for reply in ("5", "4", "4", "SKIP", "5", "9"):
        xml = post(
            "/webhooks/twilio/sms",
            From="+85291234567",
            To=FROM_NUMBER,
            Body=reply,
            MessageSid=twilio_sid("SM"),
        )
        texts.append(ET.fromstring(xml.get_data()).findtext("Message"))
    db.session.expire_all()
    invitation = db.session.get_one(Invitation, invitation_id)
    assert invitation.state == "completed"
    assert invitation.deliveries[0].state == "delivered"
    assert "Thank you for your feedback" in texts[-1]
    # Replies are TwiML: Twilio sends them, so nothing more went through the REST API.
    assert len(twilio_api.sent(MESSAGES)) == 1
