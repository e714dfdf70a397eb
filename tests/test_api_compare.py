"""GET /api/v1/scores?compare=…: each group tested against the previous period or the rest of
its parent, with p and Benjamini–Hochberg q values that an independent computation agrees with."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import fisher_exact, norm, ttest_ind
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from survey import clock
from survey.auth.service import create_api_key
from survey.extensions import db
from survey.models import Agent
from tests.fixtures.scoring import (
    add_two_lines,
    invitation_maker,
    publish_post_interaction,
    record_completed,
)

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai

# Overall ratings and NPS answers per agent; A1001 and A1002 share a team.
HAPPY = [5] * 14 + [4] * 10 + [3] * 4 + [2] * 2
UNHAPPY = [5] * 4 + [4] * 6 + [3] * 8 + [2] * 7 + [1] * 5
FEW = [5, 4, 2, 1, 3, 4, 5, 2]
NPS_HAPPY = [10] * 12 + [9] * 8 + [8] * 5 + [5] * 5
NPS_UNHAPPY = [10] * 4 + [8] * 6 + [6] * 10 + [2] * 10
NPS_FEW = [10, 9, 0, 3, 7, 8, 9, 1]


@pytest.fixture(scope="module")
def answered(module_app) -> dict[str, tuple[list[int], list[int]]]:
    """The three agents' answers, recorded once per database for the module's tests to read.

    The same answers are recorded on three days: a year before NOW (2025-11-29), 40 days before
    (in the previous 30 days) and NOW; each query below reads the days it names. Returned by agent.
    """
    scoring_org = add_two_lines()
    invite = invitation_maker(publish_post_interaction(), scoring_org)
    second = Agent(code="A1002", team=scoring_org["personal-inquiries"], name_zh="王", name_en="W")
    db.session.add(second)
    db.session.commit()
    scoring_org["A1002"] = second
    made = {
        "A1001": (HAPPY, NPS_HAPPY),
        "A1002": (UNHAPPY, NPS_UNHAPPY),
        "A2001": (FEW, NPS_FEW),
    }
    for at in (NOW - timedelta(days=365), NOW - timedelta(days=40), NOW):
        for agent, (overall, nps) in made.items():
            for o, p in zip(overall, nps, strict=True):
                clock.freeze(at - timedelta(hours=2))
                record_completed(invite(agent=agent), {"overall": o, "nps": p}, completed_at=at)
    clock.freeze(NOW)
    return made


@pytest.fixture(scope="module")
def key(module_app) -> str:
    _row, key = create_api_key("dashboards", ("scores",))
    db.session.commit()
    return key


@pytest.fixture
def get_scores(module_app, answered, key):
    """GET the scores API on NOW (the conftest frees the clock for each test)."""
    clock.freeze(NOW)
    client = module_app.test_client()

    def get(query: str):
        reply = client.get(f"/api/v1/scores?{query}", headers={"Authorization": f"Bearer {key}"})
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()

    return get


def _csat_p(a: list[int], b: list[int]) -> tuple[float, str]:
    """The pooled two-proportion z-test, or Fisher's exact test when an expected cell is below 5."""
    x1, n1, x2, n2 = sum(v >= 4 for v in a), len(a), sum(v >= 4 for v in b), len(b)
    pooled = (x1 + x2) / (n1 + n2)
    expected = [n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled)]
    if min(expected) < 5:
        return fisher_exact([[x1, n1 - x1], [x2, n2 - x2]])[1], "fisher"
    return proportions_ztest([x1, x2], [n1, n2])[1], "z"


def _nps_p(a: list[int], b: list[int]) -> float:
    def score_and_se(values: list[int]) -> tuple[float, float]:
        n = len(values)
        pro, det = sum(v >= 9 for v in values) / n, sum(v <= 6 for v in values) / n
        return pro - det, math.sqrt((pro + det - (pro - det) ** 2) / n)

    (s1, se1), (s2, se2) = score_and_se(a), score_and_se(b)
    return 2 * norm.sf(abs(s1 - s2) / math.sqrt(se1**2 + se2**2))


def test_agents_are_compared_with_the_rest_of_their_team(get_scores, answered):
    body = get_scores("group_by=agent&compare=rest")
    assert body["compare"] == {"against": "rest"}
    groups = {g["key"]["agent"]: g["compare"] for g in body["groups"]}

    # A1001's reference is A1002 (the rest of their team), and the other way round.
    p_csat, test = _csat_p(HAPPY, UNHAPPY)
    p_mean = ttest_ind(HAPPY, UNHAPPY, equal_var=False).pvalue
    p_nps = _nps_p(NPS_HAPPY, NPS_UNHAPPY)
    for agent, sign in (("A1001", 1), ("A1002", -1)):
        row = groups[agent]
        assert row["csat"]["test"] == test
        assert row["csat"]["p_value"] == pytest.approx(p_csat, rel=1e-9)
        assert row["mean"]["p_value"] == pytest.approx(p_mean, rel=1e-9)
        assert row["nps"]["p_value"] == pytest.approx(p_nps, rel=1e-9)
        expected_difference = sum(HAPPY) / len(HAPPY) - sum(UNHAPPY) / len(UNHAPPY)
        assert row["mean"]["difference"] == pytest.approx(sign * expected_difference, abs=1e-3)
    # A2001 is alone in their team: nothing to compare with.
    assert groups["A2001"]["csat"] == {
        "difference": None, "p_value": None, "q_value": None, "test": None, "mark": None,
    }  # fmt: skip
    # Two tests per metric in this table: q is their BH adjustment, marks follow q.
    q = multipletests([p_csat, p_csat], method="fdr_bh")[1]
    assert groups["A1001"]["csat"]["q_value"] == pytest.approx(q[0], rel=1e-9)
    assert groups["A1001"]["csat"]["mark"] == ("▲" if q[0] < 0.05 else None)
    assert groups["A1002"]["csat"]["mark"] == ("▼" if q[1] < 0.05 else None)
    assert groups["A1001"]["mean"]["mark"] == "▲" and groups["A1002"]["mean"]["mark"] == "▼"


def test_business_lines_are_compared_with_every_other_answer(get_scores, answered):
    body = get_scores("group_by=business_line&compare=rest")
    groups = {g["key"]["business_line"]: g for g in body["groups"]}
    personal, corporate = HAPPY + UNHAPPY, FEW
    p_csat, test = _csat_p(personal, corporate)
    assert test == "fisher"  # eight answers: an expected cell is below 5
    p_values = [p_csat, p_csat]
    q = multipletests(p_values, method="fdr_bh")[1]
    for code in ("personal", "corporate"):
        row = groups[code]["compare"]["csat"]
        assert row["test"] == "fisher"
        assert row["p_value"] == pytest.approx(p_csat, rel=1e-9)
        assert row["q_value"] == pytest.approx(q[0], rel=1e-9)
    assert groups["personal"]["n"] == len(personal)


def test_a_period_is_compared_with_the_previous_one_of_the_same_length(get_scores, answered):
    body = get_scores("from=2026-10-31&to=2026-11-29&group_by=agent&compare=previous")
    assert body["compare"] == {"against": "previous", "from": "2026-10-01", "to": "2026-10-30"}
    groups = {g["key"]["agent"]: g["compare"] for g in body["groups"]}
    # The same answers in both periods: no difference, p = 1, no mark.
    for agent in ("A1001", "A1002"):
        assert groups[agent]["mean"]["difference"] == 0
        assert groups[agent]["mean"]["p_value"] == pytest.approx(1.0)
        assert groups[agent]["csat"]["mark"] is None


def test_a_period_is_compared_with_the_same_days_a_year_earlier(get_scores, answered):
    body = get_scores("from=2026-11-01&to=2026-11-30&group_by=agent&compare=year")
    assert body["compare"] == {"against": "year", "from": "2025-11-01", "to": "2025-11-30"}
    by_agent = {g["key"]["agent"]: g for g in body["groups"]}
    # Only the year-earlier answers are the reference: the same answers, no difference.
    assert by_agent["A1001"]["compare"]["mean"]["difference"] == 0
    assert by_agent["A1001"]["compare"]["csat"]["p_value"] == pytest.approx(1.0)
    assert by_agent["A1001"]["n"] == len(HAPPY)


def test_a_year_before_a_leap_day_is_the_28th(get_scores):
    body = get_scores("from=2028-02-01&to=2028-02-29&compare=year")
    assert body["compare"] == {"against": "year", "from": "2027-02-01", "to": "2027-02-28"}


def test_the_previous_period_of_a_group_without_answers_then_has_no_test(get_scores, answered):
    # Answered on 29 November; nothing from 31 October to 14 November (the bank's earlier days
    # are 20 October and a year before).
    body = get_scores("from=2026-11-15&to=2026-11-29&group_by=agent&compare=previous")
    assert body["compare"] == {"against": "previous", "from": "2026-10-31", "to": "2026-11-14"}
    assert {g["key"]["agent"] for g in body["groups"]} == set(answered)
    for group in body["groups"]:
        assert group["compare"]["csat"]["p_value"] is None
        assert group["compare"]["csat"]["difference"] is None


def test_every_group_has_a_mean_interval(get_scores, answered):
    body = get_scores("group_by=agent")
    group = next(g for g in body["groups"] if g["key"]["agent"] == "A1001")
    mean = sum(HAPPY) / len(HAPPY)
    assert group["mean_low"] < mean < group["mean_high"]
    assert "compare" not in group and "compare" not in body


@pytest.mark.parametrize(
    "query",
    [
        "compare=sideways",
        "group_by=week&compare=previous",
        "group_by=month&compare=year",
        "compare=rest",
        "group_by=month&compare=rest",
    ],
)
def test_a_comparison_that_cannot_be_made_is_a_400_naming_compare(module_app, key, query):
    reply = module_app.test_client().get(
        f"/api/v1/scores?{query}", headers={"Authorization": f"Bearer {key}"}
    )
    assert reply.status_code == 400
    assert [e["field"] for e in reply.get_json()["errors"]] == ["compare"]


def test_a_trend_by_team_compares_each_week_with_the_rest_of_that_week(get_scores, answered):
    body = get_scores("group_by=week,agent&compare=rest")
    for group in body["groups"]:
        assert group["key"]["week"] == "2026-11-23"
    by_agent = {g["key"]["agent"]: g["compare"] for g in body["groups"]}
    p_mean = ttest_ind(HAPPY, UNHAPPY, equal_var=False).pvalue
    assert by_agent["A1001"]["mean"]["p_value"] == pytest.approx(p_mean, rel=1e-9)


def test_the_previous_period_of_the_first_possible_days_answers_with_no_comparison(get_scores):
    """Found by fuzzing: the period before 2000-01-01 is still a period, with no answers."""
    body = get_scores("to=2000-01-01&group_by=channel&compare=previous")
    assert body["compare"] == {"against": "previous", "from": "1999-12-31", "to": "1999-12-31"}
    assert all(g["compare"]["csat"]["p_value"] is None for g in body["groups"])
