"""The web limits' own in-memory counts: limits' counting, expired lazily, no expiry thread."""

from __future__ import annotations

import threading
import time

import pytest
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from survey.config import rate_limit_storage
from survey.extensions import limiter
from survey.ratelimit_memory import SurveyMemoryStorage


class MovedClock:
    """``time.time`` as limits reads it, moved by the test (limits reads no other clock)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_800_000_000.125
        monkeypatch.setattr(time, "time", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def moved_clock(monkeypatch):
    return MovedClock(monkeypatch)


def test_the_embedded_default_counts_in_our_storage_and_redis_stays_redis():
    assert rate_limit_storage("sqlite:////srv/instance/queue.sqlite3") == "survey-memory://"
    assert rate_limit_storage("memory://") == "survey-memory://"
    assert rate_limit_storage("redis://cache:6379/2?prefix=survey") == "redis://cache:6379/2"


def test_the_scheme_is_registered_with_limits_and_takes_the_redis_options():
    options = {"key_prefix": "survey-ratelimit", "socket_timeout": 2, "socket_connect_timeout": 2}
    assert isinstance(storage_from_string("survey-memory://", **options), SurveyMemoryStorage)


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_the_app_counts_survey_links_in_our_storage_without_starting_a_thread(client, invite):
    assert isinstance(limiter.storage, SurveyMemoryStorage)
    before = set(threading.enumerate())
    invitation = invite(locale="en")
    for _ in range(30):
        assert client.get(f"/s/{invitation.token}").status_code == 200
    assert client.get(f"/s/{invitation.token}").status_code == 429
    assert not [t for t in threading.enumerate() if t not in before]


def test_a_hit_starts_no_thread():
    storage = SurveyMemoryStorage()
    before = set(threading.enumerate())
    assert MovingWindowRateLimiter(storage).hit(parse("30/minute"), "token", "a")
    assert FixedWindowRateLimiter(storage).hit(parse("30/minute"), "token", "b")
    assert not [t for t in threading.enumerate() if t not in before]


def test_expired_keys_are_let_go_by_later_hits_so_memory_stays_bounded(moved_clock):
    storage = SurveyMemoryStorage()
    moving, fixed = MovingWindowRateLimiter(storage), FixedWindowRateLimiter(storage)
    per_minute = parse("30/minute")
    for n in range(5_000):
        moving.hit(per_minute, "token", str(n))
        fixed.hit(per_minute, "address", str(n))
    moved_clock.advance(61)
    for _ in range(5_000):  # 10,000 expired keys; each hit looks at a few
        moving.hit(per_minute, "token", "busy")
    assert storage.reset() == 1  # only the busy token's window is left


def test_a_window_holds_at_most_its_limit_of_hits(moved_clock):
    storage = SurveyMemoryStorage()
    moving, per_minute = MovingWindowRateLimiter(storage), parse("30/minute")
    for _ in range(1_000):
        moving.hit(per_minute, "token", "a")
        moved_clock.advance(0.37)
    assert max(len(window) for _, window in storage._windows.values()) == 30


def test_a_key_read_after_it_expired_reads_empty(moved_clock):
    storage = SurveyMemoryStorage()
    moving, fixed, item = (
        MovingWindowRateLimiter(storage),
        FixedWindowRateLimiter(storage),
        parse("2/minute"),
    )
    for limiter_ in (moving, fixed):
        assert limiter_.hit(item, "k") and limiter_.hit(item, "k") and not limiter_.hit(item, "k")
    moved_clock.advance(60.5)
    for limiter_ in (moving, fixed):
        assert limiter_.get_window_stats(item, "k").remaining == 2
        assert limiter_.test(item, "k") and limiter_.hit(item, "k")


@pytest.mark.parametrize("strategy", [MovingWindowRateLimiter, FixedWindowRateLimiter])
def test_counting_is_the_same_as_limits_memory_storage_for_the_same_hits(strategy, moved_clock):
    ours, theirs = strategy(SurveyMemoryStorage()), strategy(MemoryStorage())
    items = [parse("30/minute"), parse("3/second"), parse("600/minute")]
    seen = []
    # 0.37 s steps: no two hits exactly a window apart, where limits' answer depends on
    # whether its expiry thread has run yet.
    for step in range(2_000):
        item, key = items[step // 2 % 3], f"k{step % 2}"
        cost = 2 if step % 11 == 0 else 1
        answers = []
        for counter in (ours, theirs):
            hit = counter.hit(item, key, cost=cost)
            test = counter.test(item, key)
            stats = counter.get_window_stats(item, key)
            used = stats.remaining < item.amount
            answers.append((hit, test, stats.remaining, stats.reset_time if used else None))
        assert answers[0] == answers[1], (step, answers)
        seen.append(answers[0][0])
        moved_clock.advance(0.0 if step % 4 else 0.37)
    assert True in seen and False in seen  # the limits were reached and let go again


def test_clear_and_reset_forget_the_counts():
    storage = SurveyMemoryStorage()
    moving, item = MovingWindowRateLimiter(storage), parse("1/minute")
    assert moving.hit(item, "a") and not moving.hit(item, "a")
    moving.clear(item, "a")
    assert moving.hit(item, "a") and moving.hit(item, "b")
    assert storage.reset() == 2 and moving.hit(item, "a") and storage.check()


def test_concurrent_hits_from_worker_threads_are_counted_exactly():
    storage = SurveyMemoryStorage()
    moving, item = MovingWindowRateLimiter(storage), parse("1000/hour")
    granted = []

    def hits() -> None:
        granted.append(sum(moving.hit(item, "shared") for _ in range(400)))

    threads = [threading.Thread(target=hits) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 1000
