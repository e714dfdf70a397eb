"""Status callbacks: deliveries move only forward, failures fall back, carriers' opt-outs hold."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from survey.dispatch import endings, sending
from survey.extensions import db
from survey.models import Delivery, Invitation, OptOut


@pytest.fixture
def app_config(webhook_config):
    return webhook_config


def _status(twilio_post, delivery: Delivery, status: str, **extra: str):
    answer = twilio_post(
        "/webhooks/twilio/status",
        MessageSid=delivery.provider_id,
        MessageStatus=status,
        **extra,
    )
    assert answer.status_code == 204
    db.session.expire_all()
    return db.session.get_one(Delivery, delivery.id)


def test_a_delivery_follows_twilios_statuses_and_never_moves_back(sent_invitation, twilio_post):
    delivery = sent_invitation(sms_mode="link").deliveries[0]
    assert _status(twilio_post, delivery, "queued").state == "queued"
    assert _status(twilio_post, delivery, "sending").state == "queued"
    assert _status(twilio_post, delivery, "delivered").state == "delivered"
    # Twilio's callbacks can arrive out of order: a late "sent" never overwrites "delivered".
    assert _status(twilio_post, delivery, "sent").state == "delivered"
    assert _status(twilio_post, delivery, "queued").state == "delivered"


def test_an_undelivered_sms_moves_the_invitation_to_its_next_channel(sent_invitation, twilio_post):
    invitation = sent_invitation(channels=("sms", "email"), email="li@example.cn")
    delivery = _status(twilio_post, invitation.deliveries[0], "undelivered", ErrorCode="30003")
    assert (delivery.state, delivery.error_code) == ("undelivered", "30003")
    invitation = db.session.get_one(Invitation, invitation.id)
    assert invitation.state == "scheduled" and invitation.sms_question_key is None
    assert sending.send_invitation(invitation.id) == "sent"
    db.session.refresh(invitation)
    assert [d.channel for d in invitation.deliveries] == ["sms", "email"]
    assert invitation.channel == "email"


def test_a_fall_back_that_meets_a_busy_database_is_done_when_the_callback_is_run_again(
    sent_invitation, twilio_post, monkeypatch
):
    """The failed delivery and the invitation's move to its next channel are one piece of work:
    when the move cannot be written, the retry must find the delivery not yet failed, or the
    invitation would wait on a channel that failed, and never try the next."""
    invitation = sent_invitation(channels=("sms", "email"), email="li@example.cn")
    real_fall_back = endings.fall_back
    calls = []

    def busy_once(delivery):
        calls.append(delivery.id)
        if len(calls) == 1:
            raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))
        return real_fall_back(delivery)

    monkeypatch.setattr(endings, "fall_back", busy_once)
    delivery = _status(twilio_post, invitation.deliveries[0], "undelivered", ErrorCode="30003")
    assert delivery.state == "undelivered"
    assert len(calls) == 2, "the retry did not fall back again"
    assert db.session.get_one(Invitation, invitation.id).state == "scheduled"


def test_a_carriers_opt_out_is_recorded_like_a_stop(sent_invitation, twilio_post, post_interaction):
    invitation = sent_invitation(sms_mode="link")
    _status(twilio_post, invitation.deliveries[0], "failed", ErrorCode="21610")
    rows = db.session.scalars(sa.select(OptOut)).all()
    assert {r.method for r in rows} == {"carrier"}
    assert any(r.customer_id == invitation.customer_id for r in rows)
    assert any(r.address_id is not None for r in rows)
    # Repeated, it records nothing more.
    _status(twilio_post, invitation.deliveries[0], "failed", ErrorCode="21610")
    assert len(db.session.scalars(sa.select(OptOut)).all()) == len(rows)


def test_a_status_for_a_message_we_never_sent_is_acknowledged_and_changes_nothing(twilio_post):
    answer = twilio_post(
        "/webhooks/twilio/status", MessageSid="SM" + "0" * 32, MessageStatus="delivered"
    )
    assert answer.status_code == 204


@pytest.mark.parametrize("status", ["", "exploded", "\x00", "x" * 5000])
def test_a_nonsense_status_changes_nothing(sent_invitation, twilio_post, status):
    delivery = sent_invitation(sms_mode="link").deliveries[0]
    assert _status(twilio_post, delivery, status).state == "sent"
