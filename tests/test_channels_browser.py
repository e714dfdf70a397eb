"""A person with no Twilio account answers surveys from /dev/outbox, in headless Chromium.

Each test plays the admin who plays the customer: reply to an SMS in the outbox,
answer a call key by key on the call page, or click a rating button in the
e-mail the outbox shows, in Chinese (a phone, 390 px) and in English (a
desktop). What the customer would see is asserted on the page; what the bank
keeps is asserted in the database.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from survey import clock
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Invitation, OptOut, OutboxMessage, Response
from tests.fixtures.access import PASSWORD
from tests.fixtures.browser import screenshot
from tests.fixtures.dispatch import interaction_body

pytestmark = pytest.mark.browser

# A Hong Kong number: Twilio can receive its replies, so it gets two-way SMS (+86 gets links).
HK_PHONE = "+85291234567"
THANKS = {
    "zh": "感谢您的反馈！我们会认真阅读每一条意见。",
    "en": "Thank you for your feedback. We read every comment.",
}
# Chinese in zh on a phone-sized, Chinese-speaking browser; English on an English desktop.
BROWSER = {"zh": "phone_page", "en": "desktop_page"}
# What the customer types or presses for attitude, wait_time, products, complaint_handling
# (optional: skipped), overall, nps; and what that records.
SMS_REPLIES = {
    "zh": ("5分", "四", "５", "跳过", "4", "9"),
    "en": ("5", " 4 ", "5", "SKIP", "4", "10"),
}
SMS_ANSWERS = {
    "zh": {"attitude": 5, "wait_time": 4, "products": 5, "overall": 4, "nps": 9},
    "en": {"attitude": 5, "wait_time": 4, "products": 5, "overall": 4, "nps": 10},
}
KEYS = {"zh": ("5", "4", "3", "#", "4", "10#"), "en": ("2", "3", "4", "#", "3", "6#")}
KEY_ANSWERS = {
    "zh": {"attitude": 5, "wait_time": 4, "products": 3, "overall": 4, "nps": 10},
    "en": {"attitude": 2, "wait_time": 3, "products": 4, "overall": 3, "nps": 6},
}


@pytest.fixture
def as_admin(app, make_user, live_server):
    """Sign a browser page in as an admin of the live server; links point at that server."""
    app.config["SURVEY_PUBLIC_URL"] = live_server
    make_user("admin")

    def sign_in(page):
        # Straight on to the outbox: the dashboard, the usual landing page, is slow to draw.
        page.goto(live_server + "/auth/login?next=/dev/outbox")
        page.fill("input[name=email]", "admin@bank.example")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation(url=live_server + "/dev/outbox"):
            page.click("button[type=submit]")
        return page

    return sign_in


@pytest.fixture
def invited(post_interaction, make_org, make_default_rule):
    """Return a factory of invitations sent (to the outbox) by a rule with these channels."""
    make_org()
    sent: list[Invitation] = []

    def send(lang: str, channels: tuple[str, ...], **customer: str) -> Invitation:
        if not sent:
            make_default_rule(channels=list(channels), sms_mode="two_way")
        # Inside allowed hours in Shanghai: quiet hours would otherwise defer the send.
        clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
        body = interaction_body(
            external_id=f"CALL-{len(sent) + 1}",
            customer={"external_id": f"C-{lang}", "name": "王芳", "locale": lang, **customer},
        )
        answer = post_interaction(body).get_json()
        assert answer["invitation"] is not None, answer
        assert sending.send_invitation(answer["invitation"]["id"]) == "sent"
        sent.append(db.session.get(Invitation, answer["invitation"]["id"]))
        return sent[-1]

    return send


def _fits_a_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"


def _reply(page, text: str) -> None:
    """Reply to the newest conversation (the top of the outbox) and wait for it to appear."""
    incoming = page.locator(".message.incoming")
    before = incoming.count()
    form = page.locator("form.reply").first
    form.locator("input[name=body]").fill(text)
    form.locator("button[type=submit]").click()
    expect(incoming).to_have_count(before + 1)


def _press(page, keys: str) -> None:
    """Press keys on the call page's keypad and wait for what the call says next."""
    keypad = page.locator("form.keypad")
    keypad.locator("input[name=digits]").fill(keys)
    with page.expect_navigation():
        keypad.locator("button[type=submit]").click()


def _shows_the_whole_email(page) -> None:
    """The outbox shows the e-mail whole: the five buttons in one row, nothing to scroll to."""
    frame = page.locator("article.mail iframe").first.element_handle().content_frame()
    # The srcdoc frame can be caught mid-layout just after it loads; wait until it has settled.
    frame.wait_for_function(
        """() => {
            const tops = [...document.querySelectorAll("a[href*='score=']")]
                .map(a => Math.round(a.getBoundingClientRect().top));
            return tops.length === 5 && new Set(tops).size === 1;
        }"""
    )
    width, height, inner_width, inner_height = frame.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
        " innerWidth, innerHeight]"
    )
    assert width <= inner_width, f"the e-mail is {width} px wide in a {inner_width} px frame"
    assert height <= inner_height, f"the e-mail is {height} px tall in a {inner_height} px frame"


def _screenshot_with_the_email(page, name: str) -> None:
    """Screenshot a page with an e-mail frame, the whole page in the viewport.

    A full-page capture that must first grow the viewport can catch the sandboxed frame
    before it has painted again (blank or squeezed); a viewport already that tall cannot.
    """
    size = page.viewport_size
    page.set_viewport_size({**size, "height": page.evaluate("document.body.scrollHeight")})
    _shows_the_whole_email(page)
    screenshot(page, name)
    page.set_viewport_size(size)


def _answers(invitation: Invitation) -> tuple[str, dict[str, int | None]]:
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation.id))
    assert response is not None
    return response.survey_channel, {a.question.key: a.value_int for a in response.answers}


def _completed(invitation: Invitation) -> bool:
    db.session.expire_all()
    return db.session.get(Invitation, invitation.id).state == "completed"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_customer_completes_a_two_way_sms_survey_by_replying_in_the_outbox(
    request, lang, as_admin, invited, live_server
):
    invitation = invited(lang, ("sms",), phone=HK_PHONE)
    page = as_admin(request.getfixturevalue(BROWSER[lang]))
    first_question = page.locator(".bubble").first.inner_text()
    assert ("服务态度" if lang == "zh" else "attitude of the staff") in first_question

    for text in SMS_REPLIES[lang]:
        _reply(page, text)

    # One conversation, read top to bottom as on the customer's phone, our thanks last.
    thread = page.locator("li.thread").first
    expect(thread.locator(".bubble").last).to_contain_text(THANKS[lang])
    said = thread.locator(".message.incoming .bubble").all_inner_texts()
    assert [s.strip() for s in said] == [r.strip() for r in SMS_REPLIES[lang]]
    if lang == "zh":
        _fits_a_phone(page)
        screenshot(page, "outbox-sms-conversation-phone")
    assert _completed(invitation)
    assert _answers(invitation) == ("sms", SMS_ANSWERS[lang])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_customer_completes_a_phone_survey_on_the_call_pages_keypad(
    request, lang, as_admin, invited, live_server
):
    invitation = invited(lang, ("voice",), phone=HK_PHONE)
    page = as_admin(request.getfixturevalue(BROWSER[lang]))
    call = page.locator("a[href$='/call']").first
    with page.expect_navigation():
        call.click()
    with page.expect_navigation():
        page.click("button[name=action][value=pick_up]")
    said = page.locator("p.said")
    expect(said.first).to_contain_text("示例银行" if lang == "zh" else "Example Bank")

    for n, keys in enumerate(KEYS[lang]):
        _press(page, keys)
        if n == 1 and lang == "zh":  # mid-call: the third question is being asked
            expect(said.last).to_contain_text("产品种类")
            _fits_a_phone(page)
            screenshot(page, "outbox-call-phone")

    expect(said.last).to_contain_text(THANKS[lang])
    assert page.locator("form.keypad").count() == 0, "the call has hung up"
    assert _completed(invitation)
    assert _answers(invitation) == ("voice", KEY_ANSWERS[lang])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_customer_answers_by_an_emails_rating_button_and_sends_the_rest_on_the_web(
    request, lang, as_admin, invited, live_server
):
    invitation = invited(lang, ("email",), email=f"{lang}@example.cn")
    page = as_admin(request.getfixturevalue(BROWSER[lang]))
    mail = page.frame_locator("article.mail iframe")
    button = mail.locator("a[href*='score=4']")
    expect(button).to_have_text("4")
    _shows_the_whole_email(page)
    if lang == "zh":
        _screenshot_with_the_email(page, "email-rating-buttons")

    with page.context.expect_page() as opened:  # the e-mail's buttons open a new tab
        button.click()
    survey = opened.value
    survey.wait_for_load_state()
    assert f"/s/{invitation.token}?score=4" in survey.url
    assert survey.locator("input[name=q_attitude][value='4']").is_checked()
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0, (
        "opening the link records nothing"
    )

    survey.locator("button.send").click()  # one tap saves the rating, then the rest follows
    expect(survey.locator("input[name=step]")).to_have_value("wait_time")
    assert _answers(invitation) == ("web", {"attitude": 4})
    assert not _completed(invitation)
    for key, value in (("wait_time", 3), ("products", 5), ("complaint_handling", None)):
        if value is not None:
            survey.locator(f"#q_{key} label.opt", has_text=str(value)).click()
        survey.locator("button.send").click()
        expect(survey.locator("input[name=step]")).not_to_have_value(key)
    survey.locator("#q_overall label.opt", has_text="4").click()
    survey.locator("button.send").click()
    survey.locator("#q_nps label.opt").filter(has=survey.locator("input[value='8']")).click()
    survey.locator("button.send").click()
    expect(survey.locator("input[name=step]")).to_have_value("comment")
    survey.locator("button.send").click()
    expect(survey.locator("main")).to_contain_text(THANKS[lang])
    assert _completed(invitation)
    expected = {"attitude": 4, "wait_time": 3, "products": 5, "overall": 4, "nps": 8}
    assert _answers(invitation) == ("web", expected)


def test_stop_typed_as_the_reply_in_the_outbox_stops_every_channel(
    phone_page, as_admin, invited, live_server, post_interaction
):
    invited("zh", ("sms", "voice", "email"), phone=HK_PHONE)
    page = as_admin(phone_page)
    _reply(page, "STOP")
    expect(page.locator("li.thread").first.locator(".bubble").last).to_contain_text("您已退订")

    db.session.expire_all()
    # The customer and their number, which holds for every other record that has it.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OptOut)) == 2
    sent_before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    later = post_interaction(
        interaction_body(
            external_id="CALL-LATER",
            customer={"external_id": "C-zh", "phone": HK_PHONE, "email": "wang@example.cn"},
        )
    ).get_json()
    assert later["invitation"] is None and later["suppression_reason"] == "opted_out"
    page.reload()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == sent_before
    assert page.locator("ol.outbox-list .message").count() == sent_before


def test_the_outbox_its_emails_and_the_call_page_fit_a_phone(
    phone_page, as_admin, invited, live_server
):
    invited("zh", ("voice", "email"), phone=HK_PHONE)
    invited("en", ("voice", "email"), email="long.address.of.a.customer@example.com")
    page = as_admin(phone_page)
    _fits_a_phone(page)
    _shows_the_whole_email(page)  # the English one: longer words, more lines than Chinese
    with page.expect_navigation():
        page.locator("a[href$='/call']").first.click()
    _fits_a_phone(page)
    with page.expect_navigation():
        page.click("button[name=action][value=pick_up]")
    _fits_a_phone(page)
