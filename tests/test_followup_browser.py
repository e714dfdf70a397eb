"""The close-the-loop path in a real browser: an unhappy customer agrees to a call on the
survey's last step, the case appears in the quality team's queue, and a quality user
opens it, adds a note and closes it; at 390 px and 1280 px, in both languages, axe clean,
nothing from another origin, nothing wider than the screen."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import FollowUpCase
from tests.fixtures.access import PASSWORD
from tests.fixtures.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_fits,
    on_our_origin,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

ANSWERS = [
    ("attitude", "2"),
    ("wait_time", "1"),
    ("products", "3"),
    ("complaint_handling", None),
    ("overall", "1"),
    ("nps", "2"),
    ("comment", None),
]
TEXT = {
    "zh": {"note": "已致电客户，答应三天内回复", "closed": "已关闭", "consent": "同意，可以致电我"},
    "en": {
        "note": "Called; promised an answer in three days",
        "closed": "Closed",
        "consent": "Yes, you may call me",
    },
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_a_low_score_becomes_a_case_that_is_noted_and_closed(
    app, live_server, chromium, invite, make_user, viewport, lang
):
    owner = make_user("quality", "quality@bank.example", name="Wang Fang")
    invitation = invite(locale=lang)
    size = "phone" if viewport is PHONE else "desktop"
    with on_our_origin(
        chromium, live_server, viewport, locale="zh-CN" if lang == "zh" else "en-US", timeout=15000
    ) as page:
        # The customer: a low score, then the consent step, on their phone or desktop.
        page.goto(f"{live_server}/s/{invitation.token}?lang={lang}")
        for key, value in ANSWERS:
            if value is not None:
                # Tap the option's label, as a customer does (a forced click on the hidden
                # input once landed on whatever covered it on a phone: state unchanged).
                choice = page.locator(f"input[name=q_{key}][value='{value}']")
                page.locator(f"#q_{key} label.opt").filter(has=choice).click()
                assert choice.is_checked()
            page.click("button[name=go][value=next]")
        page.wait_for_selector("input[name=consent]")
        assert_accessible(page, f"consent {lang} {size}")
        assert_fits(page, viewport, "consent")
        if (size == "phone") == (lang == "zh"):
            screenshot(page, f"followup-consent-{size}-{lang}")
        page.get_by_label(TEXT[lang]["consent"]).check()
        page.click("button[name=go][value=next]")
        page.wait_for_selector("h1")
        db.session.expire_all()
        case = db.session.scalar(sa.select(FollowUpCase))
        assert case is not None and case.owner_id == owner.id

        # The quality user: the queue, the case, a note, the outcome.
        sign_in(page, live_server, owner.email, PASSWORD, lang=lang)
        page.goto(f"{live_server}/followups?view=mine&lang={lang}")
        assert page.locator("[data-testid=followup-count]").inner_text() == "1"
        assert_accessible(page, f"queue {lang} {size}")
        assert_fits(page, viewport, "queue")
        if (size == "phone") == (lang == "zh"):
            screenshot(page, f"followup-queue-{size}-{lang}")
        page.click(f"[data-case='{case.id}'] a")
        page.wait_for_selector("#note-body")
        assert_accessible(page, f"case {lang} {size}")
        assert_fits(page, viewport, "case")
        page.fill("#note-body", TEXT[lang]["note"])
        page.click("form[action$='/note'] button[type=submit]")
        page.wait_for_selector("[data-testid=notes]")
        assert TEXT[lang]["note"] in page.locator("[data-testid=notes]").inner_text()
        if (size == "phone") == (lang == "zh"):
            screenshot(page, f"followup-case-{size}-{lang}")
        page.locator("input[name=outcome][value=reached_unresolved]").check()
        page.click("form[action$='/close'] button[type=submit]")
        page.wait_for_selector(".page-head strong")
        assert TEXT[lang]["closed"] in page.locator(".page-head").inner_text()
        assert_accessible(page, f"closed case {lang} {size}")
        assert_fits(page, viewport, "closed case")
        db.session.expire_all()
        case = db.session.get_one(FollowUpCase, case.id)
        assert case.state == "closed" and case.outcome == "reached_unresolved"
        assert [n.body for n in case.notes] == [TEXT[lang]["note"]]
