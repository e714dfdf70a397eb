"""A survey link's first visit ("opened"), written after the page is sent, a batch at a time.

The first GET of an unanswered link used to write in the request: the guarded UPDATE of
``opened_at``, the funnel rollup's move to "opened" (and its triggers) and a commit, which
on SQLite held the one writer for about a millisecond of every such visit and kept the
page under half a bare endpoint's rate (bench/RESULTS.md). Now the page only notes the
visit here (``note``: the invitation's id, the time by the one clock, and the funnel
record the page read), and each process writes what it noted in one transaction every
``SURVEY_OPENS_INTERVAL`` seconds (default 0.05), or sooner when ``SURVEY_OPENS_BATCH``
visits wait, from a thread of its own started with the first visit it notes (after
gunicorn's fork). A clean stop writes what is left: gunicorn's ``worker_exit`` hook
(scripts/gunicorn.conf.py) and ``atexit`` call ``flush_all``.

The write keeps every guarantee the request's had. Each link is moved by the funnel's
guarded UPDATE (``funnel.mark_opened_on``: only while not opened and its funnel record is
what the page read), so its open counts once; two visits in one batch are one, at the
earlier time. A link the guard refuses (opened or answered meanwhile, never counted, its
record moved) goes the usual way, alone (``funnel.open_link``): its earliest visit is kept
as ``opened_at`` and ``track`` counts what the rows say, so an answer that counted
"opened" first is never counted twice. On SQLite the batch is one transaction (at most
``SURVEY_OPENS_BATCH`` links): every link is moved first, then the rollup rows are added to,
and it takes the writers' turn like any writer (``survey.writers``). On PostgreSQL the
batch is one statement (``funnel.open_links_on``: every link's guarded move, then each rollup
row they reach once, with their summed counts), its own transaction, committed without
waiting for the disk: rollup rows are held for that one statement, never across two hundred
round trips (batches of two hundred statements in one transaction made the answers slower
than main's: bench/RESULTS.md, branch opened-batch). Such a transaction holds several rollup
rows at once, where an answer holds one, so it waits at most ``lock_timeout`` (100 ms) for a
row an answer holds and then gives way, kept for the next batch; and the processes' batches
take turns (an advisory lock), so two of them never take the same rows in two orders.

**The trade.** A process that dies without a clean stop (SIGKILL, a crash, the machine)
loses the visits it noted in its last interval: those links stay "not opened" until the
customer visits again, or answers (an answer records "opened", once, with its own time).
A batch the database refuses is kept and tried again with the next one.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask

from survey.extensions import db
from survey.funnel import keeping as funnel
from survey.respond import own_line

_log = logging.getLogger(__name__)
KEY = "survey.respond.opens"
# What a process keeps while the database refuses its batches; beyond, the oldest go.
MOST_KEPT = 100_000


@dataclass(slots=True)
class Open:
    """A first visit waiting to be written: the link's columns the funnel's guarded move reads."""

    id: int
    opened_at: datetime
    funnel_stages: int
    funnel_channel: str | None
    sent_at: datetime | None
    interaction_id: int
    created_at: datetime
    survey_version_id: int


class Opens:
    """One app's first visits noted in this process, and the thread that writes them."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        interval = app.config.get("SURVEY_OPENS_INTERVAL", 0.05)
        # None: no thread, written only by ``flush`` (the tests write when they mean to).
        self.interval = None if interval is None else float(interval)
        self.batch = int(app.config.get("SURVEY_OPENS_BATCH", 200))
        self._reset()

    def _reset(self) -> None:
        """Start empty, with locks of this process's own (after a fork too: ``_after_fork``)."""
        self.lock = threading.Lock()
        self.writing = threading.Lock()  # one batch at a time: the thread's, or a stop's
        self.pending: dict[int, Open] = {}
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.stopping = False

    def note(self, invitation: Any, now: datetime) -> None:
        """Keep a first visit of an open link to be written with the next batch.

        ``invitation`` is a survey page's ``Visit`` or an ``Invitation``: its columns are
        copied now, as the page read them.
        """
        seen = Open(
            invitation.id,
            now,
            invitation.funnel_stages or 0,
            invitation.funnel_channel,
            invitation.sent_at,
            invitation.interaction_id,
            invitation.created_at,
            invitation.survey_version_id,
        )
        with self.lock:
            kept = self.pending.get(seen.id)
            if kept is None or seen.opened_at < kept.opened_at:
                self.pending[seen.id] = seen
            waiting = len(self.pending)
            if self.interval is not None and not self.stopping:
                self._start()
        if waiting >= self.batch:
            self.wake.set()

    def _start(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, name="survey-opens", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        assert self.interval is not None
        while not self.stopping:
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                self.flush()
            except Exception as error:  # noqa: BLE001 - the thread outlives a bad batch; it is kept
                if gave_way(error):
                    _log.info("first visits gave way to an answer; kept for the next batch")
                else:
                    _log.exception("first visits not written; kept for the next batch")

    def flush(self) -> int:
        """Write every visit noted so far; return how many links it counted as opened.

        What the database refuses is kept for the next batch (and the error raised).
        """
        with self.writing:
            with self.lock:
                batch, self.pending = self.pending, {}
            if not batch:
                return 0
            # At most ``batch`` links a transaction: a transaction holds the rollup rows it
            # added to until its commit, and an answer of another link waits for them.
            left = sorted(batch.values(), key=lambda seen: seen.id)
            counted = 0
            try:
                with self.app.app_context():
                    while left:
                        counted += write(left[: self.batch], self._keep)
                        left = left[self.batch :]
            except Exception:
                self._keep(left)
                raise
            return counted

    def _keep(self, unwritten: Any) -> None:
        """Put visits back for the next batch (the earlier of two visits of a link stays)."""
        with self.lock:
            for seen in unwritten:
                kept = self.pending.get(seen.id)
                if kept is None or seen.opened_at < kept.opened_at:
                    self.pending[seen.id] = seen
            while len(self.pending) > MOST_KEPT:
                dropped = self.pending.pop(next(iter(self.pending)))
                _log.warning("first visit of invitation %s not kept: too many waiting", dropped.id)

    def stop(self) -> None:
        """Stop the thread and write what is left (a clean stop of the process)."""
        with self.lock:
            self.stopping = True
            thread = self.thread
        self.wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - stopping anyway: say what is lost
            _log.exception("first visits lost at shutdown (recorded at the next visit or answer)")

    def waiting(self) -> int:
        """How many links' first visits wait to be written."""
        with self.lock:
            return len(self.pending)


def gave_way(error: BaseException) -> bool:
    """Whether a batch stopped at its ``lock_timeout`` (PostgreSQL's lock_not_available):
    an answer held a rollup row it needed, as expected under load, not a fault."""
    seen: BaseException | None = error
    while seen is not None:
        if getattr(seen, "sqlstate", None) == "55P03":
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def write(batch: list[Open], keep: Any = None) -> int:
    """Write first visits; those the guard refuses, each the usual way.

    Inside an app context, on this thread's kept connection (``own_line``) with the first
    step's own statements, prepared once: on SQLite one transaction (``_in_one``), on
    PostgreSQL one statement (``_in_one_statement``; see the module's docstring). ``keep``
    takes back what a later transaction could not write.
    """
    line = own_line.connection()
    try:
        if line.autocommit:
            counted, refused = _in_one_statement(line, batch)
        else:
            counted, refused = _in_one(line, batch)
    except BaseException:
        line.drop()  # a fresh connection for the next batch
        raise
    for seen in refused:
        # Opened or answered meanwhile, or its record moved: alone, as the page's usual way.
        try:
            counted += funnel.open_link(seen, seen.opened_at)
            db.session.commit()
        except Exception:
            db.session.rollback()
            if keep is None:
                raise
            _log.exception("first visit of invitation %s not written; kept", seen.id)
            keep([seen])
    return counted


def _in_one(line: own_line.Line, batch: list[Open]) -> tuple[int, list[Open]]:
    """SQLite: the batch in one transaction, every link moved first (in id order), then the
    rollup rows added to (in their key's order), with the writers' turn held throughout."""
    counted = 0
    refused: list[Open] = []
    moved: list[tuple[Open, str, tuple[str, ...]]] = []
    for seen in sorted(batch, key=lambda seen: seen.id):
        channel = seen.funnel_channel
        added = funnel.mark_opened_on(line, seen, seen.opened_at)
        if added is None:
            refused.append(seen)
        elif added:
            assert channel is not None
            moved.append((seen, channel, added))
        counted += added is not None
    for seen, channel, added in sorted(moved, key=lambda m: _row_order(m[0], m[1])):
        funnel.add_to_invitations_row(seen, channel, added, line)
    line.commit()
    return counted, refused


# PostgreSQL: one process's batch at a time, so two batches never take the same rollup rows
# in two orders (a batch waits for the other's turn, holding nothing yet); then a batch waits
# this long at most for a row an answer holds and gives way (it is kept and tried again), so
# an answer never waits on a batch that waits on it.
_BATCH_FIRST = (
    "SELECT pg_advisory_xact_lock(1870512393)",  # the opens' own key: any constant of ours
    "SET LOCAL lock_timeout TO '100ms'",
)


def _in_one_statement(line: own_line.Line, batch: list[Open]) -> tuple[int, list[Open]]:
    """PostgreSQL: the batch's first visits one statement (``funnel.open_links_on``), its
    own transaction, committed without waiting for the disk."""
    with line.unflushed(*_BATCH_FIRST):
        opened = funnel.open_links_on(line, batch)
    refused = [seen for seen in batch if seen.id not in opened]
    return len(opened), refused


def _row_order(seen: Open, channel: str) -> tuple:
    key = funnel.rollup_key(seen, channel)
    return (key["key_day"], channel, key["version_id"], key["key_interaction_id"])


# Every app's first visits in this process, for ``flush_all`` (a test process makes many apps).
_all: weakref.WeakSet[Opens] = weakref.WeakSet()


def init_app(app: Flask) -> Opens:
    """Give the app its first visits' batch (written from its own thread once one is noted)."""
    opens = Opens(app)
    app.extensions[KEY] = opens
    _all.add(opens)
    return opens


def of(app: Flask) -> Opens:
    """The app's first visits' batch."""
    return app.extensions[KEY]


def note(app: Flask, invitation: Any, now: datetime) -> None:
    """Note a link's first visit, to be written with the app's next batch."""
    of(app).note(invitation, now)


def flush(app: Flask) -> int:
    """Write the app's noted first visits now; return how many links it counted as opened."""
    return of(app).flush()


def flush_all() -> None:
    """Stop every app's thread in this process and write what each noted (a clean stop)."""
    for opens in list(_all):
        opens.stop()


def forget(app: Flask) -> None:
    """Drop what the app noted and was not written (a test's app, its tables emptied)."""
    opens = app.extensions.get(KEY)
    if opens is not None:
        with opens.lock:
            opens.stopping = True
            opens.pending.clear()
        opens.wake.set()
        _all.discard(opens)


def _after_fork() -> None:
    # A lock another thread held at the fork would stay held in the child: start afresh.
    for opens in list(_all):
        opens._reset()


atexit.register(flush_all)
os.register_at_fork(after_in_child=_after_fork)
