"""Overview, Breakdown and Dimensions on the demo bank, on a phone and a desktop, in both languages.

Each page draws its charts with our own plotly.js (and its zh-CN locale on Chinese pages),
asks nothing of another origin, breaks no Content-Security-Policy rule and fits the screen.
"""

from __future__ import annotations

import pytest

from survey import demo
from tests.fixtures.browser import (
    DESKTOP,
    PHONE,
    assert_fits,
    on_our_origin,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("on_demo_day")]

PAGES = {"overview": "/", "breakdown": "/breakdown", "dimensions": "/dimensions"}


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_dashboard_pages_draw_their_charts_from_our_origin_and_fit_the_screen(
    demo_bank_once, served_once, chromium, viewport
):
    with on_our_origin(chromium, served_once, viewport) as page:
        sign_in(page, served_once, "quality@demo.bank", demo.DEMO_PASSWORD)
        for lang in ("zh", "en"):
            for name, path in PAGES.items():
                page.goto(f"{served_once}{path}?lang={lang}&period=90d")
                page.wait_for_selector(".chart .main-svg")
                assert page.locator(".chart .main-svg").count() >= 1, (name, lang)
                assert_fits(page, viewport, f"{name} {lang}")
                if lang == "zh":
                    # plotly's own Chinese: date axes read 11月, not Nov.
                    ticks = page.evaluate(
                        "Array.from(document.querySelectorAll('.chart .xtick text'))"
                        ".map(function (t) { return t.textContent; }).join(' ')"
                    )
                    if name != "breakdown":
                        assert "月" in ticks, ticks
                        assert "Nov" not in ticks and "Oct" not in ticks, ticks
                # For the README: the desktop in English, the phone in Chinese.
                size = "phone" if viewport is PHONE else "desktop"
                if name in ("overview", "breakdown") and (size == "phone") == (lang == "zh"):
                    screenshot(page, f"dashboard-{name}-{size}-{lang}")
