"""The app's Flask class runs plain hooks as they are and still refuses to call a coroutine bare."""

from __future__ import annotations

import functools

import pytest

from survey.application import SurveyFlask


def _plain() -> str:
    return "plain"


async def _coroutine() -> str:
    return "async"


class _Hooks:
    def plain(self) -> str:
        return "method"

    async def coroutine(self) -> str:
        return "async method"


def test_plain_functions_and_methods_are_called_as_they_are():
    app = SurveyFlask(__name__)
    hooks = _Hooks()
    assert app.ensure_sync(_plain) is _plain
    method = hooks.plain
    assert app.ensure_sync(method) is method
    partial = functools.partial(_plain)
    assert app.ensure_sync(partial) is partial


@pytest.mark.parametrize(
    "coroutine",
    [_coroutine, _Hooks().coroutine, functools.partial(_coroutine)],
    ids=["function", "method", "partial"],
)
def test_an_async_view_or_hook_is_still_handed_to_flask_s_async_wrapper(coroutine):
    app = SurveyFlask(__name__)
    try:
        wrapped = app.ensure_sync(coroutine)
    except RuntimeError as refused:  # Flask without its "async" extra says so
        assert "async" in str(refused)
    else:
        assert wrapped is not coroutine
        assert wrapped() in ("async", "async method")


def test_every_hook_and_view_of_the_app_is_a_plain_function_or_known_to_flask(app, client):
    """The app answers through the class (health check, API, a page) as Flask did."""
    assert isinstance(app, SurveyFlask)
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/api/v1/scores").status_code == 401
    assert client.get("/auth/login").status_code == 200
