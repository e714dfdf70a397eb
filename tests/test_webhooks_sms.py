"""Two-way SMS through Twilio's inbound webhook: answers, re-asks, keywords, replays."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import Answer, InboundEvent, Invitation, OptOut, Response
from tests.fixtures.twilio import twilio_sid
from tests.fixtures.webhooks import HK_PHONE


@pytest.fixture
def app_config(webhook_config):
    return webhook_config


def said(answer) -> str:
    """The text of the one <Message> in a TwiML answer (empty when it says nothing)."""
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/xml"
    root = ET.fromstring(answer.get_data())
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1
    return messages[0].text if messages else ""


def _answers(invitation: Invitation) -> dict[str, int | str | None]:
    rows = db.session.execute(
        sa.select(Answer)
        .join(Response)
        .where(Response.invitation_id == invitation.id)
        .order_by(Answer.id)
    ).scalars()
    return {a.question.key: a.value_int if a.value_int is not None else a.value_text for a in rows}


def test_a_two_way_sms_asks_the_first_question_and_waits_for_the_reply(sent_invitation):
    invitation = sent_invitation()
    assert invitation.sms_question_key == "attitude"
    body = invitation.deliveries[0].address
    assert body == HK_PHONE


def test_replies_answer_each_question_in_turn_and_the_last_completes_and_scores(
    sent_invitation, reply, client, api_key
):
    invitation = sent_invitation()
    assert "(2/6)" in said(reply("5"))
    assert "(3/6)" in said(reply(" ４ "))  # fullwidth, with spaces
    assert "(4/6)" in said(reply("五分"))
    assert "(5/6)" in said(reply("跳过"))  # the complaint question is optional
    assert "(6/6)" in said(reply("3分"))
    thanks = said(reply("10"))
    assert "感谢您的反馈" in thanks and thanks.startswith("【示例银行】")
    db.session.refresh(invitation)
    assert invitation.state == "completed" and invitation.sms_question_key is None
    assert _answers(invitation) == {
        "attitude": 5,
        "wait_time": 4,
        "products": 5,
        "overall": 3,
        "nps": 10,
    }
    response = db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))
    assert response.survey_channel == "sms" and response.completed_at is not None
    scores = client.get(
        "/api/v1/scores?group_by=survey_channel&from=2026-11-01&to=2026-11-30",
        headers={"Authorization": f"Bearer {api_key}"},
    ).get_json()
    assert {k: v for k, v in scores["groups"][0].items() if k in ("key", "n")} == {
        "key": {"survey_channel": "sms"},
        "n": 1,
    }


def test_an_unreadable_reply_is_asked_again_once_then_gets_the_link(sent_invitation, reply):
    invitation = sent_invitation(locale="en")
    first = said(reply("great service"))
    assert "Reply 1-5" in first and first.startswith("[Example Bank] Sorry")
    second = said(reply("6"))
    assert f"http://survey.test/s/{invitation.token}" in second
    assert "(2/6)" in said(reply("4"))
    assert _answers(invitation) == {"attitude": 4}


def test_a_required_question_cannot_be_skipped(sent_invitation, reply):
    sent_invitation()
    assert "抱歉" in said(reply("跳过"))


def test_every_reply_says_how_to_stop(sent_invitation, reply):
    sent_invitation()
    for text in ("5", "bad", "4"):
        assert said(reply(text)).endswith("回复TD退订")


@pytest.mark.parametrize(
    "word", ["STOP", "stop", " Stop ", "ＳＴＯＰ", "TD", "退订", "unsubscribe", "QUIT", "退订。"]
)
def test_stop_in_any_form_opts_the_number_and_the_customer_out_of_every_channel(
    sent_invitation, reply, post_interaction, word
):
    invitation = sent_invitation(email="li@example.cn")
    answer = said(reply(word))
    assert "退订" in answer
    db.session.refresh(invitation)
    assert invitation.sms_question_key is None
    methods = db.session.scalars(sa.select(OptOut.method).where(OptOut.revoked_at.is_(None))).all()
    assert methods and set(methods) == {"keyword"}
    # A later interaction of the same customer is not surveyed, on any channel.
    clock.unfreeze()
    later = post_interaction(
        {
            **_body("CALL-2"),
            "customer": {"external_id": "C-1", "phone": HK_PHONE, "email": "li@example.cn"},
        }
    ).get_json()
    assert later["invitation"] is None and later["suppression_reason"] == "opted_out"


def _body(external_id: str) -> dict:
    from tests.fixtures.dispatch import interaction_body

    return interaction_body(external_id=external_id)


def test_start_opts_a_stopped_number_back_in(sent_invitation, reply):
    sent_invitation(locale="en")
    assert "Reply START to opt back in" in said(reply("STOP"))
    assert "You will get our satisfaction surveys again" in said(reply("start"))
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(OptOut).where(OptOut.revoked_at.is_(None))
        )
        == 0
    )


def test_yes_is_an_answer_unless_the_number_is_opted_out(sent_invitation, reply, app):
    from survey.designer.service import create_from_starter, publish
    from survey.designer.starters import POST_INTERACTION

    invitation = sent_invitation(locale="en")
    # A yes/no question awaits the reply: YES answers it, it opts nothing in.
    question = invitation.version.questions[0]
    question.kind = "yes_no"
    db.session.commit()
    assert "(2/6)" in said(reply("YES"))
    assert _answers(invitation) == {"attitude": 1}
    del create_from_starter, publish, POST_INTERACTION


def test_help_says_who_we_are_and_how_to_stop(sent_invitation, reply):
    sent_invitation(locale="en")
    text = said(reply("HELP"))
    assert "Example Bank" in text and "STOP" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OptOut)) == 0


def test_a_repeated_message_sid_changes_nothing_and_gets_the_same_answer(sent_invitation, reply):
    invitation = sent_invitation()
    sid = twilio_sid("SM")
    first = said(reply("5", sid=sid))
    again = said(reply("5", sid=sid))
    assert first == again and "(2/6)" in first
    db.session.refresh(invitation)
    assert invitation.sms_question_key == "wait_time"
    assert _answers(invitation) == {"attitude": 5}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundEvent)) == 1


def test_a_reply_from_a_number_with_no_survey_gets_a_polite_answer(client, reply, app):
    text = said(reply("5", sender="+85290000000"))
    assert "We found no survey" in text or "没有找到" in text


def test_a_reply_after_the_survey_was_finished_on_the_web_says_so(sent_invitation, reply, client):
    invitation = sent_invitation()
    said(reply("5"))
    form = {f"q_{k}": "4" for k in ("attitude", "wait_time", "products", "overall")}
    form["q_nps"] = "8"
    assert client.post(f"/s/{invitation.token}", data=form).status_code == 200
    assert "您已完成" in said(reply("4"))


def test_a_reply_after_the_link_expired_says_the_survey_closed(sent_invitation, reply):
    from datetime import timedelta

    sent_invitation(locale="en")
    clock.advance(timedelta(hours=100))
    assert "closed" in said(reply("5"))


def test_the_most_recent_waiting_invitation_takes_the_reply(sent_invitation, reply, app):
    from survey import settings

    settings.put("frequency_window_days", 1)
    db.session.commit()
    older = sent_invitation(external_id="CALL-A", customer_id="C-A")
    # Two records share the number; the second is asked two days later, the first still open.
    newer = sent_invitation(external_id="CALL-B", customer_id="C-B", day=2)
    said(reply("2"))
    assert _answers(newer) == {"attitude": 2}
    assert _answers(older) == {}


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "5\x00",
        "a" * 10_000,
        "😀" * 50,
        "<Response><Hangup/></Response>",
        "\u202e5",
        "5\x07",
    ],
    ids=["nul", "digit-nul", "10k", "emoji", "xml", "bidi", "bell"],
)
def test_hostile_text_gets_a_clear_twiml_answer_never_a_500(sent_invitation, reply, text):
    sent_invitation()
    answer = reply(text)
    assert answer.status_code == 200
    assert said(answer).startswith("【示例银行】")
