"""Deterministic demo data: the bank, its staff, a published survey and its history of answers.

``survey demo`` calls :func:`load`. The same seed, last day and size give the
same data (only the secret tokens and the API key differ), so a demo, a
screenshot or a bug report can be reproduced.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time as timer
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from survey import clock, settings, workcal
from survey.demo import actions, followups, indexes, invitations, org, people, store
from survey.demo.bulk import BATCH_ROWS, BulkWriter, IdBlocks
from survey.demo.interactions import DemoInteraction, InteractionStream, history_days, scale
from survey.demo.org import DEMO_PASSWORD, STAFF
from survey.demo.progress import Progress, ProgressCallback
from survey.extensions import db
from survey.models import (
    Address,
    BusinessLine,
    Customer,
    Interaction,
    Survey,
    User,
    customer_address,
)

__all__ = [
    "ANSWERS_PER_INTERACTION",
    "analyze",
    "answers_per_interaction",
    "DEMO_PASSWORD",
    "DemoError",
    "DemoSummary",
    "database_is_empty",
    "interactions_for",
    "load",
    "sign_in_reminder",
]


# Answers a demo interaction brings, measured with seed 2026: a bigger demo's longer history
# holds back fewer of a customer's contacts under the frequency window, so the ratio grows.
# (interactions, answers) as loaded by bench/demo_load.py.
LOADED = ((20_000, 18_007), (86_957, 91_761), (869_565, 1_082_365))
ANSWERS_PER_INTERACTION = tuple((size, answers / size) for size, answers in LOADED)

# From this many interactions PostgreSQL's load drops the loaded tables' keys and indexes and
# builds them after the rows (see indexes). Below it the rows' own index writes cost no more
# than building some 35 keys and indexes afterwards: the two were even at 100,000 and deferring
# paid at 300,000 (bench/demo_load.py --defer-indexes, bench/RESULTS.md). A small load (every
# test's) keeps the migrations' indexes, which it cannot leave hidden from older transactions.
DEFER_INDEXES_FROM = 100_000
# From this many interactions a load on PostgreSQL ends by gathering the planner's statistics
# (ANALYZE) on every table. Without them it plans a 10M-answer bank's queries from a guess of
# the rows: the complaints page's open cases took 14 s, joined from two million responses
# instead of from the 1,305 cases (bench/RESULTS.md). Autovacuum would gather them some time
# later, where it is on. A small load (every test's) leaves them alone: statistics gathered
# from one test's data outlive it and change the plans later tests check.
GATHER_STATISTICS_FROM = DEFER_INDEXES_FROM


def answers_per_interaction(size: int) -> float:
    """Return about how many answers each of ``size`` interactions brings (interpolated)."""
    points = ANSWERS_PER_INTERACTION
    if size <= points[0][0]:
        return points[0][1]
    for (low, low_ratio), (high, high_ratio) in itertools.pairwise(points):
        if size <= high:
            share = math.log(size / low) / math.log(high / low)
            return low_ratio + share * (high_ratio - low_ratio)
    return points[-1][1]


def interactions_for(answers: int) -> int:
    """Return about how many interactions bring ``answers`` answers (within about 10 %)."""
    low, high = 1, 2 * people.MAX_CUSTOMERS
    while low < high:
        size = (low + high) // 2
        if size * answers_per_interaction(size) < answers:
            low = size + 1
        else:
            high = size
    return low


class DemoError(RuntimeError):
    """Demo data cannot be loaded here; the message says why."""


@dataclass
class DemoSummary:
    """What was loaded, and how to sign in to look at it."""

    seed: int
    first_day: date
    last_day: date
    counts: dict[str, int]
    login_url: str
    api_key: str
    seconds: float
    staff: list[tuple[str, str]] = field(default_factory=list)
    # The most rows held before a write, and interactions waiting for their survey's due time.
    peak_buffered_rows: int = 0
    peak_pending_interactions: int = 0
    # Seconds spent writing each table (COPY or executemany), the rest being generation.
    write_seconds: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Return the summary as lines for the terminal, the API key alone on the last one."""
        c = self.counts
        return [
            f"Demo data loaded (seed {self.seed}, {self.first_day} to {self.last_day}, "
            f"{self.seconds:.1f} s): {c['interactions']:,} interactions "
            f"({c['complaints']:,} complaints), {c['customers']:,} customers, "
            f"{c['agents']} agents in {c['teams']} teams, {c['invitations']:,} invitations, "
            f"{c['responses']:,} completed responses, {c['answers']:,} answers.",
            *sign_in_lines(self.login_url, self.staff),
            "API key of the demo call-centre system (shown only now):",
            self.api_key,
        ]


def sign_in_lines(login_url: str, staff: list[tuple[str, str]] | None = None) -> list[str]:
    """Return the demo sign-ins, for the summary and for a reminder when nothing is loaded."""
    staff = staff or [(role, email) for role, email, _name in STAFF]
    return [
        f"Sign in at {login_url} with password {DEMO_PASSWORD}:",
        *(f"  {role:<8} {email}" for role, email in staff),
    ]


def sign_in_reminder() -> list[str]:
    """Return the demo sign-ins when the demo staff exist here, or nothing."""
    emails = [email for _role, email, _name in STAFF]
    found = set(db.session.scalars(sa.select(User.email).where(User.email.in_(emails))))
    staff = [(role, email) for role, email, _name in STAFF if email in found]
    if not staff:
        return []
    lines = sign_in_lines(login_url(), staff)
    lines[0] = lines[0].rstrip(":") + " (unless it was changed):"
    # The demo key was printed once, when it was made; a key is never stored readable.
    lines.append(
        "API key for the JSON API: the demo's was printed on the first run; "
        "make another with `.venv/bin/survey apikey create NAME`"
    )
    return lines


def login_url() -> str:
    """Return where staff sign in (the public URL follows SURVEY_HOST/PORT unless set)."""
    return current_app.config["SURVEY_PUBLIC_URL"] + "/auth/login"


def _existing_data() -> list[str]:
    checks = {
        "interactions": Interaction,
        "staff accounts": User,
        "business lines": BusinessLine,
        "customers": Customer,
        "surveys": Survey,
    }
    return [
        name
        for name, model in checks.items()
        if db.session.scalar(sa.select(model.id).limit(1)) is not None
    ]


def database_is_empty() -> bool:
    """Whether the database has no interactions, staff, organisation, customers or surveys."""
    return not _existing_data()


def load(
    seed: int = 2026,
    today: date | None = None,
    size: int = 20000,
    progress: bool | ProgressCallback = False,
    batch_rows: int = BATCH_ROWS,
    defer_indexes: bool | None = None,
    gather_statistics: bool | None = None,
) -> DemoSummary:
    """Load the demo bank into an empty database and commit it.

    :param seed: the same seed, ``today`` and ``size`` give the same data.
    :param today: the last day of the history; default today in the bank's zone, up to now.
    :param size: how many interactions to generate (see :func:`answers_per_interaction`).
    :param progress: True for stderr (bars on a terminal, log lines otherwise), or a callback
        ``(phase, done, total)``.
    :param batch_rows: how many rows are held in memory before they are written.
    :param defer_indexes: on PostgreSQL, whether the loaded tables' keys and indexes are
        dropped for the load and built after the rows; by default from
        :data:`DEFER_INDEXES_FROM` interactions. (SQLite writes them row by row either way.)
    :param gather_statistics: on PostgreSQL, whether the load ends with ANALYZE of every
        table; by default from :data:`GATHER_STATISTICS_FROM` interactions.
    :raises DemoError: when the database has data already; nothing is written then.

    Rows are generated and written a batch at a time in one transaction, committed before the
    dashboards' rollups are rebuilt from them.
    """
    found = _existing_data()
    if found:
        raise DemoError(
            f"the database already has {', '.join(found)}; "
            "demo data is loaded only into an empty database"
        )
    if size < 1:
        raise DemoError("the demo needs at least one interaction")
    if size // 2 > people.MAX_CUSTOMERS:
        raise DemoError(f"the demo has at most {2 * people.MAX_CUSTOMERS:,} interactions")
    started = timer.perf_counter()
    zone = ZoneInfo(settings.bank_zone())
    if today is None:
        as_of = clock.now()
        today = as_of.astimezone(zone).date()
    else:
        as_of = datetime.combine(today, time(21, 0), zone).astimezone(UTC)
    first_day = today - timedelta(days=history_days(size) - 1)
    if defer_indexes is None:
        defer_indexes = size >= DEFER_INDEXES_FROM
    if gather_statistics is None:
        gather_statistics = size >= GATHER_STATISTICS_FROM
    try:
        with _fast_sqlite():
            summary = _load(
                seed,
                today,
                first_day,
                as_of,
                zone,
                size,
                Progress(progress),
                batch_rows,
                defer_indexes,
                gather_statistics,
            )
    except BaseException:
        db.session.rollback()
        raise
    summary.seconds = timer.perf_counter() - started
    return summary


@contextmanager
def _fast_sqlite() -> Iterator[None]:
    """Skip SQLite's syncs while loading, and give it a bigger page cache; restore both after.

    Safe only because the demo loads into an empty database (one with no data, as a new
    file is): a power cut mid-load can lose nothing but the demo. Both settings belong to
    this connection alone, so a server using the same file keeps its own durability, and
    they are put back when the load ends, however it ends.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        yield
        return
    driver = db.session.connection().connection.driver_connection
    synchronous = driver.execute("PRAGMA synchronous").fetchone()[0]
    cache = driver.execute("PRAGMA cache_size").fetchone()[0]
    driver.execute("PRAGMA synchronous=OFF")
    driver.execute("PRAGMA cache_size=-32000")  # 32 MB
    try:
        yield
    finally:
        driver.execute(f"PRAGMA synchronous={int(synchronous)}")
        driver.execute(f"PRAGMA cache_size={int(cache)}")


def _rng(seed: int, phase: str) -> random.Random:
    # One stream per phase, so a change in one phase leaves the others' data as it was.
    return random.Random(f"{seed}:{phase}")


def _load(
    seed: int,
    today: date,
    first_day: date,
    as_of: datetime,
    zone: ZoneInfo,
    size: int,
    progress: Progress,
    batch_rows: int,
    defer_indexes: bool,
    gather_statistics: bool,
) -> DemoSummary:
    with progress.phase("organisation", 1) as step:
        organisation = org.create_organisation(_rng(seed, "organisation"), scale(size))
        staff_ids, api_key = org.create_staff()
        published = datetime.combine(first_day - timedelta(days=7), time(10), zone)
        setup = org.create_survey(staff_ids["manager"], published.astimezone(UTC))
        step(1)

    # The actions the bank took during the history, which its customers' answers reflect.
    timeline = actions.Timeline.ending(today, zone)
    writer = BulkWriter((Customer, Address, customer_address, *store.TABLES), batch_rows)
    start = datetime.combine(first_day, time(0), zone).astimezone(UTC)
    count = max(size // 2, 1)
    customers = people.Customers(
        seed, count, IdBlocks(Customer).reserve(count), IdBlocks(Address).reserve(2 * count), start
    )
    # A big load on PostgreSQL builds the tables' keys and indexes once the rows are in (see
    # indexes); a small one writes them with the rows.
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    deferred = indexes.drop(db.session, writer.tables) if postgresql and defer_indexes else None
    with progress.phase("customers", count) as step:
        customers.write(writer, step)

    stream = InteractionStream(
        _rng(seed, "interactions"), size, today, as_of, zone, organisation, customers,
        workcal.from_settings(),
        first_id=IdBlocks(Interaction).reserve(size), timeline=timeline,
    )  # fmt: skip
    allowed = (
        time.fromisoformat(settings.get("allowed_hours_start")),
        time.fromisoformat(settings.get("allowed_hours_end")),
    )
    dispatcher = invitations.Dispatcher(
        _rng(seed, "invitations"), setup, as_of,
        int(settings.get("frequency_window_days")), int(settings.get("link_lifetime_hours")),
        allowed, customers, settings.get("default_timezone"),
    )  # fmt: skip
    rows = store.Store(
        writer, organisation, setup, _rng(seed, "answers"), as_of,
        int(settings.get("partial_close_hours")), timeline,
    )  # fmt: skip
    with progress.phase("interactions", size) as step:
        peak_pending = _replay(stream, dispatcher, rows, writer, zone, step)
    with progress.phase("indexes", 1) as step:
        if deferred is not None:
            indexes.restore(db.session, deferred)
        step(1)

    # The data is committed before the rollups, which the scoring service rebuilds (and commits)
    # from it: should the rebuild fail, `survey demo` has still loaded, and a rebuild can follow.
    # SQLite copies the whole load from its write-ahead log into the file then: half a minute
    # at a million answers, worth a line of its own.
    with progress.phase("commit", 1) as step:
        actions.record(timeline, staff_ids["quality"], today, zone)
        db.session.commit()
        step(1)
    # No ANALYZE here: a big load gathers the statistics once everything is in (see
    # GATHER_STATISTICS_FROM).
    # Completed responses and closed partials count (those are the ones given a count time).
    rolled = rows.counts.counted_ratings
    with progress.phase("rollups", rolled) as step:
        _rebuild_rollups(step, rolled)
    with progress.phase("funnel", rows.counts.interactions) as step:
        _rebuild_funnel(records_are_exact(dispatcher))
        _stamp_complaint_cases()
        step(rows.counts.interactions)

    with progress.phase("follow-ups", 1) as step:
        followups.open_cases(_rng(seed, "followups"), as_of)
        step(1)
    if postgresql and gather_statistics:
        with progress.phase("statistics", 1) as step:
            analyze()
            step(1)

    counted = rows.counts
    summary_counts = {
        "agents": sum(len(a) for a in organisation.agents_by_team.values()),
        "teams": len(organisation.team_ids),
        "days": len(stream.days),
        "customers": count,
        "interactions": counted.interactions,
        "complaints": counted.complaints,
        "invitations": counted.invitations,
        "responses": counted.completed,
        "answers": counted.answers,
        "rows": sum(writer.written.values()),
    }
    return DemoSummary(
        seed=seed,
        first_day=first_day,
        last_day=today,
        counts=summary_counts,
        login_url=login_url(),
        api_key=api_key,
        seconds=0.0,
        staff=[(role, email) for role, email, _name in STAFF],
        peak_buffered_rows=writer.peak_rows,
        peak_pending_interactions=peak_pending,
        write_seconds=writer.seconds,
    )


def _replay(
    stream: InteractionStream,
    dispatcher: invitations.Dispatcher,
    rows: store.Store,
    writer: BulkWriter,
    zone: ZoneInfo,
    step: Callable[[int], None],
) -> int:
    """Generate each day, decide each survey as it falls due, and write it all a batch at a time.

    A survey falls due after its interaction (a complaint's when it is resolved, up to weeks
    later), so interactions wait in a heap ordered by that moment until the day it falls due
    has been generated: everything generated later is due later. Return the most that waited.
    """
    reported = 0

    def report() -> None:
        nonlocal reported
        step(rows.counts.interactions - reported)
        reported = rows.counts.interactions

    writer.on_flush.append(report)
    pending: list[tuple[datetime, int, DemoInteraction]] = []
    peak = 0

    def settle(before: datetime | None) -> None:
        while pending and (before is None or pending[0][0] < before):
            _at, _number, interaction = heapq.heappop(pending)
            rows.interaction(interaction, dispatcher.decide(interaction))
            if writer.full():
                writer.flush()

    for day_number, day in enumerate(stream.days):
        for interaction in stream.day(day_number):
            if interaction.type == "complaint":
                rows.open_case(interaction)
                dispatcher.register_complaint(interaction)
            at = invitations.due(interaction)
            if at is None:  # still open at the end: decided (held) at once
                rows.interaction(interaction, dispatcher.decide(interaction))
            else:
                heapq.heappush(pending, (at, interaction.number, interaction))
            if writer.full():
                writer.flush()
        peak = max(peak, len(pending))
        # Whatever is generated from the next day on falls due after its midnight.
        midnight = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
        settle(midnight)
        dispatcher.forget_resolved(midnight)
    settle(None)
    writer.flush()
    writer.on_flush.remove(report)
    return peak


def records_are_exact(dispatcher: invitations.Dispatcher) -> bool:
    """Whether the invitations' funnel records were written as a rebuild would set them.

    The loader works out each invitation's record from what it generated for it
    (``store.funnel_record``), counting only the invitation's own opt-out: exact when a
    link expires before the customer's next survey can be made (a frequency window
    later), as with the default settings, with an hour to spare for the sending.
    """
    return dispatcher.link_hours * 3600 + 3600 <= dispatcher.window


def _rebuild_funnel(records_exact: bool) -> None:
    """Count the interactions and invitations just loaded into the response funnel.

    On PostgreSQL, with the records right, the counting is one GROUP BY on the server; else
    the rebuild reads every invitation's facts (SQLite: the records are right, so it
    corrects none).
    """
    from survey.funnel.rebuilding import rebuild, rebuild_from_records

    if records_exact and db.session.get_bind().dialect.name == "postgresql":
        rebuild_from_records()
    else:
        rebuild()


def _stamp_complaint_cases() -> None:
    """Store the loaded resolved complaint cases' outcomes, as intake does for each post."""
    from survey import workcal
    from survey.scoring import complaint_cases, complaint_outcomes

    complaint_outcomes.refresh(db.session, complaint_cases.limits(), workcal.from_settings())
    db.session.commit()


def _rebuild_rollups(step: Callable[[int], None], expected: int) -> None:
    """Recompute the dashboards' rollups and the comments index from the answers just loaded."""
    from survey.scoring.rollup import rebuild

    reported = 0

    def report(done: int, _total: int) -> None:
        nonlocal reported
        done = min(done, expected)
        step(done - reported)
        reported = done

    rebuild(progress=report)
    # The comments index is derived from the same answers (survey.scoring.comment_index).
    from survey.scoring import comment_index

    comment_index.rebuild()
    db.session.commit()
    step(expected - reported)


def analyze() -> None:
    """Commit, then have PostgreSQL vacuum every table and gather the planner's statistics.

    PostgreSQL plans from statistics that only ANALYZE gathers, and an index-only read
    (the dashboards' reads of the rollups) skips the table only on pages VACUUM has marked
    all-visible: right after a bulk load none is, and team × week over 90 days at 10M read
    3× slower until autovacuum came by (bench/RESULTS.md). VACUUM runs outside a
    transaction, on a connection of its own. SQLite's planner is left alone: it picks these
    indexes without statistics.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.commit()
    tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {tables}")
    db.session.commit()
