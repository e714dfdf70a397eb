"""In a real browser: a large agent file is imported by a worker while the bar moves to the end."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import Agent, BusinessLine, Team
from tests.fixtures.access import PASSWORD
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config: dict, tmp_path: Path) -> dict:
    """A SQLite queue file a real consumer reads, as `make run` uses."""
    return {**app_config, "SURVEY_QUEUE_URL": "sqlite:///" + str(tmp_path / "queue.sqlite3")}


def test_the_progress_bar_follows_a_large_import_to_its_result(
    app, live_server, desktop_page, admin, running_worker
):
    line = BusinessLine(code="personal", name_zh="个人金融", name_en="Personal banking")
    db.session.add(
        Team(code="t1", business_line=line, function="inquiry", name_zh="组", name_en="Team")
    )
    db.session.commit()
    rows = "".join(f"A{i:05d},坐席{i},Agent {i},t1\n" for i in range(2500))
    page = desktop_page
    page.goto(live_server + "/auth/login?lang=en")
    page.fill("#email", admin.email)
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(lambda url: "/auth/login" not in url)

    page.goto(live_server + "/admin/org/agents/import")
    page.set_input_files(
        "#file",
        files=[
            {
                "name": "agents.csv",
                "mimeType": "text/csv",
                "buffer": (
                    "code,name_zh,name_en,team_code\n" + rows + "bad code,x,x,t1\n"
                ).encode(),
            }
        ],
    )
    page.click("#import-form button.primary")
    page.wait_for_url(lambda url: "/admin/org/imports/" in url)
    # With script the refresh link gives way to the bar, which polls until the import is done.
    page.wait_for_selector("#import-errors", timeout=30000)
    numbers = page.inner_text("#job-numbers")
    assert "2501 of 2501 rows read: 2500 agents added" in numbers
    assert page.get_attribute("#job-progress", "value") == "2501"
    assert "Use letters, digits" in page.inner_text("#import-errors")
    screenshot(page, "admin-import-finished")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agent)) == 2500
