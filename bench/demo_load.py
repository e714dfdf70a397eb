"""Time ``survey demo``'s load and its peak memory at sizes given in answers or interactions.

    .venv/bin/python bench/demo_load.py [--answers 100000,1000000] [--sizes N,…] [--database postgresql]
        [--defer-indexes yes|no|size]

Each size loads into a fresh throwaway database built by the migrations, with a
fixed seed and last day, in a process of its own, so that the peak resident
memory measured (``ru_maxrss`` of that process, which includes Python, Flask and
SQLAlchemy themselves) is this load's alone. A size given in answers is turned
into interactions with ``survey.demo.interactions_for``; the answers
actually loaded are reported. The phases that report progress are timed from
their first to their last report.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import common

LAST_DAY = date(2026, 6, 30)
RSS_GOAL_MB = 300


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--answers", default="", help="sizes in answers, comma-separated")
    parser.add_argument("--sizes", default="", help="sizes in interactions, comma-separated")
    parser.add_argument(
        "--defer-indexes",
        choices=("yes", "no", "size"),
        default="size",
        help="PostgreSQL: build the keys and indexes after the rows (default: by size)",
    )
    parser.add_argument("--one", type=int, help=argparse_suppress())
    args = parser.parse_args()
    # A run stopped with `kill` still drops its throwaway database (the `finally` blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.one:
        print(json.dumps(_load_one(args.database, args.one, args.defer_indexes)), flush=True)
        return

    from survey.demo import interactions_for

    sizes = [interactions_for(int(a)) for a in args.answers.split(",") if a]
    sizes += [int(s) for s in args.sizes.split(",") if s]
    about = {
        **common.machine(),
        "database": args.database,
        "keys and indexes built after the rows": args.defer_indexes,
    }
    rows = []
    for size in sizes or [interactions_for(100_000)]:
        command = [sys.executable, __file__, "--database", args.database, "--one", str(size)]
        command += ["--defer-indexes", args.defer_indexes]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        counts, seconds = result["counts"], result["seconds"]
        measured = result["phases"]
        rows.append(
            [
                f"{counts['answers']:,}",
                f"{counts['interactions']:,}",
                f"{counts['rows']:,}",
                f"{counts['days']} / {counts['teams']} / {counts['agents']} / "
                f"{counts['customers']:,}",
                _minutes(seconds),
                f"{counts['rows'] / seconds:,.0f}",
                f"{counts['answers'] / seconds:,.0f}",
                f"{result['peak_rss_mb']:.0f} MB",
                ", ".join(f"{name} {s:.0f}" for name, s in measured.items()),
            ]
        )
        print(
            f"{args.database} {size}: {seconds:.1f} s, {result['peak_rss_mb']:.0f} MB", flush=True
        )
    common.record(
        f"Demo load ({args.database})",
        about,
        [
            "answers",
            "interactions",
            "rows written",
            "days / teams / agents / customers",
            "load time",
            "rows/s",
            "answers/s",
            "peak RSS",
            "phases (s)",
        ],
        rows,
        notes=[
            "Each size loads into its own fresh database (seed 2026, last day "
            f"{LAST_DAY}) in a process of its own; the time is `DemoSummary.seconds`, from the "
            "start of `load` to the rebuilt rollups; peak RSS is that process's `ru_maxrss` "
            f"(goal ≤ {RSS_GOAL_MB} MB at 10,000,000 answers). `rows written` counts every "
            "row of every table the loader writes (customers, addresses, cases, interactions, "
            "invitations, deliveries, opt-outs, responses, answers), before the rollup."
        ],
        enabled=not args.no_record,
    )


def _load_one(database: str, size: int, defer_indexes: str) -> dict:
    from survey import demo

    defer = {"yes": True, "no": False, "size": None}[defer_indexes]
    with common.bench_app(database):
        phases = _PhaseClock()
        summary = demo.load(size=size, today=LAST_DAY, progress=phases.report, defer_indexes=defer)
    # ru_maxrss is in kilobytes on Linux.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "size": size,
        "seconds": summary.seconds,
        "counts": summary.counts,
        "phases": phases.durations(),
        "peak_rss_mb": peak,
        "peak_buffered_rows": summary.peak_buffered_rows,
        "peak_pending_interactions": summary.peak_pending_interactions,
    }


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


def _minutes(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class _PhaseClock:
    """Remember when each progress phase first and last reported."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.printed = 0.0

    def report(self, phase: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.first.setdefault(phase, now)
        self.last[phase] = now
        if now - self.printed >= 30 or done in (0, total):
            # A line now and then on stderr, to follow a long run in its log.
            self.printed = now
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            elapsed = now - self.first[phase]
            print(
                f"{time.strftime('%H:%M:%S')} {phase} {done:,}/{total:,} "
                f"after {elapsed:.0f} s, peak RSS {rss:.0f} MB",
                file=sys.stderr,
                flush=True,
            )

    def durations(self) -> dict[str, float]:
        return {name: self.last[name] - start for name, start in self.first.items()}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
