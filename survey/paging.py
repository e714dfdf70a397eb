"""The page number a list view was asked for, kept within what a database can offset."""

from __future__ import annotations

from flask import request

# Far beyond any real list, far below the 64-bit OFFSET a database accepts.
LAST_PAGE = 100_000


def requested_page() -> int:
    """Return ?page= as a number from 1 to LAST_PAGE (anything else means the first page)."""
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), LAST_PAGE)
