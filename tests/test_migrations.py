"""The migrations build, from empty, exactly the schema the models describe, on both databases."""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey.extensions import db as _db
from survey.orm import built_on


def _differences(connection: sa.Connection) -> list:
    dialect = connection.dialect.name
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "render_as_batch": True,
            # As the migrations' env.py: an index made for one database only.
            "include_object": lambda item, *_rest: built_on(item, dialect),
        },
    )
    return compare_metadata(context, _db.metadata)


def test_migrated_database_matches_the_models(db):
    with db.engine.connect() as connection:
        assert _differences(connection) == []


def test_migrations_leave_the_database_at_the_single_head(db):
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    assert set(current) == set(heads)


def test_times_come_back_time_zone_aware_in_utc(db):
    from datetime import datetime, timedelta, timezone

    from survey.models import BusinessLine, Customer

    db.session.add(BusinessLine(code="x", name_zh="x", name_en="x"))
    shanghai = timezone(timedelta(hours=8))
    db.session.add(
        Customer(external_id="C-1", created_at=datetime(2026, 11, 29, 10, 15, tzinfo=shanghai))
    )
    db.session.commit()
    db.session.expunge_all()
    stored = db.session.scalar(sa.select(Customer.created_at))
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 11, 29, 2, 15, tzinfo=UTC)


def test_a_naive_time_is_refused_rather_than_guessed(db):
    from datetime import datetime

    import pytest

    from survey.models import Customer

    db.session.add(Customer(external_id="C-2", created_at=datetime(2026, 11, 29, 10, 15)))
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        db.session.flush()
    db.session.rollback()
