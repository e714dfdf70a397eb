"""What one posted interaction costs in-process: SQL statements, CPU and wall time per post.

    .venv/bin/python bench/intake_cost.py [--against 08db474] [--posts 400] [--rounds 2]
        [--size 17000] [--database postgresql]

The wrk bench (``intake.py``) needs a quiet machine: its figures move with whatever
else the two cores are doing. This one asks a question a busy machine cannot spoil as
much: how many statements and how much of one process's CPU a post takes, for this
checkout and for an earlier commit (``--against``, exported with ``git archive``), run
alternately in fresh processes (A, B, A, B …) on the same data, so that the ratio of the
two holds even when the absolute times do not.

Each run loads the demo bank (seed 2026, ``--size`` interactions, its 90 days ending
today, so posts fall inside the customers' frequency window) into a throwaway database,
creates an API key, posts 50 interactions to warm up, then ``--posts`` more through the
Flask test client: a new ``external_id`` each, for one of 5,000 demo customers by their
stored phone and e-mail, as ``intake.py`` does. Statements are counted by a
``before_cursor_execute`` listener; CPU is ``time.process_time`` of the process.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def measure(database: str, size: int, posts: int) -> dict[str, float]:
    """Run in a child process whose ``survey`` is the tree being measured."""
    import common
    import intake
    from sqlalchemy import event

    from survey import clock, demo
    from survey.auth.service import create_api_key
    from survey.extensions import db

    with common.bench_app(database) as app:
        demo.load(size=size, seed=2026, today=clock.now().date())
        common.gather_statistics()
        rows = intake._posted_rows()
        _row, key = create_api_key("bench", ("interactions",))
        db.session.commit()
        db.session.remove()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def post(n: int) -> None:
            fragment = rows[(n * 7919) % len(rows)]
            body = (
                f'{{"external_id":"COST-{n}","occurred_at":"{clock.now().isoformat()}",'
                '"channel":"phone","type":"inquiry","category":"credit_card",'
                f'"wait_seconds":60,{fragment}}}'
            )
            answer = client.post("/api/v1/interactions", data=body, headers=headers)
            if answer.status_code not in (200, 201):
                raise SystemExit(f"post {n}: {answer.status_code} {answer.get_data(as_text=True)}")

        for n in range(50):
            post(n)
        statements = 0

        def count(*_args: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(db.engine, "before_cursor_execute", count)
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(50, 50 + posts):
            post(n)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return {
            "statements": statements / posts,
            "cpu_ms": cpu / posts * 1000,
            "wall_ms": wall / posts * 1000,
        }


def _export(commit: str) -> str:
    """Export a commit's tree (with compiled catalogues) into a temporary folder."""
    folder = tempfile.mkdtemp(prefix="bench-tree-")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [str(pybabel), "compile", "-q", "-d", f"{folder}/survey/translations"], check=False
    )
    return folder


def _run_child(tree: str, args: Any) -> dict[str, float]:
    env = {
        **os.environ,
        # The tree measured comes first; the bench's own helpers from this checkout.
        "PYTHONPATH": os.pathsep.join([tree, str(BENCH)]),
        "SURVEY_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--database",
            args.database,
            "--size",
            str(args.size),
            "--posts",
            str(args.posts),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("COST ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][5:])


def main() -> None:
    if "--child" in sys.argv:
        sys.argv.remove("--child")
        import argparse

        parser = argparse.ArgumentParser()
        parser.add_argument("--database", default="sqlite")
        parser.add_argument("--size", type=int, default=17000)
        parser.add_argument("--posts", type=int, default=400)
        args = parser.parse_args()
        print("COST " + json.dumps(measure(args.database, args.size, args.posts)), flush=True)
        return

    import common

    parser = common.arguments(__doc__.splitlines()[0])
    parser.add_argument("--against", default="08db474", help="the earlier commit to compare")
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", type=int, default=17000)
    args = parser.parse_args()
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    trees = {f"{args.against} (before)": _export(args.against), f"{head} (this checkout)": ""}
    try:
        trees[f"{head} (this checkout)"] = _export("HEAD")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for round_ in range(1, args.rounds + 1):
            for name, tree in trees.items():
                figures = _run_child(tree, args)
                results[name].append(figures)
                print(f"round {round_} {name}: {figures}", flush=True)
    finally:
        for tree in trees.values():
            if tree:
                shutil.rmtree(tree, ignore_errors=True)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    before, after = list(trees)
    rows = [
        [
            name,
            f"{median(name, 'statements'):.1f}",
            f"{median(name, 'cpu_ms'):.2f} ms",
            f"{median(name, 'wall_ms'):.2f} ms",
            ", ".join(f"{r['cpu_ms']:.1f}" for r in results[name]),
        ]
        for name in trees
    ]
    rows.append(
        [
            "before ÷ after",
            f"{median(before, 'statements') / median(after, 'statements'):.2f}×",
            f"{median(before, 'cpu_ms') / median(after, 'cpu_ms'):.2f}×",
            f"{median(before, 'wall_ms') / median(after, 'wall_ms'):.2f}×",
            "",
        ]
    )
    common.record(
        f"Intake cost per post, in-process ({args.database})",
        {
            **common.machine(),
            "database": args.database,
            "posts a run": f"{args.posts:,}",
            "rounds": str(args.rounds),
        },
        ["code", "statements a post", "CPU a post", "wall a post", "CPU each round (ms)"],
        rows,
        notes=[
            "Medians over the rounds; the two trees run alternately in fresh processes on "
            f"the same demo data ({args.size:,} interactions, seed 2026), so their ratio "
            "holds on a busy machine where the absolute times do not. Posts are new "
            "interactions of demo customers, most of whom had a survey within the window "
            "(suppressed as `frequency`), as in `intake.py`.",
        ],
        enabled=not args.no_record,
    )


if __name__ == "__main__":
    main()
