"""Time each dashboard page against the API calls that give its numbers, in one run.

    .venv/bin/python bench/pages.py [--answers 1000000] [--keep FILE.sqlite3] [--runs 20]
    .venv/bin/python bench/pages.py --database-url postgresql+psycopg://…/bench10m_keep

Data: the demo bank (``survey.demo.load``) at about ``--answers`` answers in a throwaway
database (see common.py); with ``--keep FILE`` in that SQLite file, built on the first
run and measured read-only on the next ones (a load of 1,000,000 answers takes a
quarter of an hour or more); or, with ``--database-url``, an existing database,
read-only. The clock is stopped at noon (bank's zone) of the data's last day.

Signed in as the demo's quality user (the Flask test client with a session cookie, no
sign-in write), each page is asked for its typical filters (30 days, 90 days, a year,
one business line, one team) in Chinese, and in the same run, alternating with it
(page first on one run, the API first on the next), the calls of the JSON API that
give the page's numbers, as the page's view code asks them (survey/dashboard/):

- overview (``/``): ``/api/v1/scores`` overall and by dimension, each with
  ``compare=previous``, and by week;
- breakdown: by the level below the filter (business line, team or agent), by
  interaction channel and by survey channel, each with ``compare=rest`` and again by
  dimension;
- dimensions: by week and dimension, by dimension with ``compare=previous``, and
  ``/api/v1/drivers``;
- complaints: ``/api/v1/complaints``; funnel: ``/api/v1/funnel``.

For each: p50 and p95 of the page and of its API calls (the sum of the calls of one
run), and the page's overhead over its calls at the median, (page − API) ÷ API. Goals
(issue 12): overhead ≤ 30 %, page p95 ≤ 150 ms at 10,000,000 answers on PostgreSQL.
``--cpu`` times each request by this process's CPU (``time.process_time``: the app, the
template and SQLite's own work, which runs in this process) instead of the wall clock: on a
machine loaded by others the wall clock mostly measures the wait for a core, and a change of
a millisecond or two is lost in it; PostgreSQL's work is in another process, so ``--cpu`` is
for SQLite. ``--profile NAME`` prints cProfile's top functions for the cases whose name contains
NAME instead of measuring; ``--only PAGE`` measures only the cases whose name starts with
PAGE (``--only funnel``).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import time as clocks
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import common
import sqlalchemy as sa
from flask import Flask, g

from survey import clock, demo, settings
from survey.extensions import db
from survey.models import Answer, Response

TODAY = date(2026, 12, 6)  # the demo's last day, as the 10M database was loaded
QUALITY = "quality@demo.bank"
LINE = "personal"
TEAM = "personal-inquiries"
PAGE_GOAL = 0.30
P95_GOAL = 0.150
# What a request's time is read from: the wall clock, or with --cpu this process's CPU.
_clock = clocks.perf_counter


@dataclass(frozen=True)
class Case:
    """One page asked with some filters, and the API calls that give its numbers."""

    name: str
    page: str
    api: tuple[str, ...]


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0], existing=True)
    parser.add_argument("--answers", type=int, default=1_000_000, help="demo answers (about)")
    parser.add_argument("--keep", help="a SQLite file: built on the first run, reused after")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", help="profile the cases whose name contains this")
    parser.add_argument("--only", help="measure only the cases whose name starts with this")
    parser.add_argument(
        "--cpu", action="store_true", help="time by this process's CPU, not the wall clock"
    )
    args = common.parse(parser)
    if args.keep and (args.database_url or args.database != "sqlite"):
        parser.error("--keep is a SQLite file; give it alone")
    about = {**common.machine(), "database": args.database}
    if args.cpu:
        global _clock
        _clock = clocks.process_time
        about["clock"] = "CPU of this process (time.process_time), not the wall clock"
    with _app(args) as (app, built):
        last_day = common.last_day()
        clock.freeze(
            datetime.combine(last_day, time(12), tzinfo=ZoneInfo(settings.bank_zone())).astimezone(
                UTC
            )
        )
        answers = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
        responses = db.session.scalar(sa.select(sa.func.count()).select_from(Response))
        about["data"] = (
            f"{built}: {answers:,} answers in {responses:,} responses, last day {last_day}"
        )
        if "BENCH_REVISION" in app.config:
            about["data"] += f"; {app.config['BENCH_REVISION']}"
        if db.engine.dialect.name == "postgresql":
            about["data"] += f"; {_statistics()}"
        db.session.rollback()
        print(about["data"], flush=True)
        key = common.read_only_api_key()
        page_client = common.signed_in_client(app, QUALITY)
        api_client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        cases = _cases(last_day)
        if args.only:
            cases = [case for case in cases if case.name.startswith(args.only)]
        if args.profile:
            for case in cases:
                if args.profile in case.name:
                    _profile(case, page_client, api_client, headers)
            return
        rows = _measure(cases, page_client, api_client, headers, args.runs)
    where = (
        f"existing database {sa.engine.make_url(args.database_url).database}"
        if args.database_url
        else f"demo, {answers:,} answers"
    )
    common.record(
        f"Dashboard pages against their API calls ({args.database}, {where})"
        + (", CPU" if args.cpu else ""),
        about,
        [
            "page, filters",
            "API calls",
            "page p50",
            "page p95",
            "API p50",
            "API p95",
            "page overhead (p50)",
            "≤ 30 %",
            "p95 ≤ 150 ms",
        ],
        rows,
        notes=[
            "Each page is GET through the app (Flask test client, signed in as quality, "
            "`lang=zh`: filters, services, charts, template); `API` is the sum of the API "
            "calls that give the page's numbers (each a request of its own through the same "
            "app: API key, parsing, JSON), timed in the same run, alternating with the page "
            "(which goes first alternates too), after one warm-up. Overhead = (page p50 − API "
            "p50) ÷ API p50. On a read-only database the API key is an unsaved stand-in "
            "(common.read_only_api_key). Shared machine (2 cores, other engineers' tests and "
            "a 10M-answer load): read ratios within the run.",
        ],
        enabled=not args.no_record,
    )


@contextmanager
def _app(args: Any) -> Iterator[tuple[Flask, str]]:
    """The app on the database asked for, and how its data came to be."""
    if args.database_url:
        with common.existing_app(args.database_url) as app:
            yield app, f"existing database {common.shown_url(args.database_url)} (read-only)"
        return
    if args.keep and os.path.exists(args.keep):
        with common.existing_app(f"sqlite:///{os.path.abspath(args.keep)}") as app:
            yield app, f"demo kept in {args.keep} from an earlier run (read-only)"
        return
    size = demo.interactions_for(args.answers)
    loaded: list[bool] = []
    place = _kept(args.keep, loaded) if args.keep else common.bench_app(args.database)
    with place as app:
        with common.Timer() as loading:
            demo.load(size=size, today=TODAY, progress=True)
        common.gather_statistics()
        loaded.append(True)
        yield app, f"demo size {size:,} loaded in {common.seconds(loading.seconds)}"


@contextmanager
def _kept(path: str, loaded: list[bool]) -> Iterator[Flask]:
    """An app on a new SQLite file that stays for the next run (removed if the load fails).

    ``loaded`` holds True once the load is done: a measurement that fails after it (a quarter
    of an hour's load) leaves the file for the next run.
    """
    from flask_migrate import upgrade

    from survey import create_app

    url = f"sqlite:///{os.path.abspath(path)}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": os.path.dirname(os.path.abspath(path)),
            "SECRET_KEY": "bench",
            "SURVEY_QUEUE_URL": "memory://",
            "SURVEY_PUBLIC_URL": "http://bench.invalid",
        }
    )
    done = False
    try:
        with app.app_context():
            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()
            done = True
    finally:
        if not done and not loaded:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)


def _statistics() -> str:
    """Whether PostgreSQL's planner has statistics on the big tables (ANALYZE writes: not run)."""
    rows = db.session.execute(
        sa.text(
            "SELECT relname, coalesce(last_analyze, last_autoanalyze) IS NOT NULL "
            "FROM pg_stat_user_tables WHERE relname IN ('answer', 'response', 'rollup_bank_day')"
        )
    ).all()
    missing = sorted(name for name, analysed in rows if not analysed)
    return f"not analysed: {', '.join(missing)}" if missing else "tables analysed"


def _cases(last_day: date) -> list[Case]:
    """Each page with its typical filters, and its API calls read from its view code."""

    def span(days: int) -> dict[str, str]:
        return {
            "from": (last_day - timedelta(days=days - 1)).isoformat(),
            "to": last_day.isoformat(),
        }

    filters = [
        ("30 days", span(30)),
        ("90 days", span(90)),
        ("a year", span(365)),
        (f"90 days, {LINE}", {**span(90), "business_line": LINE}),
    ]
    cases = []
    for label, where in filters:
        cases.append(_overview(label, where))
    for label, where in [*filters, (f"90 days, {TEAM}", {**span(90), "team": TEAM})]:
        cases.append(_breakdown(label, where))
    for label, where in filters:
        cases.append(_dimensions(label, where))
    for label, where in filters:
        cases.append(
            Case(f"complaints, {label}", _url("/complaints", where), (_api("complaints", where),))
        )
    for label, where in filters:
        cases.append(Case(f"funnel, {label}", _url("/funnel", where), (_api("funnel", where),)))
    return cases


def _overview(label: str, where: dict[str, str]) -> Case:
    """survey/dashboard/overview.py: headline and dimensions against the previous period, trend."""
    return Case(
        f"overview, {label}",
        _url("/", where),
        (
            _api("scores", {**where, "compare": "previous"}),
            _api("scores", {**where, "group_by": "week"}),
            _api("scores", {**where, "group_by": "dimension", "compare": "previous"}),
        ),
    )


def _breakdown(label: str, where: dict[str, str]) -> Case:
    """survey/dashboard/breakdown.py: the level below the filter, channel and survey channel."""
    if "team" in where:
        level = "agent"
    elif "business_line" in where:
        level = "team"
    else:
        level = "business_line"
    calls = []
    for field in (level, "channel", "survey_channel"):
        calls.append(_api("scores", {**where, "group_by": field, "compare": "rest"}))
        calls.append(_api("scores", {**where, "group_by": f"{field},dimension"}))
    return Case(f"breakdown by {level}, {label}", _url("/breakdown", where), tuple(calls))


def _dimensions(label: str, where: dict[str, str]) -> Case:
    """survey/dashboard/dimensions.py: trends by dimension, scores against before, drivers."""
    return Case(
        f"dimensions, {label}",
        _url("/dimensions", where),
        (
            _api("scores", {**where, "group_by": "week,dimension"}),
            _api("scores", {**where, "group_by": "dimension", "compare": "previous"}),
            _api("drivers", where),
        ),
    )


def _url(path: str, args: dict[str, str]) -> str:
    return f"{path}?{urlencode({**args, 'lang': 'zh'})}"


def _api(name: str, args: dict[str, str]) -> str:
    return f"/api/v1/{name}?{urlencode(args)}"


def _measure(
    cases: list[Case], page_client: Any, api_client: Any, headers: dict[str, str], runs: int
) -> list[list[str]]:
    for case in cases:  # warm-up, and every answer checked
        page, api = _page(case, page_client), _calls(case, api_client, headers)
        print(
            f"warm-up {case.name}: page {common.seconds(page)}, API {common.seconds(api)}",
            flush=True,
        )
    pages: dict[str, list[float]] = {c.name: [] for c in cases}
    apis: dict[str, list[float]] = {c.name: [] for c in cases}
    for run in range(runs):
        for case in cases:
            if run % 2:
                apis[case.name].append(_calls(case, api_client, headers))
                pages[case.name].append(_page(case, page_client))
            else:
                pages[case.name].append(_page(case, page_client))
                apis[case.name].append(_calls(case, api_client, headers))
        print(f"run {run + 1} of {runs} done", flush=True)
    rows = []
    for case in cases:
        page50, page95 = statistics.median(pages[case.name]), _p95(pages[case.name])
        api50, api95 = statistics.median(apis[case.name]), _p95(apis[case.name])
        overhead = (page50 - api50) / api50
        rows.append(
            [
                case.name,
                str(len(case.api)),
                common.seconds(page50),
                common.seconds(page95),
                common.seconds(api50),
                common.seconds(api95),
                f"{overhead:+.0%}",
                "yes" if overhead <= PAGE_GOAL else "no",
                "yes" if page95 <= P95_GOAL else "no",
            ]
        )
        print(" | ".join(rows[-1]), flush=True)
    return rows


def _fresh_g() -> None:
    """Empty ``g``, as a served request finds it.

    The test client's requests run in the bench's own app context, whose ``g`` outlives
    them: Flask-Login would load the user once for every page of the run, and what a
    request keeps in ``g`` would serve the next one.
    """
    for name in list(g):
        g.pop(name)


def _page(case: Case, client: Any) -> float:
    _fresh_g()
    started = _clock()
    reply = client.get(case.page)
    seconds = _clock() - started
    assert reply.status_code == 200, (case.page, reply.status_code)
    db.session.rollback()
    return seconds


def _calls(case: Case, client: Any, headers: dict[str, str]) -> float:
    total = 0.0
    for url in case.api:
        _fresh_g()
        started = _clock()
        reply = client.get(url, headers=headers)
        total += _clock() - started
        assert reply.status_code == 200, (url, reply.status_code, reply.get_data(as_text=True))
    db.session.rollback()
    return total


def _p95(values: list[float]) -> float:
    if len(values) < 2:  # --runs 1: quantiles need two values
        return max(values)
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _profile(case: Case, page_client: Any, api_client: Any, headers: dict[str, str]) -> None:
    """Print where the page's time goes, and its API calls', by cumulative time."""
    _page(case, page_client)
    for label, action in (
        ("page", lambda: _page(case, page_client)),
        ("API calls", lambda: _calls(case, api_client, headers)),
    ):
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            action()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(
            os.environ.get("PAGES_SORT", "cumulative")
        ).print_stats(int(os.environ.get("PAGES_LINES", "45")))
        print(f"===== {case.name}: {label} (5 times) =====")
        print(out.getvalue())


if __name__ == "__main__":
    main()
