"""The settings page, retention's card included, on a phone and a desktop, in both languages."""

from __future__ import annotations

import pytest

from tests.fixtures.access import PASSWORD
from tests.fixtures.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_fits,
    on_our_origin,
    sign_in,
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
    with on_our_origin(chromium, live_server, viewport, timeout=15000) as page:
        sign_in(page, live_server, admin.email, PASSWORD, lang="en")
        for lang in ("zh", "en"):
            page.goto(f"{live_server}/admin/settings?lang={lang}")
            card = page.locator("#retention")
            assert "SURVEY_RETENTION_KEY" in card.inner_text()
            page.fill("#pii_retention_days", "7")
            page.click("button.primary")
            assert FLOOR_ERROR[lang] in page.locator("#retention").inner_text()
            assert_fits(page, viewport, lang)
            assert_accessible(page, f"settings {lang}")
