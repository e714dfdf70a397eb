"""A prepared export on a phone and a desktop, in both languages: asked for, watched, ready.

The person asks for the file on the export page; the job page shows the bar and, once a
worker has written the file (here the task's function, run by the test), its own script
reloads it with the download link. No request leaves our origin; axe finds nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from survey import clock, demo
from survey.exports import jobs
from survey.extensions import db
from survey.models import ExportJob
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
    demo.load(seed=7, today=date(2026, 11, 29), size=400)
    yield
    clock.unfreeze()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_a_prepared_export_shows_its_progress_then_its_download_link(
    demo_bank, live_server, chromium, viewport
):
    with on_our_origin(chromium, live_server, viewport) as page:
        size = "phone" if viewport is PHONE else "desktop"
        sign_in(page, live_server, "quality@demo.bank", demo.DEMO_PASSWORD)
        for lang, waiting, ready in (
            ("zh", "等待", "下载 XLSX"),
            ("en", "waiting for a worker", "Download XLSX"),
        ):
            page.goto(f"{live_server}/export?lang={lang}&from=2026-11-01&to=2026-11-29")
            assert_fits(page, viewport, f"export page {lang}")
            page.click("button[name=format][value=xlsx]")
            page.wait_for_selector("#export-job")
            assert waiting in page.inner_text("#job-state")
            assert_fits(page, viewport, f"job page {lang}")
            assert_accessible(page, f"job page, waiting, {lang} {size}")
            if (size == "phone") == (lang == "zh"):
                screenshot(page, f"export-job-waiting-{size}-{lang}")

            db.session.rollback()
            job_id = db.session.scalars(sa.select(sa.func.max(ExportJob.id))).one()
            assert jobs.run(job_id).state == "done"
            # The page's script sees the job finished and reloads it with the link.
            page.wait_for_selector("#job-download")
            assert ready in page.inner_text("#job-download")
            assert_fits(page, viewport, f"job page done {lang}")
            assert_accessible(page, f"job page, ready, {lang} {size}")
            if (size == "phone") == (lang == "zh"):
                screenshot(page, f"export-job-ready-{size}-{lang}")
            with page.expect_download() as download:
                page.click("#job-download")
            assert download.value.suggested_filename.endswith(".xlsx")
        assert page.locator("#my-exports tbody tr").count() == 2
