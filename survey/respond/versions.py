"""The questions and choices of published survey versions, read once per process.

A published version never changes (DESIGN.md: every response points at the version
it answered), so its structure can be kept by version id: the survey page then reads
only the invitation, its response and its answers. The cache holds detached copies,
shared by every request of the process; each request merges them into its own
session without a statement (``merge(load=False)``), so nothing a request changes or
lazily loads ever touches another request's objects. Bounded: the least recently
used versions leave first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from survey.extensions import db
from survey.models import Invitation, Question, SurveyVersion

MAX_VERSIONS = 256

# By database and version id: one process may serve two databases (the tests do).
_cache: OrderedDict[tuple[str, int], SurveyVersion] = OrderedDict()
_lock = threading.Lock()


def _read(version_id: int) -> SurveyVersion | None:
    """Read a version with its questions and choices in a session of its own, then detach it."""
    with Session(db.engine) as session:
        version = session.scalar(
            sa.select(SurveyVersion)
            .where(SurveyVersion.id == version_id)
            .options(selectinload(SurveyVersion.questions).selectinload(Question.choices))
        )
        if version is None or version.published_at is None:
            return None  # a draft can still change: never kept
        session.expunge_all()
    return version


def cached(version_id: int) -> SurveyVersion | None:
    """Return the detached, fully loaded version (read on first use), or None for a draft."""
    key = (str(db.engine.url), version_id)
    with _lock:
        version = _cache.get(key)
        if version is not None:
            _cache.move_to_end(key)
            return version
    version = _read(version_id)
    if version is None:
        return None
    with _lock:
        _cache[key] = version
        _cache.move_to_end(key)
        while len(_cache) > MAX_VERSIONS:
            _cache.popitem(last=False)
    return version


def attach(invitation: Invitation) -> None:
    """Give the invitation its version's questions and choices from the cache, no statement."""
    version = cached(invitation.survey_version_id)
    if version is None:
        return  # not published: the invitation loads it the usual way
    mine = db.session.merge(version, load=False)
    set_committed_value(invitation, "version", mine)


def forget() -> None:
    """Empty the cache: the database was emptied under this process (the tests do, between tests)."""
    with _lock:
        _cache.clear()
