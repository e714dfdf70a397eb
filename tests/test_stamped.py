"""What a process keeps of the rules, settings and organisation: a change made anywhere is
seen by the next post (survey.stamped, under the database's config stamp)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import g
from sqlalchemy.orm import Session

from survey import clock
from survey.extensions import db
from survey.models import Agent, DispatchRule, Interaction, Invitation, Setting, Team
from tests.fixtures.dispatch import interaction_body


@pytest.fixture
def elsewhere(app) -> Iterator[Session]:
    """A session on its own engine: another process's connection, its copies not ours."""
    engine = sa.create_engine(db.engine.url.render_as_string(hide_password=False))
    with Session(engine) as session:
        yield session
    engine.dispose()


def _post(post_interaction, n: int, **overrides):
    # A server's next request: a new context (the test client shares the test's), the
    # process's copies stay.
    g.pop("_survey_settings", None)
    body = interaction_body(
        external_id=f"KEPT-{n}",
        customer={"external_id": f"C-{n}", "phone": f"+861380013{n:04d}"},
        **overrides,
    )
    response = post_interaction(body)
    assert response.status_code in (201, 400), response.get_json()
    return response


def test_a_rule_changed_by_another_process_decides_the_next_post(
    post_interaction, dispatch_ready, elsewhere
):
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    assert _post(post_interaction, 1).get_json()["suppression_reason"] is None
    assert _post(post_interaction, 2).get_json()["suppression_reason"] is None  # kept copy
    elsewhere.execute(sa.update(DispatchRule).values(active=False))
    elsewhere.commit()
    assert _post(post_interaction, 3).get_json()["suppression_reason"] == "no_rule"
    elsewhere.execute(sa.update(DispatchRule).values(active=True, sample_rate=0.0))
    elsewhere.commit()
    assert _post(post_interaction, 4).get_json()["suppression_reason"] == "sampled_out"


def test_a_setting_changed_by_another_process_holds_for_the_next_post(
    post_interaction, dispatch_ready, elsewhere
):
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))

    def lifetime(n: int) -> timedelta:
        invitation = _post(post_interaction, n).get_json()["invitation"]
        row = db.session.get(Invitation, invitation["id"])
        return row.expires_at - row.scheduled_at

    assert lifetime(1) == lifetime(2) == timedelta(hours=72)
    elsewhere.add(Setting(key="link_lifetime_hours", value=24))
    elsewhere.commit()
    assert lifetime(3) == timedelta(hours=24)
    elsewhere.execute(sa.delete(Setting))
    elsewhere.commit()
    assert lifetime(4) == timedelta(hours=72)


def test_organisation_codes_changed_by_another_process_are_seen_by_the_next_post(
    post_interaction, dispatch_ready, elsewhere
):
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    unknown = _post(post_interaction, 1, agent="A7777", team=None, business_line=None)
    assert unknown.status_code == 400
    again = _post(post_interaction, 2, agent="A7777", team=None, business_line=None)
    assert again.status_code == 400  # the same answer, kept
    team = elsewhere.scalar(sa.select(Team).where(Team.code == "corporate-inquiries"))
    elsewhere.add(Agent(code="A7777", team=team, name_zh="李", name_en="Li"))
    elsewhere.commit()
    known = _post(post_interaction, 3, agent="A7777", team=None, business_line=None)
    assert known.status_code == 201
    stored = db.session.get(Interaction, known.get_json()["id"])
    assert stored.team_id == team.id and stored.business_line_id == team.business_line_id
    # The team moves to the other line: the next post of its agent is counted there.
    personal = db.session.scalar(
        sa.select(Team.business_line_id).where(Team.code == "personal-inquiries")
    )
    elsewhere.execute(sa.update(Team).where(Team.id == team.id).values(business_line_id=personal))
    elsewhere.commit()
    moved = _post(post_interaction, 4, agent="A7777", team=None, business_line=None)
    assert db.session.get(Interaction, moved.get_json()["id"]).business_line_id == personal


def test_a_post_reads_no_rule_setting_or_organisation_row_while_nothing_changed(
    post_interaction, dispatch_ready
):
    clock.freeze(datetime(2026, 11, 29, 3, 0, tzinfo=UTC))
    _post(post_interaction, 1)  # adds its agent: the stamp moves
    _post(post_interaction, 2)
    read: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        read.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert _post(post_interaction, 3).get_json()["suppression_reason"] is None
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    selects = [s for s in read if s.lstrip().upper().startswith("SELECT")]
    assert any("config_stamp" in s for s in selects)
    for table in ("dispatch_rule", "setting", "business_line", "team"):
        assert not any(f"FROM {table}" in s for s in selects), table
