"""Fixtures: an app on SQLite and on PostgreSQL (a database of its own per run), client, runner.

Every test that asks for ``app`` (or ``db``, ``client``, ``runner``) runs twice,
once per database. PostgreSQL tests are skipped only outside CI when no server
answers; under CI=true a missing server fails the run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import flask
import jinja2
import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.routing.rules import Rule

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


# Almost every test builds an app of its own, and two pieces of that are compiled anew each time
# though they come out the same: Werkzeug's URL builders (Python source generated and compiled
# for each of the ~530 rules: about 90 % of create_app) and Jinja's templates (tens of ms each
# on first render). A production process builds both once. Here both are kept for the whole run:
# the builder by everything it is generated from, the template by Jinja's own bytecode cache,
# which checks the source's checksum before using what it kept.
_compile_builder = Rule._compile_builder
_builders: dict[tuple, object] = {}


def _kept_builder(rule: Rule, append_unknown: bool = True):
    """Werkzeug's builder for ``rule``, generated once per distinct rule in this test process.

    The generated function reads the rule's converters through its ``self`` argument when it is
    called, so the code depends only on the rule text, the parsed trace, the defaults (resolved
    to constants) and whether unknown arguments are appended.
    """
    defaults = tuple(sorted((name, repr(value)) for name, value in (rule.defaults or {}).items()))
    key = (rule.rule, tuple(rule._trace), defaults, append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(rule, append_unknown)
    return builder


Rule._compile_builder = _kept_builder  # type: ignore[method-assign]

# The rule's parse (its parts, the regular expression of each, its trace) was the other half of
# each app's routing: about 14 ms of CPU an app, the biggest part of ``create_app`` left. It
# depends only on the rule text and the map's converter classes; the converters themselves,
# which hold their map, are made anew for each rule from what the parse asked for.
_parse_rule = Rule._parse_rule
_parses: dict[tuple, tuple[list, list, list]] = {}


def _kept_parse(rule: Rule, text: str):
    key = (text, tuple(sorted(rule.map.converters.items())))
    kept = _parses.get(key)
    if kept is None:
        asked: list[tuple] = []
        get_converter = rule.get_converter

        def recorded(variable: str, name: str, args: tuple, kwargs: dict):
            asked.append((variable, name, args, kwargs))
            return get_converter(variable, name, args, kwargs)

        rule.get_converter = recorded  # type: ignore[method-assign]
        start = len(rule._trace)
        try:
            parts = list(_parse_rule(rule, text))
        finally:
            del rule.get_converter
        _parses[key] = (parts, rule._trace[start:], asked)
        return parts
    parts, trace, asked = kept
    rule._trace.extend(trace)
    for variable, name, args, kwargs in asked:
        rule._converters[variable] = rule.get_converter(variable, name, args, kwargs)
        rule.arguments.add(variable)
    return list(parts)


Rule._parse_rule = _kept_parse  # type: ignore[method-assign]


class _KeptTemplates(jinja2.BytecodeCache):
    """Compiled templates shared by every app of this test process (Jinja checks the checksum)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_templates = _KeptTemplates()
_create_jinja_environment = flask.Flask.create_jinja_environment


def _jinja_environment_with_kept_templates(self: Flask):
    environment = _create_jinja_environment(self)
    environment.bytecode_cache = _templates
    return environment


flask.Flask.create_jinja_environment = _jinja_environment_with_kept_templates  # type: ignore[method-assign]


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
            # A test's commit need not wait for the disk: a crash of this server loses at most
            # this throwaway database's last moments. Set on this database alone (the server is
            # shared); the crash tests that need durability run their own servers' settings.
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except sa.exc.OperationalError as error:
        server.dispose()
        _fail_or_skip(f"PostgreSQL is not reachable at {PG_SERVER}: {error}")
    url = sa.engine.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    yield url
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@contextmanager
def migrated_postgresql_database(name: str, instance: Path) -> Iterator[str]:
    """A PostgreSQL database of one's own, built by the migrations, dropped afterwards.

    For tests whose statistics (ANALYZE, VACUUM) must not outlive them in the shared database.
    """
    server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url, instance)
        yield url
    finally:
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


@pytest.fixture(scope="session")
def _migrated() -> dict[str, str]:
    """Each backend's migrated database URL, kept for the whole run (``database_url``)."""
    return {}


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    _migrated: dict[str, str],
) -> str:
    """A database built by the migrations, once per backend per run.

    Pytest sets a parametrised session fixture up again each time the parameter changes, and
    under ``--dist loadfile`` it changes twice a module (its SQLite tests, then its PostgreSQL
    ones): the migrations ran each time (1-20 s). They run once per backend; the rest reuse it.
    """
    url = _migrated.get(request.param)
    if url is None:
        instance = tmp_path_factory.mktemp("migrate")
        if request.param == "sqlite":
            url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "survey.sqlite3")
        else:
            url = request.getfixturevalue("postgres_database")
        _migrate(url, instance)
        _migrated[request.param] = url
    return url


def _empty_all_tables() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    # Only the tables the test wrote are emptied (one statement finds them): most tests write
    # to few of the ~50 tables, and many to none (then nothing is written here at all).
    probes = " UNION ALL ".join(
        f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables
    )
    written = set(_db.session.scalars(sa.text(probes)).all())
    if _db.engine.dialect.name == "postgresql":
        # By DELETE: TRUNCATE makes new files for every table it names, and CASCADE names
        # every table that refers to one of them (0.4-1 s a test on a loaded machine, against
        # tens of ms). Foreign keys and the rollups' triggers are off meanwhile (a replica's
        # session role): the tables not named are empty, so no row is left pointing nowhere.
        if written:
            _db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for name in written:
                _db.session.execute(sa.text(f'DELETE FROM "{name}"'))
        _db.session.execute(
            sa.text(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
                "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )
        )
    else:
        for table in tables:  # children before their parents
            if table.name in written:
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
        # First visits are written when a test flushes them (survey.respond.opens), not by
        # a thread of their own racing the test's reads and its tables' emptying.
        "SURVEY_OPENS_INTERVAL": None,
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


@contextmanager
def _app_on(config: dict) -> Iterator[Flask]:
    """An app inside its context; afterwards every table is empty and no process cache remains."""
    # Flask-Limiter keeps one state per process (one app, in production): a limits store an
    # earlier test found down would keep this test's counts in its memory fallback until a
    # periodic check moved them back mid-test. Each test app starts with its store alive.
    from survey import fragments, settings
    from survey.extensions import limiter
    from survey.respond import kept, opens, versions

    limiter._storage_dead = False
    application = create_app(config)
    with application.app_context():
        yield application
        _db.session.rollback()
        opens.forget(application)  # nothing noted is written after its tables are emptied
        _empty_all_tables()
        versions.forget()  # the next test's version 1 is another version
        settings.forget()  # and its settings are the defaults again
        fragments.forget()  # nor are its pages' parts those of this one
        kept.forget()  # nor its survey pages
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def app(app_config: dict, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app on one of the databases, with empty tables afterwards."""
    marker = request.node.get_closest_marker("app_config")
    with _app_on({**app_config, **(marker.kwargs if marker else {})}) as application:
        yield application


@pytest.fixture(scope="module")
def module_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app per database for a whole module whose tests only read what it was given.

    For data that takes seconds to build (a demo bank, a bank of answers) and that every test of
    the module reads without changing. Such a module must not also use ``app``: that app's end
    empties the tables under this one. A test that changes something puts it back itself.
    """
    instance = tmp_path_factory.mktemp("module") / "instance"
    with _app_on(make_test_config(database_url, instance)) as application:
        yield application


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


# How many ordinary tests' time a browser test or a Hypothesis test takes, about (the quick
# set's junit times, bench/RESULTS.md): 15–40 s against 0.5–2 s under the suite's load.
LONG_TEST_WEIGHT = 20


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "app_config(**kw): override the test app's configuration")
    # Under `-n 2 --dist loadfile` xdist hands out modules in the order collected (below)
    # rather than by their number of tests, which put the browser modules (few, long tests)
    # last and left one worker idle for minutes at the end.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(trylast=True)  # after `-m` and `-k` left out what they leave out
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules that take longest first, each module's tests in their own order.

    What the workers take last is then short, so they finish together. A module's weight is
    the sum of its tests': 1 each, ``LONG_TEST_WEIGHT`` for a browser or Hypothesis test, or
    the module's own ``TEST_WEIGHT`` (for tests that draw their cases inside, as schemathesis).
    """
    from hypothesis import is_hypothesis_test

    weight: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        each = getattr(getattr(item, "module", None), "TEST_WEIGHT", None)
        if each is None:
            long = item.get_closest_marker("browser") or is_hypothesis_test(
                getattr(item, "obj", None)
            )
            each = LONG_TEST_WEIGHT if long else 1
        weight[module] = weight.get(module, 0) + each
    items.sort(key=lambda item: -weight[item.nodeid.split("::")[0]])
