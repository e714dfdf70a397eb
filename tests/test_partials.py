"""Partial responses count once: closed after the idle hours or at link expiry, never twice (issue 10)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, settings
from survey.dispatch import sending
from survey.extensions import db
from survey.models import Invitation, Response, Rollup
from survey.models.rollup import SEGMENT_COLUMNS
from survey.responses import answers, partials
from survey.scoring import rollup
from tests.fixtures.dispatch import in_threads, sweep_at

# 10:00 in Shanghai on 29 November 2026.
START = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def _figures() -> dict[tuple[str, str], tuple[int, int]]:
    """The counted figures a dashboard reads: (answers, sum) per kind and dimension."""
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(
            Rollup.kind, Rollup.dimension, sa.func.sum(Rollup.n), sa.func.sum(Rollup.total)
        ).group_by(Rollup.kind, Rollup.dimension)
    ).all()
    return {(kind, dimension): (int(n), int(total)) for kind, dimension, n, total in rows}


def _table() -> list[tuple]:
    columns = [getattr(Rollup, c) for c in (*SEGMENT_COLUMNS, *rollup.COUNT_COLUMNS)]
    return sorted(tuple(row) for row in db.session.execute(sa.select(*columns)).all())


def _answer(invitation: Invitation, given: dict[str, int], channel: str = "web") -> Response:
    """Record some answers, as any channel does, and leave the survey unfinished."""
    by_key = {q.key: q for q in invitation.version.questions}
    response = None
    for key, value in given.items():
        response = answers.record(invitation, by_key[key], value, channel, invitation.locale)
    db.session.commit()
    assert response is not None
    return response


def _state(response_id: int) -> str:
    db.session.expire_all()
    return db.session.get_one(Response, response_id).state


def test_a_partial_counts_nowhere_until_idle_for_the_closing_hours_then_once(invite):
    clock.freeze(START)
    invitation = invite()
    response = _answer(invitation, {"attitude": 2, "wait_time": 4})
    sweep_at(START + timedelta(hours=23, minutes=59))
    assert _figures() == {} and _state(response.id) == "partial"

    sweep_at(START + timedelta(hours=24))
    assert _figures() == {("rating_5", "attitude"): (1, 2), ("rating_5", "wait_time"): (1, 4)}
    assert _state(response.id) == "closed_partial"
    row = db.session.scalars(sa.select(Rollup).where(Rollup.dimension == "attitude")).one()
    assert row.day == date(2026, 11, 30) and row.bottom == 1  # the bank's day it closed

    sweep_at(START + timedelta(hours=48))
    assert _figures() == {("rating_5", "attitude"): (1, 2), ("rating_5", "wait_time"): (1, 4)}


def test_the_idle_hours_count_from_the_last_answer_and_follow_the_setting(invite):
    settings.put("partial_close_hours", 2)
    db.session.commit()
    clock.freeze(START)
    invitation = invite()
    response = _answer(invitation, {"attitude": 5})
    clock.freeze(START + timedelta(hours=1, minutes=30))
    _answer(invitation, {"wait_time": 3})
    sweep_at(START + timedelta(hours=3))
    assert _state(response.id) == "partial"  # 1.5 hours since the last answer
    sweep_at(START + timedelta(hours=3, minutes=30))
    assert _figures() == {("rating_5", "attitude"): (1, 5), ("rating_5", "wait_time"): (1, 3)}


def test_a_partial_is_closed_and_counted_when_its_link_expires_before_the_idle_hours(invite):
    clock.freeze(START)
    invitation = invite(lifetime=timedelta(hours=6))
    response = _answer(invitation, {"overall": 1, "nps": 3})
    clock.freeze(START + timedelta(hours=6))
    assert sending.expire_overdue() == 1
    assert _state(response.id) == "closed_partial"
    assert _figures() == {("rating_5", "overall"): (1, 1), ("nps_0_10", ""): (1, 3)}
    sweep_at(START + timedelta(hours=30))
    assert _figures() == {("rating_5", "overall"): (1, 1), ("nps_0_10", ""): (1, 3)}


def test_a_completion_after_a_closing_read_the_partial_changes_nothing(invite):
    clock.freeze(START)
    invitation = invite()
    response = _answer(invitation, {"attitude": 3})
    clock.freeze(START + timedelta(hours=24))
    due = partials.due_ids()
    assert due == [response.id]
    db.session.rollback()
    # The customer finishes on the web before the sweep gets to close it.
    overall = next(q for q in invitation.version.questions if q.key == "overall")
    assert answers.complete(invitation, "web", "zh", {overall: 5}) is True
    assert partials.close(due[0]) is False
    db.session.commit()
    assert _state(response.id) == "completed"
    assert _figures() == {("rating_5", "attitude"): (1, 3), ("rating_5", "overall"): (1, 5)}


def test_a_closed_partial_is_not_completed_later_and_the_page_thanks_the_customer(invite, client):
    clock.freeze(START)
    invitation = invite(locale="en")
    response = _answer(invitation, {"attitude": 4})
    sweep_at(START + timedelta(hours=25))
    before = _figures()
    invitation = db.session.get_one(Invitation, invitation.id)
    overall = next(q for q in invitation.version.questions if q.key == "overall")
    assert answers.complete(invitation, "web", "en", {overall: 1}) is False
    with pytest.raises(answers.ResponseClosed):
        answers.record(invitation, overall, 1, "web", "en")
    db.session.rollback()
    english = {"Accept-Language": "en"}
    page = client.get(f"/s/{invitation.token}", headers=english).get_data(as_text=True)
    assert "You have already answered this survey. Thank you!" in page
    late = client.post(f"/s/{invitation.token}", data={"q_overall": "1"}, headers=english)
    assert late.status_code == 409 and "already answered" in late.get_data(as_text=True)
    assert _figures() == before == {("rating_5", "attitude"): (1, 4)}
    assert _state(response.id) == "closed_partial"


@pytest.mark.parametrize("round_", range(3))
def test_a_completion_racing_a_closing_counts_the_response_once(app, invite, round_):
    clock.freeze(START)
    invitation = invite()
    response = _answer(invitation, {"attitude": 2})
    invitation_id, response_id = invitation.id, response.id
    clock.freeze(START + timedelta(hours=24, minutes=round_))

    def finish() -> bool:
        mine = db.session.get_one(Invitation, invitation_id)
        overall = next(q for q in mine.version.questions if q.key == "overall")
        return answers.complete(mine, "web", "zh", {overall: 5})

    def close() -> bool:
        return partials.close_due() == 1

    completed, closed = in_threads(app, [finish, close])
    assert [completed, closed].count(True) == 1
    state = _state(response_id)
    assert state == ("completed" if completed else "closed_partial")
    expected = {("rating_5", "attitude"): (1, 2)}
    if completed:
        expected[("rating_5", "overall")] = (1, 5)
    assert _figures() == expected


def test_rebuild_gives_the_same_figures_as_completions_and_closings(invite, record_response):
    clock.freeze(START)
    for i in range(6):
        record_response(invite(channel="chat"), {"attitude": 1 + i % 5, "overall": 4})
    for i in range(5):
        _answer(invite(agent="A2001"), {"attitude": 1 + i, "wait_time": 5 - i}, channel="sms")
    open_one = invite(lifetime=timedelta(hours=200))
    _answer(open_one, {"attitude": 5})
    clock.freeze(START + timedelta(hours=30))
    _answer(open_one, {"wait_time": 1})  # still answering: not counted by either path
    sweep_at(START + timedelta(hours=30))
    incremental = _table()
    assert sum(row[-5] for row in incremental) == 6 * 2 + 5 * 2
    assert rollup.rebuild() == 6 * 2 + 5 * 2
    assert _table() == incremental


def test_the_database_refuses_a_counted_response_without_its_count_time(invite):
    invitation = invite()
    response = _answer(invitation, {"attitude": 2})
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.update(Response).where(Response.id == response.id).values(state="closed_partial")
        )
        db.session.flush()
    db.session.rollback()
