"""Copies a process keeps of what every post reads alike: settings, dispatch rules, organisation.

Each is kept under the database's config stamp (survey.models.stamp), read once a
request before any of them: a copy made under another stamp is dropped and read again.
The stamp moves in the transaction that changes any of the tables the copies are made
of, so a change committed by any process is seen by the next post that reads the stamp
after it; a copy read after the stamp can only be newer than it (then the next read of
the stamp drops it). Without a stamp row (a database whose tables were emptied by hand)
nothing is kept: every read goes to the database, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm
from flask import g, has_app_context

from survey import prepared
from survey.extensions import db

T = TypeVar("T")

_STAMP = sa.text("SELECT stamp FROM config_stamp WHERE id = 1")
# Entries a kind may hold before it is emptied (organisation codes are many, rules few).
MOST = 10_000

# Per database (tests and benches run several apps in one process): the stamp the copies
# were made under, and the copies by kind, each a dict of key -> value.
_kept: dict[str, tuple[str, dict[str, dict[Any, Any]]]] = {}
_lock = threading.Lock()


# The stamp as a column of another statement: a staff request reads it with the signed-in
# user (survey.auth.service.load_user) and gives it to ``read_with`` (one round trip, not two).
STAMP_COLUMN = (
    sa.select(sa.column("stamp"))
    .select_from(sa.table("config_stamp"))
    .where(sa.column("id") == 1)
    .scalar_subquery()
)


def read_with(value: str | None) -> None:
    """Take the stamp another statement of this request read (``STAMP_COLUMN``) as this request's.

    As good as the request's own read: it is dropped like it at the next flush, commit or
    rollback (which a statement's own autoflush does before it reads).
    """
    if has_app_context():
        g._config_stamp = (value, str(db.engine.url))


def stamp() -> str | None:
    """The database's stamp, read once a request (None: nothing may be kept)."""
    return _current()[0]


def _current() -> tuple[str | None, str]:
    """The stamp, and which database it is of, read once a request (until a flush or commit)."""
    found = g.get("_config_stamp") if has_app_context() else None
    if found is None:
        rows = prepared.run_on(db.session.connection(), _STAMP, {}).rows
        found = (rows[0][0] if rows else None, str(db.engine.url))
        if has_app_context():
            g._config_stamp = found
    return found


def kept(kind: str, key: Any, load: Callable[[], T]) -> T:
    """Return the copy of ``kind``/``key`` kept under the current stamp, loading it if need be.

    ``load`` must read only the watched tables (survey.models.stamp.WATCHED) and return
    a value nobody changes.
    """
    current, url = _current()
    if current is None or _changing_watched():
        return load()
    with _lock:
        entry = _kept.get(url)
        if entry is None or entry[0] != current:
            entry = _kept[url] = (current, {})
        copies = entry[1].setdefault(kind, {})
        if key in copies:
            return copies[key]
    value = load()
    with _lock:
        if len(copies) >= MOST:
            copies.clear()
        copies[key] = value
    return value


def _changing_watched() -> bool:
    """Whether this session holds changes to the watched tables it has not written yet."""
    from survey.models.stamp import WATCHED

    session = db.session()
    for changed in (session.new, session.deleted, session.dirty):
        for row in changed:
            if getattr(row, "__tablename__", None) in WATCHED:
                return True
    return False


def forget() -> None:
    """Drop every copy this process keeps, and this request's stamp."""
    with _lock:
        _kept.clear()
    if has_app_context():
        g.pop("_config_stamp", None)


# What a request reads once and keeps in ``g`` until its session writes, commits or rolls
# back: the stamp, and what other modules name (``read_until_write``).
_READ_UNTIL_WRITE = ["_config_stamp"]


def read_until_write(name: str) -> None:
    """Have ``g.<name>`` dropped as the stamp is, at the session's next flush, commit or rollback."""
    if name not in _READ_UNTIL_WRITE:
        _READ_UNTIL_WRITE.append(name)


@sa.event.listens_for(sa.orm.Session, "after_flush")
@sa.event.listens_for(sa.orm.Session, "after_commit")
@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _read_again(*_args: Any) -> None:
    # What this context writes or commits may move the stamp (its own change of a rule,
    # or a commit after which others' changes are visible): the next copy asks again.
    if has_app_context():
        for name in _READ_UNTIL_WRITE:
            g.pop(name, None)
