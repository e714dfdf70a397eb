"""Time each eligibility check per call, and the minute sweep's queries, as history grows.

    .venv/bin/python bench/eligibility.py [--sizes 17000,1100000] [--calls 50]
        [--database postgresql]

Each size loads the demo bank (``survey.demo.load``, seed 2026, last day
2026-06-30) into a fresh throwaway database built by the migrations, then asks
each check the decision runs (``history.surveys_since`` over a 30-day window,
``history.has_open_complaint``, ``contacts.customer_opted_out``,
``contacts.opted_out_address_ids``) about the same sample of customers, and
times the sweep's ``sending.due_invitation_ids``. The goal is a cost per call
that does not grow with the number of invitations: read the ratio of the sizes.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import common
import sqlalchemy as sa

from survey import clock, demo
from survey.dispatch import contacts, history, sending
from survey.extensions import db
from survey.models import Customer, Delivery, Invitation

LAST_DAY = date(2026, 6, 30)
WINDOW = timedelta(days=30)


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="17000,1100000")
    parser.add_argument("--calls", type=int, default=50, help="customers asked per check")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    about = {**common.machine(), "database": args.database}
    rows: list[list[Any]] = []
    per_size: dict[str, list[float]] = {}
    for size in sizes:
        with common.bench_app(args.database):
            demo.load(size=size, today=LAST_DAY)
            common.gather_statistics()
            invitations = db.session.scalar(sa.select(sa.func.count()).select_from(Invitation))
            deliveries = db.session.scalar(sa.select(sa.func.count()).select_from(Delivery))
            print(f"{args.database} {size}: {invitations:,} invitations", flush=True)
            for name, seconds, plan in _measure(args.calls):
                per_size.setdefault(name, []).append(seconds)
                rows.append(
                    [name, f"{invitations:,}", f"{deliveries:,}", common.seconds(seconds), plan]
                )
    if len(sizes) > 1:
        for name, figures in per_size.items():
            rows.append(
                [f"{name}: largest ÷ smallest", "", "", f"{figures[-1] / figures[0]:.1f}×", ""]
            )
    common.record(
        f"Eligibility checks per call ({args.database})",
        about,
        ["check", "invitations", "deliveries", "median per call", "plan"],
        rows,
        notes=[
            f"Median over {args.calls} customers drawn with a fixed seed (the same ones for every "
            "check), their addresses already loaded, as in the decision. `surveys_since` counts "
            f"a {WINDOW.days}-day window ending at the demo's last evening; the sweep runs with "
            "the clock there. `plan` says whether the database's plan reads invitation or "
            "delivery in full (SQLite `EXPLAIN QUERY PLAN`: SCAN without an index; PostgreSQL "
            "`EXPLAIN`: Seq Scan).",
        ],
        enabled=not args.no_record,
    )


def _measure(calls: int) -> list[tuple[str, float, str]]:
    """Time each check over the sample; return (name, median seconds, plan) rows."""
    as_of = datetime.combine(LAST_DAY, time(21, 0), UTC)
    clock.freeze(as_of)
    ids = list(db.session.scalars(sa.select(Customer.id).order_by(Customer.id)))
    sample = random.Random(2026).sample(ids, min(calls, len(ids)))
    customers = [db.session.get_one(Customer, i) for i in sample]
    for customer in customers:
        _ = list(customer.addresses)  # the decision has them loaded already
    since = as_of - WINDOW
    checks: dict[str, Callable[[Customer], object]] = {
        "history.surveys_since": lambda c: history.surveys_since(c, since),
        "history.has_open_complaint": history.has_open_complaint,
        "contacts.customer_opted_out": contacts.customer_opted_out,
        "contacts.opted_out_address_ids": contacts.opted_out_address_ids,
    }
    results = []
    for name, check in checks.items():
        with _Statements() as seen:
            check(customers[0])
        times = []
        for customer in customers:
            with common.Timer() as timer:
                check(customer)
            times.append(timer.seconds)
        results.append((name, statistics.median(times), _plan(seen.statements)))
        print(f"  {name}: {common.seconds(statistics.median(times))}", flush=True)
    with _Statements() as seen:
        sending.due_invitation_ids()
    seconds, _ = common.repeat(sending.due_invitation_ids, times=5)
    results.append(("sending.due_invitation_ids", seconds, _plan(seen.statements)))
    clock.unfreeze()
    return results


class _Statements:
    """Collect the SQL statements (with parameters) run inside a ``with`` block."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.statements.append((statement, parameters))

    def __enter__(self) -> _Statements:
        sa.event.listen(db.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(db.engine, "before_cursor_execute", self._seen)


def _plan(statements: list[tuple[str, Any]]) -> str:
    """Say whether any statement's plan reads invitation or delivery in full."""
    scans: set[str] = set()
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            cursor = raw.cursor()
            if db.engine.dialect.name == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                lines = [row[3] for row in cursor.fetchall()]
                scans |= {
                    t
                    for t in ("invitation", "delivery")
                    for line in lines
                    if line.startswith(f"SCAN {t}") and "INDEX" not in line
                }
            else:
                cursor.execute("EXPLAIN " + statement, parameters)
                lines = [row[0] for row in cursor.fetchall()]
                scans |= {
                    t
                    for t in ("invitation", "delivery")
                    for line in lines
                    if f"Seq Scan on {t}" in line
                }
            cursor.close()
    return "full scan of " + ", ".join(sorted(scans)) if scans else "indexed"


if __name__ == "__main__":
    main()
