"""Open complaint cases added up in SQL give the figures of working them out one by one.

The hand-built open cases sit on each boundary the database decides (opened at the instant
a commitment turns from missed to pending, a microsecond before; replied exactly N hours
after the opening, a microsecond later, from an opening with a fraction of a second); the
bank's zone is Asia/Shanghai, Monday 9 November 2026 a holiday and Saturday the 14th a
make-up day, now Sunday 29 November 2026 at noon.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from survey import clock
from survey.scoring import complaint_cases, complaint_open, complaints
from survey.workcal import WorkCalendar
from tests.fixtures.complaints import NOW, at, case_maker
from tests.fixtures.scoring import add_two_lines, invitation_maker, publish_post_interaction

CALENDAR = WorkCalendar.build("Asia/Shanghai", ["2026-11-09"], ["2026-11-14"])
LIMITS = complaints.Limits(24, 5, 15)
MICROSECOND = timedelta(microseconds=1)


@pytest.mark.parametrize(
    "now",
    [
        NOW,
        at("2026-11-23 00:00"),  # midnight, the start of a day
        at("2026-11-15 00:00"),  # the deadline of a case opened on Friday the 6th
        at("2026-11-10 08:00"),  # the day after the holiday
        at("2026-11-14 23:59:59.999999"),
    ],
)
def test_an_open_case_is_pending_exactly_when_opened_at_or_after_the_instant_found(now):
    found = complaint_open.pending_from(LIMITS, CALENDAR, now)
    opened = at("2026-10-20 00:00")
    while opened < at("2026-12-05 00:00"):
        for moment in (opened, opened - MICROSECOND):
            case = complaints.Case(opened_at=moment)
            outcomes = complaints.outcomes(case, LIMITS, CALENDAR, now)
            assert outcomes == {
                "first_reply": "pending" if moment >= found.first_reply else "missed",
                "final": "pending" if moment >= found.final else "missed",
                "regulator": "pending" if moment >= found.regulator else "missed",
            }, (now, moment)
        opened += timedelta(minutes=30)


def test_the_first_pending_days_follow_the_holiday_and_the_makeup_day():
    found = complaint_open.pending_from(LIMITS, CALENDAR, NOW)
    assert found.first_reply == NOW - timedelta(hours=24)
    # Opened Sun 22: Mon 23 … Fri 27 are its five working days, over on Saturday the 28th.
    assert found.final == at("2026-11-23 00:00")
    # Opened on the 14th: 15 days after it end with the 29th.
    assert found.regulator == at("2026-11-14 00:00")
    earlier = complaint_open.pending_from(LIMITS, CALENDAR, at("2026-11-13 12:00"))
    # Opened Wed 4: Thu 5, Fri 6, (Mon 9 a holiday) Tue 10, Wed 11, Thu 12 — over; Thu 5's
    # fifth is Sat 14, the make-up day.
    assert earlier.final == at("2026-11-05 00:00")


@pytest.fixture(scope="module")
def bank(module_app):
    """Open cases on every boundary, one with an answer (its post was surveyed meanwhile), and
    two cases a year earlier (one open, one resolved); built once per database: every test here
    only reads them."""
    clock.freeze(NOW)
    make_case = case_maker(invitation_maker(publish_post_interaction(), add_two_lines()))
    fraction = at("2026-11-24 10:00:00.999999")
    made = {
        "reply pending": make_case(NOW - timedelta(hours=24)),
        "reply missed": make_case(NOW - timedelta(hours=24) - MICROSECOND),
        "final pending": make_case(at("2026-11-23 00:00"), at("2026-11-23 01:00")),
        "final missed": make_case(at("2026-11-23 00:00") - MICROSECOND),
        "regulator pending": make_case(at("2026-11-14 00:00"), category="loan", cause=None),
        "regulator missed": make_case(at("2026-11-14 00:00") - MICROSECOND, category=None),
        "replied in time": make_case(fraction, fraction + timedelta(hours=24), rating=5),
        "replied late": make_case(fraction, fraction + timedelta(hours=24) + MICROSECOND, rating=2),
        "no opening time": make_case(None, rating=4),
        "resolved, not stamped": make_case(at("2026-11-16 09:00"), None, at("2026-11-18 09:00")),
    }
    # Opened a year earlier: outside the period the tests ask for, counted in its year_earlier.
    make_case(at("2025-11-10 10:00"))
    make_case(at("2025-11-11 10:00"), None, at("2025-11-12 10:00"))
    return made


@pytest.fixture
def open_cases(bank):
    """The module's cases, read at NOW (the conftest frees the clock for each test)."""
    clock.freeze(NOW)
    return bank


def _both_ways(**filters: str) -> tuple[dict, dict]:
    query = complaint_cases.parse({"from": "2026-11-01", "to": "2026-11-29", **filters})
    return (
        complaints.as_json(complaint_cases.report(query, 1)),
        complaints.as_json(complaint_cases.report_from_cases(query, 1)),
    )


def test_open_cases_on_every_boundary_give_the_case_by_case_figures(open_cases):
    added_up, one_by_one = _both_ways()
    assert added_up == one_by_one
    found = {
        c["commitment"]: (c["met"], c["missed"], c["pending"]) for c in added_up["commitments"]
    }
    assert found == {
        # met: final pending (replied in an hour), replied in time; pending: reply pending,
        # no opening time; the resolved one answered by its resolution two days in: missed
        "first_reply": (2, 6, 2),
        # met: the resolved one; missed: final missed and both regulator cases
        "final": (1, 3, 6),
        "regulator": (1, 1, 8),
    }
    assert added_up["cases"] == {"total": 10, "open": 9, "resolved": 1}
    # The answered open cases: 5 (met, pending, pending), 2 (missed, pending, pending) and
    # 4 (pending, pending, pending): every one satisfied or not, none met or missed but
    # on the first reply.
    assert added_up["satisfaction"]["n"] == 3
    by_commitment = {m["commitment"]: m for m in added_up["met_versus_missed"]}
    assert by_commitment["first_reply"]["met"]["n"] == 1
    assert by_commitment["first_reply"]["missed"]["n"] == 1
    assert by_commitment["final"]["met"]["n"] == by_commitment["final"]["missed"]["n"] == 0
    assert {s["key"]: s["cases"] for s in added_up["by_category"]}[None] == 1
    assert {s["key"]: s["cases"] for s in added_up["by_cause"]}[None] == 1


@pytest.mark.parametrize(
    "filters", [{"category": "loan"}, {"cause": "process"}, {"survey_channel": "sms"}]
)
def test_filtered_open_cases_give_the_case_by_case_figures(open_cases, filters):
    added_up, one_by_one = _both_ways(**filters)
    assert added_up == one_by_one


def test_a_year_earlier_counts_its_open_and_resolved_cases(open_cases):
    added_up, one_by_one = _both_ways()
    assert added_up == one_by_one
    assert added_up["year_earlier"]["total"] == 2
