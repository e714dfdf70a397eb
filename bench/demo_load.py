"""Time ``survey.demo.load(size=N)``: the goal is about 20,000 interactions in under 30 s.

    .venv/bin/python bench/demo_load.py [--sizes 5000,20000,50000] [--database postgresql]

Each size loads into a fresh throwaway database built by the migrations, with a
fixed seed and last day, so every run loads the same data. The phases that
report progress (inserts, the rollup rebuild) are timed from their first to
their last report; the rest (generating the bank in Python) is "other".
"""

from __future__ import annotations

import time
from datetime import date

import common

from survey import demo

GOAL_SIZE = 20_000
GOAL_SECONDS = 30.0
LAST_DAY = date(2026, 6, 30)


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000,50000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    about = {**common.machine(), "database": args.database}
    rows = []
    for size in sizes:
        with common.bench_app(args.database):
            phases = _PhaseClock()
            summary = demo.load(size=size, today=LAST_DAY, progress=phases.report)
        total = summary.seconds
        measured = phases.durations()
        other = total - sum(measured.values())
        rows.append(
            [
                f"{size:,}",
                f"{total:.2f} s",
                f"{size / total:,.0f}",
                f"{total / GOAL_SECONDS:.2f}" if size == GOAL_SIZE else "",
                f"{summary.counts['responses']:,}",
                ", ".join(f"{name} {s:.2f}" for name, s in measured.items())
                + f", other {other:.2f}",
            ]
        )
        print(f"{args.database} {size}: {total:.2f} s", flush=True)
    common.record(
        f"Demo load ({args.database})",
        about,
        ["interactions", "seconds", "interactions/s", "÷ 30 s goal", "responses", "phases (s)"],
        rows,
        notes=[
            f"`÷ 30 s goal` is the load time over the 30 s goal for {GOAL_SIZE:,} interactions "
            "(below 1 meets it). Each size loads into its own fresh database (seed 2026, last "
            f"day {LAST_DAY}); the time is `DemoSummary.seconds`, from the start of `load` to the "
            "rebuilt rollups."
        ],
        enabled=not args.no_record,
    )


class _PhaseClock:
    """Remember when each progress phase first and last reported."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def report(self, phase: str, _done: int, _total: int) -> None:
        now = time.perf_counter()
        self.first.setdefault(phase, now)
        self.last[phase] = now

    def durations(self) -> dict[str, float]:
        return {name: self.last[name] - start for name, start in self.first.items()}


if __name__ == "__main__":
    main()
