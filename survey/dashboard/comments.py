"""The comments browser's queries: free-text answers in the dashboards' filters, searched, paged.

A comment is an answer to a ``text`` question of a counted response, on the bank's days
and in the segments of the dashboards' filters (the same conditions as the responses
export, survey/exports/tables.py).

Search. Chinese has no spaces between words, so a customer's "太慢了" must be found by
"慢" and "太慢": a word index (or a trigram index, which needs three characters) cannot
find one- and two-character words. Search is therefore a substring match (``LIKE`` with
the query's ``%`` and ``_`` taken literally; case-insensitive for English) over a bounded
window: the newest ``WINDOW`` comments in the filters. The window makes every search cost
the same, whatever the database holds and whatever the query's length, on SQLite and
PostgreSQL alike (bench/comments.py: 1,000,000 comments); the page says how many comments
were searched and how to reach older ones (narrow the dates or the segment). Sorting by
the lowest overall score reads the same window.

Paging is keyset (by the sort's columns and the answer id), never OFFSET: the next page
starts after the last row of this one, at the same cost on page 1 and page 5,000.

Masking: search matches what the viewer sees. A comment found only inside a masked
number or address ("138001" inside a masked phone) is not shown, so the search box
cannot be used to test whether a card or phone number appears in a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from survey import masking
from survey.exports.tables import counted_in, segment_conditions
from survey.extensions import db
from survey.models import (
    Agent,
    Answer,
    BusinessLine,
    Interaction,
    Invitation,
    Question,
    Response,
    Survey,
    SurveyVersion,
    Team,
)
from survey.orm import UTCDateTime
from survey.scoring.queries import ScoreQuery

# Comments a search or the lowest-first order reads: the newest this many in the filters.
WINDOW = 100_000
PAGE_SIZE = 20
MAX_QUERY = 50
SORTS = ("newest", "lowest")
# The page's own URL parameters, besides the dashboards' filters (``sort`` is a common one).
PARAMS = ("q", "after")
# A missing overall score sorts after every real one (scores are 1–5).
NO_SCORE = 99
# Rows read past a page's end in search of rows the viewer may see (see masking above).
MAX_READS = 5
_CURSOR = re.compile(r"(-?[0-9]{1,3})\.([0-9T:.+-]{19,40})\.([0-9]{1,12})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CommentError(ValueError):
    """A comments request that cannot be answered; ``errors`` names each bad parameter."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after this row in the sort's order."""

    overall: int
    counted_at: datetime
    answer_id: int

    def token(self) -> str:
        return f"{self.overall}.{self.counted_at.isoformat()}.{self.answer_id}"


@dataclass(frozen=True)
class CommentSearch:
    """What the browser was asked: the dashboards' query, the words, the order, the page."""

    query: ScoreQuery
    text: str = ""
    sort: str = "newest"
    after: Cursor | None = None
    window: int = WINDOW

    def url_args(self) -> dict[str, str]:
        """The search words and order as URL parameters (an export of the same comments)."""
        args = {"q": self.text, "sort": self.sort}
        return {k: v for k, v in args.items() if v and not (k == "sort" and v == "newest")}

    @property
    def windowed(self) -> bool:
        """Whether this search reads only the newest WINDOW comments."""
        return bool(self.text) or self.sort == "lowest"


@dataclass
class Comment:
    """One comment and what the page shows beside it (text as stored: mask it to show it)."""

    answer_id: int
    response_id: int
    text: str
    answered_at: datetime
    counted_at: datetime
    overall: int | None
    question: str = ""
    survey_name: str = ""
    business_line: str = ""
    team: str = ""
    agent: str = ""
    channel: str = ""
    survey_channel: str = ""
    scores: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CommentPage:
    comments: list[Comment]
    next: Cursor | None
    # Whether the window was full: older comments in the filters were not searched.
    window_full: bool = False


def read(args: dict[str, str], query: ScoreQuery) -> CommentSearch:
    """Read the search words, order and page from a URL; raise CommentError naming bad ones."""
    errors: list[dict[str, str]] = []
    text = _CONTROL.sub(" ", args.get("q", "")).strip()
    if len(text) > MAX_QUERY:
        errors.append(
            {"field": "q", "message": _("Search for at most %(n)s characters.", n=MAX_QUERY)}
        )
    sort = args.get("sort") or "newest"
    if sort not in SORTS:
        errors.append({"field": "sort", "message": _("Unknown order.")})
    after = None
    if args.get("after"):
        after = _cursor(args["after"])
        if after is None:
            errors.append(
                {
                    "field": "after",
                    "message": _("This page's link is out of date: start from the first page."),
                }
            )
    if errors:
        raise CommentError(errors)
    return CommentSearch(query=query, text=text, sort=sort, after=after)


def _cursor(token: str) -> Cursor | None:
    match = _CURSOR.fullmatch(token)
    if match is None:
        return None
    try:
        at = datetime.fromisoformat(match.group(2))
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return Cursor(int(match.group(1)), at, int(match.group(3)))


def _overall() -> sa.ScalarSelect[Any]:
    """A response's overall score: its 5-point answer on the overall dimension."""
    rated = sa.orm.aliased(Answer)
    asked = sa.orm.aliased(Question)
    return (
        sa.select(rated.value_int)
        .join(asked, rated.question_id == asked.id)
        .where(
            rated.response_id == Response.id,
            asked.dimension == "overall",
            asked.kind == "rating_5",
        )
        .limit(1)
        .scalar_subquery()
    )


def _comments(query: ScoreQuery, lean: bool = False) -> sa.Select[Any]:
    """Every comment in the query's days and segments, newest first, with its sort keys.

    ``lean``: the answer ids alone, for counting past the window.
    """
    text_questions = sa.select(Question.id).where(Question.kind == "text")
    columns = (
        [Answer.id]
        if lean
        else [
            Answer.id.label("answer_id"),
            Answer.value_text.label("text"),
            Response.counted_at.label("counted_at"),
            sa.func.coalesce(_overall(), NO_SCORE).label("overall"),
        ]
    )
    return (
        sa.select(*columns)
        .select_from(Answer)
        .join(Response, Answer.response_id == Response.id)
        .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
        .join(Invitation, Response.invitation_id == Invitation.id)
        .join(Interaction, Invitation.interaction_id == Interaction.id)
        .where(
            Answer.question_id.in_(text_questions),
            Answer.value_text.is_not(None),
            Answer.value_text != "",
            *counted_in(query),
            *segment_conditions(query),
        )
        .order_by(Response.counted_at.desc(), Answer.id.desc())
    )


def _after(columns: Any, sort: str, after: Cursor) -> sa.ColumnElement[bool]:
    """Rows after the cursor in the page's order (newest first; lowest overall first)."""
    at = sa.literal(after.counted_at, UTCDateTime())
    newer_first = sa.or_(
        columns.counted_at < at,
        sa.and_(columns.counted_at == at, columns.answer_id < after.answer_id),
    )
    if sort == "newest":
        return newer_first
    return sa.or_(
        columns.overall > after.overall,
        sa.and_(columns.overall == after.overall, newer_first),
    )


def _ordered(columns: Any, sort: str) -> list[Any]:
    newest = [columns.counted_at.desc(), columns.answer_id.desc()]
    return newest if sort == "newest" else [columns.overall.asc(), *newest]


def _rows(search: CommentSearch, limit: int, after: Cursor | None) -> list[Any]:
    """Read up to ``limit`` rows of the search's order after a cursor."""
    found = _comments(search.query)
    if not search.windowed:
        inner = found.subquery("comments")
    else:
        inner = found.limit(search.window).subquery("window")
    statement = sa.select(inner)
    if search.text:
        statement = statement.where(inner.c.text.icontains(search.text, autoescape=True))
    if after is not None:
        statement = statement.where(_after(inner.c, search.sort, after))
    return db.session.execute(
        statement.order_by(*_ordered(inner.c, search.sort)).limit(limit)
    ).all()


def _visible(text: str, words: str, unmasked: bool) -> bool:
    """Whether the words are in the comment as this viewer sees it."""
    shown = masking.for_viewer(text, unmasked) or ""
    return not words or words.casefold() in shown.casefold()


def page(search: CommentSearch, size: int = PAGE_SIZE, unmasked: bool = False) -> CommentPage:
    """Return one page of comments in the search's order, with the cursor of the next."""
    kept: list[Any] = []
    after = search.after
    exhausted = False
    for _read in range(MAX_READS):
        found = _rows(search, size + 1, after)
        exhausted = len(found) <= size
        for row in found:
            if _visible(row.text, search.text, unmasked):
                kept.append(row)
                if len(kept) > size:
                    break
        if len(kept) > size or exhausted:
            break
        after = _cursor_of(found[-1])
    next_cursor = None
    if len(kept) > size:
        kept = kept[:size]
        next_cursor = _cursor_of(kept[-1])
    elif not exhausted:
        next_cursor = after  # rows were read but none shown: the next page goes on from there
    window_full = search.windowed and next_cursor is None and _window_full(search)
    return CommentPage(comments=_details(kept), next=next_cursor, window_full=window_full)


def _cursor_of(row: Any) -> Cursor:
    return Cursor(row.overall, row.counted_at, row.answer_id)


def _window_full(search: CommentSearch) -> bool:
    """Whether the filters hold more comments than a search reads (asked at a search's end)."""
    beyond = _comments(search.query, lean=True).offset(search.window).limit(1)
    return db.session.scalar(beyond) is not None


def rows(search: CommentSearch, unmasked: bool = False, batch: int = 1000) -> Iterator[Comment]:
    """Yield every comment of the search in its order, a batch at a time (for exports)."""
    after = search.after
    while True:
        found = _rows(search, batch, after)
        if not found:
            return
        visible = [r for r in found if _visible(r.text, search.text, unmasked)]
        yield from _details(visible)
        if len(found) < batch:
            return
        after = _cursor_of(found[-1])


def _details(found: list[Any]) -> list[Comment]:
    """The segment, survey and every score of each comment's response, in one read each."""
    if not found:
        return []
    ids = [row.answer_id for row in found]
    described = {
        row.answer_id: row
        for row in db.session.execute(
            sa.select(
                Answer.id.label("answer_id"),
                Answer.response_id,
                Answer.answered_at,
                Question.key.label("question"),
                Survey.name.label("survey_name"),
                BusinessLine.code.label("business_line"),
                Team.code.label("team"),
                Agent.code.label("agent"),
                Interaction.channel,
                Response.survey_channel,
            )
            .select_from(Answer)
            .join(Question, Answer.question_id == Question.id)
            .join(Response, Answer.response_id == Response.id)
            .join(SurveyVersion, Response.survey_version_id == SurveyVersion.id)
            .join(Survey, SurveyVersion.survey_id == Survey.id)
            .join(Invitation, Response.invitation_id == Invitation.id)
            .join(Interaction, Invitation.interaction_id == Interaction.id)
            .outerjoin(BusinessLine, Interaction.business_line_id == BusinessLine.id)
            .outerjoin(Team, Interaction.team_id == Team.id)
            .outerjoin(Agent, Interaction.agent_id == Agent.id)
            .where(Answer.id.in_(ids))
        )
    }
    response_ids = {row.response_id for row in described.values()}
    scores: dict[int, list[dict[str, Any]]] = {}
    for row in db.session.execute(
        sa.select(
            Answer.response_id, Question.kind, Question.dimension, Question.key, Answer.value_int
        )
        .join(Question, Answer.question_id == Question.id)
        .where(
            Answer.response_id.in_(response_ids),
            Question.kind.in_(("rating_5", "nps_0_10", "ces_7")),
            Answer.value_int.is_not(None),
        )
        .order_by(Answer.id)
    ):
        scores.setdefault(row.response_id, []).append(
            {"kind": row.kind, "dimension": row.dimension, "key": row.key, "value": row.value_int}
        )
    comments = []
    for row in found:
        about = described[row.answer_id]
        comments.append(
            Comment(
                answer_id=row.answer_id,
                response_id=about.response_id,
                text=row.text,
                answered_at=about.answered_at,
                counted_at=row.counted_at,
                overall=None if row.overall == NO_SCORE else row.overall,
                question=about.question,
                survey_name=about.survey_name,
                business_line=about.business_line or "",
                team=about.team or "",
                agent=about.agent or "",
                channel=about.channel,
                survey_channel=about.survey_channel,
                scores=scores.get(about.response_id, []),
            )
        )
    return comments
