"""The settings page, retention's card included, on a phone and a desktop, in both languages."""

from __future__ import annotations

import pytest

from tests.fixtures.access import PASSWORD
from tests.fixtures.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_no_policy_violations,
    watch_policy_violations,
)

pytestmark = pytest.mark.browser

FLOOR_ERROR = {
    "en": "Keep personal data at least 31 days",
    "zh": "个人信息须至少保留 31 天",
}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_an_admin_sees_retention_refuse_a_short_period_and_the_page_fits(
    live_server, chromium, admin, viewport
):
    context = chromium.new_context(viewport=viewport)
    context.set_default_timeout(15000)
    violations = watch_policy_violations(context)
    elsewhere: list[str] = []
    context.on(
        "request", lambda r: None if r.url.startswith(live_server) else elsewhere.append(r.url)
    )
    page = context.new_page()
    try:
        page.goto(live_server + "/auth/login?lang=en")
        page.fill("#email", admin.email)
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(lambda url: "/auth/login" not in url)
        for lang in ("zh", "en"):
            page.goto(f"{live_server}/admin/settings?lang={lang}")
            card = page.locator("#retention")
            assert "SURVEY_RETENTION_KEY" in card.inner_text()
            page.fill("#pii_retention_days", "7")
            page.click("button.primary")
            assert FLOOR_ERROR[lang] in page.locator("#retention").inner_text()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], (lang, width)
            assert_accessible(page, f"settings {lang}")
        assert elsewhere == []
        assert_no_policy_violations(context, violations)
    finally:
        context.close()
