"""The raw responses export at a million rows: peak memory and time, CSV and XLSX.

    .venv/bin/python bench/export.py [--responses 1000000] [--size 5000] [--formats csv,xlsx]
        [--database sqlite|postgresql]

The data: a small demo bank (``survey.demo.load``, seed 2026) whose counted responses,
with their answers, invitations and interactions, are multiplied by set-based
INSERT … SELECT (ids shifted past the largest, new external ids and tokens, no
complaint case) until the database holds ``--responses``.

Each export runs in a child process of its own (this script with ``--child``) that
signs in as a quality analyst and reads ``GET /export/responses.<format>`` through the
Flask test client to the last byte; the child's peak resident memory
(its own ``getrusage(RUSAGE_SELF).ru_maxrss``) is what is reported, so the data building
in the parent does not count. Goal: memory flat, at most 200 MB, whatever the rows.
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
    parser.add_argument("--child", nargs=2, metavar=("URL", "FORMAT"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
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
        for fmt in args.formats.split(","):
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, fmt],
                check=False,
                capture_output=True,
                text=True,
                cwd=os.path.dirname(os.path.abspath(__file__)),
            )
            seconds = time.perf_counter() - started
            if out.returncode:
                sys.exit(f"the {fmt} export failed:\n{out.stderr[-3000:]}")
            found = json.loads(out.stdout.strip().splitlines()[-1])
            peak_mb = found["peak_mb"]
            rows.append(
                [
                    fmt,
                    f"{found['rows']:,}" if found["rows"] is not None else "as CSV",
                    f"{found['bytes'] / 1e6:,.1f} MB",
                    common.seconds(found["seconds"]),
                    common.seconds(seconds),
                    f"{found['baseline_mb']:.0f} MB",
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
        ["format", "rows", "size", "export", "process", "memory before", "peak RSS", "≤ 200 MB"],
        rows,
        notes=[
            "`export` is the time from the request to the last byte read by the Flask test "
            "client; `process` adds the child's start-up. `memory before` is the child's RSS "
            "after the app started and signed in, `peak RSS` its maximum over the export. "
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
