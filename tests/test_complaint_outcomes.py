"""Resolved complaint cases' stored outcomes: the same figures as working each case out.

The hand-built bank (tests/fixtures/complaints.py) is made straight in the database, so
its cases start unstamped and are worked out one by one; ``refresh`` stamps the
resolved ones, after which the figures are added up in SQL and must not change by a digit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings, workcal
from survey.extensions import db
from survey.models import ComplaintCase, ComplaintRollup
from survey.scoring import complaint_cases, complaint_outcomes, complaints
from tests.fixtures.admin import settings_form
from tests.fixtures.dispatch import interaction_body, sweep_at

FILTERS = [
    {},
    {"category": "credit_card"},
    {"cause": "process"},
    {"business_line": "personal"},
    {"agent": "A1001"},
    {"channel": "chat"},
    {"survey_channel": "sms"},
    {"survey_channel": "web"},
]


def _figures(min_n: int = 1, **filters: str) -> dict:
    query = complaint_cases.parse({"from": "2026-11-01", "to": "2026-11-29", **filters})
    return complaints.as_json(complaint_cases.report(query, min_n))


def _refresh() -> int:
    done = complaint_outcomes.refresh(db.session, complaint_cases.limits(), workcal.from_settings())
    db.session.commit()
    return done


def _stamps() -> dict[str, tuple]:
    rows = db.session.execute(
        sa.select(
            ComplaintCase.case_id,
            ComplaintCase.first_reply_outcome,
            ComplaintCase.final_outcome,
            ComplaintCase.regulator_outcome,
            ComplaintCase.outcomes_basis,
        )
    ).all()
    return {case_id: tuple(rest) for case_id, *rest in rows}


@pytest.mark.parametrize("min_n", [1, 5])
def test_stamped_cases_give_the_same_figures_as_working_each_case_out(november_cases, min_n):
    before = {str(f): _figures(min_n, **f) for f in FILTERS}
    assert all(basis is None for *_, basis in _stamps().values())
    # Five resolved cases (A B E G H); the open ones and the year earlier's stay unstamped.
    assert _refresh() == 5
    stamped = [s for s in _stamps().values() if s[-1] is not None]
    assert len(stamped) == 5 and all(None not in s for s in stamped)
    after = {str(f): _figures(min_n, **f) for f in FILTERS}
    assert after == before
    assert after["{}"]["commitments"][0]["pending"] == 1  # D: opened this morning


def test_stamps_are_the_outcomes_worked_out_case_by_case(november_cases):
    _refresh()
    limits, calendar = complaint_cases.limits(), workcal.from_settings()
    for case in db.session.scalars(sa.select(ComplaintCase)):
        if case.resolved_at is None:
            assert case.outcomes_basis is None
            continue
        worked = complaints.outcomes(
            complaints.Case(
                case.opened_at or case.created_at, case.first_reply_at, case.resolved_at
            ),
            limits,
            calendar,
            clock.now(),
        )
        assert (case.first_reply_outcome, case.final_outcome, case.regulator_outcome) == (
            worked["first_reply"],
            worked["final"],
            worked["regulator"],
        )


def test_cases_stamped_under_other_settings_are_worked_out_again(november_cases):
    _refresh()
    settings.put("complaint_first_reply_hours", 48)
    settings.put("complaint_final_working_days", 10)
    db.session.commit()
    found = {
        c["commitment"]: (c["met"], c["missed"], c["pending"]) for c in _figures()["commitments"]
    }
    # As tests/test_complaints.py works them out under these settings.
    assert found["first_reply"] == (5, 1, 1)
    assert found["final"] == (4, 1, 2)
    # Stamped again, the figures stay.
    assert _refresh() == 5
    again = {
        c["commitment"]: (c["met"], c["missed"], c["pending"]) for c in _figures()["commitments"]
    }
    assert again == found


def test_saving_the_settings_form_leaves_the_restamp_to_a_worker_and_the_figures_stay_right(
    november_cases, admin_client
):
    _refresh()
    old = {k: v[-1] for k, v in _stamps().items() if v[-1]}
    form = settings_form(holidays="2026-11-09\n2026-11-10\n", makeup_workdays="2026-11-14")
    page = admin_client.post("/admin/settings", data=form, follow_redirects=True)
    assert page.status_code == 200
    assert "投诉案件正在后台按新的设置重新核算" in page.get_data(as_text=True)
    db.session.rollback()
    settings.forget()
    assert settings.get("holidays") == ["2026-11-09", "2026-11-10"]
    # The request stamped nothing (at a bank's size that takes minutes, not a page's time)
    # and the figures are already those of the new settings, worked out case by case.
    assert {k: v[-1] for k, v in _stamps().items() if v[-1]} == old
    slow = {str(f): _figures(**f) for f in FILTERS}
    limits, calendar = complaint_cases.limits(), workcal.from_settings()
    assert complaint_outcomes.restamp_due(db.session, limits, calendar)
    # A worker stamps them again: the minute sweep finds cases under another basis.
    sweep_at(clock.now())
    current = complaint_outcomes.basis(limits, calendar)
    new = {k: v[-1] for k, v in _stamps().items() if v[-1]}
    assert new.keys() == old.keys() and set(new.values()) == {current} != set(old.values())
    assert {str(f): _figures(**f) for f in FILTERS} == slow
    assert not complaint_outcomes.restamp_due(db.session, limits, calendar)


def test_a_restamp_batch_by_batch_keeps_the_figures_exact_after_every_batch(
    november_cases, monkeypatch
):
    _refresh()
    settings.put("complaint_first_reply_hours", 48)
    settings.put("holidays", ["2026-11-09"])
    db.session.commit()
    limits, calendar = complaint_cases.limits(), workcal.from_settings()
    current = complaint_outcomes.basis(limits, calendar)
    expected = {str(f): _figures(**f) for f in FILTERS}  # worked out case by case
    monkeypatch.setattr(complaint_outcomes, "RESTAMP_BATCH", 2)
    seen = []

    def after_each_batch(done: int) -> None:
        seen.append(done)
        assert {str(f): _figures(**f) for f in FILTERS} == expected, done

    assert complaint_outcomes.restamp(db.session, limits, calendar, after_each_batch) == 5
    assert seen == [2, 4, 5]
    assert {str(f): _figures(**f) for f in FILTERS} == expected
    assert set(db.session.scalars(sa.select(ComplaintRollup.basis).distinct())) == {current}
    assert not complaint_outcomes.restamp_due(db.session, limits, calendar)
    assert complaint_outcomes.restamp(db.session, limits, calendar) == 0


OPENED = "2026-11-02T09:00:00+08:00"


def _post(post_interaction, at: datetime, external_id: str, **block):
    clock.freeze(at)
    body = interaction_body(
        external_id=external_id,
        type="complaint",
        team="personal-complaints",
        complaint={"case_id": "CMP-2026-0077", **block},
    )
    body["occurred_at"] = at.isoformat()
    response = post_interaction(body)
    assert response.status_code == 201, response.get_json()


def test_the_post_that_resolves_a_case_stamps_its_outcomes(post_interaction, dispatch_ready):
    noon = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
    _post(post_interaction, noon, "CMP-77-OPEN", opened_at=OPENED)
    db.session.rollback()
    case = db.session.scalars(sa.select(ComplaintCase)).one()
    assert case.outcomes_basis is None  # open: its pending depends on now
    # Resolved on Monday 16 November: the first reply (by the resolution) and the 5 working
    # days are missed, the regulator's 15 days met.
    _post(
        post_interaction,
        noon + timedelta(days=14),
        "CMP-77-DONE",
        resolved_at="2026-11-16T10:00:00+08:00",
    )
    db.session.rollback()
    case = db.session.scalars(sa.select(ComplaintCase)).one()
    assert (case.first_reply_outcome, case.final_outcome, case.regulator_outcome) == (
        "missed",
        "missed",
        "met",
    )
    assert case.outcomes_basis == complaint_outcomes.basis(
        complaint_cases.limits(), workcal.from_settings()
    )


def test_the_restamp_command_stamps_cases_written_straight_to_the_rows(november_cases, runner):
    before = _figures()
    result = runner.invoke(args=["rollup", "restamp-complaints"])
    assert result.exit_code == 0, result.output
    assert "complaint cases stamped: 5" in result.output
    db.session.rollback()
    assert sum(1 for s in _stamps().values() if s[-1] is not None) == 5
    assert _figures() == before
