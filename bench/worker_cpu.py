"""CPU a request in each gunicorn worker under load: the figure a busy machine leaves readable.

    SURVEY_BENCH_GUNICORN_CONFIG=$PWD/bench/worker_cpu.py .venv/bin/python bench/intake.py \\
        --sizes 17000 --no-record
    .venv/bin/python bench/worker_cpu.py [--folder /tmp]

Loaded as a gunicorn config file (``serving.gunicorn`` passes ``SURVEY_BENCH_GUNICORN_CONFIG``
on), each worker counts the requests it served and, when it exits, writes
``worker-cpu-<pid>.json``: its user and system CPU from its first request on, the wall
time spent inside requests, and its voluntary (waits: a lock, a round trip, a sleep) and
involuntary (preempted) context switches. Run as a script, it prints each file a line
a request. wrk's rates on a machine whose cores others share move with their load; the
CPU a request (with wrk's own and the kernel's, about 0.4 ms a request here) is what
bounds the rate once the cores are saturated.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import tempfile
import threading
import time
from typing import Any

FOLDER = os.environ.get("BENCH_SAMPLES", tempfile.gettempdir())
_state: dict[str, Any] = {}
_counting = threading.Lock()  # a gthread worker's threads finish requests side by side


def post_fork(_server: Any, _worker: Any) -> None:
    """gunicorn's hook: start counting in this worker."""
    _state.update(requests=0, wall=0.0, first=None)


def pre_request(_worker: Any, _request: Any) -> None:
    """gunicorn's hook: note the worker's CPU at its first request, and each request's start."""
    if _state["first"] is None:
        _state["first"] = resource.getrusage(resource.RUSAGE_SELF)
    _request.bench_started = time.perf_counter()  # its own: threads serve side by side


def post_request(_worker: Any, request: Any, _environ: Any, _response: Any) -> None:
    """gunicorn's hook: count the request and its wall time (summed over a worker's threads)."""
    took = time.perf_counter() - request.bench_started
    with _counting:
        _state["requests"] += 1
        _state["wall"] += took


def worker_exit(_server: Any, worker: Any) -> None:
    """gunicorn's hook: write what this worker counted."""
    first = _state.get("first")
    if first is None:
        return
    last = resource.getrusage(resource.RUSAGE_SELF)
    path = os.path.join(FOLDER, f"worker-cpu-{os.getpid()}.json")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(
            {
                "app": str(worker.app.app_uri),
                "requests": _state["requests"],
                "user": last.ru_utime - first.ru_utime,
                "system": last.ru_stime - first.ru_stime,
                "wall": _state["wall"],
                "voluntary": last.ru_nvcsw - first.ru_nvcsw,
                "involuntary": last.ru_nivcsw - first.ru_nivcsw,
            },
            out,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=FOLDER)
    args = parser.parse_args()
    for path in sorted(glob.glob(os.path.join(args.folder, "worker-cpu-*.json"))):
        with open(path, encoding="utf-8") as source:
            seen = json.load(source)
        n = max(seen["requests"], 1)
        print(
            f"{seen['app']:<22} {seen['requests']:>7} requests  "
            f"CPU {(seen['user'] + seen['system']) / n * 1000:.3f} ms "
            f"(user {seen['user'] / n * 1000:.3f}, system {seen['system'] / n * 1000:.3f})  "
            f"wall {seen['wall'] / n * 1000:.3f} ms  switches a request: "
            f"{seen['voluntary'] / n:.2f} voluntary, {seen['involuntary'] / n:.2f} involuntary"
        )


if __name__ == "__main__":
    main()
