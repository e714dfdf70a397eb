"""The customer's survey page in a real browser on a phone: it fits, taps work, answers arrive."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey.designer.service import create_from_starter, publish
from survey.models import Response
from tests.fixtures.browser import screenshot
from tests.test_respond import CONDITIONAL

pytestmark = pytest.mark.browser


def test_a_customer_answers_the_survey_on_a_phone(db, live_server, phone_page, invite):
    invitation = invite(locale="zh")
    page = phone_page
    page.goto(f"{live_server}/s/{invitation.token}?score=5")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    # Every rating button is a comfortable tap target, 0–10 included.
    sizes = page.eval_on_selector_all(
        "label.opt span", "spans => spans.map(s => [s.offsetWidth, s.offsetHeight])"
    )
    assert len(sizes) == 5 * 5 + 11
    assert min(w for w, _h in sizes) >= 44 and min(h for _w, h in sizes) >= 44
    assert page.locator("input[name=q_attitude][value='5']").is_checked()
    screenshot(page, "respond-survey-phone")
    for key, value in (("wait_time", 4), ("products", 3), ("overall", 4), ("nps", 9)):
        page.locator(f"#q_{key} label.opt", has_text=str(value)).first.click()
    page.locator("button.send").click()
    page.wait_for_selector("h1")
    assert "感谢您的反馈" in page.content()
    response = db.session.scalar(sa.select(Response))
    assert {a.question.key: a.value_int for a in response.answers}["nps"] == 9
    assert page.context.cookies() == []  # the customer's link needs no cookie, and sets none


def test_a_follow_up_question_appears_only_after_a_low_rating(db, live_server, phone_page, invite):
    survey = create_from_starter(CONDITIONAL)
    db.session.flush()
    version = publish(survey.versions[0])
    db.session.commit()
    invitation = invite(locale="en", version=version)
    page = phone_page
    page.goto(f"{live_server}/s/{invitation.token}")
    why = page.locator("#q_why")
    assert not why.is_visible()
    page.locator("#q_overall label.opt", has_text="2").click()
    assert why.is_visible()
    page.locator("#q_overall label.opt", has_text="5").click()
    assert not why.is_visible()
