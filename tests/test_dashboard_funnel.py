"""The funnel page shows GET /api/v1/funnel's numbers to the digit, keeps its filters in the URL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from survey import clock, demo
from survey.auth.service import create_api_key
from survey.funnel import report
from tests.fixtures.dashboard_pages import number, table_rows

PERIOD = "from=2026-09-01&to=2026-11-29"


@pytest.fixture
def bank(db):
    clock.freeze(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    demo.load(seed=7, today=date(2026, 11, 29), size=1500)


@pytest.fixture
def api(client, db):
    _row, key = create_api_key("dashboards", ("scores",))
    db.session.commit()

    def get(query: str) -> dict:
        answer = client.get(f"/api/v1/funnel?{query}", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    return get


@pytest.mark.parametrize("query", [PERIOD, f"{PERIOD}&business_line=personal&type=complaint"])
def test_the_page_shows_the_apis_funnel_to_the_digit(bank, api, client_as, query):
    body = api(query)
    page = client_as("quality").get(f"/funnel?lang=en&{query}").get_data(as_text=True)
    sent_on = [g for g in body["channels"] if g["survey_channel"]]
    assert len(sent_on) >= 2  # the demo sends by SMS and e-mail, and calls
    summary = table_rows(page, "funnel-summary")
    assert set(summary) == {g["survey_channel"] for g in sent_on} | {"total"}
    for group in [*sent_on, body["total"] | {"survey_channel": "total"}]:
        row = summary[group["survey_channel"]]
        for step in (*report.STEPS, "closed_partial", "response_rate"):
            assert number(row[step]) == group[step], (group["survey_channel"], step)
    for group in sent_on:
        steps = table_rows(page, f"funnel-{group['survey_channel']}")
        for step in report.STEPS:
            assert number(steps[step]["count"]) == group[step]
            if step != "invited":
                assert number(steps[step]["step_rate"]) == group["step_rates"][step]
        for other in report.OTHERS:
            assert number(steps[other]["count"]) == group[other]
    suppressed = table_rows(page, "suppressions")
    for reason, count in body["total"]["suppressed"].items():
        assert number(suppressed[reason]["total"]) == count
    assert sum(body["total"]["suppressed"].values()) > 0


def test_a_survey_channel_filter_keeps_to_its_channel_and_stays_in_the_links(bank, client_as):
    page = client_as("quality").get(f"/funnel?lang=en&{PERIOD}&survey_channel=email")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert set(table_rows(text, "funnel-summary")) == {"email", "total"}
    assert 'data-testid="funnel-sms"' not in text
    assert "survey_channel=email" in text  # the nav keeps it on this page's side
    assert "mail scanners" in text.lower() or "security scanners" in text


def test_an_answered_on_channel_is_refused_with_the_reason_on_the_page(bank, client_as):
    page = client_as("quality").get(f"/funnel?lang=en&{PERIOD}&survey_channel=web")
    assert page.status_code == 400
    assert "Unknown value: web" in page.get_data(as_text=True)


@pytest.mark.parametrize("role", ["quality", "manager", "admin"])
def test_staff_who_read_dashboards_see_the_funnel_in_both_languages(db, client_as, role):
    client = client_as(role)
    english = client.get("/funnel?lang=en").get_data(as_text=True)
    assert "Response funnel" in english and "No invitations in this period yet." in english
    chinese = client.get("/funnel?lang=zh").get_data(as_text=True)
    assert "Response funnel" not in chinese


def test_the_funnel_is_in_the_dashboard_nav_and_next_steps(db, client_as):
    overview = client_as("quality").get("/?lang=en").get_data(as_text=True)
    assert 'href="/funnel' in overview
    assert "the response funnel" in overview


def test_signed_out_visitors_are_sent_to_sign_in(db, client_as):
    answer = client_as(None).get("/funnel")
    assert answer.status_code in (302, 303) and "/auth/login" in answer.headers["Location"]
