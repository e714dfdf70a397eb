"""Statements prepared once and run on the driver's cursor give what SQLAlchemy's execution gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import Invitation
from survey.prepared import Prepared
from survey.respond import service
from survey.responses import answers


def _driver_cursor():
    """The request's own connection's DBAPI cursor (the same transaction as the session)."""
    return db.session.connection().connection.dbapi_connection.cursor()


def test_a_prepared_select_reads_what_sqlalchemy_reads(app, invite):
    invitation = invite(locale="en")
    db.session.commit()
    expected = db.session.connection().execute(service._VISIT, {"token": invitation.token}).one()
    prepared = Prepared(service._VISIT, db.engine.dialect)
    rows = prepared.rows(_driver_cursor(), {"token": invitation.token})
    assert rows == [tuple(expected)]
    # Dates read back as SQLAlchemy reads them (on SQLite from text), with their time zone.
    assert rows[0][7] == invitation.expires_at and rows[0][7].tzinfo is not None


def test_a_prepared_update_binds_constants_and_fills_what_sqlalchemy_fills(app, invite):
    invitation = invite()
    db.session.commit()
    clock.freeze(clock.now() + timedelta(minutes=5))
    later = clock.now()
    # The hold compares the state with constants, and sets updated_at by its onupdate.
    prepared = Prepared(answers._HOLD, db.engine.dialect)
    changed = prepared.run(
        _driver_cursor(), {"invitation_id": invitation.id, "now": later, "opened_now": later}
    )
    assert changed == 1
    opened, updated = db.session.execute(
        sa.select(Invitation.opened_at, Invitation.updated_at).where(Invitation.id == invitation.id)
    ).one()
    assert opened == later and updated == later
    # Once past its expiry, the same prepared statement changes nothing.
    gone = invitation.expires_at + timedelta(seconds=1)
    assert (
        prepared.run(
            _driver_cursor(), {"invitation_id": invitation.id, "now": gone, "opened_now": gone}
        )
        == 0
    )


def test_an_insert_prepared_with_its_columns_returns_the_new_key(app, invite):
    invitation = invite()
    db.session.commit()
    now = clock.now()
    response = answers._RESPONSE
    values = {
        "invitation_id": invitation.id,
        "survey_version_id": invitation.survey_version_id,
        "survey_channel": "web",
        "locale": "zh",
        "started_at": now,
        "updated_at": now,
        "state": "partial",
    }
    prepared = Prepared(sa.insert(response).returning(response.c.id), db.engine.dialect, values)
    [(new_id,)] = prepared.rows(_driver_cursor(), values)
    stored = db.session.execute(
        sa.select(response.c.invitation_id, response.c.started_at, response.c.state).where(
            response.c.id == new_id
        )
    ).one()
    assert tuple(stored) == (invitation.id, now, "partial")


def test_an_expanding_in_list_is_refused(app):
    statement = sa.select(Invitation.id).where(Invitation.state.in_(["sent", "opened"]))
    with pytest.raises(ValueError, match="expanding"):
        Prepared(statement, db.engine.dialect)


def test_run_on_raises_what_sqlalchemy_raises_and_calls_the_engines_listeners(app, invite):
    from survey.prepared import run_on
    from tests.sent import statements_sent

    invitation = invite()
    db.session.commit()
    taken = sa.update(Invitation).where(Invitation.id == sa.bindparam("invitation_id"))
    taken = taken.values(token=sa.bindparam("new_token"))
    other = invite()
    db.session.commit()
    first_id, token, other_id = invitation.id, invitation.token, other.id
    connection = db.session.connection()
    with statements_sent() as sent:
        found = run_on(connection, service._VISIT, {"token": token})
        # Intake's race with another post is told by SQLAlchemy's IntegrityError (the
        # unique token here): the driver's own error would escape its retry.
        with pytest.raises(sa.exc.IntegrityError):
            run_on(connection, taken, {"invitation_id": other_id, "new_token": token})
    db.session.rollback()
    assert [row[0] for row in found.rows] == [first_id]
    assert len(sent) == 2 and sent[0][0].lstrip().upper().startswith("SELECT")
