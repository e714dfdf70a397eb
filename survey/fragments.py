"""Parts of a page that are the same for every customer, rendered once per process and kept.

``{% cache key %}…{% endcache %}`` (after Jinja's own fragment-cache example extension)
keeps what the block renders under ``key``, a tuple that must name everything the block
reads: a question's answer buttons, say, are the same for every customer of one
published version, in one language, with one answer chosen. A key of None renders the
block every time (a draft, which can still change; a block showing an error). Bounded:
the least recently used fragments leave first.

A key names what the block shows, not when it was last changed, so a kept fragment never
outlives what it shows: the staff pages' filter form, for instance, is kept by the options it
lists, read from the database on every request (``frozen(choices[name])``), so a renamed team
is a new key in every process at once, and nothing has to be told to forget.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from flask import Flask
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup

MAX_FRAGMENTS = 4096

_kept: OrderedDict[Hashable, Markup] = OrderedDict()
_lock = threading.Lock()


class FragmentCache(Extension):
    """The ``{% cache key %}`` tag."""

    tags = {"cache"}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        key = parser.parse_expression()
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        call = self.call_method("_kept_or_rendered", [key])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _kept_or_rendered(self, key: Hashable | None, caller: Callable[[], str]) -> str:
        return kept(key, caller)


def kept(key: Hashable | None, render: Callable[[], str]) -> Markup:
    """What ``render`` gives, kept under ``key`` (the tag's own store, for code that writes HTML).

    A key of None renders every time, as the tag does.
    """
    if key is None:
        return Markup(render())
    with _lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    rendered = Markup(render())
    with _lock:
        _kept[key] = rendered
        while len(_kept) > MAX_FRAGMENTS:
            _kept.popitem(last=False)
    return rendered


def frozen(value: Any) -> Hashable:
    """A template value made fit for a key: a mapping as its sorted items, a list as a tuple.

    The items must be hashable themselves (a filter's ``(code, name)`` pairs, a URL's strings).
    """
    if isinstance(value, Mapping):
        return tuple(sorted(value.items()))
    if isinstance(value, list):
        return tuple(value)
    return value


def forget() -> None:
    """Drop every kept fragment (the tests do, between tests: ids are used again)."""
    with _lock:
        _kept.clear()


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension(FragmentCache)
    app.jinja_env.globals["frozen"] = frozen
