"""What every benchmark shares: a throwaway database, a timer, and RESULTS.md.

A benchmark builds its own database (a temporary SQLite file, or a PostgreSQL
database named ``bench_<random>`` on the test server, dropped afterwards), so it
never touches instance/ or another engineer's data. A script that takes
``--database-url`` measures an existing, already loaded database instead, read-only
(see ``existing_app``): never loaded, migrated or dropped. Its figures are appended to
bench/RESULTS.md with the date, the machine and the exact command: the machines
are shared and noisy, so a result is read as ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shlex
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask

from survey import create_app, demo
from survey.extensions import db

DATABASES = ("sqlite", "postgresql")
PG_SERVER = os.environ.get(
    "SURVEY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RESULTS = Path(__file__).with_name("RESULTS.md")
# PostgreSQL's synchronous_commit for the bench's own database ("off", "local", ...); unset:
# the server's setting (on).
SYNCHRONOUS_COMMIT = os.environ.get("SURVEY_BENCH_SYNCHRONOUS_COMMIT", "")
if SYNCHRONOUS_COMMIT not in ("", "on", "off", "local", "remote_write", "remote_apply"):
    raise SystemExit(f"SURVEY_BENCH_SYNCHRONOUS_COMMIT: not a setting: {SYNCHRONOUS_COMMIT}")

T = TypeVar("T")


def arguments(description: str, existing: bool = False) -> argparse.ArgumentParser:
    """Return a parser that already knows ``--database`` (and ``--database-url`` if asked).

    :param existing: offer ``--database-url``, an existing database measured read-only;
        read it with :func:`parse` so that ``--database`` follows from the URL.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    if existing:
        parser.add_argument(
            "--database-url",
            help="an existing, loaded database to measure read-only (never loaded, migrated "
            "or dropped); --database follows from it",
        )
    parser.add_argument(
        "--no-record", action="store_true", help="print the figures without adding to RESULTS.md"
    )
    return parser


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line; ``--database`` follows from ``--database-url`` when given."""
    args = parser.parse_args()
    url = getattr(args, "database_url", None)
    if url:
        kind = sa.engine.make_url(url).get_backend_name()
        if kind not in DATABASES:
            parser.error(f"--database-url: {kind} is neither of {', '.join(DATABASES)}")
        args.database = kind
    return args


def shown_url(url: str) -> str:
    """A database URL as a report may print it: without its password."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


@contextmanager
def throwaway_database(kind: str, keep: str | None = None) -> Iterator[str]:
    """Yield the URL of a new, empty database of a kind; remove it afterwards.

    :param keep: a SQLite file to use instead, left in place afterwards (a benchmark whose
        data takes long to build can then reuse it on its next run).
    """
    if keep is not None:
        if kind != "sqlite":
            raise ValueError("only a SQLite database can be kept")
        yield f"sqlite:///{Path(keep).resolve()}"
        return
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-")
        try:
            yield f"sqlite:///{folder}/bench.sqlite3"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    server = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    name = f"bench_{secrets.token_hex(4)}"
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        if SYNCHRONOUS_COMMIT:
            # An experiment, said in the figures' header: how much of a write's wait is
            # the WAL's flush at each commit (SQLite's WAL at synchronous=NORMAL has none).
            conn.execute(
                sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = {SYNCHRONOUS_COMMIT}')
            )
    try:
        yield sa.engine.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def app_config(url: str, instance: str, **extra: Any) -> dict[str, Any]:
    """The configuration of an app a benchmark runs in-process: its database, an instance
    folder of its own, an in-memory queue and links to nowhere."""
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": instance,
        "SECRET_KEY": "bench",
        "SURVEY_QUEUE_URL": "memory://",
        "SURVEY_PUBLIC_URL": "http://bench.invalid",
        **extra,
    }


@contextmanager
def bench_app(kind: str, keep: str | None = None) -> Iterator[Flask]:
    """Yield an app on a throwaway database built by the migrations, inside its app context.

    :param keep: a SQLite file to build (or, when it exists, bring up to date) and keep.
    """
    from flask_migrate import upgrade

    with throwaway_database(kind, keep) as url:
        instance = tempfile.mkdtemp(prefix="bench-instance-")
        app = create_app(app_config(url, instance))
        try:
            with app.app_context():
                upgrade()
                yield app
                db.session.remove()
                db.engine.dispose()
        finally:
            shutil.rmtree(instance, ignore_errors=True)


@contextmanager
def existing_app(url: str) -> Iterator[Flask]:
    """Yield an app on an existing, loaded database, inside its app context, that cannot write.

    The database must already be at the migrations' head: it is never migrated (up or
    down), loaded or dropped. Every connection is read-only (PostgreSQL:
    ``default_transaction_read_only``; SQLite: ``PRAGMA query_only``), so a benchmark that
    tried to write would fail instead of changing someone's data. What a GET writes
    in production (an API key's last use, once a minute) is therefore not written: use
    :func:`read_only_api_key` for the API.
    """
    kind = sa.engine.make_url(url).get_backend_name()
    options: dict[str, Any] = {}
    if kind == "postgresql":
        options = {
            "pool_pre_ping": True,
            "connect_args": {"options": "-c default_transaction_read_only=on"},
        }
    instance = tempfile.mkdtemp(prefix="bench-instance-")
    app = create_app(app_config(url, instance, SQLALCHEMY_ENGINE_OPTIONS=options))
    try:
        with app.app_context():
            if kind == "sqlite":
                sa.event.listen(db.engine, "connect", _query_only)
                db.engine.dispose()
            _check_at_head(app)
            yield app
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def _query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def _check_at_head(app: Flask) -> None:
    """Refuse a database at a revision the code does not know; say so if it is behind.

    A database behind the code's head is measured as it is (its missing migrations are
    not run: that would write), and the figures say so, in ``app.config["BENCH_REVISION"]``.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    heads = set(script.get_heads())
    known = {revision.revision for revision in script.walk_revisions()}
    if not current or not current <= known:
        raise SystemExit(
            f"the database is at {sorted(current) or 'no revision'}, which this code does "
            f"not know (its head: {sorted(heads)}): it is measured as it is, never migrated"
        )
    if current == heads:
        app.config["BENCH_REVISION"] = f"at the migrations' head {', '.join(sorted(heads))}"
        return
    behind = []
    for head in heads:
        for revision in script.iterate_revisions(head, tuple(current)):
            behind.append(revision.revision)
    app.config["BENCH_REVISION"] = (
        f"at revision {', '.join(sorted(current))}, behind the code's head "
        f"{', '.join(sorted(heads))}: measured without {', '.join(behind)} (not migrated here)"
    )
    print(f"warning: the database is {app.config['BENCH_REVISION']}", flush=True)


def read_only_api_key(scopes: str = "scores") -> str:
    """Return a key the API takes on a read-only database, where no key can be created.

    ``api_key_for`` keeps its lookup (the same indexed read of ``api_key`` by hash, which
    finds nothing) and then answers with an unsaved key of these scopes, last used in the
    far future so that ``_record_use`` has nothing to write. Only this process is changed.
    """
    from survey.auth import service
    from survey.models import ApiKey

    lookup = service.api_key_for
    stand_in = ApiKey(
        name="bench (unsaved)",
        prefix="bench",
        key_hash="",
        scopes=scopes,
        last_used_at=datetime(9999, 1, 1, tzinfo=UTC),
    )

    def api_key_for(key: str) -> ApiKey | None:
        lookup(key)
        return stand_in

    service.api_key_for = api_key_for
    return "bench-read-only"


def signed_in_client(app: Flask, email: str) -> Any:
    """Return a test client signed in as an existing user without a sign-in's writes.

    A sign-in through /auth/login writes its audit entry; this puts in the session cookie
    what ``survey.auth.sessions.start`` does (Flask-Login's user, its "strong" session
    identifier, the sign-in times), so it works on a read-only database too.
    """
    from flask_login.utils import _create_identifier

    from survey import clock
    from survey.auth import sessions
    from survey.models import User

    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        raise SystemExit(f"no user {email} in the database")
    client = app.test_client()
    with client.session_transaction() as session, app.test_request_context():
        now = clock.now().timestamp()
        session.update(
            {
                sessions.USER_KEY: user.get_id(),
                "_fresh": True,
                "_id": _create_identifier(),
                sessions.SIGNED_IN_AT: now,
                sessions.SEEN_AT: now,
            }
        )
        session.permanent = True
    db.session.rollback()
    return client


def last_day() -> date:
    """The bank's day of the newest counted response: where an existing database's history ends."""
    from survey.models import Response
    from survey.scoring.rollup import local_day

    newest = db.session.scalar(sa.select(sa.func.max(Response.counted_at)))
    db.session.rollback()
    if newest is None:
        raise SystemExit("the database holds no counted response")
    return local_day(newest)


def gather_statistics() -> None:
    """Have PostgreSQL gather the planner's statistics on the tables a bulk load just filled.

    A benchmark measures the database as it runs in production, where autovacuum gathers
    them some time after a bulk load (it is off on the test server). The demo loader does
    it itself only from ``survey.demo.GATHER_STATISTICS_FROM`` interactions, so a
    benchmark's smaller load gathers them here (``survey.demo.analyze``). Without them the
    planner guessed that ``delivery.state IN (…)`` keeps 3,180 of 685,662 deliveries where
    632,551 match, and ANDed the whole state index into the frequency window's probe by
    address: at 640,884 invitations ``surveys_since`` read 4,600 buffers a call (about
    30 ms) where it needs 30 (2.5 ms).
    """
    demo.analyze()


@dataclass
class Timer:
    """Seconds between entering and leaving a ``with`` block."""

    seconds: float = 0.0
    _started: float = field(default=0.0, repr=False)

    def __enter__(self) -> Timer:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self._started


def repeat(action: Callable[[], T], times: int = 3) -> tuple[float, T]:
    """Run an action several times; return the median seconds and the last result."""
    seconds = []
    result: Any = None
    for _ in range(times):
        with Timer() as timer:
            result = action()
        seconds.append(timer.seconds)
    return statistics.median(seconds), result


def machine() -> dict[str, str]:
    """Describe this machine and the database servers the figures come from."""
    try:
        server = sa.create_engine(PG_SERVER)
        with server.connect() as conn:
            postgres = conn.execute(sa.text("SHOW server_version")).scalar_one()
        server.dispose()
    except sa.exc.OperationalError:
        postgres = "not reachable"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": str(postgres).split()[0],
        "load average at start": load,
        **(
            {"synchronous_commit (the bench's PostgreSQL database)": SYNCHRONOUS_COMMIT}
            if SYNCHRONOUS_COMMIT
            else {}
        ),
    }


def command_line() -> str:
    """Return the command that is running, as someone would type it from the checkout."""
    python = sys.executable
    with suppress(ValueError):
        python = os.path.relpath(python)
    script = os.path.relpath(sys.argv[0])
    return shlex.join([python, script, *sys.argv[1:]])


def record(
    title: str,
    about: dict[str, str],
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    notes: Sequence[str] = (),
    enabled: bool = True,
) -> None:
    """Print a table of figures and append it to RESULTS.md as a section of its own."""
    lines = [
        f"## {title}",
        "",
        f"- date: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        *(f"- {name}: {value}" for name, value in about.items()),
        f"- command: `{command_line()}`",
        "",
        "| " + " | ".join(headers) + " |",
        "| " + " | ".join("---" for _ in headers) + " |",
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
        "",
        *(f"{note}" for note in notes),
    ]
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if not enabled:
        return
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\n"
            "Appended by the scripts in bench/ (see bench/README.md). The machines are shared\n"
            "and noisy: compare figures within one section, as ratios, not across sections.\n",
            encoding="utf-8",
        )
    with RESULTS.open("a", encoding="utf-8") as results:
        results.write("\n" + text)


def seconds(value: float) -> str:
    """Format a duration for a table: milliseconds below a second."""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
