"""Post interactions to a real server as history grows, next to a bare Flask endpoint.

    .venv/bin/python bench/intake.py [--sizes 17000,1700000] [--rounds 2] [--duration 20]
        [--connections 8] [--database postgresql] [--serve sync,gthread] [--keep FOLDER]

Each size loads the demo bank (``survey.demo.load``, seed 2026, its 90 days ending
today, so the posts fall inside the customers' frequency window) into a fresh
throwaway database built by the migrations, creates an API key with ``survey
apikey create``, and serves the app with gunicorn (2 workers of the class and threads
scripts/gunicorn.conf.py sets, as ``make run`` and production serve it; ``--serve
sync,gthread`` serves each way in turn, the bare endpoint too) on a free port. wrk then holds the connections open for a fixed time, each request a new
interaction (its own ``external_id``) for a customer of the demo bank, by their
stored phone and e-mail. In the same run, for the same time and with the same
bodies, gunicorn serves ``bench/bare_app.py``, a Flask endpoint that stores
nothing. Goals (issue 8): no errors, the largest size's rate at least 1/1.5 of
the smallest's, and intake at least 20% of the bare endpoint's rate.

The bench starts gunicorn and wrk itself and ends only those processes, by the
PIDs it got when starting them. Building 1,700,000 takes long: ``--keep FOLDER`` (SQLite)
builds each size into ``FOLDER/intake-SIZE.sqlite3`` and leaves it there; a later run with
the same folder reuses it (the posts of earlier runs stay in it, a few thousand rows). The servers import the same ``survey`` package as the
bench (recorded as "code served"): run it with ``PYTHONPATH=.`` when the venv's
editable install points at another checkout.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
import serving
import sqlalchemy as sa
from flask import Flask

import survey
from survey import demo
from survey.extensions import db
from survey.models import Address, Agent, BusinessLine, Customer, Interaction, Invitation, Team
from survey.models.customer import customer_address

BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
# The servers and `survey apikey create` import the same checkout as this script did, not
# whatever an editable install of the venv points at.
SOURCE = Path(survey.__file__).resolve().parent.parent
CUSTOMERS_POSTED = 5000  # distinct customers the posts cycle through
# In every posted external_id: a bank kept (--keep) and measured again gets new interactions,
# not replays of the last run's ids with other bodies (409s).
RUN = secrets.token_hex(3)

# Each wrk thread numbers its own requests, so every post is a new external_id; done()
# prints one JSON line the bench reads (latencies in microseconds).
WRK_SCRIPT = r"""
local rows = {}
for line in io.lines(os.getenv("BENCH_ROWS")) do rows[#rows + 1] = line end
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = os.getenv("BENCH_RUN") .. "-" .. tid .. "-"
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_API_KEY")
end

function request()
  n = n + 1
  local row = rows[(n * 7919 + tid * 104729) % #rows + 1]
  local body = '{"external_id":"' .. prefix .. n .. '","occurred_at":"'
    .. os.date("!%Y-%m-%dT%H:%M:%SZ") .. '","channel":"phone","type":"inquiry",'
    .. '"category":"credit_card","wait_seconds":60,' .. row .. '}'
  return wrk.format(nil, "/api/v1/interactions", nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class Run:
    """What wrk saw in one fixed-time run against one server."""

    requests: int
    seconds: float
    p50: float
    p99: float
    errors: int
    stored: int | None = None  # interactions the database gained, for the intake runs

    @property
    def rate(self) -> float:
        """Answered requests per second."""
        return (self.requests - self.errors) / self.seconds


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="17000,1700000")
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="times each size is measured; every database is built first, then the sizes "
        "take turns, the order reversed each round (2 rounds of two sizes: A B B A)",
    )
    parser.add_argument(
        "--keep",
        help="a folder for each size's SQLite file, built when missing and reused when there",
    )
    serving.add_arguments(parser)
    args = parser.parse_args()
    if args.keep and args.database != "sqlite":
        parser.error("--keep is for SQLite")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    serves = args.serve
    sizes = [int(s) for s in args.sizes.split(",")]
    about = {
        **common.machine(),
        "database": args.database,
        "server": "; then ".join(serve.describe(args.workers) for serve in serves),
        "load": f"wrk, 2 threads, {args.connections} connections, {args.duration} s a run",
        "code served": str(SOURCE / "survey"),
    }
    rows: list[list[Any]] = []
    # The first way of serving's intake rate of each size, one per round.
    intake_rates: dict[int, list[float]] = {size: [] for size in sizes}
    with contextlib.ExitStack() as stack:
        banks = [_build(stack, args.database, size, args.keep) for size in sizes]
        about["built"] = "; ".join(
            f"{bank.invitations:,} invitations in {bank.built:.0f} s" for bank in banks
        )
        for round_number in range(args.rounds):
            order = banks if round_number % 2 == 0 else banks[::-1]
            for bank in order:
                for number, serve in enumerate(serves):
                    bare, intake = _measure(bank, serve, f"{round_number}-{number}", args)
                    if number == 0:
                        intake_rates[bank.size].append(intake.rate)
                    named = f"{serve.name}: " if len(serves) > 1 else ""
                    if args.rounds > 1:
                        named = f"round {round_number + 1}, {named}"
                    for name, run in (
                        (f"{named}bare Flask endpoint", bare),
                        (f"{named}POST /api/v1/interactions", intake),
                    ):
                        rows.append(_row(name, bank.invitations, run))
                    share = f"{intake.rate / bare.rate:.0%}"
                    rows.append(
                        [f"{named}intake ÷ bare", f"{bank.invitations:,}", share] + [""] * 5
                    )
    if len(sizes) > 1:
        first = "" if len(serves) == 1 else serves[0].name + ": "
        median = "the median round's " if args.rounds > 1 else ""
        rows.append(
            [
                f"{first}intake: largest ÷ smallest size, {median}rate",
                "",
                f"{statistics.median(intake_rates[sizes[-1]]) / statistics.median(intake_rates[sizes[0]]):.2f}×",
            ]
            + [""] * 5
        )
    common.record(
        f"Intake under load ({args.database})",
        about,
        ["endpoint", "invitations", "answered/s", "p50", "p99", "errors", "requests", "stored"],
        rows,
        notes=[
            f"Each request is a new interaction for one of {CUSTOMERS_POSTED:,} demo customers "
            "(stored phone and e-mail, a team and agent of the demo bank), occurring now, so the "
            "decision reads real history in the frequency window. `answered/s` counts answers "
            "that were not errors over wrk's measured time; `errors` are wrk's socket errors, "
            "timeouts (10 s) and statuses of 400 and above; `stored` is how many interactions "
            "the database gained during the intake run. The bare endpoint gets the same bodies "
            "from the same script and stores nothing, served the same way as the app. The Huey queue is a SQLite file beside "
            "the app; no queue worker runs. Every size's database is built before the first "
            "run, so with `--rounds` the sizes are measured in turn on the same machine. Goals: "
            "0 errors; intake ≥ 20% of bare; the largest size's intake rate ≥ 1/1.5 (0.67×) of "
            "the smallest's.",
        ],
        enabled=not args.no_record,
    )


@dataclass
class _Bank:
    """One size's database, loaded and ready to be served."""

    size: int
    app: Flask
    invitations: int
    built: float  # seconds the load took
    env: dict[str, str]  # what points `survey` and gunicorn at it
    script: Path  # wrk's Lua script
    rows_file: Path  # the posted customers, one JSON fragment a line
    key: str  # an API key with the interactions scope


def _build(stack: contextlib.ExitStack, database: str, size: int, keep: str | None) -> _Bank:
    """Load the demo bank of ``size`` into a throwaway database kept open on ``stack``.

    :param keep: a folder whose ``intake-SIZE.sqlite3`` is the database, loaded only when new.
    """
    started = time.perf_counter()
    kept = None if keep is None else Path(keep, f"intake-{size}.sqlite3")
    reused = kept is not None and kept.exists()
    app = stack.enter_context(common.bench_app(database, None if kept is None else str(kept)))
    folder = stack.enter_context(tempfile.TemporaryDirectory())
    with app.app_context():
        if not reused:
            demo.load(size=size)
        common.gather_statistics()
        invitations = _count(Invitation)
        rows_file = Path(folder, "rows.txt")
        rows_file.write_text("\n".join(_posted_rows()) + "\n", encoding="utf-8")
        db.session.remove()
    built = time.perf_counter() - started
    if reused:
        print(f"{database} {size}: {invitations:,} invitations, reused from {kept}", flush=True)
    else:
        print(f"{database} {size}: {invitations:,} invitations in {built:.0f} s", flush=True)
    script = Path(folder, "post.lua")
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    env = _app_environment(app, folder)
    return _Bank(size, app, invitations, built, env, script, rows_file, _api_key(env))


def _measure(bank: _Bank, serve: serving.Workers, label: str, args: Any) -> tuple[Run, Run]:
    """Serve the bare endpoint, then the app, the same way, each under wrk; return both runs.

    Each run posts external ids of its own (a size is measured once a round, and a way of
    serving may be given twice, e.g. ABBA).
    """
    run_id = f"{bank.size}-{label}-{serve.name}-{RUN}"
    wrk_env = {**os.environ, "BENCH_ROWS": str(bank.rows_file), "BENCH_API_KEY": bank.key}
    with serving.gunicorn("bare_app:app", args.workers, bank.env, "/ready", serve=serve) as port:
        bare = _wrk(port, bank.script, args, {**wrk_env, "BENCH_RUN": f"BARE-{run_id}"})
    with bank.app.app_context():
        before = _count(Interaction)
    with serving.gunicorn(
        "survey:create_app()", args.workers, bank.env, "/api/v1/openapi.json", serve=serve
    ) as port:
        intake = _wrk(port, bank.script, args, {**wrk_env, "BENCH_RUN": f"BENCH-{run_id}"})
    with bank.app.app_context():
        intake.stored = _count(Interaction) - before
        db.session.remove()
    return bare, intake


def _count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _posted_rows() -> list[str]:
    """Return JSON fragments (customer, business line, team, agent) for the posts to cycle."""
    ids = list(db.session.scalars(sa.select(Customer.id).order_by(Customer.id)))
    chosen = random.Random(2026).sample(ids, min(CUSTOMERS_POSTED, len(ids)))
    addresses: dict[int, dict[str, str]] = {}
    for customer_id, kind, value in db.session.execute(
        sa.select(customer_address.c.customer_id, Address.kind, Address.value)
        .join(Address, Address.id == customer_address.c.address_id)
        .where(customer_address.c.customer_id.in_(chosen))
        .order_by(Address.id)
    ):
        addresses.setdefault(customer_id, {})[kind] = value  # the latest of each kind
    agents = db.session.execute(
        sa.select(Agent.code, Team.code, Team.business_line_id).join(Team, Agent.team_id == Team.id)
    ).all()
    lines = {
        i: code for i, code in db.session.execute(sa.select(BusinessLine.id, BusinessLine.code))
    }
    rng = random.Random(2027)
    fragments = []
    for customer in db.session.scalars(sa.select(Customer).where(Customer.id.in_(chosen))):
        agent, team, line = rng.choice(agents)
        person: dict[str, Any] = {"external_id": customer.external_id, "name": customer.name}
        person.update(addresses.get(customer.id, {}))
        fragment = {"customer": person, "business_line": lines[line], "team": team, "agent": agent}
        # ensure_ascii keeps each fragment one line of plain ASCII for the Lua script.
        fragments.append(json.dumps(fragment, ensure_ascii=True)[1:-1])
    return fragments


def _app_environment(app: Flask, folder: str) -> dict[str, str]:
    """Return the environment that points `survey` and gunicorn at the bench's database."""
    return {
        **os.environ,
        "SURVEY_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SURVEY_INSTANCE_PATH": app.instance_path,
        "SURVEY_SECRET_KEY": "bench",
        "SURVEY_QUEUE_URL": f"sqlite:///{folder}/queue.sqlite3",
        "SURVEY_PUBLIC_URL": "http://bench.invalid",
        "SURVEY_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(BENCH), str(SOURCE)]),
    }


def _api_key(env: dict[str, str]) -> str:
    """Create an API key the way an administrator would, and return it."""
    done = subprocess.run(
        [str(BIN / "survey"), "apikey", "create", "bench", "--scope", "interactions"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip().splitlines()[-1]


def _wrk(port: int, script: Path, args: Any, env: dict[str, str]) -> Run:
    """Run wrk for the fixed time and return what its done() hook printed."""
    seen = serving.run_wrk(
        f"http://127.0.0.1:{port}/api/v1/interactions", script, env, args.duration,
        args.connections,
    )  # fmt: skip
    run = Run(
        requests=seen["requests"],
        seconds=seen["duration_us"] / 1e6,
        p50=seen["p50_us"] / 1e6,
        p99=seen["p99_us"] / 1e6,
        errors=seen["errors"],
    )
    print(f"  {env['BENCH_RUN']}: {run.rate:.1f}/s, {run.errors} errors", flush=True)
    return run


def _row(name: str, invitations: int, run: Run) -> list[Any]:
    stored = "" if run.stored is None else f"{run.stored:,}"
    return [
        name, f"{invitations:,}", f"{run.rate:,.1f}", common.seconds(run.p50),
        common.seconds(run.p99), f"{run.errors:,}", f"{run.requests:,}", stored,
    ]  # fmt: skip


if __name__ == "__main__":
    main()
