"""Complaint KPIs: cases (not posts) against the three commitments, on the admin's calendar.

The hand-built cases (tests/fixtures/complaints.py, ``november_cases``) are worked out by hand in their comments; the bank's zone is
Asia/Shanghai, Monday 9 November 2026 is a holiday and Saturday the 14th a make-up day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from survey import settings
from survey.scoring import complaint_cases, complaints, queries, stats
from survey.scoring.compare import Counts
from survey.workcal import WorkCalendar
from tests.fixtures.complaints import NOW, at

CALENDAR = WorkCalendar.build("Asia/Shanghai", ["2026-11-09"], ["2026-11-14"])
LIMITS = complaints.Limits(24, 5, 15)


def outcomes_of(case: complaints.Case, now: datetime = NOW) -> dict[str, str]:
    return complaints.outcomes(case, LIMITS, CALENDAR, now)


# --- deadlines, one case at a time (pure) ---------------------------------------------------


def test_friday_evening_case_counts_working_days_past_a_holiday_and_onto_a_makeup_saturday():
    case = complaints.Case(opened_at=at("2026-11-06 20:00"))
    due = complaints.deadlines(case, LIMITS, CALENDAR)
    # 24 calendar hours, whatever the day.
    assert due["first_reply"].due == at("2026-11-07 20:00")
    # Day 0 Fri 6; Mon 9 a holiday; Tue 10, Wed 11, Thu 12, Fri 13, Sat 14 (make-up) = 5.
    assert due["final"].due == at("2026-11-15 00:00")
    # 15 calendar days after the 6th: the end of the 21st.
    assert due["regulator"].due == at("2026-11-22 00:00")


def test_a_reply_exactly_24_hours_later_is_in_time_a_second_later_is_not():
    opened = at("2026-11-02 09:00")
    exactly = complaints.Case(opened_at=opened, first_reply_at=opened + timedelta(hours=24))
    late = complaints.Case(opened_at=opened, first_reply_at=opened + timedelta(hours=24, seconds=1))
    assert outcomes_of(exactly)["first_reply"] == "met"
    assert outcomes_of(late)["first_reply"] == "missed"


def test_resolved_in_the_last_second_of_the_fifth_working_day_is_met_at_midnight_missed():
    opened = at("2026-11-02 09:00")  # Mon; Tue 3 … Fri 6 = 4, Mon 9 holiday, Tue 10 = 5
    last_second = complaints.Case(opened_at=opened, resolved_at=at("2026-11-10 23:59:59"))
    midnight = complaints.Case(opened_at=opened, resolved_at=at("2026-11-11 00:00"))
    assert outcomes_of(last_second)["final"] == "met"
    assert outcomes_of(midnight)["final"] == "missed"
    assert outcomes_of(midnight)["regulator"] == "met"  # the 17th's end is the limit


def test_an_open_case_is_pending_inside_its_deadline_and_missed_after_it():
    case = complaints.Case(opened_at=at("2026-11-26 10:00"))  # Thu
    assert outcomes_of(case, at("2026-11-27 10:00")) == {
        "first_reply": "pending",  # exactly at the 24th hour: still in time
        "final": "pending",
        "regulator": "pending",
    }
    assert outcomes_of(case, at("2026-11-27 10:00:01"))["first_reply"] == "missed"
    # Fri 27, Mon 30, Tue 1, Wed 2, Thu 3 December: pending until that day ends.
    assert outcomes_of(case, at("2026-12-03 23:59"))["final"] == "pending"
    assert outcomes_of(case, at("2026-12-04 00:00"))["final"] == "missed"


def test_a_case_resolved_at_first_contact_was_answered_by_its_resolution():
    case = complaints.Case(
        opened_at=at("2026-11-03 10:00"),
        resolved_at=at("2026-11-03 10:10"),
        resolved_first_contact=True,
    )
    assert outcomes_of(case) == {"first_reply": "met", "final": "met", "regulator": "met"}


def test_the_same_days_a_year_earlier_keep_29_february_inside_the_month():
    assert complaints.year_earlier(date(2026, 11, 1), date(2026, 11, 29)) == (
        date(2025, 11, 1),
        date(2025, 11, 29),
    )
    assert complaints.year_earlier(date(2028, 2, 1), date(2028, 2, 29)) == (
        date(2027, 2, 1),
        date(2027, 2, 28),
    )


# --- significance of met against missed (pure) ----------------------------------------------


def test_met_against_missed_is_marked_exactly_where_the_bh_q_value_is_below_005():
    ratings = {
        # Met 40 of 50 satisfied, missed 8 of 30: clearly apart.
        "first_reply": {"met": Counts(50, 0, 0, 40, 5), "missed": Counts(30, 0, 0, 8, 15)},
        # 20/30 against 15/30: p about 0.19, not marked.
        "final": {"met": Counts(30, 0, 0, 20, 5), "missed": Counts(30, 0, 0, 15, 8)},
        # Missed 4 of 4, too few to score: no test at all.
        "regulator": {"met": Counts(60, 0, 0, 30, 10), "missed": Counts(4, 0, 0, 4, 0)},
    }
    found = {m.commitment: m for m in complaints.met_versus_missed(ratings, min_n=5)}
    p = [
        stats.csat_test(40, 50, 8, 30).p_value,
        stats.csat_test(20, 30, 15, 30).p_value,
    ]
    q = stats.bh_qvalues(p)
    assert found["first_reply"].q_value == pytest.approx(q[0])
    assert found["final"].q_value == pytest.approx(q[1])
    assert q[0] < 0.05 <= q[1]
    assert found["first_reply"].mark == "▲" and found["first_reply"].difference == pytest.approx(
        40 / 50 - 8 / 30
    )
    assert found["final"].mark is None
    assert found["regulator"].p_value is None and found["regulator"].mark is None
    assert found["regulator"].missed.n == 4 and found["regulator"].missed.csat is None


def test_missed_cases_happier_than_met_ones_are_marked_down():
    ratings = {"final": {"met": Counts(40, 0, 0, 8, 20), "missed": Counts(40, 0, 0, 32, 2)}}
    (found,) = complaints.met_versus_missed(ratings, min_n=5)
    assert found.mark == "▼" and found.q_value < 0.05


# --- the hand-built bank, read from the database ----------------------------------------------


def period(**filters: str) -> queries.ScoreQuery:
    return complaint_cases.parse({"from": "2026-11-01", "to": "2026-11-29", **filters})


def test_hand_built_cases_give_the_hand_worked_kpis(november_cases):
    found = complaint_cases.report(period(), min_n=5)
    assert (found.total, found.open, found.resolved) == (7, 2, 5)
    by_commitment = {c.key: (c.met, c.missed, c.pending, c.decided) for c in found.commitments}
    assert by_commitment == {
        "first_reply": (4, 2, 1, 6),  # A E G H met; B C missed; D pending
        "final": (3, 2, 2, 5),  # A E H met; B G missed; C D pending
        "regulator": (4, 1, 2, 5),  # A B E H met; G missed; C D pending
    }
    shares = {c.key: c.share_met for c in found.commitments}
    assert shares == {"first_reply": 4 / 6, "final": 3 / 5, "regulator": 4 / 5}
    assert {c.key: c.limit for c in found.commitments} == {
        "first_reply": 24,
        "final": 5,
        "regulator": 15,
    }
    assert found.first_contact == 1 and found.first_contact_rate == 1 / 5
    categories = {s.key: s.cases for s in found.by_category}
    assert categories == {"account": 2, "credit_card": 2, "e_banking": 1, "loan": 1, "other": 1}
    causes = {s.key: (s.cases, s.share) for s in found.by_cause}
    assert causes == {
        "attitude": (1, 1 / 7),
        "process": (3, 3 / 7),
        "system": (1, 1 / 7),
        "other": (1, 1 / 7),
        None: (1, 1 / 7),  # H has no cause given
    }
    # Ratings 5, 2, 4, 1, 4 (A B E G H): 3 of 5 satisfied.
    assert found.satisfaction.n == 5 and found.satisfaction.csat == 3 / 5
    assert found.year_earlier.total == 2 and found.year_earlier.change == 5
    assert found.year_earlier.change_share == 5 / 2


def test_below_min_n_met_and_missed_show_counts_and_no_score(november_cases):
    found = complaint_cases.report(period(), min_n=5)
    first = next(m for m in found.met_versus_missed if m.commitment == "first_reply")
    assert (first.met.n, first.missed.n) == (4, 1)  # A E G H answered; B answered
    assert first.met.csat is None and first.missed.csat is None and first.mark is None
    everyone = complaint_cases.report(period(), min_n=6)
    assert everyone.satisfaction.n == 5 and everyone.satisfaction.csat is None


def test_filters_apply_to_the_case_its_posts_or_its_answers(november_cases):
    assert complaint_cases.report(period(category="credit_card"), 1).total == 2
    assert complaint_cases.report(period(cause="process"), 1).total == 3
    assert complaint_cases.report(period(business_line="personal"), 1).total == 1  # H
    assert complaint_cases.report(period(agent="A1001"), 1).total == 1
    assert complaint_cases.report(period(channel="chat"), 1).total == 1  # B
    by_sms = complaint_cases.report(period(survey_channel="sms"), 1)
    # Every case still counts; no answer came by SMS.
    assert by_sms.total == 7 and by_sms.satisfaction.n == 0


def test_the_year_earlier_comparison_follows_the_same_filters(november_cases):
    found = complaint_cases.report(period(cause="process"), 1)
    assert found.year_earlier.total == 2  # both 2025 cases are "process"
    assert found.year_earlier.date_from == date(2025, 11, 1)
    assert complaint_cases.report(period(cause="system"), 1).year_earlier.change_share is None


def test_the_deadline_settings_change_the_outcomes(november_cases, db):
    settings.put("complaint_first_reply_hours", 48)
    settings.put("complaint_final_working_days", 10)
    db.session.commit()
    found = complaint_cases.report(period(), min_n=5)
    by_commitment = {c.key: (c.met, c.missed, c.pending) for c in found.commitments}
    assert by_commitment["first_reply"] == (5, 1, 1)  # B is in time within 48 h
    assert by_commitment["final"] == (
        4,
        1,
        2,
    )  # B by the end of Mon 16 (10 working days); G still late


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"type": "inquiry"}, "type"),
        ({"dimension": "attitude"}, "dimension"),
        ({"group_by": "team"}, "group_by"),
        ({"category": "cars"}, "category"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "from"),
    ],
)
def test_a_filter_cases_do_not_have_is_refused_by_name(app, args, field):
    with pytest.raises(queries.QueryError) as refused:
        complaint_cases.parse(args)
    assert field in [e["field"] for e in refused.value.errors]


def test_opened_at_day_boundaries_are_the_banks_zone():
    opened = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 November in Shanghai
    assert CALENDAR.local_day(opened) == date(2026, 11, 1)
