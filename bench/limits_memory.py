"""CPU of the web rate limits' in-memory storage as it holds more keys: its expiry thread.

    PYTHONPATH=. .venv/bin/python bench/limits_memory.py [--keys 0,1000,10000,50000]
        [--seconds 2] [--storages memory,survey-memory]

On the embedded default (no Redis), Flask-Limiter counts in ``limits``' ``MemoryStorage``,
which starts a ``threading.Timer(0.01)`` whenever the last one has run out; each run walks
every key the storage holds (each token's and each address's moving window of the last
minute, for the survey page's two limits). For each number of keys: a moving-window
limiter is given that many keys, then hit once every 5 ms for ``--seconds``; the
process's CPU (``time.process_time``, every thread, the timer's included) per hit is
printed. ``survey-memory://`` is the embedded default's own storage
(survey/ratelimit_memory.py, no thread); each number of keys runs the storages in
A/B/B/A order, so a change in the machine's load falls on both. Prints; records nothing.
"""

from __future__ import annotations

import argparse
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

import survey.ratelimit_memory  # noqa: F401  registers survey-memory://


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", default="0,1000,10000,50000")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--storages", default="memory,survey-memory")
    args = parser.parse_args()
    item = parse("30/minute")
    first, *others = args.storages.split(",")
    order = [first, *others, *reversed(others), first] if others else [first]
    for held in (int(k) for k in args.keys.split(",")):
        for scheme in order:
            limiter = MovingWindowRateLimiter(storage_from_string(f"{scheme}://"))
            for i in range(held):
                limiter.hit(item, "token", str(i))
            time.sleep(0.05)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            hits = 0
            while time.perf_counter() - wall0 < args.seconds:
                limiter.hit(item, "token", "x")
                hits += 1
                time.sleep(0.005)
            cpu = time.process_time() - cpu0
            print(
                f"{held:>6} keys held, {scheme + '://':<16} {cpu * 1000 / hits:.3f} ms CPU a hit "
                f"({hits} hits, {cpu:.2f} s CPU in {args.seconds:g} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
