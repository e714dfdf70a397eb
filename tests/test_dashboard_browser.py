"""Quality staff open the overview on the demo bank and see the charts drawn, in Chinese too."""

from __future__ import annotations

import pytest

from survey import demo
from tests.fixtures.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("on_demo_day")]


def _sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", demo.DEMO_PASSWORD)
    page.click("button[type=submit]")


def test_quality_staff_see_scores_and_three_charts(demo_bank_once, served_once, desktop_page):
    page = desktop_page
    _sign_in(page, served_once, "quality@demo.bank")
    page.goto(served_once + "/?lang=en")
    page.wait_for_selector(".chart .main-svg")
    assert page.locator(".chart .main-svg").count() >= 3
    assert "%" in page.get_by_test_id("csat").inner_text()
    screenshot(page, "dashboard-desktop")


def test_the_overview_reads_in_chinese_on_a_phone(demo_bank_once, served_once, phone_page):
    page = phone_page
    _sign_in(page, served_once, "quality@demo.bank")
    page.goto(served_once + "/?lang=zh")
    page.wait_for_selector(".chart .main-svg")
    assert page.locator("h1").inner_text() == "客户满意度"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "dashboard-phone")
