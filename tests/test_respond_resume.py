"""Begun by SMS reply or keypad, finished on the web: the web link resumes where they left off."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import Answer, Invitation, Response
from tests.test_webhooks_sms import said


@pytest.fixture
def app_config(webhook_config):
    return webhook_config


def _press_keys(twilio_post, invitation: Invitation, *presses: str) -> None:
    """Pick up the survey call and key one answer at each question, as Twilio posts them."""
    sid = invitation.deliveries[-1].provider_id
    answer = twilio_post(
        f"/webhooks/twilio/voice/{invitation.id}", CallSid=sid, CallStatus="in-progress"
    )
    for digits in presses:
        gather = ET.fromstring(answer.get_data()).find("Gather")
        assert gather is not None, answer.get_data(as_text=True)
        url = urlsplit(gather.get("action"))
        answer = twilio_post(f"{url.path}?{url.query}", CallSid=sid, Digits=digits)


def _stored(invitation: Invitation) -> dict[str, object]:
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(Answer).join(Response).where(Response.invitation_id == invitation.id)
    )
    return {a.question.key: a.value_int if a.value_int is not None else a.value_text for a in rows}


def _open(client, invitation: Invitation) -> tuple[str, str]:
    page = client.get(f"/s/{invitation.token}").get_data(as_text=True)
    match = re.search(r'name="step" value="([^"]+)"', page)
    assert match, page
    return match.group(1), page


def _finish_on_the_web(client, invitation: Invitation, steps: list[tuple[str, str]]):
    reply = None
    for key, value in steps:
        reply = client.post(
            f"/s/{invitation.token}", data={"step": key, f"q_{key}": value, "go": "next"}
        )
    return reply


def test_answers_given_by_sms_are_shown_on_the_web_and_the_next_question_asked(
    sent_invitation, reply, client
):
    invitation = sent_invitation(locale="zh")
    said(reply("5"))
    said(reply("4"))
    assert _stored(invitation) == {"attitude": 5, "wait_time": 4}
    key, page = _open(client, invitation)
    assert key == "products" and "第 3 题，共 7 题" in page
    answered = page[page.index("您已作答的问题") :]
    assert "您对客服人员的服务态度满意吗？" in answered and "您对本次等待时间满意吗？" in answered
    assert re.search(r'class="given">5<', answered) and re.search(r'class="given">4<', answered)

    done = _finish_on_the_web(
        client,
        invitation,
        [("products", "3"), ("complaint_handling", ""), ("overall", "4"), ("nps", "8")],
    )
    assert done.status_code == 303
    last = client.post(f"/s/{invitation.token}", data={"step": "comment", "q_comment": ""})
    assert last.status_code == 200 and "感谢您的反馈" in last.get_data(as_text=True)
    assert _stored(invitation) == {
        "attitude": 5,
        "wait_time": 4,
        "products": 3,
        "overall": 4,
        "nps": 8,
    }
    db.session.refresh(invitation)
    assert invitation.state == "completed"
    assert "您已完成" in said(reply("4"))  # a late SMS reply changes nothing


def test_an_sms_answer_can_be_changed_on_the_web_before_finishing(sent_invitation, reply, client):
    invitation = sent_invitation(locale="en")
    said(reply("1"))
    page = client.get(f"/s/{invitation.token}?q=attitude").get_data(as_text=True)
    assert re.search(r'name="q_attitude" value="1" checked', page)
    client.post(f"/s/{invitation.token}", data={"step": "attitude", "q_attitude": "4"})
    assert _stored(invitation) == {"attitude": 4}
    response = db.session.scalar(sa.select(Response))
    assert response.completed_at is None


def test_keypad_answers_from_a_call_are_resumed_on_the_web(sent_invitation, twilio_post, client):
    invitation = sent_invitation(channels=("voice",), locale="en")
    _press_keys(twilio_post, invitation, "5", "2")  # then they hang up
    assert _stored(invitation) == {"attitude": 5, "wait_time": 2}
    key, page = _open(client, invitation)
    assert key == "products" and "3 / 7" in page
    assert "Your answers so far" in page
