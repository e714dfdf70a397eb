"""Drivers: each dimension's correlation with overall satisfaction, bounded and cached.

Checked against an independent computation from the raw answers (Python's own
statistics.correlation and the Fisher-z interval written out), on both databases.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.api import drivers as api_drivers
from survey.auth.service import create_api_key
from survey.extensions import db as _db
from survey.models import Answer, Interaction, Invitation, Question, Response
from survey.scoring import drivers, queries

NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
DIMENSION_KEYS = ("attitude", "wait_time", "products", "complaint_handling")


@pytest.fixture(autouse=True)
def _fixed_now():
    clock.freeze(NOW)


@pytest.fixture
def scores_key(db) -> str:
    _row, key = create_api_key("dashboards", ("scores",))
    db.session.commit()
    return key


@pytest.fixture
def get_drivers(client, scores_key):
    def get(query: str = "", key: str | None = None, **headers: str):
        return client.get(
            f"/api/v1/drivers?{query}",
            headers={"Authorization": f"Bearer {key or scores_key}", **headers},
        )

    return get


@pytest.fixture
def answered(invite, record_response):
    """Record responses with related ratings: attitude tracks overall, wait time barely."""

    def answer(count: int, seed: int = 7, agent: str = "A1001", at: datetime | None = None):
        rng = random.Random(seed)
        made = []
        for i in range(count):
            overall = rng.randint(1, 5)
            answers = {
                "overall": overall,
                "attitude": max(1, min(5, overall + rng.choice((-1, 0, 0, 1)))),
                "wait_time": rng.randint(1, 5),
                "products": rng.choice((3, 4)),
            }
            if i % 4 == 0:
                del answers["wait_time"]  # a partial answer set
            when = (at or clock.now()) - timedelta(minutes=count - i)
            made.append(record_response(invite(agent=agent), answers, completed_at=when))
        return made

    return answer


def independent(
    responses_ids: set[int] | None = None,
) -> dict[str, tuple[int, float, float, float]]:
    """Pair each dimension answer with its response's overall answer, straight from the rows."""
    rows = _db.session.execute(
        sa.select(Answer.response_id, Question.dimension, Answer.value_int)
        .join(Question, Answer.question_id == Question.id)
        .join(Response, Answer.response_id == Response.id)
        .where(
            Question.kind == "rating_5",
            Answer.value_int.is_not(None),
            Response.counted_at.is_not(None),
        )
    ).all()
    by_response: dict[int, dict[str, int]] = defaultdict(dict)
    for response_id, dimension, value in rows:
        if responses_ids is None or response_id in responses_ids:
            by_response[response_id][dimension] = value
    pairs: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for answers in by_response.values():
        if "overall" in answers:
            for dimension, value in answers.items():
                if dimension != "overall":
                    pairs[dimension].append((value, answers["overall"]))
    result = {}
    for dimension, xy in pairs.items():
        r = statistics.correlation([x for x, _ in xy], [y for _, y in xy])
        half = 1.959963984540054 / math.sqrt(len(xy) - 3)
        z = math.atanh(r)
        result[dimension] = (len(xy), r, math.tanh(z - half), math.tanh(z + half))
    return result


def by_dimension(found: drivers.Drivers) -> dict[str, drivers.Driver]:
    return {d.dimension: d for d in found.drivers}


def query(**filters: str) -> queries.ScoreQuery:
    return queries.parse(filters)


def test_drivers_match_an_independent_computation_from_the_raw_answers(db, answered):
    answered(60)
    found = drivers.drivers(query(), min_n=5)
    assert found.n_responses == 60
    expected = independent()
    got = by_dimension(found)
    for dimension in ("attitude", "wait_time"):
        n, r, low, high = expected[dimension]
        driver = got[dimension]
        assert driver.n == n
        assert (driver.r, driver.r_low, driver.r_high) == pytest.approx((r, low, high), abs=1e-12)
    assert got["attitude"].n == 60 and got["wait_time"].n == 45
    # Strongest first; attitude follows overall closely.
    assert found.drivers[0].dimension == "attitude"
    assert got["attitude"].r > 0.7
    # complaint_handling was never asked: counted as nothing, with no r.
    assert got["complaint_handling"] == drivers.Driver("complaint_handling", 0, None, None, None)


def test_drivers_read_only_the_latest_responses_up_to_the_limit(db, answered):
    made = answered(30)
    found = drivers.drivers(query(), min_n=5, limit=12)
    assert found.n_responses == 12
    latest = {response.id for response in made[-12:]}
    expected = independent(latest)
    assert by_dimension(found)["attitude"].r == pytest.approx(expected["attitude"][1], abs=1e-12)
    assert by_dimension(found)["attitude"].n == 12


def test_drivers_follow_the_filters_and_the_days(db, answered):
    first = answered(20, seed=1, agent="A1001")
    answered(25, seed=2, agent="A2001")
    answered(9, seed=3, agent="A2001", at=NOW - timedelta(days=40))
    only_first = drivers.drivers(query(agent="A1001"), min_n=5)
    assert only_first.n_responses == 20
    expected = independent({r.id for r in first})
    assert by_dimension(only_first)["attitude"].r == pytest.approx(expected["attitude"][1])
    assert drivers.drivers(query(business_line="corporate"), min_n=5).n_responses == 25
    assert drivers.drivers(query(channel="chat"), min_n=5).n_responses == 0
    assert drivers.drivers(query(survey_channel="web", type="inquiry"), min_n=5).n_responses == 45
    assert drivers.drivers(query(**{"from": "2026-10-01"}), min_n=5).n_responses == 54
    survey_id = str(first[0].invitation.version.survey_id)
    assert drivers.drivers(query(survey=survey_id), min_n=5).n_responses == 45
    assert drivers.drivers(query(cause="process"), min_n=5).n_responses == 0
    picked = drivers.drivers(query(dimension="wait_time,overall"), min_n=5)
    assert [d.dimension for d in picked.drivers] == ["wait_time"]
    assert drivers.drivers(query(dimension="overall"), min_n=5).drivers == ()


def test_partial_responses_are_not_read(db, answered, invite, record_response):
    answered(10)
    partial = record_response(invite(), {"overall": 1, "attitude": 5})
    partial.state, partial.counted_at, partial.completed_at = "partial", None, None
    db.session.commit()
    assert drivers.drivers(query(), min_n=5).n_responses == 10


def test_below_the_minimum_n_there_is_no_r(db, answered):
    answered(8)
    got = by_dimension(drivers.drivers(query(), min_n=10))
    assert got["attitude"].n == 8 and got["attitude"].r is None
    assert by_dimension(drivers.drivers(query(), min_n=5))["attitude"].r is not None


@pytest.fixture
def statements(db):
    """Every SQL statement the app sends while the test runs."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield sent
    sa.event.remove(engine, "before_cursor_execute", record)


def _scans(sent: list[str]) -> list[str]:
    return [s for s in sent if "answer" in s.lower() and "group by" in s.lower()]


def test_a_repeat_request_reads_no_answers(db, answered, statements):
    answered(20)
    statements.clear()  # recording the answers rolled them up (reading answers, on PostgreSQL)
    first = drivers.drivers(query(), min_n=5)
    assert len(_scans(statements)) == 1
    statements.clear()
    assert drivers.drivers(query(), min_n=5) is first
    assert _scans(statements) == []
    assert statements, "the watermark is still read"
    # Another filter set is another entry.
    drivers.drivers(query(agent="A1001"), min_n=5)
    assert len(_scans(statements)) == 1


def test_a_newly_counted_response_invalidates_the_cache(db, answered, invite, record_response):
    answered(20)
    before = drivers.drivers(query(), min_n=5)
    record_response(invite(), {"overall": 5, "attitude": 1, "wait_time": 5})
    after = drivers.drivers(query(), min_n=5)
    assert after.n_responses == before.n_responses + 1
    assert by_dimension(after)["attitude"].r == pytest.approx(independent()["attitude"][1])


def test_a_response_counted_in_the_past_invalidates_the_cache_too(
    db, answered, invite, record_response
):
    # A loader or a late closing may count a response before the latest one: the count moves.
    answered(20)
    before = drivers.drivers(query(), min_n=5)
    record_response(invite(), {"overall": 1, "attitude": 5}, completed_at=NOW - timedelta(days=2))
    assert drivers.drivers(query(), min_n=5).n_responses == before.n_responses + 1


def test_a_count_stamped_earlier_but_committed_later_invalidates_the_cache(
    db, answered, invite, record_response
):
    # Two workers: one stamps its count before another's latest and commits after it.
    slow = record_response(invite(), {"overall": 2, "attitude": 2}, completed_at=NOW)
    slow.state, slow.counted_at, slow.completed_at = "partial", None, None
    db.session.commit()
    answered(20)  # counted up to NOW − 1 min, with later ids
    before_mark = drivers.watermark()
    before = drivers.drivers(query(), min_n=5)
    slow.state, slow.counted_at = "completed", NOW - timedelta(minutes=1, seconds=30)
    slow.completed_at = slow.counted_at
    db.session.commit()
    after_mark = drivers.watermark()
    assert (after_mark.last_counted_at, after_mark.last_id) == (
        before_mark.last_counted_at,
        before_mark.last_id,
    )
    assert after_mark.recent == before_mark.recent + 1
    assert drivers.drivers(query(), min_n=5).n_responses == before.n_responses + 1


def test_the_cache_is_bounded(db, answered):
    answered(5)
    app_cache = drivers._cache()
    app_cache.size = 2
    for agent in ("A1001", "A2001", None):
        drivers.drivers(query(**({"agent": agent} if agent else {})), min_n=5)
    assert len(app_cache._entries) == 2


def test_every_score_filter_has_a_column_for_drivers():
    assert set(queries.FILTER_FIELDS) - {drivers.DIMENSION_FILTER} == set(drivers.FILTER_COLUMNS)
    tables = {Interaction.__table__, Response.__table__, Invitation.__table__}
    for column in drivers.FILTER_COLUMNS.values():
        assert column.table in tables


# --- the API ------------------------------------------------------------------------------


def test_the_drivers_api_answers_the_drivers_with_their_wording(db, answered, get_drivers):
    answered(30)
    body = get_drivers("agent=A1001", **{"Accept-Language": "en"}).get_json()
    expected = independent()
    assert body["n_responses"] == 30 and body["limit"] == 200_000
    assert body["wording"] == "Most closely associated with overall satisfaction"
    assert "caus" not in body["wording"].lower()
    attitude = next(d for d in body["drivers"] if d["dimension"] == "attitude")
    n, r, low, high = expected["attitude"]
    assert attitude == {
        "dimension": "attitude",
        "n": n,
        "r": round(r, 4),
        "r_low": round(low, 4),
        "r_high": round(high, 4),
    }
    assert body["drivers"][0]["dimension"] == "attitude"
    assert (
        get_drivers(**{"Accept-Language": "zh"}).get_json()["wording"] == "与总体满意度关联最密切"
    )


def test_the_drivers_api_needs_the_scores_scope(client, db, get_drivers):
    assert client.get("/api/v1/drivers").status_code == 401
    _row, intake_only = create_api_key("crm", ("interactions",))
    db.session.commit()
    assert get_drivers(key=intake_only).status_code == 403


def test_the_drivers_api_refuses_grouping_and_unknown_parameters(db, get_drivers):
    refused = get_drivers("group_by=team&agent=NOPE&colour=red")
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"
    assert {e["field"] for e in refused.get_json()["errors"]} == {"group_by", "agent", "colour"}


def test_the_drivers_api_uses_the_minimum_n_setting(db, answered, get_drivers):
    answered(8)
    settings.put("min_n", 10)
    db.session.commit()
    attitude = next(d for d in get_drivers().get_json()["drivers"] if d["dimension"] == "attitude")
    assert attitude["n"] == 8 and attitude["r"] is None


def test_the_openapi_document_lists_exactly_the_parameters_drivers_take(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/drivers"]["get"]
    assert (
        {p["name"] for p in operation["parameters"]}
        == set(api_drivers.PARAMETERS)
        == {"from", "to", *queries.FILTER_FIELDS}
    )
    assert "cause" not in operation["summary"].lower()
    assert document["components"]["schemas"]["Drivers"]["properties"]["drivers"]["items"] == {
        "$ref": "#/components/schemas/Driver"
    }
