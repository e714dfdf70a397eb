"""CPU of one posted interaction against the bare endpoint's, in-process, for a busy machine.

    .venv/bin/python bench/intake_cpu.py [--database postgresql] [--size 17000]

The 20 % goal of ``intake.py`` (intake's rate against ``bare_app.py``'s) is, on a machine
whose two cores the server saturates, a ratio of CPU per request. wrk's figures move with
whatever else the cores are doing; this asks the same question of one process: the
Flask test client posts the same bodies (new interactions of demo customers, as
``intake.py`` sends) to the app and to ``bare_app.py``, 300 at a time, alternately, three
rounds, and reports ``time.process_time`` a post (the least disturbed round of each) and
bare ÷ intake. This process only: PostgreSQL's own CPU, gunicorn's and wrk's are not in
it, so the share it shows is an upper bound of what wrk can show. Prints; records nothing.
"""

from __future__ import annotations

import argparse
import time

import bare_app
import common
import intake

import survey
from survey import clock, demo
from survey.auth.service import create_api_key
from survey.extensions import db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--size", type=int, default=17000)
    args = parser.parse_args()
    with common.bench_app(args.database) as app:
        demo.load(size=args.size, seed=2026, today=clock.now().date())
        common.gather_statistics()
        rows = intake._posted_rows()
        _row, key = create_api_key("bench", ("interactions",))
        db.session.commit()
        db.session.remove()
        client, bare = app.test_client(), bare_app.app.test_client()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def body(n: int) -> str:
            fragment = rows[(n * 7919) % len(rows)]
            return (
                f'{{"external_id":"CPU-{n}","occurred_at":"{clock.now().isoformat()}",'
                '"channel":"phone","type":"inquiry","category":"credit_card",'
                f'"wait_seconds":60,{fragment}}}'
            )

        def timed(target, first: int) -> float:  # noqa: ANN001
            started = time.process_time()
            for n in range(first, first + 300):
                answer = target.post("/api/v1/interactions", data=body(n), headers=headers)
                assert answer.status_code in (200, 201), answer.get_data(as_text=True)
            return (time.process_time() - started) / 300 * 1000

        timed(client, 0)
        timed(bare, 0)
        rounds = [(timed(client, 1000 * r), timed(bare, 1000 * r)) for r in range(1, 4)]
        posted, plain = min(r[0] for r in rounds), min(r[1] for r in rounds)
        print(f"code: {survey.__file__}")
        print(f"database: {args.database}, demo size {args.size}")
        print(
            f"intake {posted:.2f} ms CPU a post, bare {plain:.3f} ms, bare ÷ intake {plain / posted:.1%}"
        )


if __name__ == "__main__":
    main()
