"""Only Twilio, signing for our public URL from our account, can reach the webhooks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from survey.extensions import db
from survey.models import Answer, InboundEvent, OptOut
from tests.fixtures.twilio import ACCOUNT_SID, AUTH_TOKEN, twilio_sid
from tests.fixtures.webhooks import HK_PHONE


@pytest.fixture
def app_config(webhook_config):
    return webhook_config


def _nothing_recorded() -> bool:
    counts = [
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (InboundEvent, OptOut, Answer)
    ]
    return counts == [0, 0, 0]


def _form(**extra: str) -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "From": HK_PHONE,
        "Body": "STOP",
        "MessageSid": twilio_sid("SM"),
        **extra,
    }


def _signature(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def _paths(invitation_id: int) -> list[str]:
    return [
        "/webhooks/twilio/sms",
        "/webhooks/twilio/status",
        f"/webhooks/twilio/voice/{invitation_id}",
        f"/webhooks/twilio/voice/{invitation_id}/gather?q=0&attempt=0",
    ]


def test_a_request_without_a_signature_is_refused_and_changes_nothing(client, sent_invitation):
    invitation = sent_invitation()
    for path in _paths(invitation.id):
        assert client.post(path, data=_form()).status_code == 403, path
    assert _nothing_recorded()


def test_a_wrong_signature_is_refused(client, sent_invitation):
    invitation = sent_invitation()
    for path in _paths(invitation.id):
        form = _form()
        bad = _signature("http://survey.test" + path, form, token="0" * 32)
        assert client.post(path, data=form, headers={"X-Twilio-Signature": bad}).status_code == 403
    assert _nothing_recorded()


def test_a_signature_made_for_another_url_is_refused(client, sent_invitation):
    sent_invitation()
    form = _form()
    for url in (
        "http://evil.example/webhooks/twilio/sms",
        "http://survey.test/webhooks/twilio/status",
        "https://survey.test/webhooks/twilio/sms",
        "http://survey.test/webhooks/twilio/sms?x=1",
    ):
        signature = _signature(url, form)
        answer = client.post(
            "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 403, url
    assert _nothing_recorded()


def test_a_signed_form_changed_on_the_way_is_refused(client, sent_invitation):
    sent_invitation()
    form = _form(Body="5")
    signature = _signature("http://survey.test/webhooks/twilio/sms", form)
    form["Body"] = "STOP"
    answer = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status_code == 403
    assert _nothing_recorded()


def test_a_request_signed_for_another_account_is_refused(client, sent_invitation):
    sent_invitation()
    form = _form(AccountSid="AC" + "9" * 32)
    signature = _signature("http://survey.test/webhooks/twilio/sms", form)
    answer = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status_code == 403
    assert _nothing_recorded()


def test_the_signature_is_checked_against_the_public_url_behind_a_proxy(client, sent_invitation):
    # The request reaches us as http://localhost/… (the proxy's hop); Twilio signed the public URL.
    sent_invitation()
    form = _form(Body="HELP")
    signature = _signature("http://survey.test/webhooks/twilio/sms", form)
    answer = client.post(
        "/webhooks/twilio/sms",
        data=form,
        headers={"X-Twilio-Signature": signature},
        base_url="http://10.0.0.7:8000",
    )
    assert answer.status_code == 200


@pytest.mark.app_config(TWILIO_AUTH_TOKEN=None, TWILIO_ACCOUNT_SID=None)
def test_without_twilio_configured_every_webhook_is_refused(client):
    form = _form()
    signature = _signature("http://survey.test/webhooks/twilio/sms", form)
    answer = client.post(
        "/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status_code == 403
