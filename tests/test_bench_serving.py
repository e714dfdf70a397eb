"""The load benches serve as the product is served: bench/serving.py's gunicorn.

``make run`` and production serve with scripts/gunicorn.conf.py (gthread workers, several
threads each); the wrk benches (bench/intake.py, bench/survey_page.py) serve the app and
the bare endpoint through ``serving.gunicorn``, which must serve the same way unless a
bench asks for sync workers to compare. One worker process here, so only its threads can
let two requests meet (tests/fixtures/meeting.py).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import serving  # noqa: E402

pytestmark = pytest.mark.slow
TARGET = "tests.fixtures.meeting:app"


def _two_meetings(port: int) -> list[int]:
    """Send two ``/meet`` requests at once; return their statuses."""

    def meet(_n: int) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/meet", timeout=30) as answer:
                return answer.status
        except urllib.error.HTTPError as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=2) as pool:
        return sorted(pool.map(meet, range(2)))


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_the_bench_serves_with_the_worker_class_and_threads_of_the_products_config():
    assert serving.PRODUCT.worker_class == "gthread" and serving.PRODUCT.threads > 1
    with serving.gunicorn(TARGET, 1, _environment(), "/ready") as port:
        assert _two_meetings(port) == [200, 200]  # one process served both at once


def test_the_bench_serves_with_sync_workers_when_asked_one_request_at_a_time():
    with serving.gunicorn(TARGET, 1, _environment(), "/ready", serve=serving.SYNC) as port:
        assert _two_meetings(port) == [503, 503]  # each waited alone, one after the other


def test_the_benches_say_how_they_served():
    threads = serving.PRODUCT.threads
    assert serving.PRODUCT.describe(2) == f"gunicorn, 2 gthread workers × {threads} threads"
    assert serving.SYNC.describe(2) == "gunicorn, 2 sync workers"
    assert serving.workers_option("sync,gthread") == [serving.SYNC, serving.PRODUCT]
    with pytest.raises(ValueError, match="eventlet"):
        serving.workers_option("sync,eventlet")
