"""The survey link's round trips to PostgreSQL: each one is a wait on a loaded server.

Counted by libpq's own trace of every connection the app opens (the layer's kept one and the
session's), as the server's "ready for query" replies: one per round trip, whatever ran.
"""

from __future__ import annotations

import tempfile
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
from tests.databases import only_postgresql
from tests.opening import written
from tests.test_respond_fast import flask_requests, settings_kept_throughout  # noqa: F401
from tests.test_respond_steps import step

# Each test counts round trips after warming the kept copies (see the fixture).
pytestmark = pytest.mark.usefixtures("settings_kept_throughout")


class Traced:
    """What libpq's trace saw: the round trips, and the statements sent."""

    def __init__(self) -> None:
        self.trips: int | None = None
        self.sent = ""


@contextmanager
def round_trips(engine: sa.Engine) -> Iterator[Traced]:
    """Trace every connection to the server while inside; the round trips counted afterwards.

    Every connection is opened inside (the engine is disposed first, which also closes the
    survey layer's kept one), and traced from its first statement on.
    """
    from psycopg import pq

    engine.dispose()
    traced = Traced()
    with tempfile.TemporaryFile() as trace:
        connections: list = []

        def connected(dbapi_connection, _record) -> None:
            dbapi_connection.pgconn.trace(trace.fileno())
            dbapi_connection.pgconn.set_trace_flags(
                pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE
            )
            connections.append(dbapi_connection)

        sa.event.listen(engine, "connect", connected)
        try:
            yield traced
        finally:
            sa.event.remove(engine, "connect", connected)
            for connection in connections:
                if not connection.closed:
                    connection.pgconn.untrace()
            trace.seek(0)
            lines = trace.read().decode("utf-8", "replace").splitlines()
            traced.trips = sum(1 for line in lines if _ready_for_query(line))
            traced.sent = "\n".join(line for line in lines if line.startswith("F\t"))


def _ready_for_query(line: str) -> bool:
    """The server's reply that ends each round trip, in libpq's trace."""
    return line.startswith("B\t") and "\tReadyForQuery" in line


def _warm(client, invite) -> None:
    """Serve a first visit and a first answer once, so the layer keeps both answers."""
    first = invite(locale="en")
    client.get(f"/s/{first.token}")
    step(client, first, "attitude", "5")


def _first_answer(client, token: str):
    return client.post(
        f"/s/{token}?lang=en", data={"step": "attitude", "q_attitude": "4", "go": "next"}
    )


@only_postgresql
def test_a_first_visit_takes_one_round_trip_and_its_opened_is_written_after(app, client, invite):
    _warm(client, invite)
    written()
    token = invite(locale="en").token
    db.session.commit()
    with round_trips(db.engine) as first_visit, flask_requests(app) as through_flask:
        assert client.get(f"/s/{token}").status_code == 200
    with round_trips(db.engine) as again:
        assert client.get(f"/s/{token}").status_code == 200
    # The link's row read, and nothing written: "opened" waits for the process's batch.
    assert (first_visit.trips, again.trips, through_flask) == (1, 1, [])
    assert written() == 1


@only_postgresql
def test_a_first_answer_takes_two_round_trips_and_is_stored_and_counted_once(app, client, invite):

    _warm(client, invite)
    link = invite(locale="en")
    token, invitation_id = link.token, link.id
    db.session.commit()
    with round_trips(db.engine) as trips, flask_requests(app) as through_flask:
        assert _first_answer(client, token).status_code == 303
    # The link's row read; then the hold, the response, the answer and the funnel written by
    # one statement in a transaction of its own (no BEGIN, no COMMIT).
    assert (trips.trips, through_flask) == (2, [])
    assert_stored_and_counted_once(invitation_id)


@only_postgresql
@pytest.mark.parametrize("meanwhile", ["cancelled", "counted", "expired"])
def test_a_first_answer_whose_link_changed_since_it_was_read_writes_nothing_in_its_one_statement(
    app, invite, meanwhile
):
    def begin(line, visit, columns, now) -> bool:
        return first_answer.begin_in_one(line, visit, columns, "web", "en", now)

    answer_after_the_link_changed(app, invite, meanwhile, begin)


def assert_stored_and_counted_once(invitation_id: int) -> None:
    """The link's first answer is stored, its response begun, and the funnel counts it once."""
    from tests.test_funnel import rollup_rows, totals
    from tests.test_respond_fast import _answers_of

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


def answer_after_the_link_changed(app, invite, meanwhile: str, begin) -> None:
    """Read a link as the survey layer does, change it meanwhile, then ``begin`` its first
    answer on the layer's connection: it must say False and write nothing."""
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
        now = clock.now()
        begun = begin(line, visit, answers.answer_columns(question, 4, now), now)
    assert begun is False
    assert rollup_rows() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0
    db.session.expire_all()
    assert db.session.get(Invitation, link.id).opened_at is None


@only_postgresql
def test_a_first_answer_after_another_tabs_stores_nothing_twice(app, client, invite):
    from tests.test_respond_fast import _answers_of

    _warm(client, invite)
    link = invite(locale="en")
    db.session.commit()
    question = versions.questions(link)[0]
    with app.app_context():
        line = own_line.connection()
        visit = service.visit_on(line, link.token)  # read before the other tab answered
    assert _first_answer(client, link.token).status_code == 303  # the other tab
    with app.app_context():
        columns = answers.answer_columns(question, 2, clock.now())
        assert first_answer.begin_in_one(line, visit, columns, "web", "en", clock.now()) is False
    assert [value for _question, value in _answers_of(link.id)] == [4]


@only_postgresql
def test_a_first_answer_waits_for_the_disk_and_a_batch_of_first_visits_does_not(
    app, client, invite
):
    _warm(client, invite)
    written()
    token = invite(locale="en").token
    db.session.commit()
    assert client.get(f"/s/{token}").status_code == 200
    with round_trips(db.engine) as batch:
        assert written() == 1
    with round_trips(db.engine) as answer:
        assert _first_answer(client, token).status_code == 303
    assert "SET LOCAL synchronous_commit TO off" in batch.sent
    assert "synchronous_commit" not in answer.sent
