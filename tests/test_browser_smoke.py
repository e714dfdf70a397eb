"""The sign-in page renders in a real browser, Chinese included, at phone width."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.browser


def test_sign_in_page_shows_chinese_to_a_chinese_browser_on_a_phone(live_server, phone_page):
    phone_page.goto(live_server + "/auth/login")
    assert phone_page.locator("h1").inner_text() == "登录"
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must not scroll sideways on a phone"
    screenshot(phone_page, "login-phone")
