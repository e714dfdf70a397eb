"""The web limits' counts in this process's memory, when no Redis is configured: ``survey-memory://``.

``limits``' own ``memory://`` storage starts a ``threading.Timer`` every 10 ms while it is
used, and each run walks every key it holds: with the survey page's limits per token and
per address, a busy web worker holds thousands of keys, and the walk took CPU and the GIL
from its requests (bench/limits_memory.py). This storage counts the same way for the
fixed and moving window strategies (the web limits use the moving window, see
``RATELIMIT_STRATEGY``), with no thread: a key whose time has passed reads as empty, a
moving window keeps at most its limit of hits, and every hit, granted or not, looks at
the two keys at the front of a queue of all keys, lets go of those whose time has passed
and sends the others to the back (as a write does). Keys are added only by hits, one at
most each, so the keys held stay within a few times those still counting.

Registered with ``limits`` by its ``STORAGE_SCHEME`` (the documented way to add a storage)
when this module is imported; ``survey.ratelimits`` imports it before binding the limiter.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict

from limits.storage import MovingWindowSupport, Storage

from survey import clock

SWEEP_PER_HIT = 2  # keys looked at by each hit, granted or not: more than the one a hit can add


class SurveyMemoryStorage(Storage, MovingWindowSupport):
    """Fixed and moving window counts in memory, expired when touched, without a thread."""

    STORAGE_SCHEME = ["survey-memory"]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool
    ):
        # RATELIMIT_STORAGE_OPTIONS (a Redis prefix and timeouts) mean nothing here. One lock
        # for all keys: a call holds it for microseconds.
        self._lock = threading.Lock()
        self._counters: dict[str, list[float]] = {}  # fixed windows: key -> [count, end]
        self._windows: dict[str, tuple[int, list[float]]] = {}  # key -> (expiry, hits newest first)
        self._queue: OrderedDict[str, None] = OrderedDict()  # every key, in the sweep's order
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to a fixed window's count; a new window ends ``expiry`` seconds from now."""
        now = clock.wall_seconds()
        with self._lock:
            self._sweep(now)
            counter = self._live_counter(key, now)
            if counter is None:
                counter = self._counters[key] = [0, 0.0]
            counter[0] += amount
            if counter[0] == amount:
                counter[1] = now + expiry
            self._wrote(key)
            return int(counter[0])

    def get(self, key: str) -> int:
        """Return a fixed window's count, 0 once its window has ended."""
        with self._lock:
            counter = self._live_counter(key, clock.wall_seconds())
            return 0 if counter is None else int(counter[0])

    def get_expiry(self, key: str) -> float:
        """Return when a fixed window ends (now, when there is none)."""
        now = clock.wall_seconds()
        with self._lock:
            counter = self._live_counter(key, now)
            return now if counter is None else counter[1]

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Add ``amount`` hits to a moving window unless that would pass ``limit`` in ``expiry`` seconds."""
        if amount > limit:
            return False
        now = clock.wall_seconds()
        with self._lock:
            self._sweep(now)
            window = self._windows.get(key)
            hits = [] if window is None else window[1]
            if len(hits) > limit - amount and hits[limit - amount] >= now - expiry:
                return False
            hits[:0] = [now] * amount
            # The hits past the limit's were out of the window before these came: never read again.
            del hits[limit:]
            if window is None:
                self._windows[key] = (expiry, hits)
            self._wrote(key)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """Return when a moving window's oldest hit in the last ``expiry`` seconds came, and how many came."""
        now = clock.wall_seconds()
        with self._lock:
            hits = self._windows.get(key, (expiry, []))[1]
            count = bisect.bisect_left(hits, expiry - now, key=lambda hit: -hit)  # newer hits
            return (hits[count - 1], count) if count else (now, 0)

    def clear(self, key: str) -> None:
        """Forget a key's counts."""
        with self._lock:
            self._drop(key)

    def reset(self) -> int:
        """Forget every count; return how many keys there were."""
        with self._lock:
            held = len(self._queue)
            self._counters.clear()
            self._windows.clear()
            self._queue.clear()
            return held

    def check(self) -> bool:
        """Memory is always there."""
        return True

    def _live_counter(self, key: str, now: float) -> list[float] | None:
        counter = self._counters.get(key)
        if counter is not None and counter[1] <= now:  # limits' memory:// ends it at its expiry too
            del self._counters[key]
            if key not in self._windows:
                self._queue.pop(key, None)
            return None
        return counter

    def _wrote(self, key: str) -> None:
        self._queue[key] = None
        self._queue.move_to_end(key)

    def _sweep(self, now: float) -> None:
        for _ in range(min(SWEEP_PER_HIT, len(self._queue))):
            oldest = next(iter(self._queue))
            if self._holds_nothing(oldest, now):
                self._drop(oldest)
            else:
                self._queue.move_to_end(oldest)

    def _holds_nothing(self, key: str, now: float) -> bool:
        counter, window = self._counters.get(key), self._windows.get(key)
        if counter is not None and counter[1] > now:
            return False
        # A window whose newest hit is out of it reads as empty, to a write as to a read.
        return window is None or window[1][0] < now - window[0]

    def _drop(self, key: str) -> None:
        self._counters.pop(key, None)
        self._windows.pop(key, None)
        self._queue.pop(key, None)
