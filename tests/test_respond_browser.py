"""The customer's survey in a real browser: a question a screen on a phone, by keyboard, no script."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey.designer.service import create_from_starter, publish
from survey.extensions import db as the_db
from survey.models import Answer, Invitation, Response
from tests.fixtures.browser import PHONE, assert_accessible, screenshot
from tests.test_respond import CONDITIONAL

pytestmark = pytest.mark.browser


def _fits(page, width: int = 390) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"


def _stored(invitation: Invitation) -> dict[str, object]:
    the_db.session.expire_all()
    rows = the_db.session.scalars(
        sa.select(Answer).join(Response).where(Response.invitation_id == invitation.id)
    )
    return {a.question.key: a.value_int if a.value_int is not None else a.value_text for a in rows}


def _completed(invitation: Invitation) -> bool:
    the_db.session.expire_all()
    return the_db.session.get(Invitation, invitation.id).state == "completed"


def _tap(page, key: str, value: str) -> None:
    page.locator(f"#q_{key} label.opt").filter(has=page.locator(f"input[value='{value}']")).click()


def test_a_customer_saves_an_email_rating_with_one_tap_and_answers_the_rest_on_a_phone(
    db, live_server, phone_page, invite
):
    invitation = invite(locale="en")
    page = phone_page
    page.goto(f"{live_server}/s/{invitation.token}?score=5")
    _fits(page)
    assert page.locator("input[name=q_attitude][value='5']").is_checked()
    sizes = page.eval_on_selector_all(
        "label.opt span", "spans => spans.map(s => [s.offsetWidth, s.offsetHeight])"
    )
    assert len(sizes) == 5 and min(min(w, h) for w, h in sizes) >= 44
    # English: the machines that take the README's screenshots may have no Chinese font.
    screenshot(page, "respond-one-click-phone")
    assert _stored(invitation) == {}, "opening the link records nothing"

    page.get_by_role("button", name="Save my rating").click()
    page.wait_for_selector("text=your rating is saved")
    assert _stored(invitation) == {"attitude": 5} and not _completed(invitation)
    assert "2 / 7" in page.content()
    _tap(page, "wait_time", "4")
    page.get_by_role("button", name="Next").click()
    _tap(page, "products", "3")
    page.get_by_role("button", name="Next").click()
    page.wait_for_selector("text=4 / 7")
    _fits(page)
    screenshot(page, "respond-survey-phone")  # mid-survey, with the answers so far
    page.get_by_role("button", name="Next").click()  # the optional complaint question
    _tap(page, "overall", "4")
    page.get_by_role("button", name="Next").click()
    _tap(page, "nps", "9")
    page.get_by_role("button", name="Next").click()
    page.locator("textarea[name=q_comment]").fill("Quick and kind")
    _fits(page)
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector("text=We read every comment.")
    _fits(page)
    assert_accessible(page, "thank you (en, phone)")
    screenshot(page, "respond-thank-you-phone")
    assert _completed(invitation)
    assert _stored(invitation) == {
        "attitude": 5,
        "wait_time": 4,
        "products": 3,
        "overall": 4,
        "nps": 9,
        "comment": "Quick and kind",
    }
    assert page.context.cookies() == []  # the customer's link needs no cookie, and sets none


def test_leaving_mid_survey_and_opening_the_link_again_resumes_there(
    db, live_server, phone_page, invite
):
    invitation = invite(locale="zh")
    page = phone_page
    page.goto(f"{live_server}/s/{invitation.token}")
    _tap(page, "attitude", "2")
    page.get_by_role("button", name="下一题").click()
    page.wait_for_selector("text=第 2 题，共 7 题")
    page.goto("about:blank")  # they leave
    page.goto(f"{live_server}/s/{invitation.token}")
    assert page.locator("input[name=step]").get_attribute("value") == "wait_time"
    answered = page.locator("section.answered")
    assert "您对客服人员的服务态度满意吗？" in answered.inner_text()
    answered.get_by_role("link", name="修改").click()  # change it before finishing
    assert page.locator("input[name=q_attitude][value='2']").is_checked()
    _tap(page, "attitude", "4")
    page.get_by_role("button", name="下一题").click()
    page.wait_for_selector("text=第 2 题，共 7 题")
    assert _stored(invitation) == {"attitude": 4}


def test_a_follow_up_question_is_asked_only_after_a_low_rating(db, live_server, phone_page, invite):
    survey = create_from_starter(CONDITIONAL)
    db.session.flush()
    version = publish(survey.versions[0])
    db.session.commit()
    invitation = invite(locale="en", version=version)
    page = phone_page
    page.goto(f"{live_server}/s/{invitation.token}")
    assert "1 / 3" in page.content()
    _tap(page, "overall", "2")
    page.get_by_role("button", name="Next").click()
    page.wait_for_selector("#q_why")
    assert "2 / 4" in page.content()
    page.get_by_role("button", name="Back").click()
    _tap(page, "overall", "5")
    page.get_by_role("button", name="Next").click()
    page.wait_for_selector("#q_branch")
    assert "2 / 3" in page.content()


def _tab_to(page, test: str, limit: int = 40) -> None:
    """Press Tab until the focused element passes a JavaScript test of ``el``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!({test}); }})()"):
            return
    pytest.fail(f"Tab never reached an element where {test}")


def test_a_customer_finishes_the_survey_with_the_keyboard_only(
    db, live_server, desktop_page, invite
):
    invitation = invite(locale="en")
    page = desktop_page
    page.goto(f"{live_server}/s/{invitation.token}")
    ratings = {"attitude": 3, "wait_time": 4, "products": 5, "overall": 4, "nps": 8}
    for key in ("attitude", "wait_time", "products", "complaint_handling", "overall", "nps"):
        if key in ratings:
            _tab_to(page, f"el.name === 'q_{key}'")
            page.keyboard.press("Space")  # the first button of the scale
            for _ in range(ratings[key] - int(page.evaluate("document.activeElement.value"))):
                page.keyboard.press("ArrowRight")  # moves the choice along the scale
            assert page.locator(f"input[name=q_{key}][value='{ratings[key]}']").is_checked()
            with page.expect_navigation():
                page.keyboard.press("Enter")  # sends the form, forward
        else:
            _tab_to(page, "el.tagName === 'BUTTON' && el.value === 'next'")
            with page.expect_navigation():
                page.keyboard.press("Enter")
    _tab_to(page, "el.name === 'q_comment'")
    page.keyboard.type("Quick and kind")
    _tab_to(page, "el.tagName === 'BUTTON' && el.value === 'next'")
    page.keyboard.press("Space")
    page.wait_for_selector("text=We read every comment.")
    assert _completed(invitation)
    assert _stored(invitation) == {**ratings, "comment": "Quick and kind"}


def test_the_survey_is_answered_in_a_browser_without_javascript(db, chromium, live_server, invite):
    invitation = invite(locale="en")
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    context.set_default_timeout(15000)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/s/{invitation.token}?score=2")
        page.get_by_role("button", name="Save my rating").click()
        page.wait_for_selector("text=your rating is saved")
        for key, value in (("wait_time", "1"), ("products", "3")):
            _tap(page, key, value)
            page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name="Next").click()  # skips the optional question
        for key, value in (("overall", "2"), ("nps", "5")):
            _tap(page, key, value)
            page.get_by_role("button", name="Next").click()
        # The click only starts the navigation: wait for the last step's page
        # before measuring it (CI once measured a document still being replaced).
        page.get_by_role("button", name="Send").wait_for()
        _fits(page)
        page.get_by_role("button", name="Send").click()
        # Overall 2 meets a follow-up rule: the last step asks whether we may call.
        page.wait_for_selector("text=May we call you about this?")
        _fits(page)
        page.get_by_label("No, please do not call").check()
        page.get_by_role("button", name="Send").click()
        page.wait_for_selector("text=We read every comment.")
    finally:
        context.close()
    assert _completed(invitation)
    assert _stored(invitation) == {
        "attitude": 2,
        "wait_time": 1,
        "products": 3,
        "overall": 2,
        "nps": 5,
    }
