"""The limiter looks only at the blueprints with limits, unless limits apply to every route."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey import ratelimits
from survey.extensions import limiter


@pytest.fixture(autouse=True)
def _counts_start_at_zero(app):
    """Counts kept in this process's memory start afresh for each test (and each database)."""
    limiter.reset()


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_routes_without_a_limit_carry_no_limit_and_no_limit_headers(client):
    for _ in range(3):
        answered = client.get("/healthz")
        assert answered.status_code == 200
        assert not [name for name, _value in answered.headers.items() if "RateLimit" in name]
    assert client.get("/api/v1/scores").status_code == 401


@pytest.mark.parametrize("name", ratelimits.APP_WIDE_LIMITS)
def test_limits_for_every_route_keep_the_limiter_looking_at_every_route(name):
    # Not through an app: the limiter is one object per process, and keeps the first
    # default limits it is given for every later app (every later test) of the process.
    assert ratelimits.limited_blueprints({name: "2 per minute"}) is None
    assert ratelimits.limited_blueprints({name: None}) == ratelimits.LIMITED_BLUEPRINTS


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_a_request_of_a_blueprint_with_limits_is_looked_at(app):
    with app.test_request_context("/auth/login", method="POST"):
        assert not ratelimits.carries_no_limit()
    with app.test_request_context("/api/v1/scores"):
        assert ratelimits.carries_no_limit()


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_the_sign_in_keeps_its_limit(client):
    answers = [
        client.post("/auth/login", data={"email": "x@bank.example", "password": "wrong"})
        for _ in range(11)
    ]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert answers[10].status_code == 429


def test_the_views_with_limits_are_in_the_blueprints_the_limiter_looks_at(app):
    """A limit put on another blueprint's view would be skipped: its blueprint must be listed."""
    import inspect

    import survey

    root = inspect.getfile(survey).rsplit("/", 1)[0]
    limited: set[str] = set()
    for endpoint, view in app.view_functions.items():
        source = inspect.getsourcefile(inspect.unwrap(view)) or ""
        if not source.startswith(root):
            continue
        text = Path(source).read_text(encoding="utf-8")
        if "limiter.limit(" in text or "limiter.shared_limit(" in text:
            limited.add(endpoint.partition(".")[0])
    assert limited and limited <= ratelimits.LIMITED_BLUEPRINTS
