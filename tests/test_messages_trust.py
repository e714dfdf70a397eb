"""Every survey message says what the bank never asks, in the customer's language, naming the bank.

What arrived is read where it arrived: the SMS bodies Twilio's contract mock (Prism) took,
the e-mails a real SMTP server received (both MIME parts), the TwiML a call is answered with.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from survey import clock, settings
from survey.channels import scripts, segments
from survey.dispatch import pace, sending
from survey.extensions import db
from survey.models import Invitation
from tests.fixtures.dispatch import interaction_body, sweep_at
from tests.fixtures.webhooks import HK_PHONE

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, inside allowed hours
BANKS = {"zh": "星河银行", "en": "Galaxy Bank"}
# The words themselves, written out: a test that read them from the code could not fail.
TRUST = {
    "zh": "星河银行不会在调查中索取密码、验证码或银行卡号。",
    "en": "Galaxy Bank never asks for passwords, verification codes or card numbers in a survey.",
}
TRUST_SMS = {
    "zh": "星河银行不会索取密码、验证码或卡号。",
    "en": "Galaxy Bank never asks for passwords, codes or card numbers.",
}
PHONES = {"mainland": "+8613800138000", "abroad": "+447700900123", "two_way": HK_PHONE}


@pytest.fixture
def app_config(twilio_api):
    """SMS and calls go through the proxy in front of Prism; pacing on, as in production."""
    return {**twilio_api.app_config, "SURVEY_PACE_SENDS": True}


@pytest.fixture
def bank(db):
    """The bank's names as the admin set them (not the defaults)."""
    settings.put("bank_name_zh", BANKS["zh"])
    settings.put("bank_name_en", BANKS["en"])
    settings.put("sms_segments_per_second", 0)  # no waiting for the sender's turn
    db.session.commit()


@pytest.fixture
def invited(post_interaction, make_org, make_default_rule, bank):
    """Post one interaction for a customer reached on one channel; return its invitation."""
    made: dict = {}

    def make(lang: str, channel: str, sms_mode: str = "link", **customer) -> Invitation:
        if "rule" not in made:
            make_org()
            made["rule"] = make_default_rule(
                channels=[channel], sms_mode=sms_mode, reminder_hours=24
            )
        clock.freeze(NOW)
        who = {"external_id": f"C-{lang}-{len(made)}", "locale": lang, **customer}
        body = interaction_body(external_id=f"CALL-{lang}-{len(made)}", customer=who)
        made[body["external_id"]] = True
        answer = post_interaction(body).get_json()
        return db.session.get_one(Invitation, answer["invitation"]["id"])

    return make


def _bodies(twilio_api) -> list[str]:
    return [e.value("Body") for e in twilio_api.sent("/Messages.json")]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("route", ["mainland", "abroad", "two_way"])
def test_every_survey_sms_and_its_reminder_say_what_the_bank_never_asks(
    invited, twilio_api, lang, route
):
    invitation = invited(
        lang, "sms", sms_mode="two_way" if route == "two_way" else "link", phone=PHONES[route]
    )
    assert sending.send_invitation(invitation.id) == "sent"
    sweep_at(NOW + timedelta(hours=24))  # the reminder
    invitation_sms, reminder_sms = _bodies(twilio_api)
    for body in (invitation_sms, reminder_sms):
        assert TRUST_SMS[lang] in body, body
        # Said before how to stop, which stays last.
        stop = ("退订" if lang == "zh" else "Opt out") if route == "mainland" else None
        stop = stop or ("回复TD退订" if lang == "zh" else "Reply STOP to opt out")
        assert body.index(TRUST_SMS[lang]) < body.rindex(stop)
    assert invitation.token in reminder_sms  # a reminder is always a link
    assert (invitation.token in invitation_sms) is (route != "two_way")


def test_the_pace_charges_the_segments_of_the_sms_with_its_trust_line(
    invited, twilio_api, monkeypatch
):
    settings.put("sms_segments_per_second", 100.0)
    db.session.commit()
    reserved: list[int] = []
    real = pace.reserve

    def spy(sender, channel, cost, max_wait):
        reserved.append(cost)
        return real(sender, channel, cost, max_wait)

    monkeypatch.setattr(pace, "reserve", spy)
    chinese = invited("zh", "sms", phone=PHONES["mainland"])
    english = invited("en", "sms", phone=PHONES["abroad"])
    assert sending.send_invitation(chinese.id) == "sent"
    assert sending.send_invitation(english.id) == "sent"
    zh_body, en_body = _bodies(twilio_api)
    assert TRUST_SMS["zh"] in zh_body and TRUST_SMS["en"] in en_body
    # Counted by hand: Chinese is UCS-2, 67 units a segment once split; English GSM-7, 153.
    assert len(zh_body) > 70 and all(ord(c) < 0x10000 for c in zh_body)
    assert en_body.isascii() and len(en_body) > 160
    assert reserved == [math.ceil(len(zh_body) / 67), math.ceil(len(en_body) / 153)]
    assert reserved == [segments.count(zh_body).segments, segments.count(en_body).segments]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_survey_email_says_it_in_html_and_text_naming_the_bank(
    app, invited, smtp_server, lang
):
    app.config.update(SURVEY_SMTP_URL=smtp_server.url, SURVEY_MAIL_FROM="survey@bank.example")
    invitation = invited(lang, "email", email="li@example.cn")
    assert sending.send_invitation(invitation.id) == "sent"
    sweep_at(NOW + timedelta(hours=24))  # the reminder
    mails = smtp_server.handler.messages()
    assert len(mails) == 2
    for mail in mails:
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert TRUST[lang] in text, text
        assert f">{TRUST[lang]}<" in html, html
    assert mails[1]["Subject"].startswith("提醒：" if lang == "zh" else "Reminder: ")


@pytest.mark.parametrize(("lang", "voice"), [("zh", "cmn-CN"), ("en", "en-US")])
def test_the_calls_introduction_says_it_before_the_first_question(
    invited, twilio_api, twilio_post, lang, voice
):
    invitation = invited(lang, "voice", phone=PHONES["abroad"])
    assert sending.send_invitation(invitation.id) == "sent"
    db.session.refresh(invitation)
    answer = twilio_post(
        f"/webhooks/twilio/voice/{invitation.id}",
        CallSid=invitation.deliveries[-1].provider_id,
        AnsweredBy="human",
        CallStatus="in-progress",
    )
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    root = ET.fromstring(answer.get_data())
    says = list(root.iter("Say"))
    assert says and all(s.get("language") == voice for s in says)
    spoken = " ".join(s.text or "" for s in says)
    question = scripts.voice_questions(invitation.version)[0].text(lang)
    assert TRUST[lang] in spoken, spoken
    assert spoken.index(BANKS[lang]) < spoken.index(TRUST[lang]) < spoken.index(question)
