"""A survey link's first answer on SQLite: the hold and the funnel's move in one UPDATE.

(On PostgreSQL it is one statement of CTEs, counted in round trips by tests/test_respond_trips.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.responses import first_answer
from tests.databases import only_sqlite
from tests.test_respond_fast import flask_requests
from tests.test_respond_trips import (
    _warm,
    answer_after_the_link_changed,
    assert_stored_and_counted_once,
)


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


@only_sqlite
def test_a_first_answer_on_sqlite_writes_four_statements_and_is_counted_once(app, client, invite):

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
    assert_stored_and_counted_once(invitation_id)


@only_sqlite
@pytest.mark.parametrize("meanwhile", ["cancelled", "counted", "expired"])
def test_a_first_answer_whose_link_changed_since_it_was_read_writes_nothing_on_sqlite(
    app, invite, meanwhile
):
    def begin(line, visit, columns, now) -> bool:
        begun = first_answer.begin_in_four(line, visit, columns, "web", "en", now)
        line.rollback()  # as the layer does when told False
        return begun

    answer_after_the_link_changed(app, invite, meanwhile, begin)
