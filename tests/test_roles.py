"""DESIGN.md's role table, enforced cell by cell on every staff route.

A new staff route fails ``test_every_staff_route_has_a_row_in_the_role_table`` until it is
added to ``ROUTES`` below with the row of the table that governs it.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from werkzeug.routing import Rule

ADMIN, MANAGER, QUALITY = "admin", "manager", "quality"
EVERYONE = frozenset({ADMIN, MANAGER, QUALITY})

# DESIGN.md "Roles", one entry per row and access level: who may.
ROLE_TABLE: dict[str, frozenset[str]] = {
    "organisation": frozenset({ADMIN}),  # users, API keys, organisation, settings, audit: edit
    "surveys.edit": frozenset({ADMIN, MANAGER}),  # surveys and dispatch rules
    "surveys.view": EVERYONE,
    "dashboards": EVERYONE,  # dashboards, comments, exports: view
    "follow_ups.edit": frozenset({ADMIN, QUALITY}),
    "follow_ups.view": EVERYONE,
    "outbox": frozenset({ADMIN}),  # /dev/outbox
}

# Every staff route, (endpoint, method), and the row of the table that governs it.
ROUTES: dict[tuple[str, str], str] = {
    ("dashboard.home", "GET"): "dashboards",
    ("admin.outbox", "GET"): "outbox",
}

# Blueprints with their own kind of access: customers' tokens, Twilio signatures, API keys,
# and the sign-in pages themselves.
NOT_STAFF = {"respond", "webhooks", "api", "auth"}
NOT_STAFF_ENDPOINTS = {"static"}

# Routes whose normal answer to the right role is not 200 (e.g. a redirect), with that answer.
NORMAL_ANSWER: dict[tuple[str, str], int] = {}

EN = {"Accept-Language": "en"}


def _staff_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint in NOT_STAFF or rule.endpoint in NOT_STAFF_ENDPOINTS:
            continue
        routes.update((rule.endpoint, m) for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def _rule(app: Flask, endpoint: str, method: str) -> Rule:
    return next(r for r in app.url_map.iter_rules(endpoint) if method in (r.methods or ()))


def _url(app: Flask, rule: Rule) -> str:
    """Build the route's address; arguments name things that do not exist."""
    values = {
        name: 999999 if converter in ("int", "float") else "no-such-thing"
        for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule)
    }
    with app.test_request_context():
        return app.url_for(rule.endpoint, **values)


def test_every_staff_route_has_a_row_in_the_role_table(app):
    existing = _staff_routes(app)
    missing = sorted(existing - ROUTES.keys())
    stale = sorted(ROUTES.keys() - existing)
    assert not missing, f"staff routes without a role-table entry in tests/test_roles.py: {missing}"
    assert not stale, f"role-table entries for routes that no longer exist: {stale}"


def test_every_route_entry_names_a_row_of_the_table():
    assert set(ROUTES.values()) <= ROLE_TABLE.keys()


CELLS = [
    pytest.param(endpoint, method, role, id=f"{endpoint}-{method}-{role or 'anonymous'}")
    for (endpoint, method) in sorted(ROUTES)
    for role in (None, ADMIN, MANAGER, QUALITY)
]


@pytest.mark.parametrize(("endpoint", "method", "role"), CELLS)
def test_role_table_cell(app, client_as, endpoint, method, role):
    rule = _rule(app, endpoint, method)
    url = _url(app, rule)
    client = client_as(role)
    response = client.open(url, method=method, headers=EN)
    location = response.headers.get("Location", "")

    if role is None:
        assert response.status_code == 302, f"{method} {url} let an anonymous visitor in"
        assert location.startswith("/auth/login?next="), location
    elif role not in ROLE_TABLE[ROUTES[endpoint, method]]:
        assert response.status_code == 403, f"{role} reached {method} {url}"
        assert b"You do not have access to this page." in response.data
    else:
        assert response.status_code not in (401, 403), f"{role} refused at {method} {url}"
        assert not location.startswith("/auth/login"), f"{role} sent to sign in from {url}"
        assert response.status_code < 500, f"{method} {url} failed for {role}"
        if method == "GET" and not rule.arguments:
            assert response.status_code == NORMAL_ANSWER.get((endpoint, method), 200)


def test_navigation_shows_the_outbox_only_to_admins(client_as):
    assert b"/admin/dev/outbox" in client_as(ADMIN).get("/", headers=EN).data
    for role in (MANAGER, QUALITY):
        assert b"/admin/dev/outbox" not in client_as(role).get("/", headers=EN).data
