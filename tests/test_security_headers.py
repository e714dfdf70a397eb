"""What every page tells the browser: own origin only, no inline script, no referrer, no cache.

Customers' pages (a token in the address) also allow no inline style; staff pages may (plotly
draws with them). HSTS and secure cookies only when SURVEY_PUBLIC_URL is https.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.routing import Rule

SURVEY = Path(__file__).resolve().parents[1] / "survey"
EN = {"Accept-Language": "en"}
# Files served as they are: the same headers, except that a browser may keep them.
ASSETS = {"static", "dashboard.plotly_js"}
# The designer's preview frames the customer's page in the designer's own page.
FRAMED_BY_OWN_PAGES = {"designer.preview_web"}


def _policy(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    parts = (p.strip().split(None, 1) for p in header.split(";") if p.strip())
    return {p[0]: (p[1] if len(p) > 1 else "") for p in parts}


def _check_headers(response, where: str, public: bool, endpoint: str) -> list[str]:
    problems = []
    headers = response.headers
    if headers.get("Referrer-Policy") != "no-referrer":
        problems.append("Referrer-Policy")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    if endpoint not in ASSETS and "no-store" not in headers.get("Cache-Control", ""):
        problems.append("Cache-Control")
    if "Strict-Transport-Security" in headers:
        problems.append("HSTS over plain http")
    policy = _policy(response)
    if policy.get("default-src") != "'self'" or policy.get("script-src") != "'self'":
        problems.append(f"CSP sources {policy}")
    if "'unsafe-inline'" in policy.get("script-src", "'unsafe-inline'"):
        problems.append("inline script allowed")
    frame = "'self'" if endpoint in FRAMED_BY_OWN_PAGES else "'none'"
    if policy.get("frame-ancestors") != frame:
        problems.append(f"frame-ancestors {policy.get('frame-ancestors')}")
    if public and policy.get("style-src") != "'self'":
        problems.append(f"customer page style-src {policy.get('style-src')}")
    return [f"{where}: {p}" for p in problems]


def _url(app: Flask, rule: Rule, values: dict[str, object]) -> str:
    if rule.endpoint == "static":
        return "/static/app.css"
    args = {
        name: values.get(name, 999999 if converter in ("int", "float") else "no-such-thing")
        for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule)
    }
    with app.test_request_context():
        return app.url_for(rule.endpoint, **args)


def test_every_get_route_sends_the_security_headers(app, client_as, invite, db):
    """Every public and staff GET route, as a customer and as a signed-in admin sees it."""
    invitation = invite(locale="en")
    admin = client_as("admin")
    problems, checked = [], 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        public = rule.endpoint.startswith("respond.")
        values: dict[str, object] = {}
        if rule.endpoint == "respond.survey":
            values["token"] = invitation.token
        if rule.endpoint == "respond.unsubscribe":
            values["token"] = invitation.unsubscribe_token
        url = _url(app, rule, values)
        response = admin.get(url, headers=EN)
        assert response.status_code < 500, (url, response.status_code)
        problems += _check_headers(response, url, public, rule.endpoint)
        checked += 1
    # Pages no view answers: unknown addresses, and customers' links that do not exist.
    for url in ("/no/such/page", "/s/no-such-link", "/u/no-such-link"):
        response = admin.get(url, headers=EN)
        problems += _check_headers(response, url, url.startswith(("/s/", "/u/")), "")
    assert checked > 40
    assert not problems, problems


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_a_customers_refusals_and_limits_send_the_same_headers(client, invite):
    invitation = invite(locale="en")
    for _ in range(30):
        client.get(f"/s/{invitation.token}")
    limited = client.get(f"/s/{invitation.token}")
    assert limited.status_code == 429
    assert not _check_headers(limited, "429", True, "respond.survey")


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)  # the sign-in form's token is in the session
def test_plain_http_gets_no_hsts_and_cookies_work_without_https(client):
    page = client.get("/auth/login")
    assert "Strict-Transport-Security" not in page.headers
    cookie = page.headers.get("Set-Cookie", "")
    assert cookie.startswith("session=") and "Secure" not in cookie


@pytest.mark.app_config(SURVEY_PUBLIC_URL="https://survey.bank.example", WTF_CSRF_ENABLED=True)
def test_an_https_public_address_turns_on_hsts_and_secure_cookies(app):
    page = app.test_client().get("/auth/login", base_url="https://survey.bank.example")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "; Secure" in cookie


def _templates() -> list[Path]:
    return sorted((SURVEY / "templates").rglob("*.html"))


# The e-mail itself is read by mail clients, not under our pages' policy (the outbox shows it
# in a sandboxed frame of a staff page).
NOT_PAGES = {"channels/email.html"}


def test_no_template_has_an_inline_script_or_event_handler():
    inline = []
    for path in _templates():
        name = path.relative_to(SURVEY / "templates").as_posix()
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>", text):
            if "src=" not in match.group(1):
                inline.append(f"{name}: inline <script>")
        for match in re.finditer(r"<[a-z][^>]*\s(on[a-z]+)\s*=", text):
            inline.append(f"{name}: {match.group(1)}= handler")
        if name not in NOT_PAGES and "javascript:" in text:
            inline.append(f"{name}: javascript: URL")
    assert len(_templates()) > 30
    assert not inline, inline


def test_a_request_without_a_session_cookie_gets_none_and_still_varies_on_cookie(client):
    """A health check or API call sends no cookie and gets none back; its answer still says it
    varies on Cookie (the request asked whether someone was signed in)."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" in response.headers.get("Vary", "")


def test_a_signed_in_staff_session_survives_requests_that_do_not_change_it(client_as):
    """The signed cookie is read on each staff page and not re-sent when nothing in it changed."""
    admin = client_as("admin")
    assert admin.get("/admin/users", headers=EN).status_code == 200
    again = admin.get("/admin/users", headers=EN)
    assert again.status_code == 200
    assert "session=" not in again.headers.get("Set-Cookie", "")


def test_vary_on_cookie_is_added_to_what_a_response_already_varies_on():
    from flask import Response

    from survey.security import vary_on_cookie

    bare = Response("x")
    vary_on_cookie(bare)
    assert bare.headers.getlist("Vary") == ["Cookie"]
    varied = Response("x", headers={"Vary": "Accept-Language"})
    vary_on_cookie(varied)
    assert varied.headers.getlist("Vary") == ["Accept-Language, Cookie"]
    vary_on_cookie(varied)
    assert varied.headers.getlist("Vary") == ["Accept-Language, Cookie"]
