"""A submission's rollup work: this checkout's ``apply_response`` against an earlier one's, alternately.

    .venv/bin/python bench/rollup_apply_ab.py DATABASE_URL OLD_ROLLUP_PY [--submissions 300]

On an existing, loaded database of your own (it writes: 2 × ``--submissions`` completed
responses over the last week of ``rollup_rebuild``'s year, as ``scores.py``'s
submissions), completes responses one at a time and rolls each up alternately with
this checkout's ``survey.scoring.rollup.apply_response`` and with the one in
``OLD_ROLLUP_PY`` (e.g. ``git show 094a9a9:survey/scoring/rollup.py > /tmp/rollup_old.py``,
loaded as a module beside this checkout's others), timing the call alone; prints
each one's median. Both in one process and one run, so a busy machine slows both.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta

import common
import rollup_rebuild
import sqlalchemy as sa

from survey.extensions import db
from survey.models import Question, SurveyVersion
from survey.scoring import rollup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("old_rollup")
    parser.add_argument("--submissions", type=int, default=300)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("rollup_old", args.old_rollup)
    assert spec and spec.loader
    old = importlib.util.module_from_spec(spec)
    sys.modules["rollup_old"] = old
    spec.loader.exec_module(old)
    app = common.create_app(common.app_config(args.database_url, tempfile.mkdtemp()))
    print("load average at start", ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    with app.app_context():
        times = _alternate(
            args.submissions, {"old": old.apply_response, "new": rollup.apply_response}
        )
    for name, values in times.items():
        print(f"{name}: median {statistics.median(values) * 1000:.2f} ms over {len(values)}")


def _alternate(count: int, applies: dict) -> dict[str, list[float]]:
    version_id = db.session.scalar(
        sa.select(SurveyVersion.id)
        .join(Question, Question.version_id == SurveyVersion.id)
        .where(Question.kind == "nps_0_10", SurveyVersion.state == "published")
        .limit(1)
    )
    rng = random.Random(11)
    questions = db.session.scalars(sa.select(Question).where(Question.version_id == version_id))
    by_key = {q.key: q for q in questions}
    rated = {key: q.id for key, q in by_key.items()}
    comment = next(q.id for q in by_key.values() if q.kind == "text")
    week = rollup_rebuild.START + timedelta(days=rollup_rebuild.DAYS - 7)
    ids = rollup_rebuild._insert_open_invitations(len(applies) * count, version_id, week, rng)
    names = list(applies)
    times: dict[str, list[float]] = {name: [] for name in names}
    for n, invitation_id in enumerate(ids):
        at = week + timedelta(seconds=rng.randrange(7 * 24 * 3600))
        name = names[n % len(names)]
        response = rollup_rebuild.complete_one(invitation_id, version_id, rated, comment, at, rng)
        started = time.perf_counter()
        applies[name](response)
        times[name].append(time.perf_counter() - started)
        db.session.commit()
    return times


if __name__ == "__main__":
    main()
