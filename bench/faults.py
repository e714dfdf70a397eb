"""SIGKILL gunicorn web workers while customers post answers, on SQLite and PostgreSQL.

    .venv/bin/python bench/faults.py [--posts 5000] [--databases sqlite,postgresql]

Runs tests/fixtures/web_kill.py (what tests/test_fault_gunicorn.py runs at 300 posts):
gunicorn (2 gthread workers, scripts/gunicorn.conf.py, web rate limits off: one address
sends everything) serves a throwaway database with the demo bank and ``--posts`` fresh sent
invitations; 8 threads post each survey's first step once; one web worker is SIGKILLed
after every ``--kill-every`` acknowledgements; every post that failed is pressed again.
Recorded per database: posts made, acknowledged on the first press (2xx, or the step's 303),
pressed again, acknowledged in the end, stored exactly once, doubled, missing, kills, time.
The goal: every acknowledged answer stored, none twice.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import common

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures import web_kill  # noqa: E402 - the test's own run, not a copy


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000, help="answer POSTs (surveys)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--kill-every", type=int, default=1000, help="acknowledgements a kill")
    args = parser.parse_args()
    kills = max(1, (args.posts - 1) // args.kill_every)
    about = common.machine()
    rows = []
    for kind in args.databases.split(","):
        started = time.monotonic()
        with common.throwaway_database(kind) as url, tempfile.TemporaryDirectory() as folder:
            outcome = web_kill.run(
                Path(folder), args.posts, database_url=url, threads=args.threads,
                kill_every=args.kill_every, kills=kills, rate_limits=False,
            )  # fmt: skip
        print(f"{kind}: {outcome} ({time.monotonic() - started:.0f} s with setup)", flush=True)
        rows.append([
            kind, f"{outcome.posts:,}", f"{outcome.acknowledged_first:,}",
            f"{outcome.pressed_again:,}", f"{outcome.acknowledged:,}", f"{outcome.stored:,}",
            outcome.doubled, outcome.missing, outcome.kills, f"{outcome.seconds:.1f} s",
            f"{outcome.posts / outcome.seconds:.0f}/s",
        ])  # fmt: skip
    about["load average at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    common.record(
        f"Web workers SIGKILLed during {args.posts:,} answer POSTs",
        about,
        [
            "database",
            "posts",
            "acknowledged first",
            "pressed again",
            "acknowledged",
            "stored once",
            "doubled",
            "missing",
            "kills",
            "time",
            "posts/s",
        ],  # fmt: skip
        rows,
        notes=[
            "gunicorn with 2 gthread workers (4 threads each), web rate limits off; 8 client "
            f"threads; a web worker SIGKILLed after every {args.kill_every:,} acknowledgements "
            "(gunicorn starts a new one); a post that failed (connection reset by the kill, "
            "or a 5xx) is pressed again once, as a customer would. 'Acknowledged' is a 2xx or "
            "the step's 303; 'stored once' is one response holding one answer; 'missing' "
            "counts acknowledged surveys with nothing stored. Goal: stored once = acknowledged, "
            "doubled = missing = 0."
        ],
        enabled=not args.no_record,
    )
    failed = [row for row in rows if row[6] or row[7] or row[4] != row[5]]
    if failed:
        raise SystemExit(f"answers lost or doubled: {failed}")


if __name__ == "__main__":
    main()
