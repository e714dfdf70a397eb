"""A survey link's first answer on SQLite: the hold and the funnel's move in one UPDATE.

(On PostgreSQL it is one statement of CTEs, counted in round trips by tests/test_respond_trips.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.funnel import keeping, rebuilding, stages
from survey.models import Answer, Invitation, Response
from survey.respond import own_line, service, versions
from survey.responses import answers, first_answer
from tests.databases import only_sqlite
from tests.test_respond_fast import _answers_of, flask_requests
from tests.test_respond_steps import step


@contextmanager
def statements_run(engine: sa.Engine) -> Iterator[list[str]]:
    """Every statement SQLite runs for the connections opened inside, by the driver's trace.

    The engine is disposed first (which also closes the survey layer's kept connection), so
    the layer's connection is opened, and traced, inside.
    """
    engine.dispose()
    run: list[str] = []

    def connected(dbapi_connection, _record) -> None:
        dbapi_connection.set_trace_callback(run.append)

    sa.event.listen(engine, "connect", connected)
    try:
        yield run
    finally:
        sa.event.remove(engine, "connect", connected)
        engine.dispose()


def _warm(client, invite) -> None:
    """Serve a first visit and a first answer once, so the layer keeps both answers."""
    first = invite(locale="en")
    client.get(f"/s/{first.token}")
    step(client, first, "attitude", "5")


@only_sqlite
def test_a_first_answer_on_sqlite_writes_four_statements_and_is_counted_once(app, client, invite):
    from tests.test_funnel import rollup_rows, totals

    _warm(client, invite)
    link = invite(locale="en")
    token, invitation_id = link.token, link.id
    db.session.commit()
    with statements_run(db.engine) as run, flask_requests(app) as through_flask:
        answer = client.post(
            f"/s/{token}?lang=en", data={"step": "attitude", "q_attitude": "4", "go": "next"}
        )
    assert (answer.status_code, through_flask) == (303, [])
    # The trace names a statement again for each statement its triggers run (the rollup's
    # grains): told once.
    said = [
        statement.split(None, 1)[0].upper()
        for number, statement in enumerate(run)
        if number == 0 or run[number - 1] != statement
    ]
    writes = [word for word in said if word in ("INSERT", "UPDATE", "DELETE")]
    # The link's row read; the hold (opened) with the funnel's move, the response, the answer
    # and the rollup row; one transaction.
    assert said.count("SELECT") == 1 and said.count("COMMIT") == 1
    assert writes == ["UPDATE", "INSERT", "INSERT", "UPDATE"]
    assert [value for _question, value in _answers_of(invitation_id)] == [4]
    invitation = db.session.get(Invitation, invitation_id)
    response = db.session.scalar(sa.select(Response).where(Response.invitation_id == invitation_id))
    assert invitation.opened_at is not None and invitation.opened_at == response.started_at
    assert (response.state, response.survey_channel, response.locale) == ("partial", "web", "en")
    assert keeping.reached(invitation, "started") and keeping.reached(invitation, "opened")
    assert totals()["started"] == 2 and totals()["opened"] == 2 and totals()["delivered"] == 2
    counted = rollup_rows()
    rebuilding.rebuild()
    assert rollup_rows() == counted


@only_sqlite
@pytest.mark.parametrize("meanwhile", ["cancelled", "counted", "expired"])
def test_a_first_answer_whose_link_changed_since_it_was_read_writes_nothing_on_sqlite(
    app, invite, meanwhile
):
    from tests.test_funnel import rollup_rows

    link = invite(locale="en")
    db.session.commit()
    question = versions.questions(link)[0]
    with app.app_context():
        line = own_line.connection()
        visit = service.visit_on(line, link.token)
    db.session.expire_all()
    changed = db.session.get(Invitation, link.id)
    if meanwhile == "cancelled":
        changed.state = "cancelled"
    elif meanwhile == "counted":
        changed.funnel_stages = (changed.funnel_stages or 0) | stages.BIT["opened"]
    else:
        changed.expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    before = rollup_rows()
    with app.app_context():
        columns = answers.answer_columns(question, 4, clock.now())
        begun = first_answer.begin_in_four(line, visit, columns, "web", "en", clock.now())
        line.rollback()  # as the layer does when told False
    assert begun is False
    assert rollup_rows() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0
    db.session.expire_all()
    assert db.session.get(Invitation, link.id).opened_at is None
