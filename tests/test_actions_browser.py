"""Improvement actions in a browser, on the demo bank: the list, an action judged, the form, marks.

On a phone and a desktop, in both languages: each page fits the screen, passes axe-core
(WCAG 2.1 A and AA), draws its chart with our own plotly.js, asks nothing of another origin
and breaks no Content-Security-Policy rule; the overview's trend shows the demo's actions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from survey import clock, demo
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


@pytest.fixture
def demo_bank(app):
    clock.freeze(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    demo.load(seed=7, today=date(2026, 11, 29), size=4000)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_action_pages_fit_read_well_and_draw_from_our_origin(
    demo_bank, live_server, chromium, viewport
):
    with on_our_origin(chromium, live_server, viewport) as page:
        size = "phone" if viewport is PHONE else "desktop"
        sign_in(page, live_server, "quality@demo.bank", demo.DEMO_PASSWORD)
        for lang in ("zh", "en"):
            page.goto(f"{live_server}/actions?lang={lang}")
            assert page.locator("[data-testid=actions] tbody tr").count() == 3
            assert_fits(page, viewport, f"list {lang}")
            assert_accessible(page, f"actions list {lang} {size}")

            coaching = "信用卡中心服务态度辅导" if lang == "zh" else "Service coaching"
            page.get_by_role("link", name=coaching).click()
            page.wait_for_selector(".chart .main-svg")
            assert page.locator("[data-testid=sentence]").inner_text().strip()
            assert page.locator("[data-testid=windows] tbody tr").count() == 2
            assert_fits(page, viewport, f"action {lang}")
            assert_accessible(page, f"action {lang} {size}")
            if (size == "phone") == (lang == "zh"):
                screenshot(page, f"action-{size}-{lang}")

            page.goto(f"{live_server}/actions/new?lang={lang}")
            assert_fits(page, viewport, f"form {lang}")
            assert_accessible(page, f"form {lang} {size}")

            # The overview's trend marks the actions of the last 90 days, listed under it.
            page.goto(f"{live_server}/?lang={lang}&period=90d")
            page.wait_for_selector(".chart .main-svg")
            assert page.locator(".chart .shapelayer path").count() >= 3
            assert page.locator("[data-testid=marked-actions] li").count() == 3
            assert_fits(page, viewport, f"overview {lang}")


def test_recording_an_action_shows_errors_beside_fields_then_its_page(
    demo_bank, live_server, desktop_page
):
    page = desktop_page
    page.goto(live_server + "/auth/login")
    page.fill("input[name=email]", "manager@demo.bank")
    page.fill("input[name=password]", demo.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/actions/new?lang=en")
    page.fill("input[name=title_en]", "Callback within the hour")
    page.fill("input[name=started_on]", "29/11/2026")
    page.click("button[type=submit]")
    assert page.locator("#title_zh-error").inner_text() == "Enter the title in Chinese."
    assert page.locator("#started_on-error").inner_text() == "Use a date like 2026-11-29."
    assert page.locator("#title_zh").get_attribute("aria-invalid") == "true"
    assert_accessible(page, "form with errors")
    page.fill("input[name=title_zh]", "一小时内回电")
    page.fill("input[name=started_on]", "2026-11-20")
    page.select_option("select[name=target]", "team:personal-complaints")
    page.select_option("select[name=kind]", "process_change")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=sentence]")
    assert "Callback within the hour" in page.locator("h1").inner_text()
    assert "2026-12-19" in page.locator("[data-testid=sentence]").inner_text()
