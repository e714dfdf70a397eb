"""The complaints rollup: the figures it gives are the case-by-case figures, to the digit.

Random sequences of what happens to complaint cases (posts that open, reply to, resolve
and re-assess them through the API; answers about them arriving after the resolution;
the clock moving them past their deadlines while open; the commitments and the calendar
changed, with and without the restamp that saving the settings does) must leave
``complaint_cases.report`` (the rollup and the open cases) equal to
``complaint_cases.report_from_cases`` (every case read and worked out) for every filter,
and the rollup kept step by step equal to one rebuilt from scratch.
"""

from __future__ import annotations

import itertools
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from survey import clock, settings, workcal
from survey.extensions import db
from survey.models import (
    ComplaintCase,
    ComplaintRollup,
    Customer,
    Interaction,
    Invitation,
    Response,
)
from survey.scoring import complaint_cases, complaint_outcomes, complaint_rollup, complaints
from tests.fixtures.dispatch import interaction_body

# For the order the test workers take the modules in (tests/conftest.py): long tests.
TEST_WEIGHT = 30

START = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # noon in Shanghai
# Whole months (month rows only), days inside one month (day rows), and both.
PERIODS = [("2026-10-01", "2026-12-31"), ("2026-11-12", "2026-11-19"), ("2026-10-15", "2026-12-10")]
FILTERS: list[dict[str, str]] = [
    {},
    {"category": "credit_card"},
    {"cause": "process"},
    {"business_line": "personal"},
    {"team": "corporate-inquiries"},
    {"survey_channel": "web"},
]
CATEGORIES = ["credit_card", "loan", "account"]
CAUSES = ["process", "attitude", "system"]
TEAMS = {"personal-complaints": "personal", "corporate-inquiries": "corporate"}
_serial = itertools.count(1)

opened_ago = st.one_of(st.integers(0, 500), st.integers(365 * 24, 365 * 24 + 500))
step = st.one_of(
    st.tuples(
        st.just("open"),
        opened_ago,
        st.booleans(),  # with an opening time (else it counts from its first post)
        st.sampled_from(CATEGORIES),
        st.sampled_from(CAUSES),
        st.sampled_from(sorted(TEAMS)),
        st.sampled_from([None, 0, 3, 30, 200]),  # resolved on the first post, so many hours in
    ),
    st.tuples(st.just("reply"), st.integers(0, 20), st.integers(0, 60)),
    st.tuples(
        st.just("resolve"), st.integers(0, 20), st.integers(0, 400), st.sampled_from([None, True])
    ),
    st.tuples(st.just("reassess"), st.integers(0, 20), st.sampled_from(CAUSES), st.booleans()),
    st.tuples(
        st.just("answer"), st.integers(0, 20), st.integers(1, 5), st.sampled_from(["web", "sms"])
    ),
    st.tuples(st.just("clock"), st.integers(1, 200)),
    st.tuples(
        st.just("settings"),
        st.sampled_from([24, 48]),
        st.sampled_from([5, 3]),
        st.sampled_from([[], ["2026-11-16"]]),
        st.booleans(),  # restamped, as saving the settings form does
    ),
)


def test_a_period_reads_whole_months_from_month_rows_and_the_days_around_them_from_day_rows():
    d = date.fromisoformat
    assert complaint_rollup.periods(d("2026-10-01"), d("2026-12-31")) == [
        ("month", d("2026-10-01"), d("2026-12-01"))
    ]
    assert complaint_rollup.periods(d("2026-11-12"), d("2026-11-19")) == [
        ("day", d("2026-11-12"), d("2026-11-19"))
    ]
    assert complaint_rollup.periods(d("2026-11-01"), d("2026-11-29")) == [
        ("day", d("2026-11-01"), d("2026-11-29"))
    ]
    assert complaint_rollup.periods(d("2025-12-07"), d("2026-12-06")) == [
        ("month", d("2026-01-01"), d("2026-11-01")),
        ("day", d("2025-12-07"), d("2025-12-31")),
        ("day", d("2026-12-01"), d("2026-12-06")),
    ]
    assert complaint_rollup.periods(d("2024-02-01"), d("2024-02-29")) == [
        ("month", d("2024-02-01"), d("2024-02-01"))
    ]


def _iso(at: datetime) -> str:
    return at.isoformat()


class Bank:
    """The cases one example made, posted through the API as the complaint system would."""

    def __init__(self, post_interaction, record_response) -> None:
        self.post_interaction = post_interaction
        self.record_response = record_response
        self.cases: list[dict[str, Any]] = []

    def post(self, case: dict[str, Any], **block: Any) -> None:
        body = interaction_body(
            external_id=f"CMP-POST-{next(_serial)}",
            type="complaint",
            team=case["team"],
            business_line=TEAMS[case["team"]],
            category=case["category"],
            complaint={"case_id": case["case_id"], **block},
        )
        body["customer"]["external_id"] = case["customer"]
        body["customer"]["phone"] = None
        body["occurred_at"] = _iso(clock.now())
        response = self.post_interaction(body)
        assert response.status_code == 201, response.get_json()
        db.session.rollback()

    def pick(self, index: int) -> dict[str, Any] | None:
        return self.cases[index % len(self.cases)] if self.cases else None

    def run(self, action: tuple) -> None:
        kind, *args = action
        now = clock.now()
        if kind == "open":
            ago, with_opened, category, cause, team, resolved_in = args
            serial = next(_serial)
            case = {
                "case_id": f"CMP-R-{serial}",
                "customer": f"C-R-{serial}",
                "team": team,
                "category": category,
                "opened": now - timedelta(hours=ago) if with_opened else now,
                "replied": False,
                "resolved": False,
            }
            self.cases.append(case)
            block: dict[str, Any] = {"cause": cause}
            if with_opened:
                block["opened_at"] = _iso(case["opened"])
            if resolved_in is not None:
                block["resolved_at"] = _iso(min(now, case["opened"] + timedelta(hours=resolved_in)))
                block["resolved_first_contact"] = resolved_in == 0
                case["resolved"] = True
            self.post(case, **block)
        elif kind == "reply" and (case := self.pick(args[0])) and not case["replied"]:
            at = min(now, case["opened"] + timedelta(hours=args[1]))
            case["replied"] = True
            self.post(case, first_reply_at=_iso(at))
        elif kind == "resolve" and (case := self.pick(args[0])) and not case["resolved"]:
            at = min(now, case["opened"] + timedelta(hours=args[1]))
            case["resolved"] = True
            block = {"resolved_at": _iso(at)}
            if args[2] is not None:
                block["resolved_first_contact"] = args[2]
            self.post(case, **block)
        elif kind == "reassess" and (case := self.pick(args[0])):
            self.post(case, cause=args[1], resolved_first_contact=args[2])
        elif kind == "answer" and (case := self.pick(args[0])):
            self.answer(case["case_id"], args[1], args[2])
        elif kind == "clock":
            clock.freeze(now + timedelta(hours=args[0]))
        elif kind == "settings":
            first_reply, final, holidays, restamp = args
            settings.put("complaint_first_reply_hours", first_reply)
            settings.put("complaint_final_working_days", final)
            settings.put("holidays", holidays)
            db.session.commit()
            if restamp:  # as a worker does after the settings form is saved: batch by batch
                complaint_outcomes.restamp(
                    db.session, complaint_cases.limits(), workcal.from_settings()
                )

    def answer(self, case_id: str, rating: int, channel: str) -> None:
        """Answer the survey of one of the case's posts not answered yet (sent once resolved)."""
        invitation = db.session.scalars(
            sa.select(Invitation)
            .join(Interaction, Interaction.id == Invitation.interaction_id)
            .join(ComplaintCase, ComplaintCase.id == Interaction.complaint_case_id)
            .outerjoin(Response, Response.invitation_id == Invitation.id)
            .where(ComplaintCase.case_id == case_id, Response.id.is_(None))
            .limit(1)
        ).first()
        if invitation is None:
            return
        keys = {q.dimension: q.key for q in invitation.version.questions if q.kind == "rating_5"}
        answers = {keys["complaint_handling"]: rating}
        if "overall" in keys:
            answers[keys["overall"]] = rating
        self.record_response(invitation, answers, completed_at=clock.now(), survey_channel=channel)
        db.session.commit()


def _figures_agree() -> None:
    for (first, last), filters in itertools.product(PERIODS, FILTERS):
        query = complaint_cases.parse({"from": first, "to": last, **filters})
        for min_n in (1, 5):
            fast = complaints.as_json(complaint_cases.report(query, min_n))
            slow = complaints.as_json(complaint_cases.report_from_cases(query, min_n))
            assert fast == slow, (first, last, filters, min_n)


def _rollup_rows() -> dict[tuple, tuple]:
    r = ComplaintRollup.__table__
    rows = db.session.execute(sa.select(r)).mappings().all()
    found = {}
    for row in rows:
        counts = tuple(int(row[c]) for c in ("cases", "n", "total", "total_sq", "top", "bottom"))
        if any(counts):
            found[tuple(str(row[c]) for c in complaint_rollup.KEY_COLUMNS)] = counts
    return found


def _day_rows() -> dict[tuple, tuple]:
    """The rows of the day grain (every count is also in a month row)."""
    return {k: v for k, v in _rollup_rows().items() if k[1] == "day"}


def _kept_equals_rebuilt() -> None:
    kept = _rollup_rows()
    complaint_rollup.rebuild(db.session)
    rebuilt = _rollup_rows()
    db.session.rollback()
    # Rows of the current basis must agree; rows of an older one are never read, and a
    # post moving a case off one keeps them only approximately (a restamp rebuilds them).
    current = complaint_outcomes.basis(complaint_cases.limits(), workcal.from_settings())
    assert {k: v for k, v in kept.items() if k[0] == current} == {
        k: v for k, v in rebuilt.items() if k[0] == current
    }


@pytest.fixture
def complaint_bank(dispatch_ready, post_interaction, record_response):
    clock.freeze(START)
    return Bank(post_interaction, record_response)


@hypothesis_settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_rollup_figures_equal_the_case_by_case_figures_after_any_case_events(complaint_bank, steps):
    clock.freeze(START)
    complaint_bank.cases = []
    for action in steps:
        complaint_bank.run(action)
    _figures_agree()
    _kept_equals_rebuilt()


def test_an_answer_after_the_resolution_counts_in_the_rollup(complaint_bank):
    complaint_bank.run(("open", 50, True, "loan", "process", "personal-complaints", 10))
    before = _day_rows()
    assert sum(v[0] for v in before.values()) == 1  # the case, stamped by its resolving post
    complaint_bank.answer(complaint_bank.cases[0]["case_id"], 5, "web")
    after = _day_rows()
    assert sum(v[1] for v in after.values()) == 1 and sum(v[4] for v in after.values()) == 1
    _figures_agree()


def test_an_open_case_crossing_its_deadlines_is_worked_out_at_now(complaint_bank):
    complaint_bank.run(("open", 0, True, "loan", "process", "personal-complaints", None))
    query = complaint_cases.parse({"from": "2026-11-01", "to": "2026-11-30"})
    pending = complaints.as_json(complaint_cases.report(query, 1))["commitments"][0]
    assert (pending["pending"], pending["missed"]) == (1, 0)
    complaint_bank.run(("clock", 25))
    missed = complaints.as_json(complaint_cases.report(query, 1))["commitments"][0]
    assert (missed["pending"], missed["missed"]) == (0, 1)
    _figures_agree()


def test_the_migration_adds_up_the_cases_already_stamped(complaint_bank):
    from flask_migrate import downgrade, upgrade

    for hours in (0, 30, 200):
        complaint_bank.run(("open", 300, True, "loan", "process", "personal-complaints", hours))
        complaint_bank.answer(complaint_bank.cases[-1]["case_id"], 2 + hours % 4, "web")
    complaint_bank.run(("open", 10, False, "account", "system", "corporate-inquiries", None))
    kept = _rollup_rows()
    days = _day_rows()
    assert sum(v[0] for v in days.values()) == 3 and sum(v[1] for v in days.values()) == 3
    db.session.remove()
    downgrade(revision="b3f8d2c6e1a9")  # before the complaints rollup, then up again
    upgrade()
    assert _rollup_rows() == kept
    _figures_agree()


def _stamp_cases(count: int) -> None:
    """``count`` stamped cases, about twenty a day back from START, each a key of its own."""
    customer = Customer(external_id=f"C-rollup-{count}")
    db.session.add(customer)
    db.session.flush()
    basis = complaint_outcomes.basis(complaint_cases.limits(), workcal.from_settings())
    db.session.execute(
        sa.insert(ComplaintCase),
        [
            {
                "case_id": f"CASE-{count}-{n}",
                "customer_id": customer.id,
                "opened_at": START - timedelta(days=n // 20, minutes=n % 20),
                "resolved_at": START,
                "category": CATEGORIES[n % 3],
                "cause": f"cause-{n % 20}",
                "resolved_first_contact": n % 2 == 0,
                "first_reply_outcome": "met",
                "final_outcome": "met",
                "regulator_outcome": "met",
                "outcomes_basis": basis,
            }
            for n in range(count)
        ],
    )


def _rebuild_peak() -> int:
    tracemalloc.start()
    try:
        complaint_rollup.rebuild(db.session)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_rebuild_holds_as_much_for_a_long_history_as_for_a_short_one(db):
    # Issue 11: the rebuild held every key of the history in Python, then a list of every
    # row; four times the days (same cases a day) must not take much more memory.
    _stamp_cases(4_000)
    small = _rebuild_peak()
    rows = _rollup_rows()
    assert sum(v[0] for k, v in rows.items() if k[1] == "day") == 4_000
    assert sum(v[0] for k, v in rows.items() if k[1] == "month") == 4_000
    _stamp_cases(16_000)
    large = _rebuild_peak()
    assert sum(v[0] for k, v in _rollup_rows().items() if k[1] == "month") == 20_000
    assert large < 1.5 * small, (small, large)
