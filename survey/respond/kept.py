"""Survey step pages rendered once and kept, with only the customer's own values put in.

A step page of a published version (which never changes) is the same for every customer
who stands at the same place in it: the same question, progress, answers so far, bank
name, language and query. Only three values are the customer's: their survey token (the
form's action, the links), their unsubscribe token and the form key bound to the token.
So the first render of such a page is kept with those three cut out, and later requests
for the same place join the parts around their own values: no template is run.

The three values are random strings of URL- and HTML-safe characters (``secrets.token_urlsafe``
and a hex HMAC), so the page holds them verbatim wherever it shows them, and they are far
too long to occur in it by chance. A page is kept only when each value occurs in it and
the values are such strings; anything else (a draft, an error, a page with a value the
cut could miss) is rendered every time. Bounded: the least recently used pages leave first.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

MAX_PAGES = 512

# What a token and a form key are made of; a page with another value is never kept.
_SAFE = re.compile(r"[A-Za-z0-9_-]{20,128}")


class Page:
    """A rendered page cut around the customer's values: literal parts and which value goes between."""

    __slots__ = ("parts", "slots")

    def __init__(self, parts: list[str], slots: list[int]) -> None:
        self.parts = parts
        self.slots = slots

    def fill(self, values: tuple[str, ...]) -> str:
        """Return the page with these values put where the first customer's were."""
        out = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:], strict=True):
            out.append(values[slot])
            out.append(part)
        return "".join(out)


def cut(html: str, values: tuple[str, ...]) -> Page | None:
    """Cut a rendered page around the customer's values, or None when it cannot be kept safely."""
    if not all(_SAFE.fullmatch(value) for value in values) or len(set(values)) != len(values):
        return None
    if any(value not in html for value in values):
        return None
    pattern = re.compile("|".join(re.escape(value) for value in values))
    index = {value: i for i, value in enumerate(values)}
    parts: list[str] = []
    slots: list[int] = []
    start = 0
    for found in pattern.finditer(html):
        parts.append(html[start : found.start()])
        slots.append(index[found.group()])
        start = found.end()
    parts.append(html[start:])
    return Page(parts, slots)


# By database, version and everything else the page shows: one process may serve two databases.
_pages: OrderedDict[Hashable, Page] = OrderedDict()
_lock = threading.Lock()


def get(key: Hashable) -> Page | None:
    """Return the kept page for this key, or None."""
    with _lock:
        page = _pages.get(key)
        if page is not None:
            _pages.move_to_end(key)
        return page


def keep(key: Hashable, page: Page) -> None:
    """Keep a page under its key."""
    with _lock:
        _pages[key] = page
        _pages.move_to_end(key)
        while len(_pages) > MAX_PAGES:
            _pages.popitem(last=False)


# First steps as Flask answered them, for the layer in front of it (``fast``): by database,
# version, language, bank name, script root and query, each with its status and headers.
_first_steps: dict[Hashable, Any] = {}


def first_step(key: Hashable) -> Any:
    """Return the answer kept for this first step, or None."""
    return _first_steps.get(key)


def keep_first_step(key: Hashable, answer: Any) -> None:
    """Keep Flask's answer for a first step (a few hundred at most, the oldest out first)."""
    with _lock:
        _first_steps[key] = answer
        while len(_first_steps) > MAX_PAGES // 2:
            _first_steps.pop(next(iter(_first_steps)))


def any_first_step() -> bool:
    """Whether any first step is kept (before that, every request goes to Flask)."""
    return bool(_first_steps)


def forget() -> None:
    """Drop every kept page (the tests empty the database between tests)."""
    with _lock:
        _pages.clear()
        _first_steps.clear()
