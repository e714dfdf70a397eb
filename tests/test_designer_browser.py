"""A manager builds a survey from a template in a real browser, watches the SMS cost, publishes."""

from __future__ import annotations

import pytest

from tests.fixtures.access import PASSWORD
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.browser


def _total_segments(page, mode: str) -> int:
    return int(page.locator(f"#sms-{mode} .total-segments").get_attribute("data-segments"))


def test_manager_builds_a_three_question_survey_from_a_template_and_publishes_it(
    live_server, desktop_page, make_user
):
    page = desktop_page
    make_user("manager", email="manager@bank.example")
    page.goto(live_server + "/auth/login")
    page.fill("input[name=email]", "manager@bank.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.click("nav.mainnav >> text=Surveys")
    page.click("text=New survey")
    page.check("input[name=starter][value=relationship_nps]")
    page.fill("input[name=name]", "Branch NPS")
    page.click("text=Create survey")
    assert page.locator(".question-row").count() == 2

    page.click("nav.subnav >> text=Preview")
    before = _total_segments(page, "two_way")

    page.click("nav.subnav >> text=Questions")
    page.click("text=Add a question")
    page.select_option("select[name=kind]", "rating_5")
    page.select_option("select[name=dimension]", "attitude")
    page.fill("textarea[name=text_zh]", "您对网点工作人员的服务态度满意吗？")
    page.fill("textarea[name=text_en]", "How satisfied are you with the branch staff's attitude?")
    page.click("text=Save question")
    assert page.locator(".question-row").count() == 3

    page.click("nav.subnav >> text=Preview")
    after = _total_segments(page, "two_way")
    assert after > before, "adding a Chinese question must cost more SMS segments"
    assert page.locator("#sms-two_way .bubble").filter(has_text="您对网点工作人员").count() == 1
    screenshot(page, "designer-preview")

    page.click("nav.subnav >> text=Questions")
    page.click("text=Review and publish")
    page.click("button:has-text('Publish version 1')")
    assert "Version 1 is published" in page.locator(".flash").inner_text()
    row = page.locator("table.history tbody tr").first
    assert "version 1" in row.inner_text() and "live" in row.inner_text()
    assert "manager@bank.example" in row.inner_text()
