"""The Flask class the app is made of: Flask's own, with its check for ``async def`` made cheap.

Flask asks of every hook and view it calls, on every request, whether it is a coroutine
function (``Flask.ensure_sync``, about twenty times a request here, each unwrapping
methods and partials in ``inspect``). A plain ``def`` function, or a method of one, is
answered from its code object's flags; anything else is left to Flask. Flask documents
``ensure_sync`` as the method to override to change how it runs async views.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import CO_COROUTINE
from types import FunctionType, MethodType
from typing import Any

from flask import Flask


class SurveyFlask(Flask):
    """Flask, handing a plain function back at once instead of inspecting it each request."""

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        plain = func.__func__ if type(func) is MethodType else func
        if (
            type(plain) is FunctionType
            and not plain.__code__.co_flags & CO_COROUTINE
            # inspect.markcoroutinefunction (Python 3.12) marks a plain function as async.
            and not hasattr(plain, "_is_coroutine_marker")
        ):
            return func
        return super().ensure_sync(func)
