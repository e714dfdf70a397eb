"""The walking skeleton by hand, in a browser 390 px wide: from the outbox to a counted answer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from survey import clock
from survey.dispatch.sending import send_invitation
from survey.models import Invitation
from tests.fixtures.access import PASSWORD
from tests.fixtures.browser import screenshot
from tests.fixtures.dispatch import interaction_body

pytestmark = pytest.mark.browser


def test_admin_opens_the_survey_link_from_the_outbox_and_answers_it_on_a_phone(
    app, client, dispatch_ready, api_key, make_user, live_server, phone_page
):
    app.config["SURVEY_PUBLIC_URL"] = live_server  # links in messages point at this server
    # Inside allowed hours in Shanghai: quiet hours would otherwise defer the send to 08:00.
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    make_user("admin")
    posted = client.post(
        "/api/v1/interactions",
        json=interaction_body(),
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert posted.status_code == 201, posted.get_json()
    assert send_invitation(posted.get_json()["invitation"]["id"]) == "sent"

    page = phone_page
    page.goto(live_server + "/auth/login")
    page.fill("input[name=email]", "admin@bank.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server + "/dev/outbox")
    link = page.locator(".bubble a").first
    assert "/s/" in link.get_attribute("href")
    screenshot(page, "outbox-phone")
    page.goto(link.get_attribute("href"))  # as the customer, who taps the link in the SMS

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # A question a screen: each answered and sent on, the others passed by, to the thanks.
    ratings = {"attitude": 5, "wait_time": 2, "products": 4, "overall": 4, "nps": 8}
    for _screen in range(12):
        if not page.locator("button.send").count():
            break
        for key, value in ratings.items():
            option = page.locator(f"#q_{key} label.opt", has_text=str(value))
            if option.count():
                option.first.click()
        with page.expect_navigation():
            page.locator("button.send").click()
    assert "感谢" in page.content()

    scores = client.get(
        "/api/v1/scores?group_by=dimension", headers={"Authorization": f"Bearer {api_key}"}
    ).get_json()
    counted = {g["key"]["dimension"]: g["n"] for g in scores["groups"] if g["n"]}
    assert counted == {"attitude": 1, "wait_time": 1, "products": 1, "overall": 1}
    assert app.extensions["sqlalchemy"].session.scalar(sa.select(Invitation.state)) == "completed"
