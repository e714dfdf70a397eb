"""Every page a customer can meet passes axe-core's WCAG 2.1 A and AA audit, in both languages,
on a phone and on a desktop, and none scrolls sideways on the narrowest phone (issue 10)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from survey.extensions import db
from tests.fixtures.browser import (
    assert_accessible,
    assert_no_policy_violations,
    axe_violations,
    screenshot,
    watch_policy_violations,
)

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
LANGUAGES = ("zh", "en")


# The README's screenshots of the customer's states, taken by the phone-sized English audit.
README_SHOTS = {
    "survey": "respond-first-step-phone",
    "completed": "respond-completed-phone",
    "expired": "respond-expired-phone",
    "unknown": "respond-unknown-phone",
    "cancelled": "respond-cancelled-phone",
}


def with_lang(url: str, lang: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}lang={lang}"


@pytest.fixture
def customer_pages(live_server, client, invite, record_response) -> dict[str, tuple[str, int]]:
    """The URL of each state a customer's link can be in, with the status it answers."""
    answering = invite()
    midway = invite()
    first_step = {"step": "attitude", "q_attitude": "5", "go": "next"}
    assert client.post(f"/s/{midway.token}", data=first_step).status_code == 303
    rating = invite()
    done = invite()
    record_response(done, {"attitude": 5, "overall": 4})
    lapsed = invite(lifetime=timedelta(hours=-1))
    withdrawn = invite()
    withdrawn.state = "cancelled"
    db.session.commit()
    return {
        "survey": (f"{live_server}/s/{answering.token}", 200),
        "mid-survey": (f"{live_server}/s/{midway.token}", 200),
        "one-tap rating": (f"{live_server}/s/{rating.token}?score=4", 200),
        "unsubscribe": (f"{live_server}/u/{answering.unsubscribe_token}", 200),
        "unknown": (f"{live_server}/s/no-such-survey-link", 404),
        "expired": (f"{live_server}/s/{lapsed.token}", 410),
        "completed": (f"{live_server}/s/{done.token}", 200),
        "cancelled": (f"{live_server}/s/{withdrawn.token}", 410),
    }


@pytest.fixture
def browse(chromium) -> Iterator:
    """Open a page in a browser context of a viewport and language; fail on CSP reports."""
    contexts = []

    def open_page(viewport: dict, lang: str):
        context = chromium.new_context(viewport=viewport, locale=lang)
        context.set_default_timeout(15000)
        contexts.append((context, watch_policy_violations(context)))
        return context.new_page()

    yield open_page
    for context, violations in contexts:
        try:
            assert_no_policy_violations(context, violations)
        finally:
            context.close()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_customer_page_state_passes_the_wcag_audit(customer_pages, browse, viewport, lang):
    page = browse(VIEWPORTS[viewport], lang)
    for state, (url, status) in customer_pages.items():
        answer = page.goto(with_lang(url, lang))
        assert answer is not None and answer.status == status, state
        assert page.evaluate("document.documentElement.lang").split("-")[0] == lang, state
        assert_accessible(page, f"{state} ({lang}, {viewport})")
        if viewport == "phone" and lang == "en" and state in README_SHOTS:
            screenshot(page, README_SHOTS[state])
        if state == "survey":
            # Sent unanswered: the same page again, each required question explained.
            page.locator("button.send").click()
            page.wait_for_selector("[aria-invalid=true], .error")
            assert_accessible(page, f"survey with errors ({lang}, {viewport})")
        if state == "unsubscribe":
            page.locator("form button").first.click()
            page.wait_for_load_state()
            assert_accessible(page, f"unsubscribed ({lang}, {viewport})")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_customer_page_scrolls_sideways_on_a_320_pixel_phone(customer_pages, browse, lang):
    page = browse({"width": 320, "height": 640}, lang)
    for state, (url, _status) in customer_pages.items():
        page.goto(with_lang(url, lang))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{state} ({lang}) is {width} px wide"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_customer_page_asks_anything_of_another_origin(
    customer_pages, browse, live_server, lang
):
    page = browse(VIEWPORTS["phone"], lang)
    asked: list[str] = []
    page.context.on("request", lambda request: asked.append(request.url))
    for url, _status in customer_pages.values():
        page.goto(with_lang(url, lang))
        page.wait_for_load_state("networkidle")
    # A step sent (and refused, unanswered) and an unsubscribe confirmed load their pages too.
    page.goto(with_lang(customer_pages["survey"][0], lang))
    page.locator("button.send").click()
    page.wait_for_selector("[aria-invalid=true], .error")
    page.goto(with_lang(customer_pages["unsubscribe"][0], lang))
    page.locator("form button").first.click()
    page.wait_for_load_state("networkidle")
    assert len(asked) > len(customer_pages), asked  # the pages and their style sheets
    foreign = [url for url in asked if not url.startswith((live_server + "/", "data:"))]
    assert foreign == [], foreign


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_too_many_attempts_page_passes_the_wcag_audit(customer_pages, browse, client, lang):
    url, _status = customer_pages["survey"]
    token_path = url.split("/", 3)[3]
    for _ in range(30):
        client.get(f"/{token_path}")
    page = browse(VIEWPORTS["phone"], lang)
    answer = page.goto(f"{url}?lang={lang}")
    assert answer is not None and answer.status == 429
    assert page.evaluate("document.documentElement.lang").split("-")[0] == lang
    assert_accessible(page, f"429 ({lang})")


@pytest.mark.parametrize(
    ("lang", "lowest", "highest"),
    [
        ("en", "1 = very dissatisfied", "5 = very satisfied"),
        ("zh", "1 = 非常不满意", "5 = 非常满意"),
    ],
)
def test_a_screen_reader_hears_what_the_ends_of_a_scale_mean(
    customer_pages, browse, lang, lowest, highest
):
    page = browse(VIEWPORTS["phone"], lang)
    url, _status = customer_pages["survey"]
    page.goto(f"{url}?lang={lang}")
    attitude = page.locator("#q_attitude")
    assert attitude.get_by_role("radio", name=lowest, exact=True).count() == 1
    assert attitude.get_by_role("radio", name=highest, exact=True).count() == 1
    assert (
        attitude.get_by_role("radio", name="3", exact=True).count() == 1
    )  # in between: the number
    # The whole group is named by its question, the legend.
    assert page.get_by_role("group", name=attitude.locator("legend").inner_text()).count() == 1
    # A question a screen: on to the 0–10 question.
    for _screen in range(8):
        if page.locator("#q_nps").count():
            break
        if page.locator("label.opt").count():
            page.locator("label.opt").first.click()
        with page.expect_navigation():
            page.locator("button.send").click()
    nps = page.locator("#q_nps").get_by_role("radio")
    assert nps.count() == 11 and "0 = " in nps.first.get_attribute("aria-label")


def test_the_audit_reports_a_page_that_breaks_a_rule(customer_pages, browse):
    page = browse(VIEWPORTS["phone"], "en")
    url, _status = customer_pages["survey"]
    page.goto(f"{url}?lang=en")
    page.evaluate("document.documentElement.removeAttribute('lang')")
    assert any(v.startswith("html-has-lang") for v in axe_violations(page))
