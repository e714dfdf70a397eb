"""The provider's pace: at most R units in any one second per sender, across every worker.

Each sender (a Twilio number or messaging service, the voice account, the SMTP
account) has two records. Its queue, the instant its next turn starts: a send of
``cost`` units reserves an even share of a second and a small guard (``spacing``: at
R = 50, one three-segment SMS every 63 ms), so workers wait their turn in order,
evenly, never in bursts, and a turn further off than a worker waits is left for later.
And its log of sends begun: right before the provider is asked, a send of ``cost``
units is let begin only when the units begun in the last second and its own are at
most R (a sliding log: exact, whatever the mix of costs); a send costing more than
R goes alone in a second of its own. SMS cost their segments, the same count the
designer shows; a call or an e-mail costs one. Below one unit a second, the window
is 1 / R seconds and holds one unit.

Both live where every worker sees them: in Redis when the queue is on Redis (one
atomic script each, timed by the Redis server's own clock, so hosts need not agree
on the time; the log a sorted set), else in the SQLite queue file all local
processes share (``BEGIN IMMEDIATE`` makes each reservation and grant atomic), else
(the tests' memory queue) in this process.
"""

from __future__ import annotations

import math
import os
import secrets
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import parse_qs, urlparse

from flask import current_app

from survey import clock, settings
from survey.channels import segments
from survey.channels.base import Channel, Message
from survey.models import Invitation

# The window a grant is judged in, and the span of the turns that fill it, is this much longer
# than the second (or 1 / R) it stands for: what a send may drift between its grant and its
# arrival at the provider (a thread switch, a write on a kept-alive connection) then cannot
# put R + 1 units into one second. 8 ms keeps 16 three-segment SMS a second at R = 50 above
# 95 % of R (48 / 1.008 = 47.6 segments/s).
GUARD = 0.008

MICROS = 1_000_000


@dataclass(frozen=True)
class Slot:
    """A grant: wait this long, then send; or, not granted, come back after ``wait``."""

    wait: float
    granted: bool
    at: float = 0.0  # the instant on the store's clock (seconds) the turn starts


def window_for(rate: float) -> tuple[float, float]:
    """The units a sender may begin in one window, and the window's length in seconds.

    One second and R units; below one unit a second (R = 0.1), one unit in 1 / R seconds.
    """
    seconds = max(1.0, 1.0 / rate)
    return rate * seconds, seconds + GUARD


def earliest(log: list[tuple[int, int]], now: int, cost: int, limit: float, window: int) -> int:
    """The first instant (µs) ≥ ``now`` and ≥ the last grant when ``cost`` more units fit.

    ``log`` is the sender's grants, (instant µs, units), oldest first. ``cost`` fits at t
    when the units granted in (t − window, t] and ``cost`` are at most ``limit``, or when
    nothing else is in that window (a cost above the limit goes alone, never blocks).
    Grants never go back in time, so no later grant is ever in a new one's window.
    """
    start = max(now, log[-1][0]) if log else now
    inside = [(at, units) for at, units in log if at > start - window]
    total = sum(units for _, units in inside)
    for at, units in inside:
        if total == 0 or total + cost <= limit:
            break
        total -= units
        start = at + window  # the oldest grant has left the window
    return start


class Store(Protocol):
    def reserve(self, key: str, seconds: float, max_wait: float, now: float | None = None) -> Slot:
        """Reserve ``seconds`` of the sender's schedule, starting no later than ``max_wait``."""
        ...

    def grant(
        self,
        key: str,
        cost: int,
        limit: float,
        window: float,
        max_wait: float,
        now: float | None = None,
    ) -> Slot:
        """Grant ``cost`` units at the ``earliest`` instant they fit, if no later than ``max_wait``."""
        ...


def grant(
    schedules: Store, key: str, cost: int, rate: float, max_wait: float, now: float | None = None
) -> Slot:
    """Let ``cost`` units of a sender at ``rate`` begin: never more than R in any one second."""
    limit, window = window_for(rate)
    return schedules.grant(key, cost, limit, window, max_wait, now)


class MemoryStore:
    """One process's schedules (the tests' memory queue)."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}
        self._logs: dict[str, list[tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, seconds: float, max_wait: float, now: float | None = None) -> Slot:
        with self._lock:
            now = clock.wall_seconds() if now is None else now
            start = max(self._next.get(key, 0.0), now)
            if start - now > max_wait:
                return Slot(start - now, False, start)
            self._next[key] = start + seconds
            return Slot(start - now, True, start)

    def grant(
        self,
        key: str,
        cost: int,
        limit: float,
        window: float,
        max_wait: float,
        now: float | None = None,
    ) -> Slot:
        span = round(window * MICROS)
        with self._lock:
            at = round((clock.wall_seconds() if now is None else now) * MICROS)
            log = [entry for entry in self._logs.get(key, []) if entry[0] > at - span]
            start = earliest(log, at, cost, limit, span)
            wait = (start - at) / MICROS
            if wait > max_wait:
                self._logs[key] = log
                return Slot(wait, False, start / MICROS)
            self._logs[key] = [*log, (start, cost)]
            return Slot(wait, True, start / MICROS)


class SqliteStore:
    """Schedules in a SQLite file every process on the host opens (the queue's)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        with closing(self._open()) as db:
            db.execute("PRAGMA journal_mode=WAL")  # as the queue itself has it
            db.execute("CREATE TABLE IF NOT EXISTS send_pace (sender TEXT PRIMARY KEY, next REAL)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS send_log "
                "(sender TEXT NOT NULL, at INTEGER NOT NULL, cost INTEGER NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS send_log_sender_at ON send_log (sender, at)")

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        # No fsync at each commit (WAL): a grant's instant is read inside its transaction,
        # so a commit that waits for the disk would hold its send back past that instant.
        # A power cut loses at most the last second of the pace, which then restarts empty.
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection, kept open (closing the last one checkpoints the file)."""
        found = getattr(self._local, "db", None)
        if found is None or self._local.pid != os.getpid():
            found = self._local.db = self._open()
            self._local.pid = os.getpid()
        return found

    def reserve(self, key: str, seconds: float, max_wait: float, now: float | None = None) -> Slot:
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
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def grant(
        self,
        key: str,
        cost: int,
        limit: float,
        window: float,
        max_wait: float,
        now: float | None = None,
    ) -> Slot:
        span = round(window * MICROS)
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")  # one grant at a time, across processes
            at = round((clock.wall_seconds() if now is None else now) * MICROS)
            db.execute("DELETE FROM send_log WHERE sender = ? AND at <= ?", (key, at - span))
            log = db.execute(
                "SELECT at, cost FROM send_log WHERE sender = ? ORDER BY at", (key,)
            ).fetchall()
            start = earliest(log, at, cost, limit, span)
            wait = (start - at) / MICROS
            if wait > max_wait:
                db.execute("COMMIT")  # the pruning only
                return Slot(wait, False, start / MICROS)
            db.execute(
                "INSERT INTO send_log (sender, at, cost) VALUES (?, ?, ?)", (key, start, cost)
            )
            db.execute("COMMIT")
            return Slot(wait, True, start / MICROS)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


# KEYS[1] the schedule; ARGV: seconds reserved, the longest wait granted, the instant (tests;
# empty: now). Times in microseconds of the Redis server's clock, so every host measures
# against the same one.
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

# KEYS[1] the sender's log, a sorted set of "units:id" scored by the instant granted (µs);
# ARGV: units, limit, window (µs), the longest wait granted (µs), the instant (tests; empty:
# the server's clock), a unique id. The same reckoning as ``earliest``.
_GRANT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if ARGV[5] ~= '' then now = tonumber(ARGV[5]) end
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local log = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local start = now
local n = #log / 2
if n > 0 then start = math.max(now, tonumber(log[2 * n])) end
local total = 0
local first = n + 1
for i = n, 1, -1 do
  local at = tonumber(log[2 * i])
  if at <= start - window then break end
  total = total + tonumber(string.match(log[2 * i - 1], '^(%d+):'))
  first = i
end
for i = first, n do
  if total == 0 or total + cost <= limit then break end
  total = total - tonumber(string.match(log[2 * i - 1], '^(%d+):'))
  start = tonumber(log[2 * i]) + window
end
local wait = start - now
if wait > tonumber(ARGV[4]) then return {wait, 0, start} end
redis.call('ZADD', KEYS[1], start, cost .. ':' .. ARGV[6])
redis.call('PEXPIRE', KEYS[1], math.floor((start - now + window) / 1000) + 60000)
return {wait, 1, start}
"""


class RedisStore:
    """Schedules in Redis, for workers on many hosts."""

    def __init__(self, url: str, prefix: str) -> None:
        from redis import Redis

        self.prefix = prefix
        self.redis = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._script = self.redis.register_script(_RESERVE)
        self._grant = self.redis.register_script(_GRANT)

    def reserve(self, key: str, seconds: float, max_wait: float, now: float | None = None) -> Slot:
        wait, granted, start = self._script(
            keys=[f"{self.prefix}:pace:{key}"],
            args=[
                int(seconds * MICROS),
                int(max_wait * MICROS),
                "" if now is None else round(now * MICROS),
            ],
        )
        return Slot(int(wait) / MICROS, bool(int(granted)), int(start) / MICROS)

    def grant(
        self,
        key: str,
        cost: int,
        limit: float,
        window: float,
        max_wait: float,
        now: float | None = None,
    ) -> Slot:
        wait, granted, start = self._grant(
            keys=[f"{self.prefix}:pace:{key}:log"],
            args=[
                cost,
                repr(float(limit)),
                round(window * MICROS),
                int(max_wait * MICROS),
                "" if now is None else round(now * MICROS),
                secrets.token_hex(8),
            ],
        )
        return Slot(int(wait) / MICROS, bool(int(granted)), int(start) / MICROS)


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


def spacing(cost: int, rate: float) -> float:
    """Seconds of the sender's queue a turn of ``cost`` units takes: turns spread evenly.

    As many whole sends of ``cost`` as fit in the window share it equally (at R = 50, sixteen
    three-segment SMS: one every 63 ms), so any R + 1 units in a row span the window and
    its guard: not cost / R apart in bursts that only the sliding log breaks up, where the
    first and the (R / cost + 1)th are a hair more than a second apart.
    """
    limit, window = window_for(rate)
    fit = math.floor(limit / cost)
    # A send dearer than the window holds goes alone (``earliest``): its turn is as many
    # windows as its units need, so the long-run rate stays R (two-segment SMS at R = 1:
    # one every two seconds).
    return window / fit if fit else cost * window / limit


def reserve(sender: str, survey_channel: str, cost: int, max_wait: float) -> Slot:
    """Reserve a sender's next ``cost`` units at its configured rate; the caller waits for it.

    A rate of 0 means unlimited (the limiter is off).
    """
    rate = rate_for(survey_channel)
    if rate <= 0:
        return Slot(0.0, True)
    return store().reserve(sender, spacing(cost, rate), max_wait)


def take_turn(schedules: Store, sender: str, cost: int, rate: float, max_wait: float) -> Slot:
    """Queue for ``cost`` units of the sender's time, then begin; refused past ``max_wait``.

    Two steps, because a process can wake from its sleep late (a busy machine): the
    queue orders the senders and spreads them out (``queue_for_turn``), and the log of
    sends actually begun lets one begin only when no one-second window then holds more
    than R units (``begin``). Granted, the caller sends at once.
    """
    slot = queue_for_turn(schedules, sender, spacing(cost, rate), max_wait)
    if slot.granted:
        begin(schedules, sender, cost, rate)
    return slot


def queue_for_turn(schedules: Store, sender: str, seconds: float, max_wait: float) -> Slot:
    """Reserve ``seconds`` of the sender's time and sleep until they start; refused past ``max_wait``."""
    slot = schedules.reserve(sender, seconds, max_wait)
    if slot.granted:
        time.sleep(slot.wait)
    return slot


def begin(schedules: Store, sender: str, cost: int, rate: float) -> Slot:
    """Wait until ``cost`` more units fit in the sender's last second, and log them begun.

    Called right before the provider is asked, and granted only for the present instant
    (never one ahead, which a late wake-up would miss): what happens between a turn and
    the request (a commit that waits for a lock, a late wake-up) cannot bunch requests up.
    """
    while True:
        begun = grant(schedules, f"{sender}:begun", cost, rate, 0.0)
        if begun.granted:
            return begun
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


@dataclass(frozen=True)
class Turn:
    """A send's place in its sender's queue: when it may begin, or how long the sender is busy."""

    sender: str = ""
    cost: int = 0
    rate: float = 0.0
    starts: float = 0.0  # on time.monotonic()
    busy_for: float | None = None  # not granted: the sender's rate is spoken for this long


FREE = Turn()  # nothing paced: the outbox, or the limiter off


def reserve_turn(channel: Channel, survey_channel: str, message: Message) -> Turn:
    """Take the sender's next turn at its configured rate, without waiting for it yet.

    The caller marks its delivery meanwhile and calls ``begin_turn`` just before the
    provider: the marking's commit then happens while the turn is awaited, not between
    the turn and the request, where its time would bunch sends up. SMS cost their
    segments; a call or an e-mail one. The outbox paces nothing. A turn further off than
    a worker should wait is not taken: ``busy_for`` says for how long the sender is busy.
    """
    sender = _paced_sender(channel, survey_channel)
    if not sender:
        return FREE
    rate = rate_for(survey_channel)
    if rate <= 0:
        return FREE
    cost = _cost(survey_channel, message)
    slot = reserve(sender, survey_channel, cost, MAX_PACE_WAIT)
    if not slot.granted:
        return Turn(busy_for=slot.wait)
    return Turn(sender, cost, rate, time.monotonic() + slot.wait)


def begin_turn(turn: Turn) -> None:
    """Wait for a reserved turn, then until its units fit in the sender's last second (``begin``)."""
    if turn.rate <= 0:
        return
    time.sleep(max(0.0, turn.starts - time.monotonic()))
    begin(store(), turn.sender, turn.cost, turn.rate)


def with_validity(invitation: Invitation, message: Message) -> Message:
    """Let an SMS wait in the provider's queue no longer than its link lives, nor the setting."""
    if message.channel != "sms":
        return message
    left = (invitation.expires_at - clock.now()).total_seconds()
    limit = float(settings.get("sms_validity_hours")) * 3600
    return replace(message, valid_for=max(1, int(min(left, limit))))
