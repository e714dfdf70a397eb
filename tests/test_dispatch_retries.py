"""Retries and fallback: a provider that did not take a message is asked again, a while later,
a few times; one that refused it for good, or whose delivery failed, moves the invitation on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from survey import clock
from survey.dispatch import lease, retries, sending, status
from survey.extensions import db
from survey.models import Invitation
from tests.fixtures.dispatch import interaction_body
from tests.fixtures.twilio import twilio_config

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, inside allowed hours
MESSAGES = "/Messages.json"


@pytest.fixture
def invite(post_interaction, dispatch_ready):
    """Post an interaction (SMS, then e-mail) and return its invitation."""

    def make(**overrides):
        clock.freeze(NOW)
        answer = post_interaction(interaction_body(**overrides)).get_json()
        return db.session.get_one(Invitation, answer["invitation"]["id"])

    return make


@pytest.fixture
def twilio(app, twilio_api):
    app.config.update(twilio_config(twilio_api.url))
    return twilio_api


def _send_as_the_sweep_would(invitation: Invitation) -> list[str]:
    """Send, and again whenever the invitation falls due (the sweep a minute late at worst)."""
    outcomes = [sending.send_invitation(invitation.id)]
    while outcomes[-1] == "retrying":
        db.session.refresh(invitation)
        clock.freeze(invitation.scheduled_at + retries.SWEEP_LAG)
        outcomes.append(sending.send_invitation(invitation.id))
    db.session.expire_all()
    return outcomes


def test_a_rate_limited_sms_is_tried_five_times_within_30_minutes_then_falls_back(
    invite, twilio, client, api_key
):
    twilio.fail(MESSAGES, 429, 20429, "Too Many Requests", times=10)
    invitation = invite()
    outcomes = _send_as_the_sweep_would(invitation)
    assert outcomes == ["retrying"] * 4 + ["sent"]
    assert len(twilio.sent(MESSAGES)) == 5
    invitation = db.session.get_one(Invitation, invitation.id)
    *sms, email = invitation.deliveries
    assert [(d.channel, d.attempt, d.state) for d in sms] == [
        ("sms", 1, "retrying"),
        ("sms", 2, "retrying"),
        ("sms", 3, "retrying"),
        ("sms", 4, "retrying"),
        ("sms", 5, "failed"),
    ]
    assert sms[-1].created_at - sms[0].created_at <= timedelta(minutes=30)
    # Each pause is longer than the one before: the backoff is exponential.
    gaps = [b.created_at - a.created_at for a, b in zip(sms, sms[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[0] >= retries.BASE
    assert (email.channel, email.state) == ("email", "sent")

    shown = client.get(
        f"/api/v1/invitations/{invitation.id}", headers={"Authorization": f"Bearer {api_key}"}
    ).get_json()
    assert [(d["attempt"], d["state"], d["error_code"]) for d in shown["deliveries"][:5]] == [
        (n, "retrying" if n < 5 else "failed", "20429") for n in range(1, 6)
    ]
    assert all(d["created_at"] for d in shown["deliveries"])


def test_a_rate_limit_that_lifts_sends_the_sms_on_a_later_try(invite, twilio):
    twilio.fail(MESSAGES, 429, 20429, "Too Many Requests", times=2)
    invitation = invite()
    assert _send_as_the_sweep_would(invitation) == ["retrying", "retrying", "sent"]
    invitation = db.session.get_one(Invitation, invitation.id)
    assert [(d.attempt, d.state) for d in invitation.deliveries] == [
        (1, "retrying"),
        (2, "retrying"),
        (3, "sent"),
    ]
    assert invitation.channel == "sms" and invitation.state == "sent"


def test_the_longest_retry_schedule_fits_five_tries_in_30_minutes():
    # Every pause at its longest jitter, every try picked up a whole sweep late.
    worst = sum(
        (retries.pause(k, 1.0) + retries.SWEEP_LAG for k in range(1, retries.MAX_ATTEMPTS)),
        timedelta(),
    )
    assert worst <= retries.WINDOW
    assert retries.MAX_ATTEMPTS == 5
    first = NOW
    assert retries.retry_at(first, retries.MAX_ATTEMPTS, NOW + timedelta(minutes=1)) is None
    # A try that would land past the window is not scheduled: the next channel goes instead.
    assert retries.retry_at(first, 2, first + timedelta(minutes=29)) is None


def test_a_server_error_is_not_retried_but_looked_up_once_the_lease_runs_out(invite, twilio):
    twilio.remember = True
    twilio.fail(MESSAGES, 500, 20500, "Internal Server Error", taken=True)
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "in_doubt"
    # Nothing is decided while the worker's lease holds: not sent again, not counted sent.
    assert sending.send_invitation(invitation.id) == "skipped"
    invitation = db.session.get_one(Invitation, invitation.id)
    assert invitation.state == "sending"
    assert [(d.state, d.error_code) for d in invitation.deliveries] == [("sending", "20500")]
    clock.advance(timedelta(minutes=1))
    assert sending.send_invitation(invitation.id) == "reconciled"
    clock.advance(timedelta(hours=1))
    assert sending.send_invitation(invitation.id) == "skipped"
    [taken] = twilio.messages
    assert len(twilio.sent(MESSAGES)) == 1
    db.session.expire_all()
    invitation = db.session.get_one(Invitation, invitation.id)
    assert invitation.state == "sent"
    assert [(d.state, d.provider_id) for d in invitation.deliveries] == [("sent", taken["sid"])]


def test_a_server_error_twilio_never_acted_on_is_sent_once_after_the_look_up(invite, twilio):
    twilio.remember = True
    twilio.fail(MESSAGES, 500, 20500, "Internal Server Error")
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "in_doubt"
    assert twilio.messages == []
    clock.advance(timedelta(minutes=1))
    # Proven not taken: a refused try, sent again after the pause a 429 would get.
    assert sending.send_invitation(invitation.id) == "retrying"
    db.session.refresh(invitation)
    assert invitation.scheduled_at >= clock.now() + retries.BASE
    clock.freeze(invitation.scheduled_at)
    assert sending.send_invitation(invitation.id) == "sent"
    first, looked_up, second = twilio.exchanges
    assert (first.method, first.status, first.sid) == ("POST", 500, None)
    assert looked_up.method == "GET" and looked_up.path.endswith(MESSAGES)
    assert (second.method, second.status) == ("POST", 201)
    [taken] = twilio.messages
    assert invitation.token in taken["body"]
    db.session.expire_all()
    invitation = db.session.get_one(Invitation, invitation.id)
    assert [(d.attempt, d.state, d.provider_id) for d in invitation.deliveries] == [
        (1, "retrying", None),
        (2, "sent", taken["sid"]),
    ]


def test_a_twilio_failing_without_taking_the_sms_is_tried_five_times_then_the_email_goes(
    invite, twilio
):
    twilio.remember = True
    twilio.fail(MESSAGES, 500, 20500, "Internal Server Error", times=10)
    invitation = invite()
    outcomes = [sending.send_invitation(invitation.id)]
    while outcomes[-1] in ("in_doubt", "retrying"):
        db.session.refresh(invitation)
        if outcomes[-1] == "in_doubt":
            clock.advance(lease.length() + timedelta(seconds=1))  # the sweep looks it up
        else:
            clock.freeze(invitation.scheduled_at + retries.SWEEP_LAG)
        outcomes.append(sending.send_invitation(invitation.id))
    assert outcomes == ["in_doubt", "retrying"] * 4 + ["in_doubt", "sent"]
    assert len(twilio.sent(MESSAGES)) == 5 and len(twilio.sent(MESSAGES, "GET")) == 5
    assert twilio.messages == []
    db.session.expire_all()
    invitation = db.session.get_one(Invitation, invitation.id)
    *sms, email = invitation.deliveries
    assert [(d.attempt, d.state) for d in sms] == [(n, "retrying") for n in range(1, 5)] + [
        (5, "failed")
    ]
    gaps = [b.created_at - a.created_at for a, b in zip(sms, sms[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[0] >= retries.BASE
    assert (email.channel, email.state) == ("email", "sent")


def test_a_rate_limit_asking_for_a_longer_wait_is_waited_out(invite, twilio):
    twilio.fail(MESSAGES, 429, 20429, "Too Many Requests", retry_after=600)
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "retrying"
    db.session.expire_all()
    invitation = db.session.get_one(Invitation, invitation.id)
    assert invitation.scheduled_at >= NOW + timedelta(seconds=600)


def test_a_rate_limit_asking_for_a_shorter_wait_keeps_the_schedule(invite, twilio):
    twilio.fail(MESSAGES, 429, 20429, "Too Many Requests", retry_after=1)
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "retrying"
    db.session.expire_all()
    invitation = db.session.get_one(Invitation, invitation.id)
    assert invitation.scheduled_at >= NOW + retries.BASE


@pytest.mark.app_config(SURVEY_RETRY_BASE_SECONDS=2)
def test_the_retry_pause_follows_the_configured_base(invite, twilio):
    twilio.fail(MESSAGES, 429, 20429, "Too Many Requests")
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "retrying"
    db.session.expire_all()
    pause = db.session.get_one(Invitation, invitation.id).scheduled_at - NOW
    assert timedelta(seconds=2) <= pause <= timedelta(seconds=3)


@pytest.mark.parametrize(
    ("code", "words"),
    [(21211, "Invalid 'To' Phone Number"), (21614, "'To' number is not a valid mobile number")],
)
def test_an_invalid_number_fails_at_once_and_the_email_goes(invite, twilio, code, words):
    twilio.fail(MESSAGES, 400, code, words)
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "sent"
    invitation = db.session.get_one(Invitation, invitation.id)
    assert [(d.channel, d.attempt, d.state) for d in invitation.deliveries] == [
        ("sms", 1, "failed"),
        ("email", 1, "sent"),
    ]
    assert len(twilio.sent(MESSAGES)) == 1


def test_when_no_channel_is_left_the_invitation_fails_with_its_reason_shown(
    invite, twilio, client, api_key
):
    twilio.fail(MESSAGES, 400, 21614, "'To' number is not a valid mobile number")
    invitation = invite(customer={"external_id": "C-ONLY-SMS", "phone": "+8613900000000"})
    assert sending.send_invitation(invitation.id) == "failed"
    shown = client.get(
        f"/api/v1/invitations/{invitation.id}", headers={"Authorization": f"Bearer {api_key}"}
    ).get_json()
    assert shown["state"] == "failed"
    assert shown["failure_reason"] == "sms: 21614: 'To' number is not a valid mobile number"
    assert shown["suppression_reason"] is None


def test_an_sms_undelivered_at_night_falls_back_to_email_in_the_morning(invite):
    invitation = invite()
    assert sending.send_invitation(invitation.id) == "sent"
    [sms] = db.session.get_one(Invitation, invitation.id).deliveries
    clock.freeze(datetime(2026, 11, 29, 13, 30, tzinfo=UTC))  # 21:30 in Shanghai
    assert status.message_status(sms.provider_id, "undelivered", "30003") == "undelivered"
    assert sending.send_invitation(invitation.id) == "deferred"
    morning = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert db.session.get_one(Invitation, invitation.id).scheduled_at == morning
    clock.freeze(morning)
    assert sending.send_invitation(invitation.id) == "sent"
    invitation = db.session.get_one(Invitation, invitation.id)
    assert [(d.channel, d.state) for d in invitation.deliveries] == [
        ("sms", "undelivered"),
        ("email", "sent"),
    ]
    assert invitation.channel == "email"
