"""GET /api/v1/funnel: the funnel per survey channel, its rates, the filters, its errors."""

from __future__ import annotations

import pytest

from tests.opening import written
from tests.test_respond_steps import STEPS, step


@pytest.fixture
def get(client, api_key):
    def call(key: str | None = None, **params: str):
        headers = {"Authorization": f"Bearer {key or api_key}"}
        return client.get("/api/v1/funnel", query_string=params, headers=headers)

    return call


@pytest.fixture
def three_sent(client, invite):
    """Three invitations sent by SMS: one completed on the web, one only opened, one untouched."""
    answered = invite(locale="en")
    looked = invite(locale="en", agent="A2001")
    invite(locale="en")
    assert client.get(f"/s/{answered.token}").status_code == 200
    for key, value in STEPS:
        step(client, answered, key, value)
    step(client, answered, "comment", "")
    assert client.get(f"/s/{looked.token}").status_code == 200
    written()
    return answered, looked


def test_the_funnel_counts_each_step_per_channel_with_its_rates(get, three_sent):
    body = get().get_json()
    assert [g["survey_channel"] for g in body["channels"]] == ["sms"]
    sms = body["channels"][0]
    steps = {k: sms[k] for k in ("invited", "sent", "delivered", "opened", "started", "completed")}
    assert steps == {
        "invited": 3,
        "sent": 3,
        "delivered": 2,
        "opened": 2,
        "started": 1,
        "completed": 1,
    }
    assert sms["step_rates"] == {
        "sent": 1.0,
        "delivered": pytest.approx(2 / 3),
        "opened": 1.0,
        "started": 0.5,
        "completed": 1.0,
    }
    assert sms["response_rate"] == pytest.approx(1 / 3)  # (completed + closed partial) / sent
    assert sms["suppressed"]["opted_out"] == 0 and sms["reminded"] == 0
    assert body["total"] | {"survey_channel": "sms"} == sms


def test_filters_narrow_the_funnel_as_they_narrow_the_scores(get, three_sent):
    corporate = get(business_line="corporate").get_json()["channels"][0]
    assert (corporate["invited"], corporate["opened"], corporate["completed"]) == (1, 1, 0)
    assert get(agent="A1001").get_json()["total"]["invited"] == 2
    nothing = get(survey_channel="email").get_json()
    assert nothing["channels"] == [] and nothing["total"]["invited"] == 0
    assert nothing["total"]["response_rate"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"survey_channel": "web"}, "survey_channel"),  # answered on the web: not a send channel
        ({"dimension": "overall"}, "dimension"),
        ({"group_by": "day"}, "group_by"),
        ({"from": "2026-13-01"}, "from"),
        ({"team": "nobody"}, "team"),
    ],
)
def test_a_bad_parameter_gets_problem_json_naming_it(get, params, field):
    answer = get(**params)
    assert answer.status_code == 400
    assert answer.mimetype == "application/problem+json"
    assert field in {e["field"] for e in answer.get_json()["errors"]}


def test_the_funnel_needs_a_key_with_the_scores_scope(client, get, make_api_key):
    assert client.get("/api/v1/funnel").status_code == 401
    assert get(key=make_api_key("intake only", ("interactions",))).status_code == 403
