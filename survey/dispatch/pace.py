"""The provider's pace: at most R units a second per sender, across every worker.

Each sender (a Twilio number or messaging service, the voice account, the SMTP
account) has a schedule: the instant its next unit may go. A send of ``cost``
units reserves ``cost / R`` seconds from that instant (a generic cell rate
algorithm with no burst), so sends are spread evenly and no one-second window
holds more than R units. SMS cost their segments, the same count the designer
shows; a call or an e-mail costs one.

The schedule lives where every worker sees it: in Redis when the queue is on
Redis (one atomic script, timed by the Redis server's own clock, so hosts need
not agree on the time), else in the SQLite queue file all local processes
share (``BEGIN IMMEDIATE`` makes each reservation atomic), else (the tests'
memory queue) in this process.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import parse_qs, urlparse

from flask import current_app

from survey import clock, settings
from survey.channels import segments
from survey.channels.base import Channel, Message
from survey.models import Invitation

# Spacing is a little wider than 1/R, so network jitter between processes never lets two
# sends land in one window: the achieved rate is about 97% of R.
SAFETY = 1.03


@dataclass(frozen=True)
class Slot:
    """A reservation: wait this long, then send; or, not granted, come back after ``wait``."""

    wait: float
    granted: bool
    at: float = 0.0  # the instant on the store's clock (seconds) the turn starts


class Store(Protocol):
    def reserve(
        self, key: str, seconds: float, max_wait: float, now: float | None = None
    ) -> Slot:
        """Reserve ``seconds`` of the sender's schedule, starting no later than ``max_wait``."""
        ...


def grant(
    schedules: Store, key: str, cost: int, rate: float, max_wait: float, now: float | None = None
) -> Slot:
    """Let ``cost`` units of a sender at ``rate`` begin (today: spaced at SAFETY × cost / rate)."""
    return schedules.reserve(key, SAFETY * cost / rate, max_wait, now)


class MemoryStore:
    """One process's schedules (the tests' memory queue)."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(
        self, key: str, seconds: float, max_wait: float, now: float | None = None
    ) -> Slot:
        with self._lock:
            now = clock.wall_seconds() if now is None else now
            start = max(self._next.get(key, 0.0), now)
            if start - now > max_wait:
                return Slot(start - now, False, start)
            self._next[key] = start + seconds
            return Slot(start - now, True, start)


class SqliteStore:
    """Schedules in a SQLite file every process on the host opens (the queue's)."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS send_pace (sender TEXT PRIMARY KEY, next REAL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def reserve(
        self, key: str, seconds: float, max_wait: float, now: float | None = None
    ) -> Slot:
        at = now
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")  # one reservation at a time, across processes
            row = db.execute("SELECT next FROM send_pace WHERE sender = ?", (key,)).fetchone()
            now = clock.wall_seconds() if at is None else at
            start = max(row[0] if row else 0.0, now)
            if start - now > max_wait:
                db.execute("ROLLBACK")
                return Slot(start - now, False, start)
            db.execute(
                "INSERT INTO send_pace (sender, next) VALUES (?, ?) "
                "ON CONFLICT (sender) DO UPDATE SET next = excluded.next",
                (key, start + seconds),
            )
            db.execute("COMMIT")
            return Slot(start - now, True, start)
        finally:
            db.close()


# KEYS[1] the schedule; ARGV: seconds reserved, the longest wait granted. Times in microseconds
# of the Redis server's clock, so every host measures against the same one.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if ARGV[3] ~= '' then now = tonumber(ARGV[3]) end
local next = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(next, now)
local wait = start - now
if wait > tonumber(ARGV[2]) then return {wait, 0, start} end
local until_ = start + tonumber(ARGV[1])
redis.call('SET', KEYS[1], until_, 'PX', math.floor((until_ - now) / 1000) + 60000)
return {wait, 1, start}
"""


class RedisStore:
    """Schedules in Redis, for workers on many hosts."""

    def __init__(self, url: str, prefix: str) -> None:
        from redis import Redis

        self.prefix = prefix
        self.redis = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._script = self.redis.register_script(_RESERVE)

    def reserve(
        self, key: str, seconds: float, max_wait: float, now: float | None = None
    ) -> Slot:
        wait, granted, start = self._script(
            keys=[f"{self.prefix}:pace:{key}"],
            args=[
                int(seconds * 1_000_000),
                int(max_wait * 1_000_000),
                "" if now is None else int(now * 1_000_000),
            ],
        )
        return Slot(int(wait) / 1_000_000, bool(int(granted)), int(start) / 1_000_000)


_stores_lock = threading.Lock()


def store() -> Store:
    """The schedule store of this app's queue, made once per app."""
    with _stores_lock:
        found = current_app.extensions.get("survey_pace")
        if found is None:
            found = current_app.extensions["survey_pace"] = _store_for(
                current_app.config["SURVEY_QUEUE_URL"]
            )
        return found


def _store_for(url: str) -> Store:
    parsed = urlparse(url)
    if parsed.scheme in ("redis", "rediss"):
        prefix = parse_qs(parsed.query).get("prefix", ["survey"])[0]
        return RedisStore(url.split("?", 1)[0], prefix)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        return SqliteStore(path)
    return MemoryStore()


RATE_SETTINGS = {"sms": "sms_segments_per_second", "voice": "calls_per_second"}
EMAIL_RATE = "emails_per_second"


def rate_for(survey_channel: str) -> float:
    """Units a second the sender of a survey channel may take (an organisation setting)."""
    return float(settings.get(RATE_SETTINGS.get(survey_channel, EMAIL_RATE)))


def reserve(sender: str, survey_channel: str, cost: int, max_wait: float) -> Slot:
    """Wait for a sender's next ``cost`` units at its configured rate (``queue_for_turn``).

    A rate of 0 means unlimited (the limiter is off).
    """
    rate = rate_for(survey_channel)
    if rate <= 0:
        return Slot(0.0, True)
    return queue_for_turn(store(), sender, SAFETY * cost / rate, max_wait)


def take_turn(schedules: Store, sender: str, seconds: float, max_wait: float) -> Slot:
    """Reserve ``seconds`` of the sender's time and sleep until it is ours; refused past ``max_wait``.

    Two steps, because a process can wake from its sleep late (a busy machine): the
    reservation orders the senders (``queue_for_turn``), and the second schedule, of
    sends actually begun, holds each one back until ``seconds`` after the one before it
    really went (``begin``). Granted, the caller sends at once.
    """
    slot = queue_for_turn(schedules, sender, seconds, max_wait)
    if slot.granted:
        begin(schedules, sender, seconds)
    return slot


def queue_for_turn(schedules: Store, sender: str, seconds: float, max_wait: float) -> Slot:
    """Reserve ``seconds`` of the sender's time and sleep until they start; refused past ``max_wait``."""
    slot = schedules.reserve(sender, seconds, max_wait)
    if slot.granted:
        time.sleep(slot.wait)
    return slot


def begin(schedules: Store, sender: str, seconds: float) -> None:
    """Wait until ``seconds`` after the sender's previous send began, and mark this one begun.

    Called right before the provider is asked, so what happens between a turn and the
    request (a commit that waits for a lock, a late wake-up) cannot bunch requests up.
    """
    while True:
        begun = schedules.reserve(f"{sender}:begun", seconds, 0.0)
        if begun.granted:
            return
        time.sleep(begun.wait)


# A worker waits at most this long for its sender's turn; longer, the invitation waits instead.
MAX_PACE_WAIT = 5.0


def _paced_sender(channel: Channel, survey_channel: str) -> str:
    """The sender whose rate a send on this channel uses up, or "" when nothing is paced."""
    if not current_app.config.get("SURVEY_PACE_SENDS", True):
        return ""
    return channel.sender(current_app.config, survey_channel)


def _cost(survey_channel: str, message: Message) -> int:
    """SMS cost their segments; a call or an e-mail one."""
    cost = segments.count(message.body).segments if survey_channel == "sms" else 1
    return max(cost, 1)


def wait_for_turn(channel: Channel, survey_channel: str, message: Message) -> float | None:
    """Wait for the sender's next turn at its configured rate; None once it is ours.

    Returns how long the sender is busy when that is longer than a worker should wait.
    SMS cost their segments; a call or an e-mail one. The outbox paces nothing. Granted,
    the caller marks its delivery and calls ``begin_turn`` just before the provider.
    """
    sender = _paced_sender(channel, survey_channel)
    if not sender:
        return None
    slot = reserve(sender, survey_channel, _cost(survey_channel, message), MAX_PACE_WAIT)
    return None if slot.granted else slot.wait


def begin_turn(channel: Channel, survey_channel: str, message: Message) -> None:
    """Hold a granted send until a full interval after the sender's last one began (``begin``)."""
    sender = _paced_sender(channel, survey_channel)
    rate = rate_for(survey_channel) if sender else 0.0
    if rate > 0:
        begin(store(), sender, SAFETY * _cost(survey_channel, message) / rate)


def with_validity(invitation: Invitation, message: Message) -> Message:
    """Let an SMS wait in the provider's queue no longer than its link lives, nor the setting."""
    if message.channel != "sms":
        return message
    left = (invitation.expires_at - clock.now()).total_seconds()
    limit = float(settings.get("sms_validity_hours")) * 3600
    return replace(message, valid_for=max(1, int(min(left, limit))))
