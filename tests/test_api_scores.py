"""GET /api/v1/scores: DESIGN.md's contract, read from the rollup."""

from __future__ import annotations

import json
import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator
from scipy.stats import t as scipy_t

from survey import clock, settings
from survey.auth.service import create_api_key
from survey.scoring import formulas

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def scores_key(db) -> str:
    _row, key = create_api_key("dashboards", ("scores",))
    db.session.commit()
    return key


@pytest.fixture
def get_scores(client, scores_key):
    def get(query: str = "", key: str | None = None):
        return client.get(
            f"/api/v1/scores?{query}", headers={"Authorization": f"Bearer {key or scores_key}"}
        )

    return get


@pytest.fixture(autouse=True)
def _fixed_now():
    clock.freeze(NOW)


def _set_min_n(db, value: int) -> None:
    settings.put("min_n", value)
    db.session.commit()


def test_scores_need_an_api_key_with_the_scores_scope(client, db, get_scores):
    assert client.get("/api/v1/scores").status_code == 401
    _row, intake_only = create_api_key("crm", ("interactions",))
    db.session.commit()
    refused = get_scores(key=intake_only)
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"


def test_answers_sent_on_the_survey_page_show_up_in_the_scores(client, invite, get_scores):
    overall = [5, 5, 4, 4, 3, 1]
    nps = [10, 9, 9, 7, 3, 0]
    for o, p in zip(overall, nps, strict=True):
        answers = {"q_attitude": "4", "q_wait_time": "4", "q_products": "4"}
        # The whole form in one post, "may we call you?" answered in it (no: no case).
        answers |= {"q_overall": str(o), "q_nps": str(p), "consent": "no"}
        assert client.post(f"/s/{invite().token}", data=answers).status_code == 200
    body = get_scores().get_json()
    assert body["min_n"] == 5
    assert body["from"] == "2026-10-31" and body["to"] == "2026-11-29"
    (group,) = body["groups"]
    low, high = formulas.wilson_interval(4, 6)
    # The mean's 95% t interval, computed here independently (t with 5 degrees of freedom).
    half = scipy_t.ppf(0.975, 5) * statistics.stdev(overall) / math.sqrt(6)
    assert group == {
        "key": {},
        "n": 6,  # the overall question only
        "csat": round(4 / 6, 4),
        "csat_low": round(low, 4),
        "csat_high": round(high, 4),
        "mean": round(22 / 6, 3),
        "mean_low": round(22 / 6 - half, 3),
        "mean_high": round(22 / 6 + half, 3),
        "nps_n": 6,
        "nps": round((3 - 2) / 6 * 100, 1),
        "nps_moe": round(formulas.nps_margin(3, 2, 6), 1),
        "ces_n": 0,
        "ces": None,
    }


def test_with_nothing_answered_there_is_one_empty_group(get_scores):
    reply = get_scores()
    assert reply.status_code == 200
    assert reply.get_json()["groups"] == [
        {
            "key": {},
            "n": 0,
            "csat": None,
            "csat_low": None,
            "csat_high": None,
            "mean": None,
            "mean_low": None,
            "mean_high": None,
            "nps_n": 0,
            "nps": None,
            "nps_moe": None,
            "ces_n": 0,
            "ces": None,
        }
    ]


def test_a_group_under_the_minimum_n_shows_counts_and_no_scores(
    db, invite, record_response, get_scores
):
    for value in (5, 4, 2):
        record_response(invite(agent="A1001"), {"overall": value, "nps": 10})
    for value in (5, 5, 5, 4, 1):
        record_response(invite(agent="A2001"), {"overall": value, "nps": 0})
    groups = {g["key"]["agent"]: g for g in get_scores("group_by=agent").get_json()["groups"]}
    small, big = groups["A1001"], groups["A2001"]
    assert (small["n"], small["nps_n"]) == (3, 3)
    assert small["csat"] is None and small["csat_low"] is None and small["mean"] is None
    assert small["nps"] is None and small["nps_moe"] is None
    assert big["n"] == 5 and big["csat"] == 0.8 and big["nps"] == -100.0
    _set_min_n(db, 3)
    groups = {g["key"]["agent"]: g for g in get_scores("group_by=agent").get_json()["groups"]}
    assert groups["A1001"]["csat"] == round(2 / 3, 4)


def test_groups_are_keyed_by_codes_not_ids(db, invite, record_response, get_scores):
    _set_min_n(db, 1)
    record_response(invite(agent="A1001"), {"overall": 5})
    record_response(invite(agent="A2001"), {"overall": 1})
    record_response(invite(agent=None), {"overall": 3})
    groups = get_scores("group_by=business_line,team,agent").get_json()["groups"]
    assert [g["key"] for g in groups] == [
        {"business_line": "corporate", "team": "corporate-complaints", "agent": "A2001"},
        {"business_line": "personal", "team": "personal-inquiries", "agent": "A1001"},
        {"business_line": None, "team": None, "agent": None},
    ]


def test_grouping_by_dimension_counts_every_rated_dimension(
    db, invite, record_response, get_scores
):
    _set_min_n(db, 1)
    record_response(invite(), {"attitude": 5, "wait_time": 1, "overall": 4, "nps": 9})
    record_response(invite(), {"attitude": 4, "wait_time": 2, "overall": 4, "nps": 10})
    groups = {
        g["key"]["dimension"]: g for g in get_scores("group_by=dimension").get_json()["groups"]
    }
    assert groups["attitude"]["n"] == 2 and groups["attitude"]["csat"] == 1.0
    assert groups["wait_time"]["csat"] == 0.0 and groups["wait_time"]["mean"] == 1.5
    assert groups[None]["n"] == 0 and groups[None]["nps_n"] == 2  # NPS has no dimension
    filtered = get_scores("dimension=wait_time").get_json()["groups"][0]
    assert (filtered["n"], filtered["csat"], filtered["nps_n"]) == (2, 0.0, 0)


def test_filters_narrow_the_answers_counted(db, invite, record_response, get_scores):
    _set_min_n(db, 1)
    record_response(invite(channel="phone"), {"overall": 5}, survey_channel="sms")
    record_response(invite(channel="chat", type="complaint"), {"overall": 1})
    record_response(invite(channel="chat", agent="A2001"), {"overall": 4})
    assert get_scores("channel=phone").get_json()["groups"][0]["n"] == 1
    assert get_scores("channel=phone,chat").get_json()["groups"][0]["n"] == 3
    assert get_scores("type=complaint").get_json()["groups"][0]["csat"] == 0.0
    assert get_scores("business_line=corporate").get_json()["groups"][0]["mean"] == 4.0
    assert get_scores("survey_channel=sms").get_json()["groups"][0]["n"] == 1
    assert get_scores("category=loan").get_json()["groups"][0]["n"] == 0


def test_days_weeks_and_months_are_the_banks(db, invite, record_response, get_scores):
    _set_min_n(db, 1)
    # 16:30 UTC on Sunday 22 November is 00:30 on Monday 23 November in Shanghai.
    record_response(
        invite(), {"overall": 5}, completed_at=datetime(2026, 11, 22, 16, 30, tzinfo=UTC)
    )
    record_response(invite(), {"overall": 3}, completed_at=datetime(2026, 10, 30, 1, 0, tzinfo=UTC))
    query = "from=2026-10-01&to=2026-11-29&group_by="
    days = [g["key"]["day"] for g in get_scores(query + "day").get_json()["groups"]]
    assert days == ["2026-10-30", "2026-11-23"]
    weeks = [g["key"]["week"] for g in get_scores(query + "week").get_json()["groups"]]
    assert weeks == ["2026-10-26", "2026-11-23"]
    months = get_scores(query + "month,channel").get_json()["groups"]
    assert [g["key"] for g in months] == [
        {"month": "2026-10", "channel": "phone"},
        {"month": "2026-11", "channel": "phone"},
    ]


def test_from_and_to_are_inclusive_days(db, invite, record_response, get_scores):
    _set_min_n(db, 1)
    for day in (1, 2, 3):
        record_response(
            invite(), {"overall": 5}, completed_at=datetime(2026, 11, day, 4, 0, tzinfo=UTC)
        )
    assert get_scores("from=2026-11-02&to=2026-11-03").get_json()["groups"][0]["n"] == 2
    assert get_scores("from=2026-11-02&to=2026-11-02").get_json()["groups"][0]["n"] == 1
    # The default range is the last 30 days, so 1 November (28 days ago) is in it.
    assert get_scores().get_json()["groups"][0]["n"] == 3
    clock.advance(timedelta(days=2))  # today is 1 December: the range starts on 2 November
    assert get_scores().get_json()["groups"][0]["n"] == 2


def test_scores_read_the_rollup_not_the_raw_answers(db, invite, record_response, get_scores):
    _set_min_n(db, 1)
    record_response(invite(), {"overall": 5})
    record_response(invite(), {"overall": 1}, apply=False)  # bulk-loaded, not yet rolled up
    assert get_scores().get_json()["groups"][0]["n"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("group_by=colour", "group_by"),
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-11-10&to=2026-11-01", "from"),
        ("business_line=nope", "business_line"),
        ("agent=Z999", "agent"),
        ("channel=fax", "channel"),
        ("dimension=mood", "dimension"),
        ("type=praise", "type"),
        ("bussiness_line=personal", "bussiness_line"),
    ],
)
def test_a_bad_parameter_gets_problem_json_naming_it(db, scoring_org, get_scores, query, field):
    reply = get_scores(query)
    assert reply.status_code == 400
    assert reply.mimetype == "application/problem+json"
    body = reply.get_json()
    assert body["status"] == 400
    assert [e["field"] for e in body["errors"]] == [field]


def _parameter_schema(client, name: str) -> Draft202012Validator:
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = document["paths"]["/scores"]["get"]["parameters"]
    schema = next(p["schema"] for p in parameters if p["name"] == name)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_an_empty_from_or_to_means_the_default_range_as_the_document_says(client, db, get_scores):
    reply = get_scores("from=&to=")
    assert reply.status_code == 200
    assert (reply.get_json()["from"], reply.get_json()["to"]) == ("2026-10-31", "2026-11-29")
    for name in ("from", "to"):
        schema = _parameter_schema(client, name)
        assert schema.is_valid("") and schema.is_valid("2026-11-29")
        assert not schema.is_valid("yesterday") and not schema.is_valid(" ")


@pytest.mark.parametrize(
    "value", ["20261129", "2026-W48-7", "2026-11-29T00:00", "１９９９-01-01", "1999-12-31"]
)
def test_a_day_is_written_2026_11_29_from_2000_on_in_the_app_and_the_document(
    client, db, get_scores, value
):
    reply = get_scores(f"to={value}")
    assert reply.status_code == 400
    assert [e["field"] for e in reply.get_json()["errors"]] == ["to"]
    assert not _parameter_schema(client, "to").is_valid(value)


def test_the_earliest_day_does_not_overflow(db, get_scores):
    reply = get_scores("to=2000-01-01")
    assert reply.status_code == 200
    assert reply.get_json()["from"] == "2000-01-01"


@pytest.mark.parametrize("name", ["channel", "agent", "dimension", "type"])
@pytest.mark.parametrize("value", ["", " ", ",", " , "])
def test_an_empty_filter_is_refused_by_the_app_and_by_the_document(
    client, db, get_scores, name, value
):
    reply = get_scores(f"{name}={value}")
    assert reply.status_code == 400
    assert [e["field"] for e in reply.get_json()["errors"]] == [name]
    assert not _parameter_schema(client, name).is_valid(value)


def test_the_document_describes_the_filter_values_the_app_takes(client, db, scoring_org):
    channel = _parameter_schema(client, "channel")
    assert (
        channel.is_valid("phone") and channel.is_valid("phone, chat") and channel.is_valid("chat,")
    )
    assert not channel.is_valid("fax") and not channel.is_valid("phone chat")
    agent = _parameter_schema(client, "agent")
    assert agent.is_valid("A1001,A2001") and not agent.is_valid("A1\u00001")
    group_by = _parameter_schema(client, "group_by")
    assert group_by.is_valid("") and group_by.is_valid("day,agent")
    assert not group_by.is_valid("colour")


def _complaint(invite, cause: str | None, **segment):
    invitation = invite(type="complaint", **segment)
    invitation.interaction.complaint_cause = cause
    return invitation


def test_scores_group_by_interaction_type_and_complaint_cause(
    db, invite, record_response, get_scores
):
    _set_min_n(db, 1)
    record_response(_complaint(invite, "process"), {"overall": 1})
    record_response(_complaint(invite, "process"), {"overall": 2})
    record_response(_complaint(invite, "attitude"), {"overall": 5})
    record_response(_complaint(invite, None), {"overall": 4})
    record_response(invite(type="inquiry"), {"overall": 5})
    groups = get_scores("group_by=type,cause").get_json()["groups"]
    assert [(g["key"], g["n"], g["mean"]) for g in groups] == [
        ({"type": "complaint", "cause": "attitude"}, 1, 5.0),
        ({"type": "complaint", "cause": "process"}, 2, 1.5),
        ({"type": "complaint", "cause": None}, 1, 4.0),
        ({"type": "inquiry", "cause": None}, 1, 5.0),
    ]
    only = get_scores("cause=process,attitude&group_by=cause").get_json()["groups"]
    assert [(g["key"]["cause"], g["n"]) for g in only] == [("attitude", 1), ("process", 2)]
    assert get_scores("cause=system").get_json()["groups"][0]["n"] == 0


def test_scores_filter_and_group_by_the_survey_answered(
    db, invite, record_response, get_scores, scoring_version
):
    from survey.designer.service import create_from_starter, publish
    from survey.designer.starters import RELATIONSHIP_NPS

    _set_min_n(db, 1)
    other = create_from_starter(RELATIONSHIP_NPS)
    db.session.flush()
    other_version = publish(other.versions[0])
    db.session.commit()
    record_response(invite(), {"overall": 5, "nps": 10})
    record_response(invite(), {"overall": 3, "nps": 8})
    record_response(invite(version=other_version), {"nps": 0})
    post, relationship = str(scoring_version.survey_id), str(other.id)
    groups = get_scores("group_by=survey").get_json()["groups"]
    assert {g["key"]["survey"]: (g["n"], g["nps_n"]) for g in groups} == {
        post: (2, 2),
        relationship: (0, 1),
    }
    (only,) = get_scores(f"survey={relationship}").get_json()["groups"]
    assert (only["nps_n"], only["nps"]) == (1, -100.0)
    both = get_scores(f"survey={post},{relationship}").get_json()["groups"][0]
    assert both["nps_n"] == 3


@pytest.mark.parametrize("value", ["999999", "abc", "1.5", "99999999999", "１"])
def test_a_survey_that_does_not_exist_is_a_problem_naming_survey(
    client, db, scoring_version, get_scores, value
):
    reply = get_scores(f"survey={value}")
    assert reply.status_code == 400
    assert [e["field"] for e in reply.get_json()["errors"]] == ["survey"]
    schema = _parameter_schema(client, "survey")
    # The document refuses what is not an id; an id of no survey it cannot know.
    assert schema.is_valid(value) == (value == "999999")


def test_the_document_lists_the_new_filters_and_groupings(client, db):
    cause = _parameter_schema(client, "cause")
    assert cause.is_valid("process,attitude") and not cause.is_valid("weather")
    group_by = _parameter_schema(client, "group_by")
    assert group_by.is_valid("type,cause,survey") and group_by.is_valid("survey, week")


def test_the_scores_log_says_which_rollup_tables_answered(
    db, invite, record_response, get_scores, caplog
):
    _set_min_n(db, 1)
    record_response(invite(), {"overall": 5})
    with caplog.at_level("DEBUG", logger="survey.scoring.queries"):
        assert get_scores("from=2026-11-01&to=2026-11-30").get_json()["groups"][0]["n"] == 1
        assert get_scores("from=2026-11-01&to=2026-11-29&group_by=agent").status_code == 200
    said = [r.getMessage() for r in caplog.records if r.name == "survey.scoring.queries"]
    assert said[0].endswith("read rollup_bank_month[2026-11-01..2026-11-01]")
    assert "rollup_agent_week[2026-11-02..2026-11-23]" in said[1]


def test_the_last_day_a_date_can_hold_does_not_overflow(db, get_scores):
    reply = get_scores("from=9999-12-01&to=9999-12-31&group_by=week")
    assert reply.status_code == 200
    assert reply.get_json()["groups"] == []
    assert get_scores("to=9999-12-31").get_json()["groups"][0]["n"] == 0


def test_a_groups_fields_come_in_the_order_the_contract_lists_them(
    db, invite, record_response, get_scores
):
    _set_min_n(db, 1)
    record_response(invite(), {"overall": 4, "nps": 9})
    reply = get_scores("group_by=dimension&compare=rest")
    body = json.loads(reply.data, object_pairs_hook=list)
    assert [name for name, _value in body][:4] == ["from", "to", "min_n", "groups"]
    group = dict(body)["groups"][0]
    assert [name for name, _value in group] == [
        "key",
        "n",
        "csat",
        "csat_low",
        "csat_high",
        "mean",
        "mean_low",
        "mean_high",
        "nps_n",
        "nps",
        "nps_moe",
        "ces_n",
        "ces",
        "compare",
    ]
    assert reply.mimetype == "application/json"
