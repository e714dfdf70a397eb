"""Time the scores API on two existing banks of different sizes in one run, alternating.

    .venv/bin/python bench/scores_scale.py --small URL_1M --large URL_10M [--runs 30]

Issue 11 asks that a question at 10,000,000 answers take no more than 1.5 times its
time at 1,000,000. ``bench/scores.py`` measures each bank in a run of its own, minutes
apart on a shared machine; this script opens both (read-only, see
``common.existing_app``) and asks each question of the two banks in turn, the order
alternating run by run, so that both see the same machine. Each bank's last day is its
own (the demo's ``--today``), so "a year" is the last 365 days of each.

The demo grows its organisation with its size (more agents, split into teams of about
ten), so a question by agent or by team has more groups in the larger bank; the table
gives each side's groups and the time per group as well as the time.
"""

from __future__ import annotations

import contextlib
import statistics
from typing import Any

import common
from scores import _cases, _p95

from survey.scoring import planner, queries


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--small", required=True, help="URL of the smaller loaded bank")
    parser.add_argument("--large", required=True, help="URL of the larger loaded bank")
    parser.add_argument("--runs", type=int, default=30)
    args = common.parse(parser)
    about = {**common.machine()}
    with contextlib.ExitStack() as stack:
        banks = []
        for url in (args.small, args.large):
            app = stack.enter_context(common.existing_app(url))
            with app.app_context():
                banks.append(_Bank(url, app, common.last_day()))
        key = common.read_only_api_key()
        for bank in banks:
            about[f"bank {bank.name}"] = bank.describe()
        rows = _measure(banks, key, args.runs)
    common.record(
        f"Scores API at two sizes in one run: {banks[0].name} against {banks[1].name}",
        about,
        [
            "question",
            f"groups {banks[0].name} / {banks[1].name}",
            f"{banks[0].name} p50 / p95",
            f"{banks[1].name} p50 / p95",
            "large ÷ small (p50)",
            "per group, large ÷ small",
        ],
        rows,
        notes=[
            "Each request is GET /api/v1/scores through the app (Flask test client: routing, "
            "API key, parsing, planner, rollup reads, JSON); the two banks are asked in turn, "
            "which goes first alternating, after one warm-up each. Both databases are "
            "read-only here. Goal (issue 11): large ÷ small ≤ 1.5.",
        ],
        enabled=not args.no_record,
    )


class _Bank:
    """One loaded bank: its app, its last day and what it holds."""

    def __init__(self, url: str, app: Any, last_day: Any) -> None:
        import sqlalchemy as sa

        from survey.extensions import db
        from survey.models import Answer

        self.url = url
        self.app = app
        self.last_day = last_day
        self.name = sa.engine.make_url(url).database or url
        self.answers = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
        self.client = app.test_client()

    def describe(self) -> str:
        return (
            f"{common.shown_url(self.url)}: {self.answers:,} answers, last day "
            f"{self.last_day}, {self.app.config['BENCH_REVISION']}"
        )


def _measure(banks: list[_Bank], key: str, runs: int) -> list[list[str]]:
    headers = {"Authorization": f"Bearer {key}"}
    small, large = banks
    rows = []
    for (name, small_query), (_, large_query) in zip(
        _cases(small.last_day), _cases(large.last_day), strict=True
    ):
        asked = {id(small): small_query, id(large): large_query}
        groups = {}
        for bank in banks:
            reply = bank.client.get(f"/api/v1/scores?{asked[id(bank)]}", headers=headers)
            assert reply.status_code == 200, reply.get_json()
            groups[id(bank)] = len(reply.get_json()["groups"])
        times: dict[int, list[float]] = {id(small): [], id(large): []}
        for run in range(runs):
            for bank in banks if run % 2 == 0 else reversed(banks):
                with common.Timer() as timer:
                    bank.client.get(f"/api/v1/scores?{asked[id(bank)]}", headers=headers)
                times[id(bank)].append(timer.seconds)
        p50 = {k: statistics.median(v) for k, v in times.items()}
        ratio = p50[id(large)] / p50[id(small)]
        per_group = ratio / (groups[id(large)] / groups[id(small)])
        rows.append(
            [
                f"{name} ({_tables(small, small_query)})",
                f"{groups[id(small)]:,} / {groups[id(large)]:,}",
                *(
                    f"{common.seconds(p50[id(b)])} / {common.seconds(_p95(times[id(b)]))}"
                    for b in banks
                ),
                f"{ratio:.2f}×",
                f"{per_group:.2f}×",
            ]
        )
        print(rows[-1], flush=True)
    return rows


def _tables(bank: _Bank, query_string: str) -> str:
    """The tables the planner reads for a question (the same at both sizes)."""
    args = dict(p.split("=", 1) for p in query_string.split("&"))
    args.pop("compare", None)
    with bank.app.test_request_context():
        query = queries.parse(args)
    plan = planner.plan(query.date_from, query.date_to, query.group_by, query.filters)
    return " + ".join(dict.fromkeys(p.cuboid.name for p in plan.parts))


if __name__ == "__main__":
    main()
