"""Peak resident memory of one ``survey demo`` load, by phase and by the rebuilds it calls.

    .venv/bin/python bench/demo_phase_memory.py SIZE [--database postgresql]

SIZE is in interactions; the load goes into a throwaway database (seed 2026, last day
2026-06-30). Before each phase and each measured function the kernel's high-water mark
(``VmHWM``) is reset to the current RSS (``/proc/self/clear_refs``, Linux), so each peak is
that part's own, on top of what the process held when it began: a part whose peak grows
with SIZE is what makes the load's memory grow (issue 11). Prints JSON. (Resetting the mark
also resets ``ru_maxrss``: the load's peak is the largest of the peaks printed.)
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common  # noqa: E402


def _status_mb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


class Peaks:
    """The peak of each phase the loader reports and of each function wrapped."""

    def __init__(self) -> None:
        self.phases: dict[str, int] = {}
        self.functions: dict[str, list[dict[str, float]]] = {}
        self.phase: str | None = None
        self.phase_peak = 0
        self.inner: list[int] = []

    def progress(self, phase: str, _done: int, _total: int) -> None:
        if phase != self.phase:
            self.end_phase()
            self.phase, self.phase_peak = phase, 0
            _reset_peak()
        self.phase_peak = max(self.phase_peak, _status_mb("VmHWM"))

    def end_phase(self) -> None:
        if self.phase is not None:
            self.phases[self.phase] = max(self.phase_peak, _status_mb("VmHWM"))

    def wrap(self, module: ModuleType, name: str) -> None:
        original: Callable[..., Any] = getattr(module, name)
        label = f"{module.__name__}.{name}"

        @functools.wraps(original)
        def measured(*args: Any, **kwargs: Any) -> Any:
            before, outer = _status_mb("VmRSS"), _status_mb("VmHWM")
            _reset_peak()
            started = time.perf_counter()
            self.inner.append(0)
            try:
                return original(*args, **kwargs)
            finally:
                peak = max(_status_mb("VmHWM"), self.inner.pop())
                seconds = round(time.perf_counter() - started, 1)
                self.functions.setdefault(label, []).append(
                    {"rss_before_mb": before, "peak_mb": peak, "seconds": seconds}
                )
                if self.inner:
                    self.inner[-1] = max(self.inner[-1], peak)
                self.phase_peak = max(self.phase_peak, peak, outer)

        setattr(module, name, measured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()

    from survey import demo
    from survey.demo import followups
    from survey.scoring import comment_index, complaint_outcomes, complaint_rollup, rebuilding

    peaks = Peaks()
    peaks.wrap(rebuilding, "_rebuild_finest")
    peaks.wrap(complaint_rollup, "rebuild")
    peaks.wrap(comment_index, "rebuild")
    peaks.wrap(demo, "_rebuild_funnel")
    peaks.wrap(complaint_outcomes, "refresh")
    peaks.wrap(followups, "open_cases")
    with common.bench_app(args.database):
        summary = demo.load(size=args.size, today=date(2026, 6, 30), progress=peaks.progress)
        peaks.end_phase()
    result = {
        "size": args.size,
        "database": args.database,
        "seconds": round(summary.seconds),
        "counts": summary.counts,
        "peak_mb": max(peaks.phases.values()),
        "phase_peak_mb": peaks.phases,
        "functions": peaks.functions,
    }
    print(json.dumps(result, indent=1), flush=True)


if __name__ == "__main__":
    main()
