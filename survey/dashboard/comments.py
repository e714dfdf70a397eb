"""The comments browser's queries: free-text answers in the dashboards' filters, searched, paged.

A comment is an answer to a ``text`` question of a counted response, on the bank's days
and in the segments of the dashboards' filters. Comments are read from their index
(survey.models.comment: one table, kept as responses are counted), never by joining
answers to responses and interactions for each one.

Search. Chinese has no spaces between words, so a customer's "太慢了" must be found by
"慢" and "太慢": a word index (or a trigram index, which needs three characters) cannot
find one- and two-character words. Search is therefore a substring match (``LIKE`` with
the query's ``%`` and ``_`` taken literally; case-insensitive for English) over a bounded
window: the newest ``WINDOW`` comments in the filters. The window makes every search cost
the same, whatever the database holds and whatever the query's length, on SQLite and
PostgreSQL alike (bench/comments.py: 1,000,000 comments); the page says how many comments
were searched and how to reach older ones (narrow the dates or the segment). Sorting by
the lowest overall score reads the same window. The window's edge is found first, along
the index of counted times (by organisation level when one is filtered), and the search
then reads newest first from the top and stops as soon as a page is full; lowest first
does the same one score at a time (see ``_rows``). On SQLite those indexes also hold the
text and the overall score (migration 5e1d7c3a9b48), so a search that finds nothing reads
its 100,000 comments from the index rather than a table row each.

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
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _

from survey import masking, settings
from survey.extensions import db
from survey.models import Agent, Answer, BusinessLine, Comment, Question, Survey, Team
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
# The overall scores in the lowest-first order: the 5-point answer (survey.respond keeps
# it within 1–5), then none.
SCORES: tuple[int | None, ...] = (1, 2, 3, 4, 5, None)
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
class CommentView:
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
    comments: list[CommentView]
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


def _conditions(query: ScoreQuery, since: datetime | None = None) -> list[Any]:
    """The query's days (the bank's, as the rollups) and segments, on the comments index.

    :param since: a later start than the first day's (the window's edge). SQLite bounds an
        index range by one of two lower limits on a column, not the tighter: a search
        within the window given both read the whole year (1.5 s at 1,000,000 comments).
    """
    zone = ZoneInfo(settings.bank_zone())
    start = datetime.combine(query.date_from, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(query.date_to + timedelta(days=1), time.min, tzinfo=zone)
    if since is not None and since > start:
        start = since
    conditions: list[Any] = [Comment.counted_at >= start, Comment.counted_at < end.astimezone(UTC)]
    for name, values in query.filters.items():
        if name in _CODED:
            model, column = _CODED[name]
            ids = db.session.scalars(sa.select(model.id).where(model.code.in_(values))).all()
            # One id is an equality, which walks its (level, counted time) index in order.
            conditions.append(column == ids[0] if len(ids) == 1 else column.in_(ids))
        elif name == "survey":
            conditions.append(Comment.survey_id.in_([int(v) for v in values]))
        elif name in _FIXED:
            conditions.append(_FIXED[name].in_(values))
    return conditions  # a dimension filter does not apply: a comment has none


_CODED: dict[str, tuple[Any, Any]] = {
    "business_line": (BusinessLine, Comment.business_line_id),
    "team": (Team, Comment.team_id),
    "agent": (Agent, Comment.agent_id),
}
_FIXED: dict[str, Any] = {
    "channel": Comment.channel,
    "survey_channel": Comment.survey_channel,
    "category": Comment.category,
    "type": Comment.type,
    "cause": Comment.cause,
}


def _overall_key() -> sa.ColumnElement[int]:
    """The overall score, a missing one after every real one."""
    return sa.func.coalesce(Comment.overall, NO_SCORE)


_NEWEST = (Comment.counted_at.desc(), Comment.id.desc())


def _edge(search: CommentSearch) -> tuple[datetime, int] | None:
    """The newest comment left out of the window (None when the window holds them all)."""
    found = db.session.execute(
        sa.select(Comment.counted_at, Comment.id)
        .where(*_conditions(search.query))
        .order_by(*_NEWEST)
        .offset(search.window)
        .limit(1)
    ).first()
    return None if found is None else (found.counted_at, found.id)


def _after(after: Cursor) -> sa.ColumnElement[bool]:
    """Rows after the cursor newest first (lowest first applies it within one score)."""
    older = sa.or_(
        Comment.counted_at < after.counted_at,
        sa.and_(Comment.counted_at == after.counted_at, Comment.id < after.answer_id),
    )
    # The first condition is a range the index of counted times can start from.
    return sa.and_(Comment.counted_at <= after.counted_at, older)


def _within(edge: tuple[datetime, int]) -> sa.ColumnElement[bool]:
    """Rows newer than the window's edge (its time is the range's start, see _conditions)."""
    at, answer_id = edge
    return sa.or_(Comment.counted_at > at, Comment.id > answer_id)


def _rows(
    search: CommentSearch, limit: int, after: Cursor | None, edge: tuple[datetime, int] | None
) -> list[Any]:
    """Read up to ``limit`` rows of the search's order after a cursor, within the window.

    Lowest first reads one overall score at a time (1 to 5, then none), newest first
    within it, and stops when it has ``limit`` rows: the first page of a window that holds
    a few comments scored 1 reads a few hundred, where sorting the window by score read
    all 100,000 (a year's lowest first, 0.4 s at 1,000,000 comments). A score the window
    lacks is read through once, along the same index as a search.
    """
    if search.sort == "newest":
        return _newest_rows(search, limit, after, edge)
    found: list[Any] = []
    for score in SCORES:
        key = NO_SCORE if score is None else score
        if after is not None and key < after.overall:
            continue  # pages already shown
        # Within the cursor's own score, the rows after it; a higher score from its top.
        within = after if after is not None and key == after.overall else None
        found += _newest_rows(search, limit - len(found), within, edge, score=(score,))
        if len(found) >= limit:
            break
    return found


def _newest_rows(
    search: CommentSearch,
    limit: int,
    after: Cursor | None,
    edge: tuple[datetime, int] | None,
    score: tuple[int | None] | None = None,
) -> list[Any]:
    """Read up to ``limit`` rows newest first after a cursor, within the window.

    :param score: only the comments with this overall score (``(None,)``: with none).
    """
    inside = search.windowed and edge is not None
    statement = sa.select(
        Comment.id.label("answer_id"),
        Comment.text,
        Comment.counted_at,
        _overall_key().label("overall"),
    ).where(*_conditions(search.query, since=edge[0] if inside else None))
    if inside:
        statement = statement.where(_within(edge))
    if search.text:
        statement = statement.where(_contains(search.text))
    if after is not None:
        statement = statement.where(_after(after))
    if score is not None:
        (value,) = score
        statement = statement.where(
            Comment.overall.is_(None) if value is None else Comment.overall == value
        )
    return db.session.execute(statement.order_by(*_NEWEST).limit(limit)).all()


def _contains(words: str) -> sa.ColumnElement[bool]:
    """The comment holds the words, ``%`` and ``_`` taken literally, ignoring capitals.

    Chinese, digits and punctuation have no capitals: words without any are found by
    position, ``instr`` on SQLite (it compares bytes, where LIKE decodes the text a
    character at a time) and LIKE on PostgreSQL, whose ILIKE folds every row's case,
    four times the work of LIKE. Words with capitals use SQLite's LIKE, which ignores
    ASCII capitals (and its lower() knows no others), and PostgreSQL's ILIKE.
    """
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    if words.lower() == words.upper():
        if sqlite:
            return sa.func.instr(Comment.text, words) > 0
        return Comment.text.contains(words, autoescape=True)
    if sqlite:
        return Comment.text.contains(words, autoescape=True)
    return Comment.text.icontains(words, autoescape=True)


def _visible(text: str, words: str, unmasked: bool) -> bool:
    """Whether the words are in the comment as this viewer sees it."""
    shown = masking.for_viewer(text, unmasked) or ""
    return not words or words.casefold() in shown.casefold()


def page(search: CommentSearch, size: int = PAGE_SIZE, unmasked: bool = False) -> CommentPage:
    """Return one page of comments in the search's order, with the cursor of the next."""
    kept: list[Any] = []
    after = search.after
    exhausted = False
    edge = _edge(search) if search.windowed else None
    for _read in range(MAX_READS):
        found = _rows(search, size + 1, after, edge)
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
    window_full = search.windowed and next_cursor is None and edge is not None
    return CommentPage(comments=_details(kept), next=next_cursor, window_full=window_full)


def _cursor_of(row: Any) -> Cursor:
    return Cursor(row.overall, row.counted_at, row.answer_id)


def rows(search: CommentSearch, unmasked: bool = False, batch: int = 1000) -> Iterator[CommentView]:
    """Yield every comment of the search in its order, a batch at a time (for exports)."""
    after = search.after
    edge = _edge(search) if search.windowed else None
    while True:
        found = _rows(search, batch, after, edge)
        if not found:
            return
        visible = [r for r in found if _visible(r.text, search.text, unmasked)]
        yield from _details(visible)
        if len(found) < batch:
            return
        after = _cursor_of(found[-1])


def _details(found: list[Any]) -> list[CommentView]:
    """The segment, survey, time and every score of each comment, in two reads."""
    if not found:
        return []
    ids = [row.answer_id for row in found]
    described = {
        row.answer_id: row
        for row in db.session.execute(
            sa.select(
                Comment.id.label("answer_id"),
                Comment.response_id,
                Answer.answered_at,
                Question.key.label("question"),
                Survey.name.label("survey_name"),
                BusinessLine.code.label("business_line"),
                Team.code.label("team"),
                Agent.code.label("agent"),
                Comment.channel,
                Comment.survey_channel,
            )
            .select_from(Comment)
            .join(Answer, Comment.id == Answer.id)
            .join(Question, Answer.question_id == Question.id)
            .join(Survey, Comment.survey_id == Survey.id)
            .outerjoin(BusinessLine, Comment.business_line_id == BusinessLine.id)
            .outerjoin(Team, Comment.team_id == Team.id)
            .outerjoin(Agent, Comment.agent_id == Agent.id)
            .where(Comment.id.in_(ids))
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
            CommentView(
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
