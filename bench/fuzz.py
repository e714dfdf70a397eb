"""Fuzz the JSON API with schemathesis at scale and record how many cases ran and what failed.

    .venv/bin/python bench/fuzz.py [--scale 12]

Runs tests/test_api_schemathesis.py (every operation of the OpenAPI document, valid and
invalid cases, checks: no 5xx, documented status, content type and body, invalid input
refused, valid input refused only for rules the document cannot state) with
SURVEY_FUZZ_SCALE times its usual cases, on SQLite and PostgreSQL, and records the cases
per database, the time, and pytest's verdict.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import common

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=12, help="times the test's usual cases")
    args = parser.parse_args()
    env = {**os.environ, "SURVEY_FUZZ_SCALE": str(args.scale), "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_api_schemathesis.py", "-s", "-q",
         "-p", "no:cacheprovider", "-n", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    found = re.findall(r"schemathesis: (\d+) cases in ([\d.]+) s: (\{.*\})", run.stdout)
    verdict = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:]
    rows = [
        [database, f"{int(cases):,}", f"{float(seconds):.1f} s", per_operation]
        for database, (cases, seconds, per_operation) in zip(
            ("sqlite", "postgresql"), found, strict=False
        )
    ]
    common.record(
        f"API fuzzing (schemathesis, scale {args.scale})",
        {**common.machine(), "pytest": verdict, "wall time": f"{elapsed:.0f} s"},
        ["database", "cases", "time", "cases per operation"],
        rows,
        notes=[
            "Each case is checked for: no 5xx, a documented status code, content type and "
            "headers, a body its schema describes, invalid input refused, and valid input "
            "refused only for the rules the document cannot state (codes the admin keeps, "
            "surveys that exist, the time window around now), naming the field. A failing "
            "case fails pytest, whose last line is recorded above."
        ],
        enabled=not args.no_record,
    )
    if run.returncode != 0:
        print(run.stdout[-4000:], run.stderr[-2000:], sep="\n")
        raise SystemExit(run.returncode)


if __name__ == "__main__":
    main()
