"""The overview dashboard: scores from the rollup, honest about n, charts drawn with our own plotly.js."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from survey import clock
from survey.dashboard import filters
from survey.dashboard.overview import overview


@pytest.fixture
def answered(app, scoring_org, invite, record_response):
    """Six customers answered overall 5,5,5,4,2,1 and NPS 10,9,9,7,3,0 on 2026-11-20."""
    clock.freeze(datetime(2026, 11, 20, 4, 0, tzinfo=UTC))
    for overall, nps in [(5, 10), (5, 9), (5, 9), (4, 7), (2, 3), (1, 0)]:
        record_response(invite(), {"overall": overall, "attitude": overall, "nps": nps})
    clock.freeze(datetime(2026, 11, 29, 4, 0, tzinfo=UTC))


def test_overview_reports_csat_and_nps_with_their_n(answered):
    data = overview(filters.read({"period": "30d"}).query, 5, "week")
    assert data.headline["n"] == 6
    assert data.headline["csat"] == pytest.approx(4 / 6, abs=1e-4)
    assert data.headline["nps"] == pytest.approx((3 - 2) / 6 * 100, abs=0.05)
    assert [g["key"]["dimension"] for g in data.by_dimension] == ["attitude", "overall"]


def test_home_page_shows_scores_and_their_interval(answered, client_as):
    page = client_as("quality").get("/?lang=en").get_data(as_text=True)
    assert "66.7%" in page  # 4 of 6 answered 4–5
    assert "n = 6" in page
    assert "+16.7" in page  # NPS: 3 promoters, 2 detractors of 6
    assert "/vendor/plotly.min.js" in page


def test_a_period_without_enough_answers_shows_no_score(
    app, client_as, scoring_org, invite, record_response
):
    clock.freeze(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    record_response(invite(), {"overall": 5})
    page = client_as("manager").get("/?lang=en&days=7").get_data(as_text=True)
    assert "below the minimum of 5" in page
    assert "100.0%" not in page


def test_plotly_js_is_served_by_us(client):
    response = client.get("/vendor/plotly.min.js")
    assert response.status_code == 200
    assert b"plotly" in response.data[:2000].lower()


def test_nps_by_business_line_shows_its_own_n(app, client_as, scoring_org, invite, record_response):
    clock.freeze(datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    for nps in (10, 10, 9, 8, 0, 0, 0):  # seven answered the NPS question...
        record_response(invite(), {"nps": nps})
    for overall in (5, 5, 4, 4, 2):  # ...five others the overall rating
        record_response(invite(), {"overall": overall})
    page = client_as("quality").get("/breakdown?lang=en&days=7").get_data(as_text=True)
    row = page[page.index('<tr data-key="personal">') :]
    row = row[: row.index("</tr>")]
    assert "Personal banking" in row
    assert 'data-value="5">5</td>' in row  # the CSAT n
    assert "+0.0 <span" in row and "n = 7" in row  # NPS 3 promoters − 3 detractors, of 7


def test_the_filter_form_offers_a_renamed_team_a_new_agent_and_a_renamed_survey_at_once(
    answered, client_as, scoring_org, scoring_version, db
):
    from survey.designer import service as designer
    from survey.models import Agent

    client = client_as("quality")
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Personal inquiries" in page
    scoring_org["personal-inquiries"].name_en = "Personal questions"
    db.session.add(Agent(code="A1002", team=scoring_org["personal-inquiries"], name_en="Lily"))
    db.session.commit()
    page = client.get("/?lang=en").get_data(as_text=True)
    assert ">Personal questions</option>" in page and "Personal inquiries" not in page
    assert "Lily (A1002)</option>" in page
    draft = designer.start_draft(scoring_version.survey)
    db.session.flush()
    designer.update_details(draft, draft.lock_version, "Satisfaction after a call", {})
    db.session.commit()
    page = client.get("/?lang=en").get_data(as_text=True)
    assert ">Satisfaction after a call</option>" in page


@pytest.mark.parametrize(
    ("args", "field"),
    [({"team": "personal-inquiries"}, "agent"), ({"business_line": "personal"}, "team")],
)
def test_a_breakdown_within_one_team_or_line_compares_each_row_with_the_rest_as_the_api_does(
    app, scoring_org, invite, record_response, db, args, field
):
    from dataclasses import replace

    from survey.dashboard import breakdown
    from survey.models import Agent, Team
    from survey.scoring import queries

    # A second agent in the team and a second team in the line, answering worse.
    team = Team(code="personal-cards", business_line=scoring_org["personal"], function="inquiry")
    team.name_zh, team.name_en = "个人卡组", "Personal cards"
    scoring_org["A1002"] = Agent(code="A1002", team=scoring_org["personal-inquiries"])
    scoring_org["A3001"] = Agent(code="A3001", team=team)
    db.session.add_all([team, scoring_org["A1002"], scoring_org["A3001"]])
    db.session.commit()
    clock.freeze(datetime(2026, 11, 20, 4, 0, tzinfo=UTC))
    for agent, ratings in [("A1001", (5, 5, 5, 4, 4, 5)), ("A1002", (2, 1, 2, 4, 1, 2, 5))]:
        for rating in ratings:
            record_response(invite(agent=agent), {"overall": rating, "nps": 2 * rating})
    for rating in (1, 2, 3, 2, 1):
        record_response(invite(agent="A3001"), {"overall": rating, "attitude": rating})
    clock.freeze(datetime(2026, 11, 29, 4, 0, tzinfo=UTC))
    query = queries.parse({"from": "2026-11-01", "to": "2026-11-29", **args})
    table = breakdown.table(query, 5, field, "en", "n", True)
    shown = {
        row["code"]: {k: v for k, v in row.items() if k not in ("code", "name", "dimensions")}
        for row in table.rows
    }
    expected = queries.scores(replace(query, group_by=(field,), compare="rest"), 5)
    assert shown == {g["key"][field]: g for g in expected if g["key"][field]}
    assert any(g["compare"]["csat"]["difference"] for g in expected)  # a rest to compare with
