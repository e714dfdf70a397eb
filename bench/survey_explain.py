"""Where a survey link's first visit and first answer spend the PostgreSQL server's time.

    .venv/bin/python bench/survey_explain.py [--invitations 20000] [--requests 200]

The data as ``survey_cpu.py`` builds it (the demo multiplied, a pool of fresh links). Each
statement the survey link's layer sends to the server (``respond.fast``'s kept connection)
is first run as ``EXPLAIN (ANALYZE, BUFFERS)`` on another connection, in a transaction rolled
back, and then for real: so each plan is of the state the real statement meets. Printed: per
kind of request and statement, the median execution and planning time the server reports,
its triggers' time, and one plan in full. (A statement prepared by the driver after its fifth
run is planned once; the EXPLAIN here is planned each time: read its planning time as an
upper bound.)
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from typing import Any

import common
import psycopg
import tokens
from survey_cpu import survey_app

from survey import demo
from survey.extensions import db
from survey.respond import own_line

_TIME = re.compile(r"(Planning|Execution) Time: ([0-9.]+) ms")
_TRIGGER = re.compile(r"Trigger (\S+)(?: on \S+)?: time=([0-9.]+) calls=(\d+)")


class Explaining:
    """A DBAPI cursor that has each statement explained on another connection before it runs."""

    def __init__(self, cursor: Any, other: psycopg.Connection, into: dict) -> None:
        self.cursor = cursor
        self.other = other
        self.into = into
        self.kind = ""

    def execute(self, sql: str, params: Any = None) -> Any:
        if sql.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            return self.cursor.execute(sql, params)
        with self.other.transaction(force_rollback=True):
            plan = [
                row[0] for row in self.other.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            ]
        self.into[(self.kind, _name(sql))].append(plan)
        return self.cursor.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


def _name(sql: str) -> str:
    """A short name for a statement: its verb and first table, or its CTEs' names."""
    text = " ".join(sql.split())
    ctes = re.findall(r"(\w+) AS \((UPDATE|INSERT|DELETE)", text)
    if ctes:
        return "CTEs " + ", ".join(f"{name} ({verb})" for name, verb in ctes)
    verb = text.split(" ", 1)[0].upper()
    table = re.search(r"(?:FROM|UPDATE|INTO) (\w+)", text)
    return f"{verb} {table.group(1) if table else ''}".strip()


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    args = parser.parse_args()
    if args.database != "postgresql":
        raise SystemExit("EXPLAIN (ANALYZE, BUFFERS) is PostgreSQL's: --database postgresql")
    n = args.requests
    with survey_app("postgresql") as app:
        with app.app_context():
            demo.load(size=3000)
            tokens.multiply(args.invitations)
            pool = tokens.fresh_pool(2 * n + 2)
            common.gather_statistics()
            lines = [line.split(" ", 1) for line in tokens.pool_lines(app, pool)]
            db.session.remove()
        url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg", "postgresql")
        client = app.test_client()
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        # One of each through Flask first: the layer keeps its answers, and its connection.
        warm_token, warm_body = lines.pop()
        client.get(f"/s/{warm_token}?lang=zh")
        client.post(f"/s/{warm_token}?lang=zh", data=warm_body, headers=form)
        plans: dict[tuple[str, str], list[list[str]]] = defaultdict(list)
        with psycopg.connect(url) as other, app.app_context():
            line = own_line.connection()
            explaining = Explaining(line.cursor, other, plans)
            line.cursor = explaining
            for token, _body in lines[:n]:
                explaining.kind = "GET first visit"
                client.get(f"/s/{token}?lang=zh")
                explaining.kind = "GET again"
                client.get(f"/s/{token}?lang=zh")
            for token, body in lines[n : 2 * n]:
                explaining.kind = "POST first step"
                client.post(f"/s/{token}?lang=zh", data=body, headers=form)
            line.cursor = explaining.cursor
        _report(plans)


def _report(plans: dict[tuple[str, str], list[list[str]]]) -> None:
    print("| request | statement | runs | execution ms (median) | planning ms (median) "
          "| triggers ms (median) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for (kind, name), found in plans.items():
        execution, planning, triggers = [], [], []
        for plan in found:
            times = dict(_TIME.findall("\n".join(plan)))
            execution.append(float(times.get("Execution", "nan")))
            planning.append(float(times.get("Planning", "nan")))
            triggers.append(sum(float(t) for _n, t, _c in _TRIGGER.findall("\n".join(plan))))
        print(
            f"| {kind} | {name} | {len(found)} | {statistics.median(execution):.3f} "
            f"| {statistics.median(planning):.3f} | {statistics.median(triggers):.3f} |"
        )
    for (kind, name), found in plans.items():
        print(f"\n{kind}: {name}, the last run's plan:\n")
        print("\n".join("    " + row for row in found[-1]))


if __name__ == "__main__":
    main()
