"""DESIGN.md's role table, enforced cell by cell on every staff route.

A new staff route fails ``test_every_staff_route_has_a_row_in_the_role_table`` until it is
added to ``ROUTES`` below with the row of the table that governs it.

The cells share one app and one signed-in client per role for each database (module scope):
hundreds of cells, each on a fresh app, would spend minutes emptying tables.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.fixtures.access import add_user, sign_in

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
    "actions.edit": EVERYONE,  # improvement actions: record, change, view
}

# Every staff route, (endpoint, method), and the row of the table that governs it.
ROUTES: dict[tuple[str, str], str] = {
    # dashboards, comments, exports
    ("dashboard.home", "GET"): "dashboards",
    ("dashboard.breakdown_page", "GET"): "dashboards",
    ("dashboard.dimensions", "GET"): "dashboards",
    ("dashboard.complaints_dashboard", "GET"): "dashboards",
    ("dashboard.funnel", "GET"): "dashboards",
    ("dashboard.export_page", "GET"): "dashboards",
    ("dashboard.export_scores", "GET"): "dashboards",
    ("dashboard.export_responses", "GET"): "dashboards",
    ("dashboard.comments_page", "GET"): "dashboards",
    ("dashboard.export_comments", "GET"): "dashboards",
    ("dashboard.report", "GET"): "dashboards",
    ("dashboard.report_pdf", "GET"): "dashboards",
    ("dashboard.export_complaints", "GET"): "dashboards",
    ("dashboard.prepare_export", "POST"): "dashboards",
    ("dashboard.export_job", "GET"): "dashboards",
    ("dashboard.export_job_progress", "GET"): "dashboards",
    ("dashboard.export_job_download", "GET"): "dashboards",
    # improvement actions
    ("dashboard.actions", "GET"): "actions.edit",
    ("dashboard.new_action", "GET"): "actions.edit",
    ("dashboard.new_action", "POST"): "actions.edit",
    ("dashboard.action", "GET"): "actions.edit",
    ("dashboard.edit_action", "GET"): "actions.edit",
    ("dashboard.edit_action", "POST"): "actions.edit",
    # follow-up cases: quality edits, managers view
    ("dashboard.followups", "GET"): "follow_ups.view",
    ("dashboard.followup_case", "GET"): "follow_ups.view",
    ("dashboard.followup_contact", "POST"): "follow_ups.edit",
    ("dashboard.followup_note", "POST"): "follow_ups.edit",
    ("dashboard.followup_assign", "POST"): "follow_ups.edit",
    ("dashboard.followup_close", "POST"): "follow_ups.edit",
    # users, API keys, organisation, settings, audit
    ("admin.home", "GET"): "organisation",
    ("admin.users", "GET"): "organisation",
    ("admin.user_detail", "GET"): "organisation",
    ("admin.invite_user", "GET"): "organisation",
    ("admin.invite_user", "POST"): "organisation",
    ("admin.change_role", "POST"): "organisation",
    ("admin.deactivate_user", "POST"): "organisation",
    ("admin.reactivate_user", "POST"): "organisation",
    ("admin.password_link", "POST"): "organisation",
    ("admin.api_keys", "GET"): "organisation",
    ("admin.new_api_key", "GET"): "organisation",
    ("admin.new_api_key", "POST"): "organisation",
    ("admin.revoke_api_key", "POST"): "organisation",
    ("admin.organisation", "GET"): "organisation",
    ("admin.create_business_line", "POST"): "organisation",
    ("admin.edit_business_line", "GET"): "organisation",
    ("admin.edit_business_line", "POST"): "organisation",
    ("admin.create_team", "POST"): "organisation",
    ("admin.team", "GET"): "organisation",
    ("admin.team", "POST"): "organisation",
    ("admin.create_agent", "POST"): "organisation",
    ("admin.agent", "GET"): "organisation",
    ("admin.agent", "POST"): "organisation",
    ("admin.import_agents_page", "GET"): "organisation",
    ("admin.import_agents_page", "POST"): "organisation",
    ("admin.import_job", "GET"): "organisation",
    ("admin.import_job_progress", "GET"): "organisation",
    ("admin.settings", "GET"): "organisation",
    ("admin.settings", "POST"): "organisation",
    ("admin.audit_trail", "GET"): "organisation",
    ("admin.undelivered", "GET"): "organisation",
    ("admin.send_again", "POST"): "organisation",
    # /dev/outbox
    ("dev.outbox", "GET"): "outbox",
    ("dev.reply", "POST"): "outbox",
    ("dev.call", "GET"): "outbox",
    ("dev.call", "POST"): "outbox",
    # surveys and dispatch rules: reading
    ("designer.home", "GET"): "surveys.view",
    ("designer.surveys", "GET"): "surveys.view",
    ("designer.survey", "GET"): "surveys.view",
    ("designer.history", "GET"): "surveys.view",
    ("designer.version", "GET"): "surveys.view",
    ("designer.compare", "GET"): "surveys.view",
    ("designer.preview", "GET"): "surveys.view",
    ("designer.preview_web", "GET"): "surveys.view",
    ("designer.review", "GET"): "surveys.view",  # the checks before publishing, read-only
    ("designer.rules", "GET"): "surveys.view",
    # surveys and dispatch rules: changing them
    ("designer.new_survey", "GET"): "surveys.edit",
    ("designer.new_survey", "POST"): "surveys.edit",
    ("designer.duplicate", "GET"): "surveys.edit",
    ("designer.duplicate", "POST"): "surveys.edit",
    ("designer.archive", "POST"): "surveys.edit",
    ("designer.save_details", "POST"): "surveys.edit",
    ("designer.start_draft", "POST"): "surveys.edit",
    ("designer.new_question", "GET"): "surveys.edit",
    ("designer.new_question", "POST"): "surveys.edit",
    ("designer.edit_question", "GET"): "surveys.edit",
    ("designer.edit_question", "POST"): "surveys.edit",
    ("designer.arrange_questions", "POST"): "surveys.edit",
    ("designer.order_questions", "POST"): "surveys.edit",
    ("designer.send_test", "POST"): "surveys.edit",
    ("designer.publish", "POST"): "surveys.edit",
    ("designer.new_rule", "GET"): "surveys.edit",
    ("designer.new_rule", "POST"): "surveys.edit",
    ("designer.edit_rule", "GET"): "surveys.edit",
    ("designer.edit_rule", "POST"): "surveys.edit",
    ("designer.arrange_rule", "POST"): "surveys.edit",
}

# Blueprints with their own kind of access: customers' tokens, Twilio signatures, API keys,
# the sign-in pages themselves, the one-time links that let new staff set a password, and the
# operations endpoints (probes; /metrics by address or bearer token, tests/test_ops.py).
NOT_STAFF = {"respond", "webhooks", "api", "auth", "account", "ops"}
# Static files, ours and the plotly.js the plotly package ships, are public like any asset.
NOT_STAFF_ENDPOINTS = {"static", "dashboard.plotly_js"}

# Routes whose normal answer to the right role is not 200 (e.g. a redirect), with that answer.
NORMAL_ANSWER: dict[tuple[str, str], int] = {
    ("designer.home", "GET"): 302,  # on to the list of surveys
}

EN = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def staff_app(module_app: Flask) -> Flask:
    """One app per database for this module, with a staff member of each role."""
    for role in (ADMIN, MANAGER, QUALITY):
        add_user(role)
    return module_app


@pytest.fixture(scope="module")
def clients(staff_app: Flask) -> dict[str | None, FlaskClient]:
    """A test client per role, signed in; None is an anonymous visitor."""
    clients: dict[str | None, FlaskClient] = {None: staff_app.test_client()}
    for role in (ADMIN, MANAGER, QUALITY):
        clients[role] = staff_app.test_client()
        assert sign_in(clients[role], f"{role}@bank.example").status_code == 302
    return clients


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


def test_every_staff_route_has_a_row_in_the_role_table(staff_app):
    existing = _staff_routes(staff_app)
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
def test_role_table_cell(staff_app, clients, endpoint, method, role):
    rule = _rule(staff_app, endpoint, method)
    url = _url(staff_app, rule)
    response = clients[role].open(url, method=method, headers=EN)
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


def test_navigation_shows_the_outbox_only_to_admins(clients):
    assert b"/dev/outbox" in clients[ADMIN].get("/", headers=EN).data
    for role in (MANAGER, QUALITY):
        assert b"/dev/outbox" not in clients[role].get("/", headers=EN).data
