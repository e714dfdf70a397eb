"""A manager builds a survey from a template in a real browser, watches the SMS cost, publishes;
and reorders questions by dragging them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from survey.extensions import db
from survey.models import Survey
from tests.fixtures.access import PASSWORD
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.browser


def _total_segments(page, mode: str) -> int:
    return int(page.locator(f"#sms-{mode} .total-segments").get_attribute("data-segments"))


def test_manager_builds_a_three_question_survey_from_a_template_publishes_it_and_adds_a_rule(
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
    # Waits for the survey's page: a count taken at once may read the form page still loading.
    expect(page.locator(".question-row")).to_have_count(2)

    page.click("nav.subnav >> text=Preview")
    before = _total_segments(page, "two_way")

    page.click("nav.subnav >> text=Questions")
    page.click("text=Add a question")
    page.select_option("select[name=kind]", "rating_5")
    page.select_option("select[name=dimension]", "attitude")
    page.fill("textarea[name=text_zh]", "您对网点工作人员的服务态度满意吗？")
    page.fill("textarea[name=text_en]", "How satisfied are you with the branch staff's attitude?")
    page.click("text=Save question")
    expect(page.locator(".question-row")).to_have_count(3)

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

    # Then send it: the survey's page offers its first dispatch rule, the survey already chosen.
    page.click("text=Add a dispatch rule for it")
    assert page.locator("select[name=survey_id] option:checked").inner_text() == "Branch NPS"
    page.fill("input[name=name]", "Branch visits")
    page.check("input[name=channel][value=branch]")
    page.select_option("select[name=channel_1]", "sms")
    page.click("text=Save rule")
    rule = page.locator("ol.rules li.rule").first
    assert "Branch visits" in rule.inner_text() and "Branch NPS" in rule.inner_text()
    assert "Interaction channel: Branch" in rule.inner_text()


def test_manager_drags_a_question_to_the_top_and_the_order_is_saved(
    live_server, desktop_page, make_user, make_survey
):
    page = desktop_page
    make_user("manager", email="manager@bank.example")
    survey = make_survey("post_interaction")
    texts = [q.text_en for q in survey.versions[0].questions]
    page.goto(live_server + "/auth/login")
    page.fill("input[name=email]", "manager@bank.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/designer/surveys/{survey.id}")

    handle = page.locator(".question-row").nth(2).locator(".drag-handle")
    assert handle.is_visible(), "the drag handle appears once the script runs"
    start = handle.bounding_box()
    top = page.locator(".question-row").first.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(top["x"] + 20, top["y"] + 5, steps=8)
    with page.expect_navigation():
        page.mouse.up()

    assert "Order saved." in page.locator(".flash").inner_text()
    shown = page.locator(".question-row p[lang=en]").all_inner_texts()
    assert shown[:3] == [texts[2], texts[0], texts[1]]
    db.session.expire_all()
    saved = [q.text_en for q in db.session.get(Survey, survey.id).versions[0].questions]
    assert saved == [texts[2], texts[0], texts[1], *texts[3:]]
