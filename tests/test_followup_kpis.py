"""The follow-up figures on the dashboard, against cases built through the real paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from survey import clock, settings
from survey.extensions import db
from survey.followup import kpis, service
from survey.responses import answers
from tests.fixtures.access import sign_in
from tests.test_followup_cases import SATURDAY_NIGHT, quality, unhappy  # noqa: F401

DAY = SATURDAY_NIGHT.date()


def _later_answer(invite, case, overall: int) -> None:
    """The same customer answers a later survey with this overall rating."""
    invitation = invite()
    invitation.customer_id = case.customer_id
    db.session.commit()
    by_key = {q.key: q for q in invitation.version.questions}
    given = {by_key[k]: v for k, v in {**_HAPPY, "overall": overall}.items()}
    assert answers.complete(invitation, "web", "zh", given)


_HAPPY = {"attitude": 5, "wait_time": 5, "products": 5, "nps": 9}


def test_the_figures_count_cases_reasons_timeliness_outcomes_and_later_satisfaction(
    invite,
    unhappy,  # noqa: F811
    quality,  # noqa: F811
):
    settings.put("min_n", 1)
    db.session.commit()
    clock.freeze(SATURDAY_NIGHT)
    on_time, late, still_open = unhappy(), unhappy(), unhappy()
    unhappy(consent=False)
    unhappy(consent=None)
    owner = quality[0]
    clock.freeze(datetime(2026, 11, 30, 3, 0, tzinfo=UTC))  # Monday 11:00: before the due time
    service.close(owner, on_time, "reached_resolved")
    db.session.commit()
    clock.freeze(datetime(2026, 12, 3, 3, 0, tzinfo=UTC))  # Thursday: past the due time
    service.close(owner, late, "not_reached")
    db.session.commit()
    clock.freeze(datetime(2026, 12, 4, 3, 0, tzinfo=UTC))  # Friday: the later surveys
    _later_answer(invite, on_time, 5)
    _later_answer(invite, late, 3)
    _later_answer(invite, late, 4)

    f = kpis.figures(DAY, DAY + timedelta(days=6), "Asia/Shanghai", 1)
    assert f.opened == 3
    assert f.not_opened == {"declined": 1, "not_asked": 1, "unanswered": 0}
    # Three cases are due by Thursday: one closed in time, one late, one still open.
    assert (f.on_time.hits, f.on_time.n) == (1, 3)
    assert (f.outcomes["reached_resolved"].hits, f.outcomes["reached_resolved"].n) == (1, 2)
    assert f.outcomes["not_reached"].value == 0.5
    assert (f.later_reached.hits, f.later_reached.n) == (1, 1)
    assert (f.later_not_reached.hits, f.later_not_reached.n) == (1, 2)
    assert still_open.state == "open"


def test_shares_below_the_minimum_n_are_not_shown(unhappy, quality):  # noqa: F811
    clock.freeze(SATURDAY_NIGHT)
    unhappy()
    f = kpis.figures(DAY, DAY, "Asia/Shanghai", 5)
    assert f.opened == 1 and f.on_time.value is None and f.on_time.n == 0


def test_the_overview_shows_the_follow_up_figures(app, unhappy, quality):  # noqa: F811
    unhappy()
    client = app.test_client()
    assert sign_in(client, quality[0].email).status_code == 302
    page = client.get("/?lang=en").get_data(as_text=True)
    assert 'data-testid="followup-kpis"' in page
    assert (
        '<tr data-kpi="opened"><th scope="row">Follow-up cases opened</th><td data-value="1">'
        in page
    )


def test_the_overview_s_kept_follow_up_figures_follow_every_change(app, unhappy, quality):  # noqa: F811
    """The section is kept by its figures (survey/fragments.py): a new case, a closed one, the
    other language and a new minimum n each show at once, in the process that kept it."""
    clock.freeze(SATURDAY_NIGHT)
    url = f"/?from={DAY.isoformat()}&to={DAY.isoformat()}"
    first = unhappy()
    client = app.test_client()
    assert sign_in(client, quality[0].email).status_code == 302

    def kpi(name: str, lang: str = "en") -> str:
        page = client.get(f"{url}&lang={lang}").get_data(as_text=True)
        row = page.split(f'<tr data-kpi="{name}">', 1)[1]
        return row.split("</tr>", 1)[0]

    assert 'data-value="1"' in kpi("opened") and "Follow-up cases opened" in kpi("opened")
    assert 'data-value="1"' in kpi("opened")  # asked again: the kept section, same figures
    unhappy()
    assert 'data-value="2"' in kpi("opened")
    assert 'data-hidden="1">n = 0<' in kpi("outcome_reached_resolved")
    service.close(quality[0], first, "reached_resolved")
    db.session.commit()
    assert 'data-hidden="1">n = 1<' in kpi("outcome_reached_resolved")
    settings.put("min_n", 1)
    db.session.commit()
    assert "<strong>100.0%</strong>" in kpi("outcome_reached_resolved")
    # Follow-up cases (回访工单), not the complaints the period report counts (受理投诉件数).
    assert "新建回访工单数" in kpi("opened", "zh")


def test_the_responses_that_opened_no_case_are_read_through_their_own_index(db):
    """A period's reasons read only those responses, not every response of the period."""
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "followup_no_case_reason" in statement and "GROUP BY" in statement:
            seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        kpis.figures(DAY - timedelta(days=364), DAY, settings.bank_zone(), 5)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
    [(statement, parameters)] = seen
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plan = " ".join(row[3] for row in rows)
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = str(conn.exec_driver_sql("EXPLAIN " + statement, parameters).all())
            conn.rollback()
    assert "ix_response_no_case_counted_at" in plan, plan
