"""What a request costs before its view does any work: CPU per request, in-process, next to bare.

    .venv/bin/python bench/request_floor.py [--requests 500] [--rounds 5] [--database postgresql]
        [--against DIR] [--profile healthz|api-get|intake] [--no-record]

The Flask test client sends, alternately, ``--requests`` requests of each case, outside
any app context as a server does, and ``time.process_time`` gives the CPU each took in
this process (a PostgreSQL server's own CPU is not in it). The least disturbed round of
``--rounds`` is kept per case, and each case is read as a multiple of the bare endpoint
measured in the same round:

- bare: ``bare_app.py``'s ``POST /api/v1/interactions`` (Flask alone, nothing stored);
- healthz: our ``GET /healthz`` (every hook and extension of ours, no view work);
- api-get: ``GET /api/v1/invitations/<id>`` with a valid key for an id past the newest (the
  key's check, one SELECT by id, a 404 problem): the cheapest route behind a key;
- intake: ``POST /api/v1/interactions`` with a valid body (a new interaction each);
- survey-get: ``GET /s/<token>?lang=zh&saved=0`` of a sent link (the newest, made fresh by
  ``tokens.fresh_pool``), each from an address of its own (the limits per address and per
  token stay on): the page as Flask serves it, since the query keeps it from the first
  step's layer in front of Flask (``survey/respond/fast.py``).

Rate limits stay on (the default: counted in memory), as in production. Data: the demo
bank at ``--size`` interactions. ``--against DIR`` runs another checkout too (e.g.
``git worktree add --detach ../base main``), each checkout in a child process of its
own on a database of its own, round by round alternately: a before and after in one
run with one load. ``--profile CASE`` prints cProfile's top functions for one case.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common

CASES = ("bare", "healthz", "api-get", "intake", "survey-get")
HERE = Path(__file__).resolve().parent


def _child(args: Any) -> None:
    """Build an app on the demo bank, then run one round each time stdin says so."""
    import intake
    import sqlalchemy as sa
    import tokens
    from flask_migrate import upgrade

    import survey
    from survey import clock, demo
    from survey.auth.service import create_api_key
    from survey.extensions import db
    from survey.models import Invitation

    with common.throwaway_database(args.database) as url:
        instance = tempfile.mkdtemp(prefix="bench-instance-")
        try:
            app = survey.create_app(common.app_config(url, instance))
            with app.app_context():
                upgrade()
                demo.load(size=args.size, seed=2026, today=clock.now().date())
                common.gather_statistics()
                rows = intake._posted_rows()
                links = [token for _id, token in tokens.fresh_pool(args.requests)]
                _row, key = create_api_key("bench", ("interactions",))
                invitation_id = (
                    db.session.scalar(sa.select(sa.func.max(Invitation.id))) or 0
                ) + 10**6
                db.session.commit()
                db.session.remove()
            # Requests run outside any app context, as a server's do.
            _serve(app, args, rows, key, invitation_id, links)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        finally:
            shutil.rmtree(instance, ignore_errors=True)


def _serve(
    app: Any, args: Any, rows: list[str], key: str, invitation_id: int, links: list[str]
) -> None:
    """Send the cases' requests: a profile, or one round each time stdin says "go"."""
    import bare_app
    import survey_cpu

    import survey
    from survey import clock

    ours, bare = app.test_client(), bare_app.app.test_client()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    keyed = {"Authorization": f"Bearer {key}"}
    posted = [0]

    def body(n: int) -> str:
        fragment = rows[(n * 7919) % len(rows)]
        return (
            f'{{"external_id":"FLOOR-{n}","occurred_at":"{clock.now().isoformat()}",'
            '"channel":"phone","type":"inquiry","category":"credit_card",'
            f'"wait_seconds":60,{fragment}}}'
        )

    def send_bare(_i: int) -> int:
        posted[0] += 1
        return bare.post("/api/v1/interactions", data=body(posted[0]), headers=headers).status_code

    def send_healthz(_i: int) -> int:
        return ours.get("/healthz").status_code

    def send_api_get(_i: int) -> int:
        return ours.get(f"/api/v1/invitations/{invitation_id}", headers=keyed).status_code

    def send_intake(_i: int) -> int:
        posted[0] += 1
        return ours.post("/api/v1/interactions", data=body(posted[0]), headers=headers).status_code

    def send_survey_get(i: int) -> int:
        # Addresses of their own: the same 127.0.0.1 would meet the per-address limit.
        address = {"REMOTE_ADDR": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"}
        token = links[i % len(links)]
        return ours.get(f"/s/{token}?lang=zh&saved=0", environ_base=address).status_code

    sends: dict[str, Callable[[int], int]] = {
        "bare": send_bare,
        "healthz": send_healthz,
        "api-get": send_api_get,
        "intake": send_intake,
        "survey-get": send_survey_get,
    }
    n = args.requests
    for name in CASES:  # warm every path once
        survey_cpu.timed(name, sends[name], 20)
    if args.profile:
        survey_cpu.profiled(sends[args.profile], n)
        return
    print(json.dumps({"ready": survey.__file__}), flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        figures = {}
        for name in CASES:
            case = survey_cpu.timed(name, sends[name], n)
            figures[name] = {"cpu": case.cpu, "statuses": case.statuses}
        print(json.dumps(figures), flush=True)


def _start(checkout: Path, args: object) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        str(HERE / "request_floor.py"),
        "--child",
        "--database",
        args.database,
        "--size",
        str(args.size),
        "--requests",
        str(args.requests),
    ]
    env = {**os.environ, "PYTHONPATH": f"{checkout}{os.pathsep}{checkout / 'bench'}"}
    child = subprocess.Popen(
        command, cwd=checkout, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    while True:
        line = child.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit(f"the child for {checkout} ended before it was ready")
        if line.startswith('{"ready"'):
            return child


def _round(child: subprocess.Popen[str]) -> dict[str, dict]:
    child.stdin.write("go\n")  # type: ignore[union-attr]
    child.stdin.flush()  # type: ignore[union-attr]
    return json.loads(child.stdout.readline())  # type: ignore[union-attr]


def _commit(checkout: Path) -> str:
    found = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "not a git checkout"


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="demo interactions")
    parser.add_argument("--requests", type=int, default=500, help="requests a case a round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", help="another checkout, measured alternately (before)")
    parser.add_argument("--profile", choices=CASES[1:])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child or args.profile:
        _child(args)
        return
    about = common.machine()
    this = HERE.parent
    checkouts = {"this": this}
    if args.against:
        checkouts = {"before": Path(args.against).resolve(), "after": this}
    started = time.perf_counter()
    children = {label: _start(path, args) for label, path in checkouts.items()}
    rounds: dict[str, list[dict[str, dict]]] = {label: [] for label in checkouts}
    for round_ in range(args.rounds):
        for label, child in children.items():
            figures = _round(child)
            rounds[label].append(figures)
            print(
                f"  round {round_ + 1} {label}: "
                + ", ".join(f"{c} {figures[c]['cpu'] * 1000:.3f} ms" for c in CASES),
                flush=True,
            )
    for child in children.values():
        child.stdin.close()  # type: ignore[union-attr]
        child.wait()
    rows = []
    for label in checkouts:
        best = {c: min(r[c]["cpu"] for r in rounds[label]) for c in CASES}
        statuses: dict[str, dict] = {}
        for r in rounds[label]:
            for c in CASES:
                for status, count in r[c]["statuses"].items():
                    statuses.setdefault(c, {})
                    statuses[c][status] = statuses[c].get(status, 0) + count
        for c in CASES:
            rows.append(
                [
                    label,
                    c,
                    f"{best[c] * 1000:.3f} ms",
                    f"{best[c] / best['bare']:.2f}×",
                    f"{best['bare'] / best[c]:.0%}",
                    ", ".join(f"{s}: {k}" for s, k in sorted(statuses[c].items())),
                ]
            )
    about.update(
        {
            "database": args.database,
            "data": f"demo bank, {args.size} interactions, seed 2026",
            "requests": f"{args.requests} a case a round, {args.rounds} rounds, least CPU kept",
            "checkouts": ", ".join(f"{k}: {v} ({_commit(v)})" for k, v in checkouts.items()),
            "load average at end": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
            "took": f"{time.perf_counter() - started:.0f} s",
        }
    )
    common.record(
        "Request floor: CPU per request before the view's work, next to bare (request_floor.py)",
        about,
        ["checkout", "request", "CPU a request", "× bare", "bare ÷ it", "statuses"],
        rows,
        notes=[
            "CPU is this process's (`time.process_time`), through the Flask test client, "
            "outside any app context; PostgreSQL's own CPU is not in it."
        ],
        enabled=not args.no_record,
    )


if __name__ == "__main__":
    main()
