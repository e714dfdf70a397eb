"""The complaints page on the demo bank, on a phone and a desktop, in both languages.

Its four charts draw with our own plotly.js, nothing is asked of another origin, the page
fits the screen, and axe-core finds no WCAG 2.1 A/AA violation.
"""

from __future__ import annotations

import pytest

from survey import demo
from tests.fixtures.browser import (
    DESKTOP,
    PHONE,
    assert_accessible,
    assert_fits,
    on_our_origin,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("on_demo_day")]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_complaints_page_draws_its_charts_from_our_origin_fits_and_is_accessible(
    demo_bank_once, served_once, chromium, viewport
):
    with on_our_origin(chromium, served_once, viewport) as page:
        sign_in(page, served_once, "quality@demo.bank", demo.DEMO_PASSWORD)
        for lang in ("zh", "en"):
            page.goto(f"{served_once}/complaints?lang={lang}&period=90d")
            page.wait_for_selector(".chart .main-svg")
            page.wait_for_function("document.querySelectorAll('.chart .main-svg').length >= 4")
            # Bars were drawn, not just empty axes: types, causes, commitments, met vs missed.
            bars = page.locator(".chart .bars path").count()
            assert bars >= 10, (lang, bars)
            assert_fits(page, viewport, lang)
            heading = page.locator("h1").inner_text()
            assert heading == ("投诉" if lang == "zh" else "Complaints"), heading
            assert page.locator("[data-testid=commitments] tr[data-key]").count() == 3
            assert_accessible(page, f"complaints {lang} {viewport['width']}px")
            size = "phone" if viewport is PHONE else "desktop"
            if (size == "phone") == (lang == "zh"):
                screenshot(page, f"dashboard-complaints-{size}-{lang}")
