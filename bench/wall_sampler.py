"""Where a gunicorn worker's requests spend their wall-clock time, without py-spy.

    GUNICORN_CMD_ARGS="--config $PWD/bench/wall_sampler.py" .venv/bin/python bench/intake.py \\
        --sizes 17000 --no-record
    .venv/bin/python bench/wall_sampler.py [--folder /tmp] [--view post_interaction]

Loaded as a gunicorn config file (the bench passes its environment on to gunicorn), it
starts a thread in each worker that looks at the worker's other threads every millisecond
(``sys._current_frames``: the main thread of a sync worker, the request threads of a
gthread one) and counts, for each thread found inside a request, each function on the
stack (inclusive) and the innermost one; the worker writes its counts
to ``wall-samples-<pid>.json`` when it exits. Run as a script, it adds up the files of
the workers that served the view and prints each function's share of request time.
The sampler needs the GIL: time the main thread spends in Python is under-sampled next
to time it spends waiting with the GIL released (a query, a lock, an fsync), so read
the shares as where the waits are, and cProfile (``request_floor.py --profile``) for CPU.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import sys
import tempfile
import threading
import time
from typing import Any

FOLDER = os.environ.get("BENCH_SAMPLES", tempfile.gettempdir())


def post_fork(_server: Any, worker: Any) -> None:
    """gunicorn's hook: sample this worker's threads until it exits."""
    sys.setswitchinterval(0.0005)  # let the sampler in between the worker's own bytecodes
    inclusive: collections.Counter[str] = collections.Counter()
    innermost: collections.Counter[str] = collections.Counter()
    counted = [0]

    def sample() -> None:
        me = threading.get_ident()
        while True:
            time.sleep(0.001)
            for thread, frame in sys._current_frames().items():
                if thread != me:
                    _count(frame, counted, inclusive, innermost)

    threading.Thread(target=sample, daemon=True).start()

    def dump() -> None:
        path = os.path.join(FOLDER, f"wall-samples-{os.getpid()}.json")
        with open(path, "w", encoding="utf-8") as out:
            json.dump(
                {
                    "samples": counted[0],
                    "inclusive": inclusive.most_common(300),
                    "innermost": innermost.most_common(60),
                },
                out,
            )

    worker.wall_sampler_dump = dump


def _count(
    frame: Any,
    counted: list[int],
    inclusive: collections.Counter[str],
    innermost: collections.Counter[str],
) -> None:
    """Count one thread's stack, if that thread is serving a request."""
    names = []
    while frame is not None:
        code = frame.f_code
        where = code.co_filename.split("site-packages/")[-1]
        names.append(f"{where}:{code.co_name}")
        frame = frame.f_back
    if not any(name.endswith(":wsgi_app") for name in names):
        return  # waiting for a connection, not serving one
    counted[0] += 1
    inclusive.update(set(names))
    innermost[names[0]] += 1


def worker_exit(_server: Any, worker: Any) -> None:
    """gunicorn's hook: write this worker's counts."""
    dump = getattr(worker, "wall_sampler_dump", None)
    if dump is not None:
        dump()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=FOLDER)
    parser.add_argument("--view", default="post_interaction", help="keep workers that ran it")
    parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args()
    inclusive: collections.Counter[str] = collections.Counter()
    innermost: collections.Counter[str] = collections.Counter()
    samples = 0
    for path in glob.glob(os.path.join(args.folder, "wall-samples-*.json")):
        with open(path, encoding="utf-8") as found:
            counts = json.load(found)
        if not any(name.endswith(f":{args.view}") for name, _n in counts["inclusive"]):
            continue
        samples += counts["samples"]
        inclusive.update(dict(counts["inclusive"]))
        innermost.update(dict(counts["innermost"]))
    print(f"samples inside requests: {samples}")
    for name, n in inclusive.most_common(args.top):
        if n < samples:  # what every request's stack holds says nothing
            print(f"{n / samples:6.1%}  {name}")
    print("innermost:")
    for name, n in innermost.most_common(20):
        print(f"{n / samples:6.1%}  {name}")


if __name__ == "__main__":
    main()
