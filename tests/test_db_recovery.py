"""The app on PostgreSQL outlives its connections: cut by the server, the next request still works."""

from __future__ import annotations

import sqlalchemy as sa

from survey.extensions import db
from tests.conftest import PG_SERVER


def _terminate_our_connections(database: str) -> int:
    """End every server connection to this run's own database (never another's)."""
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            ended = connection.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(ended)


def test_requests_succeed_after_the_server_cuts_every_connection(app, client, make_user):
    if db.engine.dialect.name != "postgresql":
        # SQLite is a file on this machine: there is no connection to cut (and no ping).
        assert "pool_pre_ping" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        return
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    make_user("admin", "admin@bank.example")
    assert client.get("/readyz").status_code == 200
    db.session.remove()  # the pooled connection is idle, as between two requests
    assert _terminate_our_connections(db.engine.url.database) >= 1
    assert client.get("/readyz").status_code == 200
    db.session.remove()
    _terminate_our_connections(db.engine.url.database)
    page = client.post(
        "/auth/login", data={"email": "admin@bank.example", "password": "wrong password"}
    )
    assert page.status_code == 200  # the form again, with its message: not a 500
