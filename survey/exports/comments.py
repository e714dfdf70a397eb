"""The rows of the comments export: one comment a row, masked, with its scores and segment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from survey import masking, settings
from survey.dashboard import comments

COLUMNS = (
    lambda: _("Answered at (bank time)"),
    lambda: _("Response"),
    lambda: _("Overall score"),
    lambda: _("Scores"),
    lambda: _("Business line"),
    lambda: _("Team"),
    lambda: _("Agent"),
    lambda: _("Interaction channel"),
    lambda: _("Survey channel"),
    lambda: _("Survey name"),
    lambda: _("Question"),
    lambda: _("Comment"),
)


def comment_rows(search: comments.CommentSearch) -> tuple[list[str], Iterator[list[Any]]]:
    """Return the column titles and the rows, produced a batch at a time as they are written."""
    return [title() for title in COLUMNS], _rows(search)


def _rows(search: comments.CommentSearch) -> Iterator[list[Any]]:
    zone = ZoneInfo(settings.bank_zone())
    for c in comments.rows(search):
        scores = "; ".join(f"{s['dimension'] or s['key']} {s['value']}" for s in c.scores)
        yield [
            c.answered_at.astimezone(zone).replace(tzinfo=None),
            c.response_id,
            c.overall,
            scores,
            c.business_line,
            c.team,
            c.agent,
            c.channel,
            c.survey_channel,
            c.survey_name,
            c.question,
            masking.for_viewer(c.text),
        ]
