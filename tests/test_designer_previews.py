"""Channel previews show what each channel sends, with its cost, and warn before publishing."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import force_locale

from survey.channels import scripts, segments
from survey.designer import checks, service
from survey.extensions import db
from survey.models import OutboxMessage


def _segments_shown(page: str, mode: str) -> int:
    section = page.split(f'id="sms-{mode}"', 1)[1]
    return int(re.search(r'class="total-segments" data-segments="(\d+)"', section).group(1))


def test_two_way_sms_sends_each_question_signed_first_and_ending_with_how_to_stop(make_survey):
    survey = make_survey("complaint_resolution")
    version = survey.versions[0]
    messages = scripts.two_way_messages(version, "zh")
    sms_questions = scripts.sms_questions(version)
    assert len(messages) == len(sms_questions) + 1  # and the thanks
    assert all(m.startswith("【示例银行】") and m.endswith(" 回复TD退订") for m in messages)
    assert "是请回复1，否请回复2。" in messages[0]
    english = scripts.two_way_messages(version, "en")
    assert all(m.startswith("[Example Bank] ") for m in english)
    assert all(m.endswith(" Reply STOP to opt out") for m in english)


def test_two_way_and_link_sms_put_the_signature_and_stop_text_in_the_same_places(make_survey):
    version = make_survey("post_interaction").versions[0]
    for lang in ("zh", "en"):
        two_way, link, _mainland = checks.sms_previews(version, lang)
        first_question, link_text = two_way.messages[0].text, link.messages[0].text
        signature = "【示例银行】" if lang == "zh" else "[Example Bank]"
        stop = "回复TD退订" if lang == "zh" else "Reply STOP to opt out"
        for text in (first_question, link_text):
            assert text.startswith(signature) and text.endswith(" " + stop)
            assert text.count(signature) == 1 and text.count(stop) == 1


def test_preview_counts_segments_per_message_and_for_the_whole_survey(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    version = survey.versions[0]
    page = manager_client.get(f"/designer/surveys/{survey.id}/preview?in=zh").get_data(as_text=True)
    expected = sum(segments.count(m).segments for m in scripts.two_way_messages(version, "zh"))
    assert _segments_shown(page, "two_way") == expected
    link = checks.sms_previews(version, "zh")[1]
    assert _segments_shown(page, "link") == link.total_segments
    assert link.messages[0].count.encoding == "UCS-2"
    assert "回复TD退订" in link.messages[0].text and "/s/" in link.messages[0].text
    mainland = checks.sms_previews(version, "zh")[2]
    # 141 UCS-2 units with the anti-fraud line: three segments of 67 (two held 134).
    assert _segments_shown(page, "link_mainland") == mainland.total_segments == 3
    assert "退订：http://survey.test/u/" in mainland.messages[0].text


def test_english_preview_of_an_english_survey_is_cheaper_than_chinese(manager_client, make_survey):
    survey = make_survey("post_interaction")
    zh = checks.sms_previews(survey.versions[0], "zh")[0]
    en = checks.sms_previews(survey.versions[0], "en")[0]
    assert all(m.count.encoding == "UCS-2" for m in zh.messages)
    assert all(m.count.encoding == "GSM-7" for m in en.messages)


def test_voice_script_says_how_to_key_an_nps_score(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    page = manager_client.get(f"/designer/surveys/{survey.id}/preview?in=en").get_data(as_text=True)
    assert (
        "Enter a score from 0 to 10, then press the hash key. For 10, press 1, 0, then hash."
        in page
    )
    assert "Keypad: up to 3 keys, ending with #" in page
    assert "What is the main reason" not in page.split('id="voice"', 1)[1].split("</section>")[0]


def test_warnings_before_publishing(make_survey):
    survey = make_survey("post_interaction")
    with force_locale("en"):
        found = " ".join(checks.warnings(survey.versions[0]))
    assert "Two-way SMS asks 6 questions" in found
    assert "needs more than one key press on a voice call" in found


def test_a_long_chinese_question_is_warned_about_segments(make_survey):
    survey = make_survey("relationship_nps")
    version = survey.versions[0]
    version.questions[0].text_zh = "请问" * 80
    with force_locale("en"):
        found = " ".join(checks.warnings(version))
    assert "Two-way SMS 1 in Chinese needs" in found


def test_adding_a_chinese_question_raises_the_segment_count(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    before = _segments_shown(
        manager_client.get(f"/designer/surveys/{survey.id}/preview?in=en").get_data(as_text=True),
        "two_way",
    )
    version = survey.versions[0]
    service.save_question(
        version,
        version.lock_version,
        {
            "kind": "rating_5",
            "dimension": "overall",
            "text_zh": "您满意吗？",
            "text_en": "满意吗 OK?",
            "required": True,
            "ask_web": True,
            "ask_sms": True,
            "ask_voice": True,
            "condition": None,
            "choices": [],
        },
    )
    db.session.commit()
    after = _segments_shown(
        manager_client.get(f"/designer/surveys/{survey.id}/preview?in=en").get_data(as_text=True),
        "two_way",
    )
    assert after > before


def test_web_preview_renders_the_customers_page_in_the_chosen_language(manager_client, make_survey):
    survey = make_survey("complaint_resolution")
    page = manager_client.get(f"/designer/surveys/{survey.id}/preview/web?in=zh").get_data(
        as_text=True
    )
    assert "投诉处理回访" in page and "您反映的问题是否已经解决？" in page


def test_test_send_writes_the_email_and_sms_to_the_outbox(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/test-send",
        data={"email": "manager@bank.example", "phone": "+8613800138000", "lang": "zh"},
    )
    assert response.status_code == 302
    rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.channel for r in rows][0] == "email"
    assert rows[0].to == "manager@bank.example" and rows[0].subject.startswith("【测试】")
    assert {r.to for r in rows[1:]} == {"+8613800138000"}
    assert all(r.body.startswith("【示例银行】（测试）") for r in rows[1:])


def test_test_send_refuses_a_number_without_country_code(manager_client, make_survey):
    survey = make_survey("relationship_nps")
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/test-send",
        data={"email": "manager@bank.example", "phone": "13800138000", "lang": "zh"},
    )
    assert response.status_code == 400
    assert "country code" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_the_voice_call_says_what_the_preview_shows(manager_client, make_survey):
    from survey.channels import messages
    from survey.models import Customer, Invitation

    survey = make_survey("relationship_nps")
    version = survey.versions[0]
    invitation = Invitation(token="t" * 43, unsubscribe_token="u" * 43, locale="en")
    invitation.version = version
    invitation.customer = Customer(external_id="C-1", locale="en")
    spoken = messages.render(invitation, "voice", "+8613800138000").body.split("\n")

    page = manager_client.get(f"/designer/surveys/{survey.id}/preview?in=en")
    text = page.get_data(as_text=True)
    assert spoken[0].startswith("Hello, this is Example Bank.")
    assert "For 10, press 1, 0, then hash." in spoken[1]
    for line in spoken:
        assert line.replace("'", "&#39;") in text


def test_a_test_send_goes_by_real_e_mail_when_smtp_is_configured(
    app, manager_client, make_survey, smtp_server
):
    app.config.update(SURVEY_SMTP_URL=smtp_server.url, SURVEY_MAIL_FROM="survey@bank.example")
    survey = make_survey("relationship_nps")
    response = manager_client.post(
        f"/designer/surveys/{survey.id}/test-send?lang=en",
        data={"email": "manager@bank.example", "phone": "", "lang": "en"},
        follow_redirects=True,
    )
    assert "1 test messages were sent to you for real" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    (mail,) = smtp_server.handler.messages()
    assert mail["To"] == "manager@bank.example" and mail["Subject"].startswith("[TEST] ")


def test_a_test_send_the_mail_server_refuses_says_why(app, manager_client, make_survey):
    from tests.fixtures.smtp import free_port

    app.config.update(SURVEY_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    survey = make_survey("relationship_nps")
    page = manager_client.post(
        f"/designer/surveys/{survey.id}/test-send?lang=en",
        data={"email": "manager@bank.example", "phone": "", "lang": "en"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "A test message could not be sent: email manager@bank.example" in page
