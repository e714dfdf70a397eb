"""The funnel page on the demo bank, on a phone and a desktop, in both languages.

It draws a plotly funnel per survey channel with our own plotly.js, asks nothing of another
origin, breaks no Content-Security-Policy or WCAG 2.1 AA rule and fits the screen.
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


DEMO_SIZE = 2000


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_funnel_page_draws_a_funnel_per_channel_from_our_origin_and_fits_the_screen(
    demo_bank_once, served_once, chromium, viewport
):
    with on_our_origin(chromium, served_once, viewport) as page:
        sign_in(page, served_once, "quality@demo.bank", demo.DEMO_PASSWORD)
        for lang in ("zh", "en"):
            page.goto(f"{served_once}/funnel?lang={lang}&period=90d")
            page.wait_for_selector(".chart .main-svg")
            sections = page.locator("section[data-channel]").count()
            assert sections >= 2, lang
            # Every channel's chart is drawn, as a funnel (plotly's funnel bars).
            assert page.locator("section[data-channel] .chart.js-plotly-plot").count() == sections
            assert page.locator("section[data-channel] .chart .funnellayer").count() == sections
            assert_fits(page, viewport, lang)
            title = page.locator("h1").inner_text()
            assert title == ("回复漏斗" if lang == "zh" else "Response funnel")
            assert_accessible(page, f"/funnel ({lang}, {viewport['width']} px)")
            size = "phone" if viewport is PHONE else "desktop"
            if (size == "phone") == (lang == "zh"):
                screenshot(page, f"dashboard-funnel-{size}-{lang}")
