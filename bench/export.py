"""The raw responses export at a million rows: peak memory and time, CSV and XLSX.

    .venv/bin/python bench/export.py [--responses 1000000] [--size 5000] [--formats csv,xlsx]
        [--ways route,job] [--database sqlite|postgresql]

The data: a small demo bank (``survey.demo.load``, seed 2026) whose counted responses,
with their answers, invitations and interactions, are multiplied by set-based
INSERT … SELECT (ids shifted past the largest, new external ids and tokens, no
complaint case) until the database holds ``--responses``.

Each export runs in a child process of its own (this script with ``--child``), one of
two ways:

- ``route``: the child signs in as a quality analyst and reads
  ``GET /export/responses.<format>`` through the Flask test client to the last byte (the
  streamed CSV; an XLSX this large is refused there and prepared as a job instead);
- ``job``: the child asks for the export as that analyst would (``exports.jobs.prepare``)
  and runs the background job's function (``exports.jobs.run``, what the Huey task calls)
  to the renamed file, noting its resident memory at each heartbeat.

The child's peak resident memory (its own ``getrusage(RUSAGE_SELF).ru_maxrss``) is what is
reported, so the data building in the parent does not count. Goal: memory flat, at most
200 MB, whatever the rows.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import common
import sqlalchemy as sa

from survey import demo
from survey.extensions import db
from survey.models import Answer, Interaction, Invitation, Response
from survey.scoring.queries import today

GOAL_MB = 200
PASSWORD = "bench-password-1"


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--ways", default="route,job", help="route (streamed CSV), job, or both")
    parser.add_argument("--child", nargs=3, metavar=("URL", "FORMAT", "WAY"))
    args = parser.parse_args()
    if args.child:
        url, fmt, way = args.child
        _child_job(url, fmt) if way == "job" else _child(url, fmt)
        return
    about = common.machine()
    rows = []
    with common.bench_app(args.database) as app:
        with common.Timer() as built:
            demo.load(size=args.size)
            db.session.commit()
            demo_responses = _count(Response.__table__, Response.counted_at.is_not(None))
            _multiply(args.responses)
            common.gather_statistics()
        have = db.session.scalar(sa.select(sa.func.count()).select_from(Response))
        answers = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        db.session.remove()
        runs = [
            (way, fmt)
            for way in args.ways.split(",")
            for fmt in args.formats.split(",")
            if not (way == "route" and fmt == "xlsx")  # refused there past DIRECT_XLSX_ROWS
        ]
        for way, fmt in runs:
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, fmt, way],
                check=False,
                capture_output=True,
                text=True,
                cwd=os.path.dirname(os.path.abspath(__file__)),
            )
            seconds = time.perf_counter() - started
            if out.returncode:
                sys.exit(f"the {way} {fmt} export failed:\n{out.stderr[-3000:]}")
            found = json.loads(out.stdout.strip().splitlines()[-1])
            peak_mb = found["peak_mb"]
            trend = found.get("trend_mb")
            rows.append(
                [
                    f"{way} {fmt}",
                    f"{found['rows']:,}" if found["rows"] is not None else "as CSV",
                    f"{found['bytes'] / 1e6:,.1f} MB",
                    common.seconds(found["seconds"]),
                    f"{found['rows'] / found['seconds']:,.0f}" if found["rows"] else "",
                    common.seconds(seconds),
                    f"{found['baseline_mb']:.0f} MB",
                    " → ".join(f"{mb:.0f}" for mb in trend) + " MB" if trend else "",
                    f"{peak_mb:.0f} MB",
                    "yes" if peak_mb <= GOAL_MB else "NO",
                ]
            )
            print(rows[-1], flush=True)
    about.update(
        {
            "database": args.database,
            "data": f"demo size {args.size:,} ({demo_responses:,} counted responses) multiplied to "
            f"{have:,} counted responses with {answers:,} answers, built in {built.seconds:.0f} s",
        }
    )
    common.record(
        f"Responses export ({args.database}, {have:,} responses)",
        about,
        [
            "way, format",
            "rows",
            "size",
            "export",
            "rows/s",
            "process",
            "memory before",
            "RSS at 0, 25, 50, 75, 100 %",
            "peak RSS",
            "≤ 200 MB",
        ],
        rows,
        notes=[
            "`route`: the time from the request to the last byte read by the Flask test "
            "client. `job`: the time `exports.jobs.run` takes, from the claim to the renamed "
            "file (counting the rows, writing, zipping an XLSX). `process` adds the child's "
            "start-up. `memory before` is the child's peak RSS after the app started (and "
            "signed in), before the export; the RSS trend is read from /proc at the job's heartbeats nearest each "
            "share of the rows, `peak RSS` is the maximum over the export. "
            "Shared machine (2 cores, other engineers' tests running): read ratios.",
        ],
        enabled=not args.no_record,
    )


def _child(url: str, fmt: str) -> None:
    """Export in this process: sign in as quality, read the whole download, print figures."""
    from werkzeug.security import generate_password_hash

    from survey import create_app
    from survey.models import User

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SURVEY_QUEUE_URL": "memory://",
            "SURVEY_PUBLIC_URL": "http://bench.invalid",
        }
    )
    with app.app_context():
        email = f"quality-{os.getpid()}@bench.example"
        user = User(email=email, role="quality")
        user.password_hash = generate_password_hash(PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    signed = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert signed.status_code == 302, signed.status_code
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with app.app_context():
        end = today()
    start = end - timedelta(days=120)
    started = time.perf_counter()
    got = client.get(f"/export/responses.{fmt}?from={start}&to={end}", buffered=False)
    assert got.status_code == 200, got.status_code
    size = lines = 0
    for chunk in got.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
    got.close()
    seconds = time.perf_counter() - started
    # An XLSX is zipped: its rows are the CSV's (parsing it here would cost more than it).
    rows = lines - 1 if fmt == "csv" else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"rows": rows, "bytes": size, "seconds": seconds, "baseline_mb": baseline}
    print(json.dumps({**figures, "peak_mb": peak}))


def _child_job(url: str, fmt: str) -> None:
    """Prepare the export as an analyst would and run the background job here; print figures."""
    import shutil
    import tempfile

    from survey import create_app
    from survey.exports import jobs
    from survey.models import User
    from survey.scoring import queries

    instance = tempfile.mkdtemp(prefix="bench-export-")
    app = create_app(common.app_config(url, instance))
    try:
        with app.app_context():
            user = User(email=f"quality-{os.getpid()}@bench.example", role="quality")
            db.session.add(user)
            db.session.commit()
            end = today()
            query = queries.parse({"from": str(end - timedelta(days=120)), "to": str(end)})
            job = jobs.prepare(user, query, fmt, "zh")
            baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            samples: list[tuple[int, float]] = [(0, _rss_mb())]
            started = time.perf_counter()
            job = jobs.run(job.id, progress=lambda done: samples.append((done, _rss_mb())))
            seconds = time.perf_counter() - started
            assert job.state == "done", job.failure
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            figures = {
                "rows": job.rows_done,
                "bytes": job.size_bytes,
                "seconds": seconds,
                "baseline_mb": baseline,
                "trend_mb": _trend(samples, job.rows_done),
            }
            print(json.dumps({**figures, "peak_mb": peak}))
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def _rss_mb() -> float:
    """This process's resident memory now, from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _trend(samples: list[tuple[int, float]], total: int) -> list[float]:
    """The RSS at the samples nearest 0, 25, 50, 75 and 100 % of the rows."""
    return [
        min(samples, key=lambda s: abs(s[0] - total * share))[1]
        for share in (0, 0.25, 0.5, 0.75, 1)
    ]


def _multiply(target: int) -> None:
    """Copy counted responses with their answers, invitations and interactions until ``target``."""
    interaction, invitation = Interaction.__table__, Invitation.__table__
    response, answer = Response.__table__, Answer.__table__
    round_ = 0
    counted = response.c.counted_at.is_not(None)
    while (have := _count(response, counted)) < target:
        round_ += 1
        shift = {
            t.name: db.session.scalar(sa.select(sa.func.max(t.c.id))) or 0
            for t in (interaction, invitation, response, answer)
        }
        originals = (
            sa.select(response.c.id, response.c.invitation_id)
            .where(counted)
            .order_by(response.c.id)
            .limit(min(have, target - have))
            .subquery()
        )
        chosen = sa.select(invitation.c.interaction_id).where(
            invitation.c.id.in_(sa.select(originals.c.invitation_id))
        )
        _copy(
            interaction,
            shift,
            interaction.c.id.in_(chosen),
            {
                "external_id": interaction.c.external_id + f"~{round_}",
                "complaint_case_id": sa.null(),
            },
        )
        _copy(
            invitation,
            shift,
            invitation.c.id.in_(sa.select(originals.c.invitation_id)),
            {
                "interaction_id": invitation.c.interaction_id + shift["interaction"],
                "complaint_case_id": sa.null(),
                "token": _random_token(invitation),
                "unsubscribe_token": _random_token(invitation),
            },
        )
        _copy(
            response,
            shift,
            response.c.id.in_(sa.select(originals.c.id)),
            {
                "invitation_id": response.c.invitation_id + shift["invitation"],
            },
        )
        _copy(
            answer,
            shift,
            answer.c.response_id.in_(sa.select(originals.c.id)),
            {
                "response_id": answer.c.response_id + shift["response"],
            },
        )
        db.session.commit()
        print(f"  round {round_}: {_count(response, counted):,} responses", flush=True)
    if db.engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
        for table in ("interaction", "invitation", "response", "answer"):
            db.session.execute(
                sa.text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
            )
        db.session.commit()


def _copy(table: sa.Table, shift: dict[str, int], where: Any, values: dict[str, Any]) -> None:
    columns = [c.name for c in table.c]
    values = {"id": table.c.id + shift[table.name], **values}
    if "complaint_case_id" not in columns:
        values.pop("complaint_case_id", None)
    db.session.execute(
        sa.insert(table).from_select(
            columns, sa.select(*(values.get(n, table.c[n]) for n in columns)).where(where)
        )
    )


def _count(table: sa.Table, *where: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(table).where(*where))


def _random_token(table: sa.Table) -> sa.ColumnElement[str]:
    if db.engine.dialect.name == "postgresql":
        salt = sa.cast(sa.func.random(), sa.Text) + sa.cast(sa.func.clock_timestamp(), sa.Text)
        return sa.func.md5(salt + sa.cast(table.c.id, sa.Text))
    return sa.func.lower(sa.func.hex(sa.func.randomblob(16)))


if __name__ == "__main__":
    main()
