"""Quality staff open the overview on the demo bank and see the charts drawn, in Chinese too."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from survey import clock, demo
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_bank(app):
    clock.freeze(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    demo.load(seed=7, today=date(2026, 11, 29), size=4000)


def _sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", demo.DEMO_PASSWORD)
    page.click("button[type=submit]")


def test_quality_staff_see_scores_and_three_charts(demo_bank, live_server, desktop_page):
    page = desktop_page
    _sign_in(page, live_server, "quality@demo.bank")
    page.goto(live_server + "/?lang=en")
    page.wait_for_selector(".chart .main-svg")
    assert page.locator(".chart .main-svg").count() >= 3
    assert "%" in page.get_by_test_id("csat").inner_text()
    screenshot(page, "dashboard-desktop")


def test_the_overview_reads_in_chinese_on_a_phone(demo_bank, live_server, phone_page):
    page = phone_page
    _sign_in(page, live_server, "quality@demo.bank")
    page.goto(live_server + "/?lang=zh")
    page.wait_for_selector(".chart .main-svg")
    assert page.locator("h1").inner_text() == "客户满意度"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "dashboard-phone")
