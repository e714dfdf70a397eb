"""GET /api/v1/complaints: the complaint figures for a scores-reading key, problem JSON otherwise."""

from __future__ import annotations

from survey.scoring import complaint_cases, complaints

QUERY = "from=2026-11-01&to=2026-11-29"


def test_a_scores_key_reads_the_hand_built_figures(november_cases, client, make_api_key):
    key = make_api_key("reports", ("scores",))
    answer = client.get(f"/api/v1/complaints?{QUERY}", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["cases"] == {"total": 7, "open": 2, "resolved": 5}
    assert body["year_earlier"] == {
        "from": "2025-11-01",
        "to": "2025-11-29",
        "total": 2,
        "change": 5,
        "change_share": 2.5,
    }
    first_reply = next(c for c in body["commitments"] if c["commitment"] == "first_reply")
    assert first_reply == {
        "commitment": "first_reply",
        "limit": 24,
        "unit": "hours",
        "met": 4,
        "missed": 2,
        "pending": 1,
        "decided": 6,
        "share_met": 0.6667,
    }
    assert body["first_contact"] == {"resolved": 5, "first_contact": 1, "rate": 0.2}
    expected = complaints.as_json(
        complaint_cases.report(complaint_cases.parse({"from": "2026-11-01", "to": "2026-11-29"}), 5)
    )
    assert body == expected


def test_without_a_key_or_the_scores_scope_nothing_is_read(november_cases, client, make_api_key):
    assert client.get(f"/api/v1/complaints?{QUERY}").status_code == 401
    key = make_api_key("intake", ("interactions",))
    refused = client.get(f"/api/v1/complaints?{QUERY}", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"


def test_a_filter_cases_lack_is_a_400_naming_it(client, make_api_key):
    key = make_api_key("reports", ("scores",))
    answer = client.get(
        "/api/v1/complaints?type=inquiry&category=cars", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 400 and answer.mimetype == "application/problem+json"
    assert {e["field"] for e in answer.get_json()["errors"]} == {"type", "category"}
