"""Consent to be called back, asked in the completing step on every channel (issue 13).

A response that meets a follow-up rule (default: overall ≤ 2, NPS ≤ 3, complaint
handling ≤ 2, or a keyword) is asked "may we call you?" as its last step: on the web a
last page, by two-way SMS a last question, on a call a last key press. Yes opens a case
in the transaction that completes the response; no, no answer, or never being asked
records why no case opened. Never twice for one response.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.channels import scripts
from survey.extensions import db
from survey.followup import cases
from survey.models import FollowUpCase, Response
from survey.responses import partials
from tests.fixtures.dispatch import sweep_at
from tests.test_respond_steps import step
from tests.test_webhooks_voice import call, spoken  # noqa: F401  (the call fixture)

# The post-interaction starter by the web: an unhappy customer (overall 1, NPS 2).
UNHAPPY = [
    ("attitude", "2"),
    ("wait_time", "2"),
    ("products", "3"),
    ("complaint_handling", ""),
    ("overall", "1"),
    ("nps", "2"),
    ("comment", "等了很久"),
]
HAPPY = [(k, {"overall": "5", "nps": "9"}.get(k, v)) for k, v in UNHAPPY]


def _response(invitation) -> Response:
    db.session.expire_all()
    return db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))


def _cases() -> list[FollowUpCase]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(FollowUpCase)))


def _answer_all(client, invitation, answers) -> object:
    last = None
    for key, value in answers:
        last = step(client, invitation, key, value)
    return last


@pytest.fixture
def app_config(webhook_config):
    return webhook_config


# -- the web ------------------------------------------------------------------------------


def test_web_an_unhappy_customer_gets_the_consent_step_and_yes_opens_a_case(client, invite):
    invitation = invite(locale="en")
    last = _answer_all(client, invitation, UNHAPPY)
    assert last.status_code == 303 and "q=followup-consent" in last.headers["Location"]
    assert _response(invitation).state == "partial"  # not completed before the answer
    page = client.get(last.headers["Location"]).get_data(as_text=True)
    assert "May we call you about this?" in page

    done = client.post(
        f"/s/{invitation.token}?lang=en",
        data={"step": "followup-consent", "consent": "yes", "go": "next"},
    )
    assert done.status_code == 200 and "Thank you" in done.get_data(as_text=True)
    response = _response(invitation)
    assert response.state == "completed" and response.followup_consent is True
    assert response.followup_no_case_reason is None
    [case] = _cases()
    assert case.response_id == response.id and case.state == "open"
    assert case.triggers == ["overall", "nps"]


def test_web_no_records_declined_and_opens_no_case(client, invite):
    invitation = invite(locale="en")
    _answer_all(client, invitation, UNHAPPY)
    client.post(
        f"/s/{invitation.token}?lang=en",
        data={"step": "followup-consent", "consent": "no", "go": "next"},
    )
    response = _response(invitation)
    assert response.state == "completed" and response.followup_consent is False
    assert response.followup_no_case_reason == "declined"
    assert _cases() == []


def test_web_the_consent_step_must_be_answered_and_a_bad_value_changes_nothing(client, invite):
    invitation = invite(locale="zh")
    _answer_all(client, invitation, UNHAPPY)
    refused = client.post(
        f"/s/{invitation.token}?lang=zh",
        data={"step": "followup-consent", "consent": "maybe", "go": "next"},
    )
    assert refused.status_code == 400
    assert "我们可以就此致电与您联系吗" in refused.get_data(as_text=True)
    assert _response(invitation).state == "partial" and _cases() == []


def test_web_a_happy_customer_is_never_asked_and_completes_at_the_last_question(client, invite):
    invitation = invite(locale="en")
    last = _answer_all(client, invitation, HAPPY)
    assert last.status_code == 200 and "Thank you" in last.get_data(as_text=True)
    response = _response(invitation)
    assert response.state == "completed"
    assert response.followup_asked_at is None and response.followup_no_case_reason is None
    assert client.get(f"/s/{invitation.token}?q=followup-consent").status_code == 200
    assert _cases() == []


def _one_post(client, invitation, answers, **extra):
    """Every answer in one post, as the whole-form page (or another tool) sends it."""
    data = {f"q_{key}": value for key, value in answers} | extra
    return client.post(f"/s/{invitation.token}?lang=en", data=data)


def test_web_a_whole_form_post_that_meets_a_rule_is_asked_consent_before_it_completes(
    client, invite
):
    invitation = invite(locale="en")
    asked = _one_post(client, invitation, UNHAPPY)
    assert asked.status_code == 303 and "q=followup-consent" in asked.headers["Location"]
    response = _response(invitation)
    assert response.state == "partial" and response.followup_asked_at is not None
    assert len(response.answers) == 6  # every answer given was kept (the blank one was not)
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "May we call you about this?" in page

    client.post(
        f"/s/{invitation.token}?lang=en",
        data={"step": "followup-consent", "consent": "yes", "go": "next"},
    )
    response = _response(invitation)
    assert response.state == "completed" and response.followup_consent is True
    assert [case.response_id for case in _cases()] == [response.id]


def test_web_a_whole_form_post_that_answers_consent_itself_completes_at_once(client, invite):
    invitation = invite(locale="en")
    done = _one_post(client, invitation, UNHAPPY, consent="no")
    assert done.status_code == 200 and "Thank you" in done.get_data(as_text=True)
    response = _response(invitation)
    assert response.state == "completed" and response.followup_no_case_reason == "declined"
    assert _cases() == []


def test_web_a_happy_whole_form_post_completes_without_being_asked(client, invite):
    invitation = invite(locale="en")
    done = _one_post(client, invitation, HAPPY)
    assert done.status_code == 200 and "Thank you" in done.get_data(as_text=True)
    response = _response(invitation)
    assert response.state == "completed" and response.followup_asked_at is None


def test_web_a_keyword_in_the_comment_meets_the_rule(client, invite):
    settings.put("followup_keywords", ["销户"])
    db.session.commit()
    invitation = invite(locale="zh")
    answers = [(k, "我要销户" if k == "comment" else v) for k, v in HAPPY]
    last = _answer_all(client, invitation, answers)
    assert "q=followup-consent" in last.headers["Location"]
    client.post(
        f"/s/{invitation.token}?lang=zh",
        data={"step": "followup-consent", "consent": "yes", "go": "next"},
    )
    [case] = _cases()
    assert case.triggers == ["keyword"]


# -- two-way SMS --------------------------------------------------------------------------


def said(answer) -> str:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    messages = ET.fromstring(answer.get_data()).findall("Message")
    return messages[0].text if messages else ""


SMS_UNHAPPY = ["2", "2", "3", "跳过", "1"]  # then NPS


def test_sms_the_last_question_is_consent_and_1_opens_a_case(sent_invitation, reply):
    invitation = sent_invitation(locale="en")
    for text in SMS_UNHAPPY:
        said(reply(text))
    asked = said(reply("2"))
    assert "May we call you about this? Reply 1 for yes, 2 for no." in asked
    assert _response(invitation).state == "partial"
    thanks = said(reply("1"))
    assert "Thank you" in thanks
    response = _response(invitation)
    assert response.state == "completed" and response.followup_consent is True
    [case] = _cases()
    assert case.response_id == response.id


def test_sms_a_bad_consent_reply_is_asked_again_in_the_customers_language(sent_invitation, reply):
    sent_invitation(locale="zh")
    for text in SMS_UNHAPPY:
        said(reply(text))
    said(reply("2"))
    again = said(reply("也许吧"))
    assert again.startswith("【示例银行】") and "同意请回复1，不同意请回复2" in again
    assert "抱歉" in again and _cases() == []
    said(reply("2"))
    assert _response_reason() == "declined" and _cases() == []


def test_sms_consent_asked_and_never_answered_closes_as_unanswered(sent_invitation, reply):
    invitation = sent_invitation()
    sent = clock.now()
    for text in [*SMS_UNHAPPY, "2"]:
        said(reply(text))
    sweep_at(sent + timedelta(hours=25))
    response = _response(invitation)
    assert response.state == "closed_partial"
    assert response.followup_no_case_reason == "unanswered" and _cases() == []


def _response_reason() -> str | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Response.followup_no_case_reason))


# -- voice --------------------------------------------------------------------------------


def test_voice_press_1_if_we_may_call_opens_a_case(sent_invitation, call):  # noqa: F811
    invitation = sent_invitation(channels=("voice",), locale="en")
    c = call(invitation)
    for digits in ("2", "2", "3"):
        c.press(digits)
    c.press("", finished_on_key="#")  # complaint handling, skipped
    c.press("1")  # overall
    asked = c.press("2", finished_on_key="#")  # NPS
    assert "Press 1 if we may call you about this" in spoken(asked)
    assert asked.find("Hangup") is None
    end = c.press("1")
    assert end.find("Hangup") is not None and "Thank you" in spoken(end)
    response = _response(invitation)
    assert response.state == "completed" and response.followup_consent is True
    assert len(_cases()) == 1


def test_voice_a_wrong_key_asks_again_then_no_answer_opens_no_case(sent_invitation, call):  # noqa: F811
    invitation = sent_invitation(channels=("voice",), locale="zh")
    c = call(invitation)
    for digits in ("2", "2", "3"):
        c.press(digits)
    c.press("", finished_on_key="#")
    c.press("1")
    c.press("2", finished_on_key="#")
    again = c.press("7")
    assert "抱歉" in spoken(again) and scripts.voice_reply("consent", "zh") in spoken(again)
    end = c.press("")  # silence the second time: the call ends, the answers count
    assert end.find("Hangup") is not None
    response = _response(invitation)
    assert response.state == "completed" and response.followup_consent is None
    assert response.followup_no_case_reason == "unanswered" and _cases() == []


def test_voice_press_2_declines(sent_invitation, call):  # noqa: F811
    invitation = sent_invitation(channels=("voice",), locale="en")
    c = call(invitation)
    for digits in ("1", "1", "1"):
        c.press(digits)
    c.press("1")  # complaint handling 1
    c.press("4")  # overall fine
    c.press("9", finished_on_key="#")
    c.press("2")
    response = _response(invitation)
    assert response.followup_consent is False and response.followup_no_case_reason == "declined"
    assert _cases() == []


# -- partials and never twice --------------------------------------------------------------


def test_a_link_partial_that_meets_a_rule_closes_as_not_asked(client, invite):
    invitation = invite(locale="en")
    step(client, invitation, "attitude", "1")
    step(client, invitation, "wait_time", "1")
    step(client, invitation, "products", "1")
    step(client, invitation, "complaint_handling", "1")  # complaint handling 1: a rule met
    sweep_at(clock.now() + timedelta(hours=25))
    response = _response(invitation)
    assert response.state == "closed_partial"
    assert response.followup_no_case_reason == "not_asked" and _cases() == []


def test_a_case_never_opens_twice_for_one_response(client, invite):
    invitation = invite(locale="en")
    _answer_all(client, invitation, UNHAPPY)
    for _ in range(2):
        client.post(
            f"/s/{invitation.token}?lang=en",
            data={"step": "followup-consent", "consent": "yes", "go": "next"},
        )
    assert len(_cases()) == 1
    response = _response(invitation)
    assert cases.open_case(response, ["overall"], clock.now()).id == _cases()[0].id
    assert partials.close(response.id) is False  # counted already: nothing more happens
    assert len(_cases()) == 1
