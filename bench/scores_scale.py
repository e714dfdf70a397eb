"""Time the scores API on two existing banks of different sizes in one run, alternating.

    .venv/bin/python bench/scores_scale.py --small URL_1M --large URL_10M [--runs 30]

Issue 11 asks that a question at 10,000,000 answers take no more than 1.5 times its
time at 1,000,000. ``bench/scores.py`` measures each bank in a run of its own, minutes
apart on a shared machine; this script asks each question of the two banks in turn,
the order alternating run by run, so that both see the same machine at the same time.

Each bank is served by a process of its own (read-only, see ``common.existing_app``),
which times its own requests through the app: two apps in one process share the
extensions' module-level state, and the first one opened answered 0.7 ms slower than
the second whichever bank it held. Each bank's last day is its own (the demo's
``--today``), so "a year" is the last 365 days of each.

The demo grows its organisation with its size (more agents, split into teams of about
ten), so a question by agent or by team has more groups in the larger bank; the table
gives each side's groups and the time per group as well as the time.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection

import common
from scores import _cases, _p95


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--small", required=True, help="URL of the smaller loaded bank")
    parser.add_argument("--large", required=True, help="URL of the larger loaded bank")
    parser.add_argument("--runs", type=int, default=30)
    args = common.parse(parser)
    about = {**common.machine(), "code served": _code_served()}
    banks = [_Bank(args.small), _Bank(args.large)]
    try:
        for bank in banks:
            about[f"bank {bank.name}"] = bank.about
        rows = _measure(banks, args.runs)
    finally:
        for bank in banks:
            bank.close()
    common.record(
        f"Scores API at two sizes in one run: {banks[0].name} against {banks[1].name}",
        about,
        [
            "question (tables read)",
            f"groups {banks[0].name} / {banks[1].name}",
            f"{banks[0].name} p50 / p95",
            f"{banks[1].name} p50 / p95",
            "large ÷ small (p50)",
            "per group, large ÷ small",
            f"app CPU {banks[0].name} / {banks[1].name} (p50)",
            "app CPU large ÷ small",
        ],
        rows,
        notes=[
            "Each request is GET /api/v1/scores through the app (Flask test client: routing, "
            "API key, parsing, planner, rollup reads, JSON), timed in the process that serves "
            "its bank; the two banks are asked in turn, which goes first alternating, after "
            "one warm-up each. Both databases are read-only here. Goal (issue 11): large ÷ "
            "small ≤ 1.5.",
            "App CPU is the serving process's CPU time (time.process_time) over the same "
            "request: the Python side alone (routing, planner, folding, scoring, JSON), "
            "without the database's work or the waits, so it holds under a load that "
            "stretches the wall times.",
        ],
        enabled=not args.no_record,
    )


def _code_served() -> str:
    """The ``survey`` package the banks' processes import, and its checkout's commit.

    Run with ``PYTHONPATH=<checkout>`` to time another checkout's code (main against a
    branch, in turn) with this script.
    """
    import subprocess
    from pathlib import Path

    import survey

    source = Path(survey.__file__).resolve().parent
    commit = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{source} at {commit or 'an unknown commit'}"


class _Bank:
    """A process serving one loaded bank: it answers questions and says how long each took."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.name = sa.engine.make_url(url).database or url
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(url, theirs), daemon=True)
        self._process.start()
        self.last_day, self.about = self._pipe.recv()

    def ask(self, query_string: str) -> tuple[int, float, float, str]:
        """Return the groups, the server's seconds and CPU seconds, and the tables read."""
        self._pipe.send(query_string)
        return self._pipe.recv()

    def close(self) -> None:
        self._pipe.send(None)
        self._process.join(timeout=30)


def _serve(url: str, pipe: Connection) -> None:
    """Open the bank read-only and answer questions from the pipe until told to stop."""
    import sqlalchemy as sa

    from survey.extensions import db
    from survey.models import Answer
    from survey.scoring import planner, queries

    with common.existing_app(url) as app:
        last_day = common.last_day()
        answers = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
        db.session.rollback()
        key = common.read_only_api_key()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        pipe.send(
            (
                last_day,
                f"{common.shown_url(url)}: {answers:,} answers, last day {last_day}, "
                f"{app.config['BENCH_REVISION']}",
            )
        )
        while (query_string := pipe.recv()) is not None:
            cpu = time.process_time()
            with common.Timer() as timer:
                reply = client.get(f"/api/v1/scores?{query_string}", headers=headers)
            cpu = time.process_time() - cpu
            assert reply.status_code == 200, reply.get_json()
            args = dict(p.split("=", 1) for p in query_string.split("&"))
            args.pop("compare", None)
            with app.test_request_context():
                query = queries.parse(args)
            plan = planner.plan(query.date_from, query.date_to, query.group_by, query.filters)
            tables = " + ".join(dict.fromkeys(p.cuboid.name for p in plan.parts))
            pipe.send((len(reply.get_json()["groups"]), timer.seconds, cpu, tables))


def _measure(banks: list[_Bank], runs: int) -> list[list[str]]:
    small, large = banks
    rows = []
    for (name, small_query), (_, large_query) in zip(
        _cases(small.last_day), _cases(large.last_day), strict=True
    ):
        asked = {id(small): small_query, id(large): large_query}
        groups: dict[int, int] = {}
        tables = ""
        for bank in banks:  # the warm-up
            groups[id(bank)], _seconds, _cpu, tables = bank.ask(asked[id(bank)])
        times: dict[int, list[float]] = {id(small): [], id(large): []}
        cpus: dict[int, list[float]] = {id(small): [], id(large): []}
        for run in range(runs):
            for bank in banks if run % 2 == 0 else reversed(banks):
                _groups, seconds, cpu, _tables = bank.ask(asked[id(bank)])
                times[id(bank)].append(seconds)
                cpus[id(bank)].append(cpu)
        p50 = {k: statistics.median(v) for k, v in times.items()}
        cpu50 = {k: statistics.median(v) for k, v in cpus.items()}
        ratio = p50[id(large)] / p50[id(small)]
        per_group = ratio / (groups[id(large)] / groups[id(small)])
        rows.append(
            [
                f"{name} ({tables})",
                f"{groups[id(small)]:,} / {groups[id(large)]:,}",
                *(
                    f"{common.seconds(p50[id(b)])} / {common.seconds(_p95(times[id(b)]))}"
                    for b in banks
                ),
                f"{ratio:.2f}×",
                f"{per_group:.2f}×",
                " / ".join(common.seconds(cpu50[id(b)]) for b in banks),
                f"{cpu50[id(large)] / cpu50[id(small)]:.2f}×",
            ]
        )
        print(rows[-1], flush=True)
    return rows


if __name__ == "__main__":
    main()
