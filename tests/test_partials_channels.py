"""A customer who answers some questions by SMS or keypad and stops is counted, once, when the
partial closes; what comes after the closing changes no figure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from survey import clock
from survey.channels import scripts
from survey.extensions import db
from survey.models import Answer, Response, Rollup
from tests.fixtures.dispatch import sweep_at


@pytest.fixture
def app_config(webhook_config):
    return webhook_config


def said(answer) -> str:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    messages = ET.fromstring(answer.get_data()).findall("Message")
    return messages[0].text if messages else ""


def _figures() -> dict[tuple[str, str, str], tuple[int, int]]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(
            Rollup.survey_channel,
            Rollup.kind,
            Rollup.dimension,
            sa.func.sum(Rollup.n),
            sa.func.sum(Rollup.total),
        ).group_by(Rollup.survey_channel, Rollup.kind, Rollup.dimension)
    ).all()
    return {(c, k, d): (int(n), int(t)) for c, k, d, n, t in rows}


def test_sms_answers_left_unfinished_count_in_their_dimensions_once_closed(sent_invitation, reply):
    invitation = sent_invitation()
    sent = clock.now()
    assert "(2/6)" in said(reply("2"))  # attitude
    assert "(3/6)" in said(reply("4"))  # wait time; then the customer stops replying
    sweep_at(sent + timedelta(hours=23))
    assert _figures() == {}

    sweep_at(sent + timedelta(hours=24, minutes=1))
    assert _figures() == {
        ("sms", "rating_5", "attitude"): (1, 2),
        ("sms", "rating_5", "wait_time"): (1, 4),
    }
    response = db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))
    assert response.state == "closed_partial" and response.completed_at is None


def test_a_late_sms_reply_after_closing_is_thanked_and_changes_no_figure(sent_invitation, reply):
    sent_invitation()
    sent = clock.now()
    said(reply("5"))
    sweep_at(sent + timedelta(hours=30))
    counted = _figures()
    assert counted == {("sms", "rating_5", "attitude"): (1, 5)}

    done = scripts.sms_reply("done", "zh")  # 您已完成本次问卷，感谢您的评价！
    assert done in said(reply("1"))
    assert done in said(reply("1"))
    assert _figures() == counted
    stored = db.session.scalars(sa.select(Answer.value_int)).all()
    assert stored == [5]  # the late replies were not recorded as answers either


def test_keypad_answers_of_a_hung_up_call_count_once_the_partial_closes(
    sent_invitation, twilio_post
):
    invitation = sent_invitation(channels=("voice",), locale="en")
    sent = clock.now()
    sid = invitation.deliveries[-1].provider_id
    root = ET.fromstring(
        twilio_post(
            f"/webhooks/twilio/voice/{invitation.id}",
            CallSid=sid,
            AnsweredBy="human",
            CallStatus="in-progress",
        ).get_data()
    )
    for digits in ("1", "3"):  # attitude, wait time; then the customer hangs up
        url = urlsplit(root.find("Gather").get("action"))
        root = ET.fromstring(
            twilio_post(f"{url.path}?{url.query}", CallSid=sid, Digits=digits).get_data()
        )
    sweep_at(sent + timedelta(hours=12))
    assert _figures() == {}
    sweep_at(sent + timedelta(hours=24))
    assert _figures() == {
        ("voice", "rating_5", "attitude"): (1, 1),
        ("voice", "rating_5", "wait_time"): (1, 3),
    }


def test_an_sms_reply_meeting_a_closing_in_the_same_instant_is_thanked_not_a_server_error(
    sent_invitation, reply
):
    from survey.responses import partials, sms

    invitation = sent_invitation()
    sent = clock.now()
    said(reply("5"))
    response = db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))
    # The reply was read as awaited (its check ran first); the sweep closes the partial
    # before the answer is written.
    clock.freeze(sent + timedelta(hours=25))
    assert partials.close(response.id)
    db.session.commit()
    counted = _figures()
    waiting = db.session.get(type(invitation), invitation.id)

    text = sms._answer(waiting, "4", "zh")

    assert text == scripts.sms_reply("done", "zh")
    assert _figures() == counted
