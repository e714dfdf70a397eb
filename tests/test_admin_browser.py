"""In a real browser: an admin invites a manager, who sets a password and signs in, then is deactivated."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.fixtures.access import PASSWORD
from tests.fixtures.browser import (
    DESKTOP,
    assert_no_policy_violations,
    screenshot,
    watch_policy_violations,
)

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(base + "/auth/login?lang=en")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button.primary")
    page.wait_for_url(lambda url: "/auth/login" not in url)


def test_an_invited_manager_sets_a_password_signs_in_and_is_signed_out_when_deactivated(
    live_server, desktop_page, chromium, admin
):
    page = desktop_page
    _sign_in(page, live_server, admin.email, PASSWORD)
    page.click("nav.mainnav >> text=Users")
    page.click("text=Invite a user")
    page.fill("#email", "wang.fang@bank.example")
    page.fill("#name", "王芳")
    page.select_option("#role", "manager")
    page.click("button.primary")
    link = page.input_value("#password-link")
    screenshot(page, "admin-invite-link")
    # The link is made for SURVEY_PUBLIC_URL; the test server listens elsewhere.
    path = urlsplit(link).path

    context = chromium.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(15000)
    violations = watch_policy_violations(context)
    manager = context.new_page()
    try:
        manager.goto(live_server + path + "?lang=en")
        manager.fill("#password", "wang's long password")
        manager.fill("#confirm", "wang's long password")
        manager.click("button.primary")
        manager.wait_for_url("**/auth/login**")
        assert "Your password is set" in manager.inner_text("main")
        _sign_in(manager, live_server, "wang.fang@bank.example", "wang's long password")
        assert "wang.fang@bank.example" in manager.inner_text("header")

        page.goto(live_server + "/admin/users")
        page.click("text=wang.fang@bank.example")
        page.click("button:has-text('Deactivate')")
        assert "can no longer sign in" in page.inner_text("main")

        manager.reload()
        assert "/auth/login" in manager.url
        assert "wang.fang@bank.example" not in manager.inner_text("header")
        screenshot(manager, "admin-deactivated-signed-out")
        assert_no_policy_violations(context, violations)
    finally:
        context.close()

    page.goto(live_server + "/admin/audit")
    trail = page.inner_text("main")
    for step in ("invited a user", "set a password from a link", "deactivated a user"):
        assert step in trail
