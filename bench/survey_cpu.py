"""The survey page's CPU per request, in-process, next to the bare endpoint: no server, no wrk.

    .venv/bin/python bench/survey_cpu.py [--invitations 20000] [--requests 2000]
        [--rounds 3] [--database postgresql] [--profile get-first|get-again|post]

What ``survey_page.py`` measures under gunicorn and wrk, but on a busy machine: the
requests go through the Flask test client in this one process, one after another, so
the CPU time each takes (``time.process_time``, this process only: a database
server's share on PostgreSQL is not in it, its round trips are in the wall time) can be
read while other work runs. The same number of requests to ``bench/bare_app.py`` in
the same process give the ratio, as the wrk bench gives its share of bare.

The data: the demo (seed 2026), multiplied to ``--invitations`` (``tokens.multiply``);
the newest ``2 × --rounds × --requests`` made fresh, sent and unopened. Cases, each
``--requests`` requests, each round in this order with tokens of its own, the least
disturbed round (smallest CPU) kept per case:

- GET first visit: a fresh token each (writes ``opened_at`` and the funnel);
- GET again: the same tokens a second time (reads only);
- POST first step: other fresh tokens, each its first step's answer (303, stored);
- bare GET and bare POST: ``bare_app``'s ``/s/<token>`` twins.

Requests run outside any app context, as a server's do (each has its own ``g``, so
settings are read as a server reads them). Web rate limits are off, as in the wrk bench.

On PostgreSQL the server's share is measured too: the CPU time (user and system, from
``/proc/<pid>/stat``, so the server must run on this machine) of every backend connected
to the bench's database, read before and after each case; the wall time left over is
waiting (round trips, the WAL's flush at each commit, the scheduler).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import common
import intake
import tokens
from bare_app import app as bare

from survey import create_app, demo
from survey.extensions import db
from survey.models import Answer, Invitation


@dataclass
class Case:
    """One kind of request, timed: CPU and wall seconds per request."""

    name: str
    cpu: float
    wall: float
    statuses: dict[int, int]
    server: float | None = None  # the database server's CPU seconds per request (PostgreSQL)


class ServerCpu:
    """The CPU seconds the PostgreSQL backends serving one database have used so far."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.query = sa.text(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid != pg_backend_pid()"
        )
        self.seen: dict[int, float] = {}

    def used(self) -> dict[int, float]:
        """CPU seconds by backend (a backend gone since is left out: its share is lost)."""
        with self.engine.connect() as connection:
            pids = list(connection.scalars(self.query))
        found = {}
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[pid] = (int(fields[11]) + int(fields[12])) / self.ticks  # utime, stime
        return found

    def since(self, before: dict[int, float]) -> float:
        """CPU seconds the backends used since ``before`` (a backend new since from zero)."""
        return sum(now - before.get(pid, 0.0) for pid, now in self.used().items())


@contextmanager
def survey_app(kind: str) -> Iterator[Any]:
    """An app as the wrk bench serves it (rate limits off), on a throwaway migrated database."""
    from flask_migrate import upgrade

    with common.throwaway_database(kind) as url:
        instance = tempfile.mkdtemp(prefix="bench-instance-")
        app = create_app(common.app_config(url, instance, RATELIMIT_ENABLED=False))
        try:
            with app.app_context():
                upgrade()
            yield app
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        finally:
            shutil.rmtree(instance, ignore_errors=True)


def timed(
    name: str, send: Callable[[int], int], count: int, server: ServerCpu | None = None
) -> Case:
    """Send ``count`` requests (``send(i)`` returns the status); CPU and wall per request."""
    statuses: dict[int, int] = {}
    before = server.used() if server is not None else {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(count):
        status = send(i)
        statuses[status] = statuses.get(status, 0) + 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    served = server.since(before) / count if server is not None else None
    return Case(name, cpu / count, wall / count, statuses, served)


def profiled(send: Callable[[int], int], count: int, top: int = 45) -> None:
    """Print cProfile's top functions (cumulative and own time) over ``count`` requests."""
    # CPU time, not wall time: on a shared machine the wall clock counts other work's turns.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for i in range(count):
        send(i)
    profiler.disable()
    stats = pstats.Stats(profiler)
    if os.environ.get("BENCH_PROFILE_DUMP"):
        stats.dump_stats(os.environ["BENCH_PROFILE_DUMP"])
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats(order).print_stats(top)
        print(out.getvalue())
    # Own time by where the code lives: which library the request's CPU goes to.
    by_part: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_part[_part(filename)] = by_part.get(_part(filename), 0.0) + own
    total = sum(by_part.values())
    print("own time by part (profiled, so slower than the real figures):")
    for part, own in sorted(by_part.items(), key=lambda item: -item[1]):
        print(f"  {part:<28} {own / count * 1000:7.3f} ms/request  {own / total:6.1%}")


def _part(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/templates/" in filename:
        return "templates (Jinja code)"
    if "/survey/" in filename:
        return "survey." + filename.rsplit("/survey/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins"
    return "stdlib / other"


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2000, help="requests per case")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best one is kept")
    parser.add_argument("--demo-size", type=int, default=3000, help="interactions of the demo")
    parser.add_argument("--profile", choices=("get-first", "get-again", "post"))
    args = parser.parse_args()
    n = args.requests
    about = {
        **common.machine(),
        "database": args.database,
        "code measured": str(intake.SOURCE / "survey"),
        "how": "Flask test client in one process, requests one after another, outside any "
        "app context; CPU by time.process_time (this process only)",
    }
    with survey_app(args.database) as app:
        with app.app_context(), common.Timer() as built:
            demo.load(size=args.demo_size)
            tokens.multiply(args.invitations)
            pool = tokens.fresh_pool(2 * args.rounds * n)
            common.gather_statistics()
            invitations = intake._count(Invitation)
            answers_before = intake._count(Answer)
            lines = tokens.pool_lines(app, pool)
            db.session.remove()
        print(f"{args.database}: {invitations:,} invitations in {built.seconds:.0f} s", flush=True)
        # Round r reads lines[2rn : 2rn + n] and posts to the next n.
        split = [line.split(" ", 1) for line in lines]
        reads = [split[2 * r * n : 2 * r * n + n] for r in range(args.rounds)]
        posts = [split[2 * r * n + n : 2 * r * n + 2 * n] for r in range(args.rounds)]
        at = [0]  # the round being run
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        survey, bare_client = app.test_client(), bare.test_client()

        def get(i: int) -> int:
            return survey.get(f"/s/{reads[at[0]][i][0]}?lang=zh").status_code

        def post(i: int) -> int:
            token, body = posts[at[0]][i]
            return survey.post(f"/s/{token}?lang=zh", data=body, headers=form).status_code

        def bare_get(i: int) -> int:
            return bare_client.get(f"/s/{reads[at[0]][i][0]}?lang=zh").status_code

        def bare_post(i: int) -> int:
            token, body = posts[at[0]][i]
            return bare_client.post(f"/s/{token}?lang=zh", data=body, headers=form).status_code

        if args.profile:
            send = {"get-first": get, "get-again": get, "post": post}[args.profile]
            if args.profile == "get-again":
                for i in range(n):
                    get(i)
            profiled(send, n)
            return
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        server = ServerCpu(url) if args.database == "postgresql" else None
        rounds: list[dict[str, Case]] = []
        for round_ in range(args.rounds):
            at[0] = round_
            cases = [
                timed("GET first visit", get, n, server),
                timed("GET again", get, n, server),
                timed("POST first step", post, n, server),
                timed("bare GET", bare_get, n, server),
                timed("bare POST", bare_post, n, server),
            ]
            rounds.append({c.name: c for c in cases})
            print(
                f"  round {round_ + 1}: "
                + ", ".join(f"{c.name} {c.cpu * 1000:.2f} ms" for c in cases)
                + (
                    " (server: "
                    + ", ".join(f"{(c.server or 0) * 1000:.2f}" for c in cases)
                    + " ms)"
                    if server is not None
                    else ""
                ),
                flush=True,
            )
        if server is not None:
            server.engine.dispose()
        with app.app_context():
            stored = intake._count(Answer) - answers_before
            db.session.remove()
    _report(args, about, invitations, built.seconds, rounds, stored)


def _best(rounds: list[dict[str, Case]], name: str) -> Case:
    """The least disturbed round's figures for a case (its smallest CPU per request)."""
    found = [c for r in rounds for c in r.values() if c.name == name]
    return min(found, key=lambda c: c.cpu)


def _report(
    args: Any,
    about: dict[str, str],
    invitations: int,
    built: float,
    rounds: list[dict[str, Case]],
    stored: int,
) -> None:
    bare_get, bare_post = _best(rounds, "bare GET"), _best(rounds, "bare POST")
    rows = []
    names = ["GET first visit", "GET again", "POST first step", "bare GET", "bare POST"]
    for name in names:
        case = _best(rounds, name)
        twin = bare_post if "POST" in name else bare_get
        walls = [c.wall for r in rounds for c in r.values() if c.name == name]
        row = [
            name,
            f"{case.cpu * 1000:.3f}",
            f"{statistics.median(walls) * 1000:.3f}",
            f"{1 / case.cpu:,.0f}",
            f"{twin.cpu / case.cpu:.1%}",
        ]
        if args.database == "postgresql":
            # The server's CPU in the same round (the kept round's), and both together:
            # on one machine the server's backends share the cores with the web workers.
            served = case.server or 0.0
            both, twin_both = case.cpu + served, twin.cpu + (twin.server or 0.0)
            row += [f"{served * 1000:.3f}", f"{both * 1000:.3f}", f"{twin_both / both:.1%}"]
        row.append(", ".join(f"{s}: {k:,}" for s, k in sorted(case.statuses.items())))
        rows.append(row)
    common.record(
        f"Survey page CPU per request, in-process ({args.database})",
        {
            **about,
            "invitations": f"{invitations:,} (demo of {args.demo_size:,} interactions, "
            f"multiplied; built in {built:.0f} s)",
            "requests per case": f"{args.requests:,}, best of {args.rounds} rounds",
            "answers stored by the POSTs": f"{stored:,} of {args.rounds * args.requests:,} "
            "posted",
        },
        ["case", "CPU ms/request", "wall ms/request (median)", "CPU-bound rate/s",
         "bare ÷ case (CPU)",
         *(["server CPU ms/request", "ours + server ms", "bare ÷ case (ours + server)"]
           if args.database == "postgresql" else []),
         "statuses"],
        rows,
        notes=[
            "CPU ÷: the bare twin's CPU per request over the case's, the share of bare a "
            "CPU-bound server would reach (the wrk bench's goals: GET ≥ 50 %, POST ≥ 25 %). "
            "On PostgreSQL the database server's CPU and the round trips are not in the CPU "
            "column; they are in the wall column. Read as ratios within one run.",
            *(["Server CPU: the CPU time of every PostgreSQL backend connected to the "
               "bench's database (/proc/<pid>/stat, 10 ms ticks summed over the case's "
               "requests), in the round kept for the case; ours + server: what one request "
               "costs the machine's cores, whose ratio to bare's is the share of bare a "
               "server sharing its cores with PostgreSQL could reach."]
              if args.database == "postgresql" else []),
        ],
        enabled=not args.no_record,
    )  # fmt: skip


if __name__ == "__main__":
    main()
