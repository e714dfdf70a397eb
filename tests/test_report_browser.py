"""The period report on a phone and a desktop, in both languages: it fits, passes axe, asks
nothing of another origin; the README shows it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from survey import demo
from tests.fixtures.browser import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    assert_fits,
    axe_violations,
    on_our_origin,
    screenshot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("on_demo_day")]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_report_page_fits_passes_axe_and_stays_on_our_origin(
    demo_bank_once, served_once, chromium, viewport
):
    with on_our_origin(chromium, served_once, viewport) as page:
        sign_in(page, served_once, "quality@demo.bank", demo.DEMO_PASSWORD)
        for lang in ("zh", "en"):
            page.goto(f"{served_once}/dashboard/report?lang={lang}&period=last_month")
            assert page.locator(".report-chart svg").count() == 5, lang  # 3 complaints, 2 scores
            assert_fits(page, viewport, lang)
            assert axe_violations(page) == [], lang
            heading = page.locator("article.report h1").inner_text()
            assert ("2026年10月" if lang == "zh" else "October 2026") in heading
            size = "phone" if viewport is PHONE else "desktop"
            if (size == "phone") == (lang == "zh"):
                screenshot(page, f"report-{size}-{lang}")
        # The PDF of the same report, its first pages kept as pictures for the README.
        if viewport is DESKTOP:
            answer = page.request.get(
                f"{served_once}/dashboard/report.pdf?lang=zh&period=last_month"
            )
            assert answer.ok and answer.headers["content-type"] == "application/pdf"
            target = SCREENSHOTS if os.environ.get("SURVEY_SCREENSHOTS") == "1" else ARTIFACTS
            target.mkdir(parents=True, exist_ok=True)
            pdf = ARTIFACTS / "report-demo-zh.pdf"
            pdf.parent.mkdir(parents=True, exist_ok=True)
            pdf.write_bytes(answer.body())
            pages = ["-f", "1", "-l", "3", str(pdf), str(target / "report-pdf-zh")]
            subprocess.run(["pdftoppm", "-png", "-r", "70", *pages], check=True)
