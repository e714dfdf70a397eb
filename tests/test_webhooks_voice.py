"""The phone callback through Twilio's voice webhooks: greeting, keypad answers, stop, outcomes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from survey.dispatch import sending
from survey.extensions import db
from survey.models import (
    Answer,
    Delivery,
    InboundEvent,
    Invitation,
    OptOut,
    OutboxMessage,
    Response,
)


@pytest.fixture
def app_config(webhook_config):
    return webhook_config


def twiml(answer) -> ET.Element:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/xml"
    root = ET.fromstring(answer.get_data())
    assert root.tag == "Response"
    return root


def spoken(root: ET.Element) -> str:
    return " ".join(s.text or "" for s in root.iter("Say"))


@pytest.fixture
def call(twilio_post):
    """Play Twilio's side of one call: pick up, then press keys at each <Gather>."""

    class Call:
        def __init__(self, invitation: Invitation, answered_by: str = "human") -> None:
            self.invitation = invitation
            self.sid = invitation.deliveries[-1].provider_id
            self.root = twiml(
                twilio_post(
                    f"/webhooks/twilio/voice/{invitation.id}",
                    CallSid=self.sid,
                    AnsweredBy=answered_by,
                    CallStatus="in-progress",
                )
            )

        @property
        def gather(self) -> ET.Element | None:
            return self.root.find("Gather")

        def press(self, digits: str = "", finished_on_key: str = "") -> ET.Element:
            gather = self.gather
            assert gather is not None, ET.tostring(self.root)
            url = urlsplit(gather.get("action"))
            assert url.scheme == "http" and url.netloc == "survey.test"
            self.root = twiml(
                twilio_post(
                    f"{url.path}?{url.query}",
                    CallSid=self.sid,
                    Digits=digits,
                    FinishedOnKey=finished_on_key,
                )
            )
            return self.root

    return Call


def _answers(invitation: Invitation) -> dict[str, int | None]:
    rows = db.session.scalars(
        sa.select(Answer).join(Response).where(Response.invitation_id == invitation.id)
    )
    return {a.question.key: a.value_int for a in rows}


def test_the_call_greets_by_the_banks_name_and_asks_the_first_question_by_keypad(
    sent_invitation, call
):
    invitation = sent_invitation(channels=("voice",))
    c = call(invitation)
    gather = c.gather
    assert gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
    assert gather.get("actionOnEmptyResult") == "true" and gather.get("finishOnKey") == "#"
    says = gather.findall("Say")
    assert says[0].get("language") == "cmn-CN"
    assert "您好，这里是示例银行" in spoken(c.root) and "星号键" in spoken(c.root)
    assert "服务态度" in spoken(c.root)


def test_keypad_answers_complete_the_survey_and_count_as_voice(sent_invitation, call):
    invitation = sent_invitation(channels=("voice",), locale="en")
    c = call(invitation)
    assert c.root.find("Gather/Say").get("language") == "en-US"
    c.press("5")
    c.press("4")
    c.press("5")
    c.press("", finished_on_key="#")  # the optional complaint question, skipped
    c.press("4")
    nps = c.gather
    assert nps.get("numDigits") == "2"
    end = c.press("10")
    assert end.find("Hangup") is not None and "Thank you" in spoken(end)
    db.session.refresh(invitation)
    assert invitation.state == "completed"
    assert _answers(invitation) == {
        "attitude": 5,
        "wait_time": 4,
        "products": 5,
        "overall": 4,
        "nps": 10,
    }
    response = db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))
    assert response.survey_channel == "voice"
    assert invitation.deliveries[0].state == "answered"


def test_silence_or_a_wrong_key_repeats_the_question_once_then_moves_on(sent_invitation, call):
    invitation = sent_invitation(channels=("voice",), locale="en")
    c = call(invitation)
    again = c.press("9")
    assert "Sorry" in spoken(again) and "attitude" in spoken(again)
    moved = c.press("")  # silence the second time
    assert "wait" in spoken(moved)
    c.press("3")
    assert _answers(invitation) == {"wait_time": 3}


def test_star_stops_survey_calls_and_every_other_channel(sent_invitation, call, post_interaction):
    invitation = sent_invitation(channels=("voice",), email="li@example.cn")
    c = call(invitation)
    end = c.press("*")
    assert end.find("Hangup") is not None and "不会再" in spoken(end)
    methods = db.session.scalars(sa.select(OptOut.method)).all()
    assert methods and set(methods) == {"keypad"}
    db.session.refresh(invitation)
    assert invitation.state == "sent"  # nothing answered, nothing completed


def test_a_hang_up_keeps_the_answers_given(sent_invitation, call, twilio_post):
    invitation = sent_invitation(channels=("voice",))
    c = call(invitation)
    c.press("4")
    c.press("2")
    twilio_post("/webhooks/twilio/status", CallSid=c.sid, CallStatus="completed")
    db.session.refresh(invitation)
    assert _answers(invitation) == {"attitude": 4, "wait_time": 2}
    assert invitation.completed_at is None
    assert invitation.deliveries[0].state == "answered"


def test_a_repeated_step_records_nothing_twice_and_says_the_same(
    sent_invitation, call, twilio_post
):
    invitation = sent_invitation(channels=("voice",))
    c = call(invitation)
    action = urlsplit(c.gather.get("action"))
    path = f"{action.path}?{action.query}"
    first = twilio_post(path, CallSid=c.sid, Digits="5", FinishedOnKey="")
    again = twilio_post(path, CallSid=c.sid, Digits="5", FinishedOnKey="")
    assert first.get_data() == again.get_data()
    assert _answers(invitation) == {"attitude": 5}
    keys = db.session.scalars(sa.select(InboundEvent.key).where(InboundEvent.kind == "voice"))
    assert sorted(keys) == sorted([f"{c.sid}:start", f"{c.sid}:0:0"])


def test_a_machine_is_hung_up_on_and_the_next_channel_is_tried(sent_invitation, call):
    invitation = sent_invitation(channels=("voice", "sms"))
    c = call(invitation, answered_by="machine_start")
    assert c.root.find("Hangup") is not None and c.gather is None
    db.session.refresh(invitation)
    assert invitation.deliveries[0].state == "machine"
    assert invitation.state == "scheduled"  # due now: the worker sends the SMS next
    assert sending.send_invitation(invitation.id) == "sent"
    db.session.refresh(invitation)
    assert [d.channel for d in invitation.deliveries] == ["voice", "sms"]
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.channel == "sms")
        )
        == 1
    )


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "failed", "completed"])
def test_a_call_that_did_not_reach_the_customer_falls_back(sent_invitation, twilio_post, outcome):
    invitation = sent_invitation(channels=("voice", "sms"))
    sid = invitation.deliveries[0].provider_id
    twilio_post("/webhooks/twilio/status", CallSid=sid, CallStatus="ringing")
    twilio_post("/webhooks/twilio/status", CallSid=sid, CallStatus=outcome)
    db.session.refresh(invitation)
    delivery = db.session.get(Delivery, invitation.deliveries[0].id)
    expected = {"busy": "busy", "no-answer": "no_answer", "failed": "failed"}
    assert delivery.state == expected.get(outcome, "unanswered")
    assert invitation.state == "scheduled"
    assert sending.send_invitation(invitation.id) == "sent"
    db.session.refresh(invitation)
    assert invitation.channel == "sms"


def test_a_call_with_no_channel_left_fails_the_invitation(sent_invitation, twilio_post):
    invitation = sent_invitation(channels=("voice",))
    sid = invitation.deliveries[0].provider_id
    twilio_post("/webhooks/twilio/status", CallSid=sid, CallStatus="busy")
    db.session.refresh(invitation)
    assert invitation.state == "failed"


def test_a_call_to_a_finished_survey_says_so_and_hangs_up(sent_invitation, call, client):
    invitation = sent_invitation(channels=("voice",), locale="en")
    form = {f"q_{k}": "4" for k in ("attitude", "wait_time", "products", "overall")}
    form["q_nps"] = "8"
    assert client.post(f"/s/{invitation.token}", data=form).status_code == 200
    c = call(invitation)
    assert c.root.find("Hangup") is not None and "already answered" in spoken(c.root)


@pytest.mark.parametrize("digits", ["\x00", "1" * 5000, "五", "😀", "-1", "#*#"])
def test_hostile_digits_get_twiml_never_a_500(sent_invitation, call, digits):
    invitation = sent_invitation(channels=("voice",))
    c = call(invitation)
    root = c.press(digits)
    assert root.find("Gather") is not None or root.find("Hangup") is not None
