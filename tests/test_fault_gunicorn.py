"""A web worker SIGKILLed while customers submit answers: every answer that was acknowledged
is stored, none twice, and the site goes on answering (gunicorn starts a new worker).

The test serves a SQLite database of its own with gunicorn (2 workers, the settings `make
run` uses) on a free port, posts the first step of ``SURVEY_FAULT_POSTS`` surveys (300 by
default) from 8 threads, kills one worker after the first 60 acknowledgements, then posts
again every survey whose post failed, as a customer would (tests/fixtures/web_kill.py, which
bench/faults.py runs at 5,000 posts on both databases).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures import web_kill

SURVEYS = int(os.environ.get("SURVEY_FAULT_POSTS", "300"))
pytestmark = pytest.mark.slow


def test_a_killed_web_worker_loses_no_acknowledged_answer_and_stores_none_twice(tmp_path: Path):
    outcome = web_kill.run(tmp_path, SURVEYS, threads=8, kill_every=60, kills=1)
    print(f"\n{outcome}")
    assert outcome.kills == 1, "no worker was killed"
    assert outcome.acknowledged == SURVEYS, outcome  # every second press was answered
    assert outcome.stored == SURVEYS and outcome.doubled == 0 and outcome.missing == 0, outcome
