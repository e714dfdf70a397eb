"""Reading a JSON body posted to the API: bounded in size and depth before anything looks inside.

The rest of the app keeps its own ``MAX_CONTENT_LENGTH`` (uploads of CSV files); an
API body is one interaction, a few hundred bytes, so anything past 64 KB is refused
unread. A body nested far deeper than an interaction (three levels) is refused as
well: ``json.loads`` raises ``RecursionError`` near a thousand levels, and every
later pass over a body (validation, the replay digest) recurses as deep again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

API_MAX_BODY_BYTES = 64 * 1024
# An interaction is three levels deep (body, customer, complaint); leave room for
# clients that send extra objects we ignore, but not for a nesting attack.
API_MAX_DEPTH = 32


@dataclass
class BodyProblem(Exception):
    """A body the API will not read: its status (400 or 413), title, detail and field errors."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)


def limit_body(request: Request) -> None:
    """Hold every read of this request's body to the API's limit (chunked bodies included)."""
    # One byte more than the limit: a body streamed without its length is cut off silently
    # at max_content_length, so reading one byte past the limit is how we see it is over.
    request.max_content_length = API_MAX_BODY_BYTES + 1


def too_large() -> BodyProblem:
    """Return the problem of a body over the API's limit."""
    return BodyProblem(
        413,
        _("Content Too Large"),
        _("The body is larger than %(kb)d KB; nothing was stored.", kb=API_MAX_BODY_BYTES // 1024),
    )


def _not_json() -> BodyProblem:
    return BodyProblem(
        400,
        _("Bad Request"),
        _("The body must be JSON (Content-Type: application/json)."),
        errors=[{"field": "", "message": _("The body must be a JSON object.")}],
    )


def _too_deep() -> BodyProblem:
    return BodyProblem(
        400,
        _("Bad Request"),
        _("The body is nested too deeply; nothing was stored."),
        errors=[
            {
                "field": "",
                "message": _(
                    "JSON nested more than %(n)d levels deep is not an interaction.",
                    n=API_MAX_DEPTH,
                ),
            }
        ],
    )


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Say whether a parsed JSON value nests deeper than ``limit`` (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def read_json(request: Request) -> Any:
    """Return the request's JSON body, parsed.

    :raises BodyProblem: the body is too large (413), not JSON or nested too deeply (400).
    """
    if request.content_length is not None and request.content_length > API_MAX_BODY_BYTES:
        raise too_large()
    if not request.is_json:
        raise _not_json()
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large() from None
    if len(raw) > API_MAX_BODY_BYTES:
        # A body sent without its length (chunked), found too large while reading.
        raise too_large()
    return parse_json(raw)


def parse_json(raw: bytes) -> Any:
    """Return a JSON body read whole (at most the API's limit), parsed.

    :raises BodyProblem: the body is not JSON or nested too deeply (400).
    """
    try:
        body = json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:  # JSONDecodeError, and bytes that are not UTF-8, -16 or -32
        raise _not_json() from None
    if _depth_exceeds(body, API_MAX_DEPTH):
        raise _too_deep()
    return body
