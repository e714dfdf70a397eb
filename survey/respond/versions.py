"""The questions and choices of published survey versions, read once per process.

A published version never changes (DESIGN.md: every response points at the version
it answered), so its structure can be kept by version id: the survey page then reads
only the invitation, its response and its answers. The cache holds detached copies,
shared by every request of the process, read as immutable data: the pages take the
questions and choices from ``questions`` and never put them in a session.

An invitation still needs its ``version`` for the code that reads it (the title, the
funnel's survey id): ``attach`` gives it a copy of the version's own columns in the
request's session (``light_copy``, no statement, no questions: those would load if
asked for); ``attach_whole`` merges the whole version with its questions and choices
(``merge(load=False)``, no statement but a dozen objects' worth of work), for the
code an answer runs that reaches questions through the session (answers, rollups,
follow-ups). Bounded: the least recently used versions leave first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from survey.extensions import db
from survey.models import Choice, Invitation, Question, SurveyVersion

MAX_VERSIONS = 256


class _Kept(NamedTuple):
    version: SurveyVersion
    asked_on_the_web: list[Question]
    by_id: dict[int, Question]  # every question, asked on the web or not
    choices: dict[int, Choice]  # every question's choices, by id


# By database and version id: one process may serve two databases (the tests do).
_cache: OrderedDict[tuple[str, int], _Kept] = OrderedDict()
_lock = threading.Lock()
_COLUMNS = tuple(column.key for column in sa.inspect(SurveyVersion).column_attrs)


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


_names: dict[int, str] = {}


def database_name() -> str:
    """The app's database URL as a string, worked out once per engine (rendering it costs)."""
    engine = db.engine
    name = _names.get(id(engine))
    if name is None:
        name = _names[id(engine)] = str(engine.url)
    return name


def _kept(version_id: int) -> _Kept | None:
    key = (database_name(), version_id)
    with _lock:
        kept = _cache.get(key)
        if kept is not None:
            _cache.move_to_end(key)
            return kept
    version = _read(version_id)
    if version is None:
        return None
    kept = _Kept(
        version,
        [q for q in version.questions if q.ask_web],
        {q.id: q for q in version.questions},
        {c.id: c for q in version.questions for c in q.choices},
    )
    with _lock:
        _cache[key] = kept
        _cache.move_to_end(key)
        while len(_cache) > MAX_VERSIONS:
            _cache.popitem(last=False)
    return kept


def cached(version_id: int) -> SurveyVersion | None:
    """Return the detached, fully loaded version (read on first use), or None for a draft."""
    kept = _kept(version_id)
    return None if kept is None else kept.version


def questions(invitation: Invitation) -> list[Question]:
    """Return the questions the invitation's version asks on the web, in order.

    From the cache for a published version (shared: read them, never change or attach
    them); a draft's from the invitation's own version.
    """
    kept = _kept(invitation.survey_version_id)
    if kept is None:
        return [q for q in invitation.version.questions if q.ask_web]
    return kept.asked_on_the_web


def lookup(invitation: Invitation) -> tuple[dict[int, Question], dict[int, Choice]] | None:
    """Return the published version's questions and choices by id, or None for a draft."""
    kept = _kept(invitation.survey_version_id)
    return None if kept is None else (kept.by_id, kept.choices)


def attach(invitation: Invitation) -> None:
    """Give the invitation a copy of its published version's columns, without a statement."""
    version = cached(invitation.survey_version_id)
    if version is None:
        return  # not published: the invitation loads it the usual way
    set_committed_value(invitation, "version", light_copy(version))


def light_copy(version: SurveyVersion) -> SurveyVersion:
    """The version's columns as an object of this request's session (its questions not loaded).

    The session's own object when it has one already; else a new one, persistent as if
    loaded (``make_transient_to_detached``), so nothing is written and its questions,
    if some code asks for them, load as usual.
    """
    session = db.session()
    key = sa.inspect(SurveyVersion).identity_key_from_primary_key((version.id,))
    mine = session.identity_map.get(key)
    if mine is None:
        mine = SurveyVersion(**{name: getattr(version, name) for name in _COLUMNS})
        make_transient_to_detached(mine)
        session.add(mine)
    return mine


def attach_whole(invitation: Invitation) -> None:
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
        _names.clear()
