"""Fixtures: an app on SQLite and on PostgreSQL (a database of its own per run), client, runner.

Every test that asks for ``app`` (or ``db``, ``client``, ``runner``) runs twice,
once per database. PostgreSQL tests are skipped only outside CI when no server
answers; under CI=true a missing server fails the run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient, FlaskCliRunner

from survey import clock, create_app
from survey.extensions import db as _db

PG_SERVER = os.environ.get(
    "SURVEY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SURVEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ["sqlite", "postgresql"]

# Each area keeps its own fixtures in tests/fixtures/<area>.py.
pytest_plugins = [
    "tests.fixtures.access",
    "tests.fixtures.dispatch",
    "tests.fixtures.scoring",
    "tests.fixtures.complaints",
    "tests.fixtures.demo",
    "tests.fixtures.browser",
    "tests.fixtures.admin",
    "tests.fixtures.designer",
    "tests.fixtures.twilio",
    "tests.fixtures.smtp",
    "tests.fixtures.webhooks",
    "tests.fixtures.dashboard_pages",
]


def _fail_or_skip(reason: str) -> None:
    if ON_CI:
        pytest.fail(f"{reason} (CI must run every test)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short name unique to this test run, for databases and key prefixes on shared servers."""
    return f"t{os.getpid()}_{secrets.token_hex(3)}"


@pytest.fixture(scope="session")
def postgres_database(run_id: str) -> Iterator[str]:
    """Create a PostgreSQL database for this run and drop it afterwards."""
    server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    name = f"survey_{run_id}"
    try:
        with server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        server.dispose()
        _fail_or_skip(f"PostgreSQL is not reachable at {PG_SERVER}: {error}")
    url = sa.engine.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    yield url
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "test",
            "SURVEY_QUEUE_URL": "memory://",
        }
    )
    with app.app_context():
        upgrade()
        _db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database built by the migrations, once per backend per run."""
    instance = tmp_path_factory.mktemp("migrate")
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "survey.sqlite3")
    else:
        url = request.getfixturevalue("postgres_database")
    _migrate(url, instance)
    return url


def _empty_all_tables() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    if _db.engine.dialect.name == "postgresql":
        # TRUNCATE makes new files for every table it names: naming all of them took
        # 0.2-1.7 s a test on a loaded machine. Only the tables the test wrote are emptied
        # (one statement finds them), and every sequence it moved starts at 1 again.
        probes = " UNION ALL ".join(
            f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables
        )
        written = _db.session.scalars(sa.text(probes)).all()
        if written:
            names = ", ".join(f'"{name}"' for name in written)
            _db.session.execute(sa.text(f"TRUNCATE {names} CASCADE"))
        _db.session.execute(
            sa.text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
                "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )
        )
    else:
        for table in tables:
            _db.session.execute(table.delete())
    _db.session.commit()


def make_test_config(database_url: str, instance: Path, **overrides: object) -> dict:
    """The configuration every test app starts from."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(instance),
        "SURVEY_QUEUE_URL": "memory://",
        "SURVEY_PUBLIC_URL": "http://survey.test",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SURVEY_SMTP_URL": None,
        "TWILIO_ACCOUNT_SID": None,
        "TWILIO_AUTH_TOKEN": None,
        # Sends are paced only in the tests about pacing (tests/test_dispatch_pace.py).
        "SURVEY_PACE_SENDS": False,
    }
    config.update(overrides)
    return config


def _forget_request_caches(sender: Flask, **_extra: object) -> None:
    """Start each test request without the signed-in user and language of the one before.

    Flask-Login and Flask-Babel keep these on ``g``. In production every request has its own app
    context; in tests the ``app`` fixture holds one context open and requests reuse it, so ``g``
    would carry a signed-out user or a changed language over to the next request.
    """
    g.pop("_login_user", None)
    g.pop("_flask_babel", None)


request_started.connect(_forget_request_caches)


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict:
    """Configuration for ``app``; a test may override keys with ``@pytest.mark.app_config``."""
    return make_test_config(database_url, tmp_path / "instance")


@pytest.fixture
def app(app_config: dict, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app on one of the databases, with empty tables afterwards."""
    marker = request.node.get_closest_marker("app_config")
    config = {**app_config, **(marker.kwargs if marker else {})}
    # Flask-Limiter keeps one state per process (one app, in production): a limits store an
    # earlier test found down would keep this test's counts in its memory fallback until a
    # periodic check moved them back mid-test. Each test app starts with its store alive.
    from survey import fragments, settings
    from survey.extensions import limiter
    from survey.respond import kept, versions

    limiter._storage_dead = False
    application = create_app(config)
    with application.app_context():
        yield application
        _db.session.rollback()
        _empty_all_tables()
        versions.forget()  # the next test's version 1 is another version
        settings.forget()  # and its settings are the defaults again
        fragments.forget()  # nor are its pages' parts those of this one
        kept.forget()  # nor its survey pages
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask):
    """The database extension, inside the app context."""
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(autouse=True)
def _clock_runs_freely() -> Iterator[None]:
    """Each test starts and ends with a running clock.

    SURVEY_TEST_CLOCK_SHIFT_HOURS runs it ahead of the wall clock, so the whole suite can be
    tried at another hour of the bank's day (quiet hours, a day boundary) without waiting.
    """
    clock.unfreeze()
    clock.run_offset(timedelta(hours=float(os.environ.get("SURVEY_TEST_CLOCK_SHIFT_HOURS", "0"))))
    yield
    clock.unfreeze()
    clock.run_offset(timedelta(0))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "app_config(**kw): override the test app's configuration")
