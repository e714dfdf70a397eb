"""What every benchmark shares: a throwaway database, a timer, and RESULTS.md.

A benchmark builds its own database (a temporary SQLite file, or a PostgreSQL
database named ``bench_<random>`` on the test server, dropped afterwards), so it
never touches instance/ or another engineer's data. Its figures are appended to
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
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask

from survey import create_app
from survey.extensions import db

DATABASES = ("sqlite", "postgresql")
PG_SERVER = os.environ.get(
    "SURVEY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RESULTS = Path(__file__).with_name("RESULTS.md")

T = TypeVar("T")


def arguments(description: str) -> argparse.ArgumentParser:
    """Return a parser that already knows ``--database``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database", choices=DATABASES, default="sqlite")
    parser.add_argument(
        "--no-record", action="store_true", help="print the figures without adding to RESULTS.md"
    )
    return parser


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
    try:
        yield sa.engine.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@contextmanager
def bench_app(kind: str, keep: str | None = None) -> Iterator[Flask]:
    """Yield an app on a throwaway database built by the migrations, inside its app context.

    :param keep: a SQLite file to build (or, when it exists, bring up to date) and keep.
    """
    from flask_migrate import upgrade

    with throwaway_database(kind, keep) as url:
        instance = tempfile.mkdtemp(prefix="bench-instance-")
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "INSTANCE_PATH": instance,
                "SECRET_KEY": "bench",
                "SURVEY_QUEUE_URL": "memory://",
                "SURVEY_PUBLIC_URL": "http://bench.invalid",
            }
        )
        try:
            with app.app_context():
                upgrade()
                yield app
                db.session.remove()
                db.engine.dispose()
        finally:
            shutil.rmtree(instance, ignore_errors=True)


def gather_statistics() -> None:
    """Have PostgreSQL gather the planner's statistics on the tables a bulk load just filled.

    PostgreSQL plans from statistics that only ANALYZE gathers: autovacuum runs it some
    time after a bulk load in production, and never on the test server, where it is off.
    Without them the planner guessed that ``delivery.state IN (…)`` keeps 3,180 of
    685,662 deliveries where 632,551 match, and ANDed the whole state index into the
    frequency window's probe by address: at 640,884 invitations ``surveys_since`` read
    4,600 buffers a call (about 30 ms) where it needs 30 (2.5 ms). A benchmark measures
    the database as it runs, so it gathers them before measuring. SQLite's planner picks
    these indexes without statistics, so it is left alone. (The demo loader does not do
    this itself: tests load the demo too, and statistics gathered from one test's data
    outlive that data and change the plans later tests check; the sweep's expiry plan
    test failed after tests/test_demo.py that way.)
    """
    if db.engine.dialect.name != "postgresql":
        return
    tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"ANALYZE {tables}"))
    db.session.commit()


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
