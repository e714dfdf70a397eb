"""Overview, Breakdown and Dimensions on the demo bank, on a phone and a desktop, in both languages.

Each page draws its charts with our own plotly.js (and its zh-CN locale on Chinese pages),
asks nothing of another origin, breaks no Content-Security-Policy rule and fits the screen.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from survey import clock, demo
from tests.fixtures.browser import (
    DESKTOP,
    PHONE,
    assert_no_policy_violations,
    screenshot,
    watch_policy_violations,
)

pytestmark = pytest.mark.browser

PAGES = {"overview": "/", "breakdown": "/breakdown", "dimensions": "/dimensions"}


@pytest.fixture
def demo_bank(app):
    clock.freeze(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    demo.load(seed=7, today=date(2026, 11, 29), size=4000)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_dashboard_pages_draw_their_charts_from_our_origin_and_fit_the_screen(
    demo_bank, live_server, chromium, viewport
):
    context = chromium.new_context(viewport=viewport)
    context.set_default_timeout(20000)
    violations = watch_policy_violations(context)
    elsewhere: list[str] = []
    context.on(
        "request", lambda r: None if r.url.startswith(live_server) else elsewhere.append(r.url)
    )
    page = context.new_page()
    try:
        page.goto(live_server + "/auth/login")
        page.fill("input[name=email]", "quality@demo.bank")
        page.fill("input[name=password]", demo.DEMO_PASSWORD)
        page.click("button[type=submit]")
        for lang in ("zh", "en"):
            for name, path in PAGES.items():
                page.goto(f"{live_server}{path}?lang={lang}&period=90d")
                page.wait_for_selector(".chart .main-svg")
                assert page.locator(".chart .main-svg").count() >= 1, (name, lang)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], (name, lang, width)
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
        assert elsewhere == []
        assert_no_policy_violations(context, violations)
    finally:
        context.close()
